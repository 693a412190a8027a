//! Activation functions, elementwise on a [`Tensor`], and the [`Activation`] enum that names
//! them for [`Mlp`](crate::Mlp).
//!
//! They are free functions (`activation::gelu(x)`), as in `torch.nn.functional`, rather than
//! methods of an extension trait: `Tensor` already has inherent `tanh`, `sigmoid` and `relu`,
//! and a trait adding more methods beside them would split one family over two namespaces (and
//! need an import to see half of it). A free function can also be passed where a
//! `fn(Tensor) -> Tensor` is expected.
//!
//! Every function is built from tape ops (the error function excepted, see [`crate::special`]),
//! so its gradient comes from the tape and needs no rule of its own. Each is finite for every
//! finite input: no intermediate overflows, as the tests check at `±1e4` (`f64`) and `±100`
//! (`f32`).
//!
//! Where a function has a kink, the derivative there follows PyTorch: `relu'(0) = 0`,
//! `leaky_relu'(0) = slope`, `elu'(0) = alpha`.
//!
//! ```
//! use nn::activation::{gelu, silu};
//! let tape = tape::Tape::<f64>::new();
//! let x = tape.tensor_from_vec(vec![-1e4, 0.0, 1e4], &[3]).unwrap();
//! assert_eq!(gelu(x).to_vec(), vec![0.0, 0.0, 1e4]);
//! assert_eq!(silu(x).to_vec(), vec![0.0, 0.0, 1e4]);
//! ```

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use tape::{Array, Element, Tensor};

use crate::special::erfc;

/// A constant on `x`'s tape computed elementwise from `x`'s value: a piecewise-constant mask,
/// through which no gradient flows (its derivative is zero wherever it exists).
fn mask<'t, T: Element>(x: Tensor<'t, T>, f: impl Fn(T) -> T) -> Tensor<'t, T> {
    x.tape().tensor_constant(x.with_value(|a| a.map(f)))
}

/// Logistic sigmoid `σ(x) = 1/(1 + e⁻ˣ)`; derivative `σ(1 − σ)`. The tape's primitive.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.zeros(&[1]);
/// assert_eq!(nn::activation::sigmoid(x).to_vec(), vec![0.5]);
/// ```
#[track_caller]
pub fn sigmoid<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    x.sigmoid()
}

/// Hyperbolic tangent; derivative `1 − tanh²`. The tape's primitive.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// assert_eq!(nn::activation::tanh(tape.zeros(&[1])).to_vec(), vec![0.0]);
/// ```
#[track_caller]
pub fn tanh<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    x.tanh()
}

/// `max(x, 0)`; derivative 1 for `x > 0`, 0 for `x ≤ 0`. The tape's primitive.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![-2.0, 3.0], &[2]).unwrap();
/// assert_eq!(nn::activation::relu(x).to_vec(), vec![0.0, 3.0]);
/// ```
#[track_caller]
pub fn relu<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    x.relu()
}

/// Leaky ReLU: `x` for `x > 0`, `slope·x` otherwise; derivative 1 or `slope` (`slope` at 0).
///
/// Computed as `x · m` with the constant mask `m = 1 if x > 0 else slope`, so any slope works
/// (also one above 1, where `max(x, slope·x)` would be wrong).
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![-2.0, 0.0, 3.0], &[3]).unwrap();
/// let y = nn::activation::leaky_relu(x, 0.1);
/// assert_eq!(y.to_vec(), vec![-0.2, 0.0, 3.0]);
/// assert_eq!(y.sum().backward().wrt(x).data(), &[0.1, 0.1, 1.0]);
/// ```
#[track_caller]
pub fn leaky_relu<'t, T: Element>(x: Tensor<'t, T>, slope: f64) -> Tensor<'t, T> {
    let slope = T::cast_from(slope);
    x * mask(x, |v| if v > T::zero() { T::one() } else { slope })
}

/// ELU: `x` for `x > 0`, `alpha·(eˣ − 1)` otherwise; derivative 1 or `alpha·eˣ` (`alpha` at 0).
///
/// Computed as `relu(x) + alpha·(e^min(x, 0) − 1)`: the exponential only ever sees
/// non-positive arguments, so it cannot overflow. At `x = 0` `relu` contributes 0 and `min`
/// (whose ties go to `x`) contributes `alpha`, PyTorch's convention.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![-1e4, 0.0, 2.0], &[3]).unwrap();
/// let y = nn::activation::elu(x, 1.0);
/// assert_eq!(y.to_vec(), vec![-1.0, 0.0, 2.0]);
/// assert_eq!(y.sum().backward().wrt(x).data(), &[0.0, 1.0, 1.0]);
/// ```
#[track_caller]
pub fn elu<'t, T: Element>(x: Tensor<'t, T>, alpha: f64) -> Tensor<'t, T> {
    let zero = x.tape().tensor_constant(Array::scalar(T::zero()));
    x.relu() + (x.minimum(zero).exp() - T::one()) * T::cast_from(alpha)
}

/// GELU, exact: `x·Φ(x)` with `Φ` the standard normal CDF; derivative `Φ(x) + x·φ(x)`.
/// PyTorch's default (`approximate='none'`).
///
/// `Φ(x) = erfc(−x/√2)/2` is computed with the complementary error function, which stays
/// accurate in the left tail where `(1 + erf(x/√2))/2` would cancel to 0.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![0.0, 1.0], &[2]).unwrap();
/// let y = nn::activation::gelu(x).to_vec();
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 0.841_344_746_068_542_9).abs() < 1e-15); // Φ(1), from tables
/// ```
#[track_caller]
pub fn gelu<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    let cdf = erfc(x * T::cast_from(-FRAC_1_SQRT_2)) * T::cast_from(0.5);
    x * cdf
}

