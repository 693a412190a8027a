//! [`Array`]: a plain contiguous row-major array, the value of every tensor node.

pub(crate) mod buffers;
mod kernels;
mod storage;

pub(crate) use kernels::{pairwise_sum, row_period};

use std::fmt;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::shape::numel;
use crate::{Element, Shape, TapeError};
use storage::Storage;

/// A plain n-dimensional array: a `Vec<T>` in row-major order plus its shape.
///
/// Tensor values on a tape are `Array`s, gradients come back as `Array`s, and arrays go in and
/// out of the tape without copies beyond the one the tape must own.
///
/// ```
/// use tape::Array;
/// let a = Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
/// assert_eq!(a.shape(), &[2, 3]);
/// assert_eq!(a.get(&[1, 0]), 4.0);
/// assert!(Array::<f64>::from_vec(vec![1.0; 5], &[2, 3]).is_err());
/// ```
pub struct Array<T: Element> {
    data: Storage<T>,
    shape: Shape,
}

impl<T: Element> PartialEq for Array<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && *self.data == *other.data
    }
}

/// An error naming `op` unless `len` elements fill `shape` exactly.
fn check_len(op: &'static str, len: usize, shape: &[usize]) -> Result<(), TapeError> {
    if len == numel(shape) {
        return Ok(());
    }
    Err(TapeError::invalid(
        op,
        format!(
            "data has {len} elements but the shape needs {}",
            numel(shape)
        ),
        shape,
    ))
}

impl<T: Element> Clone for Array<T> {
    /// A copy of the elements, or for a [shared](Array::shared) array a new reference to them.
    fn clone(&self) -> Self {
        Array {
            data: self.data.duplicate(),
            shape: self.shape.clone(),
        }
    }
}

impl<T: Element> Drop for Array<T> {
    /// Large buffers go to this thread's buffer cache, for the next array of their size.
    #[inline]
    fn drop(&mut self) {
        if let Some(buf) = self.data.release() {
            if buf.capacity() >= buffers::MIN_LEN {
                buffers::recycle(buf);
            }
        }
    }
}

impl<T: Element> Array<T> {
    /// Wraps `data` (row-major) as an array of `shape`.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if `data.len()` is not the product of `shape`.
    ///
    /// ```
    /// use tape::Array;
    /// let a = Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!(a.get(&[1, 2]), 6.0); // row-major: flat index 1·3 + 2 = 5
    /// assert!(Array::from_vec(vec![1.0f64; 5], &[2, 3]).is_err());
    /// ```
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self, TapeError> {
        check_len("Array::from_vec", data.len(), shape)?;
        Ok(Array {
            data: data.into(),
            shape: Shape::from_slice(shape),
        })
    }

    /// Copies `data` (row-major) into an array of `shape`, into a recycled buffer where one
    /// fits: the way to take a batch out of a larger data set each step without allocating.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if `data.len()` is not the product of `shape`.
    ///
    /// ```
    /// let rows = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let batch = tape::Array::from_slice(&rows[2..6], &[2, 2]).unwrap();
    /// assert_eq!(batch.get(&[1, 0]), 5.0);
    /// assert!(tape::Array::from_slice(&rows, &[4]).is_err());
    /// ```
    pub fn from_slice(data: &[T], shape: &[usize]) -> Result<Self, TapeError> {
        check_len("Array::from_slice", data.len(), shape)?;
        let mut buf = buffers::with_capacity(data.len());
        buf.extend_from_slice(data);
        Ok(Array::from_parts(buf, Shape::from_slice(shape)))
    }

