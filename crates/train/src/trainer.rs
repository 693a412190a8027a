//! [`Trainer`]: epochs of mini-batch training, evaluation on a held-out split, a stream of
//! events that can stop the run, and a safe stop on a non-finite loss.
//!
//! Each step binds the model's parameters onto a tape, runs the forward pass on one
//! mini-batch (shuffled by default; in stored order with [`TrainConfig::shuffle`] off, or in
//! the order of a [`Trainer::with_sampler`]), computes the loss — softmax cross-entropy for
//! class labels, mean squared error for regression targets — and its gradients, clips them if
//! [`TrainConfig::clip_grad_norm`] says so, and hands every parameter with its gradient to the
//! optimiser, at a rate a schedule may set per epoch or per step. The tape is cleared and
//! reused between steps.
//!
//! A run is deterministic: the batch order comes from [`TrainConfig::seed`] and the epoch
//! (see [`Dataset::shuffled_batches`]), so the same model, data, optimiser and seed give the
//! same parameters and the same history, bit for bit.
//!
//! ```
//! use nn::{Activation, Mlp};
//! use train::data::{self, Standardizer};
//! use train::optim::{Adam, AdamConfig};
//! use train::trainer::{Control, Event, TrainConfig, Trainer};
//!
//! let (mut train_set, mut test_set) = data::digits::<f32>()?.split(0.2, 0)?;
//! let scaler = Standardizer::fit(train_set.features())?;
//! scaler.apply(&mut train_set)?;
//! scaler.apply(&mut test_set)?;
//!
//! let mut model = Mlp::<f32>::new(&[64, 32, 10], Activation::Relu, 1)?;
//! let mut adam = Adam::new(AdamConfig { lr: 0.01, ..AdamConfig::default() })?;
//! let trainer = Trainer::new(TrainConfig { epochs: 5, batch_size: 32, ..TrainConfig::default() })?;
//! let history = trainer.fit(&mut model, &mut adam, &train_set, Some(&test_set), |event| {
//!     if let Event::EpochEnd(stats) = event {
//!         println!("epoch {}: loss {:.3}", stats.epoch, stats.train_loss);
//!     }
//!     Control::Continue
//! })?;
//! let last = history.epochs.last().unwrap();
//! assert!(last.test.unwrap().accuracy.unwrap() > 0.9);
//! # Ok::<(), train::TrainError>(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use nn::loss::{mse_loss, softmax_cross_entropy};
use nn::{BoundModel, Model, ParamGrads};
use tape::{Array, Element, Scalar, Tape, Tensor};

use crate::data::stream::StepPlan;
use crate::data::{Batch, BatchTargets, Batches, CsvStream, Dataset, Part, Sampler};
use crate::distributed::Collective;
use crate::metrics::{Accuracy, RunningMean};
use crate::optim::{LrSchedule, Optimizer, clip_grad_norm};
use crate::parallel::GradBuffer;
use crate::{Result, TrainError};

/// What a training run does; the fields are public, and [`Default`] gives 10 epochs of
/// shuffled batches of 64, seed 0, no gradient clipping.
///
/// ```
/// use train::trainer::TrainConfig;
/// let c = TrainConfig { epochs: 3, ..TrainConfig::default() };
/// assert_eq!((c.epochs, c.batch_size, c.seed, c.shuffle, c.clip_grad_norm, c.workers), (3, 64, 0, true, None, 1));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// The number of passes over the training data.
    pub epochs: usize,
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// The seed of the batch order; each epoch shuffles with its own stream.
    pub seed: u64,
    /// Samples per forward pass when evaluating (memory only: it does not change results).
    pub eval_batch_size: usize,
    /// Whether each epoch visits the samples in a shuffled order (`true`, the default; the
    /// order comes from `seed` and the epoch) or in their stored order (`false`, PyTorch's
    /// `DataLoader(shuffle=False)`). A sampler set with [`Trainer::with_sampler`] overrides it.
    pub shuffle: bool,
    /// Clip the gradients by their global norm before each update, as PyTorch's
    /// `clip_grad_norm_(model.parameters(), max_norm)`: with `‖g‖` the L2 norm of all
    /// gradients together and `c = max_norm/(‖g‖ + 10⁻⁶)`, every gradient becomes `c·g`
    /// when `c < 1` (see [`crate::optim::clip_grad_norm`]). `None` (the default): no clipping.
    pub clip_grad_norm: Option<f64>,
    /// Threads that share each batch (data parallelism, see [`crate::parallel`]): the batch
    /// is cut into this many contiguous shards, each run on its own tape and thread, and
    /// their gradients summed in a fixed order before one update. 1 (the default) runs the
    /// whole batch on the calling thread. More workers give the same steps up to the
    /// rounding of the sums, and the same bits for the same count.
    pub workers: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 64,
            seed: 0,
            eval_batch_size: 1000,
            shuffle: true,
            clip_grad_norm: None,
            workers: 1,
        }
    }
}

/// What happens during [`Trainer::fit`], reported to its callback as it happens.
///
/// ```
/// use nn::{Init, Linear};
/// use tape::Array;
/// use train::data::Dataset;
/// use train::optim::{Sgd, SgdConfig};
/// use train::trainer::{Control, Event, TrainConfig, Trainer};
/// # let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
/// # let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?; // class 1 where x > 0
/// # let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
/// # let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
/// let trainer = Trainer::new(TrainConfig { epochs: 2, batch_size: 2, ..TrainConfig::default() })?;
/// let mut n_batches = 0;
/// trainer.fit(&mut model, &mut sgd, &data, None, |e| {
///     if let Event::Batch { size, .. } = e { n_batches += 1; assert_eq!(*size, 2); }
///     Control::Continue
/// })?;
/// assert_eq!(n_batches, 4); // 2 epochs of 4 samples in batches of 2
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An epoch begins, with this learning rate.
    EpochStart {
        /// The epoch, counting from 0.
        epoch: usize,
        /// How many batches it has.
        n_batches: usize,
        /// The learning rate for this epoch.
        lr: f64,
    },
    /// A batch was trained on: its loss was computed and the parameters updated. This is
    /// the per-step callback: it sees every step's loss, learning rate and (when clipping)
    /// gradient norm, and may stop the run.
    Batch {
        /// The epoch, counting from 0.
        epoch: usize,
        /// The batch within the epoch, counting from 0.
        batch: usize,
        /// How many batches the epoch has.
        n_batches: usize,
        /// How many samples the batch held.
        size: usize,
        /// The batch's mean loss, before the update.
        loss: f64,
        /// The step: updates made before this one in the whole run (0 for the first batch
        /// of the first epoch), the count a per-step schedule sees.
        step: usize,
        /// The learning rate of this step's update.
        lr: f64,
        /// The global L2 norm of the gradients before clipping, when
        /// [`TrainConfig::clip_grad_norm`] is set (`None` otherwise: it is not computed).
        grad_norm: Option<f64>,
    },
    /// An epoch ended; its statistics, including the evaluation on the held-out data.
    EpochEnd(&'a EpochStats),
}

