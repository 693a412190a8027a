//! Shape ops: reshape, permute/transpose, broadcast, slice, pad, concat. Each one's backward is
//! another shape op (reshape back, the inverse permutation, sum_to, pad, slice).

use super::op::TensorOp;
use crate::error::OrPanic;
use crate::shape::{broadcast_shapes, numel};
use std::sync::Arc;

use crate::{Array, Element, TapeError, Tensor};

impl<'t, T: Element> Tensor<'t, T> {
    /// The same elements under another shape with the same number of elements.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the element counts differ.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.ones(&[2, 3]);
    /// assert_eq!(x.try_reshape(&[3, 2]).unwrap().shape().as_slice(), &[3, 2]);
    /// let err = x.try_reshape(&[4]).unwrap_err();
    /// assert_eq!(err.to_string(), "reshape: element counts differ: lhs [2, 3], rhs [4]");
    /// ```
    #[track_caller]
    pub fn try_reshape(self, shape: &[usize]) -> Result<Self, TapeError> {
        let out = self.with_value(|a| a.clone().reshaped(shape))?;
        Ok(self.tape.push_tensor(TensorOp::Reshape, &[self.idx], out))
    }

    /// [`Tensor::try_reshape`], panicking on a bad shape.
    ///
    /// # Panics
    /// If the element counts differ.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let y = x.reshape(&[3, 2]);
    /// assert_eq!(y.shape().as_slice(), &[3, 2]);
    /// assert_eq!(y.to_vec(), x.to_vec()); // the same row-major order
    /// ```
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Self {
        self.try_reshape(shape).or_panic()
    }

    /// All elements as one dimension.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.ones(&[2, 3]).flatten().shape().as_slice(), &[6]);
    /// ```
    #[track_caller]
    pub fn flatten(self) -> Self {
        let n = self.len();
        self.reshape(&[n])
    }

    /// Reorders the axes: axis `i` of the result is axis `perm[i]` of the input.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if `perm` is not a permutation of `0..ndim`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.zeros(&[2, 3, 4]);
    /// assert_eq!(x.try_permute(&[2, 0, 1]).unwrap().shape().as_slice(), &[4, 2, 3]);
    /// assert!(x.try_permute(&[0, 0, 1]).is_err());
    /// ```
    #[track_caller]
    pub fn try_permute(self, perm: &[usize]) -> Result<Self, TapeError> {
        let shape = self.shape();
        let mut seen = vec![false; shape.len()];
        let valid = perm.len() == shape.len()
            && perm
                .iter()
                .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
        if !valid {
            return Err(TapeError::invalid(
                "permute",
                format!("{perm:?} is not a permutation of the {} axes", shape.len()),
                &shape,
            ));
        }
        let out = self.with_value(|a| a.permute(perm));
        Ok(self
            .tape
            .push_tensor(TensorOp::Permute(Arc::from(perm)), &[self.idx], out))
    }

