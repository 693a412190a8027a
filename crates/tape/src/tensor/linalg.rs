//! Matrix products. Backward: the `MatMul` arm of [`super::op::vjp`] — two more products, with
//! transposes passed as flags (strides), never materialised.

use super::op::TensorOp;
use crate::error::OrPanic;
use crate::{Element, TapeError, Tensor};

impl<'t, T: Element> Tensor<'t, T> {
    /// Matrix product `op(self) · op(other)` of two 2-D tensors, where `op` transposes its
    /// argument when the flag is set. The transpose is read through strides; nothing is copied.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if either operand is not 2-D or the inner dimensions differ.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
    /// // aᵀ · a = [[35, 44], [44, 56]]
    /// let c = a.try_matmul_t(true, a, false).unwrap();
    /// assert_eq!(c.to_vec(), vec![35.0, 44.0, 44.0, 56.0]);
    /// ```
    #[track_caller]
    pub fn try_matmul_t(self, ta: bool, other: Self, tb: bool) -> Result<Self, TapeError> {
        TapeError::same_tape(self.tape, other.tape, "matmul")?;
        let out = {
            let inner = self.tape.inner.borrow();
            let a = inner.tensor_value(self.slot as usize);
            let b = inner.tensor_value(other.slot as usize);
            if a.ndim() != 2 || b.ndim() != 2 {
                return Err(TapeError::shape(
                    "matmul",
                    "operands must be 2-D",
                    a.shape(),
                    b.shape(),
                ));
            }
            let k_a = if ta { a.shape()[0] } else { a.shape()[1] };
            let k_b = if tb { b.shape()[1] } else { b.shape()[0] };
            if k_a != k_b {
                return Err(TapeError::shape(
                    "matmul",
                    "inner dimensions differ",
                    a.shape(),
                    b.shape(),
                ));
            }
            a.matmul_t(ta, b, tb)
        };
        Ok(self
            .tape
            .push_tensor(TensorOp::MatMul { ta, tb }, &[self.idx, other.idx], out))
    }

    /// [`Tensor::try_matmul_t`], panicking on bad shapes.
    ///
    /// # Panics
    /// If either operand is not 2-D or the inner dimensions differ.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let b = tape.tensor_from_vec(vec![1.0, 0.0, 1.0, 1.0], &[2, 2]).unwrap();
    /// // a · bᵀ with bᵀ = [[1, 1], [0, 1]]: [[1, 3], [3, 7]]
    /// let c = a.matmul_t(false, b, true);
    /// assert_eq!(c.to_vec(), vec![1.0, 3.0, 3.0, 7.0]);
    /// assert_eq!(c.to_vec(), a.matmul(b.t()).to_vec());
    /// ```
    #[track_caller]
    pub fn matmul_t(self, ta: bool, other: Self, tb: bool) -> Self {
        self.try_matmul_t(ta, other, tb).or_panic()
    }

    /// Matrix product with NumPy's rules for vectors: `[m, k]·[k, n] → [m, n]`,
    /// `[m, k]·[k] → [m]`, `[k]·[k, n] → [n]`, `[k]·[k] → []` (a 0-d tensor).
    ///
    /// Backward: `∂A = G·Bᵀ`, `∂B = Aᵀ·G`.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] naming both shapes if the inner dimensions differ or an
    /// operand has more than two dimensions.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![0.0; 12], &[3, 4]).unwrap();
    /// let b = tape.tensor_from_vec(vec![0.0; 10], &[5, 2]).unwrap();
    /// let err = a.try_matmul(b).unwrap_err();
    /// assert_eq!(err.to_string(), "matmul: inner dimensions differ: lhs [3, 4], rhs [5, 2]");
    /// ```
    #[track_caller]
    pub fn try_matmul(self, other: Self) -> Result<Self, TapeError> {
        TapeError::same_tape(self.tape, other.tape, "matmul")?;
        let (sa, sb) = (self.shape(), other.shape());
        let bad = |what| TapeError::shape("matmul", what, &sa, &sb);
        match (sa.len(), sb.len()) {
            (2, 2) => self.try_matmul_t(false, other, false),
            (2, 1) => {
                if sa[1] != sb[0] {
                    return Err(bad("inner dimensions differ"));
                }
                let col = other.reshape(&[sb[0], 1]);
                Ok(self.matmul_t(false, col, false).reshape(&[sa[0]]))
            }
            (1, 2) => {
                if sa[0] != sb[0] {
                    return Err(bad("inner dimensions differ"));
                }
                let row = self.reshape(&[1, sa[0]]);
                Ok(row.matmul_t(false, other, false).reshape(&[sb[1]]))
            }
            (1, 1) => {
                if sa[0] != sb[0] {
                    return Err(bad("inner dimensions differ"));
                }
                let row = self.reshape(&[1, sa[0]]);
                let col = other.reshape(&[sb[0], 1]);
                Ok(row.matmul_t(false, col, false).reshape(&[]))
            }
            _ => Err(bad("operands must be 1-D or 2-D")),
        }
    }

    /// [`Tensor::try_matmul`], panicking on bad shapes.
    ///
    /// # Panics
    /// If the inner dimensions differ or an operand has more than two dimensions.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let a = tape.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let x = tape.tensor_from_vec(vec![1.0, 1.0], &[2]).unwrap();
    /// let y = a.matmul(x);                       // [3, 7]
    /// assert_eq!(y.to_vec(), vec![3.0, 7.0]);
    /// let g = y.sum().backward();
    /// assert_eq!(g.wrt(x).data(), &[4.0, 6.0]);  // column sums of a
    /// ```
    #[track_caller]
    pub fn matmul(self, other: Self) -> Self {
        self.try_matmul(other).or_panic()
    }
}
