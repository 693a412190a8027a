//! `tape::argmin::Differentiated` driving argmin's solvers: L-BFGS on the 100-D Rosenbrock
//! function, a trust region (Steihaug) on a logistic regression of the iris data, each
//! checked against an answer computed without tapegrad; the cache of the last point; errors.

use std::panic::{AssertUnwindSafe, catch_unwind};

use argmin::core::{CostFunction, Executor, Gradient, Hessian, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use argmin::solver::trustregion::{Steihaug, TrustRegion};
use argmin_testfunctions::rosenbrock;
use num_traits::Float;
use tape::argmin::{Counts, Differentiated};
use tape::{Scalar, TapeError, func};

/// The counts argmin kept for a run: (cost, gradient, Hessian) requests.
fn argmin_counts<S: State>(state: &S) -> (u64, u64, u64) {
    let counts = state.get_func_counts();
    let get = |name: &str| counts.get(name).copied().unwrap_or(0);
    (
        get("cost_count"),
        get("gradient_count"),
        get("hessian_count"),
    )
}

#[test]
fn lbfgs_reaches_the_minimum_of_the_100d_rosenbrock_function() {
    // The classic start (−1.2, 1) repeated: far from the minimum at (1, …, 1), in the curved
    // valley's wrong half.
    let x0: Vec<f64> = (0..100)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect();
    let problem = Differentiated::new(|x| rosenbrock(x));
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
        .with_tolerance_grad(1e-10)
        .unwrap();
    let mut result = Executor::new(problem, solver)
        .configure(|state| state.param(x0).max_iters(1000).counting(true))
        .run()
        .unwrap();
    let state = &result.state;
    assert_eq!(
        state.get_termination_reason(),
        Some(&TerminationReason::SolverConverged)
    );
    let best = state.get_best_param().unwrap();
    let worst = best.iter().fold(0.0f64, |m, x| m.max((x - 1.0).abs()));
    // With ‖∇f‖ ≤ 1e-10 at the end, |xᵢ − 1| is bounded by ‖∇f‖ over the smallest curvature
    // at the minimum, which is small along the valley: 2e-8 is reached, and f ≈ 2e-16.
    assert!(worst < 1e-7, "max |xᵢ − 1| = {worst:e}");
    assert!(state.get_best_cost() < 1e-14, "{}", state.get_best_cost());
    // At the minimum the gradient, from the hand-written derivative, vanishes.
    let g = argmin_testfunctions::rosenbrock_derivative(best);
    assert!(g.iter().all(|gi| gi.abs() < 1e-7), "{g:?}");

    let (cost, gradient, hessian) = argmin_counts(state);
    let counts = result.problem.take_problem().unwrap().counts();
    // The problem counted what argmin asked for; every cost was asked at a new point, and the
    // gradient there was always the one that point's pass had computed.
    assert_eq!(
        (counts.cost, counts.gradient, counts.hessian),
        (cost, gradient, hessian)
    );
    assert_eq!(counts.value_and_grad, counts.cost);
    assert_eq!(counts.reused(), counts.gradient);
}

#[test]
fn lbfgs_in_single_precision() {
    let problem = Differentiated::<_, f32>::new(|x| rosenbrock(x));
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 5);
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(vec![-1.2f32, 1.0, -1.2, 1.0]).max_iters(200))
        .run()
        .unwrap();
    let best = result.state.get_best_param().unwrap();
    // Rosenbrock's valley is flat to single precision within about 1e-3 of the minimum.
    assert!(best.iter().all(|x| (x - 1.0).abs() < 1e-2), "{best:?}");
}

/// Versicolor (0) against virginica (1) on the four measurements of the iris flowers, with a
/// column of ones for the intercept: 100 rows of `[1, sepal length, sepal width, petal
/// length, petal width]`.
fn versicolor_virginica() -> (Vec<[f64; 5]>, Vec<f64>) {
    let text = include_str!("../data/iris.csv");
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let label: u8 = fields[4].parse().unwrap();
        if label == 0 {
            continue;
        }
        let mut row = [1.0; 5];
        for (r, f) in row[1..].iter_mut().zip(&fields[..4]) {
            *r = f.parse().unwrap();
        }
        features.push(row);
        labels.push(f64::from(label - 1));
    }
    (features, labels)
}

