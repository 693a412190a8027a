//! Every op of the elementwise table (`tape::rules`), checked without naming it: gradients
//! against central differences on scalars and on tensors of random shapes, in `f64` and `f32`,
//! second derivatives through gradgradcheck, and values and derivatives at each op's worked
//! example. A new entry in the table is tested here without an edit to this file.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tape::check::{CheckConfig, gradgradcheck, strategies};
use tape::rules::{BinaryOp, UnaryOp};
use tape::{Array, Element, Real, Shape, Tape};

use crate::common::{assert_grad, assert_grad_scalars};

/// Rank ≤ 3, dimensions ≤ 4.
const RANK: usize = 3;
const DIM: usize = 4;

/// Runs `test` on `cases` values of `strategy`, naming `what` if it fails (after shrinking).
fn run<S: Strategy>(what: &str, strategy: S, cases: u32, test: impl Fn(S::Value)) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, |v| {
        test(v);
        Ok(())
    }) {
        panic!("{what}: {e}");
    }
}

fn cast<T: Element>(v: f64) -> T {
    T::cast_from(v)
}

/// A random shape and, for each op, arrays of it drawn from the op's domain.
fn unary_arrays<T: Element>(op: UnaryOp, f32: bool) -> impl Strategy<Value = Array<T>> {
    let domain = if f32 {
        op.domain().for_f32()
    } else {
        op.domain()
    };
    strategies::shape(RANK, DIM).prop_flat_map(move |s| strategies::array_in::<T>(&s, domain))
}

/// Two broadcasting shapes and arrays of them drawn from a binary op's domains.
fn binary_arrays<T: Element>(
    op: BinaryOp,
    f32: bool,
) -> impl Strategy<Value = (Array<T>, Array<T>)> {
    let domain = if f32 {
        op.domain().for_f32()
    } else {
        op.domain()
    };
    strategies::broadcast_pair(RANK, DIM)
        .prop_flat_map(move |(sa, sb): (Shape, Shape)| strategies::arrays_in::<T>(&sa, &sb, domain))
}

fn unary_scalars<T: Element>(config: CheckConfig, f32: bool) {
    for &op in UnaryOp::ALL {
        let domain = if f32 {
            op.domain().for_f32()
        } else {
            op.domain()
        };
        run(
            &format!("{op:?} on scalars"),
            strategies::value_in(domain),
            32,
            |x| {
                assert_grad_scalars(|_, v| v[0].unary(op), &[cast::<T>(x)], &config);
            },
        );
    }
}

fn binary_scalars<T: Element>(config: CheckConfig, f32: bool) {
    for &op in BinaryOp::ALL {
        let domain = if f32 {
            op.domain().for_f32()
        } else {
            op.domain()
        };
        run(
            &format!("{op:?} on scalars"),
            strategies::pair_in(domain),
            32,
            |(x, y)| {
                assert_grad_scalars(
                    |_, v| v[0].binary(v[1], op),
                    &[cast::<T>(x), cast::<T>(y)],
                    &config,
                );
                // The same handle on both sides: the two partials add up.
                if domain.x.admits(y) && domain.apart == 0.0 {
                    assert_grad_scalars(|_, v| v[0].binary(v[0], op), &[cast::<T>(y)], &config);
                }
            },
        );
    }
}

fn unary_tensors<T: Element>(config: CheckConfig, f32: bool) {
    for &op in UnaryOp::ALL {
        run(
            &format!("{op:?} on tensors"),
            unary_arrays::<T>(op, f32),
            24,
            |x| {
                assert_grad(|_, t| t[0].unary(op), &[x], &config);
            },
        );
    }
}

fn binary_tensors<T: Element>(config: CheckConfig, f32: bool) {
    for &op in BinaryOp::ALL {
        run(
            &format!("{op:?} on tensors"),
            binary_arrays::<T>(op, f32),
            24,
            |(a, b)| {
                assert_grad(|_, t| t[0].binary(t[1], op), &[a, b], &config);
            },
        );
    }
}

#[test]
fn unary_ops_on_scalars_match_central_differences_f64() {
    unary_scalars::<f64>(CheckConfig::default(), false);
}

#[test]
fn unary_ops_on_scalars_match_central_differences_f32() {
    unary_scalars::<f32>(CheckConfig::f32(), true);
}

#[test]
fn binary_ops_on_scalars_match_central_differences_f64() {
    binary_scalars::<f64>(CheckConfig::default(), false);
}

