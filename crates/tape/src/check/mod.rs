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
//! tolerances is the reference; an `f32` check given exactly the default settings uses
//! [`CheckConfig::f32`] instead (see [`CheckConfig::for_element`]).
//!
//! **When a check fails, it says where**: the function is recorded once more at the inputs,
//! and every op on that tape is checked on its own ([`check_ops`]); the error names the first
//! faulty op, its node and the source line that recorded it. **Kinks are understood**: an
//! entry whose stencil `x ± eps` changes a branch of `relu`, `abs`, `max`/`min` (or of a
//! custom function's [`Function::branches`](crate::Function::branches)) is not compared with
//! central differences, which are meaningless there; the ops are checked one by one instead,
//! each at its kink with the one-sided difference its tie convention names, and the entry is
//! counted in [`Report::at_kinks`].

// A check's error is returned once per check, in a test, and read by a person: its size
// (the failing entries, the faulty op, the inputs' names) costs nothing worth a `Box`.
#![allow(clippy::result_large_err)]

mod local;
mod ops;
#[cfg(feature = "proptest")]
pub mod strategies;

pub use ops::{MAX_ELEMENTS_PER_INPUT, OpFailure, OpMismatch, OpsReport, Side, check_ops};

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

    /// The settings a check in element type `T` uses when given `self`: [`CheckConfig::f32`]
    /// for an `f32` check given exactly [`CheckConfig::default`] (whose step, `1e-6`, is below
    /// `f32`'s rounding: the difference quotient would be noise), else `self` unchanged.
    ///
    /// ```
    /// use tape::check::{gradcheck_scalar, CheckConfig};
    /// use tape::Array;
    /// let d = CheckConfig::default();
    /// assert_eq!(d.for_element::<f32>(), CheckConfig::f32());
    /// assert_eq!(d.for_element::<f64>(), d);
    /// // So a correct f32 function passes with the defaults:
    /// let x = Array::from_vec(vec![0.5f32, -1.0, 2.0], &[3]).unwrap();
    /// gradcheck_scalar(|_, x| x[0].tanh().sum(), &[x], &CheckConfig::default()).unwrap();
    /// ```
    pub fn for_element<T: Element>(&self) -> CheckConfig {
        effective::<T>(self)
    }

    fn accepts(&self, analytic: f64, numeric: f64) -> bool {
        // Written so that NaN on either side fails.
        (analytic - numeric).abs() <= self.abs_tol + self.rel_tol * numeric.abs()
    }
}

/// The settings a check in `T` uses (see [`CheckConfig::for_element`]).
fn effective<T: Element>(config: &CheckConfig) -> CheckConfig {
    if T::NAME == "f32" && *config == CheckConfig::default() {
        CheckConfig::f32()
    } else {
        *config
    }
}

/// Which derivative an entry of a check compares.
///
/// ```
/// use tape::check::{gradcheck, CheckConfig, Entry};
/// use tape::Array;
/// // x ↦ x·(x ≥ 0.5), a jump at 0.5 with no branch a check could see: the recorded
/// // derivative is the mask, the difference across the jump is ~0.5/2eps.
/// let x = Array::from_vec(vec![1.0, 0.5], &[2]).unwrap();
/// let mask = Array::from_vec(vec![1.0, 1.0], &[2]).unwrap();
/// let err = gradcheck(move |t, x| x[0] * t.tensor_constant(x[0].value().map(|v| if v >= 0.5 { 1.0 } else { 0.0 })), &[x], &CheckConfig::default()).unwrap_err();
/// let entry = err.mismatches[0].entry;
/// assert_eq!(entry, Entry::Jacobian { input: 0, element: 1, output: 1 });
/// assert_eq!(entry.to_string(), "input 0, element 1, output 1");
/// # let _ = mask;
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
    /// The `direction`-th random directional derivative along input `input` alone
    /// ([`Mode::Directions`]).
    InputDirection {
        /// Which input.
        input: usize,
        /// Which direction.
        direction: usize,
    },
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
            Entry::InputDirection { input, direction } => {
                write!(f, "input {input}, direction {direction}")
            }
        }
    }
}

