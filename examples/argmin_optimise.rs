//! argmin's solvers with gradients and Hessians from the tape, against the same solvers driven
//! by finite differences (the `finitediff` crate, argmin's own companion):
//!
//! - L-BFGS (More–Thuente line search, 7 pairs) on the N-D Rosenbrock function of
//!   `argmin_testfunctions`, written generic over `Float` and differentiated unchanged, from the
//!   classic start (−1.2, 1, −1.2, 1, …);
//! - Newton-CG (More–Thuente) on a logistic regression of the iris flowers, versicolor against
//!   virginica on the four measurements and an intercept.
//!
//! For each it prints the iterations, the function and gradient evaluations argmin asked for,
//! the wall time (median of the repeats) and how close the answer is: the largest `|xᵢ − 1|`
//! at Rosenbrock's minimum (1, …, 1), and for the regression the norm of the hand-derived
//! gradient at the answer and the flowers classified correctly.
//!
//! Run with `cargo run --release --example argmin_optimise --features argmin [-- N REPEATS]`
//! (default N = 100, 5 repeats).

use std::time::Instant;

use tapegrad::tape::argmin::Differentiated;
use tapegrad::tape::argmin::core::{
    CostFunction, Error, Executor, Gradient, Hessian, State, TerminationReason,
};
use tapegrad::tape::argmin::solver::linesearch::MoreThuenteLineSearch;
use tapegrad::tape::argmin::solver::quasinewton::LBFGS;
use tapegrad::tape::argmin::solver::trustregion::{Steihaug, TrustRegion};
use tapegrad::tape::num_traits::Float;

/// Gradients and Hessians by central differences: `finitediff`'s `central_diff` (2N
/// evaluations of the function) and `central_hessian` (central differences of that gradient).
pub struct FiniteDifferences<F> {
    f: F,
}

impl<F: Fn(&[f64]) -> f64> FiniteDifferences<F> {
    /// The problem of minimising `f`.
    pub fn new(f: F) -> Self {
        FiniteDifferences { f }
    }

    fn fd_gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
        let cost = |x: &Vec<f64>| Ok((self.f)(x));
        finitediff::vec::central_diff(&cost)(x)
    }
}

impl<F: Fn(&[f64]) -> f64> CostFunction for FiniteDifferences<F> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
        Ok((self.f)(x))
    }
}

impl<F: Fn(&[f64]) -> f64> Gradient for FiniteDifferences<F> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
        self.fd_gradient(x)
    }
}

impl<F: Fn(&[f64]) -> f64> Hessian for FiniteDifferences<F> {
    type Param = Vec<f64>;
    type Hessian = Vec<Vec<f64>>;
    fn hessian(&self, x: &Vec<f64>) -> Result<Vec<Vec<f64>>, Error> {
        let gradient = |x: &Vec<f64>| self.fd_gradient(x);
        finitediff::vec::central_hessian(&gradient)(x)
    }
}

/// One solver run: what argmin reports, the answer, and the median time of the repeats.
#[derive(Clone, Debug)]
pub struct Run {
    /// How the derivatives were computed: `tape` or `finite differences`.
    pub derivatives: &'static str,
    /// Why the solver stopped (`None`: it did not).
    pub termination: Option<TerminationReason>,
    /// Iterations.
    pub iterations: u64,
    /// Function evaluations argmin asked for, in its own counts (cost, gradient, Hessian).
    pub counts: (u64, u64, u64),
    /// Median wall time of a whole run, seconds.
    pub seconds: f64,
    /// The best point.
    pub x: Vec<f64>,
    /// The function there.
    pub cost: f64,
}

/// Runs `run` `repeats` times (at least once) and keeps the last result with the median time.
fn timed(repeats: usize, mut run: impl FnMut() -> Result<Run, Error>) -> Result<Run, Error> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let t0 = Instant::now();
        let r = run()?;
        times.push(t0.elapsed().as_secs_f64());
        last = Some(r);
    }
    times.sort_by(f64::total_cmp);
    let mut r = last.expect("at least one run");
    r.seconds = times[times.len() / 2];
    Ok(r)
}

