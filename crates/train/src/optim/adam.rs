//! [`Adam`] and [`AdamW`]: adaptive moments with bias correction; L2 or decoupled weight decay.

use std::collections::HashMap;

use num_traits::Float;
use tape::{Array, Element};

use super::{Optimizer, OptimizerState, check_hyper, check_shapes};
use crate::Result;

/// The hyper-parameters of [`Adam`] and [`AdamW`]; the defaults are PyTorch's `Adam`
/// defaults (`AdamW`'s differ only in `weight_decay = 0.01`: see [`AdamConfig::adamw`]).
///
/// ```
/// use train::optim::AdamConfig;
/// let c = AdamConfig::default();
/// assert_eq!((c.lr, c.beta1, c.beta2, c.weight_decay), (1e-3, 0.9, 0.999, 0.0));
/// assert_eq!(AdamConfig::adamw().weight_decay, 0.01);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdamConfig {
    /// The learning rate `lr` (default `1e-3`).
    pub lr: f64,
    /// Decay rate `β₁` of the first moment, in `[0, 1)` (default 0.9).
    pub beta1: f64,
    /// Decay rate `β₂` of the second moment, in `[0, 1)` (default 0.999).
    pub beta2: f64,
    /// `ε` added to the denominator, `≥ 0` (default `1e-8`).
    pub eps: f64,
    /// Weight decay `λ` (default 0): an L2 term added to the gradient in [`Adam`], a decoupled
    /// shrinking of the parameters in [`AdamW`].
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// PyTorch's `AdamW` defaults: those of `Adam` with `weight_decay = 0.01`.
    ///
    /// ```
    /// assert_eq!(train::optim::AdamConfig::adamw().weight_decay, 0.01);
    /// ```
    pub fn adamw() -> Self {
        AdamConfig {
            weight_decay: 0.01,
            ..AdamConfig::default()
        }
    }

    fn validate(&self, op: &'static str) -> Result<()> {
        check_hyper(op, "lr", self.lr, |v| v >= 0.0, "≥ 0")?;
        check_hyper(
            op,
            "beta1",
            self.beta1,
            |v| (0.0..1.0).contains(&v),
            "in [0, 1)",
        )?;
        check_hyper(
            op,
            "beta2",
            self.beta2,
            |v| (0.0..1.0).contains(&v),
            "in [0, 1)",
        )?;
        check_hyper(op, "eps", self.eps, |v| v >= 0.0, "≥ 0")?;
        check_hyper(op, "weight_decay", self.weight_decay, |v| v >= 0.0, "≥ 0")
    }
}

/// Adam (Kingma & Ba, 2015) with PyTorch's `torch.optim.Adam` update. For each element, at
/// the parameter's step `t = 1, 2, ...`, with moments `m₀ = v₀ = 0`:
///
/// ```text
/// g ← g + λ·p                              (L2 weight decay, if λ ≠ 0)
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)
/// p ← p − lr · m̂ / (√v̂ + ε)
/// ```
///
/// ```
/// use tape::Array;
/// use train::optim::{Adam, AdamConfig, Optimizer};
/// let mut p = Array::from_vec(vec![1.0f64, 1.0], &[2])?;
/// let g = Array::from_vec(vec![4.0, -0.01], &[2])?;
/// let mut adam = Adam::new(AdamConfig { lr: 0.1, eps: 0.0, ..AdamConfig::default() })?;
/// adam.update("p", &mut p, &g)?;
/// // At t = 1, m̂ = g and v̂ = g², so each element moves by lr·sign(g), whatever |g| is.
/// assert!((p.data()[0] - 0.9).abs() < 1e-12 && (p.data()[1] - 1.1).abs() < 1e-12);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T: Element> {
    core: Core<T>,
}

/// AdamW (Loshchilov & Hutter, 2019) with PyTorch's `torch.optim.AdamW` update: Adam without
/// the L2 term, the parameters instead shrunk directly before the Adam step:
///
/// ```text
/// p ← p − lr·λ·p
/// m, v, m̂, v̂ as in Adam (from the raw gradient)
/// p ← p − lr · m̂ / (√v̂ + ε)
/// ```
///
/// ```
/// use tape::Array;
/// use train::optim::{AdamConfig, AdamW, Optimizer};
/// let mut p = Array::from_vec(vec![2.0f64], &[1])?;
/// let zero = Array::from_vec(vec![0.0f64], &[1])?;
/// let mut adamw = AdamW::new(AdamConfig { lr: 0.1, weight_decay: 0.5, ..AdamConfig::default() })?;
/// adamw.update("p", &mut p, &zero)?;
/// // A zero gradient leaves m = v = 0, so only the decay acts: p = 2 · (1 − 0.1 · 0.5) = 1.9.
/// assert!((p.data()[0] - 1.9).abs() < 1e-12);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<T: Element> {
    core: Core<T>,
}

