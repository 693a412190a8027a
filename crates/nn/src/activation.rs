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
//! Each has a scalar form of the same name in [`scalar`], for `tape::Scalar` handles, computed
//! by the same rule.
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
use std::ops::{Add, Mul, Sub};

use tape::{Array, Element, Real, Scalar, Tensor};

pub mod scalar;

/// What the activations are written over: a tensor handle or a scalar handle. Each activation
/// is one generic rule (`silu_rule`, ...), which the tensor function here and the scalar
/// function of [`scalar`] both call, so the two forms cannot drift apart. `Real` gives the
/// table's ops (`sigmoid`, `exp`, `ln_1p`, ...); this adds the few things the two kinds of
/// handle do differently.
pub(crate) trait Handle<T: Element>:
    Real + Add<T, Output = Self> + Sub<T, Output = Self> + Mul<T, Output = Self>
{
    /// A constant computed elementwise from the value: a piecewise-constant mask, through
    /// which no gradient flows (its derivative is zero wherever it exists).
    fn mask(self, f: impl Fn(T) -> T) -> Self;
    /// `min(x, 0)`, ties going to `x`.
    fn min_zero(self) -> Self;
    /// The complementary error function (a custom primitive, [`crate::special::erfc`]).
    fn erfc(self) -> Self;
}

impl<'t, T: Element> Handle<T> for Tensor<'t, T> {
    fn mask(self, f: impl Fn(T) -> T) -> Self {
        self.tape().tensor_constant(self.with_value(|a| a.map(f)))
    }
    fn min_zero(self) -> Self {
        // A 0-d zero, broadcast: no array of the input's size is made for it.
        self.minimum(self.tape().tensor_constant(Array::scalar(T::zero())))
    }
    fn erfc(self) -> Self {
        crate::special::erfc(self)
    }
}

impl<'t, T: Element> Handle<T> for Scalar<'t, T> {
    fn mask(self, f: impl Fn(T) -> T) -> Self {
        Scalar::constant(f(self.value()))
    }
    fn min_zero(self) -> Self {
        self.min(Scalar::constant(T::zero()))
    }
    fn erfc(self) -> Self {
        match self.tape() {
            // A constant stays one: nothing to differentiate.
            None => Scalar::constant(T::cast_from(libm::erfc(self.value().as_f64()))),
            // Through the tensor primitive, as a 0-d tensor: the same value and derivative
            // rule as the tensor form, and its recorded backward, so it can be
            // differentiated twice (a `Scalar::custom` node could not).
            Some(_) => crate::special::erfc(self.to_tensor()).item(),
        }
    }
}

pub(crate) fn leaky_relu_rule<T: Element, H: Handle<T>>(x: H, slope: f64) -> H {
    let slope = T::cast_from(slope);
    x * x.mask(|v| if v > T::zero() { T::one() } else { slope })
}

pub(crate) fn elu_rule<T: Element, H: Handle<T>>(x: H, alpha: f64) -> H {
    x.relu() + (x.min_zero().exp() - T::one()) * T::cast_from(alpha)
}

pub(crate) fn gelu_rule<T: Element, H: Handle<T>>(x: H) -> H {
    let cdf = (x * T::cast_from(-FRAC_1_SQRT_2)).erfc() * T::cast_from(0.5);
    x * cdf
}

pub(crate) fn gelu_tanh_rule<T: Element, H: Handle<T>>(x: H) -> H {
    let two_c = T::cast_from(2.0 * (2.0 / PI).sqrt());
    let u2 = (x + x.powi(3) * T::cast_from(0.044715)) * two_c;
    x * u2.sigmoid()
}

pub(crate) fn softplus_rule<T: Element, H: Handle<T>>(x: H) -> H {
    let pos = x.mask(|v| if v >= T::zero() { T::one() } else { T::zero() });
    let neg_sign = x.mask(|v| if v >= T::zero() { -T::one() } else { T::one() });
    x * pos + (x * neg_sign).exp().ln_1p()
}

pub(crate) fn silu_rule<T: Element, H: Handle<T>>(x: H) -> H {
    x * x.sigmoid()
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
    leaky_relu_rule(x, slope)
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
    elu_rule(x, alpha)
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
    gelu_rule(x)
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
    gelu_tanh_rule(x)
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
    softplus_rule(x)
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
    silu_rule(x)
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

    /// Applies the activation to a scalar handle: the functions of [`scalar`], the same rules
    /// as [`Activation::apply`].
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(-1.0);
    /// let y = nn::Activation::LeakyRelu(0.5).apply_scalar(x);
    /// assert_eq!((y.value(), y.backward().wrt(x)), (-0.5, 0.5));
    /// ```
    #[track_caller]
    pub fn apply_scalar<'t, T: Element>(self, x: Scalar<'t, T>) -> Scalar<'t, T> {
        match self {
            Activation::Identity => x,
            Activation::Relu => scalar::relu(x),
            Activation::LeakyRelu(slope) => scalar::leaky_relu(x, slope),
            Activation::Elu(alpha) => scalar::elu(x, alpha),
            Activation::Sigmoid => scalar::sigmoid(x),
            Activation::Tanh => scalar::tanh(x),
            Activation::Gelu => scalar::gelu(x),
            Activation::GeluTanh => scalar::gelu_tanh(x),
            Activation::Softplus => scalar::softplus(x),
            Activation::Silu => scalar::silu(x),
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
