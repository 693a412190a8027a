//! Elementwise ops: the unary table of [`crate::rules::UnaryOp`] applied per element, and the
//! broadcasting binary ops of [`crate::rules::BinaryOp`]. Backward: `unary_vjp` and
//! `binary_vjp` in [`super::algebra`], which evaluate the same rules.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::op::TensorOp;
use crate::rules::{BinaryOp, UnaryOp};
use crate::shape::broadcast_shapes;
use crate::{Array, Element, TapeError, Tensor};

impl<'t, T: Element> Tensor<'t, T> {
    #[track_caller]
    pub(crate) fn unary(self, op: UnaryOp) -> Self {
        let out = self.with_value(|a| a.unary(op));
        self.tape.push_tensor(TensorOp::Unary(op), &[self.idx], out)
    }

    /// A broadcasting binary op, or the error naming the op and both shapes.
    #[track_caller]
    pub(crate) fn try_binary(self, other: Self, op: BinaryOp) -> Result<Self, TapeError> {
        self.tape.same(other.tape, op.name());
        let out = {
            let inner = self.tape.inner.borrow();
            let a = &inner.tensors[self.slot as usize].value;
            let b = &inner.tensors[other.slot as usize].value;
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
    fn binary(self, other: Self, op: BinaryOp) -> Self {
        match self.try_binary(other, op) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// A 0-d constant on this tensor's tape, to combine with it by broadcasting.
    #[track_caller]
    fn scalar_constant(self, c: T) -> Self {
        self.tape.tensor_constant(Array::scalar(c))
    }

    /// `self + other` with broadcasting; gradients are summed back to each shape.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes do not broadcast.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.ones(&[2, 3]);
    /// assert!(a.try_add(tape.ones(&[3])).is_ok());
    /// let err = a.try_add(tape.ones(&[2])).unwrap_err();
    /// assert_eq!(err.to_string(), "add: shapes cannot be broadcast: lhs [2, 3], rhs [2]");
    /// ```
    #[track_caller]
    pub fn try_add(self, other: Self) -> Result<Self, TapeError> {
        self.try_binary(other, BinaryOp::Add)
    }

    /// `self - other` with broadcasting.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes do not broadcast.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let m = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let d = x.try_sub(m).unwrap(); // m is subtracted from each row
    /// assert_eq!(d.to_vec(), vec![0.0, 0.0, 2.0, 2.0]);
    /// assert_eq!(d.sum().backward().wrt(m).data(), &[-2.0, -2.0]); // −1 from each of 2 rows
    /// assert!(x.try_sub(tape.ones(&[3])).is_err());
    /// ```
    #[track_caller]
    pub fn try_sub(self, other: Self) -> Result<Self, TapeError> {
        self.try_binary(other, BinaryOp::Sub)
    }

    /// `self · other` elementwise with broadcasting.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes do not broadcast.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// let y = tape.tensor_from_vec(vec![4.0, 5.0, 6.0], &[3]).unwrap();
    /// let p = x.try_mul(y).unwrap();
    /// assert_eq!(p.to_vec(), vec![4.0, 10.0, 18.0]);
    /// assert_eq!(p.sum().backward().wrt(x).data(), &[4.0, 5.0, 6.0]); // ∂(x·y)/∂x = y
    /// assert!(x.try_mul(tape.ones(&[2])).is_err());
    /// ```
    #[track_caller]
    pub fn try_mul(self, other: Self) -> Result<Self, TapeError> {
        self.try_binary(other, BinaryOp::Mul)
    }

    /// `self / other` elementwise with broadcasting.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes do not broadcast.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let y = tape.full(&[], 4.0); // 0-d: broadcasts to any shape
    /// let q = x.try_div(y).unwrap();
    /// assert_eq!(q.to_vec(), vec![0.25, 0.5]);
    /// // ∂(x/y)/∂y = −x/y², summed over the broadcast: −(1 + 2)/16
    /// assert_eq!(q.sum().backward().wrt(y).data(), &[-0.1875]);
    /// ```
    #[track_caller]
    pub fn try_div(self, other: Self) -> Result<Self, TapeError> {
        self.try_binary(other, BinaryOp::Div)
    }

    /// `selfᵒᵗʰᵉʳ` elementwise with broadcasting.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes do not broadcast.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![2.0, 3.0], &[2]).unwrap();
    /// let p = x.try_pow(tape.full(&[], 2.0)).unwrap(); // x²
    /// assert_eq!(p.to_vec(), vec![4.0, 9.0]);
    /// assert_eq!(p.sum().backward().wrt(x).data(), &[4.0, 6.0]); // 2x
    /// ```
    #[track_caller]
    pub fn try_pow(self, other: Self) -> Result<Self, TapeError> {
        self.try_binary(other, BinaryOp::Pow)
    }

    /// Elementwise maximum with broadcasting (ties send the gradient to `self`).
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes do not broadcast.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![1.0, 5.0, 3.0], &[3]).unwrap();
    /// let m = a.try_maximum(tape.full(&[], 3.0)).unwrap(); // clamps from below at 3
    /// assert_eq!(m.to_vec(), vec![3.0, 5.0, 3.0]);
    /// // the tie at 3.0 sends its gradient to `a`, the first operand
    /// assert_eq!(m.sum().backward().wrt(a).data(), &[0.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn try_maximum(self, other: Self) -> Result<Self, TapeError> {
        self.try_binary(other, BinaryOp::Max)
    }

    /// Elementwise minimum with broadcasting (ties send the gradient to `self`).
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes do not broadcast.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![1.0, 5.0], &[2]).unwrap();
    /// let b = tape.tensor_from_vec(vec![2.0, 4.0], &[2]).unwrap();
    /// let m = a.try_minimum(b).unwrap();
    /// assert_eq!(m.to_vec(), vec![1.0, 4.0]);
    /// let g = m.sum().backward();
    /// assert_eq!((g.wrt(a).data(), g.wrt(b).data()), (&[1.0, 0.0][..], &[0.0, 1.0][..]));
    /// ```
    #[track_caller]
    pub fn try_minimum(self, other: Self) -> Result<Self, TapeError> {
        self.try_binary(other, BinaryOp::Min)
    }