/// What the callback of [`Trainer::fit`] answers: go on, or stop after this event.
///
/// ```
/// use nn::{Init, Linear};
/// use tape::Array;
/// use train::data::Dataset;
/// use train::optim::{Sgd, SgdConfig};
/// use train::trainer::{Control, Event, TrainConfig, Trainer};
/// # let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
/// # let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?; // class 1 where x > 0
/// # let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
/// # let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
/// let trainer = Trainer::new(TrainConfig { epochs: 5, batch_size: 2, ..TrainConfig::default() })?;
/// let history = trainer.fit(&mut model, &mut sgd, &data, None, |e| match e {
///     Event::EpochEnd(stats) if stats.epoch == 1 => Control::Stop,
///     _ => Control::Continue,
/// })?;
/// assert!(history.stopped_early);
/// assert_eq!(history.epochs.len(), 2); // epochs 0 and 1 completed
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    #[default]
    Continue,
    /// Stop now; the parameters stay as they are (including the update of a batch just
    /// reported) and [`History::stopped_early`] is set.
    Stop,
}

/// The statistics of one epoch.
///
/// ```
/// use nn::{Init, Linear};
/// use tape::Array;
/// use train::data::Dataset;
/// use train::optim::{Sgd, SgdConfig};
/// use train::trainer::{Control, Event, TrainConfig, Trainer};
/// # let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
/// # let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?; // class 1 where x > 0
/// # let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
/// # let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
/// let trainer = Trainer::new(TrainConfig { epochs: 3, batch_size: 2, ..TrainConfig::default() })?;
/// let history = trainer.fit(&mut model, &mut sgd, &data, None, |_| Control::Continue)?;
/// let (first, last) = (&history.epochs[0], &history.epochs[2]);
/// assert_eq!((last.epoch, last.lr, last.test), (2, 0.5, None));
/// assert!(last.train_loss < first.train_loss);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// The epoch, counting from 0.
    pub epoch: usize,
    /// The learning rate used.
    pub lr: f64,
    /// Mean training loss over the epoch's samples, each batch's loss taken before its
    /// update (as PyTorch training loops usually report it).
    pub train_loss: f64,
    /// Training accuracy over the epoch, measured the same way (classification only).
    pub train_accuracy: Option<f64>,
    /// The evaluation on the held-out data at the end of the epoch, if there is any.
    pub test: Option<Evaluation>,
    /// Wall-clock seconds the epoch took, evaluation included.
    pub seconds: f64,
}

/// The loss (and, for classification, accuracy) of a model on a data set.
///
/// ```
/// use nn::{Init, Linear};
/// use tape::Array;
/// use train::data::Dataset;
/// use train::optim::{Sgd, SgdConfig};
/// use train::trainer::{Control, Event, TrainConfig, Trainer};
/// # let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
/// # let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?; // class 1 where x > 0
/// # let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
/// # let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
/// let trainer = Trainer::new(TrainConfig { epochs: 5, batch_size: 4, ..TrainConfig::default() })?;
/// let history = trainer.fit(&mut model, &mut sgd, &data, Some(&data), |_| Control::Continue)?;
/// let eval = history.epochs[4].test.unwrap();
/// assert_eq!((eval.n_samples, eval.accuracy), (4, Some(1.0))); // separable at x = 0
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss over the samples.
    pub loss: f64,
    /// Fraction of samples classified right (classification only).
    pub accuracy: Option<f64>,
    /// How many samples were evaluated.
    pub n_samples: usize,
}

/// The record of a training run: one entry per completed epoch.
///
/// ```
/// use nn::{Init, Linear};
/// use tape::Array;
/// use train::data::Dataset;
/// use train::optim::{Sgd, SgdConfig};
/// use train::trainer::{Control, Event, TrainConfig, Trainer};
/// # let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
/// # let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?; // class 1 where x > 0
/// # let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
/// # let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
/// let trainer = Trainer::new(TrainConfig { epochs: 2, batch_size: 4, ..TrainConfig::default() })?;
/// let history = trainer.fit(&mut model, &mut sgd, &data, None, |_| Control::Continue)?;
/// assert_eq!(history.epochs.len(), 2);
/// assert!(!history.stopped_early);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The statistics of every epoch that ran to its end.
    pub epochs: Vec<EpochStats>,
    /// Whether the callback stopped the run before the configured number of epochs.
    pub stopped_early: bool,
}

/// Trains a model with an optimiser on a data set; see the [module docs](self).
///
/// ```
/// use nn::{Init, Linear};
/// use tape::Array;
/// use train::data::Dataset;
/// use train::optim::{Sgd, SgdConfig};
/// use train::trainer::{Control, Event, TrainConfig, Trainer};
/// # let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
/// # let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?; // class 1 where x > 0
/// # let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
/// # let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
/// let trainer = Trainer::new(TrainConfig { epochs: 5, batch_size: 2, ..TrainConfig::default() })?;
/// let history = trainer.fit(&mut model, &mut sgd, &data, None, |_| Control::Continue)?;
/// assert_eq!(history.epochs[4].train_accuracy, Some(1.0));
/// # Ok::<(), train::TrainError>(())
/// ```
pub struct Trainer {
    config: TrainConfig,
    schedule: Option<(Box<dyn LrSchedule>, Every)>,
    sampler: Option<Box<dyn Sampler>>,
    /// The first epoch [`Trainer::fit`] runs (epochs before it are done).
    start_epoch: usize,
    /// Where to write the training state after every epoch, and the metadata to add.
    state_file: Option<(PathBuf, BTreeMap<String, String>)>,
    /// The processes that share each batch, if any.
    collective: Option<Rc<dyn Collective>>,
}

/// When a [`Trainer`]'s schedule sets the learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Every {
    /// At the start of each epoch, from the epoch count.
    Epoch,
    /// Before each update, from the step count.
    Step,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("schedule", &self.schedule)
            .field("sampler", &self.sampler.as_ref().map(|_| "<sampler>"))
            .field(
                "collective",
                &self.collective.as_ref().map(|c| (c.rank(), c.size())),
            )
            .finish()
    }
}

impl Trainer {
    /// A trainer with this configuration and a constant learning rate (the optimiser's).
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if a batch size or the number of workers is 0, or a
    /// clipping norm is not a finite positive number.
    ///
    /// ```
    /// use train::trainer::{TrainConfig, Trainer};
    /// assert!(Trainer::new(TrainConfig::default()).is_ok());
    /// assert!(Trainer::new(TrainConfig { batch_size: 0, ..TrainConfig::default() }).is_err());
    /// assert!(Trainer::new(TrainConfig { clip_grad_norm: Some(0.0), ..TrainConfig::default() }).is_err());
    /// assert!(Trainer::new(TrainConfig { workers: 0, ..TrainConfig::default() }).is_err());
    /// ```
    pub fn new(config: TrainConfig) -> Result<Self> {
        if config.workers == 0 {
            return Err(TrainError::invalid(
                "Trainer::new",
                "workers is 0; it must be at least 1",
            ));
        }
        if config.batch_size == 0 || config.eval_batch_size == 0 {
            return Err(TrainError::invalid(
                "Trainer::new",
                format!(
                    "batch sizes must be at least 1 (batch_size {}, eval_batch_size {})",
                    config.batch_size, config.eval_batch_size
                ),
            ));
        }
        if let Some(max_norm) = config.clip_grad_norm {
            crate::optim::check_hyper(
                "Trainer::new",
                "clip_grad_norm",
                max_norm,
                |v| v > 0.0,
                "> 0",
            )?;
        }
        Ok(Trainer {
            config,
            schedule: None,
            sampler: None,
            start_epoch: 0,
            state_file: None,
            collective: None,
        })
    }

