//! `Scalar` as a `num_traits::Float`: every method of the trait, called through generic code,
//! gives the value plain `f64`/`f32` give, a gradient that matches central differences in both
//! precisions, and a second derivative (through `backward_graph`) that matches differences of
//! the first; piecewise-constant methods give constants on no tape; constants fold.

use num_traits::float::FloatConst;
use num_traits::{Float, FromPrimitive, NumAssign, NumCast, One, Signed, Zero};
use tape::check::{CheckConfig, gradcheck_scalars};
use tape::{Scalar, Tape};

/// Equal values, NaN equal to NaN.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Points spread over `[lo, hi]`, avoiding none in particular (callers choose smooth ranges).
fn points(lo: f64, hi: f64) -> impl Iterator<Item = f64> {
    (0..9).map(move |i| lo + (hi - lo) * (i as f64 + 0.5) / 9.0)
}

/// Checks a function of one argument, given as the same generic function instantiated for
/// plain numbers and for handles of both precisions.
fn check_unary(
    name: &str,
    (lo, hi): (f64, f64),
    plain: impl Fn(f64) -> f64,
    on_f64: impl for<'t> Fn(Scalar<'t, f64>) -> Scalar<'t, f64>,
    on_f32: impl for<'t> Fn(Scalar<'t, f32>) -> Scalar<'t, f32>,
    plain32: impl Fn(f32) -> f32,
) {
    for x in points(lo, hi) {
        // The value is what plain f64 gives.
        let tape = Tape::<f64>::new();
        let y = on_f64(tape.var(x));
        assert!(
            same(y.value(), plain(x)),
            "{name}({x}): {} vs {}",
            y.value(),
            plain(x)
        );
        let tape = Tape::<f32>::new();
        let y32 = on_f32(tape.var(x as f32));
        assert!(
            same(y32.value() as f64, plain32(x as f32) as f64),
            "{name}({x}) in f32"
        );
        // First order against central differences, both precisions.
        let r = gradcheck_scalars(|_, v| on_f64(v[0]), &[x], &CheckConfig::default());
        assert!(r.is_ok(), "{name} at {x}: {}", r.unwrap_err());
        let r = gradcheck_scalars(|_, v| on_f32(v[0]), &[x as f32], &CheckConfig::f32());
        assert!(r.is_ok(), "{name} at {x} in f32: {}", r.unwrap_err());
        // Second order: the recorded derivative, differentiated, against differences of it.
        let d1 = |x: f64| {
            let tape = Tape::<f64>::new();
            let v = tape.var(x);
            on_f64(v).backward_graph().unwrap().wrt(v).value()
        };
        let tape = Tape::<f64>::new();
        let v = tape.var(x);
        let g = on_f64(v).backward_graph().unwrap().wrt(v);
        let d2 = if g.tape().is_some() {
            g.backward().wrt(v)
        } else {
            0.0
        };
        let h = 1e-5;
        let numeric = (d1(x + h) - d1(x - h)) / (2.0 * h);
        assert!(
            (d2 - numeric).abs() <= 1e-5 * (1.0 + numeric.abs()),
            "{name}'' at {x}: {d2} vs {numeric}"
        );
    }
}

macro_rules! unary_cases {
    ($($name:ident($x:ident in $lo:expr, $hi:expr) => $body:expr;)*) => {$(
        #[test]
        fn $name() {
            fn f<F: Float + FloatConst + FromPrimitive + Signed + NumAssign>($x: F) -> F {
                $body
            }
            check_unary(stringify!($name), ($lo, $hi), |v| f(v), |v| f(v), |v| f(v), |v| f(v));
        }
    )*};
}