/// argmin's counts of (cost, gradient, Hessian) requests.
fn counts<S: State>(state: &S) -> (u64, u64, u64) {
    let counts = state.get_func_counts();
    let get = |name: &str| counts.get(name).copied().unwrap_or(0);
    (
        get("cost_count"),
        get("gradient_count"),
        get("hessian_count"),
    )
}

/// A finished argmin run as a [`Run`] (time filled in by [`timed`]).
fn run_of<S>(derivatives: &'static str, state: &S) -> Run
where
    S: State<Param = Vec<f64>, Float = f64>,
{
    Run {
        derivatives,
        termination: state.get_termination_reason().cloned(),
        iterations: state.get_iter(),
        counts: counts(state),
        seconds: 0.0,
        x: state.get_best_param().cloned().unwrap_or_default(),
        cost: state.get_best_cost(),
    }
}

/// The classic start for N-D Rosenbrock: (−1.2, 1) repeated.
pub fn rosenbrock_start(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect()
}

/// L-BFGS on N-D Rosenbrock, with the tape's gradient and with central differences.
///
/// # Errors
/// argmin's, if a run fails.
pub fn rosenbrock_runs(n: usize, repeats: usize) -> Result<[Run; 2], Error> {
    let lbfgs = || {
        LBFGS::new(MoreThuenteLineSearch::new(), 7)
            .with_tolerance_grad(1e-10)
            .expect("a positive tolerance")
    };
    let tape = timed(repeats, || {
        let problem = Differentiated::new(|x| argmin_testfunctions::rosenbrock(x));
        let result = Executor::new(problem, lbfgs())
            .configure(|s| s.param(rosenbrock_start(n)).max_iters(2_000).counting(true))
            .run()?;
        Ok(run_of("tape", &result.state))
    });
    let fd = timed(repeats, || {
        let problem = FiniteDifferences::new(|x: &[f64]| argmin_testfunctions::rosenbrock(x));
        let result = Executor::new(problem, lbfgs())
            .configure(|s| s.param(rosenbrock_start(n)).max_iters(2_000).counting(true))
            .run()?;
        Ok(run_of("finite differences", &result.state))
    });
    Ok([tape?, fd?])
}

/// Versicolor (0) against virginica (1): rows `[1, sepal length, sepal width, petal length,
/// petal width]` (cm) and labels.
pub fn versicolor_virginica() -> (Vec<[f64; 5]>, Vec<f64>) {
    let text = include_str!("../crates/tape/tests/data/iris.csv");
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<f64> = line
            .split(',')
            .map(|f| f.parse().expect("iris.csv holds numbers"))
            .collect();
        if fields[4] == 0.0 {
            continue;
        }
        let mut row = [1.0; 5];
        row[1..].copy_from_slice(&fields[..4]);
        features.push(row);
        labels.push(fields[4] - 1.0);
    }
    (features, labels)
}

/// The negative log-likelihood `Σ softplus(zₖ) − yₖ·zₖ`, `zₖ = w·xₖ`, for any `Float`, with
/// `softplus(z) = ln(1 + eᶻ)`. (The overflow-proof `max(z, 0) + ln(1 + e^(−|z|))` has the same
/// values, but its pieces have kinks at `z = 0`, where every `zₖ` is at the start `w = 0`: the
/// tape differentiates the branch taken and gives a wrong Hessian there, the zero second
/// derivative of `max` and `|z|`. Here `z` stays far below the 709 where `eᶻ` overflows.)
pub fn logistic_loss<F: Float>(w: &[F], xs: &[[f64; 5]], ys: &[f64]) -> F {
    xs.iter().zip(ys).fold(F::zero(), |loss, (x, &y)| {
        let z = w.iter().zip(x).fold(F::zero(), |s, (&wi, &xi)| {
            s + wi * F::from(xi).expect("a number")
        });
        let softplus = z.exp().ln_1p();
        loss + softplus - z * F::from(y).expect("a number")
    })
}

