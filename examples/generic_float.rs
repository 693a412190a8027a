//! Code written generic over `num_traits::Float`, differentiated unchanged: a Runge–Kutta
//! integrator and a damped oscillator, written once for any `Float`, run on plain `f64` and
//! on tape handles. The tape gives the sensitivity of the final state to the oscillator's
//! parameters (reverse and forward mode), and Newton's method on that sensitivity finds the
//! damping that brings the oscillator to a chosen position.
//!
//! Run with `cargo run --release --example generic_float`.

use tapegrad::tape::num_traits::Float;
use tapegrad::tape::{TapeError, func};

/// Classical fourth-order Runge–Kutta for `y' = f(y)` from `y0`, `steps` steps of `dt`.
/// Nothing here knows about tapes.
pub fn rk4<F: Float>(f: impl Fn(&[F]) -> Vec<F>, y0: &[F], dt: F, steps: usize) -> Vec<F> {
    let two = F::one() + F::one();
    let six = two * (two + F::one());
    let axpy =
        |y: &[F], a: F, k: &[F]| -> Vec<F> { y.iter().zip(k).map(|(&y, &k)| y + a * k).collect() };
    let mut y = y0.to_vec();
    for _ in 0..steps {
        let k1 = f(&y);
        let k2 = f(&axpy(&y, dt / two, &k1));
        let k3 = f(&axpy(&y, dt / two, &k2));
        let k4 = f(&axpy(&y, dt, &k3));
        y = y
            .iter()
            .enumerate()
            .map(|(i, &yi)| yi + dt / six * (k1[i] + two * k2[i] + two * k3[i] + k4[i]))
            .collect();
    }
    y
}

/// A damped oscillator `x'' = −k·x − c·x'` as a first-order system in `(x, x')`.
pub fn oscillator<F: Float>(k: F, c: F) -> impl Fn(&[F]) -> Vec<F> {
    move |y: &[F]| vec![y[1], -k * y[0] - c * y[1]]
}

/// The position at `t = 5` of the oscillator with stiffness `p[0]` and damping `p[1]`, started
/// at `x = 1` at rest: 500 steps of 0.01.
pub fn final_position<F: Float>(p: &[F]) -> F {
    let start = [F::one(), F::zero()];
    rk4(oscillator(p[0], p[1]), &start, F::from(0.01).unwrap(), 500)[0]
}

/// The final position and its gradient with respect to `(k, c)`, from the tape.
///
/// # Errors
/// What [`func::value_and_grad`] returns.
pub fn sensitivity(k: f64, c: f64) -> Result<(f64, Vec<f64>), TapeError> {
    func::value_and_grad(|p| final_position(p), &[k, c])
}

/// The damping `c` that brings the oscillator of stiffness `k` to `target` at `t = 5`, by
/// Newton's method on `final_position(k, c) − target` from `c0`, with the derivative from
/// forward mode; returns `c` and the iterations taken.
///
/// # Errors
/// What [`func::jvp`] returns.
pub fn fit_damping(k: f64, target: f64, c0: f64) -> Result<(f64, usize), TapeError> {
    let mut c = c0;
    for iteration in 1..=20 {
        // The derivative along (0, 1): ∂x(5)/∂c, in one forward pass.
        let (x, dx_dc) = func::jvp(|p| final_position(p), &[k, c], &[0.0, 1.0])?;
        let step = (x - target) / dx_dc;
        c -= step;
        if step.abs() < 1e-13 * c.abs().max(1.0) {
            return Ok((c, iteration));
        }
    }
    Ok((c, 20))
}

fn main() -> Result<(), TapeError> {
    let (k, c) = (4.0, 0.3);
    let (x, g) = sensitivity(k, c)?;
    println!("x(5) = {x:.6} for k = {k}, c = {c}");
    println!("∂x(5)/∂k = {:.6}, ∂x(5)/∂c = {:.6}", g[0], g[1]);
    let h = 1e-6;
    let fd = |i: usize| {
        let (mut plus, mut minus) = ([k, c], [k, c]);
        plus[i] += h;
        minus[i] -= h;
        (final_position(&plus) - final_position(&minus)) / (2.0 * h)
    };
    println!("central differences:  {:.6}, {:.6}", fd(0), fd(1));
    let (c_fit, iterations) = fit_damping(k, -0.1, 0.3)?;
    println!(
        "c = {c_fit:.12} brings x(5) to {:.12} ({iterations} Newton iterations)",
        final_position(&[k, c_fit])
    );
    Ok(())
}
