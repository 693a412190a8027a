//! Problems for the [`argmin`](https://docs.rs/argmin) optimisation crate, differentiated by
//! the tape (feature `argmin`).
//!
//! argmin's solvers ask a problem for its cost, gradient and Hessian through three traits,
//! [`CostFunction`], [`Gradient`] and [`Hessian`]. [`Differentiated`] implements all three for
//! a closure over [`Scalar`]s, the form the function transforms of [`crate::func`] take, with
//! argmin-math's `vec` backend: the parameter is a `Vec<T>`, the gradient a `Vec<T>` and the
//! Hessian a `Vec<Vec<T>>` (row `i` is the gradient of `∂f/∂xᵢ`), for `T` = `f64` or `f32`.
//! Every solver of argmin that works on that backend can then run on it — L-BFGS, BFGS,
//! nonlinear conjugate gradient, Newton-CG, trust region with Steihaug or Cauchy point, gradient
//! descent with a line search. (argmin's plain `Newton` needs a matrix inverse, which the `vec`
//! backend does not have: use a trust region there. argmin 0.11's Newton-CG runs, but on the
//! iris regression of `docs/embedding.md` it had not converged after 1,000 iterations, with the
//! tape's derivatives or with finite differences alike; its trust region converges in about a
//! dozen steps.)
//!
//! **Value and gradient come from one pass.** argmin asks for the cost and the gradient in two
//! calls; a line search asks for both at each trial point, and L-BFGS asks again for the gradient
//! at the point its line search ended on. A [`Differentiated`] answers the first of those calls
//! with [`Workspace::value_and_grad`] — one recording and one backward pass — and keeps the last
//! point with its value and gradient, so that the other call, at the same point, costs nothing.
//! [`Differentiated::counts`] tells how many requests were answered so: on the 100-D Rosenbrock
//! function from (−1.2, 1, …), L-BFGS with a More–Thuente line search asks for 636 costs and
//! 1,176 gradients, and `Differentiated` answers them with 636 passes (`examples/argmin_optimise.rs`,
//! figures in `docs/embedding.md`).
//!
//! The crate's modules [`core`] and [`solver`] are re-exported, so that a program names the
//! argmin this problem is written for (argmin 0.11) through this path, or depends on the same
//! version itself.
//!
//! ```
//! use num_traits::Float;
//! use tape::argmin::core::{Executor, State};
//! use tape::argmin::solver::{linesearch::MoreThuenteLineSearch, quasinewton::LBFGS};
//! use tape::argmin::Differentiated;
//!
//! // Written for any `Float`, differentiated unchanged.
//! fn rosenbrock<F: Float>(x: &[F]) -> F {
//!     let (a, b) = (F::one(), F::from(100.0).unwrap());
//!     x.windows(2).map(|w| (a - w[0]).powi(2) + b * (w[1] - w[0].powi(2)).powi(2))
//!         .fold(F::zero(), |s, t| s + t)
//! }
//!
//! let problem = Differentiated::new(|x| rosenbrock(x));
//! let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7);
//! let result = Executor::new(problem, solver)
//!     .configure(|state| state.param(vec![-1.2, 1.0, -1.2, 1.0]).max_iters(100))
//!     .run()?;
//! let best = result.state.get_best_param().unwrap();
//! assert!(best.iter().all(|xi| (xi - 1.0).abs() < 1e-6), "{best:?}");
//! # Ok::<(), tape::argmin::core::Error>(())
//! ```

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ::argmin::core::{CostFunction, Error, Gradient, Hessian};

pub use ::argmin::{core, solver};

use crate::func::Workspace;
use crate::{Element, Scalar, TapeError};

