//! Helpers shared by the tests: every gradient goes through the public `check` module.

use tape::check::{CheckConfig, Report, gradcheck, gradcheck_scalar};
use tape::{Array, Element, Scalar, Tape, Tensor};

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
