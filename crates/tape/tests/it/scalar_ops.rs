//! Scalar ops written with operators and constants, custom scalar functions and compositions
//! against central differences, in `f64` and `f32`, and the conventions at the points where an
//! op is not differentiable. (Each op of the table is checked on its own in `table.rs`.)

use proptest::prelude::*;
use tape::Tape;
use tape::check::CheckConfig;

use crate::common::{assert_grad_scalars, away_from_zero};

/// One property test per unary op: `$x` is drawn from the strategy, then rebound to the
/// handle on the tape inside the function checked.
macro_rules! unary_props {
    ($cfg:expr; $($name:ident($x:ident in $strat:expr) => $body:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]
            $(
                #[test]
                fn $name($x in $strat) {
                    assert_grad_scalars(|_, v| { let $x = v[0]; $body }, &[$x], &$cfg);
                }
            )*
        }
    };
}

/// One property test per binary op, as [`unary_props`] with two inputs.
macro_rules! binary_props {
    ($cfg:expr; $($name:ident(($x:ident, $y:ident) in $strat:expr) => $body:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]
            $(
                #[test]
                fn $name(($x, $y) in $strat) {
                    assert_grad_scalars(
                        |_, v| { let ($x, $y) = (v[0], v[1]); $body },
                        &[$x, $y],
                        &$cfg,
                    );
                }
            )*
        }
    };
}

fn f32_in(lo: f32, hi: f32) -> impl Strategy<Value = f32> {
    lo..hi
}

fn f32_away_from_zero(margin: f64, max: f64) -> impl Strategy<Value = f32> {
    away_from_zero(margin, max).prop_map(|v| v as f32)
}

// ---- f64, tolerances of `CheckConfig::default()` ----------------------------------------

unary_props! { CheckConfig::default();
    add_const_rhs(x in -3.0..3.0f64) => x + 2.0;
    add_const_lhs(x in -3.0..3.0f64) => 2.0 + x;
    sub_const_rhs(x in -3.0..3.0f64) => x - 2.0;
    sub_const_lhs(x in -3.0..3.0f64) => 2.0 - x;
    mul_const_rhs(x in -3.0..3.0f64) => x * 3.0;
    mul_const_lhs(x in -3.0..3.0f64) => 3.0 * x;
    div_const_rhs(x in -3.0..3.0f64) => x / 3.0;
    div_const_lhs(x in away_from_zero(0.2, 3.0)) => 3.0 / x;
    // Constants in a product keep their own place: 2 − x·(x + 1) has derivative −2x − 1.
    constants_inside_expressions(x in -3.0..3.0f64) => 2.0 - x * (x + 1.0);
    // A custom op given its value and derivative: here x·eˣ, derivative (1 + x)eˣ.
    custom(x in -2.0..2.0f64) => {
        let v = x.value();
        x.custom(v * v.exp(), (1.0 + v) * v.exp())
    };
    composition(x in 0.1..2.0f64) => (x.sin() * x.exp() + x.ln()).tanh().powi(2);
}

binary_props! { CheckConfig::default();
    // The same handle on both sides: gradients from both operands add up.
    mul_self((x, y) in (-3.0..3.0f64, -3.0..3.0f64)) => x * x + y * y * y;
    div_self((x, y) in (away_from_zero(0.3, 3.0), -3.0..3.0f64)) => (x + y) / x;
    pow_from_expressions((x, y) in (0.1..2.0f64, -1.0..1.0f64)) => (x + 1.0).pow(y * y);
}

// ---- f32, with `CheckConfig::f32()` ------------------------------------------------------

mod f32_ops {
    use super::*;

    unary_props! { CheckConfig::f32();
        add_const_rhs(x in f32_in(-3.0, 3.0)) => x + 2.0;
        add_const_lhs(x in f32_in(-3.0, 3.0)) => 2.0 + x;
        sub_const_rhs(x in f32_in(-3.0, 3.0)) => x - 2.0;
        sub_const_lhs(x in f32_in(-3.0, 3.0)) => 2.0 - x;
        mul_const_rhs(x in f32_in(-3.0, 3.0)) => x * 3.0;
        mul_const_lhs(x in f32_in(-3.0, 3.0)) => 3.0 * x;
        div_const_rhs(x in f32_in(-3.0, 3.0)) => x / 3.0;
        div_const_lhs(x in f32_away_from_zero(0.5, 3.0)) => 3.0 / x;
        custom(x in f32_in(-2.0, 2.0)) => {
            let v = x.value();
            x.custom(v * v.exp(), (1.0 + v) * v.exp())
        };
    }
}

// ---- values ------------------------------------------------------------------------------

