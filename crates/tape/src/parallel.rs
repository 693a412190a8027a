//! Where kernels run: [`set_parallelism`] and [`parallelism`] (tapegrad's own threads, the
//! caller's `rayon` pool, or the calling thread alone), and the shortcuts [`set_num_threads`]
//! and [`num_threads`].
//!
//! Only large matrix products (from 2¹⁹ multiply-adds) and elementwise kernels on large
//! arrays (from 2¹⁵ elements) run on more than one thread; everything else, the scalar tape
//! included, runs on the calling thread. The setting is process-wide, like PyTorch's
//! `torch.set_num_threads`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod pool;
mod product;

pub use product::Gemm;
#[cfg(feature = "nalgebra")]
pub(crate) use product::transpose_into;
pub(crate) use product::{Operand, gemm};

/// Where the kernels that share out their work run: matrix products of at least 2¹⁹
/// multiply-adds and elementwise kernels on at least 2¹⁵ elements. Everything else runs on the
/// calling thread, whatever the setting. Set with [`set_parallelism`].
///
/// ```
/// use tape::{Array, Parallelism};
///
/// // A program with a rayon pool of its own: products run on that pool's threads.
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// tape::set_parallelism(Parallelism::Rayon);
/// let a = Array::<f32>::full(&[256, 256], 1.0);
/// let c = pool.install(|| a.matmul(&a).unwrap());  // 2²⁴ multiply-adds, on `pool`
/// assert_eq!(c.get(&[3, 7]), 256.0);
/// assert_eq!(pool.install(tape::num_threads), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parallelism {
    /// The calling thread and up to `n − 1` threads of tapegrad's own pool (`n` at least 1;
    /// 0 counts as 1). The pool's threads start when first needed, and each sleeps once it
    /// has found no work for [`IDLE_SPIN`]. A product too narrow to cut into blocks (fewer
    /// than 64 rows, or 32 columns of a transposed right operand) is left whole to the
    /// matrix-multiply library, whose own split runs on `rayon`'s global pool. The default,
    /// with `n` from the `TAPEGRAD_THREADS` environment variable, else the number of cores.
    Own(usize),
    /// The `rayon` pool the calling thread belongs to (in `ThreadPool::install`, or in a task
    /// of that pool), else `rayon`'s global pool, as `rayon::join` chooses; as many threads as
    /// that pool has. tapegrad then starts no thread of its own: a program that already runs
    /// a `rayon` pool keeps one pool, and its tasks' products take their blocks from it.
    Rayon,
    /// The calling thread alone.
    None,
}

/// How long each thread of tapegrad's own pool ([`Parallelism::Own`]) keeps checking for
/// work after its last job before it sleeps: the longest it keeps a core busy after a
/// product or elementwise kernel has returned. A program that stops calling kernels has all
/// its cores back within this time (the pool's threads wake again with the next job).
///
/// ```
/// assert!(tape::IDLE_SPIN <= std::time::Duration::from_millis(1));
/// ```
pub const IDLE_SPIN: Duration = Duration::from_micros(200);

/// The setting, encoded: [`UNSET`] until first read or set, [`RAYON`], [`NONE`], or the
/// thread count of [`Parallelism::Own`].
static SETTING: AtomicUsize = AtomicUsize::new(UNSET);
const UNSET: usize = 0;
const RAYON: usize = usize::MAX;
const NONE: usize = usize::MAX - 1;
/// The largest thread count stored (the pool starts at most 63 threads anyway).
const MAX_OWN: usize = usize::MAX - 2;

/// Sets where large matrix products and elementwise kernels run, for the whole process.
///
/// ```
/// use tape::Parallelism;
/// tape::set_parallelism(Parallelism::None);
/// assert_eq!(tape::parallelism(), Parallelism::None);
/// assert_eq!(tape::num_threads(), 1);
/// tape::set_parallelism(Parallelism::Own(0));
/// assert_eq!(tape::parallelism(), Parallelism::Own(1));
/// ```
pub fn set_parallelism(parallelism: Parallelism) {
    let code = match parallelism {
        Parallelism::Own(n) => n.clamp(1, MAX_OWN),
        Parallelism::Rayon => RAYON,
        Parallelism::None => NONE,
    };
    SETTING.store(code, Ordering::Relaxed);
}