    /// The rows (entries along the first axis) at `indices`, in that order, as a new array of
    /// `indices.len()` rows: how a shuffled mini-batch is gathered from a data set. The result
    /// is built in a recycled buffer where one fits.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the array is 0-dimensional or an index is out of
    /// range.
    ///
    /// ```
    /// let data = tape::Array::from_vec(vec![0.0f32, 1.0, 10.0, 11.0, 20.0, 21.0], &[3, 2]).unwrap();
    /// let batch = data.select_rows(&[2, 0]).unwrap();
    /// assert_eq!((batch.shape(), batch.data()), (&[2, 2][..], &[20.0, 21.0, 0.0, 1.0][..]));
    /// assert!(data.select_rows(&[3]).is_err());
    /// ```
    pub fn select_rows(&self, indices: &[usize]) -> Result<Self, TapeError> {
        const OP: &str = "Array::select_rows";
        let n = self.row_count(OP)?;
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(TapeError::invalid(
                OP,
                format!("row {bad} is out of range for {n} rows"),
                &self.shape,
            ));
        }
        Ok(self.index_select(indices))
    }

    /// The rows (entries along the first axis) `range.start..range.end`, as a new array: how
    /// a mini-batch is taken from a data set held in order. For a [shared](Array::shared)
    /// array the result refers to the same elements (a view, like PyTorch's `x[i:j]`; it is
    /// copied only if changed); otherwise the rows are copied.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the array is 0-dimensional or the range is reversed
    /// or runs past the last row.
    ///
    /// ```
    /// let data = tape::Array::from_vec(vec![0.0f32, 1.0, 10.0, 11.0, 20.0, 21.0], &[3, 2])
    ///     .unwrap()
    ///     .shared();
    /// let batch = data.rows(1..3).unwrap();
    /// assert_eq!((batch.shape(), batch.data()), (&[2, 2][..], &[10.0, 11.0, 20.0, 21.0][..]));
    /// assert!(std::ptr::eq(batch.data().as_ptr(), &data.data()[2])); // not copied
    /// assert!(data.rows(2..4).is_err());
    /// ```
    pub fn rows(&self, range: std::ops::Range<usize>) -> Result<Self, TapeError> {
        const OP: &str = "Array::rows";
        let n = self.row_count(OP)?;
        if range.start > range.end || range.end > n {
            return Err(TapeError::invalid(
                OP,
                format!("rows {range:?} are out of range for {n} rows"),
                &self.shape,
            ));
        }
        let row = self.shape[1..].iter().product::<usize>();
        let mut shape = self.shape.clone();
        shape[0] = range.len();
        Ok(Array {
            data: self.data.range(range.start * row, range.len() * row),
            shape,
        })
    }

    /// The length of the first axis, or an error naming `op` for a 0-dimensional array.
    fn row_count(&self, op: &'static str) -> Result<usize, TapeError> {
        self.shape
            .first()
            .copied()
            .ok_or_else(|| TapeError::invalid(op, "a 0-dimensional array has no rows", &self.shape))
    }

    /// A 0-dimensional array holding one value.
    ///
    /// ```
    /// let a = tape::Array::scalar(2.5f32);
    /// assert_eq!(a.shape(), &[] as &[usize]);
    /// assert_eq!(a.data(), &[2.5]);
    /// ```
    pub fn scalar(v: T) -> Self {
        Array {
            data: vec![v].into(),
            shape: Shape::new(),
        }
    }

    /// An array of `shape` filled with `v`.
    ///
    /// ```
    /// let a = tape::Array::full(&[2, 2], 7.0f64);
    /// assert_eq!(a.data(), &[7.0; 4]);
    /// ```
    pub fn full(shape: &[usize], v: T) -> Self {
        Array {
            data: buffers::filled(numel(shape), v).into(),
            shape: Shape::from_slice(shape),
        }
    }

    /// An array of zeros.
    ///
    /// ```
    /// assert_eq!(tape::Array::<f32>::zeros(&[3]).data(), &[0.0; 3]);
    /// ```
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// An array of ones.
    ///
    /// ```
    /// assert_eq!(tape::Array::<f32>::ones(&[2]).data(), &[1.0; 2]);
    /// ```
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// Independent uniform samples in `[low, high)`, deterministic for a seed (ChaCha8).
    ///
    /// ```
    /// let a = tape::Array::<f64>::rand_uniform(&[100], -1.0, 1.0, 7);
    /// assert!(a.data().iter().all(|&v| (-1.0..1.0).contains(&v)));
    /// assert_eq!(a, tape::Array::rand_uniform(&[100], -1.0, 1.0, 7));
    /// ```
    pub fn rand_uniform(shape: &[usize], low: T, high: T, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let dist = rand_distr::Uniform::new(low.as_f64(), high.as_f64()).unwrap_or_else(|_| {
            rand_distr::Uniform::new_inclusive(low.as_f64(), low.as_f64()).expect("uniform")
        });
        let data = (0..numel(shape))
            .map(|_| T::cast_from(dist.sample(&mut rng)))
            .map(|v| if v >= high && high > low { low } else { v })
            .collect();
        Array {
            data,
            shape: Shape::from_slice(shape),
        }
    }

    /// Independent normal samples with the given mean and standard deviation, deterministic for
    /// a seed (ChaCha8).
    ///
    /// ```
    /// let a = tape::Array::<f64>::rand_normal(&[10_000], 1.0, 2.0, 3);
    /// let mean = a.data().iter().sum::<f64>() / 10_000.0;
    /// assert!((mean - 1.0).abs() < 0.1);
    /// ```
    pub fn rand_normal(shape: &[usize], mean: T, std: T, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data = (0..numel(shape))
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                mean + std * T::cast_from(z)
            })
            .collect();
        Array {
            data,
            shape: Shape::from_slice(shape),
        }
    }

    /// The shape.
    ///
    /// ```
    /// let a = tape::Array::<f64>::zeros(&[2, 3, 4]);
    /// assert_eq!(a.shape(), &[2, 3, 4]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    ///
    /// ```
    /// assert_eq!(tape::Array::<f64>::zeros(&[2, 3, 4]).ndim(), 3);
    /// assert_eq!(tape::Array::scalar(1.0f64).ndim(), 0);
    /// ```
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    ///
    /// ```
    /// assert_eq!(tape::Array::<f64>::zeros(&[2, 3, 4]).len(), 24);
    /// assert_eq!(tape::Array::scalar(1.0f64).len(), 1); // a 0-d array holds one value
    /// ```
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the array has no elements (some dimension is 0).
    ///
    /// ```
    /// assert!(tape::Array::<f64>::zeros(&[3, 0]).is_empty());
    /// assert!(!tape::Array::<f64>::zeros(&[]).is_empty()); // 0-d: one element
    /// ```
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in row-major order.
    ///
    /// ```
    /// let a = tape::Array::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(a.data(), &[1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(a.data()[2], a.get(&[1, 0]));
    /// ```
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, mutably.
    ///
    /// ```
    /// let mut a = tape::Array::<f64>::zeros(&[2, 2]);
    /// a.data_mut()[3] = 5.0;
    /// assert_eq!(a.get(&[1, 1]), 5.0);
    /// ```
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data.make_mut()
    }

    /// The elements, consuming the array.
    ///
    /// ```
    /// let a = tape::Array::from_vec(vec![1.0f32, 2.0], &[1, 2]).unwrap();
    /// assert_eq!(a.into_vec(), vec![1.0, 2.0]);
    /// ```
    pub fn into_vec(mut self) -> Vec<T> {
        self.data.take_vec()
    }

    /// The array with its elements shared among its clones until one of them is changed: a
    /// clone is then a new reference, not a copy, and [`Array::data_mut`] copies only while
    /// another clone is alive. Models keep their parameters shared, so that binding them onto
    /// a tape each step copies nothing.
    ///
    /// ```
    /// let mut a = tape::Array::from_vec(vec![1.0f32, 2.0], &[2]).unwrap().shared();
    /// let b = a.clone();
    /// assert!(a.is_shared() && std::ptr::eq(a.data(), b.data()));
    /// a.data_mut()[0] = 5.0; // `b` still refers to the elements: `a` gets a copy first
    /// assert_eq!((a.data(), b.data()), (&[5.0, 2.0][..], &[1.0, 2.0][..]));
    /// drop(b);
    /// let before = a.data().as_ptr();
    /// a.data_mut()[1] = 6.0; // no other reference: changed in place
    /// assert_eq!((a.data().as_ptr(), a.data()), (before, &[5.0, 6.0][..]));
    /// ```
    pub fn shared(mut self) -> Self {
        let data = std::mem::replace(&mut self.data, Storage::Owned(Vec::new()));
        Array {
            data: data.into_shared(),
            shape: self.shape.clone(),
        }
    }

    /// Whether the elements are shared among clones (see [`Array::shared`]).
    pub fn is_shared(&self) -> bool {
        self.data.is_shared()
    }

    /// The element at a multi-index.
    ///
    /// # Panics
    /// If the index has the wrong rank or is out of range.
    ///
    /// ```
    /// let a = tape::Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
    /// assert_eq!(a.get(&[0, 1]), 2.0);
    /// assert_eq!(a.get(&[2, 1]), 6.0);
    /// ```
    pub fn get(&self, index: &[usize]) -> T {
        assert_eq!(
            index.len(),
            self.shape.len(),
            "Array::get: index {index:?} has the wrong rank for shape {:?}",
            self.shape
        );
        let mut flat = 0;
        for (&i, &d) in index.iter().zip(&self.shape) {
            assert!(
                i < d,
                "Array::get: index {index:?} out of range for shape {:?}",
                self.shape
            );
            flat = flat * d + i;
        }
        self.data[flat]
    }

    /// The same data under another shape with the same number of elements.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the element counts differ.
    ///
    /// ```
    /// let a = tape::Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let b = a.clone().reshaped(&[3, 2]).unwrap();
    /// assert_eq!(b.data(), a.data());
    /// assert_eq!(b.get(&[1, 0]), 3.0); // flat index 1·2 + 0 = 2
    /// assert!(a.reshaped(&[4]).is_err());
    /// ```
    pub fn reshaped(mut self, shape: &[usize]) -> Result<Self, TapeError> {
        if numel(shape) != self.data.len() {
            return Err(TapeError::shape(
                "reshape",
                "element counts differ",
                &self.shape,
                shape,
            ));
        }
        self.shape = Shape::from_slice(shape);
        Ok(self)
    }

    /// Applies `f` to every element.
    ///
    /// ```
    /// let a = tape::Array::from_vec(vec![1.0f64, 4.0], &[2]).unwrap();
    /// assert_eq!(a.map(f64::sqrt).data(), &[1.0, 2.0]);
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        let mut data = buffers::with_capacity(self.data.len());
        data.extend(self.data.iter().map(|&v| f(v)));
        Array {
            data: data.into(),
            shape: self.shape.clone(),
        }
    }

    /// Calls `f(a, b)` for every element `a` of `self` and the element `b` at the same place
    /// in `other`, changing `self` in place: an optimiser's update, say. Arrays of 2¹⁵
    /// elements or more are split across [`num_threads`](crate::num_threads) threads, so `f`
    /// must not depend on the order in which elements are visited. A [shared](Array::shared)
    /// array still referred to elsewhere gets new elements (the other references keep the
    /// old ones), written in the same pass that reads the old: no separate copy.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes differ; `self` is then left unchanged.
    ///
    /// ```
    /// use tape::Array;
    /// let mut w = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
    /// let g = Array::from_vec(vec![10.0, 20.0, 30.0], &[3]).unwrap();
    /// w.zip_mut_with(&g, |w, g| *w -= 0.1 * g).unwrap(); // a step of SGD
    /// assert_eq!(w.data(), &[0.0, 0.0, 0.0]);
    /// let err = w.zip_mut_with(&Array::zeros(&[2]), |_, _| {}).unwrap_err();
    /// assert_eq!(err.to_string(), "zip_mut_with: shapes differ: lhs [3], rhs [2]");
    /// ```
    pub fn zip_mut_with(
        &mut self,
        other: &Array<T>,
        f: impl Fn(&mut T, T) + Sync,
    ) -> Result<(), TapeError> {
        self.update("zip_mut_with", other, [], |a, b, []| f(a, b))
    }

    /// The first element that is NaN or infinite, with its index, or `None` when all are
    /// finite. Checked in blocks whose test vectorises, so a finite array costs one quick
    /// pass (a training loop can afford it every step).
    ///
    /// ```
    /// use tape::Array;
    /// let a = Array::from_vec(vec![1.0f32, f32::INFINITY, f32::NAN], &[3]).unwrap();
    /// assert_eq!(a.first_non_finite(), Some((1, f32::INFINITY)));
    /// assert_eq!(Array::<f64>::zeros(&[4]).first_non_finite(), None);
    /// ```
    pub fn first_non_finite(&self) -> Option<(usize, T)> {
        const BLOCK: usize = 256;
        self.data
            .chunks(BLOCK)
            .enumerate()
            // `&`, not `&&`: no early exit inside a block, so the test runs on whole vectors.
            .find(|(_, block)| !block.iter().fold(true, |ok, v| ok & v.is_finite()))
            .and_then(|(b, block)| {
                let i = block.iter().position(|v| !v.is_finite())?;
                Some((b * BLOCK + i, block[i]))
            })
    }

    /// [`zip_mut_with`](Array::zip_mut_with) with state: `f(a, b, [s₀, …])` also gets, and
    /// may change, the element at the same place of each slice of `state` — an optimiser's
    /// running averages (momentum, Adam's moments), kept beside the parameter. Split across
    /// threads and written without a separate copy of a shared `self` in the same way.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if the shapes differ or a slice of `state` does not have
    /// one element per element of `self`; nothing is changed then.
    ///
    /// ```
    /// use tape::Array;
    /// // SGD with momentum 0.9: the velocity v lives beside w.
    /// let mut w = Array::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
    /// let mut v = vec![0.5, 0.0];
    /// let g = Array::from_vec(vec![1.0, 1.0], &[2]).unwrap();
    /// w.zip_mut_with_state(&g, [&mut v], |w, g, [v]| {
    ///     *v = 0.9 * *v + g;
    ///     *w -= 0.1 * *v;
    /// })
    /// .unwrap();
    /// assert_eq!(v, [1.45, 1.0]);
    /// assert_eq!(w.data(), &[1.0 - 0.145, 2.0 - 0.1]);
    /// let err = w.zip_mut_with_state(&g, [&mut vec![0.0; 3]], |_, _, _| {}).unwrap_err();
    /// assert_eq!(err.to_string(), "zip_mut_with_state: state 0 does not fit: lhs [2], rhs [3]");
    /// ```
    pub fn zip_mut_with_state<const S: usize>(
        &mut self,
        other: &Array<T>,
        state: [&mut [T]; S],
        f: impl Fn(&mut T, T, [&mut T; S]) + Sync,
    ) -> Result<(), TapeError> {
        self.update("zip_mut_with_state", other, state, f)
    }

    fn update<const S: usize>(
        &mut self,
        op: &'static str,
        other: &Array<T>,
        state: [&mut [T]; S],
        f: impl Fn(&mut T, T, [&mut T; S]) + Sync,
    ) -> Result<(), TapeError> {
        if self.shape != other.shape {
            return Err(TapeError::shape(
                op,
                "shapes differ",
                &self.shape,
                &other.shape,
            ));
        }
        let n = self.len();
        if let Some(i) = state.iter().position(|s| s.len() != n) {
            const WHAT: [&str; 4] = [
                "state 0 does not fit",
                "state 1 does not fit",
                "state 2 does not fit",
                "state 3 does not fit",
            ];
            let what = WHAT.get(i).copied().unwrap_or("a state slice does not fit");
            return Err(TapeError::shape(op, what, &[n], &[state[i].len()]));
        }
        // Elements another array still refers to are read from where they are and the
        // results written to a buffer of this array's own (shared again afterwards if they
        // were shared, so that binding it to a tape stays a reference count).
        let old = if self.data.is_unique() {
            None
        } else {
            let was_shared = self.data.is_shared();
            let fresh = Storage::Owned(buffers::scratch(n));
            Some((std::mem::replace(&mut self.data, fresh), was_shared))
        };
        let src = old.as_ref().map(|(s, _)| &**s);
        let others = other.data();
        crate::parallel::for_chunks_with(self.data.make_mut(), state, 1, |start, out, st| {
            let end = start + out.len();
            update_chunk(
                out,
                src.map(|s| &s[start..end]),
                &others[start..end],
                st,
                &f,
            );
        });
        if let Some((_, true)) = old {
            let data = std::mem::replace(&mut self.data, Storage::Owned(Vec::new()));
            self.data = data.into_shared();
        }
        Ok(())
    }
    /// Matrix product of two 2-D arrays, `[m, k]·[k, n] → [m, n]`: the kernel behind
    /// [`Tensor::matmul`](crate::Tensor::matmul), without a tape.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if either array is not 2-D or the inner dimensions differ.
    ///
    /// ```
    /// use tape::Array;
    /// let a = Array::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let b = Array::from_vec(vec![1.0, 0.0, 0.0, 2.0], &[2, 2]).unwrap();
    /// assert_eq!(a.matmul(&b).unwrap().data(), &[1.0, 4.0, 3.0, 8.0]);
    /// assert!(a.matmul(&Array::zeros(&[3, 1])).is_err());
    /// ```
    pub fn matmul(&self, other: &Array<T>) -> Result<Array<T>, TapeError> {
        if self.ndim() != 2 || other.ndim() != 2 {
            return Err(TapeError::shape(
                "matmul",
                "operands must be 2-D",
                &self.shape,
                &other.shape,
            ));
        }
        if self.shape[1] != other.shape[0] {
            return Err(TapeError::shape(
                "matmul",
                "inner dimensions differ",
                &self.shape,
                &other.shape,
            ));
        }
        Ok(self.matmul_t(false, other, false))
    }

    /// Largest absolute difference to another array of the same shape (`inf` if the shapes
    /// differ). Handy in tests.
    ///
    /// ```
    /// let a = tape::Array::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
    /// let b = tape::Array::from_vec(vec![1.5f64, 2.0], &[2]).unwrap();
    /// assert_eq!(a.max_abs_diff(&b), 0.5);
    /// ```
    pub fn max_abs_diff(&self, other: &Array<T>) -> f64 {
        if self.shape != other.shape {
            return f64::INFINITY;
        }
        self.data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a.as_f64() - b.as_f64()).abs())
            .fold(0.0, f64::max)
    }

    /// Converts the elements to another element type.
    ///
    /// ```
    /// let a = tape::Array::from_vec(vec![0.5f64], &[1]).unwrap();
    /// assert_eq!(a.cast::<f32>().data(), &[0.5f32]);
    /// ```
    pub fn cast<U: Element>(&self) -> Array<U> {
        Array {
            data: Storage::Owned(self.data.iter().map(|v| U::cast_from(v.as_f64())).collect()),
            shape: self.shape.clone(),
        }
    }

    pub(crate) fn from_parts(data: Vec<T>, shape: Shape) -> Self {
        debug_assert_eq!(data.len(), numel(&shape));
        Array {
            data: Storage::Owned(data),
            shape,
        }
    }
}