    /// Shares every batch among the ranks of `group` (see [`crate::distributed`]): at the
    /// start of [`Trainer::fit`] the parameters are broadcast from rank 0, each rank then
    /// computes the gradients of its shard of each global batch ([`TrainConfig::batch_size`]
    /// samples, the same on every rank), and one sum over the ranks gives every rank the
    /// gradients of the whole batch, so that all make the same update. Only rank 0 writes
    /// the state file of [`Trainer::with_state_file`]. With [`TrainConfig::workers`] above
    /// 1, each rank shares its shard among its threads too.
    ///
    /// Every rank must call `fit` with the same model shape, data, optimiser and
    /// configuration.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use train::distributed::SingleProcess;
    /// use train::trainer::{TrainConfig, Trainer};
    /// // A group of one process trains exactly as no group.
    /// let trainer = Trainer::new(TrainConfig::default())?.with_collective(Rc::new(SingleProcess));
    /// assert_eq!(trainer.rank(), 0);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn with_collective(mut self, group: Rc<dyn Collective>) -> Self {
        self.collective = Some(group);
        self
    }

    /// This process's rank in the group of [`Trainer::with_collective`]; 0 without one.
    ///
    /// ```
    /// use train::trainer::{TrainConfig, Trainer};
    /// assert_eq!(Trainer::new(TrainConfig::default())?.rank(), 0);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn rank(&self) -> usize {
        self.collective.as_ref().map_or(0, |c| c.rank())
    }

    /// Starts [`Trainer::fit`] at `epoch`, taking the epochs before it as done: the batch
    /// order and the schedule's learning rate are those of epoch `epoch` onwards, as in an
    /// uninterrupted run. [`Trainer::load_state`] sets it from a resume file.
    ///
    /// ```
    /// use train::trainer::{TrainConfig, Trainer};
    /// let trainer = Trainer::new(TrainConfig { epochs: 10, ..TrainConfig::default() })?.with_start_epoch(4);
    /// assert_eq!(trainer.start_epoch(), 4); // fit runs epochs 4 to 9
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn with_start_epoch(mut self, epoch: usize) -> Self {
        self.start_epoch = epoch;
        self
    }

    /// The first epoch [`Trainer::fit`] runs: 0, unless set by [`Trainer::with_start_epoch`]
    /// or [`Trainer::load_state`].
    ///
    /// ```
    /// use train::trainer::{TrainConfig, Trainer};
    /// assert_eq!(Trainer::new(TrainConfig::default())?.start_epoch(), 0);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn start_epoch(&self) -> usize {
        self.start_epoch
    }

    /// Makes [`Trainer::fit`] write the whole training state to `path` at the end of every
    /// epoch, as [`Trainer::save_state`] does with `metadata` added, so that a run that is
    /// killed can be resumed from its last complete epoch. Each write replaces the file
    /// atomically; a failed write stops training with the error.
    ///
    /// ```
    /// # use nn::{Init, Linear};
    /// # use tape::Array;
    /// # use train::data::Dataset;
    /// # use train::optim::{Sgd, SgdConfig};
    /// # use train::trainer::{Control, TrainConfig, Trainer};
    /// # let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
    /// # let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?;
    /// # let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
    /// # let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-every-{}.safetensors", std::process::id()));
    /// let trainer = Trainer::new(TrainConfig { epochs: 3, batch_size: 2, ..TrainConfig::default() })?
    ///     .with_state_file(&path, Default::default());
    /// trainer.fit(&mut model, &mut sgd, &data, None, |_| Control::Continue)?;
    /// let ck = train::checkpoint::load::<f64>(&path)?;
    /// assert_eq!(ck.metadata[train::resume::EPOCHS_DONE_KEY], "3");
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_state_file(
        mut self,
        path: impl Into<PathBuf>,
        metadata: BTreeMap<String, String>,
    ) -> Self {
        self.state_file = Some((path.into(), metadata));
        self
    }

    /// Writes the whole training state to `path`, atomically: `model`'s parameters under
    /// their names, `opt`'s state, `epochs_done` and the seed and batch size that fix the
    /// batch order, plus the caller's `metadata`. The layout is in [`crate::resume`].
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if the optimiser cannot export its state, a
    /// parameter's name or a metadata key uses the prefixes reserved for the state
    /// (`optimizer.`, `train.`); the errors of [`crate::checkpoint::save`].
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use nn::{Init, Linear};
    /// use train::optim::{Adam, AdamConfig};
    /// use train::trainer::{TrainConfig, Trainer};
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-save-state-{}.safetensors", std::process::id()));
    /// let model = Linear::<f64>::new(2, 1, Init::XavierUniform, 0);
    /// let adam = Adam::<f64>::new(AdamConfig::default())?;
    /// let meta = BTreeMap::from([("note".to_string(), "mine".to_string())]);
    /// Trainer::new(TrainConfig::default())?.save_state(&path, &model, &adam, 2, &meta)?;
    /// let ck = train::checkpoint::load::<f64>(&path)?;
    /// assert_eq!((ck.metadata["note"].as_str(), ck.metadata["train.epochs_done"].as_str()), ("mine", "2"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_state<T: Element, M: Model<T>, O: Optimizer<T>>(
        &self,
        path: impl AsRef<Path>,
        model: &M,
        opt: &O,
        epochs_done: usize,
        metadata: &BTreeMap<String, String>,
    ) -> Result<()> {
        crate::resume::save(
            path.as_ref(),
            &self.config,
            model,
            opt,
            epochs_done,
            metadata,
        )
    }

    /// Reads a file written by [`Trainer::save_state`] into `model` and `opt` and sets the
    /// start epoch to the epochs it records as done, so that [`Trainer::fit`] continues the
    /// run: with the same data, configuration and optimiser settings, the parameters at the
    /// end are bit for bit those of a run that was never interrupted. Returns the caller's
    /// metadata stored with it (without the keys of the training state).
    ///
    /// # Errors
    /// Errors that name the file: [`TrainError::Io`] if it cannot be read;
    /// [`TrainError::BadFile`] if it is corrupt, holds no training state, was saved with
    /// another seed or batch size, or its optimiser state is of another kind of optimiser or
    /// other hyper-parameters (the learning rate may differ); [`TrainError::Checkpoint`]
    /// naming the tensor if a parameter or optimiser array is missing, extra, or of another
    /// shape or element type. On any error `model`, `opt` and the trainer are unchanged.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use nn::{Init, Linear};
    /// use train::optim::{Adam, AdamConfig, Sgd, SgdConfig};
    /// use train::trainer::{TrainConfig, Trainer};
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-load-state-{}.safetensors", std::process::id()));
    /// let config = TrainConfig { epochs: 5, ..TrainConfig::default() };
    /// let model = Linear::<f32>::new(2, 1, Init::XavierUniform, 0);
    /// let adam = Adam::<f32>::new(AdamConfig::default())?;
    /// Trainer::new(config.clone())?.save_state(&path, &model, &adam, 3, &BTreeMap::new())?;
    ///
    /// let mut resumed = Linear::<f32>::new(2, 1, Init::Zeros, 0);
    /// let mut trainer = Trainer::new(config)?;
    /// trainer.load_state(&path, &mut resumed, &mut Adam::<f32>::new(AdamConfig::default())?)?;
    /// assert_eq!((trainer.start_epoch(), &resumed), (3, &model));
    ///
    /// // Another optimiser is refused, with the file named.
    /// let mut sgd = Sgd::<f32>::new(SgdConfig::default())?;
    /// let err = trainer.load_state(&path, &mut resumed, &mut sgd).unwrap_err().to_string();
    /// assert!(err.contains("tapegrad-doc-load-state") && err.contains("optimiser `adam`"), "{err}");
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_state<T: Element, M: Model<T>, O: Optimizer<T>>(
        &mut self,
        path: impl AsRef<Path>,
        model: &mut M,
        opt: &mut O,
    ) -> Result<BTreeMap<String, String>> {
        let (epochs_done, metadata) = crate::resume::load(path.as_ref(), &self.config, model, opt)?;
        self.start_epoch = epochs_done;
        Ok(metadata)
    }

    /// Sets the optimiser's learning rate from `schedule` at the start of every epoch.
    ///
    /// ```
    /// use train::optim::CosineAnnealing;
    /// use train::trainer::{TrainConfig, Trainer};
    /// let trainer = Trainer::new(TrainConfig::default())?
    ///     .with_schedule(CosineAnnealing::new(0.1, 0.001, 10)?);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn with_schedule(mut self, schedule: impl LrSchedule + 'static) -> Self {
        self.schedule = Some((Box::new(schedule), Every::Epoch));
        self
    }

    /// Sets the optimiser's learning rate from `schedule` before every update, counting
    /// steps (updates) from 0 over the whole run: `lr = schedule.lr_at(step)`, e.g. a
    /// [`WarmupCosine`](crate::optim::WarmupCosine) warm-up then cosine decay. It replaces
    /// a schedule set with [`Trainer::with_schedule`] (one schedule drives the rate).
    /// [`Event::Batch`] reports each step's rate, and [`Event::EpochStart`] and
    /// [`EpochStats::lr`] that of the epoch's first step.
    ///
    /// ```
    /// use nn::{Init, Linear};
    /// use tape::Array;
    /// use train::data::Dataset;
    /// use train::optim::{Sgd, SgdConfig, WarmupCosine};
    /// use train::trainer::{Control, Event, TrainConfig, Trainer};
    /// let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
    /// let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?;
    /// let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
    /// let mut sgd = Sgd::new(SgdConfig::default())?;
    /// let trainer = Trainer::new(TrainConfig { epochs: 3, batch_size: 2, ..TrainConfig::default() })?
    ///     .with_step_schedule(WarmupCosine::new(0.4, 0.0, 2, 6)?);
    /// let mut lrs = Vec::new();
    /// trainer.fit(&mut model, &mut sgd, &data, None, |e| {
    ///     if let Event::Batch { lr, .. } = e { lrs.push(*lr); }
    ///     Control::Continue
    /// })?;
    /// assert_eq!(&lrs[..3], &[0.2, 0.4, 0.4]); // 0.4·1/2, 0.4·2/2, then the cosine's start
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn with_step_schedule(mut self, schedule: impl LrSchedule + 'static) -> Self {
        self.schedule = Some((Box::new(schedule), Every::Step));
        self
    }

    /// Visits the samples of each epoch in the order `sampler` gives
    /// ([`Sampler::order`]), instead of shuffling: PyTorch's `DataLoader(sampler=...)`. It
    /// overrides [`TrainConfig::shuffle`].
    ///
    /// ```
    /// use nn::{Init, Linear};
    /// use tape::Array;
    /// use train::data::Dataset;
    /// use train::optim::{Sgd, SgdConfig};
    /// use train::trainer::{Control, Event, TrainConfig, Trainer};
    /// let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
    /// let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?;
    /// let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
    /// let mut sgd = Sgd::new(SgdConfig::default())?;
    /// // Odd epochs see the samples backwards, even ones forwards; only samples 0 and 3.
    /// let trainer = Trainer::new(TrainConfig { epochs: 2, batch_size: 1, ..TrainConfig::default() })?
    ///     .with_sampler(|epoch: usize, _n: usize| if epoch % 2 == 0 { vec![0, 3] } else { vec![3, 0] });
    /// let mut sizes = Vec::new();
    /// trainer.fit(&mut model, &mut sgd, &data, None, |e| {
    ///     if let Event::EpochStart { n_batches, .. } = e { sizes.push(*n_batches); }
    ///     Control::Continue
    /// })?;
    /// assert_eq!(sizes, [2, 2]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn with_sampler(mut self, sampler: impl Sampler + 'static) -> Self {
        self.sampler = Some(Box::new(sampler));
        self
    }

    /// The configuration.
    ///
    /// ```
    /// use train::trainer::{TrainConfig, Trainer};
    /// let trainer = Trainer::new(TrainConfig { epochs: 7, ..TrainConfig::default() })?;
    /// assert_eq!(trainer.config().epochs, 7);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The batches of epoch `epoch`: in the sampler's order if there is one, else shuffled
    /// from the seed and the epoch, else in the stored order.
    fn batches_of<'d, T: Element>(
        &self,
        train: &'d Dataset<T>,
        epoch: usize,
    ) -> Result<Batches<'d, T>> {
        let cfg = &self.config;
        match &self.sampler {
            Some(sampler) => {
                train.batches_in_order(cfg.batch_size, sampler.order(epoch, train.len()))
            }
            None if cfg.shuffle => train.shuffled_batches(cfg.batch_size, cfg.seed, epoch as u64),
            None => train.batches(cfg.batch_size),
        }
    }

    /// The updates made by the epochs before `epoch` on `n` samples: what a per-step schedule
    /// has counted when a resumed run starts there.
    fn steps_before(&self, epoch: usize, n: usize) -> usize {
        let batch_size = self.config.batch_size;
        (0..epoch)
            .map(|e| match &self.sampler {
                Some(sampler) => sampler.order(e, n).len().div_ceil(batch_size),
                None => n.div_ceil(batch_size),
            })
            .sum()
    }

    /// Trains `model` on `train` for the configured epochs, evaluating on `test` after each
    /// epoch, and returns the history. `on_event` sees every [`Event`] and may stop the run.
    ///
    /// The loss is softmax cross-entropy when `train` has class labels (the model's output
    /// is then the logits, `[batch, classes]`) and mean squared error when it has regression
    /// targets (the output must have the targets' shape).
    ///
    /// # Errors
    /// - [`TrainError::NonFinite`] if a batch's loss is NaN or infinite: training stops and
    ///   the parameters are restored to those before the last update, the last ones known to
    ///   give a finite loss. A non-finite gradient stops training too, before it is applied.
    /// - [`TrainError::Nn`] if the model does not fit the data (input width, number of
    ///   classes); nothing has been updated by that step.
    /// - [`TrainError::InvalidArgument`] if `train` is empty, and the optimiser's errors (the
    ///   parameters are then restored to those before the failed step).
    ///
    /// ```
    /// use nn::{Init, Linear};
    /// use tape::Array;
    /// use train::data::Dataset;
    /// use train::optim::{Sgd, SgdConfig};
    /// use train::trainer::{Control, Event, TrainConfig, Trainer};
    /// # let x = Array::from_vec(vec![-2.0f64, -1.0, 1.0, 2.0], &[4, 1])?;
    /// # let data = Dataset::classification(x, vec![0, 0, 1, 1], 2)?; // class 1 where x > 0
    /// # let mut model = Linear::<f64>::new(1, 2, Init::Zeros, 0);
    /// # let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
    /// let trainer = Trainer::new(TrainConfig { epochs: 5, batch_size: 2, ..TrainConfig::default() })?;
    /// let before = model.clone();
    /// let history = trainer.fit(&mut model, &mut sgd, &data, Some(&data), |_| Control::Continue)?;
    /// assert_ne!(model, before); // trained in place
    /// assert!(history.epochs[4].test.unwrap().loss < std::f64::consts::LN_2); // below chance
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn fit<T, M, O>(
        &self,
        model: &mut M,
        opt: &mut O,
        train: &Dataset<T>,
        test: Option<&Dataset<T>>,
        on_event: impl FnMut(&Event<'_>) -> Control,
    ) -> Result<History>
    where
        T: Element,
        M: Model<T> + Sync,
        O: Optimizer<T>,
    {
        let batches = |epoch: usize| -> Result<(usize, BatchIter<'_, T>)> {
            let batches = self.batches_of(train, epoch)?;
            Ok((batches.len(), Box::new(batches.map(Ok))))
        };
        let eval_batch_size = self.config.eval_batch_size;
        let evaluate_test = |model: &M| {
            test.map(|d| evaluate(model, d, eval_batch_size))
                .transpose()
        };
        let samples = Samples {
            n_train: train.len(),
            plan: None,
        };
        self.run(model, opt, samples, batches, evaluate_test, on_event)
    }

    /// [`Trainer::fit`] on the training part of a [`CsvStream`], read from its file each
    /// epoch (shuffled within the stream's shuffle buffer, or in file order with
    /// [`TrainConfig::shuffle`] off), evaluating on `test` after each epoch. When the shuffle
    /// buffer holds the whole training part, the run is the run of [`Trainer::fit`] on the
    /// data set the stream's rows make, to the bit.
    ///
    /// ```
    /// use nn::{Activation, Mlp};
    /// use train::data::csv::CsvOptions;
    /// use train::data::{CsvStream, Part};
    /// use train::optim::{Adam, AdamConfig};
    /// use train::trainer::{Control, Evaluate, TrainConfig, Trainer};
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-fit-stream-{}.csv", std::process::id()));
    /// let rows: String = (0..200).map(|i| format!("{},{}\n", i % 20, usize::from(i % 20 >= 10))).collect();
    /// std::fs::write(&path, format!("x,label\n{rows}"))?;
    /// let stream = CsvStream::<f32>::open(&path, "label", &CsvOptions::default())?.split(0.25, 0)?;
    /// let stats = stream.training_statistics()?;
    /// let stream = stream.with_scaler(Some(stats.standardizer))?.with_shuffle_buffer(64)?;
    ///
    /// let mut model = Mlp::<f32>::new(&[1, 8, 2], Activation::Relu, 0)?;
    /// let mut adam = Adam::new(AdamConfig { lr: 0.05, ..AdamConfig::default() })?;
    /// let trainer = Trainer::new(TrainConfig { epochs: 20, batch_size: 16, ..TrainConfig::default() })?;
    /// let test = Evaluate::Stream(&stream, Part::Test);
    /// let history = trainer.fit_stream(&mut model, &mut adam, &stream, Some(test), |_| Control::Continue)?;
    /// assert!(history.epochs[19].test.unwrap().accuracy.unwrap() > 0.9);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// A stream that is one process's share of its file
    /// ([`crate::data::StreamOptions::shard`]) needs a trainer with the same group
    /// ([`Trainer::with_collective`]): each step's global batch of
    /// [`TrainConfig::batch_size`] rows is then every process's own rows, about their share
    /// of the batch each, and the evaluation of a shared test part sums the processes'
    /// shares.
    ///
    /// # Errors
    /// As [`Trainer::fit`]; a sampler, which needs the samples in memory, is refused, as is a
    /// shared stream without the group it is shared in; and the file's errors (a field that
    /// no longer parses, a file cut short, when it is read again rather than its spill file)
    /// end the run with the error, before the epoch that met it is reported or saved.
    pub fn fit_stream<T, M, O>(
        &self,
        model: &mut M,
        opt: &mut O,
        train: &CsvStream<T>,
        test: Option<Evaluate<'_, T>>,
        on_event: impl FnMut(&Event<'_>) -> Control,
    ) -> Result<History>
    where
        T: Element,
        M: Model<T> + Sync,
        O: Optimizer<T>,
    {
        if self.sampler.is_some() {
            return Err(TrainError::invalid(
                "Trainer::fit_stream",
                "a sampler chooses samples by index, and a stream is read in file order; use fit",
            ));
        }
        let cfg = &self.config;
        // A stream shared among processes: each step, every process takes its own rows.
        let plan = match (train.shard(), self.collective.as_ref()) {
            (None, _) => None,
            // `Trainer::new` refused a batch size of 0.
            (Some(shard), group) if group.map(|g| (g.rank(), g.size())) == Some(shard) => {
                Some(train.step_plan(Part::Train, cfg.batch_size))
            }
            (Some((rank, size)), _) => {
                return Err(TrainError::invalid(
                    "Trainer::fit_stream",
                    format!(
                        "the stream is process {rank}'s share of {size}; the trainer needs the same group (Trainer::with_collective)"
                    ),
                ));
            }
        };
        let rank = self.rank();
        let batches = |epoch: usize| -> Result<(usize, BatchIter<'_, T>)> {
            let order = cfg.shuffle.then_some((cfg.seed, epoch as u64));
            let batches = match &plan {
                Some(plan) => train.batches_in_steps(
                    Part::Train,
                    plan.local_batch(rank),
                    plan.n_steps,
                    order,
                )?,
                None => train.batches(Part::Train, cfg.batch_size, order)?,
            };
            Ok((batches.n_batches(), Box::new(batches)))
        };
        let evaluate_test = |model: &M| {
            test.map(|t| t.evaluate(model, cfg.eval_batch_size))
                .transpose()
        };
        let samples = Samples {
            n_train: train.total_len(Part::Train),
            plan: plan.clone(),
        };
        self.run(model, opt, samples, batches, evaluate_test, on_event)
    }

    /// The epochs of a run on `samples`, whose batches `batches` gives for each epoch (with
    /// their count), evaluating with `evaluate_test` after each.
    fn run<'d, T, M, O>(
        &self,
        model: &mut M,
        opt: &mut O,
        samples: Samples,
        batches: impl Fn(usize) -> Result<(usize, BatchIter<'d, T>)>,
        evaluate_test: impl Fn(&M) -> Result<Option<Evaluation>>,
        mut on_event: impl FnMut(&Event<'_>) -> Control,
    ) -> Result<History>
    where
        T: Element,
        M: Model<T> + Sync,
        O: Optimizer<T>,
    {
        let cfg = &self.config;
        let step_schedule = match &self.schedule {
            Some((schedule, Every::Step)) => Some(&**schedule),
            _ => None,
        };
        let group = self.collective.as_deref().filter(|c| c.size() > 1);
        if let Some(group) = group {
            crate::distributed::broadcast_params(group, model)?;
        }
        let mut training = Training {
            model,
            opt,
            group,
            tape: Tape::new(),
            snapshot: Snapshot::default(),
            step: self.steps_before(self.start_epoch, samples.n_train),
            step_schedule,
            clip_grad_norm: cfg.clip_grad_norm,
            workers: cfg.workers,
            worker_tapes: Vec::new(),
            buffer: None,
            summed: None,
            plan: samples.plan,
            batch_in_epoch: 0,
        };
        let mut history = History::default();
        for epoch in self.start_epoch..cfg.epochs {
            let start = Instant::now();
            match &self.schedule {
                Some((schedule, Every::Epoch)) => training.opt.set_lr(schedule.lr_at(epoch)),
                Some((schedule, Every::Step)) => training.opt.set_lr(schedule.lr_at(training.step)),
                None => {}
            }
            let lr = training.opt.lr();
            let (n_batches, batches) = batches(epoch)?;
            let start_event = Event::EpochStart {
                epoch,
                n_batches,
                lr,
            };
            if on_event(&start_event) == Control::Stop {
                history.stopped_early = true;
                break;
            }
            let Some(totals) = training.epoch(epoch, n_batches, batches, &mut on_event)? else {
                // The callback stopped the run after a batch.
                history.stopped_early = true;
                break;
            };
            let stats = EpochStats {
                epoch,
                lr,
                train_loss: totals.loss.mean().unwrap_or(f64::NAN),
                train_accuracy: totals.accuracy.value(),
                test: evaluate_test(&*training.model)?,
                seconds: start.elapsed().as_secs_f64(),
            };
            if let (Some((path, metadata)), 0) = (&self.state_file, self.rank()) {
                self.save_state(path, &*training.model, &*training.opt, epoch + 1, metadata)?;
            }
            let control = on_event(&Event::EpochEnd(&stats));
            history.epochs.push(stats);
            if control == Control::Stop {
                history.stopped_early = cfg.epochs > epoch + 1;
                break;
            }
        }
        Ok(history)
    }
}

/// The training samples of a run: how many, and for a stream shared among processes, how
/// they share each step.
struct Samples {
    n_train: usize,
    plan: Option<StepPlan>,
}

/// An epoch's batches, from a data set in memory or from a stream, with the errors of
/// reading them.
type BatchIter<'d, T> = Box<dyn Iterator<Item = Result<Batch<T>>> + 'd>;

/// The data [`Trainer::fit_stream`] evaluates on after each epoch: a data set in memory, or a
/// part of a stream, read from its file each time.
#[derive(Clone, Copy, Debug)]
pub enum Evaluate<'a, T: Element> {
    /// Samples in memory.
    Dataset(&'a Dataset<T>),
    /// A part of a stream.
    Stream(&'a CsvStream<T>, Part),
}

impl<T: Element> Evaluate<'_, T> {
    /// The loss and accuracy of `model` on these samples, in batches of `batch_size`.
    ///
    /// # Errors
    /// As [`evaluate`]; and the file's errors for a stream.
    pub fn evaluate<M: Model<T>>(&self, model: &M, batch_size: usize) -> Result<Evaluation> {
        match *self {
            Evaluate::Dataset(data) => evaluate(model, data, batch_size),
            Evaluate::Stream(stream, part) => {
                let local = if stream.is_empty(part) {
                    Evaluation {
                        loss: f64::NAN,
                        accuracy: None,
                        n_samples: 0,
                    }
                } else {
                    evaluate_batches(model, stream.batches(part, batch_size, None)?)?
                };
                let Some(group) = stream.group() else {
                    return Ok(local);
                };
                // A share of the part: the sums over the processes make the whole part's.
                let n = local.n_samples as f64;
                let mut sums = [0.0; 4];
                if local.n_samples > 0 {
                    sums[0] = local.loss * n;
                    if let Some(a) = local.accuracy {
                        sums[1] = (a * n).round();
                        sums[3] = 1.0;
                    }
                    sums[2] = n;
                }
                group.sum_f64(&mut sums)?;
                Ok(Evaluation {
                    loss: sums[0] / sums[2],
                    accuracy: (sums[3] > 0.0).then(|| sums[1] / sums[2]),
                    n_samples: sums[2] as usize,
                })
            }
        }
    }
}

/// A model being trained with an optimiser: the tape every step reuses, and the parameters
/// before the last update.
struct Training<'a, T: Element, M, O> {
    model: &'a mut M,
    opt: &'a mut O,
    /// The processes that share each batch, when there are more than one.
    group: Option<&'a dyn Collective>,
    tape: Tape<T>,
    snapshot: Snapshot<T>,
    /// Updates made so far in the run.
    step: usize,
    /// The schedule that sets the learning rate before each update, if it is per step.
    step_schedule: Option<&'a dyn LrSchedule>,
    /// The global norm gradients are clipped to, if any.
    clip_grad_norm: Option<f64>,
    /// How many threads share a batch; with more than one, each has its own tape, kept
    /// from step to step, and the gradients meet in `buffer`.
    workers: usize,
    worker_tapes: Vec<Tape<T>>,
    buffer: Option<GradBuffer<T>>,
    /// The summed gradients as arrays for the optimiser, reused from step to step.
    summed: Option<ParamGrads<T>>,
    /// With a stream shared among the processes, how they share each step: each batch is
    /// then this process's own rows, not a global batch to take a shard of.
    plan: Option<StepPlan>,
    /// The batch of the epoch being taken.
    batch_in_epoch: usize,
}

/// The running loss and accuracy of an epoch's batches, each taken before its update.
#[derive(Default)]
struct EpochTotals {
    loss: RunningMean,
    accuracy: Accuracy,
}

impl<T: Element, M: Model<T> + Sync, O: Optimizer<T>> Training<'_, T, M, O> {
    /// A step on each of `batches`, the batches of epoch `epoch`, reporting each to
    /// `on_event`; `None` if `on_event` stopped the run.
    fn epoch(
        &mut self,
        epoch: usize,
        n_batches: usize,
        batches: BatchIter<'_, T>,
        on_event: &mut impl FnMut(&Event<'_>) -> Control,
    ) -> Result<Option<EpochTotals>> {
        let mut totals = EpochTotals::default();
        for (batch_idx, batch) in batches.enumerate() {
            let batch = batch?;
            let size = match &self.plan {
                Some(plan) => plan.global_batch(batch_idx),
                None => batch.len(),
            };
            self.batch_in_epoch = batch_idx;
            let non_finite = |what: String, value: f64| TrainError::NonFinite {
                epoch,
                batch: batch_idx,
                what,
                value,
            };
            let step = self.step;
            if let Some(schedule) = self.step_schedule {
                self.opt.set_lr(schedule.lr_at(step));
            }
            let lr = self.opt.lr();
            let (loss, grad_norm) = self.step(batch, &mut totals.accuracy, non_finite)?;
            self.step += 1;
            totals.loss.add(loss, size);
            let event = Event::Batch {
                epoch,
                batch: batch_idx,
                n_batches,
                size,
                loss,
                step,
                lr,
                grad_norm,
            };
            if on_event(&event) == Control::Stop {
                return Ok(None);
            }
        }
        Ok(Some(totals))
    }

    /// One step on `batch`: the loss and its gradients (on this thread, or shared among the
    /// workers), clipped if asked, then the update. Returns the loss (before the update) and,
    /// when clipping, the gradients' norm before it, and adds the batch's predictions to
    /// `accuracy`; `non_finite` makes the error for a NaN or infinite loss or gradient.
    fn step(
        &mut self,
        batch: Batch<T>,
        accuracy: &mut Accuracy,
        non_finite: impl Fn(String, f64) -> TrainError,
    ) -> Result<(f64, Option<f64>)> {
        let (loss, mut grads) = match self.group {
            Some(group) => self.distributed_gradients(group, batch, accuracy, &non_finite)?,
            None => self.local_gradients(batch, accuracy, &non_finite)?,
        };
        if let Some((name, value)) = first_non_finite(&grads) {
            // Not applied: the parameters are still the last ones with a finite loss.
            return Err(non_finite(format!("gradient of `{name}`"), value));
        }
        let grad_norm = self
            .clip_grad_norm
            .map(|max_norm| clip_grad_norm(&mut grads, max_norm))
            .transpose()?;
        let updated = self.update(&grads);
        if self.workers > 1 {
            // The arrays of the summed gradients serve the next step again.
            self.summed = Some(grads);
        }
        updated.map(|()| (loss, grad_norm))
    }

    /// The loss of `batch` and its gradients, computed in this process: on this thread, or
    /// shared among the workers.
    fn local_gradients(
        &mut self,
        batch: Batch<T>,
        accuracy: &mut Accuracy,
        non_finite: &impl Fn(String, f64) -> TrainError,
    ) -> Result<(f64, ParamGrads<T>)> {
        if self.workers > 1 {
            self.sharded_gradients(batch, accuracy, non_finite)
        } else {
            self.gradients(batch, accuracy, non_finite)
        }
    }

    /// [`Training::local_gradients`] of this rank's shard of the global `batch`, summed over
    /// the ranks of `group`, each weighted by its share of the batch; the loss and the
    /// accuracy counts are summed in a second, small all-reduce. A non-finite loss on any
    /// rank makes the sum non-finite on all, and every rank stops with the parameters of
    /// before the last update.
    fn distributed_gradients(
        &mut self,
        group: &dyn Collective,
        batch: Batch<T>,
        accuracy: &mut Accuracy,
        non_finite: &impl Fn(String, f64) -> TrainError,
    ) -> Result<(f64, ParamGrads<T>)> {
        let n = batch.len();
        let (shard, share) = match &self.plan {
            // The batch is this process's own rows of the step's global batch.
            Some(plan) => {
                let share = n as f64 / plan.global_batch(self.batch_in_epoch) as f64;
                ((n > 0).then_some(batch), share)
            }
            None => {
                let range = crate::distributed::rank_share(n, group.size(), group.rank());
                let share = range.len() as f64 / n as f64;
                let shard = (!range.is_empty())
                    .then(|| shard_of(&batch, range))
                    .transpose()?;
                (shard, share)
            }
        };
        let mut mine = Accuracy::default();
        let (loss, grads) = match shard {
            None => (0.0, None),
            Some(shard) => match self.local_gradients(shard, &mut mine, non_finite) {
                Ok((loss, grads)) => (loss, Some(grads)),
                // The parameters are restored already; the other ranks learn of it below.
                Err(TrainError::NonFinite { value, .. }) => (value, None),
                Err(e) => return Err(e),
            },
        };
        let buffer = self
            .buffer
            .get_or_insert_with(|| GradBuffer::for_model(&*self.model));
        buffer.zero();
        if let Some(grads) = &grads {
            buffer.add_scaled(grads, share)?;
        }
        buffer.sum_over(group)?;
        let mut totals = vec![share * loss, mine.correct as f64, mine.total as f64];
        crate::distributed::all_reduce_sum(group, &mut totals)?;
        if !totals[0].is_finite() {
            if grads.is_some() {
                self.snapshot.restore(self.model);
            }
            return Err(non_finite("loss".into(), totals[0]));
        }
        accuracy.correct += totals[1] as usize;
        accuracy.total += totals[2] as usize;
        let mut grads = match grads {
            Some(grads) => grads,
            None => buffer.to_param_grads()?,
        };
        buffer.write_into(&mut grads);
        Ok((totals[0], grads))
    }

    /// The loss of `batch` and its gradients, on this thread's tape.
    fn gradients(
        &mut self,
        batch: Batch<T>,
        accuracy: &mut Accuracy,
        non_finite: &impl Fn(String, f64) -> TrainError,
    ) -> Result<(f64, ParamGrads<T>)> {
        let (loss, grads) = {
            let bound = self.model.bind(&self.tape);
            let ((out, labels), loss) = forward_loss(&self.tape, &bound, batch)?;
            let loss_value = loss.value().as_f64();
            if !loss_value.is_finite() {
                // These parameters gave a bad loss; the ones before the last update did not.
                self.snapshot.restore(self.model);
                return Err(non_finite("loss".into(), loss_value));
            }
            if let Some(labels) = labels {
                out.with_value(|logits| accuracy.add(logits, &labels))?;
            }
            let mut grads = loss.try_backward()?;
            (loss_value, bound.take_grads(&mut grads))
        };
        self.tape.clear();
        Ok((loss, grads))
    }

    /// [`Training::gradients`] with the batch shared among the workers: one shard, tape and
    /// thread each (the first on the calling thread), the gradients summed in worker order
    /// into the flat buffer, each weighted by its shard's share of the batch (the loss is a
    /// mean).
    fn sharded_gradients(
        &mut self,
        batch: Batch<T>,
        accuracy: &mut Accuracy,
        non_finite: &impl Fn(String, f64) -> TrainError,
    ) -> Result<(f64, ParamGrads<T>)> {
        let n = batch.len();
        let ranges = crate::parallel::shards(n, self.workers);
        let outcomes = self.run_shards(batch, &ranges)?;
        if let Some(bad) = outcomes.iter().find(|o| !o.loss.is_finite()) {
            // These parameters gave a bad loss; the ones before the last update did not.
            self.snapshot.restore(self.model);
            return Err(non_finite("loss".into(), bad.loss));
        }
        let buffer = self
            .buffer
            .get_or_insert_with(|| GradBuffer::for_model(&*self.model));
        buffer.zero();
        let mut loss = 0.0;
        for (range, outcome) in ranges.iter().zip(&outcomes) {
            let share = range.len() as f64 / n as f64;
            if let Some((logits, labels)) = &outcome.predictions {
                accuracy.add(logits, labels)?;
            }
            loss += share * outcome.loss;
            let grads = outcome
                .grads
                .as_ref()
                .expect("internal error: a finite loss without gradients");
            buffer.add_scaled(grads, share)?;
        }
        let mut grads = match self.summed.take() {
            Some(grads) => grads,
            None => buffer.to_param_grads()?,
        };
        buffer.write_into(&mut grads);
        Ok((loss, grads))
    }

    /// Each shard of `batch` (rows `ranges`) forward and backward on its own tape and thread,
    /// the first on the calling thread; the outcomes in worker order, so that nothing depends
    /// on which thread finished first.
    fn run_shards(
        &mut self,
        batch: Batch<T>,
        ranges: &[std::ops::Range<usize>],
    ) -> Result<Vec<Shard<T>>> {
        let shards = ranges
            .iter()
            .map(|r| shard_of(&batch, r.clone()))
            .collect::<Result<Vec<_>>>()?;
        drop(batch);
        while self.worker_tapes.len() < shards.len() {
            self.worker_tapes.push(Tape::new());
        }
        let model = &*self.model;
        let outcomes: Vec<Result<Shard<T>>> = std::thread::scope(|scope| {
            let mut tapes = self.worker_tapes.iter_mut();
            let mut shards = shards.into_iter();
            let (first_tape, first) = (tapes.next(), shards.next());
            let handles: Vec<_> = shards
                .zip(tapes)
                .map(|(shard, tape)| scope.spawn(move || shard_step(model, tape, shard)))
                .collect();
            let mut outcomes = Vec::with_capacity(handles.len() + 1);
            let (Some(tape), Some(shard)) = (first_tape, first) else {
                panic!("internal error: a batch gave no shard");
            };
            outcomes.push(shard_step(model, tape, shard));
            outcomes.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
            );
            outcomes
        });
        outcomes.into_iter().collect()
    }

    /// Hands every parameter with its gradient to the optimiser, keeping the parameters of
    /// before in the snapshot; if the optimiser fails, they are put back.
    fn update(&mut self, grads: &ParamGrads<T>) -> Result<()> {
        self.snapshot.capture(&*self.model);
        let mut failed = None;
        let opt = &mut *self.opt;
        self.model.update_params(grads, &mut |name, p, g| {
            if failed.is_none() {
                failed = opt.update(name, p, g).err();
            }
        })?;
        match failed {
            Some(e) => {
                self.snapshot.restore(self.model);
                Err(e)
            }
            None => Ok(()),
        }
    }
}

