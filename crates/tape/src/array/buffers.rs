//! A per-thread cache of large array buffers, so that a training loop, which builds arrays of
//! the same sizes every step, reuses their memory instead of asking the allocator (and, for
//! large buffers, the kernel: fresh pages fault in one by one) each time.
//!
//! An [`Array`](super::Array) of at least [`MIN_LEN`] elements hands its buffer to the cache of
//! the thread that drops it; kernels take buffers from there first. The cache holds at most
//! [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes per element type and thread, dropping the
//! oldest beyond that, so its memory stays bounded whatever the program does. Small arrays
//! bypass it entirely: they cost one length check.
//!
//! Each element type has a cache of its own on each thread; [`Cached`] says where it is.

use std::cell::RefCell;
use std::thread::LocalKey;

use num_traits::Zero;

/// An element type with a cache of buffers on every thread.
///
/// A supertrait of [`Element`](crate::Element), implemented for `f32` and `f64` here and
/// nowhere else: the trait is public only so that a public trait may name it, and this module
/// is private, so no type outside the crate can implement it (which seals `Element`).
pub trait Cached: Copy + Zero + 'static {
    /// This thread's cache of buffers of this type.
    fn cache() -> &'static LocalKey<RefCell<BufferCache<Self>>>;
}

macro_rules! impl_cached {
    ($($t:ty),*) => {$(
        impl Cached for $t {
            fn cache() -> &'static LocalKey<RefCell<BufferCache<$t>>> {
                thread_local! {
                    static CACHE: RefCell<BufferCache<$t>> = RefCell::new(BufferCache::default());
                }
                &CACHE
            }
        }
    )*};
}

impl_cached!(f32, f64);

/// Buffers shorter than this (in elements) are left to the allocator.
pub(crate) const MIN_LEN: usize = 1024;

/// Most buffers kept per element type and thread.
pub(crate) const MAX_BUFFERS: usize = 64;

/// Most bytes kept per element type and thread.
pub(crate) const MAX_BYTES: usize = 64 << 20;

/// The cached buffers of one element type on one thread, oldest first. They keep the length
/// and the (stale) contents they had, so that a kernel which overwrites every element can take
/// one without clearing it first ([`scratch`]).
#[derive(Default)]
pub struct BufferCache<T> {
    buffers: Vec<Vec<T>>,
    bytes: usize,
}

impl<T> BufferCache<T> {
    /// The smallest cached buffer with room for `n` elements and at most a quarter more.
    fn take(&mut self, n: usize) -> Option<Vec<T>> {
        let fits = |cap: usize| cap >= n && cap - n <= n / 4;
        let (i, _) = self
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| fits(b.capacity()))
            .min_by_key(|(_, b)| b.capacity())?;
        let buf = self.buffers.swap_remove(i);
        self.bytes -= buf.capacity() * size_of::<T>();
        Some(buf)
    }

    /// The smallest cached buffer holding at least `n` (initialised) elements, and at most a
    /// quarter more, cut to `n`.
    fn take_initialised(&mut self, n: usize) -> Option<Vec<T>> {
        let fits = |len: usize| len >= n && len - n <= n / 4;
        let (i, _) = self
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| fits(b.len()))
            .min_by_key(|(_, b)| b.len())?;
        let mut buf = self.buffers.swap_remove(i);
        self.bytes -= buf.capacity() * size_of::<T>();
        buf.truncate(n);
        Some(buf)
    }

    fn give(&mut self, buf: Vec<T>) {
        let size = buf.capacity() * size_of::<T>();
        if size > MAX_BYTES {
            return;
        }
        while self.buffers.len() >= MAX_BUFFERS || self.bytes + size > MAX_BYTES {
            let old = self.buffers.remove(0);
            self.bytes -= old.capacity() * size_of::<T>();
        }
        self.bytes += size;
        self.buffers.push(buf);
    }
}

/// An empty `Vec` with room for `n` elements, from the cache when it has one.
#[inline]
pub(crate) fn with_capacity<T: Cached>(n: usize) -> Vec<T> {
    if n < MIN_LEN {
        return Vec::with_capacity(n);
    }
    T::cache()
        .try_with(|c| c.try_borrow_mut().ok().and_then(|mut c| c.take(n)))
        .ok()
        .flatten()
        .map(|mut buf: Vec<T>| {
            buf.clear();
            buf
        })
        .unwrap_or_else(|| Vec::with_capacity(n))
}