/// [`update_block`], compiled for AVX where the processor has it: an optimiser's update is
/// often bound by its square roots and divisions (Adam's), which AVX does eight at a time
/// instead of four. The results are the same bit for bit: each lane does the same IEEE
/// operations, and nothing is fused.
fn update_chunk<T: Element, const S: usize>(
    out: &mut [T],
    src: Option<&[T]>,
    others: &[T],
    state: [&mut [T]; S],
    f: &impl Fn(&mut T, T, [&mut T; S]),
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: `update_block_avx` is safe code compiled with AVX enabled; calling it is
        // sound on a processor that has AVX, which was checked just above.
        return unsafe { update_block_avx(out, src, others, state, f) };
    }
    update_block(out, src, others, state, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn update_block_avx<T: Element, const S: usize>(
    out: &mut [T],
    src: Option<&[T]>,
    others: &[T],
    state: [&mut [T]; S],
    f: &impl Fn(&mut T, T, [&mut T; S]),
) {
    update_block(out, src, others, state, f)
}

/// `f(out[i], others[i], [state[0][i], …])` for every `i` of equally long slices, `out[i]`
/// starting from `src[i]` when there is a `src` (and from its own value otherwise).
#[inline(always)]
fn update_block<T: Element, const S: usize>(
    out: &mut [T],
    src: Option<&[T]>,
    others: &[T],
    mut state: [&mut [T]; S],
    f: &impl Fn(&mut T, T, [&mut T; S]),
) {
    let n = out.len();
    assert!(others.len() == n && state.iter().all(|s| s.len() == n));
    match src {
        None => {
            for (i, (a, &b)) in out.iter_mut().zip(others).enumerate() {
                f(a, b, state.each_mut().map(|s| &mut s[i]));
            }
        }
        Some(src) => {
            assert!(src.len() == n);
            for (i, ((o, &a), &b)) in out.iter_mut().zip(src).zip(others).enumerate() {
                let mut a = a;
                f(&mut a, b, state.each_mut().map(|s| &mut s[i]));
                *o = a;
            }
        }
    }
}

impl<T: Element> fmt::Debug for Array<T> {
    /// Prints the shape and the elements (the first 8 and the last 2 of a long array).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Array{:?} ", self.shape.as_slice())?;
        write_summary(f, &self.data)
    }
}