/// One derivative where analytic and numeric values disagree.
///
/// ```
/// use tape::check::{gradcheck_scalars, CheckConfig};
/// // x² with a derivative claimed by hand, and wrong: x instead of 2x.
/// let err = gradcheck_scalars(|_, v| v[0].custom(v[0].value() * v[0].value(), v[0].value()), &[3.0], &CheckConfig::default()).unwrap_err();
/// let m = err.mismatches[0];
/// assert_eq!(m.analytic, 3.0);
/// assert!((m.numeric - 6.0).abs() < 1e-6);
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
    /// Entries whose stencil crossed a kink: not compared with central differences, but
    /// covered by checking every op on its own at the inputs ([`check_ops`]), which passed.
    pub at_kinks: usize,
}

/// A failed check: every entry outside tolerance, in the order checked.
///
/// ```
/// use tape::check::{gradcheck_scalar, CheckConfig};
/// use tape::Array;
/// // Σ x², with a hand-claimed derivative that is wrong where x ≠ 1: 2 instead of 2x.
/// let x = Array::from_vec(vec![0.0, 1.0, 3.0], &[3]).unwrap();
/// let err = gradcheck_scalar(|t, x| {
///     let v = x[0].value();
///     let sq = t.tensor_constant(v.map(|v| v * v));
///     let claimed = t.tensor_constant(v.map(|_| 2.0));
///     (sq + (x[0] - t.tensor_constant(v)) * claimed).sum()
/// }, &[x], &CheckConfig::default()).unwrap_err();
/// assert_eq!(err.checked, 3);
/// assert_eq!(err.mismatches.len(), 2); // elements 0 and 2; at x = 1, 2 = 2x
/// assert!(err.to_string().starts_with("gradient check failed: 2 of 3 derivatives differ"));
/// assert!(err.localised.is_none()); // every op is right; the function is not what it claims
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckError {
    /// The entries that failed.
    pub mismatches: Vec<Mismatch>,
    /// Number of derivatives compared.
    pub checked: usize,
    /// The settings used.
    pub config: CheckConfig,
    /// Entries whose stencil crossed a kink, left to the op-by-op check.
    pub at_kinks: usize,
    /// The first op whose backward disagrees with its own finite differences, when one does
    /// ([`check_ops`] on the function recorded at the inputs).
    pub localised: Option<OpFailure>,
    /// The element type's name (`"f32"`, `"f64"`).
    pub element: &'static str,
    /// The inputs' names, when the check was given them ([`gradcheck_named`]); entries are
    /// then shown as `name[i, j]`.
    pub names: Vec<String>,
    /// The inputs' shapes.
    pub shapes: Vec<Vec<usize>>,
}

impl GradCheckError {
    /// How the report shows an entry: by input name and multi-index when the inputs have
    /// names (`layers.1.weight[3, 7]`), else as [`Entry`]'s `Display`.
    ///
    /// ```
    /// use tape::check::{CheckConfig, Entry, GradCheckError};
    /// let err = GradCheckError {
    ///     mismatches: vec![], checked: 0, config: CheckConfig::default(), at_kinks: 0,
    ///     localised: None, element: "f64",
    ///     names: vec!["w".into()], shapes: vec![vec![4, 8]],
    /// };
    /// let e = Entry::Jacobian { input: 0, element: 31, output: 0 };
    /// assert_eq!(err.label(&e), "w[3, 7]");
    /// ```
    pub fn label(&self, entry: &Entry) -> String {
        let name = |input: usize| self.names.get(input).filter(|_| !self.names.is_empty());
        match *entry {
            Entry::Jacobian {
                input,
                element,
                output,
            } => match name(input) {
                Some(n) => {
                    let idx = unravel(element, &self.shapes[input]);
                    let at = idx.iter().map(usize::to_string).collect::<Vec<_>>();
                    let out = if output == 0 {
                        String::new()
                    } else {
                        format!(", output {output}")
                    };
                    format!("{n}[{}]{out}", at.join(", "))
                }
                None => entry.to_string(),
            },
            Entry::InputDirection { input, direction } => match name(input) {
                Some(n) => format!("{n}, direction {direction}"),
                None => entry.to_string(),
            },
            Entry::Direction(_) => entry.to_string(),
        }
    }
}

