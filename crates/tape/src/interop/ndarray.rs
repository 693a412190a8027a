//! [`Array`] ↔ `ndarray` (feature `ndarray`).
//!
//! An `Array` is what ndarray calls an array in *standard layout*: one contiguous buffer,
//! row-major ("C order"), no offset. So an `Array` can always be viewed as an
//! [`ArrayViewD`] and handed over as an [`ArrayD`] without copying; in the other direction an
//! ndarray array is taken without copying when it is owned and in standard layout, and copied
//! once, in row-major (logical) order, otherwise — column-major arrays, transposed or strided
//! views, negative strides, broadcast views. Views and borrowed arrays are always copied: an
//! `Array` owns or shares its elements, it never borrows them.
//!
//! | conversion | copies the elements? |
//! | --- | --- |
//! | [`Array::as_ndarray`] | never |
//! | [`Array::into_ndarray`] | only if the buffer is shared with a live clone or is a view ([`Array::rows`]) |
//! | [`Array::to_ndarray`] | always |
//! | `Array::from(ndarray::Array<T, D>)` | only if not in standard layout |
//! | `Array::from(ArcArray<T, D>)` | only if not in standard layout or not the only reference |
//! | `Array::from(ArrayView<T, D>)`, `Array::from(&a)` | always |

use ::ndarray::{ArcArray, ArrayBase, ArrayD, ArrayView, ArrayViewD, Data, Dimension, IxDyn};

use crate::array::buffers;
use crate::{Array, Element, Shape, TapeError};

/// The error for a shape that ndarray cannot represent: an empty array whose non-zero
/// lengths multiply past `isize::MAX` (ndarray requires that product to fit, tapegrad only
/// that the element count does).
fn unrepresentable(op: &'static str, shape: &[usize], e: ::ndarray::ShapeError) -> TapeError {
    TapeError::invalid(op, format!("ndarray cannot hold this shape ({e})"), shape)
}

/// The elements of `a` in row-major (logical) order, in a buffer of their own: one copy of a
/// contiguous slice when `a` is in standard layout, an element-by-element walk otherwise.
fn row_major<T: Element, S: Data<Elem = T>, D: Dimension>(a: &ArrayBase<S, D>) -> Vec<T> {
    let mut data = buffers::with_capacity(a.len());
    match a.as_slice() {
        Some(s) => data.extend_from_slice(s),
        None => data.extend(a.iter().copied()),
    }
    data
}

