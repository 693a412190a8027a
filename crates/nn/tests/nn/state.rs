//! `StateDict`: a model's parameters by name in memory, and loading them back (strict and
//! not), for `Linear`, `Mlp` and a model of the test's own.

use nn::{
    Activation, BoundLinear, BoundModel, Init, Linear, LoadOptions, Mlp, Model, NnError, StateDict,
};
use tape::{Array, Element, Tape, Tensor};

#[test]
fn an_mlp_round_trips_through_its_state_dict() {
    let trained = Mlp::<f64>::new(&[3, 5, 4, 2], Activation::Tanh, 11).unwrap();
    let state = trained.state_dict();
    assert_eq!(state.names(), trained.param_names());
    assert_eq!(state.num_elements(), trained.num_params());
    let mut fresh = Mlp::<f64>::new(&[3, 5, 4, 2], Activation::Tanh, 12).unwrap();
    assert_ne!(fresh, trained);
    let report = fresh.load_state_dict(&state).unwrap();
    assert!(report.is_complete());
    assert_eq!(report.loaded, trained.param_names());
    assert_eq!(fresh, trained);
    // The loaded parameters are shared, so binding them stays free, as for new layers.
    fresh.visit_params(&mut |name, p| assert!(p.is_shared(), "{name}"));
}

#[test]
fn the_state_dict_does_not_alias_the_model() {
    let mut layer = Linear::<f64>::new(2, 2, Init::XavierUniform, 1);
    let before = layer.clone();
    let mut state = layer.state_dict();
    state.get_mut("weight").unwrap().data_mut()[0] = 100.0;
    assert_eq!(layer, before, "changing the map changed the model");
    layer.weight.data_mut()[1] = -100.0;
    assert_eq!(
        state.get("weight").unwrap().data()[1],
        before.weight.data()[1]
    );
}

#[test]
fn a_strict_load_names_the_parameter_and_both_shapes_and_changes_nothing() {
    let mut model = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 0).unwrap();
    let before = model.clone();
    let mut state = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 1)
        .unwrap()
        .state_dict();
    state.insert("layers.1.weight", Array::zeros(&[3, 1]));
    let err = model.load_state_dict(&state).unwrap_err();
    assert_eq!(
        err.to_string(),
        "load_state_dict: parameter `layers.1.weight`: shape [3, 1] in the state dict, but the model's is [1, 3]"
    );
    assert!(matches!(err, NnError::Parameter { ref name, .. } if name == "layers.1.weight"));
    assert_eq!(model, before, "a failed load changed the model");
}

#[test]
fn a_strict_load_refuses_missing_and_unexpected_entries() {
    let mut layer = Linear::<f64>::new(2, 1, Init::Zeros, 0);
    let mut state = layer.state_dict();
    state.remove("bias");
    let err = layer.load_state_dict(&state).unwrap_err().to_string();
    assert_eq!(
        err,
        "load_state_dict: parameter `bias`: missing from the state dict (1 of the model's 2 parameters are: `bias`)"
    );

    let mut state = layer.state_dict();
    state.insert("running_mean", Array::zeros(&[1]));
    let err = layer.load_state_dict(&state).unwrap_err().to_string();
    assert_eq!(
        err,
        "load_state_dict: parameter `running_mean`: in the state dict but not a parameter of the model (the model's are `weight`, `bias`)"
    );
}

#[test]
fn a_non_strict_load_loads_what_fits_and_reports_the_rest() {
    let mut model = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 0).unwrap();
    let before = model.clone();
    let donor = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 5).unwrap();
    let mut state = donor.state_dict();
    state.remove("layers.0.bias");
    state.insert("layers.1.bias", Array::zeros(&[7]));
    state.insert("layers.2.weight", Array::zeros(&[1, 1]));
    let report = model
        .load_state_dict_with(&state, LoadOptions::non_strict())
        .unwrap();
    assert_eq!(report.loaded, ["layers.0.weight", "layers.1.weight"]);
    assert_eq!(report.missing, ["layers.0.bias"]);
    assert_eq!(report.unexpected, ["layers.2.weight"]);
    assert_eq!(report.mismatched.len(), 1);
    let (name, theirs, ours) = &report.mismatched[0];
    assert_eq!(
        (name.as_str(), theirs.clone(), ours.clone()),
        ("layers.1.bias", [7].into(), [1].into())
    );
    assert!(!report.is_complete());
    assert_eq!(model.layers[0].weight, donor.layers[0].weight);
    assert_eq!(model.layers[1].weight, donor.layers[1].weight);
    assert_eq!(model.layers[0].bias, before.layers[0].bias);
    assert_eq!(model.layers[1].bias, before.layers[1].bias);
}