/// An argmin problem made of a closure `f: ℝⁿ → ℝ` over [`Scalar`]s: its cost is `f(x)`, its
/// gradient `∇f(x)` and its Hessian `∇²f(x)`, all from the tape.
///
/// The closure has the form the transforms of [`crate::func`] take,
/// `for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>`; a function written generic over
/// `num_traits::Float` is passed as it is (`|x| rosenbrock(x)`). Data the function needs (a
/// data set, targets) is captured by the closure as plain numbers.
///
/// | argmin asks | `Differentiated` computes | with |
/// | --- | --- | --- |
/// | [`CostFunction::cost`] | `f(x)` and `∇f(x)`, unless `x` is the last point | [`Workspace::value_and_grad`] |
/// | [`Gradient::gradient`] | the same | [`Workspace::value_and_grad`] |
/// | [`Hessian::hessian`] | `f(x)`, `∇f(x)` and `∇²f(x)` | [`Workspace::value_grad_hessian`] (`n` backward passes over the recorded gradient) |
///
/// The last point evaluated is kept with its value and gradient, so that the cost and the
/// gradient at one point take one pass between them, whichever argmin asks for first ("the
/// same point" is the same numbers, signs of zero included). A cost asked for alone still pays
/// for the gradient — about as much again as the function — since argmin's gradient-based
/// solvers nearly always ask for the gradient next.
///
/// One tape ([`Workspace`]) is kept and cleared from call to call, so the recording reuses its
/// memory. The tape and the cache sit behind a `Mutex`, because argmin's traits take `&self`;
/// so the problem is `Sync` when the closure is, as argmin's `rayon` feature requires, and
/// calls from several threads take turns.
///
/// ```
/// use argmin::core::{CostFunction, Gradient, Hessian};
/// use tape::argmin::Differentiated;
///
/// // f = x₀²·x₁: ∇f = (2x₀x₁, x₀²), ∇²f = [[2x₁, 2x₀], [2x₀, 0]]
/// let f = Differentiated::new(|x| x[0] * x[0] * x[1]);
/// let x = vec![3.0, 2.0];
/// assert_eq!(f.cost(&x)?, 18.0);
/// assert_eq!(f.gradient(&x)?, vec![12.0, 9.0]); // from the pass the cost made
/// assert_eq!(f.hessian(&x)?, vec![vec![4.0, 6.0], vec![6.0, 0.0]]);
/// assert_eq!(f.counts().value_and_grad, 1);
/// # Ok::<(), argmin::core::Error>(())
/// ```
pub struct Differentiated<F, T: Element = f64> {
    f: F,
    state: Mutex<State<T>>,
}

/// What a [`Differentiated`] keeps between calls: its tape, the last point with its value and
/// gradient, and the counts.
struct State<T: Element> {
    workspace: Workspace<T>,
    last: Option<Evaluation<T>>,
    counts: Counts,
}

/// `f(x)` and `∇f(x)` at `x`.
struct Evaluation<T> {
    x: Vec<T>,
    value: T,
    grad: Vec<T>,
}

/// What argmin asked a [`Differentiated`] for, and what the tape computed to answer.
///
/// `cost + gradient − value_and_grad` requests were answered from the last point's value and
/// gradient ([`Counts::reused`]); a glue that evaluated each request on its own would have
/// recorded the function that many more times.
///
/// ```
/// use argmin::core::{CostFunction, Gradient};
/// use tape::argmin::{Counts, Differentiated};
///
/// let f = Differentiated::new(|x| x[0].sin() * x[1]);
/// f.cost(&vec![1.0, 2.0])?;
/// f.gradient(&vec![1.0, 2.0])?; // the same point: no new pass
/// f.gradient(&vec![1.0, 3.0])?; // a new point
/// assert_eq!(f.counts(), Counts { cost: 1, gradient: 2, hessian: 0, value_and_grad: 2 });
/// assert_eq!(f.counts().reused(), 1);
/// # Ok::<(), argmin::core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    /// Calls of [`CostFunction::cost`].
    pub cost: u64,
    /// Calls of [`Gradient::gradient`].
    pub gradient: u64,
    /// Calls of [`Hessian::hessian`], each one recording and `n + 1` backward passes
    /// ([`Workspace::value_grad_hessian`]).
    pub hessian: u64,
    /// Value-and-gradient passes run, each one recording and one backward pass
    /// ([`Workspace::value_and_grad`]).
    pub value_and_grad: u64,
}

