//! An MLP on the built-in digits, with the `Trainer` API directly: what `tapegrad` (the
//! command-line program) does by default, in a page.
//!
//! The 1,797 images of 8×8 pixels are split 80/20 (seeded), standardised with statistics of
//! the training part, and a 64-256-128-10 ReLU network is trained with Adam on mini-batches
//! of 32, the learning rate annealed from 0.001 to 0.00001 over the epochs. Every epoch
//! reports the training loss and the test accuracy; the run can be stopped from the callback.
//!
//! Run with `cargo run --release --example digits_mlp`.

use tapegrad::prelude::*;
use tapegrad::train::data;

/// Errors of the example: whatever went wrong, with its message.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Trains on the digits for `epochs` with hidden widths `hidden` and `seed`, calling
/// `on_epoch` after every epoch; returns the history.
pub fn run(
    hidden: &[usize],
    epochs: usize,
    seed: u64,
    mut on_epoch: impl FnMut(&tapegrad::train::trainer::EpochStats),
) -> Result<History> {
    let (mut train_set, mut test_set) = data::digits::<f32>()?.split(0.2, seed)?;
    let scaler = Standardizer::fit(train_set.features())?;
    scaler.apply(&mut train_set)?;
    scaler.apply(&mut test_set)?;

    let mut sizes = vec![64];
    sizes.extend_from_slice(hidden);
    sizes.push(10);
    let mut model = Mlp::<f32>::new(&sizes, Activation::Relu, seed)?;
    let mut adam = Adam::new(AdamConfig::default())?;
    let trainer = Trainer::new(TrainConfig {
        epochs,
        batch_size: 32,
        seed,
        ..TrainConfig::default()
    })?
    .with_schedule(CosineAnnealing::new(1e-3, 1e-5, epochs.max(2) - 1)?);
    Ok(trainer.fit(
        &mut model,
        &mut adam,
        &train_set,
        Some(&test_set),
        |event| {
            if let Event::EpochEnd(stats) = event {
                on_epoch(stats);
            }
            Control::Continue
        },
    )?)
}

fn main() -> Result<()> {
    println!("epoch  train loss  test loss  test accuracy");
    let history = run(&[256, 128], 30, 0, |s| {
        let test = s.test.expect("a test split is given");
        println!(
            "{:>5}  {:>10.4}  {:>9.4}  {:>12.2}%",
            s.epoch + 1,
            s.train_loss,
            test.loss,
            100.0 * test.accuracy.unwrap_or(f64::NAN)
        );
    })?;
    let seconds: f64 = history.epochs.iter().map(|e| e.seconds).sum();
    println!("{} epochs in {seconds:.2} s", history.epochs.len());
    Ok(())
}
