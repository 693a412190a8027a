//! [`Real`]: the arithmetic that derivative rules are written in.
//!
//! Every derivative rule in tapegrad is written once, generic over `N: Real`. Evaluated with
//! `N = f32 | f64` it gives the numbers a first-order backward pass multiplies by; evaluated with
//! `N` a tape handle ([`Scalar`](crate::Scalar) or [`Tensor`](crate::Tensor)) it records the
//! same formula on the tape, so the derivative can itself be differentiated.

use std::ops::{Add, Div, Mul, Neg, Sub};

use num_traits::Float;

use crate::Element;

/// Arithmetic shared by plain numbers and tape handles: what derivative rules compute with.
///
/// The three methods `step`, `sign` and `ge_mask` return constants: they are piecewise
/// constant, so their derivative is zero wherever it exists, and a handle implementation records
/// them without a path back to the input.
///
/// ```
/// use tape::Real;
/// // The derivative of tanh written once: 1 - tanh(x)².
/// fn dtanh<N: Real>(out: N) -> N { out.cst(1.0) - out * out }
/// assert_eq!(dtanh(0.0f64), 1.0);
/// ```
pub trait Real:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The constant `c`, of the same kind (and, for tensors, shape) as `self`.
    fn cst(&self, c: f64) -> Self;
    /// `eˣ`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Tangent.
    fn tan(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Logistic sigmoid `1 / (1 + e⁻ˣ)`.
    fn sigmoid(self) -> Self;
    /// Integer power.
    fn powi(self, n: i32) -> Self;
    /// Power with a constant exponent.
    fn powf(self, c: f64) -> Self;
    /// Power with a variable exponent, `selfʸ`.
    fn pow(self, y: Self) -> Self;
    /// Heaviside step: 1 where `x > 0`, else 0 (a constant).
    fn step(self) -> Self;
    /// Sign: -1, 0 or 1 (a constant).
    fn sign(self) -> Self;
    /// 1 where `self >= other`, else 0 (a constant).
    fn ge_mask(self, other: Self) -> Self;
}

/// Numerically stable logistic sigmoid on plain numbers: never evaluates `exp` of a large
/// positive argument, so it is finite for every finite input.
#[inline]
pub(crate) fn sigmoid_value<T: Element>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + Float::exp(-x))
    } else {
        let e = Float::exp(x);
        e / (T::one() + e)
    }
}

macro_rules! impl_real {
    ($t:ty) => {
        impl Real for $t {
            #[inline]
            fn cst(&self, c: f64) -> Self {
                c as $t
            }
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline]
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline]
            fn sigmoid(self) -> Self {
                sigmoid_value(self)
            }
            #[inline]
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            #[inline]
            fn powf(self, c: f64) -> Self {
                <$t>::powf(self, c as $t)
            }
            #[inline]
            fn pow(self, y: Self) -> Self {
                <$t>::powf(self, y)
            }
            #[inline]
            fn step(self) -> Self {
                if self > 0.0 { 1.0 } else { 0.0 }
            }
            #[inline]
            fn sign(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            #[inline]
            fn ge_mask(self, other: Self) -> Self {
                if self >= other { 1.0 } else { 0.0 }
            }
        }
    };
}

impl_real!(f32);
impl_real!(f64);
