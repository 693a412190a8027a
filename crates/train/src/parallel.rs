//! Data parallelism on one machine: a global batch cut into contiguous shards, one tape per
//! shard on its own thread, the gradients summed in a fixed order into one flat
//! [`GradBuffer`], and one update.
//!
//! The parameters are read-only during a step, so every worker binds the same arrays (a new
//! reference each, not a copy). Worker `w` computes the mean loss of its shard of `n_w`
//! samples and its gradient `g_w`; the gradient of the global batch's mean loss is
//! `Σ_w (n_w / n) · g_w`, added up worker 0 first, then 1, and so on, whatever order the
//! threads finish in. The result is the same for every run with the same number of workers;
//! against one worker it differs only by the rounding of the reassociated sums (see
//! `docs/distributed.md` for measured figures).
//!
//! The flat buffer is laid out by the model's parameters in [`nn::Model::visit_params`]
//! order — the same layout on every worker and every process — which is also what the
//! all-reduce between processes sends ([`crate::distributed`]).
//!
//! ```
//! use nn::{Activation, Mlp, Model};
//! use train::data::{self, Standardizer};
//! use train::optim::{Sgd, SgdConfig};
//! use train::trainer::{Control, TrainConfig, Trainer};
//!
//! let mut digits = data::digits::<f64>()?;
//! Standardizer::fit(digits.features())?.apply(&mut digits)?;
//! let run = |workers| -> train::Result<Vec<f64>> {
//!     let mut model = Mlp::<f64>::new(&[64, 16, 10], Activation::Relu, 0)?;
//!     let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..SgdConfig::default() })?;
//!     let config = TrainConfig { epochs: 1, batch_size: 50, workers, ..TrainConfig::default() };
//!     Trainer::new(config)?.fit(&mut model, &mut sgd, &digits, None, |_| Control::Continue)?;
//!     let mut values = Vec::new();
//!     model.visit_params(&mut |_, p| values.extend_from_slice(p.data()));
//!     Ok(values)
//! };
//! let (one, three) = (run(1)?, run(3)?);
//! // The same steps, up to the rounding of the sums (f64 here).
//! assert!(one.iter().zip(&three).all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0)));
//! # Ok::<(), train::TrainError>(())
//! ```

use std::ops::Range;

use nn::{Model, ParamGrads};
use tape::{Array, Element};

use crate::{Result, TrainError};

/// The gradients of all of a model's parameters in one flat buffer, laid out by the model's
/// parameter names in visit order: what the workers of a data-parallel step add into, and
/// what is sent between processes.
///
/// ```
/// use nn::{Init, Linear, ParamGrads};
/// use tape::Array;
/// use train::parallel::GradBuffer;
/// let model = Linear::<f64>::new(2, 1, Init::Zeros, 0); // weight [1, 2], bias [1]
/// let mut buffer = GradBuffer::for_model(&model);
/// assert_eq!(buffer.layout().map(|(n, _, r)| (n, r)).collect::<Vec<_>>(), [("weight", 0..2), ("bias", 2..3)]);
/// let g = ParamGrads::from_vec(vec![
///     ("weight".to_string(), Array::from_vec(vec![1.0, 2.0], &[1, 2])?),
///     ("bias".to_string(), Array::from_vec(vec![4.0], &[1])?),
/// ]);
/// buffer.add_scaled(&g, 0.5)?;
/// buffer.add_scaled(&g, 0.25)?;
/// assert_eq!(buffer.as_slice(), &[0.75, 1.5, 3.0]);
/// assert_eq!(buffer.to_param_grads()?.get("bias").unwrap().data(), &[3.0]);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradBuffer<T: Element> {
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    offsets: Vec<usize>,
    data: Vec<T>,
}