/// The multi-index of flat index `flat` in `shape` (row-major).
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (i, &n) in shape.iter().enumerate().rev() {
        idx[i] = flat % n.max(1);
        flat /= n.max(1);
    }
    idx
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
                self.label(&m.entry),
                m.analytic,
                m.numeric,
                m.abs_err,
                m.rel_err
            )?;
        }
        if self.mismatches.len() > 50 {
            writeln!(f, "  … and {} more", self.mismatches.len() - 50)?;
        }
        if self.at_kinks > 0 {
            writeln!(
                f,
                "  {} more at a kink: checked op by op, with one-sided differences",
                self.at_kinks
            )?;
        }
        if self.element == "f32" && c.eps < 1e-3 {
            writeln!(
                f,
                "  note: in f32 a step of {:e} is below rounding (about 1e-7/eps); use CheckConfig::f32()",
                c.eps
            )?;
        }
        match &self.localised {
            Some(op) => write!(f, "{op}"),
            None => writeln!(
                f,
                "no op disagrees with its own finite differences at these inputs: the function is \
                 not what its recorded ops compute (a Scalar::custom derivative, or a value \
                 computed off the tape)"
            ),
        }
    }
}

impl std::error::Error for GradCheckError {}

/// Collects comparisons into a [`Report`] or a [`GradCheckError`].
struct Tally {
    config: CheckConfig,
    checked: usize,
    max_abs_err: f64,
    max_rel_err: f64,
    at_kinks: usize,
    mismatches: Vec<Mismatch>,
}

impl Tally {
    fn new(config: &CheckConfig) -> Self {
        Tally {
            config: *config,
            checked: 0,
            max_abs_err: 0.0,
            max_rel_err: 0.0,
            at_kinks: 0,
            mismatches: Vec::new(),
        }
    }

    /// Counts the comparison; returns it if it is out of tolerance (for the caller to file as
    /// a mismatch or as an entry at a kink).
    fn compare(&mut self, entry: Entry, analytic: f64, numeric: f64) -> Option<Mismatch> {
        self.checked += 1;
        let m = Mismatch::new(entry, analytic, numeric);
        if m.abs_err.is_finite() {
            self.max_abs_err = self.max_abs_err.max(m.abs_err);
            if numeric != 0.0 {
                self.max_rel_err = self.max_rel_err.max(m.rel_err);
            }
        }
        (!self.config.accepts(analytic, numeric)).then_some(m)
    }

    /// Files the failed comparisons of one stencil: at a kink if it crosses one.
    fn file(&mut self, failed: Vec<Mismatch>, crosses_kink: impl FnOnce() -> bool) {
        if failed.is_empty() {
        } else if crosses_kink() {
            self.at_kinks += failed.len();
        } else {
            self.mismatches.extend(failed);
        }
    }

    /// The report, or the error with its op-by-op localisation. The ops are checked when
    /// something failed, and when entries crossed a kink, which only the ops' own checks
    /// cover.
    fn finish<T: Element>(
        self,
        probe: &dyn Probe<T>,
        inputs: &[Array<T>],
    ) -> Result<Report, GradCheckError> {
        let report = Report {
            checked: self.checked,
            max_abs_err: self.max_abs_err,
            max_rel_err: self.max_rel_err,
            at_kinks: self.at_kinks,
        };
        if self.mismatches.is_empty() && self.at_kinks == 0 {
            return Ok(report);
        }
        let mut localised = None;
        probe.record(inputs, &mut |tape| {
            localised = check_ops(tape, &self.config).err()
        });
        if self.mismatches.is_empty() && localised.is_none() {
            return Ok(report);
        }
        Err(GradCheckError {
            mismatches: self.mismatches,
            checked: self.checked,
            config: self.config,
            at_kinks: self.at_kinks,
            localised,
            element: T::NAME,
            names: Vec::new(),
            shapes: inputs.iter().map(|x| x.shape().to_vec()).collect(),
        })
    }
}