/// The mean loss (cross-entropy or squared error, as in training) and, for classification,
/// the accuracy of `model` on `data`, in batches of `batch_size`.
///
/// ```
/// use nn::{Init, Linear};
/// // A model whose logits are all 0 predicts class 0 everywhere, with probability 1/10 for
/// // every class: the loss is ln 10 and the accuracy the share of class 0, 178 of 1797.
/// let digits = train::data::digits::<f64>()?;
/// let model = Linear::<f64>::new(64, 10, Init::Zeros, 0);
/// let eval = train::trainer::evaluate(&model, &digits, 500)?;
/// assert!((eval.loss - 10f64.ln()).abs() < 1e-12);
/// assert_eq!(eval.accuracy, Some(178.0 / 1797.0));
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// [`TrainError::InvalidArgument`] if `data` is empty or `batch_size` is 0;
/// [`TrainError::Nn`] if the model does not fit the data.
pub fn evaluate<T: Element, M: Model<T>>(
    model: &M,
    data: &Dataset<T>,
    batch_size: usize,
) -> Result<Evaluation> {
    evaluate_batches(model, data.batches(batch_size)?.map(Ok))
}

/// [`evaluate`] on batches that may fail to arrive (from a stream).
fn evaluate_batches<T: Element, M: Model<T>>(
    model: &M,
    batches: impl Iterator<Item = Result<Batch<T>>>,
) -> Result<Evaluation> {
    let mut tape = Tape::<T>::new();
    let mut loss_mean = RunningMean::default();
    let mut accuracy = Accuracy::default();
    let mut n_samples = 0;
    for batch in batches {
        let batch = batch?;
        let size = batch.len();
        n_samples += size;
        {
            let bound = model.bind(&tape);
            let ((out, labels), loss) = forward_loss(&tape, &bound, batch)?;
            if let Some(labels) = labels {
                out.with_value(|logits| accuracy.add(logits, &labels))?;
            }
            loss_mean.add(loss.value().as_f64(), size);
        }
        tape.clear();
    }
    Ok(Evaluation {
        loss: loss_mean.mean().unwrap_or(f64::NAN),
        accuracy: accuracy.value(),
        n_samples,
    })
}