/// Where large matrix products and elementwise kernels run: the last [`set_parallelism`] (or
/// [`set_num_threads`]), or else [`Parallelism::Own`] with the count of the
/// `TAPEGRAD_THREADS` environment variable, or else of the available cores.
///
/// ```
/// tape::set_num_threads(3);
/// assert_eq!(tape::parallelism(), tape::Parallelism::Own(3));
/// ```
pub fn parallelism() -> Parallelism {
    match SETTING.load(Ordering::Relaxed) {
        UNSET => {
            let n = std::env::var("TAPEGRAD_THREADS")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .clamp(1, MAX_OWN);
            // Keep a setting made concurrently rather than overwrite it.
            match SETTING.compare_exchange(UNSET, n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => Parallelism::Own(n),
                Err(set) => decode(set),
            }
        }
        code => decode(code),
    }
}

fn decode(code: usize) -> Parallelism {
    match code {
        RAYON => Parallelism::Rayon,
        NONE => Parallelism::None,
        n => Parallelism::Own(n),
    }
}

/// Sets how many threads large matrix products and elementwise kernels may use (at least 1),
/// on tapegrad's own pool: [`set_parallelism`]`(`[`Parallelism::Own`]`(n))`.
///
/// ```
/// tape::set_num_threads(1);
/// assert_eq!(tape::num_threads(), 1);
/// ```
pub fn set_num_threads(n: usize) {
    set_parallelism(Parallelism::Own(n));
}

/// How many threads large matrix products and elementwise kernels called from this thread may
/// use: `n` for [`Parallelism::Own`]`(n)`, 1 for [`Parallelism::None`], and for
/// [`Parallelism::Rayon`] the size of the `rayon` pool this thread is in (else of the global
/// pool).
///
/// ```
/// assert!(tape::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    Team::current().threads()
}

/// Matrix products with fewer multiply-adds (`m·k·n`) than this run on one thread: below it,
/// handing work to a second thread costs more than it saves. (On two threads, 128×128·128×32
/// took 15 µs either way; 128×128·128×64, 32 against 18–22 µs; 128×128·128×128, 62 against
/// 34 µs.)
pub(crate) const PARALLEL_GEMM_MIN: usize = 1 << 19;

/// The threads one kernel call uses, read from the setting once at the start of the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Team {
    /// The calling thread alone.
    Alone,
    /// The calling thread and up to `n − 1` threads of tapegrad's pool (`n` ≥ 2).
    Own(usize),
    /// The `n` threads of the `rayon` pool of the calling thread (`n` ≥ 2).
    Rayon(usize),
}

impl Team {
    /// The team the setting gives a kernel called on this thread.
    pub(crate) fn current() -> Team {
        match parallelism() {
            Parallelism::Own(n) if n > 1 => Team::Own(n),
            Parallelism::Rayon => match rayon::current_num_threads() {
                n if n > 1 => Team::Rayon(n),
                _ => Team::Alone,
            },
            _ => Team::Alone,
        }
    }

    /// The team of a product of `m·k` by `k·n`: alone below [`PARALLEL_GEMM_MIN`].
    #[inline]
    pub(crate) fn for_product(m: usize, k: usize, n: usize) -> Team {
        if m.saturating_mul(k).saturating_mul(n) < PARALLEL_GEMM_MIN {
            Team::Alone
        } else {
            Team::current()
        }
    }