impl Counts {
    /// The cost and gradient requests answered without a pass of their own, from the value
    /// and gradient of the last point: `cost + gradient − value_and_grad`.
    ///
    /// ```
    /// use tape::argmin::Counts;
    /// let counts = Counts { cost: 31, gradient: 32, hessian: 0, value_and_grad: 32 };
    /// assert_eq!(counts.reused(), 31);
    /// ```
    pub fn reused(&self) -> u64 {
        (self.cost + self.gradient).saturating_sub(self.value_and_grad)
    }
}

impl<F, T> Differentiated<F, T>
where
    T: Element,
    F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
{
    /// The problem of minimising `f`, with an empty tape and no point evaluated yet.
    ///
    /// ```
    /// use argmin::core::CostFunction;
    /// use tape::argmin::Differentiated;
    ///
    /// let f = Differentiated::new(|x| x[0] * x[0] + x[1] * x[1]);
    /// assert_eq!(f.cost(&vec![3.0, 4.0])?, 25.0);
    /// // In single precision:
    /// let g = Differentiated::<_, f32>::new(|x| x[0].exp());
    /// assert_eq!(g.cost(&vec![0.0f32])?, 1.0f32);
    /// # Ok::<(), argmin::core::Error>(())
    /// ```
    pub fn new(f: F) -> Self {
        Differentiated {
            f,
            state: Mutex::new(State {
                workspace: Workspace::new(),
                last: None,
                counts: Counts::default(),
            }),
        }
    }

    /// How many times argmin asked for the cost, the gradient and the Hessian, and how many
    /// value-and-gradient passes answered them. After a run, take the problem back from the
    /// result to read them: `result.problem.take_problem()`.
    ///
    /// ```
    /// use argmin::core::{CostFunction, Gradient};
    /// use tape::argmin::Differentiated;
    ///
    /// let f = Differentiated::new(|x| x[0].powi(3));
    /// assert_eq!(f.gradient(&vec![2.0])?, vec![12.0]);
    /// assert_eq!(f.cost(&vec![2.0])?, 8.0); // from the gradient's pass
    /// assert_eq!((f.counts().value_and_grad, f.counts().reused()), (1, 1));
    /// # Ok::<(), argmin::core::Error>(())
    /// ```
    pub fn counts(&self) -> Counts {
        self.lock().counts
    }

    /// The closure this problem minimises.
    ///
    /// ```
    /// use tape::argmin::Differentiated;
    /// let problem = Differentiated::new(|x| x[0] * 2.0);
    /// let f = problem.into_inner();
    /// let (value, grad) = tape::func::value_and_grad(&f, &[3.0]).unwrap();
    /// assert_eq!((value, grad), (6.0, vec![2.0]));
    /// ```
    pub fn into_inner(self) -> F {
        self.f
    }

    /// The state, whether or not a closure panicked while another call held it: a call
    /// changes the cache only after its evaluation succeeded, so the state is whole either way.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `f(x)` and `∇f(x)` from the cache, or from a new pass that then fills it. `what` names
    /// the request for errors.
    fn value_and_grad(
        &self,
        state: &mut State<T>,
        x: &[T],
        what: &'static str,
    ) -> Result<(T, Vec<T>), Error> {
        if let Some(last) = state.last.as_ref().filter(|last| same_point(&last.x, x)) {
            return Ok((last.value, last.grad.clone()));
        }
        state.counts.value_and_grad += 1;
        let (value, grad) = state
            .workspace
            .value_and_grad(&self.f, x)
            .map_err(|e| tape_error(e, what))?;
        state.last = Some(Evaluation {
            x: x.to_vec(),
            value,
            grad: grad.clone(),
        });
        Ok((value, grad))
    }
}

/// Whether `a` and `b` are the same point: equal numbers with equal signs (so `0.0` and `-0.0`
/// differ, as `1/x` tells them apart; a point with a NaN is never the same).
fn same_point<T: Element>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(&p, &q)| p == q && p.is_sign_negative() == q.is_sign_negative())
}

/// A tape error as argmin's error: the message names the request and tapegrad's reason, and
/// the [`TapeError`] itself stays reachable with `downcast_ref::<TapeError>()`.
fn tape_error(e: TapeError, what: &'static str) -> Error {
    let message = format!("tapegrad could not compute the {what} argmin asked for: {e}");
    Error::new(e).context(message)
}

