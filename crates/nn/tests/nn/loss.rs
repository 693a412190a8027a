//! Losses: gradients against finite differences and against closed forms computed in plain
//! Rust, stability, and the errors for bad input.

use nn::loss::{
    CrossEntropy, bce_with_logits, mse_loss, nll_loss, softmax_cross_entropy,
    softmax_cross_entropy_with,
};
use nn::{NnError, log_softmax};
use proptest::prelude::*;
use tape::check::strategies;
use tape::{Array, Tape};

use crate::common::{assert_close, assert_grad_scalar, sigmoid};

/// Logits `[B, C]`, one label per row, and a label smoothing.
fn logits_labels() -> impl Strategy<Value = (Array<f64>, Vec<usize>, f64)> {
    (1..=4usize, 1..=5usize).prop_flat_map(|(b, c)| {
        (
            strategies::array::<f64>(&[b, c], -4.0, 4.0),
            proptest::collection::vec(0..c, b),
            0.0..1.0f64,
        )
    })
}

/// Two arrays of the same random shape.
fn same_shape_pair(lo: f64, hi: f64) -> impl Strategy<Value = (Array<f64>, Array<f64>)> {
    strategies::shape(3, 4).prop_flat_map(move |s| {
        (
            strategies::array::<f64>(&s, lo, hi),
            strategies::array(&s, lo, hi),
        )
    })
}

/// `(softmax(x) − t)/B` with `t = (1 − ε)·onehot(y) + ε/C`, and the loss
/// `−(1/B)·Σᵣ Σⱼ tⱼ·log softmax(xᵣ)ⱼ`, computed directly from the definitions in plain Rust.
fn cross_entropy_reference(x: &Array<f64>, labels: &[usize], eps: f64) -> (f64, Vec<f64>) {
    let (b, c) = (x.shape()[0], x.shape()[1]);
    let mut loss = 0.0;
    let mut grad = Vec::new();
    for (row, &y) in x.data().chunks(c).zip(labels) {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for (j, v) in row.iter().enumerate() {
            let p = (v - m).exp() / z;
            let t = if j == y { 1.0 - eps } else { 0.0 } + eps / c as f64;
            loss -= t * p.ln();
            grad.push((p - t) / b as f64);
        }
    }
    (loss / b as f64, grad)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn cross_entropy_gradcheck((x, labels, eps) in logits_labels()) {
        assert_grad_scalar(|_, t| softmax_cross_entropy(t[0], &labels).unwrap(), std::slice::from_ref(&x));
        let config = CrossEntropy { label_smoothing: eps };
        assert_grad_scalar(
            |_, t| softmax_cross_entropy_with(t[0], &labels, &config).unwrap(),
            std::slice::from_ref(&x),
        );
    }

    #[test]
    fn cross_entropy_matches_closed_form((x, labels, eps) in logits_labels()) {
        for eps in [0.0, eps] {
            let tape = Tape::<f64>::new();
            let t = tape.tensor(x.clone());
            let config = CrossEntropy { label_smoothing: eps };
            let loss = softmax_cross_entropy_with(t, &labels, &config).unwrap();
            let (expected_loss, expected_grad) = cross_entropy_reference(&x, &labels, eps);
            prop_assert!((loss.value() - expected_loss).abs() < 1e-13);
            let g = loss.backward();
            let got = g.wrt(t).data();
            for (a, e) in got.iter().zip(&expected_grad) {
                prop_assert!((a - e).abs() < 1e-15, "{:?} vs {:?}", got, expected_grad);
            }
        }
    }

    #[test]
    fn nll_of_log_softmax_equals_cross_entropy((x, labels, _eps) in logits_labels()) {
        let tape = Tape::<f64>::new();
        let t = tape.tensor(x.clone());
        let fused = softmax_cross_entropy(t, &labels).unwrap();
        let composed = nll_loss(log_softmax(t, 1), &labels).unwrap();
        prop_assert!((fused.value() - composed.value()).abs() < 1e-13);
        let (gf, gc) = (fused.backward(), composed.backward());
        prop_assert!(gf.wrt(t).max_abs_diff(gc.wrt(t)) < 1e-15);
    }

    #[test]
    fn nll_gradcheck((x, labels, _eps) in logits_labels()) {
        assert_grad_scalar(|_, t| nll_loss(t[0], &labels).unwrap(), std::slice::from_ref(&x));
    }

    #[test]
    fn mse_gradcheck((p, y) in same_shape_pair(-3.0, 3.0)) {
        assert_grad_scalar(|_, t| mse_loss(t[0], t[1]).unwrap(), &[p, y]);
    }

    #[test]
    fn bce_gradcheck((z, y) in same_shape_pair(-6.0, 6.0)) {
        // Targets in [0, 1]: map [−6, 6) affinely onto it.
        let y = y.map(|v| (v + 6.0) / 12.0);
        assert_grad_scalar(|_, t| bce_with_logits(t[0], t[1]).unwrap(), &[z, y]);
    }
}