/// `n` elements of unspecified value (zeros, or what a recycled buffer held), for a kernel
/// that overwrites every one of them.
#[inline]
pub(crate) fn scratch<T: Cached>(n: usize) -> Vec<T> {
    if n >= MIN_LEN {
        let reused = T::cache()
            .try_with(|c| {
                c.try_borrow_mut()
                    .ok()
                    .and_then(|mut c| c.take_initialised(n))
            })
            .ok()
            .flatten();
        if let Some(buf) = reused {
            return buf;
        }
    }
    vec![T::zero(); n]
}

/// `n` copies of `v`, in a buffer from the cache when it has one.
#[inline]
pub(crate) fn filled<T: Cached>(n: usize, v: T) -> Vec<T> {
    let mut buf = with_capacity(n);
    buf.resize(n, v);
    buf
}

/// Gives a buffer back to this thread's cache (or to the allocator if it is small, or the
/// thread is shutting down).
#[inline]
pub(crate) fn recycle<T: Cached>(buf: Vec<T>) {
    if buf.capacity() < MIN_LEN {
        return;
    }
    let _ = T::cache().try_with(move |c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            c.give(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_reused_for_the_next_array_of_its_size() {
        let a = filled::<f64>(5000, 1.0);
        let ptr = a.as_ptr();
        recycle(a);
        let b = with_capacity::<f64>(4500);
        assert_eq!(b.as_ptr(), ptr);
        assert!(b.is_empty());
        // Too large a buffer for the request is not handed out.
        recycle(b);
        let c = with_capacity::<f64>(1500);
        assert_ne!(c.as_ptr(), ptr);
    }

    #[test]
    fn scratch_reuses_an_initialised_buffer_at_the_requested_length() {
        let a = filled::<f32>(4000, 2.5);
        let ptr = a.as_ptr();
        recycle(a);
        let b = scratch::<f32>(3500);
        assert_eq!((b.as_ptr(), b.len()), (ptr, 3500));
        assert!(b.iter().all(|&v| v == 2.5));
        assert_eq!(scratch::<f32>(3000), vec![0.0; 3000]);
    }

    #[test]
    fn a_product_into_a_recycled_buffer_ignores_its_old_contents() {
        use crate::Array;
        let (m, k, n) = (40, 3, 50);
        let a = Array::<f64>::rand_uniform(&[m, k], -1.0, 1.0, 1);
        let b = Array::<f64>::rand_uniform(&[k, n], -1.0, 1.0, 2);
        let fresh = a.matmul(&b).unwrap();
        recycle(vec![f64::NAN; m * n]);
        let reused = a.matmul(&b).unwrap();
        assert_eq!(fresh, reused);
        let expected: Vec<f64> = (0..m * n)
            .map(|ij| {
                (0..k)
                    .map(|l| a.get(&[ij / n, l]) * b.get(&[l, ij % n]))
                    .sum()
            })
            .collect();
        assert!(
            fresh
                .data()
                .iter()
                .zip(&expected)
                .all(|(x, y)| (x - y).abs() < 1e-12)
        );
    }

    #[test]
    fn a_threaded_product_into_a_recycled_buffer_ignores_its_old_contents() {
        use crate::Array;
        // Large enough (at least 2¹⁹ multiply-adds) to be split between threads.
        let (m, k, n) = (128, 256, 128);
        assert!(m * k * n >= crate::parallel::PARALLEL_GEMM_MIN);
        crate::set_num_threads(2);
        let a = Array::<f32>::rand_uniform(&[m, k], -1.0, 1.0, 3);
        let b = Array::<f32>::rand_uniform(&[k, n], -1.0, 1.0, 4);
        recycle(vec![f32::NAN; m * n]);
        let c = a.matmul(&b).unwrap();
        for (i, j) in [(0, 0), (7, 100), (127, 127), (64, 3)] {
            let expected: f32 = (0..k).map(|l| a.get(&[i, l]) * b.get(&[l, j])).sum();
            assert!((c.get(&[i, j]) - expected).abs() < 1e-3, "({i}, {j})");
        }
        assert!(c.data().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let mut cache = BufferCache::<f32>::default();
        for _ in 0..2 * MAX_BUFFERS {
            cache.give(Vec::with_capacity(MIN_LEN));
        }
        assert_eq!(cache.buffers.len(), MAX_BUFFERS);
        cache.give(Vec::with_capacity(MAX_BYTES / 4 / 2 + 1));
        cache.give(Vec::with_capacity(MAX_BYTES / 4 / 2 + 1));
        assert!(cache.bytes <= MAX_BYTES);
        assert_eq!(
            cache.bytes,
            cache
                .buffers
                .iter()
                .map(|b| b.capacity() * 4)
                .sum::<usize>()
        );
        cache.give(Vec::with_capacity(MAX_BYTES / 4 + 1));
        assert!(cache.bytes <= MAX_BYTES);
    }
}
