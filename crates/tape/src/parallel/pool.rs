//! The worker threads that take blocks of a split product: a few threads that stay awake for a
//! short while after each job, so that a training step's products, which follow each other
//! tens of microseconds apart, find them ready.
//!
//! A job is one borrowed closure, run by the calling thread and by every worker that *enters*
//! the job before the caller has finished its own call of it. The closure is expected to share
//! its work out through a counter (as [`super::run_blocks`] does), so a worker that arrives late
//! finds nothing left, and one that never arrives costs nothing: the caller closes the job when
//! its own call returns and waits only for the workers that entered.
//!
//! Why not a general-purpose pool: on this project's 2-core machines a `rayon` worker took
//! 30–40 µs on average to start a block of a training step's product, against well under 1 µs
//! for a thread spinning on a flag; over the five split products of a W2 step that was about
//! a tenth of the step.
//!
//! Only one job runs at a time. A caller that finds the pool busy (another thread's job, or a
//! product called from inside a block) runs the closure alone, which is correct because the
//! closure does all of the work when nobody else takes any.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

use super::IDLE_SPIN;

/// How long an idle worker keeps checking for the next job before it sleeps ([`IDLE_SPIN`]).
/// Long enough to span the elementwise work between two products of a training step, short
/// enough that a program that stops using products gives the core back almost at once.
const SPIN: Duration = IDLE_SPIN;

/// The most workers the pool starts, whatever thread count is asked for.
const MAX_WORKERS: usize = 63;

/// `state` bits: the job's generation above `GEN_SHIFT`, a closed flag, and how many workers
/// entered it.
const GEN_SHIFT: u32 = 16;
const CLOSED: usize = 1 << 15;
const ENTERED: usize = CLOSED - 1;

/// A job: a closure, borrowed for as long as its caller waits in [`run`].
type Job<'a> = dyn Fn() + Sync + 'a;

struct Pool {
    /// Held by the thread whose job is current; others run their closures alone.
    busy: Mutex<()>,
    /// Generation, closed flag and entered count of the current job (see the constants).
    state: AtomicUsize,
    /// How many workers that entered the current job have returned from it.
    finished: AtomicUsize,
    /// How many workers may enter the current job.
    wanted: AtomicUsize,
    /// Points at the caller's `&Job` while its job is open or entered workers are running.
    job: AtomicPtr<&'static Job<'static>>,
    /// Set by a worker whose call of the job panicked.
    panicked: AtomicBool,
    /// Workers started so far.
    workers: Mutex<usize>,
    /// Sleeping workers wait here for the next generation.
    sleep: Mutex<()>,
    wake: Condvar,
    sleepers: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        busy: Mutex::new(()),
        state: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        wanted: AtomicUsize::new(0),
        job: AtomicPtr::new(std::ptr::null_mut()),
        panicked: AtomicBool::new(false),
        workers: Mutex::new(0),
        sleep: Mutex::new(()),
        wake: Condvar::new(),
        sleepers: AtomicUsize::new(0),
    })
}

/// Runs `job` on the calling thread and on up to `helpers` workers, each calling it at most
/// once, and returns when every call has returned. A panic in any call is raised again here.
pub(crate) fn run<'a>(helpers: usize, job: &'a Job<'a>) {
    let helpers = helpers.min(MAX_WORKERS);
    let pool = pool();
    let _busy = match pool.busy.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
        Err(TryLockError::WouldBlock) => return job(),
    };
    if helpers == 0 {
        return job();
    }
    pool.start_workers(helpers);
    pool.panicked.store(false, Ordering::Relaxed);
    pool.finished.store(0, Ordering::Relaxed);
    pool.wanted.store(helpers, Ordering::Relaxed);
    let erased: &&Job<'a> = &job;
    // SAFETY (of the workers' later dereference): this pointer to the local `erased`, and
    // through it the caller's closure, is read only by workers that entered this generation
    // (`enter` succeeded while the job was open). `Close`'s drop, which runs before this frame
    // is left by return or by unwinding, closes the job, so no worker can enter after it, and
    // waits until every worker that entered has returned from the closure.
    pool.job.store(
        erased as *const &Job<'a> as *mut &'static Job<'static>,
        Ordering::Relaxed,
    );
    // Publishing: a worker that sees the new generation also sees the stores above.
    let generation = (pool.state.load(Ordering::Relaxed) >> GEN_SHIFT).wrapping_add(1);
    pool.state.store(generation << GEN_SHIFT, Ordering::SeqCst);
    if pool.sleepers.load(Ordering::SeqCst) > 0 {
        let _lock = lock(&pool.sleep);
        pool.wake.notify_all();
    }
    let close = Close(pool);
    job();
    drop(close);
    if pool.panicked.load(Ordering::Relaxed) {
        panic!("a block of a parallel product panicked on a worker thread");
    }
}

/// Closes the current job and waits for the workers in it, also when the caller's own call of
/// the job unwinds.
struct Close<'a>(&'a Pool);

impl Drop for Close<'_> {
    fn drop(&mut self) {
        let pool = self.0;
        let entered = pool.state.fetch_or(CLOSED, Ordering::AcqRel) & ENTERED;
        let start = Instant::now();
        let mut spins = 0u32;
        let mut patient = true;
        while pool.finished.load(Ordering::Acquire) < entered {
            if patient {
                std::hint::spin_loop();
                spins = spins.wrapping_add(1);
                // Reading the clock costs more than a check of `finished`: only now and then.
                patient = spins % 64 != 0 || start.elapsed() < SPIN;
            } else {
                // A worker was descheduled inside its block: let it have the core.
                std::thread::yield_now();
            }
        }
        pool.job.store(std::ptr::null_mut(), Ordering::Relaxed);
    }
}

