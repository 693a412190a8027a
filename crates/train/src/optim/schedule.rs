//! Learning-rate schedules: the learning rate as a function of the epoch (or step) count.

use std::f64::consts::PI;

use super::check_hyper;
use crate::{Result, TrainError};

/// A learning-rate schedule: `lr_at(t)` for `t = 0, 1, 2, ...` (epochs or steps, as the
/// caller counts), applied with [`super::Optimizer::set_lr`].
///
/// ```
/// use train::optim::{LrSchedule, Optimizer, Sgd, SgdConfig, StepDecay};
/// let schedule = StepDecay::new(0.1, 10, 0.5)?;
/// let mut sgd = Sgd::<f32>::new(SgdConfig::default())?;
/// for epoch in 0..30 {
///     sgd.set_lr(schedule.lr_at(epoch));
///     // ... one epoch of updates ...
/// }
/// assert_eq!(sgd.lr(), 0.025);
/// # Ok::<(), train::TrainError>(())
/// ```
pub trait LrSchedule: std::fmt::Debug {
    /// The learning rate at epoch (or step) `t`.
    fn lr_at(&self, t: usize) -> f64;
}

/// The same learning rate throughout.
///
/// ```
/// use train::optim::{Constant, LrSchedule};
/// assert_eq!(Constant(0.01).lr_at(1000), 0.01);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constant(pub f64);

impl LrSchedule for Constant {
    fn lr_at(&self, _t: usize) -> f64 {
        self.0
    }
}

/// Step decay (PyTorch's `StepLR`): `lr_t = lr · γ^⌊t / step_size⌋`.
///
/// ```
/// use train::optim::{LrSchedule, StepDecay};
/// let s = StepDecay::new(1.0, 2, 0.5)?;
/// let lrs: Vec<f64> = (0..6).map(|t| s.lr_at(t)).collect();
/// assert_eq!(lrs, vec![1.0, 1.0, 0.5, 0.5, 0.25, 0.25]);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay {
    lr: f64,
    step_size: usize,
    gamma: f64,
}

impl StepDecay {
    /// Starts at `lr` and multiplies it by `gamma` every `step_size` epochs.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `lr` is negative or not finite, `step_size` is 0,
    /// or `gamma` is not in `(0, 1]`.
    ///
    /// ```
    /// use train::optim::{LrSchedule, StepDecay};
    /// let s = StepDecay::new(0.1, 10, 0.5)?;
    /// assert_eq!((s.lr_at(0), s.lr_at(9)), (0.1, 0.1));
    /// assert_eq!((s.lr_at(10), s.lr_at(25)), (0.05, 0.025)); // halved every 10 epochs
    /// assert!(StepDecay::new(0.1, 0, 0.5).is_err());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn new(lr: f64, step_size: usize, gamma: f64) -> Result<Self> {
        const OP: &str = "StepDecay::new";
        check_hyper(OP, "lr", lr, |v| v >= 0.0, "≥ 0")?;
        check_hyper(OP, "gamma", gamma, |v| v > 0.0 && v <= 1.0, "in (0, 1]")?;
        if step_size == 0 {
            return Err(TrainError::invalid(
                OP,
                "step_size is 0; it must be at least 1",
            ));
        }
        Ok(StepDecay {
            lr,
            step_size,
            gamma,
        })
    }
}

impl LrSchedule for StepDecay {
    fn lr_at(&self, t: usize) -> f64 {
        let k = i32::try_from(t / self.step_size).unwrap_or(i32::MAX);
        self.lr * self.gamma.powi(k)
    }
}

/// Cosine annealing (Loshchilov & Hutter's SGDR without restarts; PyTorch's
/// `CosineAnnealingLR` closed form): from `lr_max` at `t = 0` down to `lr_min` at
/// `t = t_max`,
///
/// ```text
/// lr_t = lr_min + ½ (lr_max − lr_min) (1 + cos(π t / t_max))
/// ```
///
/// and `lr_min` after `t_max` (PyTorch's closed form would rise again; holding the minimum is
/// what a schedule that ends at `t_max` should do when training runs longer).
///
/// ```
/// use train::optim::{CosineAnnealing, LrSchedule};
/// let s = CosineAnnealing::new(1.0, 0.0, 4)?;
/// assert_eq!(s.lr_at(0), 1.0);
/// assert!((s.lr_at(2) - 0.5).abs() < 1e-15);   // cos(π/2) = 0
/// assert_eq!(s.lr_at(4), 0.0);
/// assert_eq!(s.lr_at(9), 0.0);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealing {
    lr_max: f64,
    lr_min: f64,
    t_max: usize,
}

