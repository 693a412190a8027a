//! Gradient checks of a model's parameters, by name.

use nn::check::check_model;
use nn::{Activation, BoundModel, Mlp};
use tape::check::{CheckConfig, Entry, Mode};
use tape::{Array, Function, Scalar, Tape, TapeError};

/// Softsign `x / (1 + |x|)` with a wrong derivative: `1 / (1 + |x|)` (the right one is its
/// square).
#[derive(Clone)]
struct SoftsignWrong;

impl Function<f64> for SoftsignWrong {
    fn name(&self) -> &str {
        "softsign_wrong"
    }
    fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
        Ok(x[0].map(|v| v / (1.0 + v.abs())))
    }
    fn backward(&self, x: &[&Array<f64>], _out: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
        let d = x[0]
            .data()
            .iter()
            .zip(g.data())
            .map(|(v, g)| g / (1.0 + v.abs()));
        vec![Array::from_vec(d.collect(), x[0].shape()).unwrap()]
    }
}

/// The model's first layer, the wrong layer, the second layer, a squared mean; and the line
/// that applied the wrong layer.
fn wrong_loss<'t>(
    tape: &'t Tape<f64>,
    m: &nn::BoundMlp<'t, f64>,
    x: &Array<f64>,
) -> (Scalar<'t, f64>, u32) {
    let h = m.layers[0].forward(tape.tensor_constant(x.clone()));
    let (h, line) = (tape.apply(&SoftsignWrong, &[h]).unwrap(), line!());
    (m.layers[1].forward(h).powi(2).mean(), line)
}

fn right_loss<'t>(
    tape: &'t Tape<f64>,
    m: &nn::BoundMlp<'t, f64>,
    x: &Array<f64>,
) -> Scalar<'t, f64> {
    m.forward(tape.tensor_constant(x.clone())).powi(2).mean()
}

fn setup() -> (Mlp<f64>, Array<f64>) {
    (
        Mlp::new(&[3, 5, 2], Activation::Tanh, 4).unwrap(),
        Array::rand_normal(&[4, 3], 0.0, 1.0, 9),
    )
}

#[test]
fn a_wrong_custom_layer_is_reported_by_parameter_name_and_line() {
    let (model, x) = setup();
    let line = {
        let tape = Tape::new();
        wrong_loss(&tape, &nn::Model::bind(&model, &tape), &x).1
    };
    let err = check_model(
        &model,
        |t, m| wrong_loss(t, m, &x).0,
        &CheckConfig::default(),
        Mode::Full,
    )
    .unwrap_err();
    // Only the first layer's parameters are upstream of the wrong layer.
    assert!(
        err.mismatches
            .iter()
            .all(|m| matches!(m.entry, Entry::Jacobian { input: 0 | 1, .. }))
    );
    assert!(!err.mismatches.is_empty());
    let text = err.to_string();
    assert!(text.contains("layers.0.weight["), "{text}");
    assert!(!text.contains("layers.1."), "{text}");
    // layers.0.weight is [5, 3]: flat element 7 is [2, 1].
    let e = Entry::Jacobian {
        input: 0,
        element: 7,
        output: 0,
    };
    assert_eq!(err.label(&e), "layers.0.weight[2, 1]");
    let op = err.localised.expect("the custom layer is found");
    assert_eq!(op.op, "custom:softsign_wrong");
    assert_eq!(op.location.unwrap().line(), line);
}

#[test]
fn random_directions_name_the_parameter() {
    let (model, x) = setup();
    let err = check_model(
        &model,
        |t, m| wrong_loss(t, m, &x).0,
        &CheckConfig::default(),
        Mode::Directions {
            per_input: 2,
            seed: 1,
        },
    )
    .unwrap_err();
    assert_eq!(err.checked, 4 * 2); // four parameters, two directions each
    let labels: Vec<String> = err.mismatches.iter().map(|m| err.label(&m.entry)).collect();
    assert_eq!(
        labels,
        [
            "layers.0.weight, direction 0",
            "layers.0.weight, direction 1",
            "layers.0.bias, direction 0",
            "layers.0.bias, direction 1"
        ]
    );
    assert_eq!(err.localised.unwrap().op, "custom:softsign_wrong");
}

#[test]
fn a_correct_model_passes_in_both_modes() {
    let (model, x) = setup();
    let r = check_model(
        &model,
        |t, m| right_loss(t, m, &x),
        &CheckConfig::default(),
        Mode::Full,
    )
    .unwrap();
    assert_eq!(r.checked, 15 + 5 + 10 + 2);
    let directions = Mode::Directions {
        per_input: 3,
        seed: 2,
    };
    let r = check_model(
        &model,
        |t, m| right_loss(t, m, &x),
        &CheckConfig::default(),
        directions,
    )
    .unwrap();
    assert_eq!(r.checked, 12);
}