impl<F, T> CostFunction for Differentiated<F, T>
where
    T: Element,
    F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
{
    type Param = Vec<T>;
    type Output = T;

    /// `f(x)`, computed with `∇f(x)` in one pass, or taken from the last point's.
    ///
    /// # Errors
    /// The errors of [`Workspace::value_and_grad`] (a custom function's, a result on another
    /// tape than the inputs), as an [`argmin::core::Error`] whose message names the
    /// request and which downcasts to the [`TapeError`].
    ///
    /// ```
    /// use argmin::core::CostFunction;
    /// let f = tape::argmin::Differentiated::new(|x| x[0].ln());
    /// assert_eq!(f.cost(&vec![1.0])?, 0.0);
    /// # Ok::<(), argmin::core::Error>(())
    /// ```
    fn cost(&self, x: &Vec<T>) -> Result<T, Error> {
        let mut state = self.lock();
        state.counts.cost += 1;
        Ok(self.value_and_grad(&mut state, x, "cost")?.0)
    }
}

impl<F, T> Gradient for Differentiated<F, T>
where
    T: Element,
    F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
{
    type Param = Vec<T>;
    type Gradient = Vec<T>;

    /// `∇f(x)`, computed with `f(x)` in one pass, or taken from the last point's.
    ///
    /// # Errors
    /// As [`CostFunction::cost`].
    ///
    /// ```
    /// use argmin::core::Gradient;
    /// let f = tape::argmin::Differentiated::new(|x| x[0] * x[1]);
    /// assert_eq!(f.gradient(&vec![2.0, 5.0])?, vec![5.0, 2.0]);
    /// # Ok::<(), argmin::core::Error>(())
    /// ```
    fn gradient(&self, x: &Vec<T>) -> Result<Vec<T>, Error> {
        let mut state = self.lock();
        state.counts.gradient += 1;
        Ok(self.value_and_grad(&mut state, x, "gradient")?.1)
    }
}

impl<F, T> Hessian for Differentiated<F, T>
where
    T: Element,
    F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
{
    type Param = Vec<T>;
    type Hessian = Vec<Vec<T>>;

    /// `∇²f(x)`, row `i` the gradient of `∂f/∂xᵢ`: the gradient is recorded once and
    /// differentiated `n` times ([`Workspace::value_grad_hessian`]). The value and gradient
    /// that come with it become the last point's, so a cost or gradient asked for next at `x`
    /// needs no pass.
    ///
    /// # Errors
    /// The errors of [`Workspace::value_grad_hessian`], as an
    /// [`argmin::core::Error`] as for [`CostFunction::cost`].
    ///
    /// ```
    /// use argmin::core::{Gradient, Hessian};
    /// let f = tape::argmin::Differentiated::new(|x| x[0].sin() * x[1]);
    /// assert_eq!(f.hessian(&vec![0.0, 2.0])?, vec![vec![0.0, 1.0], vec![1.0, 0.0]]);
    /// assert_eq!(f.gradient(&vec![0.0, 2.0])?, vec![2.0, 0.0]); // no new pass
    /// assert_eq!(f.counts().value_and_grad, 0);
    /// # Ok::<(), argmin::core::Error>(())
    /// ```
    fn hessian(&self, x: &Vec<T>) -> Result<Vec<Vec<T>>, Error> {
        let mut state = self.lock();
        state.counts.hessian += 1;
        let (value, grad, hessian) = state
            .workspace
            .value_grad_hessian(&self.f, x)
            .map_err(|e| tape_error(e, "Hessian"))?;
        state.last = Some(Evaluation {
            x: x.clone(),
            value,
            grad,
        });
        Ok(hessian)
    }
}

impl<F, T: Element> fmt::Debug for Differentiated<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Differentiated")
            .field("element", &T::NAME)
            .field("counts", &state.counts)
            .field("last_point", &state.last.as_ref().map(|last| &last.x))
            .finish_non_exhaustive()
    }
}
