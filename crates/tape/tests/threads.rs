//! Threads, seen from outside the crate: tapes moving between threads, where the process-wide
//! parallelism setting sends the work, and how long tapegrad's own threads stay busy after it.
//!
//! A test binary of its own: these tests change the process-wide setting and read the CPU time
//! of every thread of the process, which the products of other tests would disturb. They take
//! turns ([`LOCK`]). The CPU times come from `/proc`, so the tests that read them run on Linux
//! only.

use std::sync::Mutex;

use tape::{Array, Function, Parallelism, Tape, TapeError};

/// Held by every test that sets the parallelism or reads threads' CPU time.
static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `loss = Σ tanh(x·w)` on a tape of its own, and its gradient with respect to `w`: two
/// products of `256 × 256` by `256 × 256` (2²⁴ multiply-adds each, so split across threads),
/// one forward and one backward.
fn tanh_layer_gradient(x: &Array<f32>, w: &Array<f32>) -> Array<f32> {
    let tape = Tape::<f32>::new();
    let (xt, wt) = (tape.tensor_constant(x.clone()), tape.tensor(w.clone()));
    xt.matmul(wt).tanh().sum().backward().wrt(wt).clone()
}

/// `x ↦ 2x`, a custom function: the tape keeps it, so it moves with the tape.
#[derive(Clone)]
struct Double;

impl Function<f64> for Double {
    fn name(&self) -> &str {
        "double"
    }
    fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
        Ok(x[0].map(|v| 2.0 * v))
    }
    fn backward(&self, _x: &[&Array<f64>], _out: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
        vec![g.map(|v| 2.0 * v)]
    }
}

