//! [`Scalar`]: a handle to a scalar node, with arithmetic and elementary functions.
//!
//! Every op computes its value and its local partials once, at record time, with the rule in
//! [`crate::rules`]; backward then only multiplies and adds.

use std::fmt;
use std::iter::{Product, Sum};
use std::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};

mod float;

use crate::backward::sweep::{Seed, sweep};
use crate::node::{ScalarNode, Tag};
use crate::rules::{BinaryOp, UnaryOp};
use crate::{Element, Gradients, GraphGradients, Real, Tape, TapeError};

/// A scalar: a handle to a node of a [`Tape`], or a constant on no tape. `Copy` and cheap (a
/// reference, an index and the value), usable with `+ - * / %` against other scalars and plain
/// numbers on either side, and a number of the ecosystem: it implements `num_traits::Float`
/// (and with it `Num`, `NumCast`, `Zero`, `One`, ...), so code written generic over `Float`
/// is differentiated unchanged.
///
/// A constant made without a tape — [`Scalar::constant`], `F::zero()`,
/// `F::from_f64(2.0).unwrap()` in generic code — joins the tape of the first handle it is
/// combined with; combined with each other, constants stay constants (the value is computed,
/// nothing is recorded). Piecewise-constant functions (`floor`, `signum`, comparisons) give
/// constants: their derivative is zero wherever it exists.
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
    /// The tape; for a constant on no tape, this thread's tape of constants
    /// (`tape::ConstantTape`), which records nothing (and `idx` means nothing).
    pub(crate) tape: &'t Tape<T>,
    pub(crate) idx: u32,
    value: T,
}

impl<'t, T: Element> Scalar<'t, T> {
    #[inline(always)]
    pub(crate) fn from_parts(tape: &'t Tape<T>, idx: u32, value: T) -> Self {
        Scalar { tape, idx, value }
    }

    /// A constant on no tape: it records nothing, and joins the tape of the first handle it
    /// is combined with. What `Zero::zero()`, `One::one()` and `NumCast::from` give.
    ///
    /// ```
    /// use tape::{Scalar, Tape};
    /// let two = Scalar::<f64>::constant(2.0);
    /// assert!(two.tape().is_none());
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(3.0);
    /// let y = two * x + two * two;     // 2·2 is computed, not recorded
    /// assert_eq!((y.value(), y.backward().wrt(x)), (10.0, 2.0));
    /// ```
    #[inline]
    pub fn constant(value: T) -> Self {
        Scalar {
            tape: T::constant_tape(),
            idx: 0,
            value,
        }
    }

    /// Whether this is a constant on no tape.
    #[inline(always)]
    pub(crate) fn is_constant(self) -> bool {
        self.tape.is_constant_tape()
    }

    /// The value computed when this node was recorded (or the constant's value).
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

