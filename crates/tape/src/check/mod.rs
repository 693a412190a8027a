//! Gradient checking: compare analytic gradients with central finite differences.
//!
//! For every element of every input, the check perturbs it by `±eps`, re-evaluates the
//! function on a fresh tape, and compares `(f(x+eps) − f(x−eps)) / 2eps` with the gradient
//! backward computed. Tensor-valued functions are checked on their full Jacobian, one
//! vector-Jacobian product per output element; for large inputs,
//! [`gradcheck_directional`] compares random directional derivatives instead.
//!
//! An entry passes when `|analytic − numeric| ≤ abs_tol + rel_tol·|numeric|` (NumPy's
//! `allclose` rule). A failure is an `Err` listing every entry that failed, printed as a table:
//!
//! ```
//! use tape::check::{gradcheck_scalar, CheckConfig};
//! use tape::Array;
//! let x = Array::from_vec(vec![0.3, -1.2, 2.0], &[3]).unwrap();
//! // f(x) = Σ sin(x)·x: any function of tape ops.
//! let report = gradcheck_scalar(|_, xs| (xs[0].sin() * xs[0]).sum(), &[x], &CheckConfig::default()).unwrap();
//! assert_eq!(report.checked, 3);
//! ```
//!
//! Checks run in the input's element type. `f64` with the [`CheckConfig::default`]
//! tolerances is the reference; for `f32` use [`CheckConfig::f32`].

#[cfg(feature = "proptest")]
pub mod strategies;

use std::fmt;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::{Array, Element, Gradients, Scalar, Tape, Tensor};

/// Tolerances and step of a gradient check. Public fields; start from `Default` or
/// [`CheckConfig::f32`].
///
/// ```
/// let strict = tape::check::CheckConfig { rel_tol: 1e-9, ..Default::default() };
/// assert_eq!(strict.eps, 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckConfig {
    /// Finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub abs_tol: f64,
    /// Relative tolerance (relative to the numeric value).
    pub rel_tol: f64,
}

impl Default for CheckConfig {
    /// `eps = 1e-6`, `abs_tol = 1e-8`, `rel_tol = 1e-6`: right for smooth `f64` functions of
    /// values of order one, where central differences are accurate to about `1e-10`.
    fn default() -> Self {
        CheckConfig {
            eps: 1e-6,
            abs_tol: 1e-8,
            rel_tol: 1e-6,
        }
    }
}

impl CheckConfig {
    /// Settings for `f32`: `eps = 1e-2`, `abs_tol = 1e-2`, `rel_tol = 1e-2`. With 24-bit
    /// mantissas the difference quotient carries rounding error of about `1e-7 / eps`, so the
    /// step must be large and the tolerances loose.
    ///
    /// ```
    /// use tape::check::{gradcheck_scalar, CheckConfig};
    /// use tape::Array;
    /// let x = Array::from_vec(vec![0.5f32, -1.0, 2.0], &[3]).unwrap();
    /// let r = gradcheck_scalar(|_, x| x[0].tanh().sum(), &[x], &CheckConfig::f32()).unwrap();
    /// assert_eq!(r.checked, 3);
    /// ```
    pub fn f32() -> Self {
        CheckConfig {
            eps: 1e-2,
            abs_tol: 1e-2,
            rel_tol: 1e-2,
        }
    }

    fn accepts(&self, analytic: f64, numeric: f64) -> bool {
        // Written so that NaN on either side fails.
        (analytic - numeric).abs() <= self.abs_tol + self.rel_tol * numeric.abs()
    }
}

/// Which derivative an entry of a check compares.
///
/// ```
/// use tape::check::{gradcheck_scalar, CheckConfig, Entry};
/// use tape::Array;
/// // relu'(0) is 0 by convention; central differences across the kink give 1/2.
/// let x = Array::from_vec(vec![1.0, 0.0], &[2]).unwrap();
/// let err = gradcheck_scalar(|_, x| x[0].relu().sum(), &[x], &CheckConfig::default()).unwrap_err();
/// let entry = err.mismatches[0].entry;
/// assert_eq!(entry, Entry::Jacobian { input: 0, element: 1, output: 0 });
/// assert_eq!(entry.to_string(), "input 0, element 1, output 0");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `∂ output[output] / ∂ inputs[input][element]` (flat, row-major indices).
    Jacobian {
        /// Which input.
        input: usize,
        /// Flat index of the element within that input.
        element: usize,
        /// Flat index of the output element (0 for a scalar output).
        output: usize,
    },
    /// The `n`-th random directional derivative of [`gradcheck_directional`].
    Direction(usize),
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Jacobian {
                input,
                element,
                output,
            } => {
                write!(f, "input {input}, element {element}, output {output}")
            }
            Entry::Direction(n) => write!(f, "direction {n}"),
        }
    }
}