    /// [`Tensor::try_permute`], panicking on a bad permutation.
    ///
    /// # Panics
    /// If `perm` is not a permutation of the axes.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec((0..6).map(f64::from).collect(), &[1, 2, 3]).unwrap();
    /// let y = x.permute(&[2, 0, 1]);
    /// assert_eq!(y.shape().as_slice(), &[3, 1, 2]);
    /// // y[k, 0, j] = x[0, j, k] = 3j + k
    /// assert_eq!(y.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn permute(self, perm: &[usize]) -> Self {
        self.try_permute(perm).or_panic()
    }

    /// Swaps two axes.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if an axis is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let t = x.try_transpose(0, 1).unwrap();
    /// assert_eq!(t.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn try_transpose(self, a: usize, b: usize) -> Result<Self, TapeError> {
        let n = self.ndim();
        if a >= n || b >= n {
            return Err(TapeError::invalid(
                "transpose",
                format!("axes ({a}, {b}) are out of range for {n} dimensions"),
                &self.shape(),
            ));
        }
        let mut perm: Vec<usize> = (0..n).collect();
        perm.swap(a, b);
        self.try_permute(&perm)
    }

    /// [`Tensor::try_transpose`], panicking on a bad axis.
    ///
    /// # Panics
    /// If an axis is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
    /// let t = x.transpose(0, 1);
    /// assert_eq!(t.shape().as_slice(), &[2, 3]);
    /// assert_eq!(t.to_vec(), vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn transpose(self, a: usize, b: usize) -> Self {
        self.try_transpose(a, b).or_panic()
    }

    /// The transpose of a 2-D tensor.
    ///
    /// # Panics
    /// If the tensor is not 2-D.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[2, 5]).t().shape().as_slice(), &[5, 2]);
    /// ```
    #[track_caller]
    pub fn t(self) -> Self {
        let n = self.ndim();
        assert!(
            n == 2,
            "t: expected a 2-D tensor, got {n} dimensions (shape {:?})",
            self.shape()
        );
        self.transpose(0, 1)
    }

    /// Repeats the tensor along broadcast dimensions to `shape` (NumPy's `broadcast_to`);
    /// backward sums the gradient back.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if this shape does not broadcast to `shape`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    /// let y = x.try_broadcast_to(&[2, 3]).unwrap();
    /// assert_eq!(y.to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn try_broadcast_to(self, shape: &[usize]) -> Result<Self, TapeError> {
        let own = self.shape();
        if broadcast_shapes("broadcast_to", &own, shape).as_deref() != Ok(shape) {
            return Err(TapeError::shape(
                "broadcast_to",
                "shape does not broadcast to the target",
                &own,
                shape,
            ));
        }
        let out = self.with_value(|a| a.broadcast_to(shape));
        Ok(self
            .tape
            .push_tensor(TensorOp::BroadcastTo, &[self.idx], out))
    }

    /// [`Tensor::try_broadcast_to`], panicking on a bad shape.
    ///
    /// # Panics
    /// If this shape does not broadcast to `shape`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// let y = x.broadcast_to(&[2, 3]);
    /// assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[2.0; 3]); // each element used twice
    /// ```
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Self {
        self.try_broadcast_to(shape).or_panic()
    }

    /// Elements `start..end` along `axis`; backward pads the gradient with zeros.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the axis is out of range or `start > end` or `end`
    /// is past the dimension.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4]).unwrap();
    /// let s = x.try_slice(0, 1, 3).unwrap();
    /// assert_eq!(s.to_vec(), vec![2.0, 3.0]);
    /// assert_eq!(s.sum().backward().wrt(x).data(), &[0.0, 1.0, 1.0, 0.0]);
    /// assert!(x.try_slice(0, 2, 5).is_err());
    /// ```
    #[track_caller]
    pub fn try_slice(self, axis: usize, start: usize, end: usize) -> Result<Self, TapeError> {
        let shape = self.shape();
        if axis >= shape.len() || start > end || end > shape[axis] {
            return Err(TapeError::invalid(
                "slice",
                format!("range {start}..{end} along axis {axis} is out of bounds"),
                &shape,
            ));
        }
        let out = self.with_value(|a| a.slice_axis(axis, start, end));
        Ok(self
            .tape
            .push_tensor(TensorOp::Slice { axis, start, end }, &[self.idx], out))
    }

    /// [`Tensor::try_slice`], panicking on a bad range.
    ///
    /// # Panics
    /// If the axis or range is out of bounds.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let s = x.slice(1, 1, 3); // columns 1 and 2
    /// assert_eq!(s.to_vec(), vec![2.0, 3.0, 5.0, 6.0]);
    /// assert_eq!(s.sum().backward().wrt(x).data(), &[0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn slice(self, axis: usize, start: usize, end: usize) -> Self {
        self.try_slice(axis, start, end).or_panic()
    }

    /// Adds `before` zeros before and `after` zeros after along `axis`; backward slices.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the axis is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.ones(&[2]);
    /// assert_eq!(x.try_pad(0, 1, 2).unwrap().to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn try_pad(self, axis: usize, before: usize, after: usize) -> Result<Self, TapeError> {
        let shape = self.shape();
        if axis >= shape.len() {
            return Err(TapeError::invalid(
                "pad",
                format!("axis {axis} is out of range for {} dimensions", shape.len()),
                &shape,
            ));
        }
        let out = self.with_value(|a| a.pad_axis(axis, before, after));
        Ok(self.tape.push_tensor(
            TensorOp::Pad {
                axis,
                before,
                after,
            },
            &[self.idx],
            out,
        ))
    }

    /// [`Tensor::try_pad`], panicking on a bad axis.
    ///
    /// # Panics
    /// If the axis is out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let p = x.pad(0, 1, 0); // a row of zeros on top
    /// assert_eq!(p.to_vec(), vec![0.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(p.sum().backward().wrt(x).data(), &[1.0; 4]);
    /// ```
    #[track_caller]
    pub fn pad(self, axis: usize, before: usize, after: usize) -> Self {
        self.try_pad(axis, before, after).or_panic()
    }

    /// Joins tensors along `axis`; all other dimensions must agree. Backward slices the
    /// gradient into one piece per input.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] for an empty list or a bad axis,
    /// [`TapeError::ShapeMismatch`] naming the first disagreeing pair of shapes.
    ///
    /// ```
    /// use tape::Tensor;
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.ones(&[2, 1]);
    /// let b = tape.zeros(&[2, 2]);
    /// let c = Tensor::try_concat(&[a, b], 1).unwrap();
    /// assert_eq!(c.to_vec(), vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    /// let err = Tensor::try_concat(&[a, tape.zeros(&[3, 1])], 1).unwrap_err();
    /// assert_eq!(err.to_string(), "concat: dimensions other than the axis differ: lhs [2, 1], rhs [3, 1]");
    /// ```
    #[track_caller]
    pub fn try_concat(parts: &[Self], axis: usize) -> Result<Self, TapeError> {
        let Some(first) = parts.first() else {
            return Err(TapeError::invalid("concat", "no tensors to join", &[]));
        };
        let tape = first.tape;
        let s0 = first.shape();
        if axis >= s0.len() {
            return Err(TapeError::invalid(
                "concat",
                format!("axis {axis} is out of range for {} dimensions", s0.len()),
                &s0,
            ));
        }
        for p in &parts[1..] {
            TapeError::same_tape(tape, p.tape, "concat")?;
            let s = p.shape();
            let agree = s.len() == s0.len()
                && s.iter()
                    .zip(&s0)
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            if !agree {
                return Err(TapeError::shape(
                    "concat",
                    "dimensions other than the axis differ",
                    &s0,
                    &s,
                ));
            }
        }
        let out = {
            let inner = tape.inner.borrow();
            let arrays: Vec<&Array<T>> = parts
                .iter()
                .map(|p| inner.tensor_value(p.slot as usize))
                .collect();
            Array::concat(&arrays, axis)
        };
        let inputs: Vec<u32> = parts.iter().map(|p| p.idx).collect();
        Ok(tape.push_tensor(TensorOp::Concat { axis }, &inputs, out))
    }

    /// [`Tensor::try_concat`], panicking on bad input.
    ///
    /// # Panics
    /// For an empty list, a bad axis or disagreeing shapes.
    ///
    /// ```
    /// use tape::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
    /// let b = tape.tensor_from_vec(vec![3.0, 4.0, 5.0, 6.0], &[2, 2]).unwrap();
    /// let c = Tensor::concat(&[a, b], 0);
    /// assert_eq!(c.shape().as_slice(), &[3, 2]);
    /// assert_eq!(c.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// assert_eq!((c * c).sum().backward().wrt(a).data(), &[2.0, 4.0]); // 2a
    /// ```
    #[track_caller]
    pub fn concat(parts: &[Self], axis: usize) -> Self {
        Self::try_concat(parts, axis).or_panic()
    }

    /// Inserts a dimension of size 1 at `axis`.
    ///
    /// # Panics
    /// If `axis > ndim`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[3]).unsqueeze(0).shape().as_slice(), &[1, 3]);
    /// ```
    #[track_caller]
    pub fn unsqueeze(self, axis: usize) -> Self {
        let mut shape = self.shape();
        assert!(
            axis <= shape.len(),
            "unsqueeze: axis {axis} is out of range for shape {shape:?}"
        );
        shape.insert(axis, 1);
        self.reshape(&shape)
    }

    /// Removes a dimension of size 1 at `axis`.
    ///
    /// # Panics
    /// If the axis is out of range or its size is not 1.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.zeros(&[1, 3]).squeeze(0).shape().as_slice(), &[3]);
    /// ```
    #[track_caller]
    pub fn squeeze(self, axis: usize) -> Self {
        let mut shape = self.shape();
        assert!(
            axis < shape.len() && shape[axis] == 1,
            "squeeze: axis {axis} is not a dimension of size 1 in shape {shape:?}"
        );
        shape.remove(axis);
        debug_assert_eq!(numel(&shape), self.len());
        self.reshape(&shape)
    }
}