/// The negative log-likelihood of a logistic regression, `Σ softplus(zₖ) − yₖ·zₖ` with
/// `zₖ = w·xₖ`, written for any `Float`, with `softplus(z) = ln(1 + eᶻ)`: smooth everywhere, so
/// that the tape's Hessian is the true one at the start `w = 0` too, where every `zₖ` is 0
/// (`max(z, 0) + ln(1 + e^(−|z|))` would put a kink of `max` and of `|z|` there).
fn logistic_loss<F: Float>(w: &[F], xs: &[[f64; 5]], ys: &[f64]) -> F {
    xs.iter().zip(ys).fold(F::zero(), |loss, (x, &y)| {
        let z = w
            .iter()
            .zip(x)
            .fold(F::zero(), |s, (&wi, &xi)| s + wi * F::from(xi).unwrap());
        let softplus = z.exp().ln_1p();
        loss + softplus - z * F::from(y).unwrap()
    })
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The loss's gradient and Hessian by hand: `∇ = Σ (σ(zₖ) − yₖ)·xₖ`,
/// `∇² = Σ σ(zₖ)(1 − σ(zₖ))·xₖxₖᵀ`.
fn hand_gradient_hessian(w: &[f64], xs: &[[f64; 5]], ys: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut g = vec![0.0; 5];
    let mut h = vec![vec![0.0; 5]; 5];
    for (x, y) in xs.iter().zip(ys) {
        let p = sigmoid(x.iter().zip(w).map(|(a, b)| a * b).sum());
        for i in 0..5 {
            g[i] += (p - y) * x[i];
            for j in 0..5 {
                h[i][j] += p * (1.0 - p) * x[i] * x[j];
            }
        }
    }
    (g, h)
}

/// `a⁻¹·b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col].clone();
            for (v, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *v -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    x
}

/// The maximum-likelihood weights by Newton's method written out by hand (iteratively
/// reweighted least squares), with neither tapegrad nor argmin: 30 steps from zero, far more
/// than the 10 or so after which the steps stop changing the weights.
fn irls(xs: &[[f64; 5]], ys: &[f64]) -> Vec<f64> {
    let mut w = vec![0.0; 5];
    for _ in 0..30 {
        let (g, h) = hand_gradient_hessian(&w, xs, ys);
        let step = solve(h, g);
        w.iter_mut().zip(&step).for_each(|(wi, s)| *wi -= s);
    }
    w
}

/// What a fit of the versicolor-virginica regression must satisfy: the hand-derived gradient
/// vanishes, the weights are IRLS's, and 98 of the 100 flowers fall on their side (the two
/// classes overlap, so the likelihood has a finite maximum and no plane separates them all).
fn check_logistic_fit(w: &[f64], xs: &[[f64; 5]], ys: &[f64]) {
    let (g, _) = hand_gradient_hessian(w, xs, ys);
    let g_norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(g_norm < 1e-6, "‖∇‖ = {g_norm:e} at {w:?}");
    let reference = irls(xs, ys);
    for (a, b) in w.iter().zip(&reference) {
        assert!(
            (a - b).abs() < 1e-6 * b.abs().max(1.0),
            "{w:?} vs {reference:?}"
        );
    }
    let correct = xs
        .iter()
        .zip(ys)
        .filter(|&(x, &y)| {
            let z: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
            (z > 0.0) == (y > 0.5)
        })
        .count();
    assert_eq!(correct, 98);
}

#[test]
fn a_trust_region_fits_the_same_regression() {
    let (xs, ys) = versicolor_virginica();
    let problem = Differentiated::new(|w| logistic_loss(w, &xs, &ys));
    let solver = TrustRegion::new(Steihaug::new().with_max_iters(20));
    let mut result = Executor::new(problem, solver)
        .configure(|state| state.param(vec![0.0; 5]).max_iters(30))
        .run()
        .unwrap();
    let w = result.state.get_best_param().unwrap();
    check_logistic_fit(w, &xs, &ys);
    // The tape's gradient at the fit is as small as the hand-derived one.
    let g = func::grad(|w| logistic_loss(w, &xs, &ys), w).unwrap();
    assert!(g.iter().all(|gi| gi.abs() < 1e-6), "{g:?}");
    // argmin's trust region asks for the cost at each trial point, and at an accepted one for
    // the gradient and the Hessian: every gradient but the first comes from the pass that
    // computed the cost there.
    let counts = result.problem.take_problem().unwrap().counts();
    assert!(counts.gradient > 5, "{counts:?}");
    assert!(counts.reused() >= counts.gradient - 1, "{counts:?}");
}

#[test]
fn answers_equal_the_function_transforms_at_every_point() {
    fn f<'t>(x: &[Scalar<'t, f64>]) -> Scalar<'t, f64> {
        (x[0] * x[1]).sin() + x[2].exp() * x[0]
    }
    let problem = Differentiated::new(f);
    let points = [
        [0.3, -1.0, 0.5],
        [0.3, -1.0, 0.5],
        [2.0, 0.1, -0.4],
        [0.3, -1.0, 0.5],
    ];
    for (i, x) in points.iter().enumerate() {
        let x = x.to_vec();
        let (value, grad) = func::value_and_grad(f, &x).unwrap();
        // Alternate which is asked first.
        if i % 2 == 0 {
            assert_eq!(problem.cost(&x).unwrap(), value);
            assert_eq!(problem.gradient(&x).unwrap(), grad);
        } else {
            assert_eq!(problem.gradient(&x).unwrap(), grad);
            assert_eq!(problem.cost(&x).unwrap(), value);
        }
        assert_eq!(problem.hessian(&x).unwrap(), func::hessian(f, &x).unwrap());
    }
    // Each point's second request comes from its first's pass, and point 1 (equal to point
    // 0) takes both from point 0's Hessian evaluation; point 3 equals point 0 but comes after
    // point 2, so it is evaluated again.
    let counts = problem.counts();
    assert_eq!(
        counts,
        Counts {
            cost: 4,
            gradient: 4,
            hessian: 4,
            value_and_grad: 3
        }
    );
    assert_eq!(counts.reused(), 5);
}