    /// The tape this handle records on; `None` for a constant on no tape.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(1.0);
    /// assert!(std::ptr::eq(x.tape().unwrap(), &tape));
    /// let c = x.tape().unwrap().constant(2.0); // record on the handle's tape without naming it
    /// assert_eq!((x * c).backward().wrt(x), 2.0);
    /// assert!(tape::Scalar::<f64>::constant(1.0).tape().is_none());
    /// ```
    pub fn tape(self) -> Option<&'t Tape<T>> {
        (!self.is_constant()).then_some(self.tape)
    }

    /// The node's index in the list (as shown by the tape's `Debug` output); 0 for a constant
    /// on no tape (node 0 of a tape is never a recorded value).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(1.0);
    /// let y = x.exp();
    /// assert_eq!((x.index(), y.index()), (1, 2)); // numbered from 1, in recording order
    /// ```
    pub fn index(self) -> usize {
        if self.is_constant() {
            0
        } else {
            self.idx as usize
        }
    }

    /// This scalar on `tape`: itself if it is on it, else (a constant on no tape) recorded
    /// there as a constant.
    #[track_caller]
    pub(crate) fn on(self, tape: &'t Tape<T>, op: &str) -> Self {
        if self.is_constant() {
            tape.constant(self.value)
        } else {
            tape.same(self.tape, op);
            self
        }
    }

    // Always inlined: the op is then a constant at each call site, so the `match`es in
    // `op.f` and `op.df` fold away.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn unary(self, op: UnaryOp) -> Self {
        // On a constant, the node goes to the tape of constants, which records nothing.
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
        // Two handles of one tape, or two constants (on the tape of constants, which records
        // nothing: the op folds) take the common path. A constant meeting a handle goes out of
        // line, and returns only the node's index (the value is `out` and the tape the
        // handle's, whichever node records it): what a call on this path returns makes W1's
        // recording loop keep some of its registers in memory, less so the fewer values come
        // back (W1 recording measured 10 % slower this way, 20 % returning a whole handle).
        let out = op.f(self.value, other.value);
        if !std::ptr::eq(self.tape, other.tape) {
            let idx = Self::binary_mixed(
                self.tape,
                self.idx,
                self.value,
                other.tape,
                other.idx,
                other.value,
                op,
            );
            let tape = if self.is_constant() {
                other.tape
            } else {
                self.tape
            };
            return Scalar::from_parts(tape, idx, out);
        }
        self.record_binary(self.tape, other, op, out)
    }

    /// [`Scalar::binary`] where a constant on no tape meets a handle: the constant is recorded
    /// on the handle's tape, as one node with the op where the table has the op with a
    /// constant parameter (`x + c`, `c · x`, `x / c`, ...).
    ///
    /// # Panics
    /// If the operands are handles of two different tapes.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn binary_mixed(
        tape: &'t Tape<T>,
        idx: u32,
        value: T,
        other_tape: &'t Tape<T>,
        other_idx: u32,
        other_value: T,
        op: BinaryOp,
    ) -> u32 {
        let this = Scalar::from_parts(tape, idx, value);
        let other = Scalar::from_parts(other_tape, other_idx, other_value);
        let out = if other.is_constant() {
            match op.with_constant(other.value.as_f64(), false) {
                Some(u) => this.unary(u),
                None => this.binary(other.on(this.tape, op.name()), op),
            }
        } else if this.is_constant() {
            match op.with_constant(this.value.as_f64(), true) {
                Some(u) => other.unary(u),
                None => this.on(other.tape, op.name()).binary(other, op),
            }
        } else {
            this.tape.same(other.tape, op.name());
            unreachable!("internal error: two tapes passed the tape check")
        };
        out.idx
    }

    /// Records `op` on two handles of `tape`, with the value `out` (`op.f` of the values, or
    /// for `mul_add` the fused result of which this add is the last step).
    #[inline(always)]
    #[track_caller]
    pub(crate) fn record_binary(
        self,
        tape: &'t Tape<T>,
        other: Self,
        op: BinaryOp,
        out: T,
    ) -> Self {
        let (x, y) = (self.value, other.value);
        let (dx, dy) = op.df(x, y, out);
        let node = ScalarNode::new(Tag::from_binary(op), self.idx, other.idx, dx, dy);
        Scalar::from_parts(tape, tape.push_scalar(node, out), out)
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

    /// The same value with no path back — a constant on no tape: gradients stop here.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(3.0);
    /// let y = x * x.detach();            // behaves as 3x for differentiation
    /// assert_eq!(y.backward().wrt(x), 3.0);
    /// ```
    #[track_caller]
    pub fn detach(self) -> Self {
        Scalar::constant(self.value)
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
    /// or gradient computed; [`TapeError::Custom`] if a custom backward misbehaves;
    /// [`TapeError::InvalidArgument`] for a constant on no tape.
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
        sweep(self.on_a_tape("backward")?, Seed::Scalar(self.idx as usize))
    }

    /// The tape, or the error that a constant on no tape has no gradients to take.
    fn on_a_tape(self, op: &'static str) -> Result<&'t Tape<T>, TapeError> {
        self.tape().ok_or_else(|| {
            TapeError::invalid(
                op,
                "the scalar is a constant on no tape: it depends on no input, so it has no gradient",
                &[],
            )
        })
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
        crate::backward::graph::record(self.on_a_tape("backward_graph")?, self)
    }
}

impl<T: Element> fmt::Debug for Scalar<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_constant() {
            write!(f, "Scalar(constant {})", self.value)
        } else {
            write!(f, "Scalar(#{} = {})", self.idx, self.value)
        }
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
    ($tr:ident, $m:ident, $atr:ident, $am:ident, $op:expr) => {
        impl<'t, T: Element> $tr for Scalar<'t, T> {
            type Output = Self;
            #[inline]
            #[track_caller]
            fn $m(self, rhs: Self) -> Self {
                self.binary(rhs, $op)
            }
        }
        impl<'t, T: Element> $atr for Scalar<'t, T> {
            #[inline]
            #[track_caller]
            fn $am(&mut self, rhs: Self) {
                *self = self.binary(rhs, $op);
            }
        }
        impl<'t, T: Element> $atr<T> for Scalar<'t, T> {
            #[inline]
            #[track_caller]
            fn $am(&mut self, rhs: T) {
                *self = $tr::$m(*self, rhs);
            }
        }
    };
}
scalar_binop!(Add, add, AddAssign, add_assign, BinaryOp::Add);
scalar_binop!(Sub, sub, SubAssign, sub_assign, BinaryOp::Sub);
scalar_binop!(Mul, mul, MulAssign, mul_assign, BinaryOp::Mul);
scalar_binop!(Div, div, DivAssign, div_assign, BinaryOp::Div);
scalar_binop!(Rem, rem, RemAssign, rem_assign, BinaryOp::Rem);

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
        // A division by the constant, not a product with 1/c, which rounds differently.
        self.unary(UnaryOp::DivC(c.as_f64()))
    }
}
impl<'t, T: Element> Rem<T> for Scalar<'t, T> {
    type Output = Self;
    #[inline]
    #[track_caller]
    fn rem(self, c: T) -> Self {
        self.binary(Scalar::constant(c), BinaryOp::Rem)
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
                x.unary(UnaryOp::RSubC(self as f64))
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
                x.unary(UnaryOp::RDivC(self as f64))
            }
        }
        impl<'t> Rem<Scalar<'t, $t>> for $t {
            type Output = Scalar<'t, $t>;
            #[inline]
            #[track_caller]
            fn rem(self, x: Scalar<'t, $t>) -> Scalar<'t, $t> {
                Scalar::constant(self).binary(x, BinaryOp::Rem)
            }
        }
    };
}
scalar_lhs_const!(f32);
scalar_lhs_const!(f64);

