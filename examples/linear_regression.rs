//! Linear regression by gradient descent on the tape, checked against least squares.
//!
//! The diabetes data (442 patients, 10 features, a real target; embedded in the `train`
//! crate) with standardised features `X` and an intercept: minimise the mean squared error
//!
//! ```text
//! L(β) = ‖y − Aβ‖² / n,   A = [1 | X]   (n × 11)
//! ```
//!
//! by plain gradient descent, the gradient coming from the tape, and compare β with the
//! least-squares solution of the normal equations `AᵀA β = Aᵀy`, computed independently in
//! plain `f64` (a Cholesky factorisation, no tapegrad).
//!
//! The step is `1/λ_max` of the Hessian `(2/n)·AᵀA` (λ_max by power iteration), the largest
//! step that is monotone in every direction; the error along an eigenvector with eigenvalue λ
//! then shrinks by `1 − λ/λ_max` per step, so the condition number λ_max/λ_min (printed)
//! says how many steps it takes.
//!
//! Run with `cargo run --release --example linear_regression`.

use tapegrad::prelude::*;
use tapegrad::train::data;

/// Errors of the example: whatever went wrong, with its message.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The regression problem: standardised features `[n, d]` and targets `[n, 1]`.
pub struct Problem {
    /// Standardised features.
    pub x: Array<f64>,
    /// Targets, one per row.
    pub y: Array<f64>,
}

/// The diabetes data with each feature standardised to mean 0 and standard deviation 1.
pub fn diabetes() -> Result<Problem> {
    let mut d = data::diabetes::<f64>()?;
    Standardizer::fit(d.features())?.apply(&mut d)?;
    let (x, targets) = d.into_parts();
    let data::Targets::Values(y) = targets else {
        unreachable!("the diabetes data has real-valued targets")
    };
    Ok(Problem { x, y })
}

/// β = (intercept, coefficients…) after `steps` of gradient descent with step `lr` from 0,
/// and the loss before each step.
pub fn gradient_descent(p: &Problem, lr: f64, steps: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let d = p.x.shape()[1];
    let mut w = Array::<f64>::zeros(&[d, 1]);
    let mut b = Array::<f64>::zeros(&[1]);
    // Plain gradient descent: SGD with no momentum, applied to the full batch.
    let mut gd = Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })?;
    let mut tape = Tape::new();
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (loss, grad_w, grad_b) = {
            let (wt, bt) = (tape.tensor(w.clone()), tape.tensor(b.clone()));
            let x = tape.tensor_constant(p.x.clone());
            let y = tape.tensor_constant(p.y.clone());
            let residual = x.matmul(wt) + bt - y;
            let loss = (residual * residual).mean();
            let grads = loss.backward();
            (loss.value(), grads.wrt(wt).clone(), grads.wrt(bt).clone())
        };
        tape.clear();
        losses.push(loss);
        gd.update("w", &mut w, &grad_w)?;
        gd.update("b", &mut b, &grad_b)?;
    }
    let mut beta = vec![b.data()[0]];
    beta.extend_from_slice(w.data());
    Ok((beta, losses))
}

/// `A = [1 | X]` as rows of plain numbers.
fn design(p: &Problem) -> Vec<Vec<f64>> {
    let d = p.x.shape()[1];
    p.x.data()
        .chunks_exact(d)
        .map(|row| std::iter::once(1.0).chain(row.iter().copied()).collect())
        .collect()
}

/// The least-squares β (intercept first), from the normal equations `AᵀA β = Aᵀy` solved by
/// a Cholesky factorisation `AᵀA = LLᵀ`, in plain `f64`.
pub fn least_squares(p: &Problem) -> Vec<f64> {
    let a = design(p);
    let k = a[0].len();
    let mut ata = vec![vec![0.0; k]; k];
    let mut aty = vec![0.0; k];
    for (row, &y) in a.iter().zip(p.y.data()) {
        for i in 0..k {
            aty[i] += row[i] * y;
            for j in 0..k {
                ata[i][j] += row[i] * row[j];
            }
        }
    }
    // L such that LLᵀ = AᵀA (AᵀA is symmetric positive definite: A has full column rank).
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|m| l[i][m] * l[j][m]).sum();
            if i == j {
                l[i][i] = (ata[i][i] - s).sqrt();
            } else {
                l[i][j] = (ata[i][j] - s) / l[j][j];
            }
        }
    }
    // Forward substitution L z = Aᵀy, then back substitution Lᵀ β = z.
    let mut z = vec![0.0; k];
    for i in 0..k {
        z[i] = (aty[i] - (0..i).map(|m| l[i][m] * z[m]).sum::<f64>()) / l[i][i];
    }
    let mut beta = vec![0.0; k];
    for i in (0..k).rev() {
        beta[i] = (z[i] - (i + 1..k).map(|m| l[m][i] * beta[m]).sum::<f64>()) / l[i][i];
    }
    beta
}

