//! [`Scalar`]: a handle to a scalar node, with arithmetic and elementary functions.
//!
//! Every op computes its value and its local partials once, at record time, with the rule in
//! [`crate::rules`]; backward then only multiplies and adds.

use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::backward::sweep::{Seed, sweep};
use crate::node::{ScalarNode, Tag};
use crate::rules::{BinaryOp, UnaryOp};
use crate::{Element, Gradients, GraphGradients, Real, Tape, TapeError};

/// A handle to a scalar on a [`Tape`]: `Copy`, cheap (a reference, an index and the value),
/// and usable with `+ - * /` against other handles of the same tape and plain numbers on
/// either side.
///
/// # Panics
/// Combining handles of two different tapes panics with
/// `"<op>: operands belong to different tapes"`.
///
/// ```
/// use tape::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(2.0);
/// let y = 3.0 * x * x + 1.0 / x - 4.0;   // 12 + 0.5 - 4
/// assert_eq!(y.value(), 8.5);
/// // dy/dx = 6x - 1/x² = 12 - 0.25
/// assert_eq!(y.backward().wrt(x), 11.75);
/// ```
#[derive(Clone, Copy)]
pub struct Scalar<'t, T: Element> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) idx: u32,
    value: T,
}

impl<'t, T: Element> Scalar<'t, T> {
    pub(crate) fn from_parts(tape: &'t Tape<T>, idx: u32, value: T) -> Self {
        Scalar { tape, idx, value }
    }

    /// The value computed when this node was recorded.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(2.0);
    /// assert_eq!((x * x + 1.0).value(), 5.0);
    /// ```
    #[inline]
    pub fn value(self) -> T {
        self.value
    }

    /// The tape this handle records on.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(1.0);
    /// assert!(std::ptr::eq(x.tape(), &tape));
    /// let c = x.tape().constant(2.0); // record on the handle's tape without naming it
    /// assert_eq!((x * c).backward().wrt(x), 2.0);
    /// ```
    pub fn tape(self) -> &'t Tape<T> {
        self.tape
    }

    /// The node's index in the list (as shown by the tape's `Debug` output).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(1.0);
    /// let y = x.exp();
    /// assert_eq!((x.index(), y.index()), (1, 2)); // numbered from 1, in recording order
    /// ```
    pub fn index(self) -> usize {
        self.idx as usize
    }

    // Always inlined: the op is then a constant at each call site, so the `match`es in
    // `op.f` and `op.df` fold away.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn unary(self, op: UnaryOp) -> Self {
        let x = self.value;
        let out = op.f(x);
        let d = op.df(x, out);
        let param = op.param().map_or(T::zero(), T::cast_from);
        let node = ScalarNode::new(Tag::from_unary(op), self.idx, 0, d, param);
        Scalar::from_parts(self.tape, self.tape.push_scalar(node, out), out)
    }

    #[inline(always)]
    #[track_caller]
    pub(crate) fn binary(self, other: Self, op: BinaryOp) -> Self {
        self.tape.same(other.tape, op.name());
        let (x, y) = (self.value, other.value);
        let out = op.f(x, y);
        let (dx, dy) = op.df(x, y, out);
        let node = ScalarNode::new(Tag::from_binary(op), self.idx, other.idx, dx, dy);
        Scalar::from_parts(self.tape, self.tape.push_scalar(node, out), out)
    }

    /// `xⁿ` for an integer `n`; derivative `n xⁿ⁻¹`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(2.0);
    /// assert_eq!(x.powi(3).backward().wrt(x), 12.0);
    /// ```
    #[track_caller]
    pub fn powi(self, n: i32) -> Self {
        self.unary(UnaryOp::PowI(n))
    }

    /// `xᶜ` for a constant `c`; derivative `c xᶜ⁻¹`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(4.0);
    /// assert_eq!(x.powf(1.5).backward().wrt(x), 3.0); // 1.5 · 4^0.5
    /// ```
    #[track_caller]
    pub fn powf(self, c: T) -> Self {
        self.unary(UnaryOp::PowF(c.as_f64()))
    }

    /// The same value with no path back: gradients stop here.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(3.0);
    /// let y = x * x.detach();            // behaves as 3x for differentiation
    /// assert_eq!(y.backward().wrt(x), 3.0);
    /// ```
    #[track_caller]
    pub fn detach(self) -> Self {
        self.tape.constant(self.value)
    }

    /// A custom differentiable scalar function given its value and derivative at `self`:
    /// records `value` with local derivative `derivative`.
    ///
    /// ```
    /// // log(1 + eˣ), computed stably, with derivative σ(x).
    /// fn log1p_exp(x: tape::Scalar<'_, f64>) -> tape::Scalar<'_, f64> {
    ///     let v = x.value();
    ///     let value = v.max(0.0) + (-v.abs()).exp().ln_1p();
    ///     let derivative = 1.0 / (1.0 + (-v).exp());
    ///     x.custom(value, derivative)
    /// }
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(800.0);
    /// let y = log1p_exp(x);
    /// assert_eq!((y.value(), y.backward().wrt(x)), (800.0, 1.0));
    /// ```
    #[track_caller]
    pub fn custom(self, value: T, derivative: T) -> Self {
        let node = ScalarNode::new(Tag::CUSTOM, self.idx, 0, derivative, T::zero());
        Scalar::from_parts(self.tape, self.tape.push_scalar(node, value), value)
    }
}