#[test]
fn operators_with_constants_agree_with_plain_arithmetic() {
    let tape = Tape::<f64>::new();
    let a = 0.7f64;
    let x = tape.var(a);
    let cases = [
        ("rsub", (2.0 - x).value(), 2.0 - a),
        ("rdiv", (2.0 / x).value(), 2.0 / a),
        ("add_const", (x + 3.0).value(), a + 3.0),
        ("radd", (3.0 + x).value(), 3.0 + a),
        ("sub_const", (x - 3.0).value(), a - 3.0),
        ("mul_const", (x * 3.0).value(), a * 3.0),
        ("rmul", (3.0 * x).value(), 3.0 * a),
        ("div_const", (x / 3.0).value(), a / 3.0),
    ];
    for (name, got, want) in cases {
        // Identical formulas, so anything beyond the last bit or two is a different formula.
        assert!(
            (got - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(1.0),
            "{name}: {got} vs {want}"
        );
    }
}

// ---- conventions at kinks ----------------------------------------------------------------

#[test]
fn relu_has_derivative_zero_at_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(0.0);
    let y = x.relu();
    assert_eq!(y.value(), 0.0);
    assert_eq!(y.backward().wrt(x), 0.0);
    // Either side of the kink for contrast: 0 to the left, 1 to the right.
    let (l, r) = (tape.var(-1e-300), tape.var(1e-300));
    assert_eq!(l.relu().backward().wrt(l), 0.0);
    assert_eq!(r.relu().backward().wrt(r), 1.0);
}

#[test]
fn abs_has_derivative_zero_at_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(0.0);
    let y = x.abs();
    assert_eq!(y.value(), 0.0);
    assert_eq!(y.backward().wrt(x), 0.0);
    let (l, r) = (tape.var(-1e-300), tape.var(1e-300));
    assert_eq!(l.abs().backward().wrt(l), -1.0);
    assert_eq!(r.abs().backward().wrt(r), 1.0);
}

#[test]
fn max_and_min_ties_send_the_whole_gradient_to_the_first_operand() {
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.var(1.5), tape.var(1.5));
    for (name, out, first, second) in [
        ("a.max(b)", a.max(b), a, b),
        ("b.max(a)", b.max(a), b, a),
        ("a.min(b)", a.min(b), a, b),
        ("b.min(a)", b.min(a), b, a),
    ] {
        assert_eq!(out.value(), 1.5, "{name}");
        let g = out.backward();
        assert_eq!((g.wrt(first), g.wrt(second)), (1.0, 0.0), "{name}");
    }
}

#[test]
fn pow_exponent_gradient_is_zero_at_a_zero_base() {
    let tape = Tape::<f64>::new();
    // d/dy 0^y = 0^y · ln 0 is 0 · (−∞); the convention (the limit from the right for
    // y > 0, where 0^y ≡ 0) is 0. d/dx x^y at x = 0, y = 2 is y·x^(y−1) = 2·0 = 0.
    let (x, y) = (tape.var(0.0), tape.var(2.0));
    let out = x.pow(y);
    assert_eq!(out.value(), 0.0);
    let g = out.backward();
    assert_eq!(g.wrt(y), 0.0);
    assert_eq!(g.wrt(x), 0.0);
    // With y = 1, x^y = x: d/dx is y·x^0 = 1 even at x = 0 (not y·out/x = 0/0).
    let one = tape.var(1.0);
    let g = x.pow(one).backward();
    assert_eq!((g.wrt(x), g.wrt(one)), (1.0, 0.0));
}

#[test]
fn powi_zero_is_constant_one_with_derivative_zero() {
    let tape = Tape::<f64>::new();
    // x⁰ = 1 everywhere, also at 0, so d/dx = 0 (not 0·x⁻¹ = NaN at 0).
    for v in [0.0, -2.0, 3.0] {
        let x = tape.var(v);
        let y = x.powi(0);
        assert_eq!(y.value(), 1.0);
        assert_eq!(y.backward().wrt(x), 0.0);
    }
}

#[test]
fn sigmoid_saturates_without_nan() {
    let tape = Tape::<f64>::new();
    // σ(x) = 1/(1 + e^−x): e^1000 overflows, so a naive formula gives inf/inf = NaN at −1000;
    // the value must be 0 (resp. 1) and σ' = σ(1 − σ) exactly 0.
    for (v, expected) in [(-1e3, 0.0), (1e3, 1.0)] {
        let x = tape.var(v);
        let y = x.sigmoid();
        assert_eq!(y.value(), expected, "σ({v})");
        assert_eq!(y.backward().wrt(x), 0.0, "σ'({v})");
    }
    let tape = Tape::<f32>::new();
    for (v, expected) in [(-1e3f32, 0.0f32), (1e3, 1.0)] {
        let x = tape.var(v);
        let y = x.sigmoid();
        assert_eq!(y.value(), expected, "f32 σ({v})");
        assert_eq!(y.backward().wrt(x), 0.0, "f32 σ'({v})");
    }
}
