//! Helpers shared by the tests: every gradient goes through the public `check` module.

use tape::check::{CheckConfig, Report, gradcheck, gradcheck_scalar};
use tape::{Array, Element, Scalar, Tape, Tensor};

/// Checks the full Jacobian of a tensor function, failing the test with the mismatch table.
#[track_caller]
pub fn assert_grad<T: Element, F>(f: F, inputs: &[Array<T>]) -> Report
where
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Tensor<'t, T>,
{
    gradcheck(f, inputs, &CheckConfig::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks the gradient of a scalar-valued tensor function.
#[track_caller]
pub fn assert_grad_scalar<T: Element, F>(f: F, inputs: &[Array<T>]) -> Report
where
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Scalar<'t, T>,
{
    gradcheck_scalar(f, inputs, &CheckConfig::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Asserts `|a − b| ≤ tol` elementwise, naming the first element that differs.
#[track_caller]
pub fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol,
            "element {i}: got {a}, expected {e} (difference {:e}, tolerance {tol:e})",
            (a - e).abs()
        );
    }
}

/// A 1-D f64 array.
pub fn vec1(v: &[f64]) -> Array<f64> {
    Array::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

/// The logistic sigmoid on a plain number, in the naive form (fine for moderate `x`).
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