// ---- backward: the walks live in `backward/`; their entry points are here ------------------

impl<'t, T: Element> Scalar<'t, T> {
    /// Gradients of this scalar with respect to everything recorded before it.
    ///
    /// # Panics
    /// With anomaly detection on, if a value or gradient is not finite (the message names the
    /// op and where it was recorded); and if a custom function's backward returns gradients of
    /// the wrong number or shape. [`Scalar::try_backward`] returns these as errors instead.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(0.5);
    /// let y = x.sin() * x.exp();
    /// // d/dx sin(x)eˣ = (cos x + sin x) eˣ
    /// let expected = (0.5f64.cos() + 0.5f64.sin()) * 0.5f64.exp();
    /// assert!((y.backward().wrt(x) - expected).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn backward(self) -> Gradients<T> {
        self.try_backward().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Scalar::backward`], returning anomalies and custom-function errors instead of
    /// panicking.
    ///
    /// # Errors
    /// [`TapeError::NonFinite`] (anomaly detection on) for the first non-finite value recorded
    /// or gradient computed; [`TapeError::Custom`] if a custom backward misbehaves.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(3.0);
    /// assert_eq!((x * x).try_backward().unwrap().wrt(x), 6.0);
    /// tape.set_anomaly_detection(true);
    /// let bad = tape.var(0.0).ln(); // ln 0 = -inf
    /// assert!(bad.try_backward().is_err());
    /// ```
    pub fn try_backward(self) -> Result<Gradients<T>, TapeError> {
        sweep(self.tape, Seed::Scalar(self.idx as usize))
    }

    /// Backward with the gradients recorded on the tape (PyTorch's `create_graph=True`): the
    /// result's handles can be combined with other handles and differentiated again.
    ///
    /// # Errors
    /// [`TapeError::Custom`] if a custom function lies on the path (its backward is numeric
    /// only, so it cannot be differentiated twice); anomalies as [`Scalar::try_backward`].
    ///
    /// ```
    /// // The gradient penalty ‖∇ₓ f‖² of f(x) = Σ sin(x), itself differentiated.
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![0.5, 1.0], &[2]).unwrap();
    /// let f = x.sin().sum();
    /// let gx = f.backward_graph().unwrap().wrt(x);      // cos x, as a tensor on the tape
    /// let penalty = (gx * gx).sum();                    // Σ cos² x
    /// let d = penalty.backward().wrt(x).clone();        // -2 cos x sin x
    /// assert!((d.data()[0] + 2.0 * 0.5f64.cos() * 0.5f64.sin()).abs() < 1e-15);
    /// ```
    pub fn backward_graph(self) -> Result<GraphGradients<'t, T>, TapeError> {
        crate::backward::graph::record(self)
    }
}

impl<T: Element> fmt::Debug for Scalar<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scalar(#{} = {})", self.idx, self.value)
    }
}

impl<T: Element> fmt::Display for Scalar<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