/// What a check needs from the function under test: its output values at given inputs, the
/// vector-Jacobian product of a cotangent at given inputs (one gradient per input, flat), and
/// a recording of it at given inputs, with locations kept, for the op-by-op checks.
trait Probe<T: Element> {
    fn eval(&self, inputs: &[Array<T>]) -> Vec<f64>;
    fn vjp(&self, inputs: &[Array<T>], cotangent: &[f64]) -> Vec<Vec<f64>>;
    fn record(&self, inputs: &[Array<T>], then: &mut dyn FnMut(&Tape<T>));
}

/// A tape that keeps the location of every op, for the op-by-op checks.
fn tracking_tape<T: Element>() -> Tape<T> {
    let tape = Tape::new();
    tape.set_location_tracking(true);
    tape
}

/// Whether `f` recorded at `moved` took other branches than at `inputs` (`at_x`, computed
/// once and kept).
fn branches_differ<T: Element>(
    probe: &dyn Probe<T>,
    at_x: &mut Option<Vec<(usize, Vec<usize>)>>,
    inputs: &[Array<T>],
    moved: &[&[Array<T>]],
) -> bool {
    let signature = |xs: &[Array<T>]| {
        let mut sig = Vec::new();
        probe.record(xs, &mut |tape| sig = ops::branch_signature(tape));
        sig
    };
    let x = at_x.get_or_insert_with(|| signature(inputs)).clone();
    moved.iter().any(|m| signature(m) != x)
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

    fn record(&self, inputs: &[Array<T>], then: &mut dyn FnMut(&Tape<T>)) {
        let tape = tracking_tape();
        let xs: Vec<_> = inputs.iter().map(|a| tape.tensor(a.clone())).collect();
        let _ = (self.0)(&tape, &xs);
        then(&tape);
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
        scaled_gradients((self.0)(&tape, &xs), &xs, cotangent[0])
    }

    fn record(&self, inputs: &[Array<T>], then: &mut dyn FnMut(&Tape<T>)) {
        let tape = tracking_tape();
        let xs: Vec<_> = inputs.iter().map(|a| tape.tensor(a.clone())).collect();
        let _ = (self.0)(&tape, &xs);
        then(&tape);
    }
}

/// The gradient of the scalar `y` with respect to each of `xs`, flattened and times `c`: the
/// vector-Jacobian product of a scalar function for the cotangent `c`.
fn scaled_gradients<T: Element>(y: Scalar<'_, T>, xs: &[Tensor<'_, T>], c: f64) -> Vec<Vec<f64>> {
    let grads = y
        .try_backward()
        .unwrap_or_else(|e| panic!("gradcheck: backward failed: {e}"));
    xs.iter()
        .map(|&x| flat(grads.wrt(x)).into_iter().map(|g| g * c).collect())
        .collect()
}

/// A scalar function that records itself from the input values and hands back the handles
/// holding them (a model bound with given parameters): what [`gradcheck_named`] checks.
struct LeavesFn<F>(F);

