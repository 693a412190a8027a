//! softmax and log_softmax: Jacobians against finite differences, values against plain Rust,
//! stability for huge logits.

use nn::{NnError, log_softmax, softmax, try_log_softmax, try_softmax};
use proptest::prelude::*;
use tape::check::strategies;
use tape::{Array, Tape};

use crate::common::{assert_close, assert_grad};

/// An array of rank 1..=3 and an axis of it.
fn array_and_axis() -> impl Strategy<Value = (Array<f64>, usize)> {
    strategies::shape(3, 4)
        .prop_filter("rank ≥ 1", |s| !s.is_empty())
        .prop_flat_map(|s| (strategies::array::<f64>(&s, -5.0, 5.0), 0..s.len()))
}

/// Softmax of the lanes of a row-major `[rows, cols]` matrix along axis 1, naively in plain
/// Rust (the logits here are small, so no max subtraction is needed).
fn softmax_rows(data: &[f64], cols: usize) -> Vec<f64> {
    data.chunks(cols)
        .flat_map(|row| {
            let s: f64 = row.iter().map(|v| v.exp()).sum();
            row.iter().map(move |v| v.exp() / s).collect::<Vec<_>>()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn softmax_gradcheck((x, axis) in array_and_axis()) {
        assert_grad(|_, t| softmax(t[0], axis), std::slice::from_ref(&x));
    }

    #[test]
    fn log_softmax_gradcheck((x, axis) in array_and_axis()) {
        assert_grad(|_, t| log_softmax(t[0], axis), std::slice::from_ref(&x));
    }

    #[test]
    fn lanes_sum_to_one((x, axis) in array_and_axis()) {
        let tape = Tape::<f64>::new();
        let y = softmax(tape.tensor(x.clone()), axis);
        let sums = y.sum_axis(axis, false).to_vec();
        prop_assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-14), "sums {:?}", sums);
        let ly = log_softmax(tape.tensor(x), axis);
        let lse = ly.exp().sum_axis(axis, false).to_vec();
        prop_assert!(lse.iter().all(|s| (s - 1.0).abs() < 1e-14), "sums {:?}", lse);
    }
}

#[test]
fn values_match_plain_rust_along_each_axis() {
    let data: Vec<f64> = (0..12).map(|i| ((i * 7) % 5) as f64 * 0.6 - 1.0).collect();
    let tape = Tape::<f64>::new();
    let x = tape.tensor_from_vec(data.clone(), &[3, 4]).unwrap();
    assert_close(&softmax(x, 1).to_vec(), &softmax_rows(&data, 4), 1e-15);
    // Along axis 0: the same computation on the transpose.
    let xt: Vec<f64> = (0..12).map(|k| data[(k % 3) * 4 + k / 3]).collect();
    let expected_t = softmax_rows(&xt, 3);
    let got = softmax(x, 0).to_vec();
    let got_t: Vec<f64> = (0..12).map(|k| got[(k % 3) * 4 + k / 3]).collect();
    assert_close(&got_t, &expected_t, 1e-15);
    let log_expected: Vec<f64> = softmax_rows(&data, 4).iter().map(|p| p.ln()).collect();
    assert_close(&log_softmax(x, 1).to_vec(), &log_expected, 1e-14);
}

#[test]
fn finite_for_huge_logits() {
    // Shifting by the max makes softmax(x + c) = softmax(x) exactly computable for any c.
    let tape = Tape::<f64>::new();
    let x = tape
        .tensor_from_vec(
            vec![1e4, 1e4 - 1.0, -1e4, -1e4, -1e4 + 2f64.ln(), 0.0],
            &[2, 3],
        )
        .unwrap();
    let y = softmax(x, 1);
    let got = y.to_vec();
    assert!(got.iter().all(|v| v.is_finite()), "{got:?}");
    // Row 0 is softmax([0, −1, −2e4]); row 1 is softmax([−1e4, −1e4 + ln 2, 0]) = [0, 0, 1].
    assert_close(&got[..3], &softmax_rows(&[0.0, -1.0, -2e4], 3), 1e-15);
    assert_close(&got[3..], &[0.0, 0.0, 1.0], 1e-15);
    let g = (y * y).sum().backward();
    assert!(g.wrt(x).data().iter().all(|v| v.is_finite()));
    let ly = log_softmax(x, 1).to_vec();
    assert!(ly.iter().all(|v| v.is_finite()), "{ly:?}");
    assert_close(&ly[3..], &[-1e4, -1e4 + 2f64.ln(), 0.0], 1e-9);
}

#[test]
fn finite_for_huge_logits_f32() {
    let tape = Tape::<f32>::new();
    let x = tape
        .tensor_from_vec(vec![100.0, -100.0, 0.0, 1e4], &[1, 4])
        .unwrap();
    let y = log_softmax(x, 1);
    assert!(y.to_vec().iter().all(|v| v.is_finite()));
    let g = y.sum().backward();
    assert!(g.wrt(x).data().iter().all(|v| v.is_finite()));
}

#[test]
fn log_softmax_lane_sum_gradient() {
    // ∂/∂xⱼ Σᵢ log_softmax(x)ᵢ = Σᵢ (δᵢⱼ − pⱼ) = 1 − n·pⱼ, with p = softmax(x).
    let tape = Tape::<f64>::new();
    let x = tape.tensor_from_vec(vec![0.5, -1.0, 2.0], &[3]).unwrap();
    let g = log_softmax(x, 0).sum().backward();
    let p = softmax_rows(&[0.5, -1.0, 2.0], 3);
    let expected: Vec<f64> = p.iter().map(|p| 1.0 - 3.0 * p).collect();
    assert_close(g.wrt(x).data(), &expected, 1e-15);
}

#[test]
fn bad_axis_is_an_error() {
    let tape = Tape::<f64>::new();
    let x = tape.zeros(&[2, 3]);
    let err = try_softmax(x, 2).unwrap_err();
    assert!(matches!(
        err,
        NnError::InvalidArgument { op: "softmax", .. }
    ));
    assert_eq!(
        err.to_string(),
        "softmax: axis 2 is out of range for a tensor of shape [2, 3]"
    );
    assert!(try_log_softmax(x, 5).is_err());
    // An empty lane has no max.
    assert!(try_softmax(tape.zeros(&[2, 0]), 1).is_err());
}