impl Pool {
    /// Starts workers until there are at least `n`.
    fn start_workers(&'static self, n: usize) {
        let mut started = lock(&self.workers);
        while *started < n {
            let index = *started;
            let spawned = std::thread::Builder::new()
                .name(format!("tapegrad-{}", index + 1))
                .spawn(move || self.work(index));
            if spawned.is_err() {
                // No more threads: the jobs still run, on fewer of them.
                break;
            }
            *started += 1;
        }
    }

    /// A worker's loop: wait for a generation it has not seen, enter it if it is open and
    /// wants this worker, run the job, repeat.
    fn work(&self, index: usize) {
        let mut seen = self.state.load(Ordering::Acquire) >> GEN_SHIFT;
        loop {
            let state = self.next_generation(seen);
            seen = state >> GEN_SHIFT;
            if index < self.wanted.load(Ordering::Relaxed) && self.enter(state) {
                // SAFETY: `enter` succeeded, so the job of generation `seen` was open, and
                // its caller waits (in `Close::drop`) for `finished` to count this worker
                // before it clears `job` or leaves the frame that `job` points into. The
                // pointer was stored before the generation was published (SeqCst store,
                // read here through the Acquire loads of `state`).
                let job: &Job<'_> = unsafe { *self.job.load(Ordering::Relaxed) };
                if catch_unwind(AssertUnwindSafe(job)).is_err() {
                    self.panicked.store(true, Ordering::Relaxed);
                }
                self.finished.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// Counts this worker into the job whose state was `seen`, if that job is still open.
    fn enter(&self, mut seen: usize) -> bool {
        let generation = seen >> GEN_SHIFT;
        loop {
            if seen & CLOSED != 0 || seen >> GEN_SHIFT != generation {
                return false;
            }
            match self.state.compare_exchange_weak(
                seen,
                seen + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => seen = now,
            }
        }
    }

    /// Waits, spinning for [`SPIN`] and then asleep, for a generation other than `seen`, and
    /// returns its state.
    fn next_generation(&self, seen: usize) -> usize {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let state = self.state.load(Ordering::Acquire);
            if state >> GEN_SHIFT != seen {
                return state;
            }
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            // Reading the clock costs more than a check of `state`: only now and then.
            if spins % 64 == 0 && start.elapsed() > SPIN {
                break;
            }
        }
        let mut guard = lock(&self.sleep);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let state = loop {
            // The publisher stores `state` and then reads `sleepers`, both SeqCst: either it
            // sees this sleeper and notifies under the lock, or this load sees its generation.
            let state = self.state.load(Ordering::SeqCst);
            if state >> GEN_SHIFT != seen {
                break state;
            }
            guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        state
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Runs `blocks` blocks through [`run`] with `helpers` workers and checks each ran once.
    fn shared_blocks(blocks: usize, helpers: usize, work: impl Fn(usize) + Sync) {
        let next = AtomicUsize::new(0);
        let counts: Vec<AtomicUsize> = (0..blocks).map(|_| AtomicUsize::new(0)).collect();
        run(helpers, &|| {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= blocks {
                    break;
                }
                work(i);
                counts[i].fetch_add(1, Ordering::Relaxed);
            }
        });
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn every_block_runs_once_whatever_the_helpers() {
        for helpers in [0, 1, 2, 3, 7] {
            for blocks in [0, 1, 2, 5, 64] {
                shared_blocks(blocks, helpers, |_| {});
            }
        }
    }

    #[test]
    fn borrowed_results_are_complete_when_run_returns() {
        // Each block writes its part of a local vector; the sum is read after `run`.
        for round in 0..200u64 {
            let parts: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
            shared_blocks(16, 1 + (round % 3) as usize, |i| {
                let s: u64 = (0..1000).map(|j| j * i as u64 + round).sum();
                parts[i].store(s, Ordering::Relaxed);
            });
            let total: u64 = parts.iter().map(|p| p.load(Ordering::Relaxed)).sum();
            let expected: u64 = (0..16u64)
                .map(|i| (0..1000u64).map(|j| j * i + round).sum::<u64>())
                .sum();
            assert_eq!(total, expected);
        }
    }

    #[test]
    fn a_job_after_the_workers_slept_still_gets_done() {
        shared_blocks(4, 1, |_| {});
        std::thread::sleep(SPIN * 5);
        shared_blocks(4, 1, |_| {});
    }

    #[test]
    fn jobs_from_many_threads_at_once_each_run_completely() {
        // Callers that find the pool busy run alone; every job still does all its blocks.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        shared_blocks(8, 1, |_| std::hint::spin_loop());
                    }
                });
            }
        });
    }

    #[test]
    fn a_job_started_inside_a_job_runs_alone() {
        shared_blocks(4, 1, |_| shared_blocks(3, 1, |_| {}));
    }

    #[test]
    fn a_panic_in_a_block_reaches_the_caller_and_the_pool_keeps_working() {
        for _ in 0..20 {
            let result = catch_unwind(|| {
                shared_blocks(8, 1, |i| {
                    if i % 2 == 1 {
                        panic!("block {i}");
                    }
                })
            });
            assert!(result.is_err());
        }
        shared_blocks(8, 1, |_| {});
    }
}
