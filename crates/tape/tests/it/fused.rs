//! Fused elementwise ops: every derivative rule of `Dual` against central differences, and
//! the fused ops against the gradient checker and against the same formula in unfused tensor
//! ops.

use tape::check::CheckConfig;
use tape::fused::{self, Dual};
use tape::{Array, Tape, TapeError, Tensor};

use crate::common::{assert_grad, assert_grad_scalar};

/// The central difference of `f` at `x`, step `1e-6·max(1, |x|)`.
fn central(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// Asserts that a dual result's value is `want` and its tangent `[d0, d1]` within `1e-6`
/// (relative to `max(1, |d|)`), naming the rule.
#[track_caller]
fn assert_dual(name: &str, got: Dual<f64, 2>, want: f64, d: [f64; 2]) {
    assert!(
        (got.value - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{name}: value {} against {want}",
        got.value
    );
    for (k, (&t, &dk)) in got.tangent.iter().zip(&d).enumerate() {
        let tol = 1e-6 * dk.abs().max(1.0);
        assert!((t - dk).abs() <= tol, "{name}: ∂{k} {t} against {dk}");
    }
}

type Unary = (
    &'static str,
    fn(Dual<f64, 2>) -> Dual<f64, 2>,
    fn(f64) -> f64,
    f64,
);

/// Every one-argument method, at a point inside its domain and away from its kinks.
const UNARY: [Unary; 31] = [
    ("powi(3)", |x| x.powi(3), |x| x.powi(3), 0.7),
    ("powi(-2)", |x| x.powi(-2), |x| x.powi(-2), 0.7),
    ("powi(0)", |x| x.powi(0), |x| x.powi(0), 0.7),
    ("powf(2.5)", |x| x.powf(2.5), |x| x.powf(2.5), 0.7),
    ("sqrt", Dual::sqrt, f64::sqrt, 0.7),
    ("cbrt", Dual::cbrt, f64::cbrt, -0.7),
    ("exp", Dual::exp, f64::exp, 0.7),
    ("exp2", Dual::exp2, f64::exp2, 0.7),
    ("exp_m1", Dual::exp_m1, f64::exp_m1, 0.7),
    ("ln", Dual::ln, f64::ln, 0.7),
    ("ln_1p", Dual::ln_1p, f64::ln_1p, 0.7),
    ("log2", Dual::log2, f64::log2, 0.7),
    ("log10", Dual::log10, f64::log10, 0.7),
    ("sin", Dual::sin, f64::sin, 0.7),
    ("cos", Dual::cos, f64::cos, 0.7),
    ("tan", Dual::tan, f64::tan, 0.7),
    ("asin", Dual::asin, f64::asin, 0.7),
    ("acos", Dual::acos, f64::acos, 0.7),
    ("atan", Dual::atan, f64::atan, 0.7),
    ("sinh", Dual::sinh, f64::sinh, 0.7),
    ("cosh", Dual::cosh, f64::cosh, 0.7),
    ("tanh", Dual::tanh, f64::tanh, 0.7),
    ("asinh", Dual::asinh, f64::asinh, 0.7),
    ("acosh", Dual::acosh, f64::acosh, 1.7),
    ("atanh", Dual::atanh, f64::atanh, 0.7),
    ("recip", Dual::recip, f64::recip, 0.7),
    ("abs (x < 0)", Dual::abs, f64::abs, -0.7),
    ("abs (x > 0)", Dual::abs, f64::abs, 0.7),
    ("signum", Dual::signum, f64::signum, -0.7),
    ("sigmoid", Dual::sigmoid, |x| 1.0 / (1.0 + (-x).exp()), 0.7),
    ("neg", |x| -x, |x| -x, 0.7),
];

#[test]
fn every_one_argument_rule_matches_central_differences() {
    for (name, dual, plain, x) in UNARY {
        // Seeded as the second of two variables: the first tangent must stay 0.
        let got = dual(Dual::variable(x, 1));
        assert_dual(name, got, plain(x), [0.0, central(plain, x)]);
    }
}

type Binary = (
    &'static str,
    fn(Dual<f64, 2>, Dual<f64, 2>) -> Dual<f64, 2>,
    fn(f64, f64) -> f64,
);

/// Every two-argument rule: the operators (with a dual or a plain number on either side, and
/// the compound assignments) and the methods.
const BINARY: [Binary; 23] = [
    ("a + b", |a, b| a + b, |a, b| a + b),
    ("a - b", |a, b| a - b, |a, b| a - b),
    ("a * b", |a, b| a * b, |a, b| a * b),
    ("a / b", |a, b| a / b, |a, b| a / b),
    ("a + 2", |a, b| a + 2.0 + b, |a, b| a + 2.0 + b),
    ("a - 2", |a, b| (a - 2.0) * b, |a, b| (a - 2.0) * b),
    ("a * 3", |a, b| a * 3.0 * b, |a, b| a * 3.0 * b),
    ("a / 3", |a, b| a / 3.0 * b, |a, b| a / 3.0 * b),
    ("2 + a", |a, b| (2.0 + a) * b, |a, b| (2.0 + a) * b),
    ("2 - a", |a, b| (2.0 - a) * b, |a, b| (2.0 - a) * b),
    ("3 * a", |a, b| 3.0 * a * b, |a, b| 3.0 * a * b),
    ("3 / a", |a, b| 3.0 / a * b, |a, b| 3.0 / a * b),
    (
        "a += b, a *= 2",
        |a, b| {
            let mut y = a;
            y += b;
            y *= 2.0;
            y
        },
        |a, b| (a + b) * 2.0,
    ),
    (
        "a -= b, a += 1",
        |a, b| {
            let mut y = a;
            y -= b;
            y += 1.0;
            y
        },
        |a, b| a - b + 1.0,
    ),
    (
        "a *= b, a -= 1",
        |a, b| {
            let mut y = a;
            y *= b;
            y -= 1.0;
            y
        },
        |a, b| a * b - 1.0,
    ),
    (
        "a /= b, a /= 2",
        |a, b| {
            let mut y = a;
            y /= b;
            y /= 2.0;
            y
        },
        |a, b| a / b / 2.0,
    ),
    ("pow", Dual::pow, f64::powf),
    ("atan2", Dual::atan2, f64::atan2),
    ("hypot", Dual::hypot, f64::hypot),
    ("max", Dual::max, f64::max),
    ("min", Dual::min, f64::min),
    ("max (b larger)", |a, b| b.max(a), |a, b| b.max(a)),
    ("mul_add", |a, b| a.mul_add(b, a), |a, b| a.mul_add(b, a)),
];

#[test]
fn every_two_argument_rule_matches_central_differences() {
    let (a, b) = (0.7, 1.3);
    for (name, dual, plain) in BINARY {
        let got = dual(Dual::variable(a, 0), Dual::variable(b, 1));
        let d = [central(|a| plain(a, b), a), central(|b| plain(a, b), b)];
        assert_dual(name, got, plain(a, b), d);
    }
}

/// The conventions at kinks are the tape's: `abs` has derivative 0 at 0, a tie of `max` or
/// `min` takes the first operand's derivative.
#[test]
fn kinks_follow_the_tapes_conventions() {
    let x = Dual::<f64, 2>::variable(0.0, 0);
    assert_eq!(x.abs().tangent, [0.0, 0.0]);
    let (a, b) = (Dual::<f64, 2>::variable(1.0, 0), Dual::variable(1.0, 1));
    assert_eq!(a.max(b).tangent, [1.0, 0.0]);
    assert_eq!(a.min(b).tangent, [1.0, 0.0]);
    assert_eq!(Dual::<f64, 2>::constant(3.0).tangent, [0.0, 0.0]);
}

/// A formula that uses several rules at once, as a closure over duals...
fn formula_dual<T>(a: Dual<T, 2>, b: Dual<T, 2>) -> Dual<T, 2>
where
    T: tape::Element,
{
    (a * b).sin() + (a - b).powi(2) * b.exp() / (a * a + b * b).sqrt()
}

/// ... and in unfused tensor ops.
fn formula_tensor<'t, T: tape::Element>(a: Tensor<'t, T>, b: Tensor<'t, T>) -> Tensor<'t, T> {
    let d = a - b;
    (a * b).sin() + d * d * b.exp() / (a * a + b * b).sqrt()
}

fn inputs<T: tape::Element>(shape: &[usize]) -> [Array<T>; 2] {
    [
        Array::rand_uniform(shape, T::cast_from(0.2), T::cast_from(1.5), 1),
        Array::rand_uniform(shape, T::cast_from(-1.5), T::cast_from(-0.2), 2),
    ]
}

/// Value and gradients of `Σ w ⊙ g(a, b)` for a fixed weight `w`, by `g` fused or not.
fn weighted_sum<T: tape::Element>(fuse: bool, x: &[Array<T>; 2]) -> (T, Vec<Array<T>>) {
    let tape = Tape::<T>::new();
    let (a, b) = (tape.tensor(x[0].clone()), tape.tensor(x[1].clone()));
    let w = tape.tensor_constant(Array::rand_uniform(
        x[0].shape(),
        T::one(),
        T::cast_from(2.0),
        3,
    ));
    let y = if fuse {
        fused::map2(a, b, formula_dual).unwrap()
    } else {
        formula_tensor(a, b)
    };
    let s = (y * w).sum();
    let mut g = s.backward();
    (s.value(), vec![g.take(a), g.take(b)])
}

fn assert_fused_matches_unfused<T: tape::Element>(tol: f64) {
    let x = inputs::<T>(&[3, 7]);
    let (v_fused, g_fused) = weighted_sum(true, &x);
    let (v_plain, g_plain) = weighted_sum(false, &x);
    assert!((v_fused - v_plain).as_f64().abs() <= tol * v_plain.as_f64().abs().max(1.0));
    for (f, p) in g_fused.iter().zip(&g_plain) {
        assert!(
            f.max_abs_diff(p) <= tol,
            "{} against {}",
            f.max_abs_diff(p),
            tol
        );
    }
}

#[test]
fn map2_matches_the_unfused_tensor_formula_f64() {
    assert_fused_matches_unfused::<f64>(1e-12);
}

#[test]
fn map2_matches_the_unfused_tensor_formula_f32() {
    assert_fused_matches_unfused::<f32>(1e-5);
}

#[test]
fn map2_passes_the_gradient_check_f64_and_f32() {
    assert_grad(
        |_, x| fused::map2(x[0], x[1], formula_dual).unwrap(),
        &inputs::<f64>(&[2, 3]),
        &CheckConfig::default(),
    );
    assert_grad(
        |_, x| fused::map2(x[0], x[1], formula_dual).unwrap(),
        &inputs::<f32>(&[2, 3]),
        &CheckConfig::f32(),
    );
}

#[test]
fn map1_map3_and_the_sums_pass_the_gradient_check() {
    let x = inputs::<f64>(&[5]);
    let c = Array::rand_uniform(&[5], 0.5, 1.0, 4);
    let three = [x[0].clone(), x[1].clone(), c];
    let config = CheckConfig::default();
    assert_grad(
        |_, x| fused::map1(x[0], |a| a.tanh() * a.exp()).unwrap(),
        &x[..1],
        &config,
    );
    assert_grad(
        |_, x| fused::map3(x[0], x[1], x[2], |a, b, c| a * b / c + c.ln()).unwrap(),
        &three,
        &config,
    );
    assert_grad_scalar(
        |_, x| fused::map1_sum(x[0], |a| a.sin() * a).unwrap(),
        &x[..1],
        &config,
    );
    assert_grad_scalar(
        |_, x| fused::map2_sum(x[0], x[1], formula_dual).unwrap(),
        &x,
        &config,
    );
    assert_grad_scalar(
        |_, x| fused::map3_sum(x[0], x[1], x[2], |a, b, c| (a - b).hypot(c)).unwrap(),
        &three,
        &config,
    );
}

/// The fused sum runs in eight partial sums and a tail: a length that is not a multiple of
/// eight must give the unfused sum and gradient.
#[test]
fn map2_sum_matches_map2_then_sum_with_a_tail() {
    let x = inputs::<f64>(&[1003]);
    let run = |fuse_sum: bool| {
        let tape = Tape::<f64>::new();
        let (a, b) = (tape.tensor(x[0].clone()), tape.tensor(x[1].clone()));
        let s = if fuse_sum {
            fused::map2_sum(a, b, formula_dual).unwrap()
        } else {
            fused::map2(a, b, formula_dual).unwrap().sum()
        };
        let mut g = s.backward();
        (s.value(), g.take(a), g.take(b))
    };
    let (v1, ga1, gb1) = run(true);
    let (v2, ga2, gb2) = run(false);
    assert!((v1 - v2).abs() <= 1e-12 * v2.abs());
    assert_eq!((ga1.data(), gb1.data()), (ga2.data(), gb2.data()));
}

/// Rosenbrock over the two overlapping slices, one fused node, against the hand-written
/// gradient of `argmin_testfunctions`.
#[test]
fn fused_rosenbrock_matches_the_hand_written_gradient() {
    let x: Vec<f64> = Array::<f64>::rand_uniform(&[100], -2.0, 2.0, 5)
        .data()
        .to_vec();
    let tape = Tape::<f64>::new();
    let xt = tape.tensor_from_vec(x.clone(), &[100]).unwrap();
    let (head, tail) = (xt.slice(0, 0, 99), xt.slice(0, 1, 100));
    let f = fused::map2_sum(head, tail, |a, b| {
        let (u, v) = (1.0 - a, b - a * a);
        u * u + v * v * 100.0
    })
    .unwrap();
    let want = argmin_testfunctions::rosenbrock_derivative(&x);
    let scale = want.iter().fold(1.0f64, |m, g| m.max(g.abs()));
    let value = argmin_testfunctions::rosenbrock(&x);
    assert!((f.value() - value).abs() <= 1e-12 * value.abs());
    for (g, w) in f.backward().wrt(xt).data().iter().zip(&want) {
        assert!((g - w).abs() <= 1e-12 * scale, "{g} against {w}");
    }
}

#[test]
fn fused_ops_reject_different_shapes_naming_the_op_and_both_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.zeros(&[2, 3]);
    let b = tape.zeros(&[3]);
    let err = fused::map2(a, b, |a, b| a + b).unwrap_err();
    assert!(matches!(
        err,
        TapeError::ShapeMismatch {
            op: "fused::map2",
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "fused::map2: inputs differ in shape (fused ops do not broadcast): lhs [2, 3], rhs [3]"
    );
    let err = fused::map3_sum(a, a, b, |a, b, c| a + b + c).unwrap_err();
    assert_eq!(
        err.to_string(),
        "fused::map3_sum: inputs differ in shape (fused ops do not broadcast): lhs [2, 3], rhs [3]"
    );
}

#[test]
fn fused_ops_reject_inputs_from_different_tapes() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let err = fused::map2(t1.zeros(&[2]), t2.zeros(&[2]), |a, b| a + b).unwrap_err();
    assert_eq!(
        err,
        TapeError::DifferentTapes {
            op: "fused::map2".into()
        }
    );
}

/// A second derivative through a fused node is not supported: `backward_graph` says so,
/// naming the op, instead of returning a wrong Hessian.
#[test]
fn second_order_through_a_fused_op_is_an_error_naming_it() {
    let tape = Tape::<f64>::new();
    let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    let y = fused::map1_sum(x, |a| a.powi(3)).unwrap();
    let err = y.backward_graph().map(|_| ()).unwrap_err();
    assert!(matches!(&err, TapeError::Custom { name, .. } if name == "fused::map1_sum"));
    assert!(
        err.to_string().contains("cannot be differentiated twice"),
        "{err}"
    );
}