#[test]
fn a_tape_moves_to_another_thread_and_its_gradients_come_back() {
    // `Tape` is `Send` (not `Sync`: recording goes through a `RefCell`), and so are
    // `Gradients`: a worker may keep a tape across tasks, as a host's rayon tasks do, and hand
    // gradients back. A tape holding a custom function (a `Function` is `Send + Sync`) moves
    // to another thread, is differentiated there, cleared, reused, and comes back.
    fn send<T: Send>(value: T) -> T {
        value
    }
    let mut tape = Tape::<f64>::with_capacity(64);
    let x = tape
        .tensor_from_vec(vec![1.0, 2.0], &[2])
        .expect("two elements");
    tape.apply(&Double, &[x]).expect("a custom function");
    let recorded_here = tape.len();
    let (tape, grads) = std::thread::spawn(move || {
        // The handles stayed behind; the nodes came along.
        assert_eq!(tape.len(), recorded_here);
        tape.clear();
        let grads = {
            let x = tape.var(3.0);
            let y = tape
                .tensor_from_vec(vec![0.5, 2.0], &[2])
                .expect("two elements");
            let doubled = tape.apply(&Double, &[y]).expect("a custom function");
            let loss = x * x + doubled.sqrt().sum();
            let grads = send(loss.backward());
            (grads.wrt(x), grads.wrt(y).data().to_vec())
        };
        (tape, grads)
    })
    .join()
    .expect("the other thread");
    // d(x² + Σ√(2y))/dx = 2x; d/dyᵢ = 1/√(2yᵢ).
    assert_eq!(grads.0, 6.0);
    assert_eq!(grads.1, vec![1.0, 0.5]);
    assert!(!tape.is_empty());
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use super::*;

    /// CPU time (ns) and name of every thread of this process but the calling one, by thread
    /// id. From `/proc/self/task/*/schedstat` (nanoseconds), or where the kernel keeps no
    /// scheduler statistics, `/proc/self/task/*/stat` (user and system time in ticks of
    /// 10 ms, the `USER_HZ` of every Linux architecture).
    fn other_threads() -> HashMap<u32, (String, u64)> {
        let me = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name()?.to_str()?.parse::<u32>().ok());
        let mut threads = HashMap::new();
        for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
            let dir = entry.expect("a task").path();
            let Some(tid) = dir
                .file_name()
                .and_then(|n| n.to_str()?.parse::<u32>().ok())
            else {
                continue;
            };
            if Some(tid) == me {
                continue;
            }
            let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
            let schedstat =
                read("schedstat").and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
            let ticks = || -> Option<u64> {
                let stat = read("stat")?;
                // Fields after the name, which is in parentheses: state is field 3, utime 14
                // and stime 15.
                let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                Some(
                    (fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
                        * 10_000_000,
                )
            };
            // A thread that has exited since the directory was read has no files left.
            if let Some(ns) = schedstat.or_else(ticks) {
                let name = read("comm").unwrap_or_default().trim().to_string();
                threads.insert(tid, (name, ns));
            }
        }
        threads
    }

    /// The CPU time each thread used between two readings of [`other_threads`], with its name.
    fn used(
        before: &HashMap<u32, (String, u64)>,
        after: &HashMap<u32, (String, u64)>,
    ) -> Vec<(String, Duration)> {
        after
            .iter()
            .map(|(tid, (name, ns))| {
                let start = before.get(tid).map_or(0, |(_, ns)| *ns);
                (name.clone(), Duration::from_nanos(ns.saturating_sub(start)))
            })
            .collect()
    }

    #[test]
    fn tapegrads_own_threads_give_their_cores_back_after_the_last_product() {
        let _turn = lock();
        // Two threads of tapegrad's pool, and kernels that use them: products split by rows,
        // a product too narrow to split (left to the library, on rayon's global pool) and a
        // large elementwise kernel.
        tape::set_parallelism(Parallelism::Own(3));
        let x = Array::<f32>::rand_uniform(&[256, 256], -1.0, 1.0, 1);
        let w = Array::<f32>::rand_uniform(&[256, 256], -1.0, 1.0, 2);
        let narrow = Array::<f32>::rand_uniform(&[16, 2048], -1.0, 1.0, 3);
        let wide = Array::<f32>::rand_uniform(&[2048, 512], -1.0, 1.0, 4);
        let run = || {
            // The last kernel is one of tapegrad's pool, so that the window below starts as
            // its workers start to idle.
            for _ in 0..20 {
                std::hint::black_box(narrow.matmul(&wide).expect("a product"));
                std::hint::black_box(tanh_layer_gradient(&x, &w));
            }
        };
        run();
        let workers = other_threads()
            .values()
            .filter(|(name, _)| name.starts_with("tapegrad-"))
            .count();
        assert!(workers >= 1, "no thread of tapegrad's pool was started");
        run();
        // From the end of the last product, over two seconds, every other thread of the
        // process together: tapegrad's workers spin for at most `IDLE_SPIN` (0.2 ms) each,
        // rayon's for a few dozen yields; the test harness and the tests waiting their turn
        // sleep. (Measured: 0.1–0.6 ms in all.) A thread that never stopped spinning would use
        // most of the window, and a twentieth of it even on a machine so busy that it got a
        // tenth of a core.
        let before = other_threads();
        let window = Duration::from_secs(2);
        std::thread::sleep(window);
        let used = used(&before, &other_threads());
        let total: Duration = used.iter().map(|(_, d)| *d).sum();
        println!("after the last product: {total:?} in all, {used:?}");
        assert!(
            total < window / 20,
            "other threads used {total:?} of CPU in the {window:?} after the last product \
             (bound: {:?} per worker of tapegrad's): {used:?}",
            tape::IDLE_SPIN
        );
    }

    #[test]
    fn under_rayon_products_run_on_the_callers_pool_and_no_other_thread() {
        let _turn = lock();
        let host = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .thread_name(|i| format!("host-{i}"))
            .build()
            .expect("a rayon pool");
        tape::set_parallelism(Parallelism::Rayon);
        assert_eq!(host.install(tape::num_threads), 2);
        let x = Array::<f32>::rand_uniform(&[256, 256], -1.0, 1.0, 5);
        let w = Array::<f32>::rand_uniform(&[256, 256], -1.0, 1.0, 6);
        let expected = {
            tape::set_parallelism(Parallelism::None);
            let g = tanh_layer_gradient(&x, &w);
            tape::set_parallelism(Parallelism::Rayon);
            g
        };
        // Let the threads of other tests' kernels (tapegrad's, rayon's global pool's) settle.
        std::thread::sleep(Duration::from_millis(50));
        let before = other_threads();
        let start = Instant::now();
        host.install(|| {
            for _ in 0..50 {
                let g = tanh_layer_gradient(&x, &w);
                let worst = g
                    .data()
                    .iter()
                    .zip(expected.data())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(worst < 1e-3, "{worst}");
            }
        });
        let elapsed = start.elapsed();
        let used = used(&before, &other_threads());
        let on = |host_thread: bool| -> Duration {
            used.iter()
                .filter(|(name, _)| name.starts_with("host-") == host_thread)
                .map(|(_, d)| *d)
                .sum()
        };
        let (host_time, elsewhere) = (on(true), on(false));
        println!("in {elapsed:?}: the pool's threads {host_time:?}, others {elsewhere:?}");
        // 150 products of 2²⁴ multiply-adds, and the rest of the work, ran on the pool's
        // threads; any thread outside it (tapegrad's, rayon's global pool's) took no part.
        assert!(
            host_time > Duration::from_millis(20),
            "the pool's threads used {host_time:?} in {elapsed:?}: {used:?}"
        );
        assert!(
            elsewhere < Duration::from_millis(20).max(host_time / 20),
            "threads outside the pool used {elsewhere:?} (the pool's: {host_time:?}): {used:?}"
        );
    }
}
