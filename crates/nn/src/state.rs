//! [`StateDict`]: a model's parameters as named arrays in memory, and loading them back.
//!
//! [`Model::state_dict`] and [`Model::load_state_dict`] are PyTorch's `state_dict()` and
//! `load_state_dict()`: the parameters by their path names (`layers.0.weight`, ...) in the
//! model's visit order, and back, strict by default. The `train` crate's checkpoints are this
//! map written to a safetensors file, so a file and a map never disagree on names or shapes.
//!
//! ```
//! use nn::{Activation, Mlp, Model};
//!
//! let trained = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 1)?;
//! let state = trained.state_dict();
//! assert_eq!(state.names(), ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
//!
//! let mut fresh = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 2)?;
//! fresh.load_state_dict(&state)?;
//! assert_eq!(fresh, trained);
//! # Ok::<(), nn::NnError>(())
//! ```

use tape::{Array, Element, Shape};

use crate::{Model, NnError};

/// A model's parameters by name, in the model's visit order: what [`Model::state_dict`]
/// returns and [`Model::load_state_dict`] takes.
///
/// It is an ordered list of `(name, array)` pairs rather than a `BTreeMap` or a `HashMap`:
/// the order is the model's (as in PyTorch's `OrderedDict`), which a sorted map would lose
/// (`layers.10` sorts before `layers.2`), and a model has tens of parameters, not thousands,
/// so looking a name up by a linear search costs nothing next to the arrays. Names are unique:
/// [`StateDict::insert`] replaces an entry of the same name.
///
/// ```
/// use nn::StateDict;
/// use tape::Array;
/// let mut state = StateDict::new();
/// state.insert("weight", Array::<f64>::ones(&[2, 3]));
/// state.insert("bias", Array::zeros(&[2]));
/// state.insert("weight", Array::zeros(&[2, 3])); // replaces, keeps its place
/// assert_eq!(state.names(), ["weight", "bias"]);
/// assert_eq!(state.get("weight").unwrap().shape(), [2, 3]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StateDict<T: Element> {
    entries: Vec<(String, Array<T>)>,
}

impl<T: Element> Default for StateDict<T> {
    fn default() -> Self {
        StateDict::new()
    }
}

impl<T: Element> StateDict<T> {
    /// An empty map.
    ///
    /// ```
    /// assert!(nn::StateDict::<f32>::new().is_empty());
    /// ```
    pub fn new() -> Self {
        StateDict {
            entries: Vec::new(),
        }
    }

