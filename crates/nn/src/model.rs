//! [`Model`]: parameters that live outside the tape, bound onto a tape for each step.
//!
//! A model owns its parameters as plain [`Array`]s. Each training step binds them onto a tape
//! ([`Model::bind`]), which puts every parameter in as a tensor input and returns the
//! [`BoundModel`]: the handles of those inputs, with the forward pass. After backward, the
//! bound model reads each parameter's gradient by name ([`BoundModel::take_grads`]), and
//! [`Model::update_params`] hands every parameter, mutably, to an update rule together with its
//! gradient. Nothing on the tape outlives the step, so the tape can be cleared and reused.
//!
//! Parameters are named by their path, as PyTorch's `state_dict` does: `weight`, `bias`,
//! `layers.0.weight`, ... Both traits visit parameters in the same order with the same names;
//! gradients are matched to parameters by that order, and the names are checked.

use tape::{Array, Element, Gradients, Tape, Tensor};

use crate::state::{load_into, state_dict_of};
use crate::{LoadOptions, LoadReport, NnError, StateDict};

/// A model whose parameters live outside the tape: visit them by name, and bind them onto a
/// tape to run it.
///
/// ```
/// use nn::{Linear, Model, BoundModel, Init};
/// use tape::Tape;
///
/// let mut model = Linear::<f64>::new(3, 2, Init::XavierUniform, 0);
/// let mut names = Vec::new();
/// model.visit_params(&mut |name, p| names.push((name.to_string(), p.shape().to_vec())));
/// assert_eq!(names, [("weight".to_string(), vec![2, 3]), ("bias".to_string(), vec![2])]);
///
/// let tape = Tape::new();
/// let bound = model.bind(&tape);
/// let x = tape.tensor_constant(tape::Array::ones(&[4, 3]));
/// let loss = bound.forward(x).powi(2).mean();
/// let mut grads = loss.backward();
/// let grads = bound.take_grads(&mut grads);
/// model.update_params(&grads, &mut |_, p, g| {
///     for (p, g) in p.data_mut().iter_mut().zip(g.data()) {
///         *p -= 0.1 * g;
///     }
/// }).unwrap();
/// ```
pub trait Model<T: Element> {
    /// The model with its parameters on a tape: the handles, and the forward pass.
    type Bound<'t>: BoundModel<'t, T>;

