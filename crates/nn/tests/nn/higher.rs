//! Second derivatives: every nn function can be differentiated twice (through
//! `Scalar::backward_graph`), checked against finite differences of the first-order gradient.

use nn::loss::{CrossEntropy, bce_with_logits, mse_loss, nll_loss, softmax_cross_entropy_with};
use nn::special::{erf, erfc};
use nn::{Activation, BoundLinear, BoundMlp, BoundModel, log_softmax, softmax};
use proptest::prelude::*;
use tape::check::{CheckConfig, gradgradcheck, strategies};
use tape::{Array, Tape};

/// Second differences of a first-order gradient carry rounding error of about
/// `1e-16·|∇f| / eps`, so the relative tolerance is looser than for first derivatives.
fn config() -> CheckConfig {
    CheckConfig {
        rel_tol: 1e-5,
        abs_tol: 1e-7,
        ..CheckConfig::default()
    }
}

/// A fixed weighting, so that `Σ w·f(x)` has a Hessian that mixes the outputs.
fn weights(shape: &[usize]) -> Array<f64> {
    Array::rand_uniform(shape, -1.0, 1.0, 99)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn activations_twice(x in strategies::array::<f64>(&[2, 3], -3.0, 3.0)) {
        let w = weights(&[2, 3]);
        for act in [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Softplus,
            Activation::Silu,
        ] {
            let r = gradgradcheck(
                |tape, t| (act.apply(t[0]) * tape.tensor_constant(w.clone())).sum(),
                std::slice::from_ref(&x),
                &config(),
            );
            prop_assert!(r.is_ok(), "{:?}: {}", act, r.unwrap_err());
        }
    }

    #[test]
    fn kinked_activations_twice(x in strategies::array_avoiding::<f64>(&[2, 3], -3.0, 3.0, &[0.0], 1e-3)) {
        // Piecewise: the second derivative is 0 (ReLU, leaky) or alpha·eˣ (ELU) off the kink.
        for act in [Activation::Relu, Activation::LeakyRelu(0.2), Activation::Elu(0.5)] {
            let r = gradgradcheck(|_, t| act.apply(t[0]).powi(2).sum(), std::slice::from_ref(&x), &config());
            prop_assert!(r.is_ok(), "{:?}: {}", act, r.unwrap_err());
        }
    }

    #[test]
    fn erf_twice(x in strategies::array::<f64>(&[4], -2.5, 2.5)) {
        let r = gradgradcheck(|_, t| (erf(t[0]) * t[0]).sum() + erfc(t[0]).powi(2).sum(), std::slice::from_ref(&x), &config());
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn softmax_family_twice(x in strategies::array::<f64>(&[3, 4], -3.0, 3.0), eps in 0.0..0.5f64) {
        let w = weights(&[3, 4]);
        let labels = [3, 0, 2];
        let r = gradgradcheck(|tape, t| (softmax(t[0], 1) * tape.tensor_constant(w.clone())).sum(), std::slice::from_ref(&x), &config());
        prop_assert!(r.is_ok(), "softmax: {}", r.unwrap_err());
        let r = gradgradcheck(|tape, t| (log_softmax(t[0], 0) * tape.tensor_constant(w.clone())).sum(), std::slice::from_ref(&x), &config());
        prop_assert!(r.is_ok(), "log_softmax: {}", r.unwrap_err());
        let ce = CrossEntropy { label_smoothing: eps };
        let r = gradgradcheck(|_, t| softmax_cross_entropy_with(t[0], &labels, &ce).unwrap(), std::slice::from_ref(&x), &config());
        prop_assert!(r.is_ok(), "softmax_cross_entropy: {}", r.unwrap_err());
        let r = gradgradcheck(|_, t| nll_loss(log_softmax(t[0], 1), &labels).unwrap(), std::slice::from_ref(&x), &config());
        prop_assert!(r.is_ok(), "nll_loss: {}", r.unwrap_err());
    }

    #[test]
    fn regression_losses_twice(z in strategies::array::<f64>(&[5], -4.0, 4.0), y in strategies::array::<f64>(&[5], 0.0, 1.0)) {
        let r = gradgradcheck(|_, t| bce_with_logits(t[0], t[1]).unwrap(), &[z.clone(), y.clone()], &config());
        prop_assert!(r.is_ok(), "bce_with_logits: {}", r.unwrap_err());
        let r = gradgradcheck(|_, t| mse_loss(t[0].tanh(), t[1]).unwrap(), &[z, y], &config());
        prop_assert!(r.is_ok(), "mse_loss: {}", r.unwrap_err());
    }
}

#[test]
fn cross_entropy_hessian_is_softmax_covariance() {
    // For one row, ∂²loss/∂xᵢ∂xⱼ = pᵢδᵢⱼ − pᵢpⱼ with p = softmax(x), whatever the label.
    let x = [0.3, -1.2, 2.0];
    let tape = Tape::<f64>::new();
    let t = tape.tensor_from_vec(x.to_vec(), &[1, 3]).unwrap();
    let loss = nn::loss::softmax_cross_entropy(t, &[1]).unwrap();
    let g = loss.backward_graph().unwrap().wrt(t);
    let z: f64 = x.iter().map(|v| v.exp()).sum();
    let p: Vec<f64> = x.iter().map(|v| v.exp() / z).collect();
    for i in 0..3 {
        let row = g.get(&[0, i]).backward();
        let h = row.wrt(t).data().to_vec();
        for j in 0..3 {
            let expected = if i == j { p[i] } else { 0.0 } - p[i] * p[j];
            assert!(
                (h[j] - expected).abs() < 1e-15,
                "H[{i}][{j}] = {}, expected {expected}",
                h[j]
            );
        }
    }
}

#[test]
fn mlp_gradient_penalty_is_differentiable() {
    // ‖∇ₓ f(x)‖² for a GELU network, differentiated with respect to every parameter and x.
    let mlp = nn::Mlp::<f64>::new(&[2, 3, 1], Activation::Gelu, 5).unwrap();
    let mut inputs: Vec<Array<f64>> = mlp
        .layers
        .iter()
        .flat_map(|l| {
            [
                l.weight.clone(),
                Array::rand_normal(&[l.n_out()], 0.0, 0.5, 3),
            ]
        })
        .collect();
    inputs.push(Array::rand_normal(&[2, 2], 0.0, 1.0, 4));
    tape::check::gradcheck_scalar(
        |_, t| {
            let bound = BoundMlp {
                layers: vec![
                    BoundLinear {
                        weight: t[0],
                        bias: Some(t[1]),
                    },
                    BoundLinear {
                        weight: t[2],
                        bias: Some(t[3]),
                    },
                ],
                activation: Activation::Gelu,
            };
            let f = bound.forward(t[4]).sum();
            let gx = f.backward_graph().unwrap().wrt(t[4]);
            (gx * gx).sum()
        },
        &inputs,
        &config(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The recorded backward of a custom primitive (`backward_on_tape`) must give the same first
/// derivative as its numeric backward, which the first-order gradient checks cover.
/// (`gradgradcheck` alone cannot see a wrong recorded rule that is consistently wrong: it
/// compares the recorded gradient with finite differences of itself.)
#[track_caller]
fn assert_recorded_matches_numeric(
    f: impl for<'t> Fn(tape::Tensor<'t, f64>) -> tape::Scalar<'t, f64>,
    x: &Array<f64>,
) {
    let tape = Tape::<f64>::new();
    let t = tape.tensor(x.clone());
    let y = f(t);
    let recorded = y.backward_graph().unwrap().wrt(t).value();
    let numeric = y.backward().wrt(t).clone();
    assert!(
        recorded.max_abs_diff(&numeric) < 1e-15,
        "recorded {recorded:?} vs numeric {numeric:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn recorded_backward_of_custom_primitives_matches_numeric(
        x in strategies::array::<f64>(&[3, 4], -3.0, 3.0),
        eps in 0.0..1.0f64,
    ) {
        let w = weights(&[3, 4]);
        assert_recorded_matches_numeric(|t| (erf(t) * t.tape().tensor_constant(w.clone())).sum(), &x);
        assert_recorded_matches_numeric(|t| (erfc(t) * t.tape().tensor_constant(w.clone())).sum(), &x);
        let ce = CrossEntropy { label_smoothing: eps };
        assert_recorded_matches_numeric(
            |t| softmax_cross_entropy_with(t, &[1, 3, 0], &ce).unwrap() * 1.5,
            &x,
        );
    }
}
