//! Indexing: one element per row (for cross-entropy), rows by index, and their adjoints
//! (scatter, index_add), which are ops of their own so that the backward is differentiable.

use std::sync::Arc;

use super::op::TensorOp;
use crate::error::OrPanic;
use crate::{Element, TapeError, Tensor};

fn check_indices(
    op: &'static str,
    idx: &[usize],
    len: usize,
    shape: &[usize],
) -> Result<(), TapeError> {
    match idx.iter().find(|&&i| i >= len) {
        Some(&index) => Err(TapeError::IndexOutOfRange {
            op,
            index,
            len,
            shape: shape.into(),
        }),
        None => Ok(()),
    }
}

impl<'t, T: Element> Tensor<'t, T> {
    /// One element per row of a 2-D tensor: `out[r] = self[r, idx[r]]` (e.g. the log-probability
    /// of each sample's label). Backward scatters the gradient to those positions.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the tensor is not 2-D or `idx` does not have one entry
    /// per row; [`TapeError::IndexOutOfRange`] for an index `>=` the number of columns.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let y = x.try_gather(&[2, 0]).unwrap();
    /// assert_eq!(y.to_vec(), vec![3.0, 4.0]);
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// assert!(x.try_gather(&[3, 0]).is_err());
    /// ```
    #[track_caller]
    pub fn try_gather(self, idx: &[usize]) -> Result<Self, TapeError> {
        let shape = self.shape();
        if shape.len() != 2 || idx.len() != shape[0] {
            return Err(TapeError::invalid(
                "gather",
                format!(
                    "expected a 2-D tensor and one index per row, got {} indices",
                    idx.len()
                ),
                &shape,
            ));
        }
        check_indices("gather", idx, shape[1], &shape)?;
        let out = self.with_value(|a| a.gather_elems(idx));
        Ok(self
            .tape
            .push_tensor(TensorOp::GatherElems(Arc::from(idx)), &[self.idx], out))
    }

    /// [`Tensor::try_gather`], panicking on bad input.
    ///
    /// # Panics
    /// If the tensor is not 2-D, the index count differs from the row count, or an index is
    /// out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// // log-probabilities of two samples over three classes; labels 1 and 2
    /// let logp = tape.tensor_from_vec(vec![-1.0, -2.0, -3.0, -4.0, -5.0, -6.0], &[2, 3]).unwrap();
    /// let picked = logp.gather(&[1, 2]);
    /// assert_eq!(picked.to_vec(), vec![-2.0, -6.0]);
    /// assert_eq!(picked.sum().backward().wrt(logp).data(), &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn gather(self, idx: &[usize]) -> Self {
        self.try_gather(idx).or_panic()
    }

    /// The adjoint of [`Tensor::gather`]: a `[n, n_cols]` tensor of zeros with `self[r]` at
    /// `(r, idx[r])`, where `self` has shape `[n]`.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if `self` is not 1-D with one entry per index;
    /// [`TapeError::IndexOutOfRange`] for an index `>= n_cols`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let v = tape.tensor_from_vec(vec![5.0, 6.0], &[2]).unwrap();
    /// assert_eq!(v.try_scatter(&[1, 0], 2).unwrap().to_vec(), vec![0.0, 5.0, 6.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn try_scatter(self, idx: &[usize], n_cols: usize) -> Result<Self, TapeError> {
        let shape = self.shape();
        if shape.len() != 1 || idx.len() != shape[0] {
            return Err(TapeError::invalid(
                "scatter",
                format!(
                    "expected a 1-D tensor with one entry per index, got {} indices",
                    idx.len()
                ),
                &shape,
            ));
        }
        check_indices("scatter", idx, n_cols, &shape)?;
        let out = self.with_value(|a| a.scatter_elems(idx, n_cols));
        Ok(self
            .tape
            .push_tensor(TensorOp::ScatterElems(Arc::from(idx)), &[self.idx], out))
    }

    /// [`Tensor::try_scatter`], panicking on bad input.
    ///
    /// # Panics
    /// On a shape or index error (see [`Tensor::try_scatter`]).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let v = tape.tensor_from_vec(vec![5.0, 6.0], &[2]).unwrap();
    /// let s = v.scatter(&[2, 0], 3); // 5 at (0, 2), 6 at (1, 0)
    /// assert_eq!(s.to_vec(), vec![0.0, 0.0, 5.0, 6.0, 0.0, 0.0]);
    /// assert_eq!(s.gather(&[2, 0]).to_vec(), vec![5.0, 6.0]); // gather reads them back
    /// ```
    #[track_caller]
    pub fn scatter(self, idx: &[usize], n_cols: usize) -> Self {
        self.try_scatter(idx, n_cols).or_panic()
    }

    /// Rows `idx` of the tensor (along axis 0), repeats allowed. Backward adds each gradient
    /// row back into the row it came from.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] for a 0-d tensor; [`TapeError::IndexOutOfRange`] for an
    /// index `>=` the number of rows.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let y = x.try_index_select(&[1, 1, 0]).unwrap();
    /// assert_eq!(y.to_vec(), vec![3.0, 4.0, 3.0, 4.0, 1.0, 2.0]);
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[1.0, 1.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn try_index_select(self, idx: &[usize]) -> Result<Self, TapeError> {
        let shape = self.shape();
        if shape.is_empty() {
            return Err(TapeError::invalid(
                "index_select",
                "cannot select rows of a 0-d tensor",
                &shape,
            ));
        }
        check_indices("index_select", idx, shape[0], &shape)?;
        let out = self.with_value(|a| a.index_select(idx));
        Ok(self
            .tape
            .push_tensor(TensorOp::IndexSelect(Arc::from(idx)), &[self.idx], out))
    }

    /// [`Tensor::try_index_select`], panicking on bad input.
    ///
    /// # Panics
    /// For a 0-d tensor or an index out of range.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
    /// let y = x.index_select(&[2, 0]);
    /// assert_eq!(y.to_vec(), vec![5.0, 6.0, 1.0, 2.0]);
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn index_select(self, idx: &[usize]) -> Self {
        self.try_index_select(idx).or_panic()
    }

    /// The adjoint of [`Tensor::index_select`]: `n_rows` rows of zeros with row `k` of `self`
    /// added into row `idx[k]`.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if `self` does not have one row per index;
    /// [`TapeError::IndexOutOfRange`] for an index `>= n_rows`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let r = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3, 1]).unwrap();
    /// assert_eq!(r.try_index_add(&[0, 0, 1], 2).unwrap().to_vec(), vec![3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn try_index_add(self, idx: &[usize], n_rows: usize) -> Result<Self, TapeError> {
        let shape = self.shape();
        if shape.is_empty() || shape[0] != idx.len() {
            return Err(TapeError::invalid(
                "index_add",
                format!("expected one row per index, got {} indices", idx.len()),
                &shape,
            ));
        }
        check_indices("index_add", idx, n_rows, &shape)?;
        let out = self.with_value(|a| a.index_add(idx, n_rows));
        Ok(self
            .tape
            .push_tensor(TensorOp::IndexAdd(Arc::from(idx)), &[self.idx], out))
    }

    /// [`Tensor::try_index_add`], panicking on bad input.
    ///
    /// # Panics
    /// On a shape or index error (see [`Tensor::try_index_add`]).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let r = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let s = r.index_add(&[1, 1], 3); // both rows added into row 1 of three
    /// assert_eq!(s.to_vec(), vec![0.0, 0.0, 4.0, 6.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn index_add(self, idx: &[usize], n_rows: usize) -> Self {
        self.try_index_add(idx, n_rows).or_panic()
    }
}