    /// Puts every parameter onto `tape` as a tensor input (so gradients flow to it) and
    /// returns the handles. For [shared](Array::shared) parameters, as the layers of this
    /// crate keep them, that is a new reference rather than a copy; clear the tape before
    /// updating them and the update writes them in place.
    fn bind<'t>(&self, tape: &'t Tape<T>) -> Self::Bound<'t>;

    /// Calls `f(name, parameter)` for every parameter, in a fixed order.
    fn visit_params(&self, f: &mut dyn FnMut(&str, &Array<T>));

    /// Calls `f(name, parameter)` for every parameter, mutably, in the order of
    /// [`Model::visit_params`].
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Array<T>));

    /// The total number of scalar parameters.
    ///
    /// ```
    /// use nn::{Activation, Mlp, Model};
    /// let mlp = Mlp::<f32>::new(&[784, 256, 10], Activation::Relu, 0).unwrap();
    /// assert_eq!(mlp.num_params(), 784 * 256 + 256 + 256 * 10 + 10);
    /// ```
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, p| n += p.len());
        n
    }

    /// The parameter names, in visit order.
    ///
    /// ```
    /// use nn::{Activation, Mlp, Model};
    /// let mlp = Mlp::<f64>::new(&[2, 2, 1], Activation::Tanh, 0).unwrap();
    /// assert_eq!(
    ///     mlp.param_names(),
    ///     ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    /// );
    /// ```
    fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit_params(&mut |name, _| names.push(name.to_string()));
        names
    }

    /// The parameters by name, in visit order: PyTorch's `model.state_dict()`.
    ///
    /// Each array is a new reference to a [shared](Array::shared) parameter (as the layers
    /// keep theirs), not a copy; changing one afterwards copies it first, so the map and the
    /// model never alias.
    ///
    /// ```
    /// use nn::{Activation, Mlp, Model};
    /// let mlp = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 0).unwrap();
    /// let state = mlp.state_dict();
    /// assert_eq!(state.names(), mlp.param_names());
    /// assert_eq!(state.get("layers.1.weight").unwrap(), &mlp.layers[1].weight);
    /// ```
    fn state_dict(&self) -> StateDict<T> {
        state_dict_of(self)
    }

    /// Sets every parameter from the array of the same name in `state`: PyTorch's
    /// `model.load_state_dict(state)`, strict.
    ///
    /// Everything is checked before anything changes, so on an error the model is as it was.
    /// Loaded parameters are [shared](Array::shared) references to the map's arrays.
    ///
    /// # Errors
    /// [`NnError::Parameter`] naming the first parameter whose entry has another shape (both
    /// shapes given), else the first that has no entry, else the first entry that is not a
    /// parameter.
    ///
    /// ```
    /// use nn::{Activation, Mlp, Model};
    /// let a = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 0).unwrap();
    /// let mut b = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 1).unwrap();
    /// b.load_state_dict(&a.state_dict())?;
    /// assert_eq!(a, b);
    ///
    /// let mut state = a.state_dict();
    /// state.remove("layers.1.bias");
    /// let err = b.load_state_dict(&state).unwrap_err();
    /// assert!(err.to_string().starts_with("load_state_dict: parameter `layers.1.bias`: missing"));
    /// # Ok::<(), nn::NnError>(())
    /// ```
    fn load_state_dict(&mut self, state: &StateDict<T>) -> Result<LoadReport, NnError> {
        load_into(self, state, LoadOptions::default())
    }

    /// [`Model::load_state_dict`] with options: with `strict: false`, loads every parameter
    /// whose entry is present with its shape, leaves the others, and reports what it skipped.
    ///
    /// # Errors
    /// With `strict: true`, those of [`Model::load_state_dict`]; none otherwise.
    ///
    /// ```
    /// use nn::{Activation, LoadOptions, Mlp, Model};
    /// // A new head: the hidden layer loads, the output layer (3 classes, not 2) is skipped.
    /// let pretrained = Mlp::<f64>::new(&[4, 8, 2], Activation::Relu, 0).unwrap();
    /// let mut model = Mlp::<f64>::new(&[4, 8, 3], Activation::Relu, 1).unwrap();
    /// let report = model.load_state_dict_with(&pretrained.state_dict(), LoadOptions::non_strict())?;
    /// assert_eq!(report.loaded, ["layers.0.weight", "layers.0.bias"]);
    /// let (name, theirs, ours) = &report.mismatched[0];
    /// assert_eq!((name.as_str(), theirs.as_slice(), ours.as_slice()), ("layers.1.weight", &[2, 8][..], &[3, 8][..]));
    /// assert_eq!(model.layers[0], pretrained.layers[0]);
    /// # Ok::<(), nn::NnError>(())
    /// ```
    fn load_state_dict_with(
        &mut self,
        state: &StateDict<T>,
        options: LoadOptions,
    ) -> Result<LoadReport, NnError> {
        load_into(self, state, options)
    }

    /// Calls `f(name, parameter, gradient)` for every parameter, the parameter mutably: the
    /// hook for an optimiser's update. Gradients are matched to parameters by visit order.
    ///
    /// Everything is checked before anything is changed, so on an error no parameter has been
    /// touched. A parameter that `f` replaces by an array of its own (`*p = new`) is made
    /// [shared](Array::shared) afterwards, like the layers' own, so binding it stays free.
    ///
    /// # Errors
    /// [`NnError::InvalidArgument`] if `grads` does not have one entry per parameter with the
    /// parameter's name, in visit order; [`NnError::ShapeMismatch`] if a gradient's shape
    /// differs from its parameter's.
    ///
    /// (See [`Model`] for an example.)
    fn update_params(
        &mut self,
        grads: &ParamGrads<T>,
        f: &mut UpdateFn<'_, T>,
    ) -> Result<(), NnError> {
        const OP: &str = "update_params";
        let mut i = 0;
        let mut err = None;
        self.visit_params(&mut |name, p| {
            if err.is_some() {
                return;
            }
            match grads.entries.get(i) {
                None => {
                    err = Some(NnError::invalid(
                        OP,
                        format!(
                            "no gradient for parameter `{name}` (only {} given)",
                            grads.len()
                        ),
                    ))
                }
                Some((gname, _)) if gname != name => {
                    err = Some(NnError::invalid(
                        OP,
                        format!("gradient {i} is for `{gname}` but parameter {i} is `{name}`"),
                    ))
                }
                Some((_, g)) if g.shape() != p.shape() => {
                    err = Some(NnError::mismatch(
                        OP,
                        "gradient and parameter shapes differ",
                        g.shape(),
                        p.shape(),
                    ))
                }
                Some(_) => {}
            }
            i += 1;
        });
        if let Some(e) = err {
            return Err(e);
        }
        if i != grads.len() {
            return Err(NnError::invalid(
                OP,
                format!("{} gradients for {i} parameters", grads.len()),
            ));
        }
        let mut entries = grads.entries.iter();
        self.visit_params_mut(&mut |name, p| {
            let (_, g) = entries
                .next()
                .expect("internal error: parameters changed between the check and the update");
            f(name, p, g);
            if !p.is_shared() {
                // An update that replaced the parameter by an array of its own: share it, as
                // the layers keep theirs, so that the next `bind` does not copy it.
                let owned = std::mem::replace(p, Array::scalar(T::zero()));
                *p = owned.shared();
            }
        });
        Ok(())
    }
}

