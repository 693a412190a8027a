//! Optimisers — [`Sgd`] (momentum, Nesterov, weight decay), [`Adam`] and [`AdamW`] — and
//! learning-rate schedules ([`StepDecay`], [`CosineAnnealing`], [`WarmupCosine`]), and
//! gradient clipping by global norm ([`clip_grad_norm`]).
//!
//! Parameters live outside the tape between steps, as plain [`Array`]s with names such as
//! `layers.0.weight`; an optimiser updates one parameter at a time from its gradient and
//! keeps whatever state it needs (momentum buffers, Adam's moments and step count) keyed by
//! that name. Each update is one fused pass over the parameter's elements.
//!
//! The update rules are PyTorch's (`torch.optim.SGD`, `Adam`, `AdamW`), written out on each
//! type, so hyper-parameters carry over.
//!
//! ```
//! use tape::{Array, Tape};
//! use train::optim::{Optimizer, Sgd, SgdConfig};
//!
//! // Minimise f(w) = Σ (w − 3)² from w = 0.
//! let mut w = Array::<f64>::zeros(&[2]);
//! let mut opt = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.5, ..SgdConfig::default() })?;
//! for _ in 0..100 {
//!     let tape = Tape::new();
//!     let wt = tape.tensor(w.clone());
//!     let loss = ((wt - 3.0) * (wt - 3.0)).sum();
//!     let grads = loss.backward();
//!     opt.update("w", &mut w, grads.wrt(wt))?;
//! }
//! assert!(w.data().iter().all(|&v| (v - 3.0).abs() < 1e-6));
//! # Ok::<(), train::TrainError>(())
//! ```

mod adam;
mod clip;
mod schedule;
mod sgd;
mod state;

use tape::{Array, Element};

use crate::{Result, TrainError};

pub use adam::{Adam, AdamConfig, AdamW};
pub use clip::{clip_grad_norm, grad_norm};
pub use schedule::{Constant, CosineAnnealing, LrSchedule, StepDecay, WarmupCosine};
pub use sgd::{Sgd, SgdConfig};
pub use state::OptimizerState;

/// An optimiser: updates named parameters in place from their gradients.
///
/// State is per parameter name, so the same optimiser serves a whole model: call
/// [`Optimizer::update`] once per parameter per step (or [`Optimizer::step`] with all of
/// them). Adam counts steps per parameter, as PyTorch does, so no separate "end of step" call
/// is needed.
///
/// ```
/// use tape::Array;
/// use train::optim::{Optimizer, Sgd, SgdConfig};
/// let mut opt = Sgd::<f64>::new(SgdConfig { lr: 0.5, ..SgdConfig::default() })?;
/// let mut w = Array::from_vec(vec![1.0, 2.0], &[2])?;
/// opt.update("w", &mut w, &Array::from_vec(vec![1.0, -2.0], &[2])?)?;
/// assert_eq!(w.data(), &[0.5, 3.0]); // w − 0.5·g
/// assert!(opt.update("w", &mut w, &Array::zeros(&[3])).is_err()); // shapes differ
/// opt.set_lr(0.1);
/// assert_eq!(opt.lr(), 0.1);
/// # Ok::<(), train::TrainError>(())
/// ```
pub trait Optimizer<T: Element> {
    /// Updates `param` from `grad` (of the same shape) and the state kept under `name`.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `grad`'s shape differs from `param`'s, or from the
    /// shape the state under `name` was created for; `param` is then left unchanged.
    fn update(&mut self, name: &str, param: &mut Array<T>, grad: &Array<T>) -> Result<()>;

    /// Updates every `(name, param, grad)` in turn.
    ///
    /// # Errors
    /// As [`Optimizer::update`]; parameters before the failing one have been updated.
    fn step<'a, I>(&mut self, params: I) -> Result<()>
    where
        I: IntoIterator<Item = (&'a str, &'a mut Array<T>, &'a Array<T>)>,
        T: 'a,
        Self: Sized,
    {
        for (name, param, grad) in params {
            self.update(name, param, grad)?;
        }
        Ok(())
    }

    /// The learning rate used by the next update.
    fn lr(&self) -> f64;

    /// Sets the learning rate, e.g. from an [`LrSchedule`] at the start of an epoch.
    fn set_lr(&mut self, lr: f64);

    /// Forgets all per-parameter state (momentum buffers, moments, step counts).
    fn reset(&mut self);

    /// A copy of the per-parameter state, to save it with the parameters and resume later
    /// (see [`OptimizerState`]). The default, for optimisers that cannot, is an error.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if the optimiser cannot export its state.
    ///
    /// ```
    /// use tape::Array;
    /// use train::optim::{Adam, AdamConfig, Optimizer};
    /// let mut adam = Adam::<f32>::new(AdamConfig::default())?;
    /// adam.update("w", &mut Array::zeros(&[2]), &Array::ones(&[2]))?;
    /// let state = adam.state()?;
    /// assert_eq!((state.kind.as_str(), state.steps["w"]), ("adam", 1));
    /// assert_eq!(state.slots["w"].keys().collect::<Vec<_>>(), ["exp_avg", "exp_avg_sq"]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    fn state(&self) -> Result<OptimizerState<T>> {
        Err(TrainError::invalid(
            "Optimizer::state",
            "this optimiser cannot export its state, so a run with it cannot be resumed",
        ))
    }

    /// Replaces the per-parameter state by `state`, as taken by [`Optimizer::state`] from
    /// an optimiser of the same kind and hyper-parameters (the learning rate may differ).
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if the state is of another kind of optimiser, records
    /// other hyper-parameters, or lacks or has extra slots; the optimiser is then unchanged.
    ///
    /// ```
    /// use train::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
    /// let sgd_state = Sgd::<f64>::new(SgdConfig::default())?.state()?;
    /// let mut adam = Adam::<f64>::new(AdamConfig::default())?;
    /// let err = adam.load_state(sgd_state).unwrap_err();
    /// assert!(err.to_string().contains("the state is of optimiser `sgd`, but this optimiser is `adam`"));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        let _ = state;
        Err(TrainError::invalid(
            "Optimizer::load_state",
            "this optimiser cannot load a saved state, so a run with it cannot be resumed",
        ))
    }
}

/// Checks that `grad` fits `param` and, if there is one, the state made for `state_len`
/// elements.
pub(crate) fn check_shapes<T: Element>(
    op: &'static str,
    name: &str,
    param: &Array<T>,
    grad: &Array<T>,
    state_len: Option<usize>,
) -> Result<()> {
    if param.shape() != grad.shape() {
        return Err(TrainError::invalid(
            op,
            format!(
                "parameter `{name}`: gradient shape {:?} differs from parameter shape {:?}",
                grad.shape(),
                param.shape()
            ),
        ));
    }
    if let Some(len) = state_len {
        if len != param.len() {
            return Err(TrainError::invalid(
                op,
                format!(
                    "parameter `{name}` has {} elements but its optimiser state was made for {len}; \
                     use distinct names for distinct parameters",
                    param.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that a hyper-parameter is finite and satisfies `valid`, described as `range`
/// (e.g. `"in [0, 1)"`).
pub(crate) fn check_hyper(
    op: &'static str,
    what: &str,
    v: f64,
    valid: impl Fn(f64) -> bool,
    range: &str,
) -> Result<()> {
    if v.is_finite() && valid(v) {
        Ok(())
    } else {
        Err(TrainError::invalid(
            op,
            format!("{what} is {v}; it must be finite and {range}"),
        ))
    }
}