impl<T: Element> Array<T> {
    /// A view of the array as an [`ndarray::ArrayViewD`](ArrayViewD), without copying: the
    /// view reads this array's buffer (row-major, ndarray's standard layout), so element
    /// `[i, j, …]` of the view is `self.get(&[i, j, …])`. Feature `ndarray`.
    ///
    /// The way to read a gradient as ndarray: `grads.wrt(w).as_ndarray()?`.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if ndarray cannot represent the shape: only an empty
    /// array whose non-zero lengths multiply past `isize::MAX`, such as `[0, usize::MAX]`.
    ///
    /// ```
    /// use tape::Array;
    /// let a = Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let v = a.as_ndarray().unwrap();
    /// assert_eq!(v.shape(), &[2, 3]);
    /// assert_eq!(v[[1, 0]], 4.0);
    /// assert!(std::ptr::eq(v.as_ptr(), a.data().as_ptr())); // not copied
    /// assert_eq!(v.sum_axis(ndarray::Axis(0)).as_slice().unwrap(), &[5.0, 7.0, 9.0]);
    /// ```
    pub fn as_ndarray(&self) -> Result<ArrayViewD<'_, T>, TapeError> {
        ArrayView::from_shape(IxDyn(self.shape()), self.data())
            .map_err(|e| unrepresentable("Array::as_ndarray", self.shape(), e))
    }

    /// The array as an owned [`ndarray::ArrayD`](ArrayD) in standard layout, consuming it.
    /// Feature `ndarray`.
    ///
    /// The buffer is handed over without copying when the array owns it, or shares it
    /// ([`Array::shared`]) with no other clone alive; it is copied when another clone still
    /// refers to it, or when the array is a view of part of another array's buffer
    /// ([`Array::rows`] of a shared array). For a fixed number of dimensions follow it with
    /// ndarray's `into_dimensionality`, which costs nothing.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if ndarray cannot represent the shape: only an empty
    /// array whose non-zero lengths multiply past `isize::MAX`, such as `[0, usize::MAX]`.
    ///
    /// ```
    /// use tape::{Array, Tape};
    /// let tape = Tape::<f64>::new();
    /// let w = tape.tensor(Array::from_vec(vec![1.0, -2.0, 3.0, 0.5], &[2, 2]).unwrap());
    /// let mut grads = (w * w).sum().backward();
    /// let g = grads.take(w).into_ndarray().unwrap(); // the gradient's own buffer
    /// let g = g.into_dimensionality::<ndarray::Ix2>().unwrap();
    /// assert_eq!(g, ndarray::array![[2.0, -4.0], [6.0, 1.0]]); // 2w
    ///
    /// let bad = Array::<f32>::zeros(&[0, usize::MAX]);
    /// let err = bad.into_ndarray().unwrap_err();
    /// assert!(err.to_string().starts_with("Array::into_ndarray: ndarray cannot hold this shape"));
    /// ```
    pub fn into_ndarray(self) -> Result<ArrayD<T>, TapeError> {
        let shape = Shape::from_slice(self.shape());
        ArrayD::from_shape_vec(IxDyn(&shape), self.into_vec())
            .map_err(|e| unrepresentable("Array::into_ndarray", &shape, e))
    }

    /// A copy of the array as an owned [`ndarray::ArrayD`](ArrayD) in standard layout.
    /// Feature `ndarray`. [`Array::as_ndarray`] reads the elements without copying them.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if ndarray cannot represent the shape: only an empty
    /// array whose non-zero lengths multiply past `isize::MAX`, such as `[0, usize::MAX]`.
    ///
    /// ```
    /// use tape::Array;
    /// let a = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// let mut b = a.to_ndarray().unwrap();
    /// b[[0]] = 10.0;
    /// assert_eq!(b.as_slice().unwrap(), &[10.0, 2.0, 3.0]);
    /// assert_eq!(a.data(), &[1.0, 2.0, 3.0]); // a copy
    /// ```
    pub fn to_ndarray(&self) -> Result<ArrayD<T>, TapeError> {
        ArrayD::from_shape_vec(IxDyn(self.shape()), self.data().to_vec())
            .map_err(|e| unrepresentable("Array::to_ndarray", self.shape(), e))
    }
}

/// An owned ndarray array of any dimension becomes an `Array` of the same shape. Feature
/// `ndarray`.
///
/// In standard layout (row-major and contiguous, ndarray's default) its buffer is taken
/// without copying; if the array was sliced in place, its elements are first moved to the
/// front of that buffer, still without allocating. Any other layout (column-major from
/// `.f()` shapes, `reversed_axes`, in-place slicing with steps or reversed axes) is copied
/// once in row-major order, so `Array` element `[i, j, …]` is always ndarray's `[[i, j, …]]`.
///
/// A tensor is recorded from ndarray data with `tape.tensor(x.into())`
/// ([`Tape::tensor`](crate::Tape::tensor)), or `tape.tensor_constant(x.into())` for data
/// that takes no gradient.
///
/// ```
/// use ndarray::ShapeBuilder;
/// use tape::{Array, Tape};
/// let x = ndarray::array![[1.0, 2.0], [3.0, 4.0]];
/// let before = x.as_ptr();
/// let a = Array::from(x);
/// assert_eq!((a.shape(), a.data()), (&[2, 2][..], &[1.0, 2.0, 3.0, 4.0][..]));
/// assert!(std::ptr::eq(a.data().as_ptr(), before)); // the same buffer
///
/// let f = ndarray::Array::from_shape_vec((2, 2).f(), vec![1.0, 3.0, 2.0, 4.0]).unwrap();
/// assert_eq!(Array::from(f).data(), &[1.0, 2.0, 3.0, 4.0]); // column-major: copied
///
/// let tape = Tape::<f64>::new();
/// let w = tape.tensor(ndarray::array![0.5, -1.0].into());
/// assert_eq!((w * w).sum().backward().wrt(w).data(), &[1.0, -2.0]);
/// ```
impl<T: Element, D: Dimension> From<::ndarray::Array<T, D>> for Array<T> {
    fn from(a: ::ndarray::Array<T, D>) -> Self {
        let shape = Shape::from_slice(a.shape());
        if !a.is_standard_layout() {
            return Array::from_parts(row_major(&a), shape);
        }
        // In standard layout the elements lie in order from the logically first one, which
        // is the lowest address: `offset` from the buffer's start (none when empty).
        let len = a.len();
        let (mut data, offset) = a.into_raw_vec_and_offset();
        let start = offset.unwrap_or(0);
        data.truncate(start + len);
        data.drain(..start);
        Array::from_parts(data, shape)
    }
}

