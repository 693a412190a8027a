//! [`Mlp`]: a stack of [`Linear`] layers with an activation between them.

use tape::{Array, Element, Tape, Tensor};

use crate::init::derive_seed;
use crate::{Activation, BoundLinear, BoundModel, Init, Linear, Model, NnError};

/// A multi-layer perceptron: `Linear → activation → … → Linear`, with no activation after the
/// last layer (apply a loss or an output function to its logits).
///
/// Parameters are named `layers.{i}.weight` and `layers.{i}.bias`.
///
/// ```
/// use nn::{Activation, BoundModel, Mlp, Model};
/// let mlp = Mlp::<f64>::new(&[4, 8, 3], Activation::Relu, 42).unwrap();
/// let tape = tape::Tape::new();
/// let x = tape.tensor_constant(tape::Array::rand_uniform(&[5, 4], -1.0, 1.0, 0));
/// let logits = mlp.bind(&tape).forward(x);
/// assert_eq!(logits.shape().as_slice(), &[5, 3]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp<T: Element> {
    /// The layers, input first.
    pub layers: Vec<Linear<T>>,
    /// The activation applied after every layer but the last.
    pub activation: Activation,
}

impl<T: Element> Mlp<T> {
    /// An MLP with layer widths `sizes` (input first, output last), weights initialised for
    /// the activation — [`Init::HeUniform`] for ReLU-like activations
    /// ([`Activation::is_relu_like`]), [`Init::XavierUniform`] otherwise — and zero biases.
    /// Layer `i` is drawn with the seed [`derive_seed`]`(seed, i)`.
    ///
    /// # Errors
    /// [`NnError::InvalidArgument`] if there are fewer than two sizes or a size is 0.
    ///
    /// ```
    /// use nn::{Activation, Mlp};
    /// let mlp = Mlp::<f32>::new(&[784, 256, 128, 10], Activation::Relu, 0).unwrap();
    /// assert_eq!(mlp.sizes(), vec![784, 256, 128, 10]);
    /// assert_eq!(mlp, Mlp::new(&[784, 256, 128, 10], Activation::Relu, 0).unwrap());
    /// assert!(Mlp::<f32>::new(&[784], Activation::Relu, 0).is_err());
    /// ```
    pub fn new(sizes: &[usize], activation: Activation, seed: u64) -> Result<Self, NnError> {
        let init = if activation.is_relu_like() {
            Init::HeUniform
        } else {
            Init::XavierUniform
        };
        Self::with_init(sizes, activation, init, seed)
    }