#[test]
fn cross_entropy_of_uniform_logits_is_ln_c() {
    // softmax of equal logits is 1/C whatever the label: loss = −ln(1/C) = ln C.
    let tape = Tape::<f64>::new();
    let loss = softmax_cross_entropy(tape.full(&[3, 10], 7.0), &[0, 4, 9]).unwrap();
    assert!((loss.value() - 10f64.ln()).abs() < 1e-15);
}

#[test]
fn cross_entropy_is_finite_for_huge_logits() {
    let tape = Tape::<f64>::new();
    let x = tape
        .tensor_from_vec(vec![1e4, -1e4, 0.0, -1e4, 1e4, 1e4], &[2, 3])
        .unwrap();
    let loss = softmax_cross_entropy(x, &[1, 0]).unwrap();
    // Row 0: lse = 1e4, loss = 1e4 − (−1e4) = 2e4. Row 1: lse = 1e4 + ln 2, loss = 2e4 + ln 2.
    assert!(
        (loss.value() - (4e4 + 2f64.ln()) / 2.0).abs() < 1e-9,
        "{}",
        loss.value()
    );
    let g = loss.backward();
    // Row 0: softmax = [1, 0, 0], minus onehot(1), halved. Row 1: [0, ½, ½] − onehot(0), halved.
    assert_close(g.wrt(x).data(), &[0.5, -0.5, 0.0, -0.5, 0.25, 0.25], 1e-15);

    let tape = Tape::<f32>::new();
    let x = tape
        .tensor_from_vec(vec![100.0, -100.0, 1e4, -1e4], &[2, 2])
        .unwrap();
    let loss = softmax_cross_entropy(x, &[1, 1]).unwrap();
    assert!(loss.value().is_finite());
    assert!(loss.backward().wrt(x).data().iter().all(|v| v.is_finite()));
}

#[test]
fn bce_matches_naive_formula_and_is_stable() {
    let z = [-5.0, -0.3, 0.0, 0.8, 4.0];
    let y = [0.0, 1.0, 0.3, 0.0, 1.0];
    let tape = Tape::<f64>::new();
    let zt = tape.tensor_from_vec(z.to_vec(), &[5]).unwrap();
    let yt = tape.tensor_constant(Array::from_vec(y.to_vec(), &[5]).unwrap());
    let loss = bce_with_logits(zt, yt).unwrap();
    // −y ln σ(z) − (1 − y) ln(1 − σ(z)), fine in the naive form for moderate z.
    let expected: f64 = z
        .iter()
        .zip(&y)
        .map(|(&z, &y)| -y * sigmoid(z).ln() - (1.0 - y) * (1.0 - sigmoid(z)).ln())
        .sum::<f64>()
        / 5.0;
    assert!((loss.value() - expected).abs() < 1e-14);
    // The gradient is (σ(z) − y)/n, including at z = 0 exactly.
    let g = loss.backward();
    let expected_grad: Vec<f64> = z
        .iter()
        .zip(&y)
        .map(|(&z, &y)| (sigmoid(z) - y) / 5.0)
        .collect();
    assert_close(g.wrt(zt).data(), &expected_grad, 1e-15);

    let big = tape.tensor_from_vec(vec![-1e4, 1e4], &[2]).unwrap();
    let targets = tape.tensor_constant(Array::from_vec(vec![1.0, 1.0], &[2]).unwrap());
    let loss = bce_with_logits(big, targets).unwrap();
    assert_eq!(loss.value(), 5e3); // (1e4 + 0)/2: confidently wrong, then right
    assert_eq!(loss.backward().wrt(big).data(), &[-0.5, 0.0]);
}