/// PyTorch names the parameters of
/// `nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))` by module index, activations
/// counted: `0.weight`, `0.bias`, `2.weight`, `2.bias`; inside a module holding it as
/// `self.layers`, `layers.0.weight`, ..., `layers.2.weight`. Weights are `[out, in]` in both.
/// An `Mlp` counts only its `Linear` layers (`layers.0`, `layers.1`), as a PyTorch
/// `nn.ModuleList` of the linear layers would, so a `Sequential`'s module `2·i` is layer `i`.
#[test]
fn pytorch_sequential_names_load_into_an_mlp_after_renaming() {
    // The arrays a PyTorch `state_dict()` would hold, written out by hand:
    // layer 0: W = [[1, 2], [3, 4], [5, 6]], b = [0.1, 0.2, 0.3]; layer 1: W = [[1, -1, 2]], b = [0.5].
    let torch: StateDict<f64> = [
        (
            "layers.0.weight",
            Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap(),
        ),
        (
            "layers.0.bias",
            Array::from_vec(vec![0.1, 0.2, 0.3], &[3]).unwrap(),
        ),
        (
            "layers.2.weight",
            Array::from_vec(vec![1.0, -1.0, 2.0], &[1, 3]).unwrap(),
        ),
        ("layers.2.bias", Array::from_vec(vec![0.5], &[1]).unwrap()),
    ]
    .into_iter()
    .collect();
    let mut model = Mlp::<f64>::new(&[2, 3, 1], Activation::Relu, 0).unwrap();
    // As it is, the names do not fit: a strict load names the first that is missing.
    let err = model.load_state_dict(&torch).unwrap_err().to_string();
    assert!(
        err.contains("parameter `layers.1.weight`: missing"),
        "{err}"
    );

    let ours = torch
        .rename(|name| {
            let rest = name.strip_prefix("layers.").unwrap();
            let (index, param) = rest.split_once('.').unwrap();
            format!("layers.{}.{param}", index.parse::<usize>().unwrap() / 2)
        })
        .unwrap();
    model.load_state_dict(&ours).unwrap();
    // x = [1, 1]: h = relu(W₀x + b₀) = relu([3.1, 7.2, 11.3]) = [3.1, 7.2, 11.3];
    // y = W₁h + b₁ = 3.1 − 7.2 + 22.6 + 0.5 = 19.0.
    let tape = Tape::new();
    let y = model
        .bind(&tape)
        .forward(tape.tensor_constant(Array::ones(&[1, 2])));
    assert!((y.to_vec()[0] - 19.0).abs() < 1e-12, "{:?}", y.to_vec());
}

/// A model of the test's own, with parameters nested two levels deep: the trait's default
/// methods give it `state_dict` and `load_state_dict`.
struct Pair<T: Element> {
    encoder: Mlp<T>,
    head: Linear<T>,
}

struct BoundPair<'t, T: Element> {
    encoder: nn::BoundMlp<'t, T>,
    head: BoundLinear<'t, T>,
}

impl<T: Element> Model<T> for Pair<T> {
    type Bound<'t> = BoundPair<'t, T>;
    fn bind<'t>(&self, tape: &'t Tape<T>) -> BoundPair<'t, T> {
        BoundPair {
            encoder: self.encoder.bind(tape),
            head: self.head.bind(tape),
        }
    }
    fn visit_params(&self, f: &mut dyn FnMut(&str, &Array<T>)) {
        self.encoder
            .visit_params(&mut |n, p| f(&format!("encoder.{n}"), p));
        self.head
            .visit_params(&mut |n, p| f(&format!("head.{n}"), p));
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Array<T>)) {
        self.encoder
            .visit_params_mut(&mut |n, p| f(&format!("encoder.{n}"), p));
        self.head
            .visit_params_mut(&mut |n, p| f(&format!("head.{n}"), p));
    }
}

impl<'t, T: Element> BoundModel<'t, T> for BoundPair<'t, T> {
    fn try_forward(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>, NnError> {
        self.head.try_forward(self.encoder.try_forward(x)?.tanh())
    }
    fn visit_handles(&self, f: &mut dyn FnMut(&str, Tensor<'t, T>)) {
        self.encoder
            .visit_handles(&mut |n, t| f(&format!("encoder.{n}"), t));
        self.head
            .visit_handles(&mut |n, t| f(&format!("head.{n}"), t));
    }
}

#[test]
fn a_model_of_ones_own_gets_state_dicts_from_the_trait() {
    let make = |seed| Pair::<f32> {
        encoder: Mlp::new(&[3, 4, 4], Activation::Relu, seed).unwrap(),
        head: Linear::new(4, 2, Init::XavierUniform, seed + 1),
    };
    let a = make(1);
    let mut b = make(7);
    let state = a.state_dict();
    assert_eq!(
        state.names(),
        [
            "encoder.layers.0.weight",
            "encoder.layers.0.bias",
            "encoder.layers.1.weight",
            "encoder.layers.1.bias",
            "head.weight",
            "head.bias"
        ]
    );
    b.load_state_dict(&state).unwrap();
    assert_eq!(b.state_dict(), state);
    let tape = Tape::new();
    let x = tape.tensor_constant(Array::rand_uniform(&[2, 3], -1.0, 1.0, 3));
    assert_eq!(
        a.bind(&tape).forward(x).to_vec(),
        b.bind(&tape).forward(x).to_vec()
    );
}

#[test]
fn renaming_two_entries_to_one_name_is_an_error() {
    let state = Linear::<f64>::new(2, 1, Init::Zeros, 0).state_dict();
    let err = state.rename(|_| "w".to_string()).unwrap_err().to_string();
    assert_eq!(
        err,
        "StateDict::rename: `bias` and an earlier entry are both renamed `w`"
    );
}
