//! [`Tensor`]: a handle to an n-dimensional array node, and the tensor op families.
//!
//! Each file holds one family: its forward methods on [`Tensor`] and, next to them, the
//! backward rule that [`op::TensorOp`]'s dispatch calls.

pub(crate) mod algebra;
mod elementwise;
mod index;
mod interop;
mod linalg;
pub(crate) mod op;
mod reduce;
mod shape_ops;

use std::fmt;

use crate::{Array, Element, Shape, Tape};

/// A handle to a tensor on a [`Tape`]: `Copy` (a reference and two indices). Its value is an
/// [`Array`] owned by the tape.
///
/// Binary ops broadcast as NumPy does, and their gradients are summed back to each input's
/// shape. Operators (`a + b`, ...) panic on shapes that do not broadcast; each shape-checked op
/// also has a `try_` form that returns [`TapeError`](crate::TapeError) instead.
///
/// # Panics
/// Operators and non-`try_` methods panic with the `try_` form's error message on bad shapes,
/// and with `"<op>: operands belong to different tapes"` when handles of two tapes are mixed.
///
/// ```
/// use tape::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
/// let b = tape.tensor_from_vec(vec![10.0, 20.0, 30.0], &[3]).unwrap();
/// let y = (x * b).sum();                      // broadcasts b over the rows
/// let g = y.backward();
/// assert_eq!(g.wrt(b).data(), &[5.0, 7.0, 9.0]); // column sums of x
/// assert_eq!(g.wrt(x).data(), &[10.0, 20.0, 30.0, 10.0, 20.0, 30.0]);
/// ```
#[derive(Clone, Copy)]
pub struct Tensor<'t, T: Element> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) idx: u32,
    pub(crate) slot: u32,
}

impl<'t, T: Element> Tensor<'t, T> {
    pub(crate) fn from_parts(tape: &'t Tape<T>, idx: u32, slot: u32) -> Self {
        Tensor { tape, idx, slot }
    }

    /// Runs `f` on the value without copying it.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let t = tape.ones(&[3]);
    /// assert_eq!(t.with_value(|a| a.len()), 3);
    /// ```
    pub fn with_value<R>(self, f: impl FnOnce(&Array<T>) -> R) -> R {
        f(self.tape.inner.borrow().tensor_value(self.slot as usize))
    }

    /// A copy of the value.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let v: tape::Array<f64> = (x * x).value();
    /// assert_eq!((v.shape(), v.data()), (&[2][..], &[1.0, 4.0][..]));
    /// ```
    pub fn value(self) -> Array<T> {
        self.with_value(Array::clone)
    }

    /// The elements in row-major order.
    ///
    /// ```
    /// let tape = tape::Tape::<f32>::new();
    /// assert_eq!(tape.full(&[2], 0.5).to_vec(), vec![0.5, 0.5]);
    /// ```
    pub fn to_vec(self) -> Vec<T> {
        self.with_value(|a| a.data().to_vec())
    }

    /// The shape.
    ///
    /// ```
    /// let tape = tape::Tape::<f32>::new();
    /// assert_eq!(tape.zeros(&[4, 5]).shape().as_slice(), &[4, 5]);
    /// ```
    pub fn shape(self) -> Shape {
        self.with_value(|a| Shape::from_slice(a.shape()))
    }

    /// Number of dimensions.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[2, 3, 4]).ndim(), 3);
    /// assert_eq!(tape.full(&[], 1.0).ndim(), 0); // a 0-d tensor
    /// ```
    pub fn ndim(self) -> usize {
        self.with_value(|a| a.ndim())
    }

    /// Number of elements.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[2, 3]).len(), 6);
    /// assert_eq!(tape.zeros(&[2, 3]).sum_axis(0, false).len(), 3);
    /// ```
    pub fn len(self) -> usize {
        self.with_value(|a| a.len())
    }

    /// Whether the tensor has no elements.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert!(tape.zeros(&[0, 3]).is_empty());
    /// assert!(!tape.zeros(&[]).is_empty()); // 0-d: one element
    /// ```
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The tape this handle records on.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.ones(&[2]);
    /// assert!(std::ptr::eq(x.tape(), &tape));
    /// let y = x * x.tape().full(&[2], 3.0); // a constant on the same tape
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[3.0, 3.0]);
    /// ```
    pub fn tape(self) -> &'t Tape<T> {
        self.tape
    }

    /// The node's index in the list (as shown by the tape's `Debug` output).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.ones(&[2]);
    /// let y = x.exp();
    /// assert_eq!((x.index(), y.index()), (1, 2)); // numbered from 1, in recording order
    /// ```
    pub fn index(self) -> usize {
        self.idx as usize
    }

    /// The same value with no path back: gradients stop here.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.full(&[2], 3.0);
    /// let y = (x * x.detach()).sum();
    /// assert_eq!(y.backward().wrt(x).data(), &[3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn detach(self) -> Self {
        self.tape.tensor_constant(self.value())
    }
}

impl<T: Element> fmt::Debug for Tensor<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor(#{} = ", self.idx)?;
        self.with_value(|a| fmt::Debug::fmt(a, f))?;
        write!(f, ")")
    }
}
