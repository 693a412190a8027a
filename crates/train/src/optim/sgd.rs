//! [`Sgd`]: stochastic gradient descent with momentum, Nesterov momentum and weight decay.

use std::collections::HashMap;

use tape::{Array, Element};

use super::{Optimizer, OptimizerState, check_hyper, check_shapes};
use crate::{Result, TrainError};

/// The hyper-parameters of [`Sgd`]; the defaults are PyTorch's.
///
/// ```
/// use train::optim::SgdConfig;
/// let c = SgdConfig::default();
/// assert_eq!((c.lr, c.momentum, c.weight_decay, c.nesterov), (1e-3, 0.0, 0.0, false));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// The learning rate `lr` (default `1e-3`).
    pub lr: f64,
    /// The momentum factor `μ` in `[0, 1)` (default 0: no momentum).
    pub momentum: f64,
    /// Dampening `τ` of the gradient added to the momentum buffer, in `[0, 1]` (default 0).
    pub dampening: f64,
    /// Nesterov momentum (default off); needs `momentum > 0` and `dampening == 0`.
    pub nesterov: bool,
    /// L2 penalty `λ` added to the gradient (default 0).
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

/// Stochastic gradient descent, with PyTorch's `torch.optim.SGD` update. For each element,
/// with gradient `g`, parameter `p` and momentum buffer `b`:
///
/// ```text
/// g ← g + λ·p                              (weight decay, if λ ≠ 0)
/// b ← g                     on the first step,
/// b ← μ·b + (1 − τ)·g       afterwards     (momentum, if μ ≠ 0)
/// g ← g + μ·b  if Nesterov,  else  g ← b
/// p ← p − lr·g
/// ```
///
/// ```
/// use tape::Array;
/// use train::optim::{Optimizer, Sgd, SgdConfig};
/// let mut p = Array::from_vec(vec![1.0f64, -2.0], &[2])?;
/// let g = Array::from_vec(vec![0.5, 0.5], &[2])?;
/// let mut sgd = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() })?;
/// sgd.update("p", &mut p, &g)?;   // b = g = 0.5;           p = 1 − 0.1·0.5 = 0.95
/// sgd.update("p", &mut p, &g)?;   // b = 0.9·0.5 + 0.5 = 0.95; p = 0.95 − 0.095 = 0.855
/// assert!((p.data()[0] - 0.855).abs() < 1e-12);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T: Element> {
    config: SgdConfig,
    /// Momentum buffers by parameter name (only with momentum).
    buffers: HashMap<String, Vec<T>>,
}

impl<T: Element> Sgd<T> {
    /// An SGD optimiser with these hyper-parameters.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `lr` or `weight_decay` is negative or not finite,
    /// `momentum` is not in `[0, 1)`, `dampening` not in `[0, 1]`, or Nesterov is asked for
    /// without momentum or with dampening.
    ///
    /// ```
    /// use tape::Array;
    /// use train::optim::{Optimizer, Sgd, SgdConfig};
    /// let mut sgd = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() })?;
    /// let (mut p, g) = (Array::from_vec(vec![1.0f64], &[1])?, Array::ones(&[1]));
    /// sgd.update("p", &mut p, &g)?; // buffer 1: p = 1 − 0.1
    /// sgd.update("p", &mut p, &g)?; // buffer 0.9·1 + 1 = 1.9: p = 0.9 − 0.19
    /// assert!((p.data()[0] - 0.71).abs() < 1e-12);
    /// assert!(Sgd::<f64>::new(SgdConfig { nesterov: true, ..SgdConfig::default() }).is_err());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn new(config: SgdConfig) -> Result<Self> {
        const OP: &str = "Sgd::new";
        check_hyper(OP, "lr", config.lr, |v| v >= 0.0, "≥ 0")?;
        check_hyper(
            OP,
            "momentum",
            config.momentum,
            |v| (0.0..1.0).contains(&v),
            "in [0, 1)",
        )?;
        check_hyper(
            OP,
            "dampening",
            config.dampening,
            |v| (0.0..=1.0).contains(&v),
            "in [0, 1]",
        )?;
        check_hyper(OP, "weight_decay", config.weight_decay, |v| v >= 0.0, "≥ 0")?;
        if config.nesterov && (config.momentum == 0.0 || config.dampening != 0.0) {
            return Err(TrainError::invalid(
                OP,
                "Nesterov momentum needs momentum > 0 and dampening = 0",
            ));
        }
        Ok(Sgd {
            config,
            buffers: HashMap::new(),
        })
    }

    /// The hyper-parameters.
    ///
    /// ```
    /// use train::optim::{Sgd, SgdConfig};
    /// let sgd = Sgd::<f32>::new(SgdConfig { lr: 0.05, momentum: 0.9, ..SgdConfig::default() })?;
    /// assert_eq!((sgd.config().lr, sgd.config().momentum), (0.05, 0.9));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// The hyper-parameters the momentum buffers depend on (all but the learning rate).
    fn hyper(&self) -> [(&'static str, f64); 4] {
        let c = &self.config;
        [
            ("momentum", c.momentum),
            ("dampening", c.dampening),
            ("nesterov", if c.nesterov { 1.0 } else { 0.0 }),
            ("weight_decay", c.weight_decay),
        ]
    }
}

impl<T: Element> Optimizer<T> for Sgd<T> {
    fn update(&mut self, name: &str, param: &mut Array<T>, grad: &Array<T>) -> Result<()> {
        let buffer = self.buffers.get(name);
        check_shapes("Sgd::update", name, param, grad, buffer.map(Vec::len))?;
        let c = &self.config;
        let lr = T::cast_from(c.lr);
        let wd = T::cast_from(c.weight_decay);
        let mu = T::cast_from(c.momentum);
        let keep = T::one() - T::cast_from(c.dampening);
        // Shapes were checked above. One pass, split across threads for large parameters.
        if c.momentum == 0.0 {
            param
                .zip_mut_with(grad, |p, g| {
                    let g = g + wd * *p;
                    *p -= lr * g;
                })
                .expect("shapes checked above");
            return Ok(());
        }
        let first = !self.buffers.contains_key(name);
        let buf = self
            .buffers
            .entry(name.to_string())
            .or_insert_with(|| vec![T::zero(); param.len()]);
        let nesterov = c.nesterov;
        param
            .zip_mut_with_state(grad, [buf.as_mut_slice()], |p, g, [b]| {
                let g = g + wd * *p;
                *b = if first { g } else { mu * *b + keep * g };
                let d = if nesterov { g + mu * *b } else { *b };
                *p -= lr * d;
            })
            .expect("shapes checked above");
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn reset(&mut self) {
        self.buffers.clear();
    }

    fn state(&self) -> Result<OptimizerState<T>> {
        let mut state = OptimizerState::new("sgd", self.hyper());
        for (name, buf) in &self.buffers {
            let array = Array::from_vec(buf.clone(), &[buf.len()])?;
            state.slots.insert(
                name.clone(),
                [("momentum_buffer".to_string(), array)].into(),
            );
        }
        Ok(state)
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        const OP: &str = "Sgd::load_state";
        state.check_matches(OP, "sgd", &self.hyper())?;
        state.check_slots(OP, &["momentum_buffer"], false)?;
        self.buffers = state
            .slots
            .into_iter()
            .map(|(name, mut slots)| {
                let buf = slots
                    .remove("momentum_buffer")
                    .expect("internal error: a checked slot is missing");
                (name, buf.data().to_vec())
            })
            .collect();
        Ok(())
    }
}