/// The model's output on a batch with the batch's labels (for classification), and the loss.
#[allow(clippy::type_complexity)]
fn forward_loss<'t, T: Element, B: BoundModel<'t, T>>(
    tape: &'t Tape<T>,
    bound: &B,
    batch: Batch<T>,
) -> Result<((Tensor<'t, T>, Option<Vec<usize>>), Scalar<'t, T>)> {
    let Batch {
        features, targets, ..
    } = batch;
    let out = bound.try_forward(tape.tensor_constant(features))?;
    Ok(match targets {
        BatchTargets::Classes(labels) => {
            let loss = softmax_cross_entropy(out, &labels)?;
            ((out, Some(labels)), loss)
        }
        BatchTargets::Values(values) => {
            let loss = mse_loss(out, tape.tensor_constant(values))?;
            ((out, None), loss)
        }
    })
}

/// What one worker of a data-parallel step found on its shard.
struct Shard<T: Element> {
    /// The shard's mean loss.
    loss: f64,
    /// The model's outputs and the labels, for classification.
    predictions: Option<(Array<T>, Vec<usize>)>,
    /// The gradients of the shard's mean loss (none if the loss is not finite).
    grads: Option<ParamGrads<T>>,
}

/// One worker's part of a data-parallel step: the shard's loss and gradients on its own
/// tape, which is cleared for the next step.
fn shard_step<T: Element, M: Model<T>>(
    model: &M,
    tape: &mut Tape<T>,
    shard: Batch<T>,
) -> Result<Shard<T>> {
    let outcome = {
        let bound = model.bind(tape);
        let ((out, labels), loss) = forward_loss(tape, &bound, shard)?;
        let loss_value = loss.value().as_f64();
        let predictions = labels.map(|labels| (out.value(), labels));
        let grads = if loss_value.is_finite() {
            let mut grads = loss.try_backward()?;
            Some(bound.take_grads(&mut grads))
        } else {
            None
        };
        Shard {
            loss: loss_value,
            predictions,
            grads,
        }
    };
    tape.clear();
    Ok(outcome)
}

/// The samples `range` of `batch`, in order.
fn shard_of<T: Element>(batch: &Batch<T>, range: std::ops::Range<usize>) -> Result<Batch<T>> {
    Ok(Batch {
        features: batch.features.rows(range.clone())?,
        targets: match &batch.targets {
            BatchTargets::Classes(labels) => BatchTargets::Classes(labels[range.clone()].to_vec()),
            BatchTargets::Values(values) => BatchTargets::Values(values.rows(range.clone())?),
        },
        indices: batch.indices[range].to_vec(),
    })
}

/// The first NaN or infinity among the gradients, with its parameter's name.
fn first_non_finite<T: Element>(grads: &ParamGrads<T>) -> Option<(&str, f64)> {
    grads
        .iter()
        .find_map(|(name, g)| g.first_non_finite().map(|(_, v)| (name, v.as_f64())))
}

/// The model's parameters before the last update, so that a step that goes wrong can be
/// undone. A shared parameter (as [`nn`]'s layers keep theirs) is saved as a second reference:
/// the update then writes its new values to a buffer of their own while reading the old ones
/// (see [`Array::zip_mut_with`]), so saving costs no copy. Any other is copied, into the
/// previous step's buffer.
struct Snapshot<T: Element> {
    params: Vec<Array<T>>,
}

impl<T: Element> Default for Snapshot<T> {
    fn default() -> Self {
        Snapshot { params: Vec::new() }
    }
}

impl<T: Element> Snapshot<T> {
    fn capture<M: Model<T>>(&mut self, model: &M) {
        let mut i = 0;
        let params = &mut self.params;
        model.visit_params(&mut |_, p| {
            match params.get_mut(i) {
                Some(saved) if p.is_shared() => *saved = p.clone(),
                // Same shape as last time: copy without allocating.
                Some(saved) if saved.shape() == p.shape() && !saved.is_shared() => {
                    saved.data_mut().copy_from_slice(p.data())
                }
                Some(saved) => *saved = p.clone(),
                None => params.push(p.clone()),
            }
            i += 1;
        });
        params.truncate(i);
    }

    /// Puts the captured parameters back (nothing happens if none were captured).
    fn restore<M: Model<T>>(&self, model: &mut M) {
        if self.params.is_empty() {
            return;
        }
        let mut saved = self.params.iter();
        model.visit_params_mut(&mut |_, p| {
            if let Some(s) = saved.next() {
                p.clone_from(s);
            }
        });
    }
}