    /// `selfᵒᵗʰᵉʳ` elementwise; partials `y xʸ⁻¹` and `xʸ ln x` (0 where `x = 0`).
    ///
    /// # Panics
    /// If the shapes do not broadcast (see [`Tensor::try_pow`]).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.full(&[2], 2.0);
    /// let y = tape.full(&[2], 3.0);
    /// assert_eq!(x.pow(y).to_vec(), vec![8.0, 8.0]);
    /// ```
    #[track_caller]
    pub fn pow(self, other: Self) -> Self {
        self.binary(other, BinaryOp::Pow)
    }

    /// Elementwise maximum with broadcasting; at a tie the gradient goes to `self`.
    ///
    /// # Panics
    /// If the shapes do not broadcast (see [`Tensor::try_maximum`]).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![1.0, 5.0], &[2]).unwrap();
    /// let b = tape.full(&[], 3.0);
    /// assert_eq!(a.maximum(b).to_vec(), vec![3.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn maximum(self, other: Self) -> Self {
        self.binary(other, BinaryOp::Max)
    }

    /// Elementwise minimum with broadcasting; at a tie the gradient goes to `self`.
    ///
    /// # Panics
    /// If the shapes do not broadcast (see [`Tensor::try_minimum`]).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![1.0, 5.0], &[2]).unwrap();
    /// assert_eq!(a.minimum(tape.full(&[], 3.0)).to_vec(), vec![1.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn minimum(self, other: Self) -> Self {
        self.binary(other, BinaryOp::Min)
    }

    /// `eˣ` elementwise; derivative `eˣ`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[2]).exp().to_vec(), vec![1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn exp(self) -> Self {
        self.unary(UnaryOp::Exp)
    }

    /// Natural logarithm elementwise; derivative `1/x`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.ones(&[2]).ln().to_vec(), vec![0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn ln(self) -> Self {
        self.unary(UnaryOp::Ln)
    }

    /// Square root elementwise; derivative `1/(2√x)`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.full(&[1], 9.0).sqrt().to_vec(), vec![3.0]);
    /// ```
    #[track_caller]
    pub fn sqrt(self) -> Self {
        self.unary(UnaryOp::Sqrt)
    }

    /// Sine elementwise; derivative `cos x`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[1]).sin().to_vec(), vec![0.0]);
    /// ```
    #[track_caller]
    pub fn sin(self) -> Self {
        self.unary(UnaryOp::Sin)
    }

    /// Cosine elementwise; derivative `-sin x`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[1]).cos().to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn cos(self) -> Self {
        self.unary(UnaryOp::Cos)
    }

    /// Tangent elementwise; derivative `1 + tan² x`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[1]).tan().to_vec(), vec![0.0]);
    /// ```
    #[track_caller]
    pub fn tan(self) -> Self {
        self.unary(UnaryOp::Tan)
    }

    /// Hyperbolic tangent elementwise; derivative `1 - tanh² x`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[1]).tanh().to_vec(), vec![0.0]);
    /// ```
    #[track_caller]
    pub fn tanh(self) -> Self {
        self.unary(UnaryOp::Tanh)
    }

    /// Logistic sigmoid elementwise, finite for every finite input; derivative `σ(1-σ)`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let y = tape.tensor_from_vec(vec![-1000.0, 0.0, 1000.0], &[3]).unwrap().sigmoid();
    /// assert_eq!(y.to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn sigmoid(self) -> Self {
        self.unary(UnaryOp::Sigmoid)
    }

    /// `max(x, 0)` elementwise; derivative 1 for `x > 0`, 0 for `x ≤ 0`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![-1.0, 0.0, 2.0], &[3]).unwrap();
    /// let y = x.relu();
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 2.0]);
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[0.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn relu(self) -> Self {
        self.unary(UnaryOp::Relu)
    }

    /// `|x|` elementwise; derivative `sign(x)` (0 at 0).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![-2.0, 0.0, 2.0], &[3]).unwrap();
    /// assert_eq!(x.abs().sum().backward().wrt(x).data(), &[-1.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn abs(self) -> Self {
        self.unary(UnaryOp::Abs)
    }

    /// `1/x` elementwise; derivative `-1/x²`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.full(&[1], 4.0).recip().to_vec(), vec![0.25]);
    /// ```
    #[track_caller]
    pub fn recip(self) -> Self {
        self.unary(UnaryOp::Recip)
    }

    /// `ln(1 + x)` elementwise, accurate for `x` near 0; derivative `1/(1 + x)`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1e-20, 1.0], &[2]).unwrap();
    /// assert_eq!(x.ln_1p().to_vec(), vec![1e-20, 2f64.ln()]);
    /// assert_eq!(x.ln_1p().sum().backward().wrt(x).data(), &[1.0, 0.5]);
    /// ```
    #[track_caller]
    pub fn ln_1p(self) -> Self {
        self.unary(UnaryOp::Ln1p)
    }

    /// `eˣ − 1` elementwise, accurate for `x` near 0; derivative `eˣ`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1e-20, 0.0], &[2]).unwrap();
    /// assert_eq!(x.exp_m1().to_vec(), vec![1e-20, 0.0]);
    /// assert_eq!(x.exp_m1().sum().backward().wrt(x).data(), &[1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn exp_m1(self) -> Self {
        self.unary(UnaryOp::ExpM1)
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
        self.binary(self.scalar_constant(c), BinaryOp::Div)
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
                x.scalar_constant(self).binary(x, BinaryOp::Sub)
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
                x.scalar_constant(self).binary(x, BinaryOp::Div)
            }
        }
    };
}
tensor_lhs_const!(f32);
tensor_lhs_const!(f64);