#[test]
fn mse_value_and_target_gradient() {
    let tape = Tape::<f64>::new();
    let p = tape.tensor_from_vec(vec![1.0, -1.0, 3.0], &[3, 1]).unwrap();
    let y = tape.tensor_from_vec(vec![0.0, 1.0, 3.0], &[3, 1]).unwrap();
    let loss = mse_loss(p, y).unwrap();
    assert!((loss.value() - 5.0 / 3.0).abs() < 1e-15); // (1 + 4 + 0)/3
    let g = loss.backward();
    // ∂/∂p = 2(p − y)/n, ∂/∂y = −2(p − y)/n.
    assert_close(g.wrt(p).data(), &[2.0 / 3.0, -4.0 / 3.0, 0.0], 1e-15);
    assert_close(g.wrt(y).data(), &[-2.0 / 3.0, 4.0 / 3.0, 0.0], 1e-15);
}

#[test]
fn label_out_of_range_names_label_row_and_classes() {
    let tape = Tape::<f64>::new();
    let x = tape.zeros(&[4, 10]);
    let err = softmax_cross_entropy(x, &[0, 1, 9, 12]).unwrap_err();
    assert_eq!(
        err,
        NnError::LabelOutOfRange {
            op: "softmax_cross_entropy",
            label: 12,
            row: 3,
            n_classes: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "softmax_cross_entropy: label 12 at row 3 is out of range for 10 classes"
    );
    let err = nll_loss(x, &[10, 0, 0, 0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "nll_loss: label 10 at row 0 is out of range for 10 classes"
    );
}

#[test]
fn batch_mismatch_and_rank_errors() {
    let tape = Tape::<f64>::new();
    let err = softmax_cross_entropy(tape.zeros(&[4, 3]), &[0, 1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "softmax_cross_entropy: 2 labels for a batch of 4 rows"
    );
    let err = softmax_cross_entropy(tape.zeros(&[4]), &[0, 1, 2, 0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "softmax_cross_entropy: expected a 2-D tensor [batch, classes], got shape [4]"
    );
    let err = nll_loss(tape.zeros(&[2, 3, 1]), &[0, 0]).unwrap_err();
    assert!(
        matches!(err, NnError::BadShape { op: "nll_loss", .. }),
        "{err}"
    );
    let err = softmax_cross_entropy(tape.zeros(&[0, 3]), &[]).unwrap_err();
    assert!(matches!(err, NnError::InvalidArgument { .. }), "{err}");
    let err = softmax_cross_entropy(tape.zeros(&[2, 0]), &[0, 0]).unwrap_err();
    assert!(matches!(err, NnError::BadShape { .. }), "{err}");
    let bad = CrossEntropy {
        label_smoothing: 1.5,
    };
    let err = softmax_cross_entropy_with(tape.zeros(&[1, 2]), &[0], &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "softmax_cross_entropy: label smoothing 1.5 is not in [0, 1]"
    );
    let err = mse_loss(tape.zeros(&[3]), tape.zeros(&[3, 1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "mse_loss: prediction and target shapes differ: [3] vs [3, 1]"
    );
    let err = bce_with_logits(tape.zeros(&[2]), tape.zeros(&[3])).unwrap_err();
    assert!(
        matches!(
            err,
            NnError::ShapeMismatch {
                op: "bce_with_logits",
                ..
            }
        ),
        "{err}"
    );
    assert!(mse_loss(tape.zeros(&[0]), tape.zeros(&[0])).is_err());
}
