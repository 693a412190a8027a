//! [`Scalar`] as a number of the ecosystem: `num_traits`' `Float` and the traits under it, so
//! that code written generic over `Float` is differentiated without a change.
//!
//! Every method either records its true derivative — the ops of the table in
//! [`crate::rules`] (`exp`, `atan2`, ...), compositions of them (`log`, `mul_add`, `fract`) —
//! or is piecewise constant and returns a constant on no tape, whose derivative is zero
//! wherever it exists (`floor`, `ceil`, `round`, `trunc`, `signum`, and the comparisons and
//! predicates, which read values and record nothing). Constants (`zero`, `nan`, `from_f64`,
//! ...) are made on no tape and join a tape when combined with a handle.

use std::num::FpCategory;

use num_traits::float::FloatConst;
use num_traits::{Float, FromPrimitive, Num, NumCast, One, Signed, ToPrimitive, Zero};

use super::Scalar;
use crate::Element;
use crate::rules::{BinaryOp, UnaryOp};

impl<T: Element> Zero for Scalar<'_, T> {
    /// The constant 0, on no tape.
    fn zero() -> Self {
        Scalar::constant(T::zero())
    }
    fn is_zero(&self) -> bool {
        self.value().is_zero()
    }
}

impl<T: Element> One for Scalar<'_, T> {
    /// The constant 1, on no tape.
    fn one() -> Self {
        Scalar::constant(T::one())
    }
}

impl<T: Element> Num for Scalar<'_, T> {
    type FromStrRadixErr = T::FromStrRadixErr;
    /// A constant on no tape.
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        T::from_str_radix(s, radix).map(Scalar::constant)
    }
}

impl<T: Element> ToPrimitive for Scalar<'_, T> {
    fn to_i64(&self) -> Option<i64> {
        self.value().to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.value().to_u64()
    }
    fn to_i128(&self) -> Option<i128> {
        self.value().to_i128()
    }
    fn to_u128(&self) -> Option<u128> {
        self.value().to_u128()
    }
    fn to_f32(&self) -> Option<f32> {
        self.value().to_f32()
    }
    fn to_f64(&self) -> Option<f64> {
        self.value().to_f64()
    }
}

impl<T: Element> NumCast for Scalar<'_, T> {
    /// A constant on no tape (what `F::from(2.0).unwrap()` gives in generic code).
    fn from<N: ToPrimitive>(n: N) -> Option<Self> {
        <T as NumCast>::from(n).map(Scalar::constant)
    }
}

impl<T: Element> FromPrimitive for Scalar<'_, T> {
    fn from_i64(n: i64) -> Option<Self> {
        <T as NumCast>::from(n).map(Scalar::constant)
    }
    fn from_u64(n: u64) -> Option<Self> {
        <T as NumCast>::from(n).map(Scalar::constant)
    }
    fn from_i128(n: i128) -> Option<Self> {
        <T as NumCast>::from(n).map(Scalar::constant)
    }
    fn from_u128(n: u128) -> Option<Self> {
        <T as NumCast>::from(n).map(Scalar::constant)
    }
    fn from_f32(n: f32) -> Option<Self> {
        <T as NumCast>::from(n).map(Scalar::constant)
    }
    fn from_f64(n: f64) -> Option<Self> {
        <T as NumCast>::from(n).map(Scalar::constant)
    }
}

impl<T: Element> Signed for Scalar<'_, T> {
    #[track_caller]
    fn abs(&self) -> Self {
        self.unary(UnaryOp::Abs)
    }
    /// `self − other` where that is positive, else the constant 0.
    #[track_caller]
    fn abs_sub(&self, other: &Self) -> Self {
        <Self as Float>::abs_sub(*self, *other)
    }
    /// A constant: −1, 0 or 1 (NaN for NaN), as `Float::signum`.
    fn signum(&self) -> Self {
        <Self as Float>::signum(*self)
    }
    fn is_positive(&self) -> bool {
        self.value() > T::zero()
    }
    fn is_negative(&self) -> bool {
        self.value() < T::zero()
    }
}

/// A piecewise-constant function of the value, as a constant on no tape.
fn constant_of<'t, T: Element>(x: Scalar<'t, T>, f: impl FnOnce(T) -> T) -> Scalar<'t, T> {
    Scalar::constant(f(x.value()))
}

