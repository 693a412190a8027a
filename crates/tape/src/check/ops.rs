//! Op-by-op checks of a recorded tape: each op's recorded backward against finite differences
//! of that op alone, at the inputs it saw, with kinks told apart from errors.

use std::fmt;
use std::panic::Location;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::CheckConfig;
use super::local::{Local, Node, node};
use crate::{Array, Element, Tape};

/// At most this many elements of each input of an op are perturbed; larger inputs are
/// checked at this many elements spread evenly over them.
pub const MAX_ELEMENTS_PER_INPUT: usize = 256;

/// Which finite difference judged an entry whose stencil `x ± eps` crosses a kink.
///
/// At a tie, an op's derivative is that of one branch (its documented convention: `relu'(0)
/// = 0`, a tie of `max(a, b)` goes to `a`, the first maximal element of `max()`), so it is
/// compared with the one-sided difference on the side where the branch decisions are those
/// at `x`. `abs` at 0 is its own branch, with derivative 0, the mean of both sides: the
/// central difference.
///
/// ```
/// use tape::check::Side;
/// assert_eq!(Side::Left.to_string(), "left difference");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `(f(x) − f(x − eps)) / eps`.
    Left,
    /// `(f(x + eps) − f(x)) / eps`.
    Right,
    /// The central difference: neither side keeps the branch taken at `x`.
    Central,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Left => "left difference",
            Side::Right => "right difference",
            Side::Central => "central difference",
        })
    }
}

/// One entry of an op's own check that is out of tolerance: element `element` of the
/// gradient the op's backward gives input `input` for a random cotangent `v` of its output
/// (`(Jᵀv)[element]`), against `v · (op(x + eps) − op(x − eps)) / 2eps`.
///
/// ```
/// use tape::check::{check_ops, CheckConfig};
/// use tape::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(2.0);
/// let _y = x.custom(4.0, 1.0); // claims d/dx = 1 for a value with no forward to replay
/// let _z = x.powi(2);
/// // Only table and tensor ops are replayed; the custom scalar is counted as unchecked.
/// assert_eq!(check_ops(&tape, &CheckConfig::default()).unwrap().unchecked, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpMismatch {
    /// Which input of the op.
    pub input: usize,
    /// Flat index of the element within that input.
    pub element: usize,
    /// What the op's recorded backward gives.
    pub analytic: f64,
    /// The finite difference.
    pub numeric: f64,
    /// `|analytic − numeric|`.
    pub abs_err: f64,
    /// `|analytic − numeric| / |numeric|`.
    pub rel_err: f64,
    /// `Some` when the stencil crosses a kink of the op: which difference was used.
    pub kink: Option<Side>,
}

/// The first op, in recording order, whose backward disagrees with finite differences of the
/// op alone.
///
/// ```
/// use tape::check::{check_ops, CheckConfig};
/// use tape::{Array, Function, Tape, TapeError};
///
/// #[derive(Clone)]
/// struct Cube; // x³ with a wrong derivative, 2x² instead of 3x²
/// impl Function<f64> for Cube {
///     fn name(&self) -> &str { "cube" }
///     fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
///         Ok(x[0].map(|v| v * v * v))
///     }
///     fn backward(&self, x: &[&Array<f64>], _o: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
///         let d = x[0].data().iter().zip(g.data()).map(|(v, g)| 2.0 * v * v * g);
///         vec![Array::from_vec(d.collect(), x[0].shape()).unwrap()]
///     }
/// }
///
/// let tape = Tape::<f64>::new();
/// tape.set_location_tracking(true);
/// let x = tape.tensor_from_vec(vec![1.0, -2.0], &[2]).unwrap();
/// let y = x.tanh();
/// let z = tape.apply(&Cube, &[y]).unwrap(); let line = line!();
/// let _loss = z.sum();
/// let failure = check_ops(&tape, &CheckConfig::default()).unwrap_err();
/// assert_eq!((failure.node, failure.op.as_str()), (z.index(), "custom:cube"));
/// assert_eq!(failure.location.unwrap().line(), line);
/// assert_eq!(failure.mismatches.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OpFailure {
    /// The op's node index on its tape.
    pub node: usize,
    /// The op's name, as the tape's listing shows it (`custom:<name>` for a [`Function`](crate::Function)).
    pub op: String,
    /// The source location that recorded it, if the tape kept locations
    /// ([`Tape::set_location_tracking`], or anomaly detection).
    pub location: Option<&'static Location<'static>>,
    /// The entries out of tolerance.
    pub mismatches: Vec<OpMismatch>,
    /// How many entries of this op were compared.
    pub checked: usize,
    /// What went wrong other than values: a custom function's backward returning gradients of
    /// the wrong number or shape, or its forward failing when replayed.
    pub note: Option<String>,
}