    /// How many threads, the caller included.
    pub(crate) fn threads(self) -> usize {
        match self {
            Team::Alone => 1,
            Team::Own(n) | Team::Rayon(n) => n,
        }
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
    let team = if n < PARALLEL_ELEMENTS_MIN {
        Team::Alone
    } else {
        Team::current()
    };
    let threads = team.threads();
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
    run_blocks(chunks.len(), team, |i| {
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

/// Runs `block(i)` for every `i < blocks`, each once, on the calling thread and the rest of
/// `team`, whichever is free first taking the next block: a thread that is slow to start (its
/// core busy) delays the whole by at most one block.
fn run_blocks(blocks: usize, team: Team, block: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= blocks {
                break;
            }
            #[cfg(test)]
            tests::BLOCKS_RUN.with(|n| n.set(n.get() + 1));
            block(i);
        }
    };
    let calls = team.threads().min(blocks);
    match team {
        Team::Alone => work(),
        Team::Own(_) => pool::run(calls.saturating_sub(1), &work),
        Team::Rayon(_) => fan_out(calls, &work),
    }
}

/// Calls `work` `calls` times (at least once) as tasks of the current `rayon` pool, by halves:
/// the caller starts on its half and leaves the other for an idle thread to steal. A half that
/// nobody stole, the caller runs when its own returns, and (`work` sharing its blocks through
/// a counter) finds nothing left to do, so a busy pool costs one check.
fn fan_out(calls: usize, work: &(dyn Fn() + Sync)) {
    if calls <= 1 {
        return work();
    }
    let stolen = calls / 2;
    rayon::join(|| fan_out(calls - stolen, work), || fan_out(stolen, work));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// How many blocks of [`run_blocks`] this thread has run.
        pub(crate) static BLOCKS_RUN: Cell<usize> = const { Cell::new(0) };
    }

    /// A `rayon` pool of `n` threads named `host-0`, `host-1`, …: a host program's pool.
    pub(crate) fn host_pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("host-{i}"))
            .build()
            .expect("a rayon pool")
    }

    /// Runs `f` on `pool` and returns, with its result, how many blocks of [`run_blocks`]
    /// each of the pool's threads ran meanwhile.
    pub(crate) fn blocks_per_thread<R: Send>(
        pool: &rayon::ThreadPool,
        f: impl FnOnce() -> R + Send,
    ) -> (R, Vec<usize>) {
        pool.broadcast(|_| BLOCKS_RUN.with(|n| n.set(0)));
        let result = pool.install(f);
        (result, pool.broadcast(|_| BLOCKS_RUN.with(Cell::get)))
    }

    #[test]
    fn every_block_runs_exactly_once() {
        let host = host_pool(3);
        for (blocks, threads) in [(1, 2), (4, 2), (7, 3), (3, 8), (0, 2)] {
            for team in [Team::Alone, Team::Own(threads), Team::Rayon(threads)] {
                let counts: Vec<AtomicUsize> = (0..blocks).map(|_| AtomicUsize::new(0)).collect();
                let run = || {
                    run_blocks(blocks, team, |i| {
                        counts[i].fetch_add(1, Ordering::Relaxed);
                    })
                };
                // On the calling thread, and (for `rayon`) from inside a pool as well.
                run();
                host.install(run);
                assert!(
                    counts.iter().all(|c| c.load(Ordering::Relaxed) == 2),
                    "{blocks} blocks, {team:?}"
                );
            }
        }
    }

    #[test]
    fn blocks_under_rayon_run_on_the_callers_pool_and_its_other_threads_join_in() {
        // Each block waits until the other has started, which only another thread can do
        // while this one waits; both must be threads of the caller's pool.
        let host = host_pool(2);
        let started = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let ran_on = Mutex::new(Vec::new());
        host.install(|| {
            run_blocks(2, Team::Rayon(2), |i| {
                let me = std::thread::current();
                lock(&ran_on).push((rayon::current_thread_index(), me.name().map(String::from)));
                started[i].store(1, Ordering::SeqCst);
                let t0 = std::time::Instant::now();
                while started[1 - i].load(Ordering::SeqCst) == 0
                    && t0.elapsed() < Duration::from_secs(30)
                {
                    std::thread::yield_now();
                }
            })
        });
        let mut ran_on = ran_on.into_inner().unwrap();
        ran_on.sort();
        assert_eq!(
            ran_on,
            [
                (Some(0), Some("host-0".to_string())),
                (Some(1), Some("host-1".to_string()))
            ]
        );
    }

    #[test]
    fn elementwise_chunks_under_rayon_run_on_the_callers_pool() {
        // `for_chunks` reads the process-wide setting, which other tests change: the chunks
        // are shared out by `run_blocks` with an explicit team here, as `for_chunks_with`
        // does with the one it reads.
        let host = host_pool(2);
        let blocks = 5;
        let ((), per_thread) = blocks_per_thread(&host, || {
            run_blocks(blocks, Team::Rayon(rayon::current_num_threads()), |_| {
                std::hint::black_box((0..10_000).sum::<u64>());
            })
        });
        assert_eq!(per_thread.iter().sum::<usize>(), blocks, "{per_thread:?}");
    }
}
