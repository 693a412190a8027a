//! # tapegrad
//!
//! Tape-based reverse-mode automatic differentiation, with neural-network layers and a
//! training driver on top. This crate only re-exports: [`tape`] (the autodiff engine),
//! [`nn`] (layers, activations, losses) and [`train`] (optimisers, data, the training loop).
//!
//! The feature `cli`, on by default, builds the `tapegrad` command-line program (and
//! `train::cli`, with its command-line dependencies); `default-features = false` gives the
//! libraries alone.
//!
//! ```
//! use tapegrad::prelude::*;
//! let tape = Tape::<f64>::new();
//! let x = tape.var(3.0);
//! let y = x * x;
//! assert_eq!(y.backward().wrt(x), 6.0);
//! ```
#![deny(missing_docs)]

pub use nn;
pub use tape;
pub use train;

/// The names most programs need: everything of [`nn::prelude`] (the tape's handles, arrays and
/// shapes; layers, activations, softmax and log-softmax, the losses, cross-entropy with label
/// smoothing among them) and, from [`train`], data sets and their batches, optimisers, the
/// training loop and checkpoints.
///
/// ```
/// use tapegrad::prelude::*;
///
/// let (mut train_set, mut test_set) = tapegrad::train::data::digits::<f32>()?.split(0.2, 0)?;
/// let scaler = Standardizer::fit(train_set.features())?;
/// scaler.apply(&mut train_set)?;
/// scaler.apply(&mut test_set)?;
/// let mut model = Mlp::<f32>::new(&[64, 32, 10], Activation::Relu, 0)?;
/// let mut adam = Adam::new(AdamConfig { lr: 0.01, ..AdamConfig::default() })?;
/// let trainer = Trainer::new(TrainConfig { epochs: 3, batch_size: 32, ..TrainConfig::default() })?;
/// let history = trainer.fit(&mut model, &mut adam, &train_set, Some(&test_set), |_| Control::Continue)?;
/// assert!(history.epochs[2].test.unwrap().accuracy.unwrap() > 0.9);
/// # Ok::<(), TrainError>(())
/// ```
pub mod prelude {
    pub use nn::prelude::*;
    pub use train::TrainError;
    pub use train::checkpoint::{load_model, save_model};
    pub use train::data::{Batch, BatchTargets, Batches, Dataset, Standardizer};
    pub use train::optim::{
        Adam, AdamConfig, AdamW, CosineAnnealing, LrSchedule, Optimizer, Sgd, SgdConfig, StepDecay,
    };
    pub use train::trainer::{Control, Event, History, TrainConfig, Trainer};
}

/// The examples of `README.md`, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

/// The examples of `docs/models.md`, compiled and run as doc-tests (here rather than in `nn`,
/// because the guide also uses `train`'s clipping and schedules).
#[cfg(doctest)]
#[doc = include_str!("../docs/models.md")]
pub struct ModelsGuide;

/// The examples of `docs/gradient-checking.md`, compiled and run as doc-tests (here rather
/// than in `tape`, because the guide also checks an `nn` model).
#[cfg(doctest)]
#[doc = include_str!("../docs/gradient-checking.md")]
pub struct GradientCheckingGuide;

/// The examples of `docs/training.md`, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/training.md")]
pub struct TrainingGuide;

/// The example of `docs/streaming.md`, compiled and run as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../docs/streaming.md")]
pub struct StreamingGuide;

/// The examples of `docs/embedding.md`, compiled and run as doc-tests (the crate's tests turn
/// on the `ndarray` and `nalgebra` conversions).
#[cfg(doctest)]
#[doc = include_str!("../docs/embedding.md")]
pub struct EmbeddingGuide;