impl fmt::Display for OpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.location.map_or_else(
            || "at a location not kept (turn on Tape::set_location_tracking)".to_string(),
            |l| format!("recorded at {l}"),
        );
        writeln!(f, "first faulty op: node {} `{}`, {at}", self.node, self.op)?;
        if let Some(note) = &self.note {
            return writeln!(f, "  {note}");
        }
        writeln!(
            f,
            "  {} of {} entries of its vector-Jacobian product differ from its own finite differences",
            self.mismatches.len(),
            self.checked
        )?;
        writeln!(
            f,
            "  {:<38} {:>14} {:>14} {:>10} {:>10}",
            "entry", "analytic", "numeric", "abs err", "rel err"
        )?;
        for m in self.mismatches.iter().take(20) {
            let what = format!("input {}, element {}", m.input, m.element);
            write!(
                f,
                "  {what:<38} {:>14.7e} {:>14.7e} {:>10.2e} {:>10.2e}",
                m.analytic, m.numeric, m.abs_err, m.rel_err
            )?;
            match m.kink {
                Some(side) => writeln!(f, "  at a kink, {side}")?,
                None => writeln!(f)?,
            }
        }
        if self.mismatches.len() > 20 {
            writeln!(f, "  … and {} more", self.mismatches.len() - 20)?;
        }
        Ok(())
    }
}

impl std::error::Error for OpFailure {}

/// The summary of a passing [`check_ops`].
///
/// ```
/// use tape::check::{check_ops, CheckConfig};
/// use tape::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = x.relu() + x.sin(); // relu at its kink
/// let r = check_ops(&tape, &CheckConfig::default()).unwrap();
/// assert_eq!((r.ops, r.checked, r.at_kinks), (3, 4, 1)); // relu, sin, add (two inputs)
/// # let _ = y;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpsReport {
    /// Ops checked.
    pub ops: usize,
    /// Entries compared, over all ops.
    pub checked: usize,
    /// Entries whose stencil crossed a kink, judged by a one-sided difference and passed.
    pub at_kinks: usize,
    /// [`Scalar::custom`](crate::Scalar::custom) nodes, which have no forward to replay.
    pub unchecked: usize,
}

/// Checks every op recorded on `tape`, in recording order, on its own: finite differences of
/// the op alone, at the inputs it saw, against its recorded backward — the partials a scalar
/// node stored, the vector-Jacobian product of a tensor op or a custom
/// [`Function`](crate::Function) for a random cotangent of its output. Stops at the first
/// faulty op and names it, with the source line that recorded it if the tape kept locations
/// ([`Tape::set_location_tracking`]).
///
/// An entry whose stencil `x ± eps` changes the op's branch decisions (`relu`, `abs`,
/// `max`/`min` and their ties, the `max` reductions, `%`, a custom function's
/// [`Function::branches`](crate::Function::branches)) is at a kink: it is compared with the
/// one-sided difference on the side that keeps the branch taken at `x` (see [`Side`]), and
/// counted in [`OpsReport::at_kinks`] when it passes. Inputs larger than
/// [`MAX_ELEMENTS_PER_INPUT`] are checked at that many elements.
///
/// The gradient checks (`gradcheck` and the others) call this when they fail, to say where.
///
/// # Errors
/// The first [`OpFailure`].
///
/// ```
/// use tape::check::{check_ops, CheckConfig};
/// use tape::Tape;
/// let tape = Tape::<f64>::new();
/// let w = tape.rand_normal(&[3, 4], 0.0, 1.0, 1);
/// let x = tape.rand_normal(&[2, 3], 0.0, 1.0, 2);
/// let loss = x.matmul(w).relu().max_axis(1, false).sum();
/// let r = check_ops(&tape, &CheckConfig::default()).unwrap();
/// assert_eq!(r.ops, 4); // matmul, relu, max_axis, sum
/// # let _ = loss;
/// ```
pub fn check_ops<T: Element>(tape: &Tape<T>, config: &CheckConfig) -> Result<OpsReport, OpFailure> {
    let config = super::effective::<T>(config);
    let inner = tape.inner.borrow();
    let mut report = OpsReport {
        ops: 0,
        checked: 0,
        at_kinks: 0,
        unchecked: 0,
    };
    for j in 1..inner.len() {
        let local = match node(&inner, j) {
            Node::Source => continue,
            Node::Opaque => {
                report.unchecked += 1;
                continue;
            }
            Node::Op(local) => local,
        };
        report.ops += 1;
        let fail = |mismatches, checked, note| OpFailure {
            node: j,
            op: local.name(),
            location: inner.location(j),
            mismatches,
            checked,
            note,
        };
        match check_one(&local, &config, j as u64) {
            Ok(c) if c.mismatches.is_empty() => {
                report.checked += c.checked;
                report.at_kinks += c.at_kinks;
            }
            Ok(c) => return Err(fail(c.mismatches, c.checked, None)),
            Err(note) => return Err(fail(Vec::new(), 0, Some(note))),
        }
    }
    Ok(report)
}

