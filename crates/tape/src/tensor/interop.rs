//! Between scalars and tensors: build a tensor from scalar handles, read one element as a
//! scalar, and combine a tensor with a scalar handle by broadcasting.

use std::ops::{Add, Div, Mul, Sub};

use super::op::TensorOp;
use crate::error::OrPanic;
use crate::shape::numel;
use crate::{Array, Element, Scalar, Shape, TapeError, Tensor};

impl<'t, T: Element> Tensor<'t, T> {
    /// A tensor of `shape` whose elements are the given scalar handles (row-major); the
    /// gradient of each element flows back to its scalar.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the number of scalars is not the product of `shape`,
    /// or the list is empty.
    ///
    /// ```
    /// use tape::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let (a, b) = (tape.var(2.0), tape.var(3.0));
    /// let t = Tensor::try_from_scalars(&[a, b * b], &[2]).unwrap();
    /// let g = t.sum().backward();
    /// assert_eq!((g.wrt(a), g.wrt(b)), (1.0, 6.0));
    /// ```
    #[track_caller]
    pub fn try_from_scalars(scalars: &[Scalar<'t, T>], shape: &[usize]) -> Result<Self, TapeError> {
        if scalars.is_empty() {
            return Err(TapeError::invalid(
                "from_scalars",
                "no scalars given",
                shape,
            ));
        }
        if numel(shape) != scalars.len() {
            return Err(TapeError::invalid(
                "from_scalars",
                format!("{} scalars do not fill the shape", scalars.len()),
                shape,
            ));
        }
        // The tape of the first scalar that has one; constants on no tape are recorded there.
        let Some(tape) = scalars.iter().find_map(|s| s.tape()) else {
            return Err(TapeError::invalid(
                "from_scalars",
                "every scalar is a constant on no tape; use Tape::tensor_constant",
                shape,
            ));
        };
        for s in scalars.iter().filter_map(|s| s.tape()) {
            TapeError::same_tape(tape, s, "from_scalars")?;
        }
        let value = Array::from_parts(
            scalars.iter().map(|s| s.value()).collect(),
            Shape::from_slice(shape),
        );
        let inputs: Vec<u32> = scalars
            .iter()
            .map(|s| s.on(tape, "from_scalars").idx)
            .collect();
        Ok(tape.push_tensor(TensorOp::FromScalars, &inputs, value))
    }

    /// [`Tensor::try_from_scalars`], panicking on a bad count.
    ///
    /// # Panics
    /// If the number of scalars is not the product of `shape`, or is zero.
    ///
    /// ```
    /// use tape::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let (a, b) = (tape.var(1.0), tape.var(2.0));
    /// let t = Tensor::from_scalars(&[a, b, a * b, b * b], &[2, 2]);
    /// assert_eq!(t.to_vec(), vec![1.0, 2.0, 2.0, 4.0]);
    /// let g = t.sum().backward(); // a + b + ab + b²
    /// assert_eq!((g.wrt(a), g.wrt(b)), (3.0, 6.0)); // 1 + b, 1 + a + 2b
    /// ```
    #[track_caller]
    pub fn from_scalars(scalars: &[Scalar<'t, T>], shape: &[usize]) -> Self {
        Self::try_from_scalars(scalars, shape).or_panic()
    }

    /// The element at a multi-index, as a [`Scalar`]; the gradient flows back to that element.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] for an index of the wrong rank;
    /// [`TapeError::IndexOutOfRange`] for an index past a dimension.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let e = x.try_get(&[1, 0]).unwrap();
    /// assert_eq!(e.value(), 3.0);
    /// assert_eq!(e.backward().wrt(x).data(), &[0.0, 0.0, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn try_get(self, index: &[usize]) -> Result<Scalar<'t, T>, TapeError> {
        let shape = self.shape();
        if index.len() != shape.len() {
            return Err(TapeError::invalid(
                "get",
                format!(
                    "index {index:?} has {} entries for {} dimensions",
                    index.len(),
                    shape.len()
                ),
                &shape,
            ));
        }
        let mut flat = 0;
        for (&i, &d) in index.iter().zip(&shape) {
            if i >= d {
                return Err(TapeError::IndexOutOfRange {
                    op: "get",
                    index: i,
                    len: d,
                    shape,
                });
            }
            flat = flat * d + i;
        }
        let v = self.with_value(|a| a.data()[flat]);
        Ok(self
            .tape
            .push_tensor_scalar(TensorOp::Element { flat }, &[self.idx], v))
    }

    /// [`Tensor::try_get`], panicking on a bad index.
    ///
    /// # Panics
    /// If the index has the wrong rank or is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let e = x.get(&[1, 2]);
    /// assert_eq!(e.value(), 6.0);
    /// // d(e²)/dx is 2e = 12 at [1, 2], 0 elsewhere
    /// assert_eq!((e * e).backward().wrt(x).data(), &[0.0, 0.0, 0.0, 0.0, 0.0, 12.0]);
    /// ```
    #[track_caller]
    pub fn get(self, index: &[usize]) -> Scalar<'t, T> {
        self.try_get(index).or_panic()
    }

    /// The only element of a one-element tensor, as a [`Scalar`].
    ///
    /// # Panics
    /// If the tensor does not have exactly one element.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.full(&[1, 1], 4.0).item().value(), 4.0);
    /// ```
    #[track_caller]
    pub fn item(self) -> Scalar<'t, T> {
        let n = self.len();
        assert!(
            n == 1,
            "item: the tensor has {n} elements, not 1 (shape {:?})",
            self.shape()
        );
        let v = self.with_value(|a| a.data()[0]);
        self.tape
            .push_tensor_scalar(TensorOp::Element { flat: 0 }, &[self.idx], v)
    }
}

impl<'t, T: Element> Scalar<'t, T> {
    /// This scalar as a 0-dimensional tensor (which broadcasts against any shape).
    ///
    /// # Panics
    /// For a constant on no tape, which has no tape to put a tensor on: combine it with a
    /// tensor directly (`c * t`), or use [`Tape::tensor_constant`](crate::Tape::tensor_constant).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let s = tape.var(2.0);
    /// let x = tape.ones(&[3]);
    /// let y = (x * s.to_tensor()).sum();
    /// assert_eq!(y.backward().wrt(s), 3.0);
    /// ```
    #[track_caller]
    pub fn to_tensor(self) -> Tensor<'t, T> {
        Tensor::from_scalars(&[self], &[])
    }
}

macro_rules! tensor_scalar_op {
    ($tr:ident, $m:ident) => {
        impl<'t, T: Element> $tr<Scalar<'t, T>> for Tensor<'t, T> {
            type Output = Tensor<'t, T>;
            /// Broadcasts the scalar over the tensor.
            #[track_caller]
            fn $m(self, s: Scalar<'t, T>) -> Tensor<'t, T> {
                self.$m(s.on(self.tape, stringify!($m)).to_tensor())
            }
        }
        impl<'t, T: Element> $tr<Tensor<'t, T>> for Scalar<'t, T> {
            type Output = Tensor<'t, T>;
            /// Broadcasts the scalar over the tensor.
            #[track_caller]
            fn $m(self, t: Tensor<'t, T>) -> Tensor<'t, T> {
                self.on(t.tape, stringify!($m)).to_tensor().$m(t)
            }
        }
    };
}
tensor_scalar_op!(Add, add);
tensor_scalar_op!(Sub, sub);
tensor_scalar_op!(Mul, mul);
tensor_scalar_op!(Div, div);