// Each method of `Float` (and `Signed::abs`) through generic code, on a range where it is
// smooth; ops with a kink keep the kink out of the range (checked at the kink elsewhere).
unary_cases! {
    exp(x in -2.0, 2.0) => x.exp();
    exp2(x in -2.0, 2.0) => x.exp2();
    exp_m1(x in -2.0, 2.0) => x.exp_m1();
    ln(x in 0.3, 3.0) => x.ln();
    ln_1p(x in -0.5, 3.0) => x.ln_1p();
    log2(x in 0.3, 3.0) => x.log2();
    log10(x in 0.3, 3.0) => x.log10();
    log_constant_base(x in 0.3, 3.0) => x.log(F::from_f64(3.0).unwrap());
    log_variable_base(x in 1.5, 3.0) => (x * x).log(x + F::one());
    sqrt(x in 0.3, 3.0) => x.sqrt();
    cbrt(x in 0.6, 3.0) => x.cbrt() + (-x).cbrt() * F::from_f64(0.5).unwrap();
    recip(x in 0.6, 3.0) => x.recip() - (-x).recip() * x;
    sin(x in -3.0, 3.0) => x.sin();
    cos(x in -3.0, 3.0) => x.cos();
    tan(x in -1.2, 1.2) => x.tan();
    asin(x in -0.9, 0.9) => x.asin();
    acos(x in -0.9, 0.9) => x.acos();
    atan(x in -3.0, 3.0) => x.atan();
    sinh(x in -2.0, 2.0) => x.sinh();
    cosh(x in -2.0, 2.0) => x.cosh();
    tanh(x in -2.0, 2.0) => x.tanh();
    asinh(x in -2.0, 2.0) => x.asinh();
    acosh(x in 1.6, 3.0) => x.acosh();
    atanh(x in -0.5, 0.5) => x.atanh();
    float_abs(x in 0.6, 3.0) => Float::abs(x) + Float::abs(-x) * x;
    signed_abs(x in 0.6, 3.0) => Signed::abs(&x) * Signed::abs(&(-x));
    powi(x in -2.0, 2.0) => x.powi(3) + x.powi(0) * x;
    powi_negative(x in 0.6, 3.0) => x.powi(-2) - (-x).powi(-3);
    powf_constant(x in 0.3, 3.0) => x.powf(F::from_f64(2.5).unwrap());
    powf_variable(x in 0.3, 2.0) => x.powf(x);
    powf_constant_base(x in -1.0, 2.0) => F::from_f64(2.5).unwrap().powf(x);
    to_degrees(x in -3.0, 3.0) => x.to_degrees();
    to_radians(x in -300.0, 300.0) => x.to_radians();
    mul_add(x in -2.0, 2.0) => x.mul_add(x.sin(), x.exp());
    mul_add_constants(x in -2.0, 2.0) => x.mul_add(F::from_f64(3.0).unwrap(), F::one());
    hypot(x in 0.6, 3.0) => x.hypot(x.cos()) + F::from_f64(3.0).unwrap().hypot(x);
    atan2(x in 0.6, 3.0) => x.atan2(x.cos() - F::one()) + F::one().atan2(x);
    max(x in 0.6, 3.0) => x.max(x.sin()) + x.max(F::from_f64(0.3).unwrap());
    min(x in 0.6, 3.0) => x.min(x.sin()) * x.min(F::from_f64(5.0).unwrap());
    clamp(x in 0.3, 2.7) => x.clamp(F::from_f64(0.1).unwrap(), F::from_f64(2.9).unwrap()) * x;
    fract(x in 0.2, 0.8) => (x + F::from_f64(3.0).unwrap()).fract() * x;
    copysign(x in 0.6, 3.0) => x.copysign(-F::one()) + (-x).copysign(F::one());
    sin_cos(x in -3.0, 3.0) => { let (s, c) = x.sin_cos(); s * c };
    abs_sub(x in 0.6, 3.0) => Float::abs_sub(x, F::from_f64(0.5).unwrap()) + Float::abs_sub(F::from_f64(0.5).unwrap(), x);
    remainder(x in 4.2, 4.8) => x % F::from_f64(2.0).unwrap() + F::from_f64(7.5).unwrap() % x;
    float_consts(x in -2.0, 2.0) => x * F::PI() + F::E() - F::LN_2() * x * x;
    assign_ops(x in 0.6, 3.0) => {
        let mut y = x;
        y += x;
        y *= x;
        y -= F::one();
        y /= x;
        y %= F::from_f64(100.0).unwrap();
        y
    };
}

#[test]
fn piecewise_constant_methods_give_constants_with_zero_derivative() {
    let tape = Tape::<f64>::new();
    for v in [-2.5, -0.5, 0.0, 0.5, 1.5, 2.5] {
        let x = tape.var(v);
        for (name, y, want) in [
            ("floor", x.floor(), v.floor()),
            ("ceil", x.ceil(), v.ceil()),
            ("round", x.round(), v.round()),
            ("trunc", x.trunc(), v.trunc()),
            ("signum", Float::signum(x), v.signum()),
        ] {
            assert!(same(y.value(), want), "{name}({v})");
            assert!(y.tape().is_none(), "{name} records nothing");
            // Combined with x, it contributes nothing to the gradient: d(x·floor(x))/dx = floor(x).
            assert_eq!((x * y).backward().wrt(x), want, "{name}");
        }
    }
}