impl<T: Element, F> Probe<T> for LeavesFn<F>
where
    F: for<'t> Fn(&'t Tape<T>, &[Array<T>]) -> (Scalar<'t, T>, Vec<Tensor<'t, T>>),
{
    fn eval(&self, inputs: &[Array<T>]) -> Vec<f64> {
        let tape = Tape::new();
        vec![(self.0)(&tape, inputs).0.value().as_f64()]
    }

    fn vjp(&self, inputs: &[Array<T>], cotangent: &[f64]) -> Vec<Vec<f64>> {
        let tape = Tape::new();
        let (y, xs) = (self.0)(&tape, inputs);
        assert_eq!(
            xs.len(),
            inputs.len(),
            "gradcheck_named: the function returned {} handles for {} inputs",
            xs.len(),
            inputs.len()
        );
        scaled_gradients(y, &xs, cotangent[0])
    }

    fn record(&self, inputs: &[Array<T>], then: &mut dyn FnMut(&Tape<T>)) {
        let tape = tracking_tape();
        let _ = (self.0)(&tape, inputs);
        then(&tape);
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

    fn record(&self, inputs: &[Array<T>], then: &mut dyn FnMut(&Tape<T>)) {
        ScalarOutFn(&self.0).record(inputs, then);
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

    fn record(&self, inputs: &[Array<T>], then: &mut dyn FnMut(&Tape<T>)) {
        let tape = tracking_tape();
        let xs: Vec<_> = inputs.iter().map(|a| tape.var(a.data()[0])).collect();
        let _ = (self.0)(&tape, &xs);
        then(&tape);
    }
}

/// The inputs with input `i`, element `j` moved by `+eps` and by `−eps` (rounded to `T`), and
/// the step actually taken.
fn stencil<T: Element>(
    inputs: &[Array<T>],
    i: usize,
    j: usize,
    eps: f64,
) -> (Vec<Array<T>>, Vec<Array<T>>, f64) {
    let x = inputs[i].data()[j];
    let plus = T::cast_from(x.as_f64() + eps);
    let minus = T::cast_from(x.as_f64() - eps);
    let (mut up, mut down) = (inputs.to_vec(), inputs.to_vec());
    up[i].data_mut()[j] = plus;
    down[i].data_mut()[j] = minus;
    (up, down, plus.as_f64() - minus.as_f64())
}

fn full_jacobian<T: Element>(
    probe: &dyn Probe<T>,
    inputs: &[Array<T>],
    config: &CheckConfig,
) -> Result<Report, GradCheckError> {
    let config = &effective::<T>(config);
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
    let mut branches_at_x = None;
    for (i, x) in inputs.iter().enumerate() {
        for j in 0..x.len() {
            // Numeric Jacobian, one column (input element) per pair of evaluations.
            let (up, down, step) = stencil(inputs, i, j, config.eps);
            let (f_plus, f_minus) = (probe.eval(&up), probe.eval(&down));
            let failed: Vec<Mismatch> = rows
                .iter()
                .enumerate()
                .filter_map(|(o, row)| {
                    let numeric = (f_plus[o] - f_minus[o]) / step;
                    let entry = Entry::Jacobian {
                        input: i,
                        element: j,
                        output: o,
                    };
                    tally.compare(entry, row[i][j], numeric)
                })
                .collect();
            tally.file(failed, || {
                branches_differ(probe, &mut branches_at_x, inputs, &[&up, &down])
            });
        }
    }
    tally.finish(probe, inputs)
}

/// How [`gradcheck_named`] compares: every element, or random directions per input.
///
/// ```
/// use tape::check::Mode;
/// let large = Mode::Directions { per_input: 3, seed: 7 };
/// assert_ne!(large, Mode::Full);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every element of every input: two evaluations each.
    Full,
    /// `per_input` random directions along each input alone (three evaluations and one
    /// backward each), so that a failure still names the input: for models too large to
    /// check element by element.
    Directions {
        /// Directions per input.
        per_input: usize,
        /// The seed of the directions.
        seed: u64,
    },
}

/// Checks the gradient of a scalar function with respect to named inputs, and reports failing
/// entries by name and multi-index (`layers.1.weight[3, 7]`).
///
/// `f` records the function on the tape it is given from the input values, and returns its
/// output with the handles that hold the inputs, in order — a model bound with these
/// parameter values, say. (`nn::check` does exactly this for a model's parameters.)
///
/// # Errors
/// [`GradCheckError`], with [`GradCheckError::names`] set.
///
/// # Panics
/// If `f` panics, returns another number of handles than inputs, or backward fails; if
/// `names` and `inputs` differ in length.
///
/// ```
/// use tape::check::{gradcheck_named, CheckConfig, Mode};
/// use tape::Array;
/// let w = Array::rand_normal(&[2, 3], 0.0, 1.0, 1);
/// let r = gradcheck_named(|t, p| {
///     let w = t.tensor(p[0].clone());
///     (w.tanh().sum(), vec![w])
/// }, &[w], &["weight".to_string()], &CheckConfig::default(), Mode::Full).unwrap();
/// assert_eq!(r.checked, 6);
/// ```
pub fn gradcheck_named<T, F>(
    f: F,
    inputs: &[Array<T>],
    names: &[String],
    config: &CheckConfig,
    mode: Mode,
) -> Result<Report, GradCheckError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, &[Array<T>]) -> (Scalar<'t, T>, Vec<Tensor<'t, T>>),
{
    assert_eq!(
        names.len(),
        inputs.len(),
        "gradcheck_named: one name per input"
    );
    let probe = LeavesFn(f);
    let result = match mode {
        Mode::Full => full_jacobian(&probe, inputs, config),
        Mode::Directions { per_input, seed } => {
            directions(&probe, inputs, config, per_input, seed, true)
        }
    };
    result.map_err(|mut e| {
        e.names = names.to_vec();
        e
    })
}

