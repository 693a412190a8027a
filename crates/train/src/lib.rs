//! # train — training for tapegrad
//!
//! Everything around the tape that training a model needs:
//!
//! - [`data`]: an in-memory [`data::Dataset`] (features `[n, d]` plus class labels or
//!   regression targets), a seeded train/test split, standardisation fitted on the training
//!   split, mini-batches shuffled per epoch, and readers for IDX (MNIST) and CSV files, raw
//!   or gzip-compressed; the scikit-learn digits are embedded ([`data::digits`]).
//! - [`optim`]: [`optim::Sgd`] (momentum, Nesterov, weight decay), [`optim::Adam`] and
//!   [`optim::AdamW`] with PyTorch's update rules, and learning-rate schedules.
//! - [`checkpoint`]: named parameters in safetensors files, written atomically, loaded with
//!   every name and shape checked.
//! - [`parallel`]: data parallelism on one machine — a batch shared among threads, one tape
//!   each, the gradients summed in a fixed order into one flat buffer.
//! - [`distributed`]: data parallelism across processes — a [`distributed::Collective`]
//!   (MPI with the feature `mpi`) that sums each step's gradients over the ranks.
//! - [`resume`]: the training state (optimiser state, epoch, batch order) saved beside the
//!   weights, so that an interrupted run continues bit for bit.
//! - [`metrics`]: accuracy, running means, confusion matrices.
//! - [`trainer`]: the training loop — epochs of shuffled mini-batches, evaluation on a
//!   held-out split, an event stream that can stop the run, and a safe stop (parameters
//!   restored) on a non-finite loss.
//! - `cli` (feature `cli`): the `tapegrad` command-line program (train, evaluate, predict).
//!
//! # Features
//!
//! - **`cli`** (on by default): the `cli` module, with the command line (`clap`), the
//!   progress bar (`indicatif`), the `--plot` curves (`plotters`) and the clean-up on
//!   SIGINT and SIGTERM (`signal-hook`). Nothing else in the
//!   crate uses them: a program that trains from code can depend on
//!   `tapegrad-train = { version = "0.1", default-features = false }` and builds none of
//!   them. Everything outside `cli`, [`trainer::Trainer`] included, is the same with
//!   or without it.
//! - **`mpi`** (off by default): `distributed::MpiCommunicator`, the ranks `mpirun` started
//!   as a [`distributed::Collective`], and in the program, training across them. Building
//!   it needs an MPI library and libclang (Debian: `libopenmpi-dev`, `libclang-dev`).
//!
//! Bad input is an error, never a panic and never garbage: a corrupt file is a
//! [`TrainError`] that names the file and what is wrong with it.
//!
//! ```
//! use tape::{Array, Tape};
//! use train::data;
//! use train::metrics::Accuracy;
//! use train::optim::{Optimizer, Sgd, SgdConfig};
//!
//! // Softmax regression on the embedded digits, a few epochs of mini-batch SGD.
//! let (mut train_set, mut test_set) = data::digits::<f64>()?.split(0.2, 0)?;
//! let scaler = data::Standardizer::fit(train_set.features())?;
//! scaler.apply(&mut train_set)?;
//! scaler.apply(&mut test_set)?;
//!
//! let mut w = Array::<f64>::zeros(&[64, 10]);
//! let mut sgd = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() })?;
//! for epoch in 0..3 {
//!     for batch in train_set.shuffled_batches(32, 1, epoch)? {
//!         let tape = Tape::new();
//!         let wt = tape.tensor(w.clone());
//!         let logits = tape.tensor_constant(batch.features.clone()).matmul(wt);
//!         // Mean cross-entropy: logsumexp(z) − z[label], averaged over the batch (the nn
//!         // crate has a fused, max-shifted version of this).
//!         let labels = batch.labels().unwrap();
//!         let lse = logits.exp().sum_axis(1, false).ln();
//!         let picked = logits.gather(labels);
//!         let loss = (lse - picked).mean();
//!         let grads = loss.backward();
//!         sgd.update("w", &mut w, grads.wrt(wt))?;
//!     }
//! }
//! let mut acc = Accuracy::default();
//! for batch in test_set.batches(256)? {
//!     let tape = Tape::new();
//!     let logits = tape.tensor(batch.features.clone()).matmul(tape.tensor(w.clone()));
//!     acc.add(&logits.value(), batch.labels().unwrap())?;
//! }
//! assert!(acc.value().unwrap() > 0.9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod checkpoint;
#[cfg(feature = "cli")]
pub mod cli;
pub mod data;
pub mod distributed;
mod error;
mod memory;
pub mod metrics;
pub mod optim;
pub mod parallel;
pub mod resume;
pub mod trainer;

pub use error::{Result, TrainError};