    /// Sets the array called `name`: replaces the entry of that name where it is, or appends
    /// a new one. Returns the array it replaced.
    ///
    /// ```
    /// let mut state = nn::StateDict::new();
    /// assert!(state.insert("w", tape::Array::<f64>::ones(&[1])).is_none());
    /// assert!(state.insert("w", tape::Array::zeros(&[1])).is_some());
    /// assert_eq!(state.len(), 1);
    /// ```
    pub fn insert(&mut self, name: impl Into<String>, array: Array<T>) -> Option<Array<T>> {
        let name = name.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, a)) => Some(std::mem::replace(a, array)),
            None => {
                self.entries.push((name, array));
                None
            }
        }
    }

    /// The array called `name`.
    ///
    /// ```
    /// let mut state = nn::StateDict::new();
    /// state.insert("w", tape::Array::<f64>::full(&[2], 0.5));
    /// assert_eq!(state.get("w").unwrap().data(), &[0.5, 0.5]);
    /// assert!(state.get("b").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&Array<T>> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// The array called `name`, mutably.
    ///
    /// ```
    /// let mut state = nn::StateDict::new();
    /// state.insert("w", tape::Array::<f64>::zeros(&[1]));
    /// state.get_mut("w").unwrap().data_mut()[0] = 2.0;
    /// assert_eq!(state.get("w").unwrap().data(), &[2.0]);
    /// ```
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Array<T>> {
        self.entries
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
    }

    /// Takes the array called `name` out of the map.
    ///
    /// ```
    /// let mut state = nn::StateDict::new();
    /// state.insert("w", tape::Array::<f64>::zeros(&[1]));
    /// assert!(state.remove("w").is_some() && state.is_empty());
    /// ```
    pub fn remove(&mut self, name: &str) -> Option<Array<T>> {
        let i = self.entries.iter().position(|(n, _)| n == name)?;
        Some(self.entries.remove(i).1)
    }

    /// Whether an array is called `name`.
    ///
    /// ```
    /// let mut state = nn::StateDict::new();
    /// state.insert("w", tape::Array::<f64>::zeros(&[1]));
    /// assert!(state.contains("w") && !state.contains("b"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names, in order.
    ///
    /// ```
    /// use nn::{Init, Linear, Model};
    /// assert_eq!(Linear::<f64>::new(2, 1, Init::Zeros, 0).state_dict().names(), ["weight", "bias"]);
    /// ```
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// `(name, array)` pairs, in order.
    ///
    /// ```
    /// use nn::{Init, Linear, Model};
    /// let state = Linear::<f64>::new(3, 2, Init::Zeros, 0).state_dict();
    /// let shapes: Vec<(&str, Vec<usize>)> = state.iter().map(|(n, a)| (n, a.shape().to_vec())).collect();
    /// assert_eq!(shapes, [("weight", vec![2, 3]), ("bias", vec![2])]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Array<T>)> {
        self.entries.iter().map(|(n, a)| (n.as_str(), a))
    }

    /// `(name, array)` pairs, in order, the arrays mutably.
    ///
    /// ```
    /// let mut state = nn::StateDict::new();
    /// state.insert("w", tape::Array::<f64>::ones(&[2]));
    /// for (_, a) in state.iter_mut() { a.data_mut().iter_mut().for_each(|v| *v *= 3.0); }
    /// assert_eq!(state.get("w").unwrap().data(), &[3.0, 3.0]);
    /// ```
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Array<T>)> {
        self.entries.iter_mut().map(|(n, a)| (n.as_str(), a))
    }

    /// The number of arrays.
    ///
    /// ```
    /// use nn::{Activation, Mlp, Model};
    /// let mlp = Mlp::<f32>::new(&[4, 8, 8, 2], Activation::Relu, 0).unwrap();
    /// assert_eq!(mlp.state_dict().len(), 6); // a weight and a bias per layer
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// assert!(nn::StateDict::<f64>::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The total number of elements of all arrays.
    ///
    /// ```
    /// use nn::{Activation, Mlp, Model};
    /// let mlp = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, 0).unwrap();
    /// assert_eq!(mlp.state_dict().num_elements(), mlp.num_params());
    /// ```
    pub fn num_elements(&self) -> usize {
        self.entries.iter().map(|(_, a)| a.len()).sum()
    }

    /// The same arrays under new names: `f(name)` gives each entry's new name (the order is
    /// kept). For maps whose names follow another convention, such as a PyTorch
    /// `nn.Sequential` that counts its activations among its modules (see
    /// `docs/models.md`).
    ///
    /// # Errors
    /// [`NnError::InvalidArgument`] if two entries get the same new name.
    ///
    /// ```
    /// use nn::StateDict;
    /// use tape::Array;
    /// // PyTorch's nn.Sequential(Linear, ReLU, Linear): the second Linear is module 2.
    /// let torch: StateDict<f64> = [("0.weight", Array::zeros(&[3, 2])), ("2.weight", Array::zeros(&[1, 3]))]
    ///     .into_iter().collect();
    /// let ours = torch.rename(|name| {
    ///     let (index, rest) = name.split_once('.').unwrap();
    ///     format!("layers.{}.{rest}", index.parse::<usize>().unwrap() / 2)
    /// })?;
    /// assert_eq!(ours.names(), ["layers.0.weight", "layers.1.weight"]);
    /// # Ok::<(), nn::NnError>(())
    /// ```
    pub fn rename(self, mut f: impl FnMut(&str) -> String) -> Result<Self, NnError> {
        let mut out = StateDict::new();
        for (name, array) in self.entries {
            let new = f(&name);
            if out.contains(&new) {
                return Err(NnError::invalid(
                    "StateDict::rename",
                    format!("`{name}` and an earlier entry are both renamed `{new}`"),
                ));
            }
            out.entries.push((new, array));
        }
        Ok(out)
    }

    /// Every element of every array, laid end to end in order, each array row-major: the
    /// flat parameter vector `θ` that [`crate::curvature::hessian`] indexes.
    ///
    /// ```
    /// use tape::Array;
    /// let state: nn::StateDict<f64> = [
    ///     ("w", Array::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap()),
    ///     ("b", Array::from_vec(vec![5.0], &[1]).unwrap()),
    /// ].into_iter().collect();
    /// assert_eq!(state.flatten(), [1.0, 2.0, 3.0, 4.0, 5.0]);
    /// ```
    pub fn flatten(&self) -> Vec<T> {
        self.entries
            .iter()
            .flat_map(|(_, a)| a.data().iter().copied())
            .collect()
    }

    /// A map with this one's names and shapes, its elements taken from `flat` in the order of
    /// [`StateDict::flatten`].
    ///
    /// # Errors
    /// [`NnError::InvalidArgument`] if `flat` does not have [`StateDict::num_elements`]
    /// elements.
    ///
    /// ```
    /// use nn::{Init, Linear, Model};
    /// let like = Linear::<f64>::new(2, 1, Init::Zeros, 0).state_dict();
    /// let state = like.unflatten(&[1.0, 2.0, 3.0])?;
    /// assert_eq!(state.get("weight").unwrap().data(), &[1.0, 2.0]);
    /// assert_eq!(state.get("bias").unwrap().data(), &[3.0]);
    /// assert_eq!(state.flatten(), [1.0, 2.0, 3.0]);
    /// assert!(like.unflatten(&[1.0]).is_err());
    /// # Ok::<(), nn::NnError>(())
    /// ```
    pub fn unflatten(&self, flat: &[T]) -> Result<Self, NnError> {
        let n = self.num_elements();
        if flat.len() != n {
            return Err(NnError::invalid(
                "StateDict::unflatten",
                format!("{} values for {n} elements", flat.len()),
            ));
        }
        let mut offset = 0;
        let mut out = StateDict::new();
        for (name, a) in &self.entries {
            let values = flat[offset..offset + a.len()].to_vec();
            offset += a.len();
            out.entries
                .push((name.clone(), Array::from_vec(values, a.shape())?));
        }
        Ok(out)
    }

    /// The `(name, array)` pairs.
    ///
    /// ```
    /// let mut state = nn::StateDict::new();
    /// state.insert("w", tape::Array::<f64>::ones(&[1]));
    /// assert_eq!(state.into_vec()[0].0, "w");
    /// ```
    pub fn into_vec(self) -> Vec<(String, Array<T>)> {
        self.entries
    }
}