impl<'t, T: Element> From<T> for Scalar<'t, T> {
    /// A constant on no tape ([`Scalar::constant`]).
    fn from(value: T) -> Self {
        Scalar::constant(value)
    }
}

impl<T: Element> Default for Scalar<'_, T> {
    /// The constant 0, on no tape.
    fn default() -> Self {
        Scalar::constant(T::zero())
    }
}

impl<T: Element> PartialEq for Scalar<'_, T> {
    /// Compares values (as `f64` does: NaN equals nothing); records nothing.
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Element> PartialOrd for Scalar<'_, T> {
    /// Compares values; records nothing.
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<'t, T: Element> Sum for Scalar<'t, T> {
    /// The sum in order, recorded as a chain of adds (0, on no tape, for an empty iterator).
    #[track_caller]
    fn sum<I: Iterator<Item = Self>>(mut iter: I) -> Self {
        match iter.next() {
            Some(first) => iter.fold(first, |acc, x| acc + x),
            None => Scalar::constant(T::zero()),
        }
    }
}

impl<'a, 't, T: Element> Sum<&'a Scalar<'t, T>> for Scalar<'t, T> {
    #[track_caller]
    fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

impl<'t, T: Element> Product for Scalar<'t, T> {
    /// The product in order, recorded as a chain of multiplications (1, on no tape, for an
    /// empty iterator).
    #[track_caller]
    fn product<I: Iterator<Item = Self>>(mut iter: I) -> Self {
        match iter.next() {
            Some(first) => iter.fold(first, |acc, x| acc * x),
            None => Scalar::constant(T::one()),
        }
    }
}

impl<'a, 't, T: Element> Product<&'a Scalar<'t, T>> for Scalar<'t, T> {
    #[track_caller]
    fn product<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().product()
    }
}

impl<'t, T: Element> Real for Scalar<'t, T> {
    fn cst(&self, c: f64) -> Self {
        Scalar::constant(T::cast_from(c))
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
