//! A host program with a `rayon` pool of its own, evaluating the gradients of many independent
//! functions in parallel: one task per function, one tape per task, and tapegrad's kernels set
//! to run on the host's pool (`Parallelism::Rayon`), so that each task's large products share
//! the host's threads instead of starting threads of their own.
//!
//! Function `i` is a small regression loss of its own,
//!
//! ```text
//! fᵢ(X) = ½ ‖tanh(Aᵢ·X) − Bᵢ‖²,   Aᵢ: 192 × 256,  X: 256 × 64,  Bᵢ: 192 × 64,
//! ∇fᵢ(X) = Aᵢᵀ · ((tanh(Aᵢ·X) − Bᵢ) ⊙ (1 − tanh²(Aᵢ·X))),
//! ```
//!
//! whose products (3.1 million multiply-adds each) are large enough to be split across
//! threads. Every gradient is checked against that closed form, computed by plain loops. The
//! host keeps its tapes from one round to the next — a tape is `Send`, so the pool's tasks can
//! take them — and clears them, so later rounds reuse each tape's memory.
//!
//! Run with `cargo run --release --example rayon_host`.

use rayon::prelude::*;
use tapegrad::tape::{Array, Parallelism, Tape};

/// Errors of the example: whatever went wrong, with its message.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One function's data: `A` `[m, k]` and `B` `[m, n]`, and the point `X` `[k, n]` at which
/// its gradient is wanted.
pub struct Problem {
    /// The function's matrix.
    pub a: Array<f64>,
    /// The function's targets.
    pub b: Array<f64>,
    /// Where the gradient is evaluated.
    pub x: Array<f64>,
}

/// Problem `seed`, with `A` `[m, k]`, `X` `[k, n]` and `B` `[m, n]`, uniform in ±1 (`A`
/// scaled by `1/√k`, so that `A·X` stays where `tanh` is not flat).
pub fn problem(seed: u64, (m, k, n): (usize, usize, usize)) -> Problem {
    let scale = 1.0 / (k as f64).sqrt();
    Problem {
        a: Array::rand_uniform(&[m, k], -scale, scale, 3 * seed),
        b: Array::rand_uniform(&[m, n], -1.0, 1.0, 3 * seed + 1),
        x: Array::rand_uniform(&[k, n], -1.0, 1.0, 3 * seed + 2),
    }
}

/// `∇f(X)` for problem `p`, recorded on `tape` (cleared first).
pub fn gradient(tape: &mut Tape<f64>, p: &Problem) -> Array<f64> {
    tape.clear();
    let a = tape.tensor_constant(p.a.clone());
    let b = tape.tensor_constant(p.b.clone());
    let x = tape.tensor(p.x.clone());
    let r = a.matmul(x).tanh() - b;
    let loss = (r * r).sum() * 0.5;
    loss.backward().wrt(x).clone()
}

/// `∇f(X) = Aᵀ·((tanh(A·X) − B) ⊙ (1 − tanh²(A·X)))` by plain loops, row-major `[k, n]`.
pub fn closed_form(p: &Problem) -> Vec<f64> {
    let (m, k, n) = (p.a.shape()[0], p.a.shape()[1], p.x.shape()[1]);
    let (a, b, x) = (p.a.data(), p.b.data(), p.x.data());
    // d[i, j] = (tanh(z) − B[i, j])·(1 − tanh²(z)), z = (A·X)[i, j].
    let mut d = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let z: f64 = (0..k).map(|l| a[i * k + l] * x[l * n + j]).sum();
            let t = z.tanh();
            d[i * n + j] = (t - b[i * n + j]) * (1.0 - t * t);
        }
    }
    let mut g = vec![0.0; k * n];
    for l in 0..k {
        for j in 0..n {
            g[l * n + j] = (0..m).map(|i| a[i * k + l] * d[i * n + j]).sum();
        }
    }
    g
}

/// Evaluates the gradient of every problem on `pool`, one task per problem, `rounds` times
/// over, each task with a tape of its own kept from round to round. Returns the last round's
/// gradients and the largest difference between any gradient and its closed form, relative to
/// the largest element of that gradient.
pub fn run(
    pool: &rayon::ThreadPool,
    problems: &[Problem],
    rounds: usize,
) -> (Vec<Array<f64>>, f64) {
    let mut tapes: Vec<Tape<f64>> = problems.iter().map(|_| Tape::new()).collect();
    let expected: Vec<Vec<f64>> = pool.install(|| problems.par_iter().map(closed_form).collect());
    let mut grads = Vec::new();
    let mut worst = 0.0f64;
    for _ in 0..rounds {
        grads = pool.install(|| {
            tapes
                .par_iter_mut()
                .zip(problems)
                .map(|(tape, p)| gradient(tape, p))
                .collect()
        });
        for (g, e) in grads.iter().zip(&expected) {
            let size = e.iter().fold(0.0f64, |s, v| s.max(v.abs()));
            let diff = g
                .data()
                .iter()
                .zip(e)
                .fold(0.0f64, |s, (g, e)| s.max((g - e).abs()));
            worst = worst.max(diff / size);
        }
    }
    (grads, worst)
}

fn main() -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("host-{i}"))
        .build()?;
    // Large products and elementwise kernels run on whichever rayon pool calls them: here,
    // inside the tasks, the host's.
    tapegrad::tape::set_parallelism(Parallelism::Rayon);
    let problems: Vec<Problem> = (0..32).map(|i| problem(i, (192, 256, 64))).collect();
    let start = std::time::Instant::now();
    let (grads, worst) = run(&pool, &problems, 3);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} gradients of [{}, {}], 3 rounds, on a pool of {} threads: {seconds:.2} s",
        grads.len(),
        grads[0].shape()[0],
        grads[0].shape()[1],
        pool.current_num_threads()
    );
    println!("largest relative difference from the closed form: {worst:.2e}");
    if worst > 1e-12 {
        return Err(format!("a gradient differs from its closed form by {worst:.2e}").into());
    }
    Ok(())
}
