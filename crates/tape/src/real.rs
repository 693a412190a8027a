//! [`Real`] on plain numbers: derivative rules evaluated on `f32`/`f64` give the numbers a
//! first-order backward pass multiplies by. (The trait itself is generated from the op table in
//! [`crate::rules`]; its impls for handles are in `scalar.rs` and `tensor/algebra.rs`.)

use num_traits::Float;

use crate::Element;
use crate::rules::{BinaryOp, Real, UnaryOp};

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
            #[inline(always)]
            fn unary(self, op: UnaryOp) -> Self {
                op.f(self)
            }
            #[inline(always)]
            fn binary(self, other: Self, op: BinaryOp) -> Self {
                op.f(self, other)
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