impl<T: Element, N: Into<String>> FromIterator<(N, Array<T>)> for StateDict<T> {
    /// Collects pairs in order; a later entry of a name replaces the earlier one (see
    /// [`StateDict::insert`]).
    fn from_iter<I: IntoIterator<Item = (N, Array<T>)>>(iter: I) -> Self {
        let mut state = StateDict::new();
        for (name, array) in iter {
            state.insert(name, array);
        }
        state
    }
}

impl<T: Element> IntoIterator for StateDict<T> {
    type Item = (String, Array<T>);
    type IntoIter = std::vec::IntoIter<(String, Array<T>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// How [`Model::load_state_dict_with`] treats entries that do not fit.
///
/// ```
/// use nn::LoadOptions;
/// assert!(LoadOptions::default().strict);
/// assert!(!LoadOptions::non_strict().strict);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// `true` (the default): a parameter missing from the map, an entry that is not a
    /// parameter, or an entry of another shape is an error, and nothing is loaded. `false`:
    /// load what fits and report the rest in the [`LoadReport`].
    pub strict: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { strict: true }
    }
}

impl LoadOptions {
    /// Load what fits, report the rest (PyTorch's `strict=False`, except that an entry of
    /// another shape is skipped and reported too, where PyTorch raises).
    ///
    /// ```
    /// assert_eq!(nn::LoadOptions::non_strict(), nn::LoadOptions { strict: false });
    /// ```
    pub fn non_strict() -> Self {
        LoadOptions { strict: false }
    }
}

