//! How many threads kernels may use: [`set_num_threads`] and [`num_threads`].
//!
//! Only large matrix products (from 2¹⁹ multiply-adds) and elementwise kernels on large
//! arrays (from 2¹⁵ elements) run on more than one thread; everything else, the scalar tape
//! included, runs on the calling thread. The count is process-wide, like PyTorch's
//! `torch.set_num_threads`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

mod pool;
mod product;

pub use product::Gemm;
pub(crate) use product::{Operand, gemm, transpose_into};

/// 0 until first read or set.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Matrix products with fewer multiply-adds (`m·k·n`) than this run on one thread: below it,
/// handing work to a second thread costs more than it saves. (On two threads, 128×128·128×32
/// took 15 µs either way; 128×128·128×64, 32 against 18–22 µs; 128×128·128×128, 62 against
/// 34 µs.)
pub(crate) const PARALLEL_GEMM_MIN: usize = 1 << 19;

/// Sets how many threads large matrix products and elementwise kernels may use (at least 1).
///
/// ```
/// tape::set_num_threads(1);
/// assert_eq!(tape::num_threads(), 1);
/// ```
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// How many threads large matrix products and elementwise kernels may use: the last
/// [`set_num_threads`], or else the `TAPEGRAD_THREADS` environment variable, or else the
/// number of available cores.
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

/// Elementwise kernels on fewer elements than this run on one thread. (An `f32` ReLU on two
/// threads: 2¹⁵ elements in 3.7 against 6.3 µs on one, 2¹⁷ in 10.6 against 24.3 µs; at 2¹³
/// and 2¹⁴ two threads were no faster.)
pub(crate) const PARALLEL_ELEMENTS_MIN: usize = 1 << 15;

/// Calls `f(start, chunk)` for consecutive chunks of `out` that together cover it, `start`
/// being the chunk's offset in `out`: one chunk, on the calling thread, when `out` is short
/// or one thread is set; otherwise about two chunks per thread, each (but the last) a
/// multiple of `align` elements long, shared out among the threads.
pub(crate) fn for_chunks<T: Send>(out: &mut [T], align: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    for_chunks_with(out, [], align, |start, chunk, []| f(start, chunk));
}

/// [`for_chunks`] over `out` and, in step with it, over each of `with` (as long as `out`):
/// `f(start, chunk, with_chunks)` gets the chunks at the same place of all of them.
pub(crate) fn for_chunks_with<T: Send, const S: usize>(
    mut out: &mut [T],
    mut with: [&mut [T]; S],
    align: usize,
    f: impl Fn(usize, &mut [T], [&mut [T]; S]) + Sync,
) {
    let n = out.len();
    assert!(
        with.iter().all(|w| w.len() == n),
        "internal error: for_chunks_with: slices of different lengths"
    );
    let threads = if n < PARALLEL_ELEMENTS_MIN {
        1
    } else {
        num_threads()
    };
    if threads == 1 {
        return f(0, out, with);
    }
    // Multiples of 16 as well, so that threads seldom write the same cache line.
    let align = align.max(1);
    let align = align / gcd(align, 16) * 16;
    let len = n.div_ceil(2 * threads).next_multiple_of(align).min(n);
    let mut chunks = Vec::with_capacity(n.div_ceil(len));
    while !out.is_empty() {
        let take = len.min(out.len());
        let (head, tail) = out.split_at_mut(take);
        let mut split = with.map(|w| w.split_at_mut(take));
        let heads = split.each_mut().map(|(h, _)| std::mem::take(h));
        chunks.push(Mutex::new(Some((head, heads))));
        out = tail;
        with = split.map(|(_, t)| t);
    }
    run_blocks(chunks.len(), threads, |i| {
        if let Some((chunk, with)) = lock(&chunks[i]).take() {
            f(i * len, chunk, with);
        }
    });
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `block(i)` for every `i < blocks`, each once, on the calling thread and up to
/// `threads − 1` threads of the pool, whichever is free first taking the next block: a pool
/// thread that is slow to start (its core busy) delays the whole by at most one block.
fn run_blocks(blocks: usize, threads: usize, block: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= blocks {
                break;
            }
            block(i);
        }
    };
    pool::run(threads.min(blocks).saturating_sub(1), &work);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_runs_exactly_once() {
        for (blocks, threads) in [(1, 2), (4, 2), (7, 3), (3, 8)] {
            let counts: Vec<AtomicUsize> = (0..blocks).map(|_| AtomicUsize::new(0)).collect();
            run_blocks(blocks, threads, |i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
        }
    }
}
