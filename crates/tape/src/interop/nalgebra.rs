//! [`Array`] ↔ `nalgebra` (feature `nalgebra`).
//!
//! nalgebra stores a [`DMatrix`] column by column (column-major); an `Array` stores its
//! elements row by row (row-major). A matrix with `rows` rows and `cols` columns corresponds to
//! the 2-D array of shape `[rows, cols]`, element `[i, j]` to `m[(i, j)]`, so between the two
//! the buffer is *transposed* in memory: the conversions copy it once, through the tiled
//! transposition the matrix product uses. Only when the two orders coincide — a matrix with
//! at most one row or one column, and a [`DVector`] ↔ a 1-D array `[n]` — is an owned buffer
//! handed over without copying.
//!
//! There is no view of an `Array` as a nalgebra matrix: it would need a row stride other than
//! 1, and nalgebra 0.35's matrix-vector product (`axcpy_uninit`, used by `*` on small and
//! vector operands) then loops over the view's whole memory span instead of its rows, reading
//! and writing out of bounds (dimforge/nalgebra#1616). Converting costs one transposed copy.
//!
//! | conversion | copies the elements? |
//! | --- | --- |
//! | `Array::from(DMatrix)` | yes, transposed; not for one row or one column |
//! | `DMatrix::try_from(Array)` | yes, transposed; for one row or one column only if the array's buffer is shared with a live clone or is a view (as [`Array::into_vec`]) |
//! | `Array::from(DVector)` | no |
//! | `DVector::try_from(Array)` | only if the array's buffer is shared with a live clone or is a view |
//! | from or to a reference (`&DMatrix`, `&DVector`, `&Array`) | yes |

use ::nalgebra::{DMatrix, DVector};

use crate::array::buffers;
use crate::parallel::transpose_into;
use crate::{Array, Element, Shape, TapeError};

/// The `[rows, cols]` of a 2-D array, or an error naming `op`.
fn matrix_shape<T: Element>(op: &'static str, a: &Array<T>) -> Result<(usize, usize), TapeError> {
    match *a.shape() {
        [rows, cols] => Ok((rows, cols)),
        ref shape => Err(TapeError::invalid(
            op,
            format!(
                "a matrix needs a 2-D array [rows, cols], not {}-D",
                shape.len()
            ),
            shape,
        )),
    }
}

/// A copy of `data`, a `rows × cols` matrix stored row by row, stored column by column
/// instead (row-major to column-major; and, read as a column-major `cols × rows` matrix,
/// column-major to row-major). With one row or one column both orders are the same and this
/// is a plain copy.
fn transposed<T: Element>(data: &[T], rows: usize, cols: usize) -> Vec<T> {
    if rows <= 1 || cols <= 1 {
        let mut out = buffers::with_capacity(data.len());
        out.extend_from_slice(data);
        return out;
    }
    let mut out = buffers::scratch(rows * cols);
    transpose_into(data, rows, cols, &mut out);
    out
}

/// A nalgebra matrix with `rows` rows and `cols` columns becomes the 2-D array `[rows, cols]`,
/// element `[i, j]` being `m[(i, j)]`. Feature `nalgebra`.
///
/// nalgebra is column-major and `Array` row-major, so the elements are copied once,
/// transposed in memory; a matrix with at most one row or one column has the same order
/// both ways, and its buffer is taken without copying.
///
/// A tensor is recorded from a matrix with `tape.tensor(m.into())`
/// ([`Tape::tensor`](crate::Tape::tensor)).
///
/// ```
/// use nalgebra::DMatrix;
/// use tape::{Array, Tape};
/// let m = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0,
///                                         4.0, 5.0, 6.0]);
/// let a = Array::from(m);
/// assert_eq!((a.shape(), a.data()), (&[2, 3][..], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0][..]));
///
/// let tape = Tape::<f64>::new();
/// let w = tape.tensor(DMatrix::from_row_slice(2, 2, &[1.0, -2.0, 0.5, 3.0]).into());
/// assert_eq!((w * w).sum().backward().wrt(w).data(), &[2.0, -4.0, 1.0, 6.0]); // 2w
/// ```
impl<T: Element> From<DMatrix<T>> for Array<T> {
    fn from(m: DMatrix<T>) -> Self {
        let (rows, cols) = m.shape();
        let col_major: Vec<T> = m.data.into();
        let data = if rows <= 1 || cols <= 1 {
            col_major
        } else {
            // Column-major `rows × cols` is row-major `cols × rows`.
            let data = transposed(&col_major, cols, rows);
            buffers::recycle(col_major);
            data
        };
        Array::from_parts(data, Shape::from_slice(&[rows, cols]))
    }
}

