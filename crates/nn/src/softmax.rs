//! Softmax and log-softmax along an axis, max-subtracted so that no logit overflows `exp`.

use tape::{Element, Tensor};

use crate::NnError;

/// `x − max(x)` along `axis`, the max held constant.
///
/// `softmax(x − c) = softmax(x)` for any `c` constant along the axis, so subtracting the max
/// does not change the value; it only keeps every exponent at or below 0. Because the result
/// does not depend on `c`, the gradient that would flow through `c` is exactly zero: detaching
/// the max is exact, not an approximation, and spares the backward pass a useless path through
/// `max_axis`.
#[track_caller]
fn shifted<'t, T: Element>(
    op: &'static str,
    x: Tensor<'t, T>,
    axis: usize,
) -> Result<Tensor<'t, T>, NnError> {
    let ndim = x.ndim();
    if axis >= ndim {
        return Err(NnError::invalid(
            op,
            format!(
                "axis {axis} is out of range for a tensor of shape {:?}",
                x.shape().as_slice()
            ),
        ));
    }
    let max = x.try_max_axis(axis, true)?.detach();
    Ok(x - max)
}

/// Softmax along `axis`: `exp(xᵢ) / Σⱼ exp(xⱼ)`, every lane summing to 1. Jacobian
/// `∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ)`, which the tape derives from the ops.
///
/// The largest logit of each lane is subtracted first, so logits of any finite size work.
///
/// # Errors
/// [`NnError::InvalidArgument`] if `axis` is out of range; [`NnError::Tape`] if it has size 0.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![1e4, 1e4, 0.0, 0.0, 0.0, 0.0], &[2, 3]).unwrap();
/// let y = nn::try_softmax(x, 1).unwrap();
/// assert_eq!(y.to_vec(), vec![0.5, 0.5, 0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
/// assert!(nn::try_softmax(x, 2).is_err());
/// ```
#[track_caller]
pub fn try_softmax<'t, T: Element>(
    x: Tensor<'t, T>,
    axis: usize,
) -> Result<Tensor<'t, T>, NnError> {
    let e = shifted("softmax", x, axis)?.exp();
    Ok(e / e.sum_axis(axis, true))
}

/// [`try_softmax`], panicking on a bad axis.
///
/// # Panics
/// If `axis` is out of range or has size 0.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![0.0, 2f64.ln()], &[2]).unwrap();
/// let y = nn::softmax(x, 0).to_vec();
/// // e⁰ : e^ln2 = 1 : 2
/// assert!((y[0] - 1.0 / 3.0).abs() < 1e-15 && (y[1] - 2.0 / 3.0).abs() < 1e-15);
/// ```
#[track_caller]
pub fn softmax<'t, T: Element>(x: Tensor<'t, T>, axis: usize) -> Tensor<'t, T> {
    try_softmax(x, axis).unwrap_or_else(|e| panic!("{e}"))
}

/// Log-softmax along `axis`: `xᵢ − log Σⱼ exp(xⱼ)`, computed as `zᵢ − log Σⱼ exp(zⱼ)` with
/// `z = x − max(x)`, so it is finite for any finite logits (no `log(0)` from an underflowed
/// softmax). Gradient `gᵢ − softmax(x)ᵢ·Σⱼ gⱼ`, which the tape derives from the ops.
///
/// # Errors
/// [`NnError::InvalidArgument`] if `axis` is out of range; [`NnError::Tape`] if it has size 0.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![0.0, 1e4], &[1, 2]).unwrap();
/// let y = nn::try_log_softmax(x, 1).unwrap();
/// assert_eq!(y.to_vec(), vec![-1e4, 0.0]);
/// ```
#[track_caller]
pub fn try_log_softmax<'t, T: Element>(
    x: Tensor<'t, T>,
    axis: usize,
) -> Result<Tensor<'t, T>, NnError> {
    let z = shifted("log_softmax", x, axis)?;
    Ok(z - z.exp().sum_axis(axis, true).ln())
}

/// [`try_log_softmax`], panicking on a bad axis.
///
/// # Panics
/// If `axis` is out of range or has size 0.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.zeros(&[4]);
/// let y = nn::log_softmax(x, 0).to_vec();
/// assert!(y.iter().all(|v| (v + 4f64.ln()).abs() < 1e-15)); // log(1/4)
/// ```
#[track_caller]
pub fn log_softmax<'t, T: Element>(x: Tensor<'t, T>, axis: usize) -> Tensor<'t, T> {
    try_log_softmax(x, axis).unwrap_or_else(|e| panic!("{e}"))
}
