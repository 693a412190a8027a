//! Every scalar op against central differences, in `f64` and `f32`, and the conventions at
//! the points where an op is not differentiable.

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

/// A pair `(x, y)` with `|x − y| ≥ 0.05`: max/min away from a tie.
fn untied_pair() -> impl Strategy<Value = (f64, f64)> {
    (-3.0..3.0f64, away_from_zero(0.05, 2.0)).prop_map(|(x, d)| (x, x + d))
}

fn untied_pair_f32() -> impl Strategy<Value = (f32, f32)> {
    // The f32 step is 1e-2, so the gap must be well above it.
    (-3.0..3.0f64, away_from_zero(0.2, 2.0)).prop_map(|(x, d)| (x as f32, (x + d) as f32))
}

fn f32_in(lo: f32, hi: f32) -> impl Strategy<Value = f32> {
    lo..hi
}

fn f32_away_from_zero(margin: f64, max: f64) -> impl Strategy<Value = f32> {
    away_from_zero(margin, max).prop_map(|v| v as f32)
}

// ---- f64, tolerances of `CheckConfig::default()` ----------------------------------------

unary_props! { CheckConfig::default();
    neg(x in -3.0..3.0f64) => -x;
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
    powi_positive(x in -2.0..2.0f64) => x.powi(3);
    powi_square(x in -2.0..2.0f64) => x.powi(2);
    powi_one(x in -2.0..2.0f64) => x.powi(1);
    powi_zero(x in -2.0..2.0f64) => x.powi(0) * x;
    powi_negative(x in away_from_zero(0.3, 2.0)) => x.powi(-2);
    powi_negative_odd(x in away_from_zero(0.3, 2.0)) => x.powi(-3);
    powf_half(x in 0.1..4.0f64) => x.powf(0.5);
    powf_fractional(x in 0.1..4.0f64) => x.powf(1.7);
    powf_negative(x in 0.1..4.0f64) => x.powf(-1.3);
    exp(x in -3.0..3.0f64) => x.exp();
    ln(x in 0.05..5.0f64) => x.ln();
    sqrt(x in 0.05..5.0f64) => x.sqrt();
    sin(x in -6.0..6.0f64) => x.sin();
    cos(x in -6.0..6.0f64) => x.cos();
    // tan has poles at ±π/2 ≈ ±1.571; stay well inside.
    tan(x in -1.3..1.3f64) => x.tan();
    tanh(x in -4.0..4.0f64) => x.tanh();
    sigmoid(x in -8.0..8.0f64) => x.sigmoid();
    // relu and abs have a kink at 0; central differences straddling it are meaningless.
    relu(x in away_from_zero(1e-3, 3.0)) => x.relu();
    abs(x in away_from_zero(1e-3, 3.0)) => x.abs();
    recip(x in away_from_zero(0.2, 3.0)) => x.recip();
    ln_1p(x in -0.8..3.0f64) => x.ln_1p();
    exp_m1(x in -3.0..3.0f64) => x.exp_m1();
    // A custom op given its value and derivative: here x·eˣ, derivative (1 + x)eˣ.
    custom(x in -2.0..2.0f64) => {
        let v = x.value();
        x.custom(v * v.exp(), (1.0 + v) * v.exp())
    };
    composition(x in 0.1..2.0f64) => (x.sin() * x.exp() + x.ln()).tanh().powi(2);
}

binary_props! { CheckConfig::default();
    add((x, y) in (-3.0..3.0f64, -3.0..3.0f64)) => x + y;
    sub((x, y) in (-3.0..3.0f64, -3.0..3.0f64)) => x - y;
    mul((x, y) in (-3.0..3.0f64, -3.0..3.0f64)) => x * y;
    div((x, y) in (-3.0..3.0f64, away_from_zero(0.3, 3.0))) => x / y;
    // The same handle on both sides: gradients from both operands add up.
    mul_self((x, y) in (-3.0..3.0f64, -3.0..3.0f64)) => x * x + y * y * y;
    div_self((x, y) in (away_from_zero(0.3, 3.0), -3.0..3.0f64)) => (x + y) / x;
    pow((x, y) in (0.1..3.0f64, -2.0..2.0f64)) => x.pow(y);
    pow_from_expressions((x, y) in (0.1..2.0f64, -1.0..1.0f64)) => (x + 1.0).pow(y * y);
    max((x, y) in untied_pair()) => x.max(y);
    max_flipped((x, y) in untied_pair()) => y.max(x);
    min((x, y) in untied_pair()) => x.min(y);
    min_flipped((x, y) in untied_pair()) => y.min(x);
}

// ---- f32, with `CheckConfig::f32()` ------------------------------------------------------

mod f32_ops {
    use super::*;