/// What [`Model::load_state_dict_with`] did: the parameters loaded, and what it skipped.
/// After a strict load, everything was loaded and the three lists of skipped entries are
/// empty.
///
/// ```
/// use nn::{Init, Linear, LoadOptions, Model, StateDict};
/// use tape::Array;
/// let mut layer = Linear::<f64>::new(2, 1, Init::Zeros, 0);
/// let state: StateDict<f64> = [
///     ("weight", Array::ones(&[1, 2])),   // fits
///     ("extra", Array::ones(&[3])),       // not a parameter
/// ].into_iter().collect();
/// let report = layer.load_state_dict_with(&state, LoadOptions::non_strict())?;
/// assert_eq!(report.loaded, ["weight"]);
/// assert_eq!(report.missing, ["bias"]);
/// assert_eq!(report.unexpected, ["extra"]);
/// assert!(report.mismatched.is_empty());
/// assert_eq!(layer.weight.data(), &[1.0, 1.0]);
/// # Ok::<(), nn::NnError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The parameters set from the map, in the model's order.
    pub loaded: Vec<String>,
    /// The model's parameters the map has no entry for (left as they were).
    pub missing: Vec<String>,
    /// The map's entries that name no parameter of the model (ignored), in the map's order.
    pub unexpected: Vec<String>,
    /// Entries whose shape differs from their parameter's (the parameter left as it was):
    /// the name, the map's shape, and the parameter's.
    pub mismatched: Vec<(String, Shape, Shape)>,
}

impl LoadReport {
    /// Whether nothing was skipped.
    ///
    /// ```
    /// use nn::{Init, Linear, Model};
    /// let mut layer = Linear::<f64>::new(2, 1, Init::Zeros, 0);
    /// let state = layer.state_dict();
    /// assert!(layer.load_state_dict(&state)?.is_complete());
    /// # Ok::<(), nn::NnError>(())
    /// ```
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }
}

/// The parameters of `model` as a map (each array a new reference to a shared parameter, or
/// a copy of an owned one).
pub(crate) fn state_dict_of<T: Element, M: Model<T> + ?Sized>(model: &M) -> StateDict<T> {
    let mut entries = Vec::new();
    model.visit_params(&mut |name, p| entries.push((name.to_string(), p.clone())));
    StateDict { entries }
}

/// [`Model::load_state_dict_with`]: everything is checked before any parameter changes.
pub(crate) fn load_into<T: Element, M: Model<T> + ?Sized>(
    model: &mut M,
    state: &StateDict<T>,
    options: LoadOptions,
) -> Result<LoadReport, NnError> {
    const OP: &str = "load_state_dict";
    let mut report = LoadReport::default();
    let mut params = Vec::new();
    model
        .visit_params(&mut |name, p| params.push((name.to_string(), Shape::from_slice(p.shape()))));
    for (name, shape) in &params {
        match state.get(name) {
            None => report.missing.push(name.clone()),
            Some(a) if a.shape() != shape.as_slice() => {
                report
                    .mismatched
                    .push((name.clone(), Shape::from_slice(a.shape()), shape.clone()))
            }
            Some(_) => report.loaded.push(name.clone()),
        }
    }
    report.unexpected = state
        .iter()
        .filter(|(n, _)| !params.iter().any(|(p, _)| p == n))
        .map(|(n, _)| n.to_string())
        .collect();
    if options.strict {
        if let Some((name, stored, expected)) = report.mismatched.first() {
            return Err(NnError::Parameter {
                op: OP,
                name: name.clone(),
                message: format!(
                    "shape {stored:?} in the state dict, but the model's is {expected:?}"
                ),
            });
        }
        if let Some(name) = report.missing.first() {
            return Err(NnError::Parameter {
                op: OP,
                name: name.clone(),
                message: format!(
                    "missing from the state dict ({} of the model's {} parameters are: {})",
                    report.missing.len(),
                    params.len(),
                    quoted(&report.missing)
                ),
            });
        }
        if let Some(name) = report.unexpected.first() {
            return Err(NnError::Parameter {
                op: OP,
                name: name.clone(),
                message: format!(
                    "in the state dict but not a parameter of the model (the model's are {})",
                    quoted(&params.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())
                ),
            });
        }
    }
    model.visit_params_mut(&mut |name, p| {
        if let Some(a) = state.get(name).filter(|a| a.shape() == p.shape()) {
            // Shared, as the layers keep their parameters, so that binding stays free.
            *p = a.clone().shared();
        }
    });
    Ok(report)
}

/// Up to six names in backquotes, and how many more.
fn quoted(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(6).map(|n| format!("`{n}`")).collect();
    match names.len() {
        0 => "none".to_string(),
        n if n <= 6 => shown.join(", "),
        n => format!("{}, … ({n} in all)", shown.join(", ")),
    }
}
