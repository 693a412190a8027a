//! A network with one hidden layer of tanh units fitting `sin` on [−π, π].
//!
//! 256 evenly spaced points `x` with targets `sin x`; the model `x ↦ W₂·tanh(W₁x + b₁) + b₂`
//! with 16 hidden units (Xavier initialisation), trained on the mean squared error with Adam
//! on mini-batches of 32, the step annealed from 0.05 to 0.0005 over 300 epochs. The fit is
//! measured on 1,000 other points of the interval.
//!
//! Run with `cargo run --release --example sin_fit`.

use std::f64::consts::PI;

use tapegrad::prelude::*;

/// Errors of the example: whatever went wrong, with its message.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `n` evenly spaced points of [−π, π] (both ends included), `[n, 1]`, and `sin` of each.
pub fn samples(n: usize) -> Result<Dataset<f64>> {
    let x: Vec<f64> = (0..n)
        .map(|i| -PI + 2.0 * PI * i as f64 / (n - 1) as f64)
        .collect();
    let y: Vec<f64> = x.iter().map(|x| x.sin()).collect();
    Ok(Dataset::regression(
        Array::from_vec(x, &[n, 1])?,
        Array::from_vec(y, &[n])?,
    )?)
}

/// Trains a `1-hidden-1` tanh network for `epochs` and returns it with the mean squared
/// error after each epoch on 1,000 points the training never saw.
pub fn fit(hidden: usize, epochs: usize, seed: u64) -> Result<(Mlp<f64>, Vec<f64>)> {
    let train_set = samples(256)?;
    // 1,000 points, none of them on the training grid (999 and 255 are coprime).
    let check = samples(1000)?;
    let mut model = Mlp::<f64>::new(&[1, hidden, 1], Activation::Tanh, seed)?;
    let mut adam = Adam::new(AdamConfig {
        lr: 0.05,
        ..AdamConfig::default()
    })?;
    let trainer = Trainer::new(TrainConfig {
        epochs,
        batch_size: 32,
        seed,
        ..TrainConfig::default()
    })?
    .with_schedule(CosineAnnealing::new(0.05, 5e-4, epochs.max(2) - 1)?);
    let history = trainer.fit(&mut model, &mut adam, &train_set, Some(&check), |_| {
        Control::Continue
    })?;
    let mse = history
        .epochs
        .iter()
        .map(|e| e.test.expect("evaluated every epoch").loss)
        .collect();
    Ok((model, mse))
}

fn main() -> Result<()> {
    let start = std::time::Instant::now();
    let (model, mse) = fit(16, 300, 0)?;
    for e in [1, 10, 30, 100, 300] {
        println!("epoch {e:>3}: mean squared error {:.2e}", mse[e - 1]);
    }
    println!("{:.2} s\n", start.elapsed().as_secs_f64());
    let tape = Tape::new();
    let xs = [-3.0, -PI / 2.0, -1.0, 0.0, 0.5, PI / 2.0, 3.0];
    let x = tape.tensor_constant(Array::from_vec(xs.to_vec(), &[xs.len(), 1])?);
    let y = model.bind(&tape).forward(x).to_vec();
    println!("{:>8} {:>10} {:>10}", "x", "network", "sin x");
    for (x, y) in xs.iter().zip(y) {
        println!("{x:>8.4} {y:>10.5} {:>10.5}", x.sin());
    }
    Ok(())
}
