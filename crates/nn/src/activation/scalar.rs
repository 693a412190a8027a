//! The activations on scalar handles ([`tape::Scalar`]): each computed by the same rule as
//! the tensor function of the same name in [`crate::activation`], with the same conventions
//! at kinks, and differentiable any number of times.
//!
//! ```
//! use nn::activation::scalar::{gelu, softplus};
//! let tape = tape::Tape::<f64>::new();
//! let x = tape.var(0.0);
//! let y = softplus(x) + gelu(x);
//! // softplus'(0) = σ(0) = 1/2; gelu'(0) = Φ(0) + 0·φ(0) = 1/2.
//! assert_eq!(y.backward().wrt(x), 1.0);
//! ```

use tape::{Element, Scalar};

use super::{elu_rule, gelu_rule, gelu_tanh_rule, leaky_relu_rule, silu_rule, softplus_rule};

/// Logistic sigmoid `σ(x) = 1/(1 + e⁻ˣ)`; derivative `σ(1 − σ)`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = nn::activation::scalar::sigmoid(x);
/// assert_eq!((y.value(), y.backward().wrt(x)), (0.5, 0.25));
/// ```
#[track_caller]
pub fn sigmoid<'t, T: Element>(x: Scalar<'t, T>) -> Scalar<'t, T> {
    x.sigmoid()
}

/// Hyperbolic tangent; derivative `1 − tanh²`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = nn::activation::scalar::tanh(x);
/// assert_eq!((y.value(), y.backward().wrt(x)), (0.0, 1.0));
/// ```
#[track_caller]
pub fn tanh<'t, T: Element>(x: Scalar<'t, T>) -> Scalar<'t, T> {
    x.tanh()
}

/// `max(x, 0)`; derivative 1 for `x > 0`, 0 for `x ≤ 0`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = nn::activation::scalar::relu(x);
/// assert_eq!((y.value(), y.backward().wrt(x)), (0.0, 0.0)); // 0 at the kink, as PyTorch
/// ```
#[track_caller]
pub fn relu<'t, T: Element>(x: Scalar<'t, T>) -> Scalar<'t, T> {
    x.relu()
}

/// Leaky ReLU: `x` for `x > 0`, `slope·x` otherwise; derivative 1 or `slope` (`slope` at 0).
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(-2.0);
/// let y = nn::activation::scalar::leaky_relu(x, 0.1);
/// assert_eq!((y.value(), y.backward().wrt(x)), (-0.2, 0.1));
/// ```
#[track_caller]
pub fn leaky_relu<'t, T: Element>(x: Scalar<'t, T>, slope: f64) -> Scalar<'t, T> {
    leaky_relu_rule(x, slope)
}

/// ELU: `x` for `x > 0`, `alpha·(eˣ − 1)` otherwise; derivative 1 or `alpha·eˣ` (`alpha` at 0).
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = nn::activation::scalar::elu(x, 2.0);
/// assert_eq!((y.value(), y.backward().wrt(x)), (0.0, 2.0));
/// ```
#[track_caller]
pub fn elu<'t, T: Element>(x: Scalar<'t, T>, alpha: f64) -> Scalar<'t, T> {
    elu_rule(x, alpha)
}

/// GELU, exact: `x·Φ(x)`; derivative `Φ(x) + x·φ(x)`. The error function is the tensor
/// primitive, applied to the scalar as a 0-d tensor.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(1.0);
/// let y = nn::activation::scalar::gelu(x);
/// assert!((y.value() - 0.841_344_746_068_542_9).abs() < 1e-15); // Φ(1), from tables
/// // Φ(1) + φ(1) = 0.8413447 + e^(−1/2)/√(2π) = 0.8413447 + 0.2419707
/// assert!((y.backward().wrt(x) - 1.083_315_470_587_686_3).abs() < 1e-12);
/// ```
#[track_caller]
pub fn gelu<'t, T: Element>(x: Scalar<'t, T>) -> Scalar<'t, T> {
    gelu_rule(x)
}

/// GELU, tanh approximation: `x/2·(1 + tanh(√(2/π)·(x + 0.044715x³)))`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let y = nn::activation::scalar::gelu_tanh(tape.var(1.0));
/// let expected = 0.5 * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * 1.044715).tanh());
/// assert!((y.value() - expected).abs() < 1e-15);
/// ```
#[track_caller]
pub fn gelu_tanh<'t, T: Element>(x: Scalar<'t, T>) -> Scalar<'t, T> {
    gelu_tanh_rule(x)
}

/// Softplus `ln(1 + eˣ)`, stable for any `x`; derivative `σ(x)`, `1/2` at 0.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(1e4);
/// let y = nn::activation::scalar::softplus(x);
/// assert_eq!((y.value(), y.backward().wrt(x)), (1e4, 1.0));
/// ```
#[track_caller]
pub fn softplus<'t, T: Element>(x: Scalar<'t, T>) -> Scalar<'t, T> {
    softplus_rule(x)
}

/// SiLU (swish) `x·σ(x)`; derivative `σ(x)·(1 + x·(1 − σ(x)))`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = nn::activation::scalar::silu(x);
/// assert_eq!((y.value(), y.backward().wrt(x)), (0.0, 0.5));
/// ```
#[track_caller]
pub fn silu<'t, T: Element>(x: Scalar<'t, T>) -> Scalar<'t, T> {
    silu_rule(x)
}