#[test]
fn a_negative_zero_is_another_point() {
    let problem = Differentiated::new(|x| x[0].recip());
    assert_eq!(problem.cost(&vec![0.0]).unwrap(), f64::INFINITY);
    assert_eq!(problem.cost(&vec![-0.0]).unwrap(), f64::NEG_INFINITY);
    assert_eq!(problem.counts().value_and_grad, 2);
}

#[test]
fn a_closure_that_panicked_leaves_the_problem_usable() {
    let problem = Differentiated::new(|x| {
        assert!(x[0].value() >= 0.0, "negative input");
        x[0].sqrt()
    });
    assert_eq!(problem.cost(&vec![4.0]).unwrap(), 2.0);
    let panicked = catch_unwind(AssertUnwindSafe(|| problem.gradient(&vec![-1.0])));
    assert!(panicked.is_err());
    // The last point is still 4, with its gradient 1/(2·2).
    assert_eq!(problem.gradient(&vec![4.0]).unwrap(), vec![0.25]);
    assert_eq!(problem.cost(&vec![9.0]).unwrap(), 3.0);
}

#[test]
fn tape_errors_become_argmin_errors_that_name_the_request() {
    // Only a tape that lives forever can lend a handle to every recording.
    let other: &'static tape::Tape<f64> = Box::leak(Box::new(tape::Tape::new()));
    let y = other.var(1.0);
    let problem = Differentiated::new(|_| y);
    for (err, what) in [
        (problem.cost(&vec![1.0]).unwrap_err(), "cost"),
        (problem.gradient(&vec![1.0]).unwrap_err(), "gradient"),
        (problem.hessian(&vec![1.0]).unwrap_err(), "Hessian"),
    ] {
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "tapegrad could not compute the {what} argmin asked for"
            )),
            "{message}"
        );
        assert!(
            message.contains("another tape than its inputs"),
            "{message}"
        );
        assert!(matches!(
            err.downcast_ref::<TapeError>(),
            Some(TapeError::InvalidArgument { .. })
        ));
    }
    // A solver passes the error on.
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 3);
    let run = Executor::new(Differentiated::new(|_| y), solver)
        .configure(|state| state.param(vec![1.0]))
        .run();
    let Err(err) = run else {
        panic!("the run succeeded")
    };
    assert!(
        err.to_string().contains("could not compute the cost"),
        "{err}"
    );
}
