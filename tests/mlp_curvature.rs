//! The curvature of an `nn::Mlp`'s cross-entropy loss along a direction, by a Hessian-vector
//! product through the recorded backward pass (reverse over reverse), against an independent
//! second difference of the loss.

use nn::loss::softmax_cross_entropy;
use nn::{Activation, BoundModel, Mlp, Model};
use tape::{Array, Tape};

/// The loss of `model` with `shift·direction` added to its parameters.
fn loss_at(
    model: &Mlp<f64>,
    direction: &[Array<f64>],
    shift: f64,
    x: &Array<f64>,
    y: &[usize],
) -> f64 {
    let mut shifted = model.clone();
    let mut k = 0;
    shifted.visit_params_mut(&mut |_, p| {
        for (p, d) in p.data_mut().iter_mut().zip(direction[k].data()) {
            *p += shift * d;
        }
        k += 1;
    });
    let tape = Tape::new();
    let bound = shifted.bind(&tape);
    softmax_cross_entropy(bound.forward(tape.tensor_constant(x.clone())), y)
        .unwrap()
        .value()
}

#[test]
fn hessian_vector_product_of_an_mlp_loss_matches_second_differences() {
    let model = Mlp::<f64>::new(&[4, 6, 3], Activation::Tanh, 3).unwrap();
    let x = Array::rand_normal(&[5, 4], 0.0, 1.0, 1);
    let y = [0, 2, 1, 1, 0];
    let mut shapes = Vec::new();
    model.visit_params(&mut |_, p| shapes.push(p.shape().to_vec()));
    let direction: Vec<Array<f64>> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| Array::rand_normal(s, 0.0, 1.0, 10 + i as u64))
        .collect();

    // dᵀ∇²L d = d/ds ⟨∇L(w + s d), d⟩ at s = 0: differentiate ⟨∇L, d⟩, recorded on the tape.
    let tape = Tape::<f64>::new();
    let bound = model.bind(&tape);
    let loss = softmax_cross_entropy(bound.forward(tape.tensor_constant(x.clone())), &y).unwrap();
    let grads = loss.backward_graph().unwrap();
    let params = bound.params();
    let mut g_dot_d = tape.constant(0.0);
    for ((_, p), d) in params.iter().zip(&direction) {
        g_dot_d += (grads.wrt(*p) * tape.tensor_constant(d.clone())).sum();
    }
    let hd = g_dot_d.backward();
    let curvature: f64 = params
        .iter()
        .zip(&direction)
        .map(|((_, p), d)| {
            hd.wrt(*p)
                .data()
                .iter()
                .zip(d.data())
                .map(|(a, b)| a * b)
                .sum::<f64>()
        })
        .sum();

    // Independent: (L(w + hd) − 2L(w) + L(w − hd)) / h², accurate to O(h²).
    let h = 1e-4;
    let second_difference = (loss_at(&model, &direction, h, &x, &y)
        - 2.0 * loss_at(&model, &direction, 0.0, &x, &y)
        + loss_at(&model, &direction, -h, &x, &y))
        / (h * h);
    assert!(
        (curvature - second_difference).abs() < 1e-4 * (1.0 + curvature.abs()),
        "curvature {curvature}, second difference {second_difference}"
    );
    // A cross-entropy of a tanh network is not convex, but along a random direction at a random
    // point the curvature is a non-trivial number: make sure the check is not comparing zeros.
    assert!(curvature.abs() > 1e-3, "curvature {curvature}");
}
