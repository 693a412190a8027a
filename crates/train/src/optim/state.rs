//! [`OptimizerState`]: what an optimiser has learned besides the parameters (momentum
//! buffers, moments, step counts), taken out and put back so that a run can be resumed.

use std::collections::BTreeMap;

use tape::{Array, Element};

use crate::{Result, TrainError};

/// An optimiser's state as plain data: its kind, the hyper-parameters that must not change
/// for the state to make sense, and per parameter the arrays and step count it keeps.
///
/// Slot names are PyTorch's (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `step`), keyed by
/// the parameter's name rather than by its index. The learning rate is not part of it: a
/// schedule or the caller sets it, and may change it when a run is resumed.
///
/// ```
/// use tape::Array;
/// use train::optim::{Optimizer, Sgd, SgdConfig};
/// let config = SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() };
/// let mut sgd = Sgd::<f64>::new(config.clone())?;
/// let mut p = Array::from_vec(vec![1.0], &[1])?;
/// sgd.update("p", &mut p, &Array::ones(&[1]))?;
///
/// let state = sgd.state()?;
/// assert_eq!(state.kind, "sgd");
/// assert_eq!(state.slots["p"]["momentum_buffer"].data(), &[1.0]);
///
/// // A fresh optimiser with the state continues exactly as the first one would.
/// let mut resumed = Sgd::<f64>::new(config)?;
/// resumed.load_state(state)?;
/// let (mut p1, mut p2) = (p.clone(), p.clone());
/// sgd.update("p", &mut p1, &Array::ones(&[1]))?;
/// resumed.update("p", &mut p2, &Array::ones(&[1]))?;
/// assert_eq!(p1, p2);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T: Element> {
    /// `sgd`, `adam` or `adamw`.
    pub kind: String,
    /// Hyper-parameters that the state depends on, by name (`momentum`, `beta1`, ...); a
    /// flag is `0` or `1`. Loading checks that they equal the optimiser's.
    pub hyper: BTreeMap<String, f64>,
    /// Per parameter name, its arrays by slot name (`momentum_buffer`, `exp_avg`, ...).
    pub slots: BTreeMap<String, BTreeMap<String, Array<T>>>,
    /// Per parameter name, the number of updates it has had (Adam's bias correction).
    pub steps: BTreeMap<String, u64>,
}

impl<T: Element> OptimizerState<T> {
    /// An empty state of the given kind and hyper-parameters.
    ///
    /// ```
    /// let s = train::optim::OptimizerState::<f32>::new("sgd", [("momentum", 0.0)]);
    /// assert_eq!((s.kind.as_str(), s.hyper["momentum"]), ("sgd", 0.0));
    /// assert!(s.slots.is_empty() && s.steps.is_empty());
    /// ```
    pub fn new<'a>(kind: &str, hyper: impl IntoIterator<Item = (&'a str, f64)>) -> Self {
        OptimizerState {
            kind: kind.to_string(),
            hyper: hyper.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            slots: BTreeMap::new(),
            steps: BTreeMap::new(),
        }
    }

    /// Checks the kind and hyper-parameters against an optimiser's own (`op` names it in
    /// the error).
    pub(crate) fn check_matches(
        &self,
        op: &'static str,
        kind: &str,
        hyper: &[(&str, f64)],
    ) -> Result<()> {
        if self.kind != kind {
            return Err(TrainError::invalid(
                op,
                format!(
                    "the state is of optimiser `{}`, but this optimiser is `{kind}`",
                    self.kind
                ),
            ));
        }
        for &(name, mine) in hyper {
            match self.hyper.get(name) {
                None => {
                    return Err(TrainError::invalid(
                        op,
                        format!("the state does not record `{name}`"),
                    ));
                }
                // Exact comparison on purpose: the state is only the same run's if the
                // hyper-parameters are the same numbers.
                Some(&theirs) if theirs.to_bits() != mine.to_bits() => {
                    return Err(TrainError::invalid(
                        op,
                        format!("`{name}` is {theirs} in the state, but {mine} in this optimiser"),
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = self.hyper.keys().find(|k| !hyper.iter().any(|h| h.0 == *k)) {
            return Err(TrainError::invalid(
                op,
                format!("the state records `{extra}`, which `{kind}` does not have"),
            ));
        }
        Ok(())
    }

    /// Checks that every parameter has exactly the slots `wanted`, all of one length, and a
    /// step count if and only if `with_steps`. Lengths against the parameters themselves are
    /// checked by the next update (and, for a resume file, against the model on loading).
    pub(crate) fn check_slots(
        &self,
        op: &'static str,
        wanted: &[&str],
        with_steps: bool,
    ) -> Result<()> {
        for (param, slots) in &self.slots {
            for w in wanted {
                if !slots.contains_key(*w) {
                    return Err(TrainError::invalid(
                        op,
                        format!("parameter `{param}` has no `{w}` in the state"),
                    ));
                }
            }
            if let Some(extra) = slots.keys().find(|k| !wanted.contains(&k.as_str())) {
                return Err(TrainError::invalid(
                    op,
                    format!(
                        "parameter `{param}` has a slot `{extra}` this optimiser does not keep"
                    ),
                ));
            }
            let len = slots.values().next().map_or(0, Array::len);
            if let Some((slot, a)) = slots.iter().find(|(_, a)| a.len() != len) {
                return Err(TrainError::invalid(
                    op,
                    format!(
                        "parameter `{param}`: slot `{slot}` has {} elements, the others {len}",
                        a.len()
                    ),
                ));
            }
            if with_steps && !self.steps.contains_key(param) {
                return Err(TrainError::invalid(
                    op,
                    format!("parameter `{param}` has no step count in the state"),
                ));
            }
        }
        if let (false, Some(param)) = (with_steps, self.steps.keys().next()) {
            return Err(TrainError::invalid(
                op,
                format!("parameter `{param}` has a step count, which this optimiser does not keep"),
            ));
        }
        if let Some(param) = self.steps.keys().find(|p| !self.slots.contains_key(*p)) {
            return Err(TrainError::invalid(
                op,
                format!(
                    "parameter `{param}` has a step count but no {} in the state",
                    wanted.join(", ")
                ),
            ));
        }
        Ok(())
    }
}