impl<'t, T: Element> Neg for Scalar<'t, T> {
    type Output = Self;
    #[track_caller]
    fn neg(self) -> Self {
        self.unary(UnaryOp::Neg)
    }
}

macro_rules! scalar_binop {
    ($tr:ident, $m:ident, $op:expr) => {
        impl<'t, T: Element> $tr for Scalar<'t, T> {
            type Output = Self;
            #[inline]
            #[track_caller]
            fn $m(self, rhs: Self) -> Self {
                self.binary(rhs, $op)
            }
        }
    };
}
scalar_binop!(Add, add, BinaryOp::Add);
scalar_binop!(Sub, sub, BinaryOp::Sub);
scalar_binop!(Mul, mul, BinaryOp::Mul);
scalar_binop!(Div, div, BinaryOp::Div);

// Handle ∘ constant, recorded as one unary node with the constant as its parameter.
impl<'t, T: Element> Add<T> for Scalar<'t, T> {
    type Output = Self;
    #[inline]
    #[track_caller]
    fn add(self, c: T) -> Self {
        self.unary(UnaryOp::AddC(c.as_f64()))
    }
}
impl<'t, T: Element> Sub<T> for Scalar<'t, T> {
    type Output = Self;
    #[inline]
    #[track_caller]
    fn sub(self, c: T) -> Self {
        self.unary(UnaryOp::AddC(-c.as_f64()))
    }
}
impl<'t, T: Element> Mul<T> for Scalar<'t, T> {
    type Output = Self;
    #[inline]
    #[track_caller]
    fn mul(self, c: T) -> Self {
        self.unary(UnaryOp::MulC(c.as_f64()))
    }
}
impl<'t, T: Element> Div<T> for Scalar<'t, T> {
    type Output = Self;
    #[inline]
    #[track_caller]
    fn div(self, c: T) -> Self {
        // Multiplying by the reciprocal would round differently from x / c; record x / c as a
        // binary op against a constant node so the value is exactly IEEE division.
        self.binary(self.tape.constant(c), BinaryOp::Div)
    }
}

// Constant ∘ handle, for f32 and f64 on the left.
macro_rules! scalar_lhs_const {
    ($t:ty) => {
        impl<'t> Add<Scalar<'t, $t>> for $t {
            type Output = Scalar<'t, $t>;
            #[inline]
            #[track_caller]
            fn add(self, x: Scalar<'t, $t>) -> Scalar<'t, $t> {
                x + self
            }
        }
        impl<'t> Sub<Scalar<'t, $t>> for $t {
            type Output = Scalar<'t, $t>;
            #[inline]
            #[track_caller]
            fn sub(self, x: Scalar<'t, $t>) -> Scalar<'t, $t> {
                x.tape.constant(self).binary(x, BinaryOp::Sub)
            }
        }
        impl<'t> Mul<Scalar<'t, $t>> for $t {
            type Output = Scalar<'t, $t>;
            #[inline]
            #[track_caller]
            fn mul(self, x: Scalar<'t, $t>) -> Scalar<'t, $t> {
                x * self
            }
        }
        impl<'t> Div<Scalar<'t, $t>> for $t {
            type Output = Scalar<'t, $t>;
            #[inline]
            #[track_caller]
            fn div(self, x: Scalar<'t, $t>) -> Scalar<'t, $t> {
                x.tape.constant(self).binary(x, BinaryOp::Div)
            }
        }
    };
}
scalar_lhs_const!(f32);
scalar_lhs_const!(f64);

impl<'t, T: Element> Real for Scalar<'t, T> {
    fn cst(&self, c: f64) -> Self {
        self.tape.constant(T::cast_from(c))
    }
    fn unary(self, op: UnaryOp) -> Self {
        Scalar::unary(self, op)
    }
    fn binary(self, other: Self, op: BinaryOp) -> Self {
        Scalar::binary(self, other, op)
    }
    fn step(self) -> Self {
        self.cst(Real::step(self.value.as_f64()))
    }
    fn sign(self) -> Self {
        self.cst(Real::sign(self.value.as_f64()))
    }
    fn ge_mask(self, other: Self) -> Self {
        self.cst(Real::ge_mask(self.value.as_f64(), other.value.as_f64()))
    }
}