/// The update rule [`Model::update_params`] calls: `f(name, parameter, gradient)`, the
/// parameter mutably.
///
/// ```
/// use nn::{Init, Linear, Model, ParamGrads, UpdateFn};
/// use tape::Array;
/// let mut layer = Linear::<f64>::without_bias(2, 1, Init::Zeros, 0);
/// let grads = ParamGrads::from_vec(vec![("weight".to_string(), Array::ones(&[1, 2]))]);
/// let sgd: &mut UpdateFn<'_, f64> = &mut |_name, p, g| {
///     for (p, g) in p.data_mut().iter_mut().zip(g.data()) { *p -= 0.1 * g; }
/// };
/// layer.update_params(&grads, sgd).unwrap();
/// assert_eq!(layer.weight.data(), &[-0.1, -0.1]); // 0 − 0.1·1
/// ```
pub type UpdateFn<'a, T> = dyn FnMut(&str, &mut Array<T>, &Array<T>) + 'a;

/// A model with its parameters on a tape: the forward pass, and the parameter handles by name.
///
/// Returned by [`Model::bind`]; it borrows only the tape, not the model, so the model can be
/// updated while (or after) the bound model is used.
///
/// ```
/// use nn::{BoundModel, Linear, Model};
/// use tape::{Array, Tape};
/// let w = Array::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
/// let layer = Linear::from_arrays(w, None).unwrap();
/// let tape = Tape::<f64>::new();
/// let bound = layer.bind(&tape);
/// let y = bound.forward(tape.tensor_from_vec(vec![3.0, 4.0], &[1, 2]).unwrap());
/// assert_eq!(y.to_vec(), vec![11.0]); // 1·3 + 2·4
/// let grads = bound.grads(&y.sum().backward());
/// assert_eq!(grads.get("weight").unwrap().data(), &[3.0, 4.0]); // x
/// ```
pub trait BoundModel<'t, T: Element> {
    /// Runs the model on `x`.
    ///
    /// # Errors
    /// [`NnError`] if `x` does not fit the model (its shape is named in the message).
    fn try_forward(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>, NnError>;

    /// Calls `f(name, handle)` for every parameter, in the order of [`Model::visit_params`].
    fn visit_handles(&self, f: &mut dyn FnMut(&str, Tensor<'t, T>));

    /// [`BoundModel::try_forward`], panicking on bad input.
    ///
    /// # Panics
    /// If `x` does not fit the model.
    #[track_caller]
    fn forward(&self, x: Tensor<'t, T>) -> Tensor<'t, T> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The parameter handles with their names, in visit order.
    ///
    /// ```
    /// use nn::{BoundModel, Init, Linear, Model};
    /// let tape = tape::Tape::<f64>::new();
    /// let bound = Linear::new(2, 3, Init::Zeros, 0).bind(&tape);
    /// let params = bound.params();
    /// assert_eq!(params[0].0, "weight");
    /// assert_eq!(params[0].1.shape().as_slice(), &[3, 2]);
    /// ```
    fn params(&self) -> Vec<(String, Tensor<'t, T>)> {
        let mut out = Vec::new();
        self.visit_handles(&mut |name, t| out.push((name.to_string(), t)));
        out
    }

    /// Copies every parameter's gradient out of `grads`.
    ///
    /// # Panics
    /// If `grads` was computed on another tape, or before the parameters were bound.
    ///
    /// ```
    /// use nn::{BoundModel, Init, Linear, Model};
    /// let tape = tape::Tape::<f64>::new();
    /// let bound = Linear::new(2, 1, Init::Zeros, 0).bind(&tape);
    /// let x = tape.tensor_constant(tape::Array::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap());
    /// let grads = bound.grads(&bound.forward(x).sum().backward());
    /// assert_eq!(grads.get("weight").unwrap().data(), &[3.0, 4.0]); // ∂(w·x + b)/∂w = x
    /// assert_eq!(grads.get("bias").unwrap().data(), &[1.0]);
    /// ```
    fn grads(&self, grads: &Gradients<T>) -> ParamGrads<T> {
        let mut entries = Vec::new();
        self.visit_handles(&mut |name, t| entries.push((name.to_string(), grads.wrt(t).clone())));
        ParamGrads { entries }
    }

    /// Moves every parameter's gradient out of `grads` without copying (leaving zeros there).
    ///
    /// # Panics
    /// If `grads` was computed on another tape, or before the parameters were bound.
    fn take_grads(&self, grads: &mut Gradients<T>) -> ParamGrads<T> {
        let mut entries = Vec::new();
        self.visit_handles(&mut |name, t| entries.push((name.to_string(), grads.take(t))));
        ParamGrads { entries }
    }
}

/// The gradient of every parameter of a model, by name, in visit order: what
/// [`BoundModel::grads`] returns and [`Model::update_params`] consumes.
///
/// ```
/// use nn::ParamGrads;
/// let g = ParamGrads::from_vec(vec![("w".to_string(), tape::Array::<f64>::ones(&[2]))]);
/// assert_eq!(g.len(), 1);
/// assert_eq!(g.get("w").unwrap().data(), &[1.0, 1.0]);
/// assert!(g.get("v").is_none());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParamGrads<T: Element> {
    entries: Vec<(String, Array<T>)>,
}

impl<T: Element> ParamGrads<T> {
    /// Wraps `(name, gradient)` pairs, which must be in the model's visit order.
    ///
    /// ```
    /// use nn::ParamGrads;
    /// use tape::Array;
    /// let g = ParamGrads::from_vec(vec![
    ///     ("weight".to_string(), Array::<f64>::zeros(&[2, 3])),
    ///     ("bias".to_string(), Array::zeros(&[2])),
    /// ]);
    /// assert_eq!(g.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["weight", "bias"]);
    /// ```
    pub fn from_vec(entries: Vec<(String, Array<T>)>) -> Self {
        ParamGrads { entries }
    }

    /// The gradient of the parameter called `name`.
    ///
    /// ```
    /// let g = nn::ParamGrads::from_vec(vec![("w".to_string(), tape::Array::<f64>::full(&[2], 0.5))]);
    /// assert_eq!(g.get("w").unwrap().data(), &[0.5, 0.5]);
    /// assert!(g.get("b").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&Array<T>> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, g)| g)
    }

    /// `(name, gradient)` pairs in visit order.
    ///
    /// ```
    /// let g = nn::ParamGrads::from_vec(vec![("a".to_string(), tape::Array::<f64>::zeros(&[1]))]);
    /// assert_eq!(g.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["a"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Array<T>)> {
        self.entries.iter().map(|(n, g)| (n.as_str(), g))
    }

    /// Mutable gradients in visit order (to clip or scale them before an update).
    ///
    /// ```
    /// let mut g = nn::ParamGrads::from_vec(vec![("a".to_string(), tape::Array::<f64>::ones(&[1]))]);
    /// for (_, a) in g.iter_mut() { a.data_mut()[0] *= 0.5; }
    /// assert_eq!(g.get("a").unwrap().data(), &[0.5]);
    /// ```
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Array<T>)> {
        self.entries.iter_mut().map(|(n, g)| (n.as_str(), g))
    }

    /// The number of parameters.
    ///
    /// ```
    /// use nn::{Activation, BoundModel, Mlp, Model};
    /// let tape = tape::Tape::<f64>::new();
    /// let mlp = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 0).unwrap();
    /// let bound = mlp.bind(&tape);
    /// let grads = bound.grads(&bound.forward(tape.ones(&[1, 2])).sum().backward());
    /// assert_eq!(grads.len(), 4); // a weight and a bias per layer
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// assert!(nn::ParamGrads::<f64>::from_vec(Vec::new()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `(name, gradient)` pairs.
    ///
    /// ```
    /// let g = nn::ParamGrads::from_vec(vec![("w".to_string(), tape::Array::<f64>::ones(&[2]))]);
    /// let pairs = g.into_vec();
    /// assert_eq!(pairs[0].0, "w");
    /// assert_eq!(pairs[0].1.data(), &[1.0, 1.0]);
    /// ```
    pub fn into_vec(self) -> Vec<(String, Array<T>)> {
        self.entries
    }
}