impl<T: Element> GradBuffer<T> {
    /// A zeroed buffer with one segment per parameter of `model`, in visit order.
    ///
    /// ```
    /// use nn::{Activation, Mlp, Model};
    /// let mlp = Mlp::<f32>::new(&[3, 4, 2], Activation::Relu, 0)?;
    /// let buffer = train::parallel::GradBuffer::for_model(&mlp);
    /// assert_eq!(buffer.as_slice().len(), mlp.num_params());
    /// assert!(buffer.as_slice().iter().all(|&g| g == 0.0));
    /// # Ok::<(), nn::NnError>(())
    /// ```
    pub fn for_model<M: Model<T>>(model: &M) -> Self {
        let (mut names, mut shapes, mut offsets) = (Vec::new(), Vec::new(), vec![0]);
        model.visit_params(&mut |name, p| {
            names.push(name.to_string());
            shapes.push(p.shape().to_vec());
            offsets.push(offsets.last().copied().unwrap_or(0) + p.len());
        });
        let len = *offsets.last().expect("at least the leading 0");
        GradBuffer {
            names,
            shapes,
            offsets,
            data: vec![T::zero(); len],
        }
    }

    /// Each parameter's name, shape and range in [`GradBuffer::as_slice`], in order.
    ///
    /// ```
    /// use nn::{Init, Linear};
    /// let buffer = train::parallel::GradBuffer::for_model(&Linear::<f32>::new(3, 2, Init::Zeros, 0));
    /// let (name, shape, range) = buffer.layout().next().unwrap();
    /// assert_eq!((name, shape, range), ("weight", &[2, 3][..], 0..6));
    /// ```
    pub fn layout(&self) -> impl Iterator<Item = (&str, &[usize], Range<usize>)> {
        self.names
            .iter()
            .zip(&self.shapes)
            .zip(self.offsets.windows(2))
            .map(|((n, s), o)| (n.as_str(), s.as_slice(), o[0]..o[1]))
    }

    /// The summed gradients, flat.
    ///
    /// ```
    /// use nn::{Init, Linear};
    /// let buffer = train::parallel::GradBuffer::for_model(&Linear::<f64>::new(1, 1, Init::Zeros, 0));
    /// assert_eq!(buffer.as_slice(), &[0.0, 0.0]);
    /// ```
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// Sets every gradient to 0, for the next step.
    ///
    /// ```
    /// use nn::{Init, Linear, ParamGrads};
    /// use tape::Array;
    /// let mut buffer = train::parallel::GradBuffer::for_model(&Linear::<f64>::new(1, 1, Init::Zeros, 0));
    /// let g = ParamGrads::from_vec(vec![("weight".into(), Array::ones(&[1, 1])), ("bias".into(), Array::ones(&[1]))]);
    /// buffer.add_scaled(&g, 1.0)?;
    /// buffer.zero();
    /// assert_eq!(buffer.as_slice(), &[0.0, 0.0]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn zero(&mut self) {
        self.data.fill(T::zero());
    }

    /// Adds `scale · grads` to the buffer, element by element.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `grads` does not hold the buffer's parameters, by
    /// name and shape, in its order; the buffer is then unchanged.
    ///
    /// ```
    /// use nn::{Init, Linear, ParamGrads};
    /// use tape::Array;
    /// let mut buffer = train::parallel::GradBuffer::for_model(&Linear::<f64>::new(1, 1, Init::Zeros, 0));
    /// let wrong = ParamGrads::from_vec(vec![("bias".into(), Array::ones(&[1]))]);
    /// assert!(buffer.add_scaled(&wrong, 1.0).is_err());
    /// ```
    pub fn add_scaled(&mut self, grads: &ParamGrads<T>, scale: f64) -> Result<()> {
        const OP: &str = "GradBuffer::add_scaled";
        if grads.len() != self.names.len() {
            return Err(TrainError::invalid(
                OP,
                format!(
                    "{} gradients for {} parameters",
                    grads.len(),
                    self.names.len()
                ),
            ));
        }
        for ((name, g), (want, shape, _)) in grads.iter().zip(self.layout()) {
            if name != want || g.shape() != shape {
                return Err(TrainError::invalid(
                    OP,
                    format!(
                        "gradient `{name}` {:?} where the layout has `{want}` {shape:?}",
                        g.shape()
                    ),
                ));
            }
        }
        let scale = T::cast_from(scale);
        for ((_, g), o) in grads.iter().zip(self.offsets.windows(2)) {
            for (acc, &v) in self.data[o[0]..o[1]].iter_mut().zip(g.data()) {
                *acc += scale * v;
            }
        }
        Ok(())
    }

    /// The buffer as one gradient array per parameter, for [`nn::Model::update_params`].
    ///
    /// # Errors
    /// None in practice (the shapes are the parameters'); the tape's error if an array
    /// cannot be built.
    ///
    /// ```
    /// use nn::{Init, Linear};
    /// let buffer = train::parallel::GradBuffer::for_model(&Linear::<f32>::new(3, 2, Init::Zeros, 0));
    /// let grads = buffer.to_param_grads()?;
    /// assert_eq!(grads.get("weight").unwrap().shape(), &[2, 3]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn to_param_grads(&self) -> Result<ParamGrads<T>> {
        let mut entries = Vec::with_capacity(self.names.len());
        for (name, shape, range) in self.layout() {
            let array = Array::from_slice(&self.data[range], shape)?;
            entries.push((name.to_string(), array));
        }
        Ok(ParamGrads::from_vec(entries))
    }
}

