//! Elementwise ops: the unary table of [`crate::rules::UnaryOp`] applied per element, and the
//! broadcasting binary ops of [`crate::rules::BinaryOp`]. Backward: `unary_vjp` and
//! `binary_vjp` in [`super::algebra`], which evaluate the same rules.

use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use super::op::TensorOp;
use crate::error::OrPanic;
use crate::rules::{BinaryOp, UnaryOp};
use crate::shape::broadcast_shapes;
use crate::{Element, TapeError, Tensor};

impl<'t, T: Element> Tensor<'t, T> {
    #[track_caller]
    pub(crate) fn unary(self, op: UnaryOp) -> Self {
        let out = self.with_value(|a| a.unary(op));
        self.tape.push_tensor(TensorOp::Unary(op), &[self.idx], out)
    }

    /// A broadcasting binary op, or the error naming the op and both shapes.
    #[track_caller]
    pub(crate) fn try_binary(self, other: Self, op: BinaryOp) -> Result<Self, TapeError> {
        TapeError::same_tape(self.tape, other.tape, op.name())?;
        let out = {
            let inner = self.tape.inner.borrow();
            let a = inner.tensor_value(self.slot as usize);
            let b = inner.tensor_value(other.slot as usize);
            if a.shape() == b.shape() {
                a.zip_same(b, op)
            } else {
                let shape = broadcast_shapes(op.name(), a.shape(), b.shape())?;
                a.zip_broadcast(b, &shape, op)
            }
        };
        Ok(self
            .tape
            .push_tensor(TensorOp::Binary(op), &[self.idx, other.idx], out))
    }

    #[track_caller]
    pub(crate) fn binary(self, other: Self, op: BinaryOp) -> Self {
        self.try_binary(other, op).or_panic()
    }

    /// `xⁿ` elementwise for an integer `n`; derivative `n xⁿ⁻¹`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.full(&[1], 3.0).powi(2).to_vec(), vec![9.0]);
    /// ```
    #[track_caller]
    pub fn powi(self, n: i32) -> Self {
        self.unary(UnaryOp::PowI(n))
    }

    /// `xᶜ` elementwise for a constant `c`; derivative `c xᶜ⁻¹`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.full(&[1], 4.0).powf(0.5).to_vec(), vec![2.0]);
    /// ```
    #[track_caller]
    pub fn powf(self, c: T) -> Self {
        self.unary(UnaryOp::PowF(c.as_f64()))
    }
}

impl<'t, T: Element> Neg for Tensor<'t, T> {
    type Output = Self;
    #[track_caller]
    fn neg(self) -> Self {
        self.unary(UnaryOp::Neg)
    }
}

macro_rules! tensor_binop {
    ($tr:ident, $m:ident, $op:expr) => {
        impl<'t, T: Element> $tr for Tensor<'t, T> {
            type Output = Self;
            /// # Panics
            /// If the shapes do not broadcast; the message names the op and both shapes.
            #[track_caller]
            fn $m(self, rhs: Self) -> Self {
                self.binary(rhs, $op)
            }
        }
    };
}
tensor_binop!(Add, add, BinaryOp::Add);
tensor_binop!(Sub, sub, BinaryOp::Sub);
tensor_binop!(Mul, mul, BinaryOp::Mul);
tensor_binop!(Div, div, BinaryOp::Div);
tensor_binop!(Rem, rem, BinaryOp::Rem);

impl<'t, T: Element> Add<T> for Tensor<'t, T> {
    type Output = Self;
    #[track_caller]
    fn add(self, c: T) -> Self {
        self.unary(UnaryOp::AddC(c.as_f64()))
    }
}
impl<'t, T: Element> Sub<T> for Tensor<'t, T> {
    type Output = Self;
    #[track_caller]
    fn sub(self, c: T) -> Self {
        self.unary(UnaryOp::AddC(-c.as_f64()))
    }
}
impl<'t, T: Element> Mul<T> for Tensor<'t, T> {
    type Output = Self;
    #[track_caller]
    fn mul(self, c: T) -> Self {
        self.unary(UnaryOp::MulC(c.as_f64()))
    }
}
impl<'t, T: Element> Div<T> for Tensor<'t, T> {
    type Output = Self;
    #[track_caller]
    fn div(self, c: T) -> Self {
        self.unary(UnaryOp::DivC(c.as_f64()))
    }
}

macro_rules! tensor_lhs_const {
    ($t:ty) => {
        impl<'t> Add<Tensor<'t, $t>> for $t {
            type Output = Tensor<'t, $t>;
            #[track_caller]
            fn add(self, x: Tensor<'t, $t>) -> Tensor<'t, $t> {
                x + self
            }
        }
        impl<'t> Sub<Tensor<'t, $t>> for $t {
            type Output = Tensor<'t, $t>;
            #[track_caller]
            fn sub(self, x: Tensor<'t, $t>) -> Tensor<'t, $t> {
                x.unary(UnaryOp::RSubC(self as f64))
            }
        }
        impl<'t> Mul<Tensor<'t, $t>> for $t {
            type Output = Tensor<'t, $t>;
            #[track_caller]
            fn mul(self, x: Tensor<'t, $t>) -> Tensor<'t, $t> {
                x * self
            }
        }
        impl<'t> Div<Tensor<'t, $t>> for $t {
            type Output = Tensor<'t, $t>;
            #[track_caller]
            fn div(self, x: Tensor<'t, $t>) -> Tensor<'t, $t> {
                x.unary(UnaryOp::RDivC(self as f64))
            }
        }
    };
}
tensor_lhs_const!(f32);
tensor_lhs_const!(f64);