/// GELU, tanh approximation: `x/2·(1 + tanh(√(2/π)·(x + 0.044715x³)))`, PyTorch's
/// `approximate='tanh'`.
///
/// Since `(1 + tanh u)/2 = σ(2u)`, it is computed as `x·σ(2u)`: the sigmoid is exact in the
/// left tail, where `1 + tanh u` cancels.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![0.0, 1.0], &[2]).unwrap();
/// let y = nn::activation::gelu_tanh(x).to_vec();
/// // 0.5·(1 + tanh(√(2/π)·1.044715))
/// let expected = 0.5 * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * 1.044715).tanh());
/// assert!((y[1] - expected).abs() < 1e-15);
/// ```
#[track_caller]
pub fn gelu_tanh<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    let two_c = T::cast_from(2.0 * (2.0 / PI).sqrt());
    let u2 = (x + x.powi(3) * T::cast_from(0.044715)) * two_c;
    x * u2.sigmoid()
}

/// Softplus `ln(1 + eˣ)`; derivative `σ(x)`.
///
/// Computed in the stable form `max(x, 0) + ln(1 + e^(−|x|))`: the exponential never
/// overflows. `max(x, 0)` and `|x|` are written as `x·p` and `x·s` with constant masks
/// `p = [x ≥ 0]`, `s = ±1` chosen from the same side at 0, so the two kinks cancel and
/// the gradient at 0 is the true `σ(0) = 1/2` (separate `relu` and `abs`, with their own
/// conventions at 0, would give 0 there). `ln(1 + t)` for `t = e^(−|x|)` is taken by `ln_1p`,
/// so it keeps its relative accuracy when `t` is tiny: for `x` far below 0 the value is
/// `eˣ` to the last bits, not 0 (with `(1 + t).ln()` it rounded to 0 from `x ≈ −37` in `f64`).
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![-1e4, -40.0, 0.0, 1e4], &[4]).unwrap();
/// let y = nn::activation::softplus(x).to_vec();
/// assert_eq!([y[0], y[2], y[3]], [0.0, 2f64.ln(), 1e4]);
/// assert!((y[1] - (-40f64).exp()).abs() <= 1e-15 * (-40f64).exp()); // 4.25e-18, not 0
/// let g = nn::activation::softplus(x).sum().backward();
/// assert_eq!(g.wrt(x).data()[2..], [0.5, 1.0]);
/// ```
#[track_caller]
pub fn softplus<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    let pos = mask(x, |v| if v >= T::zero() { T::one() } else { T::zero() });
    let neg_sign = mask(x, |v| if v >= T::zero() { -T::one() } else { T::one() });
    x * pos + (x * neg_sign).exp().ln_1p()
}

/// SiLU (swish) `x·σ(x)`; derivative `σ(x)·(1 + x·(1 − σ(x)))`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![0.0, 2.0], &[2]).unwrap();
/// let y = nn::activation::silu(x).to_vec();
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 2.0 / (1.0 + (-2f64).exp())).abs() < 1e-15);
/// ```
#[track_caller]
pub fn silu<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    x * x.sigmoid()
}

/// An activation function by name: what [`Mlp`](crate::Mlp) applies between its layers.
///
/// ```
/// use nn::Activation;
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![-1.0, 2.0], &[2]).unwrap();
/// assert_eq!(Activation::Relu.apply(x).to_vec(), vec![0.0, 2.0]);
/// assert_eq!(Activation::LeakyRelu(0.5).apply(x).to_vec(), vec![-0.5, 2.0]);
/// assert_eq!(Activation::Identity.apply(x).to_vec(), vec![-1.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Activation {
    /// No activation: `x`.
    Identity,
    /// [`relu`].
    Relu,
    /// [`leaky_relu`] with the given slope for negative inputs.
    LeakyRelu(f64),
    /// [`elu`] with the given `alpha`.
    Elu(f64),
    /// [`sigmoid`].
    Sigmoid,
    /// [`tanh`].
    Tanh,
    /// [`gelu`] (exact, with the error function).
    Gelu,
    /// [`gelu_tanh`] (the tanh approximation).
    GeluTanh,
    /// [`softplus`].
    Softplus,
    /// [`silu`].
    Silu,
}

impl Activation {
    /// Applies the activation elementwise.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.zeros(&[2]);
    /// assert_eq!(nn::Activation::Sigmoid.apply(x).to_vec(), vec![0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn apply<'t, T: Element>(self, x: Tensor<'t, T>) -> Tensor<'t, T> {
        match self {
            Activation::Identity => x,
            Activation::Relu => relu(x),
            Activation::LeakyRelu(slope) => leaky_relu(x, slope),
            Activation::Elu(alpha) => elu(x, alpha),
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => tanh(x),
            Activation::Gelu => gelu(x),
            Activation::GeluTanh => gelu_tanh(x),
            Activation::Softplus => softplus(x),
            Activation::Silu => silu(x),
        }
    }

    /// Whether the activation is ReLU-like (zero or small for negative inputs, identity-like
    /// for positive ones), for which He initialisation keeps activations at a steady scale;
    /// the others (tanh, sigmoid, identity) suit Xavier initialisation.
    ///
    /// ```
    /// assert!(nn::Activation::Gelu.is_relu_like());
    /// assert!(!nn::Activation::Tanh.is_relu_like());
    /// ```
    pub fn is_relu_like(self) -> bool {
        matches!(
            self,
            Activation::Relu
                | Activation::LeakyRelu(_)
                | Activation::Elu(_)
                | Activation::Gelu
                | Activation::GeluTanh
                | Activation::Softplus
                | Activation::Silu
        )
    }
}