impl<T: Element> Adam<T> {
    /// An Adam optimiser with these hyper-parameters.
    ///
    /// # Errors
    /// [`crate::TrainError::InvalidArgument`] if `lr`, `eps` or `weight_decay` is negative or
    /// not finite, or a `β` is not in `[0, 1)`.
    ///
    /// ```
    /// use tape::Array;
    /// use train::optim::{Adam, AdamConfig, Optimizer};
    /// let mut adam = Adam::new(AdamConfig { lr: 0.1, ..AdamConfig::default() })?;
    /// let mut p = Array::from_vec(vec![1.0f64], &[1])?;
    /// adam.update("p", &mut p, &Array::from_vec(vec![0.5], &[1])?)?;
    /// // the first step moves by lr·g / (|g| + eps) ≈ lr, whatever the gradient's scale
    /// assert!((p.data()[0] - 0.9).abs() < 1e-6);
    /// assert!(Adam::<f64>::new(AdamConfig { beta1: 1.0, ..AdamConfig::default() }).is_err());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn new(config: AdamConfig) -> Result<Self> {
        config.validate("Adam::new")?;
        Ok(Adam {
            core: Core::new(config, false),
        })
    }

    /// The hyper-parameters.
    ///
    /// ```
    /// use train::optim::{Adam, AdamConfig};
    /// let adam = Adam::<f64>::new(AdamConfig { lr: 0.01, ..AdamConfig::default() })?;
    /// assert_eq!((adam.config().lr, adam.config().beta2), (0.01, 0.999));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn config(&self) -> &AdamConfig {
        &self.core.config
    }
}

impl<T: Element> AdamW<T> {
    /// An AdamW optimiser with these hyper-parameters.
    ///
    /// # Errors
    /// As [`Adam::new`].
    ///
    /// ```
    /// use tape::Array;
    /// use train::optim::{AdamConfig, AdamW, Optimizer};
    /// let mut adamw = AdamW::new(AdamConfig { lr: 0.1, ..AdamConfig::adamw() })?;
    /// let mut p = Array::from_vec(vec![1.0f64], &[1])?;
    /// adamw.update("p", &mut p, &Array::zeros(&[1]))?;
    /// // a zero gradient leaves only the decoupled decay: p·(1 − lr·wd) = 1 − 0.1·0.01
    /// assert!((p.data()[0] - 0.999).abs() < 1e-12);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn new(config: AdamConfig) -> Result<Self> {
        config.validate("AdamW::new")?;
        Ok(AdamW {
            core: Core::new(config, true),
        })
    }

    /// The hyper-parameters.
    ///
    /// ```
    /// use train::optim::{AdamConfig, AdamW};
    /// let adamw = AdamW::<f32>::new(AdamConfig::adamw())?;
    /// assert_eq!(adamw.config().weight_decay, 0.01);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn config(&self) -> &AdamConfig {
        &self.core.config
    }
}

/// What Adam and AdamW share: everything but where the weight decay goes.
#[derive(Clone, Debug)]
struct Core<T: Element> {
    config: AdamConfig,
    decoupled: bool,
    state: HashMap<String, Moments<T>>,
}

/// One parameter's step count and moments.
#[derive(Clone, Debug)]
struct Moments<T> {
    step: i32,
    m: Vec<T>,
    v: Vec<T>,
}

impl<T: Element> Core<T> {
    fn new(config: AdamConfig, decoupled: bool) -> Self {
        Core {
            config,
            decoupled,
            state: HashMap::new(),
        }
    }

