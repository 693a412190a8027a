//! Reductions: sums, means and maxima over all elements or along an axis. Backward: sums
//! broadcast the gradient back; maxima send it to the first maximal element.

use std::sync::Arc;

use super::op::TensorOp;
use crate::error::OrPanic;
use crate::{Element, Scalar, Shape, TapeError, Tensor};

impl<'t, T: Element> Tensor<'t, T> {
    fn check_axis(self, op: &'static str, axis: usize) -> Result<Shape, TapeError> {
        let shape = self.shape();
        if axis >= shape.len() {
            return Err(TapeError::invalid(
                op,
                format!("axis {axis} is out of range for {} dimensions", shape.len()),
                &shape,
            ));
        }
        Ok(shape)
    }

    /// Sum of all elements, as a [`Scalar`]; backward broadcasts the gradient to every element.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// let s = x.sum();
    /// assert_eq!(s.value(), 6.0);
    /// assert_eq!(s.backward().wrt(x).data(), &[1.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn sum(self) -> Scalar<'t, T> {
        let v = self.with_value(|a| a.sum_all());
        self.tape
            .push_tensor_scalar(TensorOp::SumAll, &[self.idx], v)
    }

    /// Mean of all elements, as a [`Scalar`] (NaN for an empty tensor).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2]).unwrap();
    /// assert_eq!(x.mean().value(), 3.0);
    /// assert_eq!(x.mean().backward().wrt(x).data(), &[0.25; 4]);
    /// ```
    #[track_caller]
    pub fn mean(self) -> Scalar<'t, T> {
        let n = self.len();
        self.sum() * (T::one() / T::cast_from(n as f64))
    }

    /// Sums over the dimensions that `shape` broadcasts along, so the result has `shape`: the
    /// reverse of broadcasting.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if `shape` does not broadcast to this tensor's shape.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.ones(&[2, 3]);
    /// assert_eq!(x.try_sum_to(&[1, 3]).unwrap().to_vec(), vec![2.0, 2.0, 2.0]);
    /// assert!(x.try_sum_to(&[2]).is_err());
    /// ```
    #[track_caller]
    pub fn try_sum_to(self, shape: &[usize]) -> Result<Self, TapeError> {
        let own = self.shape();
        let b = crate::shape::broadcast_shapes("sum_to", shape, &own);
        if b.as_deref() != Ok(own.as_slice()) {
            return Err(TapeError::shape(
                "sum_to",
                "target shape does not broadcast to the input",
                &own,
                shape,
            ));
        }
        let out = self.with_value(|a| a.sum_to(shape));
        Ok(self.tape.push_tensor(TensorOp::SumTo, &[self.idx], out))
    }

    /// [`Tensor::try_sum_to`], panicking on a bad shape.
    ///
    /// # Panics
    /// If `shape` does not broadcast to this tensor's shape.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let s = x.sum_to(&[1, 3]); // column sums
    /// assert_eq!(s.to_vec(), vec![5.0, 7.0, 9.0]);
    /// assert_eq!(s.sum().backward().wrt(x).data(), &[1.0; 6]);
    /// ```
    #[track_caller]
    pub fn sum_to(self, shape: &[usize]) -> Self {
        self.try_sum_to(shape).or_panic()
    }

    /// Sum along `axis`, keeping it as a dimension of size 1 if `keepdim`.
    ///
    /// Along the first or the last axis (and in [`Tensor::sum`] over everything) the terms are
    /// added pairwise, in blocks of 256, so the rounding error grows with the logarithm of the
    /// length rather than with the length; along a middle axis they are added in order.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the axis is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!(x.try_sum_axis(0, false).unwrap().to_vec(), vec![5.0, 7.0, 9.0]);
    /// assert_eq!(x.try_sum_axis(1, true).unwrap().shape().as_slice(), &[2, 1]);
    /// ```
    #[track_caller]
    pub fn try_sum_axis(self, axis: usize, keepdim: bool) -> Result<Self, TapeError> {
        let mut shape = self.check_axis("sum_axis", axis)?;
        shape[axis] = 1;
        let kept = self.sum_to(&shape);
        if keepdim {
            Ok(kept)
        } else {
            shape.remove(axis);
            Ok(kept.reshape(&shape))
        }
    }

    /// [`Tensor::try_sum_axis`], panicking on a bad axis.
    ///
    /// # Panics
    /// If the axis is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let s = x.sum_axis(1, false); // row sums
    /// assert_eq!(s.to_vec(), vec![6.0, 15.0]);
    /// // every element enters one sum once: the gradient is all ones
    /// assert_eq!(s.sum().backward().wrt(x).data(), &[1.0; 6]);
    /// ```
    #[track_caller]
    pub fn sum_axis(self, axis: usize, keepdim: bool) -> Self {
        self.try_sum_axis(axis, keepdim).or_panic()
    }

    /// Mean along `axis`.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the axis is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(x.try_mean_axis(1, false).unwrap().to_vec(), vec![1.5, 3.5]);
    /// ```
    #[track_caller]
    pub fn try_mean_axis(self, axis: usize, keepdim: bool) -> Result<Self, TapeError> {
        let n = self.check_axis("mean_axis", axis)?[axis];
        Ok(self.try_sum_axis(axis, keepdim)? * (T::one() / T::cast_from(n as f64)))
    }

    /// [`Tensor::try_mean_axis`], panicking on a bad axis.
    ///
    /// # Panics
    /// If the axis is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let m = x.mean_axis(0, true); // column means, kept as shape [1, 3]
    /// assert_eq!(m.shape().as_slice(), &[1, 3]);
    /// assert_eq!(m.to_vec(), vec![2.5, 3.5, 4.5]);
    /// assert_eq!(m.sum().backward().wrt(x).data(), &[0.5; 6]); // each mean is over 2 rows
    /// ```
    #[track_caller]
    pub fn mean_axis(self, axis: usize, keepdim: bool) -> Self {
        self.try_mean_axis(axis, keepdim).or_panic()
    }

    /// Largest element, as a [`Scalar`]. The gradient goes to the first maximal element (a
    /// subgradient; ties are not split). NaN propagates.
    ///
    /// # Panics
    /// If the tensor is empty.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 3.0, 3.0], &[3]).unwrap();
    /// let m = x.max();
    /// assert_eq!(m.value(), 3.0);
    /// assert_eq!(m.backward().wrt(x).data(), &[0.0, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn max(self) -> Scalar<'t, T> {
        let (arg, v) = self.with_value(|a| {
            assert!(
                !a.is_empty(),
                "max: the tensor is empty (shape {:?})",
                a.shape()
            );
            let arg = a.argmax_all();
            (arg, a.data()[arg])
        });
        self.tape
            .push_tensor_scalar(TensorOp::MaxAll { arg }, &[self.idx], v)
    }

    /// Smallest element, as `-max(-x)`; the gradient goes to the first minimal element.
    ///
    /// # Panics
    /// If the tensor is empty.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![4.0, -3.0], &[2]).unwrap();
    /// assert_eq!(x.min().value(), -3.0);
    /// ```
    #[track_caller]
    pub fn min(self) -> Scalar<'t, T> {
        -(-self).max()
    }

    /// Maximum along `axis`; the gradient goes to the first maximal element of each lane.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the axis is out of range or has size 0.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// let m = x.try_max_axis(1, false).unwrap();
    /// assert_eq!(m.to_vec(), vec![5.0, 7.0]);
    /// assert_eq!(m.sum().backward().wrt(x).data(), &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn try_max_axis(self, axis: usize, keepdim: bool) -> Result<Self, TapeError> {
        let shape = self.check_axis("max_axis", axis)?;
        if shape[axis] == 0 {
            return Err(TapeError::invalid(
                "max_axis",
                format!("axis {axis} has size 0"),
                &shape,
            ));
        }
        let (mut out, arg) = self.with_value(|a| a.max_axis(axis));
        let mut keep_shape = shape.clone();
        keep_shape[axis] = 1;
        if keepdim {
            out = out
                .reshaped(&keep_shape)
                .expect("internal error: keepdim reshape");
        }
        let op = TensorOp::MaxAxis {
            axis,
            arg: Arc::from(arg),
        };
        Ok(self.tape.push_tensor(op, &[self.idx], out))
    }

    /// [`Tensor::try_max_axis`], panicking on a bad axis.
    ///
    /// # Panics
    /// If the axis is out of range or has size 0.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// let m = x.max_axis(0, false); // column maxima
    /// assert_eq!(m.to_vec(), vec![7.0, 5.0, 3.0]);
    /// assert_eq!(m.sum().backward().wrt(x).data(), &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn max_axis(self, axis: usize, keepdim: bool) -> Self {
        self.try_max_axis(axis, keepdim).or_panic()
    }

    /// Minimum along `axis`, as `-max_axis(-x)`.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the axis is out of range or has size 0.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// let m = x.try_min_axis(1, false).unwrap(); // row minima
    /// assert_eq!(m.to_vec(), vec![1.0, 0.0]);
    /// assert_eq!(m.sum().backward().wrt(x).data(), &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    /// assert!(x.try_min_axis(2, false).is_err());
    /// ```
    #[track_caller]
    pub fn try_min_axis(self, axis: usize, keepdim: bool) -> Result<Self, TapeError> {
        // Checked here so that the error names this op, and nothing is recorded on failure.
        let shape = self.check_axis("min_axis", axis)?;
        if shape[axis] == 0 {
            return Err(TapeError::invalid(
                "min_axis",
                format!("axis {axis} has size 0"),
                &shape,
            ));
        }
        Ok(-(-self).try_max_axis(axis, keepdim)?)
    }

    /// [`Tensor::try_min_axis`], panicking on a bad axis.
    ///
    /// # Panics
    /// If the axis is out of range or has size 0.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0], &[2, 3]).unwrap();
    /// let m = x.min_axis(0, true); // column minima, kept as shape [1, 3]
    /// assert_eq!(m.shape().as_slice(), &[1, 3]);
    /// assert_eq!(m.to_vec(), vec![1.0, 0.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn min_axis(self, axis: usize, keepdim: bool) -> Self {
        self.try_min_axis(axis, keepdim).or_panic()
    }
}