#[test]
fn binary_ops_on_scalars_match_central_differences_f32() {
    binary_scalars::<f32>(CheckConfig::f32(), true);
}

#[test]
fn unary_ops_on_tensors_match_central_differences_f64() {
    unary_tensors::<f64>(CheckConfig::default(), false);
}

#[test]
fn unary_ops_on_tensors_match_central_differences_f32() {
    unary_tensors::<f32>(CheckConfig::f32(), true);
}

#[test]
fn broadcasting_binary_ops_match_central_differences_f64() {
    binary_tensors::<f64>(CheckConfig::default(), false);
}

#[test]
fn broadcasting_binary_ops_match_central_differences_f32() {
    binary_tensors::<f32>(CheckConfig::f32(), true);
}

/// Second derivatives through gradgradcheck: each op composed with `sin` and summed, so that
/// linear ops have a non-zero Hessian to check too.
#[test]
fn second_derivatives_of_every_op_match_central_differences() {
    let config = CheckConfig {
        abs_tol: 1e-7,
        rel_tol: 1e-5,
        ..Default::default()
    };
    for &op in UnaryOp::ALL {
        let shapes = strategies::shape(2, 3)
            .prop_flat_map(move |s| strategies::array_in::<f64>(&s, op.domain()));
        run(&format!("{op:?}, second order"), shapes, 8, |x| {
            let r = gradgradcheck(|_, t| t[0].unary(op).sin().sum(), &[x], &config);
            assert!(r.is_ok(), "{}", r.unwrap_err());
        });
    }
    for &op in BinaryOp::ALL {
        let pairs = strategies::broadcast_pair(3, 3)
            .prop_flat_map(move |(sa, sb)| strategies::arrays_in::<f64>(&sa, &sb, op.domain()));
        run(&format!("{op:?}, second order"), pairs, 8, |(a, b)| {
            let r = gradgradcheck(|_, t| t[0].binary(t[1], op).sin().sum(), &[a, b], &config);
            assert!(r.is_ok(), "{}", r.unwrap_err());
        });
    }
}

/// Values and derivatives at the table's worked examples, which are written with the standard
/// library and closed forms: on scalars in both precisions, and on tensors.
#[test]
fn values_and_derivatives_agree_with_the_worked_examples() {
    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol * want.abs().max(1.0)
    }
    let examples = UnaryOp::examples();
    // Every op has an example (ops with a parameter at one sample).
    for &op in UnaryOp::ALL {
        let same_variant = |e: &&tape::rules::UnaryExample| {
            std::mem::discriminant(&e.op) == std::mem::discriminant(&op)
        };
        assert!(
            examples.iter().any(|e| same_variant(&e)),
            "{op:?} has no example"
        );
    }
    for e in &examples {
        let tape = Tape::<f64>::new();
        let x = tape.var(e.x);
        let y = x.unary(e.op);
        let d = y.backward().wrt(x);
        assert!(
            close(y.value(), e.value, 1e-14),
            "{:?}: value {} vs {}",
            e.op,
            y.value(),
            e.value
        );
        assert!(
            close(d, e.derivative, 1e-14),
            "{:?}: derivative {d} vs {}",
            e.op,
            e.derivative
        );

        let tape = Tape::<f32>::new();
        let x = tape.var(e.x as f32);
        let y = x.unary(e.op);
        let d = y.backward().wrt(x);
        assert!(
            close(y.value() as f64, e.value, 1e-6),
            "{:?} f32: value",
            e.op
        );
        assert!(
            close(d as f64, e.derivative, 1e-6),
            "{:?} f32: derivative",
            e.op
        );

        let tape = Tape::<f64>::new();
        let x = tape.full(&[3], e.x);
        let y = x.unary(e.op);
        let g = y.sum().backward();
        assert!(
            y.to_vec().iter().all(|&v| close(v, e.value, 1e-14)),
            "{:?} tensor",
            e.op
        );
        assert!(
            g.wrt(x)
                .data()
                .iter()
                .all(|&v| close(v, e.derivative, 1e-14)),
            "{:?} tensor grad",
            e.op
        );
    }
    let examples = BinaryOp::examples();
    for &op in BinaryOp::ALL {
        assert!(examples.iter().any(|e| e.op == op), "{op:?} has no example");
    }
    for e in &examples {
        let tape = Tape::<f64>::new();
        let (x, y) = (tape.var(e.x), tape.var(e.y));
        let out = x.binary(y, e.op);
        let g = out.backward();
        assert!(close(out.value(), e.value, 1e-14), "{:?}: value", e.op);
        assert!(close(g.wrt(x), e.partials.0, 1e-14), "{:?}: ∂x", e.op);
        assert!(close(g.wrt(y), e.partials.1, 1e-14), "{:?}: ∂y", e.op);

        let tape = Tape::<f32>::new();
        let (x, y) = (tape.var(e.x as f32), tape.var(e.y as f32));
        let out = x.binary(y, e.op);
        let g = out.backward();
        assert!(
            close(out.value() as f64, e.value, 1e-6),
            "{:?} f32: value",
            e.op
        );
        assert!(
            close(g.wrt(x) as f64, e.partials.0, 1e-6),
            "{:?} f32: ∂x",
            e.op
        );
        assert!(
            close(g.wrt(y) as f64, e.partials.1, 1e-6),
            "{:?} f32: ∂y",
            e.op
        );

        // A [2, 3] tensor against a broadcast [3] row: ∂y sums over the two rows.
        let tape = Tape::<f64>::new();
        let (x, y) = (tape.full(&[2, 3], e.x), tape.full(&[3], e.y));
        let out = x.binary(y, e.op);
        let g = out.sum().backward();
        assert!(
            out.to_vec().iter().all(|&v| close(v, e.value, 1e-14)),
            "{:?} tensor",
            e.op
        );
        assert!(
            g.wrt(x)
                .data()
                .iter()
                .all(|&v| close(v, e.partials.0, 1e-14)),
            "{:?} tensor ∂x",
            e.op
        );
        assert!(
            g.wrt(y)
                .data()
                .iter()
                .all(|&v| close(v, 2.0 * e.partials.1, 1e-14)),
            "{:?} tensor ∂y",
            e.op
        );
    }
}