/// The branch decisions of every op on the tape, by node: two recordings of one function
/// whose signatures differ lie on two sides of a kink (or took different paths).
pub(super) fn branch_signature<T: Element>(tape: &Tape<T>) -> Vec<(usize, Vec<usize>)> {
    let inner = tape.inner.borrow();
    let mut sig = Vec::new();
    for j in 1..inner.len() {
        if let Node::Op(local) = node(&inner, j) {
            let b = local.branches(&local.inputs);
            if !b.is_empty() {
                sig.push((j, b));
            }
        }
    }
    // The length tells recordings of different paths apart, where no op has branches.
    sig.push((inner.len(), Vec::new()));
    sig
}

struct OneOp {
    checked: usize,
    at_kinks: usize,
    mismatches: Vec<OpMismatch>,
}

/// The elements of an input of `n` to perturb: all, or [`MAX_ELEMENTS_PER_INPUT`] spread
/// evenly.
fn elements(n: usize) -> Vec<usize> {
    if n <= MAX_ELEMENTS_PER_INPUT {
        (0..n).collect()
    } else {
        (0..MAX_ELEMENTS_PER_INPUT)
            .map(|k| k * n / MAX_ELEMENTS_PER_INPUT)
            .collect()
    }
}

fn check_one<T: Element>(
    local: &Local<T>,
    config: &CheckConfig,
    seed: u64,
) -> Result<OneOp, String> {
    let xs = &local.inputs;
    let out = local.forward(xs)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..out.len())
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let cot = Array::from_vec(v.iter().map(|&c| T::cast_from(c)).collect(), out.shape())
        .expect("internal error: cotangent shape");
    // The cotangent as it is in `T`, so that both sides project on the same vector.
    let v: Vec<f64> = cot.data().iter().map(|c| c.as_f64()).collect();
    let project =
        |a: &Array<T>| -> f64 { a.data().iter().zip(&v).map(|(a, v)| a.as_f64() * v).sum() };
    let grads = local.backward(&out, &cot)?;
    let f0 = project(&out);
    let sig0 = local.branches(xs);
    let mut result = OneOp {
        checked: 0,
        at_kinks: 0,
        mismatches: Vec::new(),
    };
    for (k, x) in xs.iter().enumerate() {
        for j in elements(x.len()) {
            let x0 = x.data()[j];
            let plus = T::cast_from(x0.as_f64() + config.eps);
            let minus = T::cast_from(x0.as_f64() - config.eps);
            let mut moved = xs.clone();
            moved[k].data_mut()[j] = plus;
            let f_plus = project(&local.forward(&moved)?);
            let sig_plus = (!sig0.is_empty()).then(|| local.branches(&moved));
            moved[k].data_mut()[j] = minus;
            let f_minus = project(&local.forward(&moved)?);
            let sig_minus = (!sig0.is_empty()).then(|| local.branches(&moved));
            let (h_plus, h_minus) = (plus.as_f64() - x0.as_f64(), x0.as_f64() - minus.as_f64());
            let central = (f_plus - f_minus) / (h_plus + h_minus);
            let kink = match (sig_plus, sig_minus) {
                (Some(p), Some(m)) if p != sig0 || m != sig0 => Some(if p == sig0 {
                    Side::Right
                } else if m == sig0 {
                    Side::Left
                } else {
                    Side::Central
                }),
                _ => None,
            };
            let numeric = match kink {
                Some(Side::Right) => (f_plus - f0) / h_plus,
                Some(Side::Left) => (f0 - f_minus) / h_minus,
                _ => central,
            };
            let analytic = grads[k].data()[j].as_f64();
            result.checked += 1;
            if config.accepts(analytic, numeric) {
                result.at_kinks += usize::from(kink.is_some());
            } else {
                let abs_err = (analytic - numeric).abs();
                result.mismatches.push(OpMismatch {
                    input: k,
                    element: j,
                    analytic,
                    numeric,
                    abs_err,
                    rel_err: abs_err / numeric.abs(),
                    kink,
                });
            }
        }
    }
    Ok(result)
}