/// A copy of a nalgebra matrix as the 2-D array `[rows, cols]`, element `[i, j]` being
/// `m[(i, j)]` (transposed in memory, as for an owned matrix). Feature `nalgebra`.
///
/// ```
/// let m = nalgebra::DMatrix::from_fn(3, 2, |i, j| (10 * i + j) as f32);
/// let a = tape::Array::from(&m);
/// assert_eq!(a.shape(), &[3, 2]);
/// assert_eq!(a.get(&[2, 1]), m[(2, 1)]);
/// assert_eq!(a.data(), &[0.0, 1.0, 10.0, 11.0, 20.0, 21.0]);
/// ```
impl<T: Element> From<&DMatrix<T>> for Array<T> {
    fn from(m: &DMatrix<T>) -> Self {
        let (rows, cols) = m.shape();
        Array::from_parts(
            transposed(m.as_slice(), cols, rows),
            Shape::from_slice(&[rows, cols]),
        )
    }
}

/// A nalgebra vector of length `n` becomes the 1-D array `[n]`, its buffer taken without
/// copying. Feature `nalgebra`.
///
/// ```
/// let v = nalgebra::DVector::from_vec(vec![1.0, 2.0, 3.0]);
/// let before = v.as_ptr();
/// let a = tape::Array::from(v);
/// assert_eq!((a.shape(), a.data()), (&[3][..], &[1.0, 2.0, 3.0][..]));
/// assert!(std::ptr::eq(a.data().as_ptr(), before)); // the same buffer
/// ```
impl<T: Element> From<DVector<T>> for Array<T> {
    fn from(v: DVector<T>) -> Self {
        let n = v.len();
        Array::from_parts(v.data.into(), Shape::from_slice(&[n]))
    }
}

/// A copy of a nalgebra vector of length `n` as the 1-D array `[n]`. Feature `nalgebra`.
///
/// ```
/// let v = nalgebra::DVector::from_vec(vec![1.0f32, 2.0]);
/// assert_eq!(tape::Array::from(&v).data(), v.as_slice());
/// ```
impl<T: Element> From<&DVector<T>> for Array<T> {
    fn from(v: &DVector<T>) -> Self {
        let mut data = buffers::with_capacity(v.len());
        data.extend_from_slice(v.as_slice());
        Array::from_parts(data, Shape::from_slice(&[v.len()]))
    }
}

/// A 2-D array `[rows, cols]` becomes a nalgebra matrix with `rows` rows and `cols` columns,
/// `m[(i, j)]` being element `[i, j]`. Feature `nalgebra`.
///
/// The elements are copied once, transposed into nalgebra's column-major order; for one row
/// or one column the orders coincide, and the array's buffer is handed over without copying
/// (unless it is shared with a live clone or is a view, as for [`Array::into_vec`]).
///
/// # Errors
/// [`TapeError::InvalidArgument`] if the array is not 2-D (a 1-D array converts to a
/// [`DVector`]).
///
/// ```
/// use tape::{Array, Tape};
/// let tape = Tape::<f64>::new();
/// let w = tape.tensor(Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap());
/// let x = tape.tensor_constant(Array::from_vec(vec![1.0, -1.0, 2.0], &[3, 1]).unwrap());
/// let mut grads = w.matmul(x).sum().backward(); // Σᵢ (Wx)ᵢ: the gradient is 1·xᵀ per row
/// let g = nalgebra::DMatrix::try_from(grads.take(w)).unwrap();
/// assert_eq!(g, nalgebra::DMatrix::from_row_slice(2, 3, &[1.0, -1.0, 2.0, 1.0, -1.0, 2.0]));
///
/// let err = nalgebra::DMatrix::try_from(Array::<f64>::zeros(&[4])).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "DMatrix::try_from: a matrix needs a 2-D array [rows, cols], not 1-D (shape [4])"
/// );
/// ```
impl<T: Element> TryFrom<Array<T>> for DMatrix<T> {
    type Error = TapeError;