/// The first-order kernels of tensor ops and the scalar path compute the same numbers as the
/// rule itself (`op.f`, `op.df`) on plain values, element for element.
#[test]
fn tensor_and_scalar_paths_equal_the_rule_on_plain_numbers() {
    let xs: Vec<f64> = (0..23).map(|i| -2.2 + 0.2 * i as f64).collect();
    for &op in UnaryOp::ALL {
        let xs: Vec<f64> = xs.iter().map(|&v| op.domain().push_out(v)).collect();
        let tape = Tape::<f64>::new();
        let x = tape.tensor_from_vec(xs.clone(), &[xs.len()]).unwrap();
        let y = x.unary(op);
        let g = y.sum().backward();
        for (i, &v) in xs.iter().enumerate() {
            let out = op.f(v);
            // Equal numbers, or both NaN (an adjoint that starts at +0 turns a −0 partial into +0).
            let bits = |a: f64| {
                if a.is_nan() {
                    u64::MAX
                } else {
                    (a + 0.0).to_bits()
                }
            };
            assert_eq!(bits(y.to_vec()[i]), bits(out), "{op:?} value at {v}");
            assert_eq!(
                bits(g.wrt(x).data()[i]),
                bits(op.df(v, out)),
                "{op:?} gradient at {v}"
            );
            let s = tape.var(v);
            let sy = s.unary(op);
            assert_eq!(bits(sy.value()), bits(out), "{op:?} scalar value at {v}");
            assert_eq!(
                bits(sy.backward().wrt(s)),
                bits(op.df(v, out)),
                "{op:?} scalar gradient at {v}"
            );
        }
    }
}

/// `Real`'s named methods are the table's ops: on plain numbers they give `f`.
#[test]
fn named_methods_of_real_are_the_table_ops() {
    fn via_real<N: Real>(x: N, y: N) -> [N; 6] {
        [x.exp(), x.ln_1p(), x.sigmoid(), x.abs(), x.pow(y), x.max(y)]
    }
    let (x, y) = (0.3f64, -0.7f64);
    let want = [
        UnaryOp::Exp.f(x),
        UnaryOp::Ln1p.f(x),
        UnaryOp::Sigmoid.f(x),
        UnaryOp::Abs.f(x),
        BinaryOp::Pow.f(x, y),
        BinaryOp::Max.f(x, y),
    ];
    assert_eq!(via_real(x, y), want);
    assert_eq!((want[0], want[4]), (x.exp(), x.powf(y)));
}
