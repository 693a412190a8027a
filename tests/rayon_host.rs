//! The rayon host of `examples/rayon_host.rs`, run: gradients of independent functions,
//! evaluated in the tasks of a host's `rayon` pool with tapegrad's kernels on that pool, equal
//! their closed form, and tapegrad starts no thread of its own.
//!
//! A test binary of its own: it sets the process-wide parallelism, which the other end-to-end
//! tests must not see, and looks at every thread of the process.

#[allow(dead_code)]
#[path = "../examples/rayon_host.rs"]
mod rayon_host;

use tapegrad::tape::Parallelism;

#[test]
fn a_rayon_host_gets_closed_form_gradients_on_its_own_pool_and_no_other() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .thread_name(|i| format!("host-{i}"))
        .build()
        .expect("a rayon pool");
    tapegrad::tape::set_parallelism(Parallelism::Rayon);
    let problems: Vec<_> = (0..6)
        .map(|i| rayon_host::problem(i, (192, 256, 64)))
        .collect();
    let (grads, worst) = rayon_host::run(&pool, &problems, 2);
    assert_eq!(grads.len(), 6);
    assert!(grads.iter().all(|g| g.shape() == [256, 64]));
    // The tape's products sum in another order than the loops: rounding only.
    assert!(worst < 1e-12, "{worst:e}");
    // The problems differ, and so do their gradients.
    assert_ne!(grads[0], grads[1]);
    #[cfg(target_os = "linux")]
    {
        let names: Vec<String> = std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task")
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_string())
            .collect();
        assert!(names.iter().any(|n| n.starts_with("host-")), "{names:?}");
        assert!(
            !names.iter().any(|n| n.starts_with("tapegrad-")),
            "{names:?}"
        );
    }
}