    fn try_from(a: Array<T>) -> Result<Self, TapeError> {
        let (rows, cols) = matrix_shape("DMatrix::try_from", &a)?;
        let data = if rows <= 1 || cols <= 1 {
            a.into_vec()
        } else {
            transposed(a.data(), rows, cols)
        };
        Ok(DMatrix::from_vec(rows, cols, data))
    }
}

/// A copy of a 2-D array `[rows, cols]` as a nalgebra matrix, `m[(i, j)]` being element
/// `[i, j]` (transposed into column-major order). Feature `nalgebra`.
///
/// # Errors
/// [`TapeError::InvalidArgument`] if the array is not 2-D.
///
/// ```
/// let a = tape::Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
/// let m = nalgebra::DMatrix::try_from(&a).unwrap();
/// assert_eq!(m.as_slice(), &[1.0, 3.0, 2.0, 4.0]); // column by column
/// assert!(nalgebra::DMatrix::try_from(&tape::Array::scalar(1.0f32)).is_err());
/// ```
impl<T: Element> TryFrom<&Array<T>> for DMatrix<T> {
    type Error = TapeError;

    fn try_from(a: &Array<T>) -> Result<Self, TapeError> {
        let (rows, cols) = matrix_shape("DMatrix::try_from", a)?;
        Ok(DMatrix::from_vec(
            rows,
            cols,
            transposed(a.data(), rows, cols),
        ))
    }
}

/// The error for a conversion to a vector from an array that is not 1-D.
fn not_a_vector(op: &'static str, shape: &[usize]) -> TapeError {
    TapeError::invalid(
        op,
        format!(
            "a vector needs a 1-D array [n], not {}-D (reshape an [n, 1] or [1, n] array first)",
            shape.len()
        ),
        shape,
    )
}

/// A 1-D array `[n]` becomes a nalgebra vector of length `n`; the buffer is handed over
/// without copying (unless it is shared with a live clone or is a view, as for
/// [`Array::into_vec`]). Feature `nalgebra`.
///
/// # Errors
/// [`TapeError::InvalidArgument`] if the array is not 1-D: a column `[n, 1]` or a row
/// `[1, n]` must be reshaped first ([`Array::reshaped`]), so that a matrix is never taken
/// for a vector by accident.
///
/// ```
/// use tape::Array;
/// let a = Array::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
/// let before = a.data().as_ptr();
/// let v = nalgebra::DVector::try_from(a).unwrap();
/// assert_eq!(v.as_slice(), &[1.0, 2.0, 3.0]);
/// assert!(std::ptr::eq(v.as_ptr(), before)); // the same buffer
///
/// let column = Array::<f64>::zeros(&[3, 1]);
/// assert!(nalgebra::DVector::try_from(column.clone()).is_err());
/// assert_eq!(nalgebra::DVector::try_from(column.reshaped(&[3]).unwrap()).unwrap().len(), 3);
/// ```
impl<T: Element> TryFrom<Array<T>> for DVector<T> {
    type Error = TapeError;

    fn try_from(a: Array<T>) -> Result<Self, TapeError> {
        if a.ndim() != 1 {
            return Err(not_a_vector("DVector::try_from", a.shape()));
        }
        Ok(DVector::from_vec(a.into_vec()))
    }
}

/// A copy of a 1-D array `[n]` as a nalgebra vector of length `n`. Feature `nalgebra`.
///
/// # Errors
/// [`TapeError::InvalidArgument`] if the array is not 1-D.
///
/// ```
/// let a = tape::Array::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
/// assert_eq!(nalgebra::DVector::try_from(&a).unwrap().as_slice(), a.data());
/// let err = nalgebra::DVector::try_from(&tape::Array::<f32>::zeros(&[1, 2])).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "DVector::try_from: a vector needs a 1-D array [n], not 2-D \
///      (reshape an [n, 1] or [1, n] array first) (shape [1, 2])"
/// );
/// ```
impl<T: Element> TryFrom<&Array<T>> for DVector<T> {
    type Error = TapeError;

    fn try_from(a: &Array<T>) -> Result<Self, TapeError> {
        if a.ndim() != 1 {
            return Err(not_a_vector("DVector::try_from", a.shape()));
        }
        Ok(DVector::from_column_slice(a.data()))
    }
}