    unary_props! { CheckConfig::f32();
        neg(x in f32_in(-3.0, 3.0)) => -x;
        add_const_rhs(x in f32_in(-3.0, 3.0)) => x + 2.0;
        add_const_lhs(x in f32_in(-3.0, 3.0)) => 2.0 + x;
        sub_const_rhs(x in f32_in(-3.0, 3.0)) => x - 2.0;
        sub_const_lhs(x in f32_in(-3.0, 3.0)) => 2.0 - x;
        mul_const_rhs(x in f32_in(-3.0, 3.0)) => x * 3.0;
        mul_const_lhs(x in f32_in(-3.0, 3.0)) => 3.0 * x;
        div_const_rhs(x in f32_in(-3.0, 3.0)) => x / 3.0;
        div_const_lhs(x in f32_away_from_zero(0.5, 3.0)) => 3.0 / x;
        powi_positive(x in f32_in(-2.0, 2.0)) => x.powi(3);
        powi_zero(x in f32_in(-2.0, 2.0)) => x.powi(0) * x;
        powi_negative(x in f32_away_from_zero(0.5, 2.0)) => x.powi(-2);
        powf(x in f32_in(0.5, 4.0)) => x.powf(1.5);
        exp(x in f32_in(-3.0, 3.0)) => x.exp();
        ln(x in f32_in(0.5, 5.0)) => x.ln();
        sqrt(x in f32_in(0.5, 5.0)) => x.sqrt();
        sin(x in f32_in(-6.0, 6.0)) => x.sin();
        cos(x in f32_in(-6.0, 6.0)) => x.cos();
        tan(x in f32_in(-1.0, 1.0)) => x.tan();
        tanh(x in f32_in(-4.0, 4.0)) => x.tanh();
        sigmoid(x in f32_in(-8.0, 8.0)) => x.sigmoid();
        relu(x in f32_away_from_zero(0.1, 3.0)) => x.relu();
        abs(x in f32_away_from_zero(0.1, 3.0)) => x.abs();
        recip(x in f32_away_from_zero(0.5, 3.0)) => x.recip();
        ln_1p(x in f32_in(-0.5, 3.0)) => x.ln_1p();
        exp_m1(x in f32_in(-2.0, 2.0)) => x.exp_m1();
        custom(x in f32_in(-2.0, 2.0)) => {
            let v = x.value();
            x.custom(v * v.exp(), (1.0 + v) * v.exp())
        };
    }

    binary_props! { CheckConfig::f32();
        add((x, y) in (f32_in(-3.0, 3.0), f32_in(-3.0, 3.0))) => x + y;
        sub((x, y) in (f32_in(-3.0, 3.0), f32_in(-3.0, 3.0))) => x - y;
        mul((x, y) in (f32_in(-3.0, 3.0), f32_in(-3.0, 3.0))) => x * y;
        div((x, y) in (f32_in(-3.0, 3.0), f32_away_from_zero(0.5, 3.0))) => x / y;
        pow((x, y) in (f32_in(0.5, 3.0), f32_in(-2.0, 2.0))) => x.pow(y);
        max((x, y) in untied_pair_f32()) => x.max(y);
        min((x, y) in untied_pair_f32()) => x.min(y);
    }
}

// ---- values ------------------------------------------------------------------------------

#[test]
fn values_agree_with_the_standard_library() {
    let tape = Tape::<f64>::new();
    let (a, b) = (0.7f64, -1.9f64);
    let (x, y) = (tape.var(a), tape.var(b));
    let cases = [
        ("add", (x + y).value(), a + b),
        ("sub", (x - y).value(), a - b),
        ("mul", (x * y).value(), a * b),
        ("div", (x / y).value(), a / b),
        ("rsub", (2.0 - x).value(), 2.0 - a),
        ("rdiv", (2.0 / x).value(), 2.0 / a),
        ("add_const", (x + 3.0).value(), a + 3.0),
        ("radd", (3.0 + x).value(), 3.0 + a),
        ("sub_const", (x - 3.0).value(), a - 3.0),
        ("mul_const", (x * 3.0).value(), a * 3.0),
        ("rmul", (3.0 * x).value(), 3.0 * a),
        ("div_const", (x / 3.0).value(), a / 3.0),
        ("neg", (-x).value(), -a),
        ("powi", x.powi(-3).value(), a.powi(-3)),
        ("powf", x.powf(1.7).value(), a.powf(1.7)),
        ("pow", x.pow(y).value(), a.powf(b)),
        ("exp", x.exp().value(), a.exp()),
        ("ln", x.ln().value(), a.ln()),
        ("sqrt", x.sqrt().value(), a.sqrt()),
        ("sin", y.sin().value(), b.sin()),
        ("cos", y.cos().value(), b.cos()),
        ("tan", y.tan().value(), b.tan()),
        ("tanh", y.tanh().value(), b.tanh()),
        ("sigmoid", y.sigmoid().value(), 1.0 / (1.0 + (-b).exp())),
        ("relu", y.relu().value(), 0.0),
        ("abs", y.abs().value(), -b),
        ("recip", y.recip().value(), 1.0 / b),
        ("ln_1p", x.ln_1p().value(), a.ln_1p()),
        ("exp_m1", y.exp_m1().value(), b.exp_m1()),
        ("max", x.max(y).value(), a),
        ("min", x.min(y).value(), b),
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