impl<T: Element> fmt::Display for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Writes `[a, b, c, …, y, z]` with at most ten numbers.
pub(crate) fn write_summary<T: Element>(f: &mut impl fmt::Write, data: &[T]) -> fmt::Result {
    write!(f, "[")?;
    let n = data.len();
    for (i, v) in data.iter().enumerate() {
        if n > 10 && i == 8 {
            write!(f, ", …")?;
        }
        if n > 10 && (8..n - 2).contains(&i) {
            continue;
        }
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{}", fmt_num(v.as_f64()))?;
    }
    write!(f, "]")
}

/// A number in at most about five significant digits.
pub(crate) fn fmt_num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e5).contains(&v.abs()) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".to_string()
        } else {
            s.to_string()
        }
    } else if v.is_finite() {
        format!("{v:.3e}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adam's rule with PyTorch's arrangement (two divisions and a square root per element).
    fn adam<T: Element>(p: &mut T, g: T, [m, v]: [&mut T; 2]) {
        let c = |x: f64| T::cast_from(x);
        *m = c(0.9) * *m + c(0.1) * g;
        *v = c(0.999) * *v + c(0.001) * g * g;
        let denom = num_traits::Float::sqrt(*v) / c(0.3) + c(1e-8);
        *p -= c(0.01) * *m / denom;
    }

    fn check_avx_equals_plain<T: Element>() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // Lengths that leave every kind of tail after the vector loop.
            for n in [0, 1, 7, 8, 9, 31, 1000, 1027] {
                let rand = |seed| {
                    Array::<T>::rand_uniform(&[n], -T::one(), T::one(), seed)
                        .data()
                        .to_vec()
                };
                let (p0, g, m0) = (rand(1), rand(2), rand(3));
                let v0: Vec<T> = rand(4).iter().map(|x| *x * *x).collect();
                for with_src in [false, true] {
                    let run = |avx: bool| {
                        let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
                        let src = with_src.then(|| p0.iter().map(|&x| x + x).collect::<Vec<T>>());
                        let src = src.as_deref();
                        if avx {
                            // SAFETY: the processor has AVX (checked above).
                            unsafe { update_block_avx(&mut p, src, &g, [&mut m, &mut v], &adam) }
                        } else {
                            update_block(&mut p, src, &g, [&mut m, &mut v], &adam)
                        }
                        let bits =
                            |xs: &[T]| xs.iter().map(|x| x.as_f64().to_bits()).collect::<Vec<_>>();
                        (bits(&p), bits(&m), bits(&v))
                    };
                    assert_eq!(run(true), run(false), "{} n = {n}, src {with_src}", T::NAME);
                }
            }
        }
    }

    #[test]
    fn the_avx_update_equals_the_plain_one_bit_for_bit() {
        check_avx_equals_plain::<f32>();
        check_avx_equals_plain::<f64>();
    }
}