    fn kind(&self) -> &'static str {
        if self.decoupled { "adamw" } else { "adam" }
    }

    /// The hyper-parameters the moments depend on (all but the learning rate).
    fn hyper(&self) -> [(&'static str, f64); 4] {
        let c = &self.config;
        [
            ("beta1", c.beta1),
            ("beta2", c.beta2),
            ("eps", c.eps),
            ("weight_decay", c.weight_decay),
        ]
    }

    fn state(&self) -> Result<OptimizerState<T>> {
        let mut state = OptimizerState::new(self.kind(), self.hyper());
        for (name, s) in &self.state {
            let m = Array::from_vec(s.m.clone(), &[s.m.len()])?;
            let v = Array::from_vec(s.v.clone(), &[s.v.len()])?;
            state.slots.insert(
                name.clone(),
                [("exp_avg".to_string(), m), ("exp_avg_sq".to_string(), v)].into(),
            );
            state.steps.insert(name.clone(), s.step as u64);
        }
        Ok(state)
    }

    fn load_state(&mut self, op: &'static str, state: OptimizerState<T>) -> Result<()> {
        state.check_matches(op, self.kind(), &self.hyper())?;
        state.check_slots(op, &["exp_avg", "exp_avg_sq"], true)?;
        if let Some((name, step)) = state
            .steps
            .iter()
            .find(|(_, s)| **s == 0 || **s > i32::MAX as u64)
        {
            return Err(crate::TrainError::invalid(
                op,
                format!("parameter `{name}`: step count {step} is not in 1..=2^31-1"),
            ));
        }
        let mut steps = state.steps;
        self.state = state
            .slots
            .into_iter()
            .map(|(name, mut slots)| {
                let mut take = |slot: &str| {
                    slots
                        .remove(slot)
                        .expect("internal error: a checked slot is missing")
                        .data()
                        .to_vec()
                };
                let moments = Moments {
                    step: steps
                        .remove(&name)
                        .expect("internal error: a checked step is missing")
                        as i32,
                    m: take("exp_avg"),
                    v: take("exp_avg_sq"),
                };
                (name, moments)
            })
            .collect();
        Ok(())
    }

    fn update(
        &mut self,
        op: &'static str,
        name: &str,
        param: &mut Array<T>,
        grad: &Array<T>,
    ) -> Result<()> {
        check_shapes(
            op,
            name,
            param,
            grad,
            self.state.get(name).map(|s| s.m.len()),
        )?;
        let c = &self.config;
        let s = self
            .state
            .entry(name.to_string())
            .or_insert_with(|| Moments {
                step: 0,
                m: vec![T::zero(); param.len()],
                v: vec![T::zero(); param.len()],
            });
        s.step = s.step.saturating_add(1);
        // PyTorch's arrangement of the bias corrections: lr/(1 − β₁ᵗ) scales m, and
        // √v / √(1 − β₂ᵗ) + ε = √v̂ + ε is the denominator.
        let bias1 = 1.0 - c.beta1.powi(s.step);
        let bias2_sqrt = (1.0 - c.beta2.powi(s.step)).sqrt();
        let step_size = T::cast_from(c.lr / bias1);
        let bias2_sqrt = T::cast_from(bias2_sqrt);
        let (b1, b2) = (T::cast_from(c.beta1), T::cast_from(c.beta2));
        let (one_b1, one_b2) = (T::one() - b1, T::one() - b2);
        let eps = T::cast_from(c.eps);
        let (l2, shrink) = if self.decoupled {
            (T::zero(), T::one() - T::cast_from(c.lr * c.weight_decay))
        } else {
            (T::cast_from(c.weight_decay), T::one())
        };
        // Shapes were checked above. One pass, split across threads for large parameters.
        param
            .zip_mut_with_state(
                grad,
                [s.m.as_mut_slice(), s.v.as_mut_slice()],
                |p, g, [m, v]| {
                    let g = g + l2 * *p;
                    *m = b1 * *m + one_b1 * g;
                    *v = b2 * *v + one_b2 * g * g;
                    let denom = Float::sqrt(*v) / bias2_sqrt + eps;
                    *p = shrink * *p - step_size * *m / denom;
                },
            )
            .expect("shapes checked above");
        Ok(())
    }
}

macro_rules! impl_optimizer {
    ($ty:ident, $op:literal, $load_op:literal) => {
        impl<T: Element> Optimizer<T> for $ty<T> {
            fn update(&mut self, name: &str, param: &mut Array<T>, grad: &Array<T>) -> Result<()> {
                self.core.update($op, name, param, grad)
            }

            fn lr(&self) -> f64 {
                self.core.config.lr
            }

            fn set_lr(&mut self, lr: f64) {
                self.core.config.lr = lr;
            }

            fn reset(&mut self) {
                self.core.state.clear();
            }

            fn state(&self) -> Result<OptimizerState<T>> {
                self.core.state()
            }

            fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
                self.core.load_state($load_op, state)
            }
        }
    };
}

impl_optimizer!(Adam, "Adam::update", "Adam::load_state");
impl_optimizer!(AdamW, "AdamW::update", "AdamW::load_state");