/// One derivative where analytic and numeric values disagree.
///
/// ```
/// use tape::check::{gradcheck_scalar, CheckConfig};
/// use tape::Array;
/// let x = Array::from_vec(vec![0.0], &[1]).unwrap();
/// let err = gradcheck_scalar(|_, x| x[0].relu().sum(), &[x], &CheckConfig::default()).unwrap_err();
/// let m = err.mismatches[0];
/// assert_eq!(m.analytic, 0.0); // relu'(0) = 0 by convention
/// assert!((m.numeric - 0.5).abs() < 1e-9); // (relu(eps) − relu(−eps)) / 2eps = eps / 2eps
/// assert_eq!(m.abs_err, (m.analytic - m.numeric).abs());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mismatch {
    /// Which derivative.
    pub entry: Entry,
    /// What backward computed.
    pub analytic: f64,
    /// What central differences computed.
    pub numeric: f64,
    /// `|analytic − numeric|`.
    pub abs_err: f64,
    /// `|analytic − numeric| / |numeric|` (infinite when `numeric` is 0).
    pub rel_err: f64,
}

impl Mismatch {
    fn new(entry: Entry, analytic: f64, numeric: f64) -> Self {
        let abs_err = (analytic - numeric).abs();
        Mismatch {
            entry,
            analytic,
            numeric,
            abs_err,
            rel_err: abs_err / numeric.abs(),
        }
    }
}

/// The summary of a passing check.
///
/// ```
/// use tape::check::{gradcheck_scalar, CheckConfig};
/// use tape::Array;
/// let x = Array::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let r = gradcheck_scalar(|_, x| (x[0] * x[0]).sum(), &[x], &CheckConfig::default()).unwrap();
/// assert_eq!(r.checked, 2); // two input elements, one output
/// // central differences are exact for a quadratic, up to rounding
/// assert!(r.max_abs_err < 1e-8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Number of derivatives compared.
    pub checked: usize,
    /// Largest `|analytic − numeric|` seen.
    pub max_abs_err: f64,
    /// Largest relative error seen among entries whose numeric value is not 0.
    pub max_rel_err: f64,
}

/// A failed check: every entry outside tolerance, in the order checked.
///
/// ```
/// use tape::check::{gradcheck_scalar, CheckConfig};
/// use tape::Array;
/// // relu at its kink: the analytic derivative is 0 by convention, the numeric one 1/2.
/// let x = Array::from_vec(vec![0.0, 1.0, 0.0], &[3]).unwrap();
/// let err = gradcheck_scalar(|_, x| x[0].relu().sum(), &[x], &CheckConfig::default()).unwrap_err();
/// assert_eq!(err.checked, 3);
/// assert_eq!(err.mismatches.len(), 2); // elements 0 and 2; element 1 is away from the kink
/// assert!(err.to_string().starts_with("gradient check failed: 2 of 3 derivatives differ"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckError {
    /// The entries that failed.
    pub mismatches: Vec<Mismatch>,
    /// Number of derivatives compared.
    pub checked: usize,
    /// The settings used.
    pub config: CheckConfig,
}

impl fmt::Display for GradCheckError {
    /// A table of the failing entries (the first 50 when there are more).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "gradient check failed: {} of {} derivatives differ (eps {:e}, abs_tol {:e}, rel_tol {:e})",
            self.mismatches.len(),
            self.checked,
            c.eps,
            c.abs_tol,
            c.rel_tol
        )?;
        writeln!(
            f,
            "  {:<38} {:>14} {:>14} {:>10} {:>10}",
            "derivative", "analytic", "numeric", "abs err", "rel err"
        )?;
        for m in self.mismatches.iter().take(50) {
            writeln!(
                f,
                "  {:<38} {:>14.7e} {:>14.7e} {:>10.2e} {:>10.2e}",
                m.entry.to_string(),
                m.analytic,
                m.numeric,
                m.abs_err,
                m.rel_err
            )?;
        }
        if self.mismatches.len() > 50 {
            writeln!(f, "  … and {} more", self.mismatches.len() - 50)?;
        }
        Ok(())
    }
}

