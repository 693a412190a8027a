//! Helpers shared by the tests: every gradient goes through the public `check` module.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use tape::check::{
    CheckConfig, Report, gradcheck, gradcheck_scalar, gradcheck_scalars, strategies,
};
use tape::{Array, Element, Scalar, Shape, Tape, Tensor};

/// Checks the full Jacobian of a tensor function, failing the test with the mismatch table.
#[track_caller]
pub fn assert_grad<T: Element, F>(f: F, inputs: &[Array<T>], config: &CheckConfig) -> Report
where
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Tensor<'t, T>,
{
    match gradcheck(f, inputs, config) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// Checks the gradient of a scalar-valued tensor function.
#[track_caller]
pub fn assert_grad_scalar<T: Element, F>(f: F, inputs: &[Array<T>], config: &CheckConfig) -> Report
where
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Scalar<'t, T>,
{
    match gradcheck_scalar(f, inputs, config) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// Checks the gradient of a scalar function of scalars.
#[track_caller]
pub fn assert_grad_scalars<T: Element, F>(f: F, inputs: &[T], config: &CheckConfig) -> Report
where
    F: for<'t> Fn(&'t Tape<T>, &[Scalar<'t, T>]) -> Scalar<'t, T>,
{
    match gradcheck_scalars(f, inputs, config) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// Asserts `|actual − expected| ≤ tol`, naming what was compared.
#[track_caller]
pub fn assert_close(what: &str, actual: f64, expected: f64, tol: f64) {
    assert!(
        (actual - expected).abs() <= tol,
        "{what}: got {actual}, expected {expected} (tolerance {tol})"
    );
}

/// Asserts that an array has the given shape and, element by element, the expected values.
#[track_caller]
pub fn assert_array_close<T: Element>(
    what: &str,
    actual: &Array<T>,
    shape: &[usize],
    expected: &[f64],
    tol: f64,
) {
    assert_eq!(actual.shape(), shape, "{what}: shape");
    assert_eq!(actual.len(), expected.len(), "{what}: element count");
    for (i, (a, e)) in actual.data().iter().zip(expected).enumerate() {
        assert_close(&format!("{what}[{i}]"), a.as_f64(), *e, tol);
    }
}

/// Runs `f`, which must panic, and returns its panic message.
#[track_caller]
pub fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(payload) => {
            if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else {
                panic!("the panic payload is not a string")
            }
        }
    }
}

/// Numbers of magnitude in `[margin, max)` with either sign: away from a kink or pole at 0.
pub fn away_from_zero(margin: f64, max: f64) -> impl Strategy<Value = f64> {
    (margin..max, any::<bool>()).prop_map(|(m, neg)| if neg { -m } else { m })
}

/// A shape of rank `1..=max_rank` (dims `1..=max_dim`) and one of its axes.
pub fn shape_and_axis(max_rank: usize, max_dim: usize) -> impl Strategy<Value = (Shape, usize)> {
    proptest::collection::vec(1..=max_dim, 1..=max_rank).prop_flat_map(|dims| {
        let rank = dims.len();
        (Just(Shape::from_vec(dims)), 0..rank)
    })
}

/// Arrays of a random shape whose elements are pairwise at least 0.25 apart, in shuffled
/// order: for max/min, where a near-tie within the finite-difference step would make the
/// numeric derivative meaningless.
pub fn distinct_array(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Array<f64>> {
    strategies::shape(max_rank, max_dim).prop_flat_map(|shape| {
        let n: usize = shape.iter().product();
        let order = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
        let jitter = proptest::collection::vec(0.0..0.25f64, n);
        (Just(shape), order, jitter).prop_map(move |(shape, order, jitter)| {
            // Rank k sits at 0.5·k, moved up by less than 0.25: neighbours stay 0.25 apart.
            let half = n as f64 / 4.0;
            let data = order
                .iter()
                .zip(&jitter)
                .map(|(&k, &j)| 0.5 * k as f64 + j - half)
                .collect();
            Array::from_vec(data, &shape).expect("shape and data agree")
        })
    })
}
