//! An ndarray program that takes its gradients from tapegrad.
//!
//! The data, the parameters and the update live in `ndarray` values; only the loss is
//! recorded on a tape, to get its gradient. The problem is least squares with an exact
//! answer: targets `y = Xβ*` made from known coefficients `β*`, so the minimum of
//!
//! ```text
//! L(β) = ‖Xβ − y‖² / n
//! ```
//!
//! is `β*` itself (X has full column rank), and gradient descent must get there.
//!
//! Run with `cargo run --release --example ndarray_program --features ndarray`.

use ndarray::{Array1, Array2, Ix1, Ix2};
use tapegrad::tape::{Array, Tape, TapeError};

/// A least-squares problem held in ndarray values.
pub struct Problem {
    /// Features, `n × d`.
    pub x: Array2<f64>,
    /// Targets, `Xβ*`.
    pub y: Array1<f64>,
    /// The coefficients that made the targets: the minimiser of the loss.
    pub beta_star: Array1<f64>,
}

/// `n` rows of `d` features drawn uniformly from `[-1, 1)` (seeded), an intercept column of
/// ones first, and targets from the coefficients `β*ⱼ = (-1)ʲ (j + 1) / 2`.
///
/// # Errors
/// Only if a conversion fails, which it cannot for these shapes.
pub fn problem(n: usize, d: usize, seed: u64) -> Result<Problem, TapeError> {
    // tapegrad's seeded generator, handed over to ndarray without a copy.
    let features = Array::<f64>::rand_uniform(&[n, d - 1], -1.0, 1.0, seed)
        .into_ndarray()?
        .into_dimensionality::<Ix2>()
        .expect("a 2-D array");
    let mut x = Array2::ones((n, d));
    x.slice_mut(ndarray::s![.., 1..]).assign(&features);
    let beta_star = Array1::from_shape_fn(d, |j| {
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        sign * (j + 1) as f64 / 2.0
    });
    let y = x.dot(&beta_star);
    Ok(Problem { x, y, beta_star })
}

/// The loss `‖Xβ − y‖² / n` at `beta` and its gradient with respect to `beta`, from the tape.
///
/// `x` and `y` are recorded as constants: the data is converted once by the caller into
/// shared arrays, so recording them each step copies nothing. `beta` is copied onto the tape
/// (d numbers) and its gradient handed back as an ndarray vector without a copy.
///
/// # Errors
/// If the shapes of `x`, `y` and `beta` do not fit together.
pub fn loss_and_gradient(
    x: &Array<f64>,
    y: &Array<f64>,
    beta: &Array1<f64>,
) -> Result<(f64, Array1<f64>), TapeError> {
    let tape = Tape::<f64>::new();
    let x = tape.tensor_constant(x.clone());
    let y = tape.tensor_constant(y.clone());
    let b = tape.tensor(beta.into());
    let residual = x.try_matmul(b)?.try_sub(y)?;
    let loss = (residual * residual).mean();
    let mut grads = loss.backward();
    let grad = grads
        .take(b)
        .into_ndarray()?
        .into_dimensionality::<Ix1>()
        .expect("the gradient has the shape of beta");
    Ok((loss.value(), grad))
}

/// The result of [`fit`].
pub struct Fit {
    /// The coefficients reached.
    pub beta: Array1<f64>,
    /// The loss before each step.
    pub losses: Vec<f64>,
    /// The gradient at β = 0, the first one computed.
    pub first_gradient: Array1<f64>,
}

/// `steps` of gradient descent with step `lr` from β = 0; the update `β ← β − lr·∇L` is done
/// in ndarray.
///
/// # Errors
/// If the problem's shapes do not fit together.
pub fn fit(p: &Problem, lr: f64, steps: usize) -> Result<Fit, TapeError> {
    // The data once into tapegrad arrays, shared so that each step's tape takes a reference.
    let x = Array::from(&p.x).shared();
    let y = Array::from(&p.y).shared();
    let mut beta = Array1::<f64>::zeros(p.x.ncols());
    let mut losses = Vec::with_capacity(steps);
    let mut first_gradient = None;
    for _ in 0..steps {
        let (loss, grad) = loss_and_gradient(&x, &y, &beta)?;
        losses.push(loss);
        beta.scaled_add(-lr, &grad);
        first_gradient.get_or_insert(grad);
    }
    Ok(Fit {
        beta,
        losses,
        first_gradient: first_gradient.unwrap_or_else(|| Array1::zeros(p.x.ncols())),
    })
}

fn main() -> Result<(), TapeError> {
    let p = problem(200, 6, 7)?;
    // With features uniform on [-1, 1) the Hessian (2/n)XᵀX is near diag(2, 2/3, …, 2/3),
    // so a step of 0.5 is stable (below 2/λ_max ≈ 1) and contracts every direction.
    let fit = fit(&p, 0.5, 300)?;
    let error = (&fit.beta - &p.beta_star)
        .iter()
        .fold(0.0f64, |m, e| m.max(e.abs()));
    println!("β* = {}", p.beta_star);
    println!("β  = {}", fit.beta);
    println!(
        "loss {:.3e} → {:.3e}, largest error in β {error:.1e}",
        fit.losses[0],
        fit.losses[fit.losses.len() - 1]
    );
    assert!(error < 1e-10, "gradient descent missed β* by {error}");
    Ok(())
}
