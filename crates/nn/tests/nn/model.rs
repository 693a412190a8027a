//! Linear, Mlp and the Model trait: gradients of every parameter against finite differences,
//! names, binding, updating, and the errors.

use nn::loss::{mse_loss, softmax_cross_entropy};
use nn::{
    Activation, BoundLinear, BoundMlp, BoundModel, Init, Linear, Mlp, Model, NnError, ParamGrads,
};
use proptest::prelude::*;
use tape::check::strategies;
use tape::{Array, Tape, Tensor};

use crate::common::{assert_close, assert_grad, assert_grad_scalar};

/// A bound MLP whose parameters are the handles `params` (weight, bias per layer, in order):
/// lets gradcheck perturb every parameter as an ordinary input.
fn bound_mlp<'t>(params: &[Tensor<'t, f64>], activation: Activation) -> BoundMlp<'t, f64> {
    BoundMlp {
        layers: params
            .chunks(2)
            .map(|wb| BoundLinear {
                weight: wb[0],
                bias: Some(wb[1]),
            })
            .collect(),
        activation,
    }
}

/// Layer sizes, inputs, labels and an activation for an MLP gradient check.
fn mlp_case() -> impl Strategy<Value = (Vec<usize>, Array<f64>, Vec<usize>, Activation)> {
    (
        proptest::collection::vec(1..=4usize, 2..=4),
        1..=3usize,
        0..5usize,
    )
        .prop_flat_map(|(sizes, batch, act)| {
            let n_out = *sizes.last().unwrap();
            let act = [
                Activation::Tanh,
                Activation::Gelu,
                Activation::Softplus,
                Activation::Silu,
                Activation::Sigmoid,
            ][act];
            (
                Just(sizes.clone()),
                strategies::array::<f64>(&[batch, sizes[0]], -2.0, 2.0),
                proptest::collection::vec(0..n_out, batch),
                Just(act),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn linear_gradcheck((n_in, n_out, batch) in strategies::matmul_dims(4), seed in 0u64..1000) {
        let layer = Linear::<f64>::new(n_in, n_out, Init::XavierNormal, seed);
        let bias = Array::rand_normal(&[n_out], 0.0, 1.0, seed + 1);
        let x = Array::rand_normal(&[batch, n_in], 0.0, 1.0, seed + 2);
        assert_grad(
            |_, t| BoundLinear { weight: t[0], bias: Some(t[1]) }.forward(t[2]),
            &[layer.weight.clone(), bias, x.clone()],
        );
        assert_grad(
            |_, t| BoundLinear { weight: t[0], bias: None }.forward(t[1]),
            &[layer.weight, x],
        );
    }

    // Inputs with other leading dimensions than one batch axis: one sample `[in]`, or
    // `[a, b, in]`; every parameter and the input against finite differences.
    #[test]
    fn linear_gradcheck_on_other_input_shapes(
        (n_in, n_out) in (1..=4usize, 1..=4usize),
        lead in proptest::collection::vec(1..=3usize, 0..=3),
        seed in 0u64..1000,
    ) {
        let layer = Linear::<f64>::new(n_in, n_out, Init::XavierNormal, seed);
        let bias = Array::rand_normal(&[n_out], 0.0, 1.0, seed + 1);
        let mut shape = lead.clone();
        shape.push(n_in);
        let x = Array::rand_normal(&shape, 0.0, 1.0, seed + 2);
        assert_grad(
            |_, t| BoundLinear { weight: t[0], bias: Some(t[1]) }.forward(t[2]),
            &[layer.weight.clone(), bias, x],
        );
    }

    // Every parameter of a whole MLP (and its input), through a loss.
    #[test]
    fn mlp_gradcheck((sizes, x, labels, act) in mlp_case(), seed in 0u64..1000) {
        let mlp = Mlp::<f64>::new(&sizes, act, seed).unwrap();
        let mut inputs = Vec::new();
        for (i, layer) in mlp.layers.iter().enumerate() {
            inputs.push(layer.weight.clone());
            // Non-zero biases, so that their gradient is tested at a generic point.
            inputs.push(Array::rand_normal(&[layer.n_out()], 0.0, 0.5, seed + i as u64));
        }
        inputs.push(x);
        let n = inputs.len();
        assert_grad_scalar(
            |_, t| softmax_cross_entropy(bound_mlp(&t[..n - 1], act).forward(t[n - 1]), &labels).unwrap(),
            &inputs,
        );
    }
}

#[test]
fn relu_mlp_gradcheck() {
    // ReLU has a kink at 0: central differences with step 1e-6 only go wrong for a
    // pre-activation within about 1e-6 of 0, which these fixed seeds do not produce.
    let mlp = Mlp::<f64>::new(&[3, 5, 4, 2], Activation::Relu, 11).unwrap();
    let x = Array::rand_normal(&[4, 3], 0.0, 1.0, 5);
    let mut inputs: Vec<Array<f64>> = Vec::new();
    mlp.visit_params(&mut |_, p| inputs.push(p.clone()));
    inputs.push(x);
    let target = Array::rand_normal(&[4, 2], 0.0, 1.0, 6);
    assert_grad_scalar(
        |tape, t| {
            let y = bound_mlp(&t[..6], Activation::Relu).forward(t[6]);
            mse_loss(y, tape.tensor_constant(target.clone())).unwrap()
        },
        &inputs,
    );
}

/// A copy of `model` with element `j` of parameter `k` (in visit order) moved by `delta`.
fn shifted(model: &Mlp<f64>, k: usize, j: usize, delta: f64) -> Mlp<f64> {
    let mut model = model.clone();
    let mut i = 0;
    model.visit_params_mut(&mut |_, p| {
        if i == k {
            p.data_mut()[j] += delta;
        }
        i += 1;
    });
    model
}

/// The loss of `model` on a fresh tape.
fn loss_of(model: &Mlp<f64>, x: &Array<f64>, labels: &[usize]) -> f64 {
    let tape = Tape::new();
    let y = model.bind(&tape).forward(tape.tensor_constant(x.clone()));
    softmax_cross_entropy(y, labels).unwrap().value()
}

#[test]
fn bound_gradients_match_finite_differences_of_the_model() {
    // The whole Model path — bind, forward, take_grads — against central differences taken
    // by perturbing the model's own parameters through visit_params_mut.
    let model = Mlp::<f64>::new(&[3, 4, 3], Activation::Tanh, 3).unwrap();
    let x = Array::rand_normal(&[5, 3], 0.0, 1.0, 9);
    let labels = [0, 2, 1, 1, 0];
    let tape = Tape::new();
    let bound = model.bind(&tape);
    let loss =
        softmax_cross_entropy(bound.forward(tape.tensor_constant(x.clone())), &labels).unwrap();
    let mut grads = loss.backward();
    let grads = bound.take_grads(&mut grads);
    assert_eq!(grads.len(), 4);
    let eps = 1e-6;
    for (k, (name, g)) in grads.iter().enumerate() {
        for j in 0..g.len() {
            let plus = loss_of(&shifted(&model, k, j, eps), &x, &labels);
            let minus = loss_of(&shifted(&model, k, j, -eps), &x, &labels);
            let numeric = (plus - minus) / (2.0 * eps);
            assert!(
                (g.data()[j] - numeric).abs() < 1e-8,
                "{name}[{j}]: analytic {}, numeric {numeric}",
                g.data()[j]
            );
        }
    }
}

#[test]
fn linear_stores_weight_out_by_in_and_computes_x_wt_plus_b() {
    // W = [[1, 2], [3, 4], [5, 6]] ([out 3, in 2]), b = [1, 0, −1], x = [[1, 1], [2, −1]].
    // x·Wᵀ = [[3, 7, 11], [0, 2, 4]]; + b = [[4, 7, 10], [1, 2, 3]].
    let w = Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
    let b = Array::from_vec(vec![1.0, 0.0, -1.0], &[3]).unwrap();
    let layer = Linear::from_arrays(w, Some(b)).unwrap();
    assert_eq!((layer.n_in(), layer.n_out()), (2, 3));
    let tape = Tape::new();
    let bound = layer.bind(&tape);
    let x = tape
        .tensor_from_vec(vec![1.0, 1.0, 2.0, -1.0], &[2, 2])
        .unwrap();
    let y = bound.forward(x);
    assert_eq!(y.to_vec(), vec![4.0, 7.0, 10.0, 1.0, 2.0, 3.0]);
    // ∂Σy/∂W[o, i] = Σ_batch x[·, i] = [3, 0] for every o; ∂Σy/∂b = batch size = 2.
    let g = bound.grads(&y.sum().backward());
    assert_eq!(
        g.get("weight").unwrap().data(),
        &[3.0, 0.0, 3.0, 0.0, 3.0, 0.0]
    );
    assert_eq!(g.get("bias").unwrap().data(), &[2.0, 2.0, 2.0]);
}

/// A `[a, b, in]` input gives, at every leading position, what that row alone gives as a
/// `[1, in]` batch; a single sample `[in]` gives a `[out]` vector.
#[test]
fn linear_maps_every_leading_position_alike() {
    let layer = Linear::<f64>::from_arrays(
        Array::rand_normal(&[3, 4], 0.0, 1.0, 1),
        Some(Array::rand_normal(&[3], 0.0, 1.0, 2)),
    )
    .unwrap();
    let tape = Tape::new();
    let bound = layer.bind(&tape);
    let xa = Array::rand_normal(&[2, 5, 4], 0.0, 1.0, 3);
    let y = bound.forward(tape.tensor(xa.clone()));
    assert_eq!(y.shape().as_slice(), &[2, 5, 3]);
    let ys = y.to_vec();
    for (k, row) in xa.data().chunks(4).enumerate() {
        let one = bound.forward(tape.tensor_from_vec(row.to_vec(), &[1, 4]).unwrap());
        // Products of other heights may add in another order: equal to rounding.
        assert_close(&ys[3 * k..3 * k + 3], &one.to_vec(), 1e-12);
        let vector = bound.forward(tape.tensor_from_vec(row.to_vec(), &[4]).unwrap());
        assert_eq!(vector.shape().as_slice(), &[3]);
        assert_close(&vector.to_vec(), &one.to_vec(), 1e-12);
    }
}

#[test]
fn mlp_names_and_order() {
    let mlp = Mlp::<f32>::new(&[4, 3, 2], Activation::Relu, 0).unwrap();
    let mut seen = Vec::new();
    mlp.visit_params(&mut |name, p| seen.push((name.to_string(), p.shape().to_vec())));
    let expected = [
        ("layers.0.weight", vec![3, 4]),
        ("layers.0.bias", vec![3]),
        ("layers.1.weight", vec![2, 3]),
        ("layers.1.bias", vec![2]),
    ];
    assert_eq!(seen.len(), 4);
    for ((n, s), (en, es)) in seen.iter().zip(&expected) {
        assert_eq!((n.as_str(), s), (*en, es));
    }
    let tape = Tape::new();
    let bound = mlp.bind(&tape);
    let handle_names: Vec<String> = bound.params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(handle_names, mlp.param_names());
}

#[test]
fn update_params_applies_f_to_every_parameter_with_its_gradient() {
    let mut mlp = Mlp::<f64>::new(&[2, 2, 1], Activation::Tanh, 1).unwrap();
    let before = mlp.clone();
    let grads = ParamGrads::from_vec(
        mlp.param_names()
            .into_iter()
            .zip(
                before
                    .layers
                    .iter()
                    .flat_map(|l| [l.weight.clone(), l.bias.clone().unwrap()]),
            )
            .map(|(n, p)| (n, p.map(|_| 1.0)))
            .collect(),
    );
    mlp.update_params(&grads, &mut |_, p, g| {
        for (p, g) in p.data_mut().iter_mut().zip(g.data()) {
            *p -= 0.25 * g;
        }
    })
    .unwrap();
    for (a, b) in mlp.layers.iter().zip(&before.layers) {
        let shifted = b.weight.map(|v| v - 0.25);
        assert_close(a.weight.data(), shifted.data(), 0.0);
        assert_eq!(a.bias.as_ref().unwrap().data(), &[-0.25; 2][..a.n_out()]);
    }
}

#[test]
fn a_parameter_replaced_by_an_update_is_shared_again_so_binding_does_not_copy_it() {
    let mut layer = Linear::<f64>::new(3, 2, Init::XavierUniform, 4);
    let grads = ParamGrads::from_vec(vec![
        ("weight".to_string(), Array::ones(&[2, 3])),
        ("bias".to_string(), Array::ones(&[2])),
    ]);
    // An update that builds a new array instead of changing the old one.
    layer
        .update_params(&grads, &mut |_, p, g| {
            let new: Vec<f64> = p.data().iter().zip(g.data()).map(|(p, g)| p - g).collect();
            *p = Array::from_vec(new, p.shape()).unwrap();
        })
        .unwrap();
    let tape = Tape::new();
    let bound = layer.bind(&tape);
    layer.visit_params(&mut |name, p| {
        assert!(p.is_shared(), "{name}");
        let on_tape = bound
            .params()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.with_value(|v| v.data().as_ptr()))
            .unwrap();
        assert_eq!(on_tape, p.data().as_ptr(), "{name}: bound without a copy");
    });
}

#[test]
fn update_params_rejects_mismatched_gradients_without_touching_anything() {
    let mut mlp = Mlp::<f64>::new(&[2, 3, 1], Activation::Tanh, 1).unwrap();
    let before = mlp.clone();
    let tape = Tape::new();
    let bound = mlp.bind(&tape);
    let y = bound.forward(tape.ones(&[1, 2]));
    let good = bound.grads(&y.sum().backward());
    let mut entries = good.clone().into_vec();
    entries.swap(0, 1);
    let swapped = ParamGrads::from_vec(entries.clone());
    let mut count = 0;
    let err = mlp
        .update_params(&swapped, &mut |_, _, _| count += 1)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "update_params: gradient 0 is for `layers.0.bias` but parameter 0 is `layers.0.weight`"
    );
    entries.swap(0, 1);
    entries.pop();
    let short = ParamGrads::from_vec(entries.clone());
    assert!(matches!(
        mlp.update_params(&short, &mut |_, _, _| count += 1),
        Err(NnError::InvalidArgument { .. })
    ));
    entries.push(("layers.1.bias".to_string(), Array::zeros(&[5])));
    let wrong_shape = ParamGrads::from_vec(entries);
    let err = mlp
        .update_params(&wrong_shape, &mut |_, _, _| count += 1)
        .unwrap_err();
    assert!(matches!(err, NnError::ShapeMismatch { .. }), "{err}");
    assert_eq!(count, 0);
    assert_eq!(mlp, before);
    mlp.update_params(&good, &mut |_, _, _| count += 1).unwrap();
    assert_eq!(count, 4);
}

#[test]
fn forward_errors_name_the_shapes() {
    let mlp = Mlp::<f64>::new(&[3, 2], Activation::Relu, 0).unwrap();
    let tape = Tape::new();
    let bound = mlp.bind(&tape);
    let err = bound.try_forward(tape.zeros(&[4, 5])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "linear: input features differ from the weight's [out, in]: [4, 5] vs [2, 3]"
    );
    let err = bound.try_forward(tape.zeros(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "linear: expected an input [..., in], got shape []"
    );
    let err = bound.try_forward(tape.zeros(&[2, 4, 5])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "linear: input features differ from the weight's [out, in]: [2, 4, 5] vs [2, 3]"
    );
    // A bias of the wrong length set through the public field.
    let mut broken = Linear::<f64>::new(3, 2, Init::Zeros, 0);
    broken.bias = Some(Array::zeros(&[3]));
    let err = broken
        .bind(&tape)
        .try_forward(tape.zeros(&[1, 3]))
        .unwrap_err();
    assert!(
        matches!(err, NnError::ShapeMismatch { op: "linear", .. }),
        "{err}"
    );
}

#[test]
fn mlp_constructor_errors() {
    assert!(Mlp::<f64>::new(&[3], Activation::Relu, 0).is_err());
    let err = Mlp::<f64>::new(&[3, 0, 2], Activation::Relu, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Mlp::new: layer sizes must be positive, got [3, 0, 2]"
    );
    assert!(Mlp::<f64>::from_layers(vec![], Activation::Relu).is_err());
}

#[test]
fn mlp_init_follows_the_activation_and_seeds_layers_apart() {
    let relu = Mlp::<f64>::new(&[50, 50, 50], Activation::Relu, 4).unwrap();
    let tanh = Mlp::<f64>::new(&[50, 50, 50], Activation::Tanh, 4).unwrap();
    // He uniform bound √(6/50) ≈ 0.346; Xavier uniform bound √(6/100) ≈ 0.245.
    let max_abs = |a: &Array<f64>| a.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (he, xavier) = (
        max_abs(&relu.layers[0].weight),
        max_abs(&tanh.layers[0].weight),
    );
    assert!(he > 0.3 && he <= (6.0f64 / 50.0).sqrt(), "{he}");
    assert!(
        xavier > 0.2 && xavier <= (6.0f64 / 100.0).sqrt(),
        "{xavier}"
    );
    // Layers of equal shape get different draws.
    assert_ne!(relu.layers[0].weight, relu.layers[1].weight);
    // The seed decides everything.
    assert_eq!(relu, Mlp::new(&[50, 50, 50], Activation::Relu, 4).unwrap());
    assert_ne!(relu, Mlp::new(&[50, 50, 50], Activation::Relu, 5).unwrap());
}

/// Binding refers to the layer's parameters instead of copying them; an SGD step after the
/// tape is cleared writes them in place, and the result is the plain-Rust update.
#[test]
fn binding_shares_the_parameters_and_a_step_after_clear_updates_in_place() {
    let mut layer = Linear::<f64>::new(4, 3, Init::XavierUniform, 5);
    assert!(layer.weight.is_shared() && layer.bias.as_ref().unwrap().is_shared());
    let before = layer.weight.clone();
    let x = Array::<f64>::rand_uniform(&[2, 4], -1.0, 1.0, 6);
    let mut tape = Tape::new();
    let grads = {
        let bound = layer.bind(&tape);
        assert_eq!(
            bound.weight.with_value(|w| w.data().as_ptr()),
            layer.weight.data().as_ptr()
        );
        let loss = bound.forward(tape.tensor_constant(x.clone())).sum();
        let mut g = loss.backward();
        bound.take_grads(&mut g)
    };
    tape.clear();
    let ptr = layer.weight.data().as_ptr();
    layer
        .update_params(&grads, &mut |_, p, g| {
            for (p, g) in p.data_mut().iter_mut().zip(g.data()) {
                *p -= 0.1 * g;
            }
        })
        .unwrap();
    // `before` still refers to the old weight, so the update copied once; `before` kept its
    // values. d(sum(x·Wᵀ + b))/dW[o][i] = Σ_batch x[b][i].
    assert_ne!(layer.weight.data().as_ptr(), ptr);
    for o in 0..3 {
        for i in 0..4 {
            let g = x.get(&[0, i]) + x.get(&[1, i]);
            let expected = before.get(&[o, i]) - 0.1 * g;
            assert!((layer.weight.get(&[o, i]) - expected).abs() < 1e-15);
        }
    }
    drop(before);
    // Nothing else refers to the weight now: the next update writes in place.
    let ptr = layer.weight.data().as_ptr();
    layer
        .update_params(&grads, &mut |_, p, g| {
            for (p, g) in p.data_mut().iter_mut().zip(g.data()) {
                *p -= 0.1 * g;
            }
        })
        .unwrap();
    assert_eq!(layer.weight.data().as_ptr(), ptr);
}

/// Widths whose parameter count overflows (or passes what a vector can hold) are an error,
/// checked before anything is allocated, never a capacity-overflow panic.
#[test]
fn sizes_past_addressable_memory_are_an_error() {
    use nn::{Activation, Mlp};
    for sizes in [
        vec![64, usize::MAX, 10],
        vec![64, 1 << 40, 1 << 40, 10],
        vec![1 << 62, 2],
    ] {
        let err = Mlp::<f32>::new(&sizes, Activation::Relu, 0).unwrap_err();
        assert!(
            err.to_string()
                .contains("more parameters than f32 can address"),
            "{sizes:?}: {err}"
        );
    }
}