    /// [`Mlp::new`] with the weights drawn by `init`.
    ///
    /// # Errors
    /// [`NnError::InvalidArgument`] if there are fewer than two sizes, a size is 0, or the
    /// parameters would number more than a vector of `T` can hold (`isize::MAX` bytes).
    ///
    /// ```
    /// use nn::{Activation, Init, Mlp};
    /// assert!(Mlp::<f32>::with_init(&[2, usize::MAX, 2], Activation::Tanh, Init::Zeros, 0).is_err());
    /// let mlp = Mlp::<f64>::with_init(&[2, 3, 1], Activation::Tanh, Init::Zeros, 0).unwrap();
    /// assert!(mlp.layers[0].weight.data().iter().all(|&w| w == 0.0));
    /// ```
    pub fn with_init(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        seed: u64,
    ) -> Result<Self, NnError> {
        const OP: &str = "Mlp::new";
        if sizes.len() < 2 {
            return Err(NnError::invalid(
                OP,
                format!("need at least an input and an output size, got {sizes:?}"),
            ));
        }
        if sizes.contains(&0) {
            return Err(NnError::invalid(
                OP,
                format!("layer sizes must be positive, got {sizes:?}"),
            ));
        }
        // The parameter count, checked before anything is allocated: a width such as
        // `usize::MAX` must be an error, not a capacity-overflow panic.
        let n_params = sizes.windows(2).try_fold(0usize, |acc, w| {
            w[0].checked_mul(w[1])?.checked_add(w[1])?.checked_add(acc)
        });
        let limit = isize::MAX as usize / std::mem::size_of::<T>();
        if n_params.is_none_or(|n| n > limit) {
            return Err(NnError::invalid(
                OP,
                format!(
                    "layer sizes {sizes:?} make more parameters than {} can address",
                    T::NAME
                ),
            ));
        }
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::new(w[0], w[1], init, derive_seed(seed, i as u64)))
            .collect();
        Ok(Mlp { layers, activation })
    }

    /// An MLP from given layers.
    ///
    /// # Errors
    /// [`NnError::InvalidArgument`] if there are no layers or one layer's output width differs
    /// from the next one's input width.
    ///
    /// ```
    /// use nn::{Activation, Init, Linear, Mlp};
    /// let a = Linear::<f64>::new(2, 3, Init::Zeros, 0);
    /// let b = Linear::<f64>::new(4, 1, Init::Zeros, 0);
    /// let err = Mlp::from_layers(vec![a, b], Activation::Relu).unwrap_err();
    /// assert_eq!(err.to_string(), "Mlp::from_layers: layer 0 has 3 outputs but layer 1 takes 4 inputs");
    /// ```
    pub fn from_layers(layers: Vec<Linear<T>>, activation: Activation) -> Result<Self, NnError> {
        const OP: &str = "Mlp::from_layers";
        if layers.is_empty() {
            return Err(NnError::invalid(OP, "need at least one layer"));
        }
        for (i, pair) in layers.windows(2).enumerate() {
            if pair[0].n_out() != pair[1].n_in() {
                return Err(NnError::invalid(
                    OP,
                    format!(
                        "layer {i} has {} outputs but layer {} takes {} inputs",
                        pair[0].n_out(),
                        i + 1,
                        pair[1].n_in()
                    ),
                ));
            }
        }
        Ok(Mlp { layers, activation })
    }

    /// The layer widths, input first (empty if there are no layers).
    ///
    /// ```
    /// use nn::{Activation, Mlp};
    /// let mlp = Mlp::<f32>::new(&[4, 8, 3], Activation::Relu, 0).unwrap();
    /// assert_eq!(mlp.sizes(), vec![4, 8, 3]);
    /// ```
    pub fn sizes(&self) -> Vec<usize> {
        let first = self.layers.first().map(Linear::n_in);
        first
            .into_iter()
            .chain(self.layers.iter().map(Linear::n_out))
            .collect()
    }
}

impl<T: Element> Model<T> for Mlp<T> {
    type Bound<'t> = BoundMlp<'t, T>;

    fn bind<'t>(&self, tape: &'t Tape<T>) -> BoundMlp<'t, T> {
        BoundMlp {
            layers: self.layers.iter().map(|l| l.bind(tape)).collect(),
            activation: self.activation,
        }
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Array<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_params(&mut |name, p| f(&format!("layers.{i}.{name}"), p));
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Array<T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params_mut(&mut |name, p| f(&format!("layers.{i}.{name}"), p));
        }
    }
}

/// An [`Mlp`] bound onto a tape: the bound layers and the activation.
///
/// ```
/// use nn::{Activation, BoundModel, Mlp, Model};
/// let tape = tape::Tape::<f64>::new();
/// let bound = Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, 0).unwrap().bind(&tape);
/// assert_eq!(bound.layers.len(), 2);
/// assert_eq!(bound.forward(tape.zeros(&[5, 4])).shape().as_slice(), &[5, 3]);
/// ```
#[derive(Clone, Debug)]
pub struct BoundMlp<'t, T: Element> {
    /// The bound layers, input first.
    pub layers: Vec<BoundLinear<'t, T>>,
    /// The activation between layers.
    pub activation: Activation,
}

impl<'t, T: Element> BoundModel<'t, T> for BoundMlp<'t, T> {
    /// The logits `[batch, out]` for `x` of shape `[batch, in]` (or `[…, out]` for any
    /// `[…, in]`, as [`BoundLinear::try_forward`]).
    ///
    /// # Errors
    /// Those of [`BoundLinear::try_forward`] for the first layer.
    fn try_forward(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>, NnError> {
        let last = self.layers.len().saturating_sub(1);
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.try_forward(h)?;
            if i < last {
                h = self.activation.apply(h);
            }
        }
        Ok(h)
    }

    fn visit_handles(&self, f: &mut dyn FnMut(&str, Tensor<'t, T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_handles(&mut |name, t| f(&format!("layers.{i}.{name}"), t));
        }
    }
}