/// A reference-counted ndarray array becomes an `Array` of the same shape. Feature
/// `ndarray`.
///
/// When this is the only reference and the array is in standard layout, its buffer is taken
/// without copying (as for an owned array); otherwise the elements are copied once, in
/// row-major order, and the other references keep theirs.
///
/// ```
/// use tape::Array;
/// let shared = ndarray::array![[1.0f32, 2.0], [3.0, 4.0]].into_shared();
/// let other = shared.clone();
/// let a = Array::from(shared); // `other` still refers to the buffer: copied
/// assert_eq!(a.data(), &[1.0, 2.0, 3.0, 4.0]);
/// let before = other.as_ptr();
/// let b = Array::from(other); // the last reference: taken as it is
/// assert!(std::ptr::eq(b.data().as_ptr(), before));
/// ```
impl<T: Element, D: Dimension> From<ArcArray<T, D>> for Array<T> {
    fn from(a: ArcArray<T, D>) -> Self {
        if a.is_unique() && a.is_standard_layout() {
            Array::from(a.into_owned())
        } else {
            Array::from_parts(row_major(&a), Shape::from_slice(a.shape()))
        }
    }
}

/// An ndarray view becomes an `Array` of the same shape, by copying its elements in row-major
/// (logical) order: one copy of a slice in standard layout, an element-by-element walk for
/// other strides (a transposed view `.t()`, a strided or reversed slice, a broadcast view).
/// Feature `ndarray`.
///
/// ```
/// use ndarray::s;
/// use tape::Array;
/// let x = ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let t = Array::from(x.t()); // the transpose, [3, 2]
/// assert_eq!((t.shape(), t.data()), (&[3, 2][..], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0][..]));
/// let r = Array::from(x.slice(s![.., ..;-2])); // columns 2 and 0
/// assert_eq!(r.data(), &[3.0, 1.0, 6.0, 4.0]);
/// ```
impl<T: Element, D: Dimension> From<ArrayView<'_, T, D>> for Array<T> {
    fn from(a: ArrayView<'_, T, D>) -> Self {
        Array::from(&a)
    }
}

/// A copy of any ndarray array (owned, view, shared) as an `Array` of the same shape, in
/// row-major (logical) order. Feature `ndarray`.
///
/// ```
/// use tape::Array;
/// let x = ndarray::Array3::<f64>::from_shape_fn((2, 3, 4), |(i, j, k)| (100 * i + 10 * j + k) as f64);
/// let a = Array::from(&x);
/// assert_eq!(a.shape(), &[2, 3, 4]);
/// assert_eq!(a.get(&[1, 2, 3]), 123.0);
/// assert_eq!(x.len(), 24); // still there
/// ```
impl<T: Element, S: Data<Elem = T>, D: Dimension> From<&ArrayBase<S, D>> for Array<T> {
    fn from(a: &ArrayBase<S, D>) -> Self {
        Array::from_parts(row_major(a), Shape::from_slice(a.shape()))
    }
}

/// [`Array::into_ndarray`], as a conversion. Feature `ndarray`.
///
/// ```
/// use tape::Array;
/// let a = Array::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let x = ndarray::ArrayD::try_from(a).unwrap();
/// assert_eq!(x.as_slice().unwrap(), &[1.0, 2.0]);
/// ```
impl<T: Element> TryFrom<Array<T>> for ArrayD<T> {
    type Error = TapeError;

    fn try_from(a: Array<T>) -> Result<Self, TapeError> {
        a.into_ndarray()
    }
}

/// [`Array::as_ndarray`], as a conversion. Feature `ndarray`.
///
/// ```
/// use tape::Array;
/// let a = Array::scalar(2.5f32);
/// let v = ndarray::ArrayViewD::try_from(&a).unwrap();
/// assert_eq!((v.ndim(), v.first()), (0, Some(&2.5)));
/// ```
impl<'a, T: Element> TryFrom<&'a Array<T>> for ArrayViewD<'a, T> {
    type Error = TapeError;

    fn try_from(a: &'a Array<T>) -> Result<Self, TapeError> {
        a.as_ndarray()
    }
}