impl std::error::Error for GradCheckError {}

/// Collects comparisons into a [`Report`] or a [`GradCheckError`].
struct Tally {
    config: CheckConfig,
    checked: usize,
    max_abs_err: f64,
    max_rel_err: f64,
    mismatches: Vec<Mismatch>,
}

impl Tally {
    fn new(config: &CheckConfig) -> Self {
        Tally {
            config: *config,
            checked: 0,
            max_abs_err: 0.0,
            max_rel_err: 0.0,
            mismatches: Vec::new(),
        }
    }

    fn compare(&mut self, entry: Entry, analytic: f64, numeric: f64) {
        self.checked += 1;
        let m = Mismatch::new(entry, analytic, numeric);
        if m.abs_err.is_finite() {
            self.max_abs_err = self.max_abs_err.max(m.abs_err);
            if numeric != 0.0 {
                self.max_rel_err = self.max_rel_err.max(m.rel_err);
            }
        }
        if !self.config.accepts(analytic, numeric) {
            self.mismatches.push(m);
        }
    }

    fn finish(self) -> Result<Report, GradCheckError> {
        if self.mismatches.is_empty() {
            Ok(Report {
                checked: self.checked,
                max_abs_err: self.max_abs_err,
                max_rel_err: self.max_rel_err,
            })
        } else {
            Err(GradCheckError {
                mismatches: self.mismatches,
                checked: self.checked,
                config: self.config,
            })
        }
    }
}

/// What a check needs from the function under test: its output values at given inputs, and
/// the vector-Jacobian product of a cotangent at given inputs (one gradient per input, flat).
trait Probe<T: Element> {
    fn eval(&self, inputs: &[Array<T>]) -> Vec<f64>;
    fn vjp(&self, inputs: &[Array<T>], cotangent: &[f64]) -> Vec<Vec<f64>>;
}

fn flat<T: Element>(a: &Array<T>) -> Vec<f64> {
    a.data().iter().map(|v| v.as_f64()).collect()
}

struct TensorFn<F>(F);

impl<T: Element, F> Probe<T> for TensorFn<F>
where
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Tensor<'t, T>,
{
    fn eval(&self, inputs: &[Array<T>]) -> Vec<f64> {
        let tape = Tape::new();
        let xs: Vec<_> = inputs.iter().map(|a| tape.tensor(a.clone())).collect();
        (self.0)(&tape, &xs).with_value(flat)
    }

    fn vjp(&self, inputs: &[Array<T>], cotangent: &[f64]) -> Vec<Vec<f64>> {
        let tape = Tape::new();
        let xs: Vec<_> = inputs.iter().map(|a| tape.tensor(a.clone())).collect();
        let y = (self.0)(&tape, &xs);
        let data = cotangent.iter().map(|&c| T::cast_from(c)).collect();
        let cot = Array::from_vec(data, &y.shape()).expect("internal error: cotangent shape");
        let grads = tape
            .vjp(y, &cot)
            .unwrap_or_else(|e| panic!("gradcheck: backward failed: {e}"));
        xs.iter().map(|&x| flat(grads.wrt(x))).collect()
    }
}

struct ScalarOutFn<F>(F);

impl<T: Element, F> Probe<T> for ScalarOutFn<F>
where
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Scalar<'t, T>,
{
    fn eval(&self, inputs: &[Array<T>]) -> Vec<f64> {
        let tape = Tape::new();
        let xs: Vec<_> = inputs.iter().map(|a| tape.tensor(a.clone())).collect();
        vec![(self.0)(&tape, &xs).value().as_f64()]
    }

    fn vjp(&self, inputs: &[Array<T>], cotangent: &[f64]) -> Vec<Vec<f64>> {
        let tape = Tape::new();
        let xs: Vec<_> = inputs.iter().map(|a| tape.tensor(a.clone())).collect();
        let y = (self.0)(&tape, &xs);
        let grads = y
            .try_backward()
            .unwrap_or_else(|e| panic!("gradcheck: backward failed: {e}"));
        xs.iter()
            .map(|&x| {
                flat(grads.wrt(x))
                    .into_iter()
                    .map(|g| g * cotangent[0])
                    .collect()
            })
            .collect()
    }
}