impl CosineAnnealing {
    /// Anneals from `lr_max` to `lr_min` over `t_max` epochs.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if a rate is negative or not finite, `lr_min > lr_max`,
    /// or `t_max` is 0.
    ///
    /// ```
    /// use train::optim::{CosineAnnealing, LrSchedule};
    /// let s = CosineAnnealing::new(0.1, 0.0, 10)?;
    /// assert_eq!(s.lr_at(0), 0.1);
    /// assert!((s.lr_at(5) - 0.05).abs() < 1e-12); // half-way: cos(π/2) = 0
    /// assert_eq!((s.lr_at(10), s.lr_at(20)), (0.0, 0.0)); // held at lr_min
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn new(lr_max: f64, lr_min: f64, t_max: usize) -> Result<Self> {
        const OP: &str = "CosineAnnealing::new";
        check_hyper(OP, "lr_max", lr_max, |v| v >= 0.0, "≥ 0")?;
        check_hyper(
            OP,
            "lr_min",
            lr_min,
            |v| (0.0..=lr_max).contains(&v),
            "in [0, lr_max]",
        )?;
        if t_max == 0 {
            return Err(TrainError::invalid(OP, "t_max is 0; it must be at least 1"));
        }
        Ok(CosineAnnealing {
            lr_max,
            lr_min,
            t_max,
        })
    }
}

impl LrSchedule for CosineAnnealing {
    fn lr_at(&self, t: usize) -> f64 {
        if t >= self.t_max {
            return self.lr_min;
        }
        let phase = PI * t as f64 / self.t_max as f64;
        self.lr_min + 0.5 * (self.lr_max - self.lr_min) * (1.0 + phase.cos())
    }
}

/// Linear warm-up, then cosine decay: a schedule counted in steps (updates), for
/// [`Trainer::with_step_schedule`](crate::trainer::Trainer::with_step_schedule) or a loop of
/// your own. With peak rate `lr`, `W` warm-up steps, `T` steps in all and floor `lr_min`:
///
/// ```text
/// lr_t = lr · (t + 1) / W                                      for t < W
/// lr_t = lr_min + ½ (lr − lr_min) (1 + cos(π (t − W) / (T − W)))   for W ≤ t < T
/// lr_t = lr_min                                                for t ≥ T
/// ```
///
/// The warm-up ends on the peak (step `W − 1` has `lr`, and so does step `W`, where the cosine
/// starts), and its first step already learns (`lr/W`, not 0 as in `transformers`'
/// `get_cosine_schedule_with_warmup`, whose warm-up is `lr·t/W`). With `W = 0` it is
/// [`CosineAnnealing`] over steps.
///
/// ```
/// use train::optim::{LrSchedule, WarmupCosine};
/// let s = WarmupCosine::new(1.0, 0.0, 2, 6)?;
/// let lrs: Vec<f64> = (0..7).map(|t| s.lr_at(t)).collect();
/// // warm-up 1/2, 2/2; cosine over 4 steps: ½(1 + cos(πk/4)) for k = 0..3; then the floor.
/// let expected = [0.5, 1.0, 1.0, 0.853_553_390_593_273_7, 0.5, 0.146_446_609_406_726_24, 0.0];
/// assert!(lrs.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-15), "{lrs:?}");
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupCosine {
    lr: f64,
    lr_min: f64,
    warmup: usize,
    total: usize,
}

impl WarmupCosine {
    /// Warms up to `lr` over `warmup` steps, then decays to `lr_min` by step `total`.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if a rate is negative or not finite, `lr_min > lr`, or
    /// `warmup ≥ total`.
    ///
    /// ```
    /// use train::optim::WarmupCosine;
    /// assert!(WarmupCosine::new(0.1, 0.0, 100, 1000).is_ok());
    /// assert!(WarmupCosine::new(0.1, 0.0, 1000, 1000).is_err()); // no room to decay
    /// assert!(WarmupCosine::new(0.1, 0.2, 10, 100).is_err());    // floor above the peak
    /// ```
    pub fn new(lr: f64, lr_min: f64, warmup: usize, total: usize) -> Result<Self> {
        const OP: &str = "WarmupCosine::new";
        check_hyper(OP, "lr", lr, |v| v >= 0.0, "≥ 0")?;
        check_hyper(
            OP,
            "lr_min",
            lr_min,
            |v| (0.0..=lr).contains(&v),
            "in [0, lr]",
        )?;
        if warmup >= total {
            return Err(TrainError::invalid(
                OP,
                format!("warmup ({warmup} steps) must be shorter than total ({total} steps)"),
            ));
        }
        Ok(WarmupCosine {
            lr,
            lr_min,
            warmup,
            total,
        })
    }
}

impl LrSchedule for WarmupCosine {
    fn lr_at(&self, t: usize) -> f64 {
        if t < self.warmup {
            return self.lr * (t + 1) as f64 / self.warmup as f64;
        }
        if t >= self.total {
            return self.lr_min;
        }
        let phase = PI * (t - self.warmup) as f64 / (self.total - self.warmup) as f64;
        self.lr_min + 0.5 * (self.lr - self.lr_min) * (1.0 + phase.cos())
    }
}