#[test]
fn predicates_and_comparisons_read_values_and_record_nothing() {
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.var(1.5), tape.var(-0.5));
    let before = tape.len();
    let same_value = tape.var(1.5);
    assert!(a > b);
    assert!(b < a);
    assert!(a >= same_value);
    assert!(b <= same_value);
    assert!(a == same_value);
    assert!(a != b);
    assert!(a.is_finite() && !a.is_nan() && a.is_sign_positive() && b.is_sign_negative());
    assert!(Signed::is_positive(&a) && Signed::is_negative(&b));
    assert_eq!(a.integer_decode(), 1.5f64.integer_decode());
    assert_eq!(a.partial_cmp(&b), Some(std::cmp::Ordering::Greater));
    assert_eq!(tape.len(), before + 1); // only the var made for the comparison
    let nan = Scalar::<f64>::nan();
    assert!(nan.is_nan() && nan != nan);
}

#[test]
fn constants_are_made_on_no_tape_and_fold() {
    fn constants<F: Float + FromPrimitive + FloatConst>() -> F {
        F::zero() + F::one() * F::from_f64(2.0).unwrap() - <F as NumCast>::from(0.5).unwrap()
            + F::PI()
    }
    let c = constants::<Scalar<'_, f64>>();
    assert!(c.tape().is_none());
    assert_eq!(c.value(), constants::<f64>());
    assert!(Scalar::<f64>::zero().is_zero() && Scalar::<f64>::one().value() == 1.0);
    assert_eq!(Scalar::<f32>::epsilon().value(), f32::EPSILON);
    assert_eq!(Scalar::<f64>::max_value().value(), f64::MAX);
    assert!(Scalar::<f64>::neg_infinity().value() == f64::NEG_INFINITY);
    // A constant meets a handle: it joins the handle's tape, as one node with the constant as
    // its parameter.
    let tape = Tape::<f64>::new();
    let x = tape.var(2.0);
    let before = tape.len();
    let y = c * x + c;
    assert_eq!(tape.len(), before + 2); // mul_const, add_const
    assert_eq!(
        (y.value(), y.backward().wrt(x)),
        (c.value() * 2.0 + c.value(), c.value())
    );
}

#[test]
fn max_and_min_return_the_other_operand_where_one_is_nan() {
    let tape = Tape::<f64>::new();
    let (x, nan) = (tape.var(2.0), tape.var(f64::NAN));
    for y in [
        Float::max(x, nan),
        Float::max(nan, x),
        Float::min(x, nan),
        Float::min(nan, x),
    ] {
        assert_eq!(y.value(), 2.0);
        assert_eq!(y.backward().wrt(x), 1.0);
    }
    // A tie sends the gradient to the first operand, as the table's max and min do.
    let z = tape.var(2.0);
    let g = Float::max(x, z).backward();
    assert_eq!((g.wrt(x), g.wrt(z)), (1.0, 0.0));
}

#[test]
fn mul_add_keeps_the_fused_value() {
    // 0.1·10 rounds to 1, so 0.1·10 − 1 is 0; with one rounding it is 2⁻⁵⁴·1.6 (0.1 is not
    // exactly a tenth). The fused value must be kept.
    let tape = Tape::<f64>::new();
    let (a, b, c) = (tape.var(0.1), tape.var(10.0), tape.var(-1.0));
    let y = a.mul_add(b, c);
    assert_eq!(y.value(), 0.1f64.mul_add(10.0, -1.0));
    assert_ne!(y.value(), 0.1 * 10.0 - 1.0);
    let g = y.backward();
    assert_eq!((g.wrt(a), g.wrt(b), g.wrt(c)), (10.0, 0.1, 1.0));
}

#[test]
fn sums_and_products_of_scalars() {
    let tape = Tape::<f64>::new();
    let xs = tape.vars(&[1.0, 2.0, 3.0]);
    let s: Scalar<'_, f64> = xs.iter().sum();
    let p: Scalar<'_, f64> = xs.iter().copied().product();
    assert_eq!((s.value(), p.value()), (6.0, 6.0));
    assert_eq!(p.backward().wrt_all(&xs), vec![6.0, 3.0, 2.0]);
    let empty: Scalar<'_, f64> = std::iter::empty::<Scalar<'_, f64>>().sum();
    assert!(empty.tape().is_none() && empty.value() == 0.0);
}

#[test]
fn backward_of_a_constant_is_an_error_naming_it() {
    let c = Scalar::<f64>::constant(3.0);
    let err = c.try_backward().unwrap_err().to_string();
    assert!(err.contains("constant on no tape"), "{err}");
    assert!(c.backward_graph().is_err());
}