/// The mean squared error of β (intercept first), in plain `f64`.
pub fn mse(p: &Problem, beta: &[f64]) -> f64 {
    let a = design(p);
    let sum: f64 = a
        .iter()
        .zip(p.y.data())
        .map(|(row, &y)| {
            let pred: f64 = row.iter().zip(beta).map(|(a, b)| a * b).sum();
            (y - pred).powi(2)
        })
        .sum();
    sum / a.len() as f64
}

/// The largest and smallest eigenvalues of the Hessian `(2/n)·AᵀA`, by power iteration on
/// it and on `λ_max·I − H` (plain `f64`, 2,000 iterations each: far more than enough here).
pub fn hessian_extremes(p: &Problem) -> (f64, f64) {
    let a = design(p);
    let (n, k) = (a.len() as f64, a[0].len());
    let h_times = |v: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; k];
        for row in &a {
            let av: f64 = row.iter().zip(v).map(|(a, v)| a * v).sum();
            for (o, r) in out.iter_mut().zip(row) {
                *o += 2.0 / n * r * av;
            }
        }
        out
    };
    let power = |apply: &dyn Fn(&[f64]) -> Vec<f64>| -> f64 {
        let mut v: Vec<f64> = (0..k).map(|i| 1.0 + i as f64 * 0.1).collect();
        let mut lambda = 0.0;
        for _ in 0..2000 {
            let w = apply(&v);
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            lambda = w.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>()
                / v.iter().map(|x| x * x).sum::<f64>();
            v = w.iter().map(|x| x / norm).collect();
        }
        lambda
    };
    let max = power(&h_times);
    let shifted = |v: &[f64]| -> Vec<f64> {
        let hv = h_times(v);
        v.iter().zip(hv).map(|(v, hv)| max * v - hv).collect()
    };
    let min = max - power(&shifted);
    (max, min)
}

/// ‖a − b‖ / ‖b‖.
pub fn relative_difference(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(a, b)| (a - b).powi(2)).sum();
    let norm: f64 = b.iter().map(|b| b * b).sum();
    (diff / norm).sqrt()
}

fn main() -> Result<()> {
    let p = diabetes()?;
    let (lambda_max, lambda_min) = hessian_extremes(&p);
    println!(
        "Hessian eigenvalues: largest {lambda_max:.4}, smallest {lambda_min:.5}, condition number {:.0}",
        lambda_max / lambda_min
    );
    let steps = 20_000;
    let start = std::time::Instant::now();
    let (beta_gd, losses) = gradient_descent(&p, 1.0 / lambda_max, steps)?;
    let seconds = start.elapsed().as_secs_f64();
    let beta_ls = least_squares(&p);
    for &s in &[0, 10, 100, 1000, 5000, steps - 1] {
        println!("step {s:>6}: loss {:.6}", losses[s]);
    }
    println!("{steps} steps in {seconds:.2} s\n");
    let names = [
        "intercept",
        "age",
        "sex",
        "bmi",
        "bp",
        "s1",
        "s2",
        "s3",
        "s4",
        "s5",
        "s6",
    ];
    println!("{:<10} {:>14} {:>14}", "", "gradient", "least squares");
    for ((name, g), l) in names.iter().zip(&beta_gd).zip(&beta_ls) {
        println!("{name:<10} {g:>14.6} {l:>14.6}");
    }
    println!(
        "\nrelative difference of β: {:.2e}; mean squared error {:.6} (gradient descent) and {:.6} (least squares)",
        relative_difference(&beta_gd, &beta_ls),
        mse(&p, &beta_gd),
        mse(&p, &beta_ls)
    );
    Ok(())
}