impl<T: Element> GradBuffer<T> {
    /// Replaces the buffer by its sum over the ranks of `group`: what each step of a
    /// data-parallel run across processes sends (see [`crate::distributed`]).
    ///
    /// # Errors
    /// The group's (see [`crate::distributed::Collective::sum_f64`]).
    ///
    /// ```
    /// use nn::{Init, Linear, ParamGrads};
    /// use tape::Array;
    /// use train::distributed::SingleProcess;
    /// let mut buffer = train::parallel::GradBuffer::for_model(&Linear::<f64>::new(1, 1, Init::Zeros, 0));
    /// let g = ParamGrads::from_vec(vec![("weight".into(), Array::ones(&[1, 1])), ("bias".into(), Array::ones(&[1]))]);
    /// buffer.add_scaled(&g, 0.5)?;
    /// buffer.sum_over(&SingleProcess)?; // one rank: the sum is the buffer
    /// assert_eq!(buffer.as_slice(), &[0.5, 0.5]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn sum_over(&mut self, group: &dyn crate::distributed::Collective) -> Result<()> {
        crate::distributed::all_reduce_sum(group, &mut self.data)
    }

    /// Copies the buffer into `grads`, arrays of the parameters' shapes in layout order
    /// (made by [`GradBuffer::to_param_grads`]), without allocating: a step in steady state
    /// reuses them.
    pub(crate) fn write_into(&self, grads: &mut ParamGrads<T>) {
        for ((_, g), o) in grads.iter_mut().zip(self.offsets.windows(2)) {
            g.data_mut().copy_from_slice(&self.data[o[0]..o[1]]);
        }
    }
}

/// The contiguous ranges of `n` samples that `workers` workers take: `min(workers, n)`
/// shards, the first `n % shards` one sample larger than the rest.
pub(crate) fn shards(n: usize, workers: usize) -> Vec<Range<usize>> {
    let k = workers.min(n).max(1);
    let (base, extra) = (n / k, n % k);
    let mut start = 0;
    (0..k)
        .map(|w| {
            let len = base + usize::from(w < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::shards;

    #[test]
    fn shards_cover_the_batch_in_order_and_differ_by_at_most_one() {
        assert_eq!(shards(7, 3), [0..3, 3..5, 5..7]);
        assert_eq!(shards(2, 4), [0..1, 1..2]);
        assert_eq!(shards(6, 1), vec![0..6; 1]);
        assert_eq!(shards(0, 3), vec![0..0; 1]);
    }
}