/// `f` itself, with the gradient that [`Scalar::backward_graph`] records instead of the
/// first-order one: what [`gradgradcheck`] compares first.
struct RecordedGradFn<F>(F);

impl<T: Element, F> Probe<T> for RecordedGradFn<F>
where
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Scalar<'t, T>,
{
    fn eval(&self, inputs: &[Array<T>]) -> Vec<f64> {
        ScalarOutFn(&self.0).eval(inputs)
    }

    fn vjp(&self, inputs: &[Array<T>], cotangent: &[f64]) -> Vec<Vec<f64>> {
        let tape = Tape::new();
        let xs: Vec<_> = inputs.iter().map(|a| tape.tensor(a.clone())).collect();
        let grads = (self.0)(&tape, &xs)
            .backward_graph()
            .unwrap_or_else(|e| panic!("gradgradcheck: the gradient cannot be recorded: {e}"));
        xs.iter()
            .map(|&x| {
                grads
                    .wrt(x)
                    .with_value(flat)
                    .into_iter()
                    .map(|g| g * cotangent[0])
                    .collect()
            })
            .collect()
    }
}

struct ScalarsFn<F>(F);

impl<T: Element, F> Probe<T> for ScalarsFn<F>
where
    F: for<'t> Fn(&'t Tape<T>, &[Scalar<'t, T>]) -> Scalar<'t, T>,
{
    fn eval(&self, inputs: &[Array<T>]) -> Vec<f64> {
        let tape = Tape::new();
        let xs: Vec<_> = inputs.iter().map(|a| tape.var(a.data()[0])).collect();
        vec![(self.0)(&tape, &xs).value().as_f64()]
    }

    fn vjp(&self, inputs: &[Array<T>], cotangent: &[f64]) -> Vec<Vec<f64>> {
        let tape = Tape::new();
        let xs: Vec<_> = inputs.iter().map(|a| tape.var(a.data()[0])).collect();
        let grads: Gradients<T> = (self.0)(&tape, &xs)
            .try_backward()
            .unwrap_or_else(|e| panic!("gradcheck: backward failed: {e}"));
        xs.iter()
            .map(|&x| vec![grads.wrt(x).as_f64() * cotangent[0]])
            .collect()
    }
}

/// Evaluates the probe with input `i`, element `j` moved by `±eps`; returns the outputs on
/// both sides and the step actually taken (after rounding to `T`).
fn perturbed<T: Element>(
    probe: &dyn Probe<T>,
    inputs: &[Array<T>],
    i: usize,
    j: usize,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, f64) {
    let mut moved = inputs.to_vec();
    let x = inputs[i].data()[j];
    let plus = T::cast_from(x.as_f64() + eps);
    let minus = T::cast_from(x.as_f64() - eps);
    moved[i].data_mut()[j] = plus;
    let f_plus = probe.eval(&moved);
    moved[i].data_mut()[j] = minus;
    let f_minus = probe.eval(&moved);
    (f_plus, f_minus, plus.as_f64() - minus.as_f64())
}

fn full_jacobian<T: Element>(
    probe: &dyn Probe<T>,
    inputs: &[Array<T>],
    config: &CheckConfig,
) -> Result<Report, GradCheckError> {
    let n_out = probe.eval(inputs).len();
    // Analytic Jacobian, one row (output element) per vector-Jacobian product.
    let rows: Vec<Vec<Vec<f64>>> = (0..n_out)
        .map(|o| {
            let mut e = vec![0.0; n_out];
            e[o] = 1.0;
            probe.vjp(inputs, &e)
        })
        .collect();
    let mut tally = Tally::new(config);
    for (i, x) in inputs.iter().enumerate() {
        // `j` indexes the Jacobian and the perturbation together; an iterator would hide that.
        #[allow(clippy::needless_range_loop)]
        for j in 0..x.len() {
            // Numeric Jacobian, one column (input element) per pair of evaluations.
            let (f_plus, f_minus, step) = perturbed(probe, inputs, i, j, config.eps);
            for (o, row) in rows.iter().enumerate() {
                let numeric = (f_plus[o] - f_minus[o]) / step;
                let entry = Entry::Jacobian {
                    input: i,
                    element: j,
                    output: o,
                };
                tally.compare(entry, row[i][j], numeric);
            }
        }
    }
    tally.finish()
}

/// Checks the full Jacobian of a tensor-valued function of tensors.
///
/// `f` records its computation on the tape it is given, from handles to the inputs; it is
/// called `2·(number of input elements) + (number of output elements) + 1` times.
///
/// # Errors
/// [`GradCheckError`] listing every derivative outside tolerance.
///
/// # Panics
/// If `f` panics, or if backward fails (a custom function returning gradients of the wrong
/// shape, for instance).
///
/// ```
/// use tape::check::{gradcheck, CheckConfig};
/// use tape::Array;
/// let a = Array::rand_uniform(&[2, 3], -1.0, 1.0, 1);
/// let b = Array::rand_uniform(&[3, 2], -1.0, 1.0, 2);
/// gradcheck(|_, x| x[0].matmul(x[1]).tanh(), &[a, b], &CheckConfig::default()).unwrap();
/// ```
pub fn gradcheck<T, F>(
    f: F,
    inputs: &[Array<T>],
    config: &CheckConfig,
) -> Result<Report, GradCheckError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Tensor<'t, T>,
{
    full_jacobian(&TensorFn(f), inputs, config)
}

/// Checks the gradient of a scalar-valued function of tensors (a loss, for instance).
///
/// # Errors
/// [`GradCheckError`] listing every derivative outside tolerance.
///
/// # Panics
/// If `f` panics or backward fails.
///
/// ```
/// use tape::check::{gradcheck_scalar, CheckConfig};
/// use tape::Array;
/// let x = Array::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
/// let r = gradcheck_scalar(|_, x| (x[0] * x[0]).mean(), &[x], &CheckConfig::default()).unwrap();
/// assert!(r.max_abs_err < 1e-8);
/// ```
pub fn gradcheck_scalar<T, F>(
    f: F,
    inputs: &[Array<T>],
    config: &CheckConfig,
) -> Result<Report, GradCheckError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Scalar<'t, T>,
{
    full_jacobian(&ScalarOutFn(f), inputs, config)
}

/// Checks the gradient of a scalar function of scalars.
///
/// # Errors
/// [`GradCheckError`] listing every partial derivative outside tolerance.
///
/// # Panics
/// If `f` panics or backward fails.
///
/// ```
/// use tape::check::{gradcheck_scalars, CheckConfig};
/// gradcheck_scalars(|_, v| v[0].pow(v[1]) / v[0].sin(), &[1.3, 0.7], &CheckConfig::default()).unwrap();
/// ```
pub fn gradcheck_scalars<T, F>(
    f: F,
    inputs: &[T],
    config: &CheckConfig,
) -> Result<Report, GradCheckError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, &[Scalar<'t, T>]) -> Scalar<'t, T>,
{
    let arrays: Vec<Array<T>> = inputs.iter().map(|&v| Array::scalar(v)).collect();
    full_jacobian(&ScalarsFn(f), &arrays, config)
}

/// Checks `n_directions` random directional derivatives of a tensor-valued function:
/// for random `u` (over all inputs) and `v` (over the output), compares `vᵀ·J·u` from one
/// vector-Jacobian product with `vᵀ·(f(x + eps·u) − f(x − eps·u)) / 2eps`.
///
/// Each direction costs three evaluations and one backward, whatever the sizes, so this suits
/// inputs too large for [`gradcheck`]. It can miss an error that happens to be orthogonal to
/// every direction tried, which random directions make unlikely.
///
/// # Errors
/// [`GradCheckError`] with one [`Entry::Direction`] per failing direction.
///
/// # Panics
/// If `f` panics or backward fails.
///
/// ```
/// use tape::check::{gradcheck_directional, CheckConfig};
/// use tape::Array;
/// let w = Array::rand_normal(&[64, 32], 0.0, 0.1, 3);
/// let x = Array::rand_normal(&[16, 64], 0.0, 1.0, 4);
/// let r = gradcheck_directional(|_, t| t[1].matmul(t[0]).sigmoid(), &[w, x], &CheckConfig::default(), 4, 0).unwrap();
/// assert_eq!(r.checked, 4);
/// ```
pub fn gradcheck_directional<T, F>(
    f: F,
    inputs: &[Array<T>],
    config: &CheckConfig,
    n_directions: usize,
    seed: u64,
) -> Result<Report, GradCheckError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Tensor<'t, T>,
{
    let probe = TensorFn(f);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let n_out = probe.eval(inputs).len();
    let mut tally = Tally::new(config);
    for d in 0..n_directions {
        let u: Vec<Vec<f64>> = inputs
            .iter()
            .map(|x| (0..x.len()).map(|_| normal()).collect())
            .collect();
        let v: Vec<f64> = (0..n_out).map(|_| normal()).collect();
        let grads = probe.vjp(inputs, &v);
        let analytic: f64 = grads
            .iter()
            .zip(&u)
            .flat_map(|(g, u)| g.iter().zip(u).map(|(a, b)| a * b))
            .sum();
        let shifted = |sign: f64| -> Vec<Array<T>> {
            inputs
                .iter()
                .zip(&u)
                .map(|(x, u)| {
                    let data = x
                        .data()
                        .iter()
                        .zip(u)
                        .map(|(&xi, ui)| T::cast_from(xi.as_f64() + sign * config.eps * ui))
                        .collect();
                    Array::from_vec(data, x.shape()).expect("internal error: shape")
                })
                .collect()
        };
        let (f_plus, f_minus) = (probe.eval(&shifted(1.0)), probe.eval(&shifted(-1.0)));
        let numeric: f64 = v
            .iter()
            .zip(f_plus.iter().zip(&f_minus))
            .map(|(v, (p, m))| v * (p - m) / (2.0 * config.eps))
            .sum();
        tally.compare(Entry::Direction(d), analytic, numeric);
    }
    tally.finish()
}

/// Checks second derivatives: the gradient recorded by [`Scalar::backward_graph`] is
/// differentiated again and compared with central finite differences of the first-order
/// gradient — the Hessian, entry by entry.
///
/// First, the recorded gradient's *values* are compared with central differences of `f`
/// itself (entries with `output` 0 … are then the first derivatives). Without that step a
/// recorded backward that is wrong but self-consistent (say, every derivative scaled by the
/// same factor) would pass, since its Hessian would agree with its own finite differences.
///
/// In the Hessian part of the report, `input` and `element` name the input element perturbed,
/// and `output` is the flat index into the inputs' gradients laid end to end (input 0's
/// elements first).
///
/// # Errors
/// [`GradCheckError`] listing every first or second derivative outside tolerance.
///
/// # Panics
/// If `f` panics, or its gradient cannot be recorded (a custom function on the path).
///
/// ```
/// use tape::check::{gradgradcheck, CheckConfig};
/// use tape::Array;
/// let x = Array::from_vec(vec![0.3, -0.7, 1.1], &[3]).unwrap();
/// let r = gradgradcheck(|_, x| (x[0].tanh() * x[0].exp()).sum(), &[x], &CheckConfig::default()).unwrap();
/// assert_eq!(r.checked, 3 + 9); // the gradient, then the Hessian
/// ```
pub fn gradgradcheck<T, F>(
    f: F,
    inputs: &[Array<T>],
    config: &CheckConfig,
) -> Result<Report, GradCheckError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Scalar<'t, T>,
{
    // First derivatives: the recorded gradient's values against differences of f.
    let first = full_jacobian(&RecordedGradFn(&f), inputs, config);
    // Second derivatives: the recorded gradient differentiated against its own differences.
    let second = gradcheck(
        |tape, xs| {
            let grads = f(tape, xs)
                .backward_graph()
                .unwrap_or_else(|e| panic!("gradgradcheck: the gradient cannot be recorded: {e}"));
            let parts: Vec<Tensor<'_, T>> = xs.iter().map(|&x| grads.wrt(x).flatten()).collect();
            Tensor::concat(&parts, 0)
        },
        inputs,
        config,
    );
    merge(first, second)
}

/// Two checks reported as one: counts add up, mismatches are listed first check first.
fn merge(
    a: Result<Report, GradCheckError>,
    b: Result<Report, GradCheckError>,
) -> Result<Report, GradCheckError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok(Report {
            checked: a.checked + b.checked,
            max_abs_err: a.max_abs_err.max(b.max_abs_err),
            max_rel_err: a.max_rel_err.max(b.max_rel_err),
        }),
        (Err(mut e), Ok(r)) | (Ok(r), Err(mut e)) => {
            e.checked += r.checked;
            Err(e)
        }
        (Err(mut e), Err(f)) => {
            e.checked += f.checked;
            e.mismatches.extend(f.mismatches);
            Err(e)
        }
    }
}