/// Random directional derivatives `vᵀ·J·u`: `n` directions `u` over all inputs, or, with
/// `per_input`, `n` along each input alone.
fn directions<T: Element>(
    probe: &dyn Probe<T>,
    inputs: &[Array<T>],
    config: &CheckConfig,
    n: usize,
    seed: u64,
    per_input: bool,
) -> Result<Report, GradCheckError> {
    let config = &effective::<T>(config);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let n_out = probe.eval(inputs).len();
    let mut tally = Tally::new(config);
    let mut branches_at_x = None;
    let targets: Vec<Option<usize>> = if per_input {
        (0..inputs.len()).map(Some).collect()
    } else {
        vec![None]
    };
    for target in targets {
        for d in 0..n {
            let u: Vec<Vec<f64>> = inputs
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let along = target.is_none_or(|t| t == i);
                    (0..x.len())
                        .map(|_| if along { normal() } else { 0.0 })
                        .collect()
                })
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
            let (up, down) = (shifted(1.0), shifted(-1.0));
            let (f_plus, f_minus) = (probe.eval(&up), probe.eval(&down));
            let numeric: f64 = v
                .iter()
                .zip(f_plus.iter().zip(&f_minus))
                .map(|(v, (p, m))| v * (p - m) / (2.0 * config.eps))
                .sum();
            let entry = match target {
                Some(input) => Entry::InputDirection {
                    input,
                    direction: d,
                },
                None => Entry::Direction(d),
            };
            let failed = tally
                .compare(entry, analytic, numeric)
                .into_iter()
                .collect();
            tally.file(failed, || {
                branches_differ(probe, &mut branches_at_x, inputs, &[&up, &down])
            });
        }
    }
    tally.finish(probe, inputs)
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
    directions(&TensorFn(f), inputs, config, n_directions, seed, false)
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
            at_kinks: a.at_kinks + b.at_kinks,
        }),
        (Err(mut e), Ok(r)) | (Ok(r), Err(mut e)) => {
            e.checked += r.checked;
            e.at_kinks += r.at_kinks;
            Err(e)
        }
        (Err(mut e), Err(f)) => {
            e.checked += f.checked;
            e.at_kinks += f.at_kinks;
            e.mismatches.extend(f.mismatches);
            e.localised = e.localised.or(f.localised);
            Err(e)
        }
    }
}