/// The loss's gradient by hand, `Σ (σ(zₖ) − yₖ)·xₖ`: what the answers are judged by.
pub fn logistic_gradient(w: &[f64], xs: &[[f64; 5]], ys: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; 5];
    for (x, y) in xs.iter().zip(ys) {
        let z: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
        let p = 1.0 / (1.0 + (-z).exp());
        g.iter_mut().zip(x).for_each(|(gi, xi)| *gi += (p - y) * xi);
    }
    g
}

/// The flowers of `xs` that `w` puts on their side.
pub fn correct(w: &[f64], xs: &[[f64; 5]], ys: &[f64]) -> usize {
    xs.iter()
        .zip(ys)
        .filter(|&(x, &y)| {
            let z: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
            (z > 0.0) == (y > 0.5)
        })
        .count()
}

/// Newton-CG on the iris regression from w = 0, with the tape's gradient and Hessian and with
/// central differences.
///
/// # Errors
/// argmin's, if a run fails.
pub fn logistic_runs(repeats: usize) -> Result<[Run; 2], Error> {
    let (xs, ys) = versicolor_virginica();
    let newton = || TrustRegion::new(Steihaug::new().with_max_iters(20));
    let tape = timed(repeats, || {
        let problem = Differentiated::new(|w| logistic_loss(w, &xs, &ys));
        let result = Executor::new(problem, newton())
            .configure(|s| s.param(vec![0.0; 5]).max_iters(50).counting(true))
            .run()?;
        Ok(run_of("tape", &result.state))
    });
    let fd = timed(repeats, || {
        let problem = FiniteDifferences::new(|w: &[f64]| logistic_loss(w, &xs, &ys));
        let result = Executor::new(problem, newton())
            .configure(|s| s.param(vec![0.0; 5]).max_iters(50).counting(true))
            .run()?;
        Ok(run_of("finite differences", &result.state))
    });
    Ok([tape?, fd?])
}

/// Why a run stopped, in argmin's words.
fn stopped(r: &Run) -> String {
    r.termination
        .as_ref()
        .map_or_else(|| "not stopped".to_string(), ToString::to_string)
}

fn main() -> Result<(), Error> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("usage: argmin_optimise [N [REPEATS]]"))
        .collect();
    let n = args.first().copied().unwrap_or(100);
    let repeats = args.get(1).copied().unwrap_or(5);

    println!(
        "| problem | derivatives | stopped | iterations | cost / gradient / Hessian requests | time | accuracy |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in rosenbrock_runs(n, repeats)? {
        let worst = r.x.iter().fold(0.0f64, |m, x| m.max((x - 1.0).abs()));
        println!(
            "| Rosenbrock N = {n}, L-BFGS | {} | {} | {} | {} / {} / {} | {:.2} ms | max abs(xᵢ − 1) = {worst:.1e}, f = {:.1e} |",
            r.derivatives,
            stopped(&r),
            r.iterations,
            r.counts.0,
            r.counts.1,
            r.counts.2,
            r.seconds * 1e3,
            r.cost
        );
    }
    let (xs, ys) = versicolor_virginica();
    for r in logistic_runs(repeats)? {
        let g = logistic_gradient(&r.x, &xs, &ys);
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        println!(
            "| iris logistic regression, trust region (Steihaug), 50 iterations | {} | {} | {} | {} / {} / {} | {:.2} ms | ‖∇‖ = {norm:.1e}, {} of {} correct |",
            r.derivatives,
            stopped(&r),
            r.iterations,
            r.counts.0,
            r.counts.1,
            r.counts.2,
            r.seconds * 1e3,
            correct(&r.x, &xs, &ys),
            xs.len()
        );
    }
    Ok(())
}
