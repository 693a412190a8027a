//! Parameter initialisation from a seed: deterministic, so the same seed gives the same model
//! on every machine (the samples come from [`Array::rand_uniform`] and
//! [`Array::rand_normal`], which use ChaCha8).

use tape::{Array, Element};

/// How to fill a parameter array.
///
/// The fan-in and fan-out are read from the shape as PyTorch does (see [`fans`]); for a
/// `Linear` weight `[out, in]` they are `in` and `out`.
///
/// ```
/// use nn::Init;
/// let w: tape::Array<f64> = Init::HeUniform.array(&[64, 32], 7);
/// let bound = (6.0f64 / 32.0).sqrt();
/// assert!(w.data().iter().all(|v| v.abs() <= bound));
/// assert_eq!(w, Init::HeUniform.array(&[64, 32], 7)); // same seed, same weights
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Init {
    /// All zeros (biases).
    Zeros,
    /// Uniform in `[low, high)`.
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// Normal with the given mean and standard deviation.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
    /// Xavier/Glorot uniform: `U(−a, a)` with `a = √(6 / (fan_in + fan_out))`, which keeps the
    /// variance of activations and of gradients about equal across layers of tanh or linear
    /// units (Glorot & Bengio, 2010).
    XavierUniform,
    /// Xavier/Glorot normal: `N(0, σ²)` with `σ = √(2 / (fan_in + fan_out))`.
    XavierNormal,
    /// He/Kaiming uniform: `U(−a, a)` with `a = √(6 / fan_in)`, for ReLU-like units, which
    /// zero half their inputs (He et al., 2015).
    HeUniform,
    /// He/Kaiming normal: `N(0, σ²)` with `σ = √(2 / fan_in)`.
    HeNormal,
}

impl Init {
    /// An array of `shape` filled by this scheme, deterministic for `seed`.
    ///
    /// ```
    /// use nn::Init;
    /// let b: tape::Array<f32> = Init::Zeros.array(&[3], 0);
    /// assert_eq!(b.data(), &[0.0; 3]);
    /// let w: tape::Array<f64> = Init::Normal { mean: 1.0, std: 0.0 }.array(&[2], 5);
    /// assert_eq!(w.data(), &[1.0, 1.0]);
    /// ```
    pub fn array<T: Element>(&self, shape: &[usize], seed: u64) -> Array<T> {
        let (fan_in, fan_out) = fans(shape);
        if shape.contains(&0) {
            // No elements: nothing to draw, and the fans may be 0.
            return Array::zeros(shape);
        }
        let c = T::cast_from;
        let uniform = |a: f64| Array::rand_uniform(shape, c(-a), c(a), seed);
        let normal = |std: f64| Array::rand_normal(shape, T::zero(), c(std), seed);
        let (fan_in, fan_out) = (fan_in as f64, fan_out as f64);
        match *self {
            Init::Zeros => Array::zeros(shape),
            Init::Uniform { low, high } => Array::rand_uniform(shape, c(low), c(high), seed),
            Init::Normal { mean, std } => Array::rand_normal(shape, c(mean), c(std), seed),
            Init::XavierUniform => uniform((6.0 / (fan_in + fan_out)).sqrt()),
            Init::XavierNormal => normal((2.0 / (fan_in + fan_out)).sqrt()),
            Init::HeUniform => uniform((6.0 / fan_in).sqrt()),
            Init::HeNormal => normal((2.0 / fan_in).sqrt()),
        }
    }
}

/// `(fan_in, fan_out)` of a parameter shape, as PyTorch computes them: for `[out, in, k…]`,
/// `fan_in = in·Πk` and `fan_out = out·Πk`; a 1-D shape `[n]` has both equal to `n`, a 0-D
/// shape both equal to 1.
///
/// ```
/// assert_eq!(nn::init::fans(&[10, 784]), (784, 10));
/// assert_eq!(nn::init::fans(&[16, 3, 5, 5]), (75, 400));
/// assert_eq!(nn::init::fans(&[7]), (7, 7));
/// ```
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        &[n] => (n, n),
        &[out, n_in, ref kernel @ ..] => {
            let receptive: usize = kernel.iter().product();
            (n_in * receptive, out * receptive)
        }
    }
}

/// A seed for stream `stream` derived from `seed`: SplitMix64's output function applied to
/// `seed + (stream + 1)·γ` (γ the golden-ratio increment), so that nearby seeds and nearby
/// streams give unrelated results. [`Mlp`](crate::Mlp) gives layer `i` the seed
/// `derive_seed(seed, i)`.
///
/// ```
/// let a = nn::init::derive_seed(42, 0);
/// assert_eq!(a, nn::init::derive_seed(42, 0));
/// assert_ne!(a, nn::init::derive_seed(42, 1));
/// assert_ne!(a, nn::init::derive_seed(43, 0));
/// ```
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut z = seed.wrapping_add(stream.wrapping_add(1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