impl<T: Element> Float for Scalar<'_, T> {
    // The ops of the table: exp, ln, sqrt, sin, ..., powf (a variable exponent), atan2, hypot.
    table_float_methods!();

    fn nan() -> Self {
        Scalar::constant(T::nan())
    }
    fn infinity() -> Self {
        Scalar::constant(T::infinity())
    }
    fn neg_infinity() -> Self {
        Scalar::constant(T::neg_infinity())
    }
    fn neg_zero() -> Self {
        Scalar::constant(T::neg_zero())
    }
    fn min_value() -> Self {
        Scalar::constant(T::min_value())
    }
    fn min_positive_value() -> Self {
        Scalar::constant(T::min_positive_value())
    }
    fn epsilon() -> Self {
        Scalar::constant(T::epsilon())
    }
    fn max_value() -> Self {
        Scalar::constant(T::max_value())
    }

    fn is_nan(self) -> bool {
        self.value().is_nan()
    }
    fn is_infinite(self) -> bool {
        self.value().is_infinite()
    }
    fn is_finite(self) -> bool {
        self.value().is_finite()
    }
    fn is_normal(self) -> bool {
        self.value().is_normal()
    }
    fn is_subnormal(self) -> bool {
        self.value().is_subnormal()
    }
    fn classify(self) -> FpCategory {
        self.value().classify()
    }
    fn is_sign_positive(self) -> bool {
        self.value().is_sign_positive()
    }
    fn is_sign_negative(self) -> bool {
        self.value().is_sign_negative()
    }
    fn integer_decode(self) -> (u64, i16, i8) {
        self.value().integer_decode()
    }

    /// A constant: piecewise constant, derivative 0 where it exists.
    fn floor(self) -> Self {
        constant_of(self, Float::floor)
    }
    /// A constant: piecewise constant, derivative 0 where it exists.
    fn ceil(self) -> Self {
        constant_of(self, Float::ceil)
    }
    /// A constant: piecewise constant, derivative 0 where it exists.
    fn round(self) -> Self {
        constant_of(self, Float::round)
    }
    /// A constant: piecewise constant, derivative 0 where it exists.
    fn trunc(self) -> Self {
        constant_of(self, Float::trunc)
    }
    /// A constant (−1, 0 or 1; NaN for NaN): derivative 0 where it exists.
    fn signum(self) -> Self {
        constant_of(self, Float::signum)
    }
    /// `x − trunc(x)`: derivative 1 (between the jumps at the integers).
    #[track_caller]
    fn fract(self) -> Self {
        self - Float::trunc(self)
    }

    /// `self · a + b` with one rounding, as `f64::mul_add`; partials `a`, `self` and 1.
    #[track_caller]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let fused = Float::mul_add(self.value(), a.value(), b.value());
        let product = self * a;
        if product.is_constant() && b.is_constant() {
            return Scalar::constant(fused);
        }
        let tape = if product.is_constant() {
            b.tape
        } else {
            product.tape
        };
        // The sum's node carries the fused value; its partials (1, 1) do not depend on it.
        let (product, b) = (product.on(tape, "mul_add"), b.on(tape, "mul_add"));
        product.record_binary(tape, b, BinaryOp::Add, fused)
    }

    #[track_caller]
    fn powi(self, n: i32) -> Self {
        self.unary(UnaryOp::PowI(n))
    }

    /// `ln x / ln base`, as `f64::log`.
    #[track_caller]
    fn log(self, base: Self) -> Self {
        self.unary(UnaryOp::Ln) / base.unary(UnaryOp::Ln)
    }

    /// The larger value; where one is NaN, the other (as `f64::max`); a tie sends the
    /// gradient to `self` (the table's `max`).
    #[track_caller]
    fn max(self, other: Self) -> Self {
        match (self.value().is_nan(), other.value().is_nan()) {
            (true, _) => other,
            (_, true) => self,
            _ => self.binary(other, BinaryOp::Max),
        }
    }

    /// The smaller value; where one is NaN, the other (as `f64::min`); a tie sends the
    /// gradient to `self` (the table's `min`).
    #[track_caller]
    fn min(self, other: Self) -> Self {
        match (self.value().is_nan(), other.value().is_nan()) {
            (true, _) => other,
            (_, true) => self,
            _ => self.binary(other, BinaryOp::Min),
        }
    }

    /// `self` limited to `[min, max]`: whichever of the three is returned takes the gradient.
    #[track_caller]
    fn clamp(self, min: Self, max: Self) -> Self {
        if self < min {
            min
        } else if self > max {
            max
        } else {
            self
        }
    }

    /// `self − other` where that is positive, else the constant 0.
    #[track_caller]
    #[allow(deprecated)]
    fn abs_sub(self, other: Self) -> Self {
        if self.value() <= other.value() {
            Scalar::constant(T::zero())
        } else {
            self - other
        }
    }

    /// `(sin x, cos x)`, both recorded.
    #[track_caller]
    fn sin_cos(self) -> (Self, Self) {
        (self.unary(UnaryOp::Sin), self.unary(UnaryOp::Cos))
    }

    /// `x · 180/π`, with the same constant as `f64::to_degrees`; derivative `180/π`.
    #[track_caller]
    fn to_degrees(self) -> Self {
        self.unary(UnaryOp::MulC(Float::to_degrees(T::one()).as_f64()))
    }

    /// `x · π/180`, with the same constant as `f64::to_radians`; derivative `π/180`.
    #[track_caller]
    fn to_radians(self) -> Self {
        self.unary(UnaryOp::MulC(Float::to_radians(T::one()).as_f64()))
    }

    /// `|x|` with the sign of `sign`: derivative ±1 in `x`, 0 in `sign`.
    #[track_caller]
    fn copysign(self, sign: Self) -> Self {
        if self.value().is_sign_negative() == sign.value().is_sign_negative() {
            self
        } else {
            -self
        }
    }
}

macro_rules! float_consts {
    ($($name:ident),* $(,)?) => {
        impl<T: Element + FloatConst> FloatConst for Scalar<'_, T> {
            $(
                fn $name() -> Self {
                    Scalar::constant(T::$name())
                }
            )*
        }
    };
}

float_consts!(
    E,
    FRAC_1_PI,
    FRAC_1_SQRT_2,
    FRAC_2_PI,
    FRAC_2_SQRT_PI,
    FRAC_PI_2,
    FRAC_PI_3,
    FRAC_PI_4,
    FRAC_PI_6,
    FRAC_PI_8,
    LN_10,
    LN_2,
    LOG10_E,
    LOG2_E,
    PI,
    SQRT_2,
    TAU,
    LOG10_2,
    LOG2_10,
);
