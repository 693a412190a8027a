//! What both backward walks — the first-order sweep (`sweep.rs`) and the recorded one
//! (`graph.rs`) — check and decide the same way, in one place:
//! - what a custom function's backward returned (one gradient per input, of its shape);
//! - with anomaly detection on, the first non-finite value recorded and the first non-finite
//!   gradient, named by op and source line;
//! - which nodes report a gradient (constants report zero).

use crate::tape::Inner;
use crate::{Element, Shape, TapeError};

/// With anomaly detection on, the first non-finite value recorded: a backward walk reports it
/// before it starts.
pub(crate) fn recorded_anomaly<T: Element>(inner: &Inner<T>) -> Result<(), TapeError> {
    match inner.anomaly().and_then(|a| a.first.clone()) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Checks the gradients a custom function's backward (`method`: `backward` or
/// `backward_on_tape`) returned against its inputs: as many, each of its input's shape.
///
/// # Errors
/// [`TapeError::Custom`] naming the function, the method and what is wrong.
pub(crate) fn custom_gradients(
    name: &str,
    method: &str,
    got: &[Shape],
    inputs: &[Shape],
) -> Result<(), TapeError> {
    let error = |message: String| TapeError::Custom {
        name: name.to_string(),
        message,
    };
    if got.len() != inputs.len() {
        return Err(error(format!(
            "{method} returned {} gradients for {} inputs",
            got.len(),
            inputs.len()
        )));
    }
    for (i, (g, x)) in got.iter().zip(inputs).enumerate() {
        if g != x {
            return Err(error(format!(
                "{method} returned a gradient of shape {:?} for input {i} of shape {:?}",
                &g[..],
                &x[..]
            )));
        }
    }
    Ok(())
}

/// With anomaly detection on: the error for the gradient node `idx` sends to its input
/// `input`, if that gradient has a non-finite element `bad` while the gradient arriving at the
/// node was finite — the op where a NaN or infinity first appears. What flows into a constant
/// is discarded, so it is no anomaly (`∂(xʸ)/∂y` is NaN for `x < 0` even when `y` is the
/// constant 2).
pub(crate) fn gradient_anomaly<T: Element>(
    inner: &Inner<T>,
    idx: usize,
    input: usize,
    incoming_finite: bool,
    bad: Option<f64>,
) -> Option<TapeError> {
    let bad = bad?;
    if !incoming_finite || !reports_gradient(inner, input) {
        return None;
    }
    Some(TapeError::NonFinite {
        what: "gradient",
        op: inner.op_name(idx),
        node: idx,
        location: inner
            .anomaly()
            .map_or_else(String::new, |a| a.location_of(idx)),
        value: bad,
    })
}

/// Whether node `j` reports the gradient that reached it. Constants (scalar or tensor) report
/// zero: nobody asked for their gradient, and a NaN flowing into one is harmless.
#[inline]
pub(crate) fn reports_gradient<T: Element>(inner: &Inner<T>, j: usize) -> bool {
    !inner.is_constant(j)
}
