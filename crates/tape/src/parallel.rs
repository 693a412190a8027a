//! How many threads kernels may use: [`set_num_threads`] and [`num_threads`].
//!
//! Only large matrix products run on more than one thread; everything else runs on the
//! calling thread. The count is process-wide, like PyTorch's `torch.set_num_threads`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// 0 until first read or set.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Matrix products with fewer multiply-adds (`m·k·n`) than this run on one thread: below it,
/// handing work to a second thread costs more than it saves.
pub(crate) const PARALLEL_GEMM_MIN: usize = 1 << 22;

/// Sets how many threads large matrix products may use (at least 1).
///
/// ```
/// tape::set_num_threads(1);
/// assert_eq!(tape::num_threads(), 1);
/// ```
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// How many threads large matrix products may use: the last [`set_num_threads`], or else the
/// `TAPEGRAD_THREADS` environment variable, or else the number of available cores.
///
/// ```
/// assert!(tape::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("TAPEGRAD_THREADS")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .max(1);
            // Keep a count set concurrently rather than overwrite it.
            match THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => n,
                Err(set) => set,
            }
        }
        n => n,
    }
}

/// The threads a product of `m·k` by `k·n` should use.
#[inline]
pub(crate) fn gemm_threads(m: usize, k: usize, n: usize) -> usize {
    if m.saturating_mul(k).saturating_mul(n) < PARALLEL_GEMM_MIN {
        1
    } else {
        num_threads()
    }
}
