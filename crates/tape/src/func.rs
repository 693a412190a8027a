//! Function transforms on plain slices, the way `jax.grad` is used: give a closure over
//! [`Scalar`]s and a point, get numbers back.
//!
//! The closures have the form `|x: &[Scalar<T>]| -> Scalar<T>` (scalar-valued) or
//! `-> Vec<Scalar<T>>` (vector-valued). Because [`Scalar`] implements `num_traits::Float`, a
//! function written generic over `Float` is passed as it is: `|x| rosenbrock(x)`.
//!
//! | transform | of | gives | how |
//! | --- | --- | --- | --- |
//! | [`value_and_grad`], [`grad`] | `f: ℝⁿ → ℝ` | `f(x)`, `∇f(x)` | one backward pass |
//! | [`jvp`] | `f: ℝⁿ → ℝ` | `f(x)`, `∇f(x)·v` | one forward pass |
//! | [`hvp`] | `f: ℝⁿ → ℝ` | `∇²f(x)·v` | reverse over reverse |
//! | [`hessian`], [`value_grad_hessian`] | `f: ℝⁿ → ℝ` | `∇²f(x)` (and `f`, `∇f`) | `n` backward passes over the recorded gradient |
//! | [`jvp_vec`] | `f: ℝⁿ → ℝᵐ` | `f(x)`, `J·v` | one forward pass |
//! | [`vjp`] | `f: ℝⁿ → ℝᵐ` | `f(x)`, `Jᵀ·u` | one backward pass |
//! | [`jacfwd`], [`jacrev`], [`jacobian`] | `f: ℝⁿ → ℝᵐ` | `J` (`m` rows of `n`) | `n` forward or `m` backward passes; [`jacobian`] picks the fewer |
//!
//! The same names exist for functions of one tensor in [`crate::higher`]. Each function here
//! records on a fresh tape; a [`Workspace`] keeps one tape and reuses its memory from call to
//! call (an optimiser's inner loop).
//!
//! Forward mode runs on the recorded list: each scalar node stores its local partials, so a
//! tangent is carried from the inputs to the outputs in one pass over the nodes, at the cost of
//! a backward sweep and independent of the number of inputs. Where the closure recorded tensor
//! ops (which store reverse rules only), [`jvp_vec`] and [`jacfwd`] fall back to the transpose
//! of the transpose: `J·v = ∇ᵤ⟨Jᵀu, v⟩`, two more reverse passes.
//!
//! ```
//! use num_traits::Float;
//! use tape::func;
//!
//! // Written for any `Float`, differentiated unchanged.
//! fn rosenbrock<F: Float>(x: &[F]) -> F {
//!     let (a, b) = (F::one(), F::from(100.0).unwrap());
//!     x.windows(2).map(|w| (a - w[0]).powi(2) + b * (w[1] - w[0].powi(2)).powi(2))
//!         .fold(F::zero(), |s, t| s + t)
//! }
//! let (value, g) = func::value_and_grad(|x| rosenbrock(x), &[1.0, 1.0, 1.0]).unwrap();
//! assert_eq!((value, g), (0.0, vec![0.0, 0.0, 0.0])); // the minimum
//! let h = func::hessian(|x| rosenbrock(x), &[1.0, 1.0]).unwrap();
//! assert_eq!(h, vec![vec![802.0, -400.0], vec![-400.0, 200.0]]);
//! ```

use crate::forward::tangents;
use crate::{Element, Scalar, Tape, TapeError};

/// One tape kept across calls of the transforms, so that a loop calling them (an optimiser's
/// iterations) reuses its memory instead of allocating a tape per call. The free functions of
/// this module are these methods on a fresh workspace.
///
/// ```
/// use tape::func::Workspace;
/// let mut ws = Workspace::<f64>::new();
/// let mut x = vec![3.0, -2.0];
/// for _ in 0..100 {
///     // Gradient descent on ‖x‖²: the tape's capacity is reused each step.
///     let (_, g) = ws.value_and_grad(|x| x[0] * x[0] + x[1] * x[1], &x).unwrap();
///     x.iter_mut().zip(&g).for_each(|(xi, gi)| *xi -= 0.1 * gi);
/// }
/// assert!(x.iter().all(|v| v.abs() < 1e-9));
/// ```
pub struct Workspace<T: Element = f64> {
    tape: Tape<T>,
}

impl<T: Element> Default for Workspace<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The error for a closure whose result is on another tape than the one its inputs are on.
fn foreign(op: &'static str) -> TapeError {
    TapeError::invalid(
        op,
        "the function's result is on another tape than its inputs; build it from the inputs",
        &[],
    )
}

/// Whether `y` is on `tape` (`Ok(false)`: a constant on no tape, whose derivatives are 0).
fn on_tape<T: Element>(
    tape: &Tape<T>,
    y: Scalar<'_, T>,
    op: &'static str,
) -> Result<bool, TapeError> {
    match y.tape() {
        None => Ok(false),
        Some(t) if std::ptr::eq(t, tape) => Ok(true),
        Some(_) => Err(foreign(op)),
    }
}

fn check_len(op: &'static str, what: &'static str, x: usize, v: usize) -> Result<(), TapeError> {
    if x == v {
        Ok(())
    } else {
        Err(TapeError::shape(op, what, &[x], &[v]))
    }
}

/// The error of a direction `v` whose length differs from the point `x`'s.
fn check_direction<T>(op: &'static str, x: &[T], v: &[T]) -> Result<(), TapeError> {
    check_len(
        op,
        "direction length differs from the point",
        x.len(),
        v.len(),
    )
}

fn dot<T: Element>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&x, &y)| s + x * y)
}

impl<T: Element> Workspace<T> {
    /// A workspace with an empty tape.
    pub fn new() -> Self {
        Workspace { tape: Tape::new() }
    }

    /// `f(x)` and `∇f(x)` from one recording and one backward pass.
    ///
    /// # Errors
    /// The errors of [`Scalar::try_backward`] (anomalies, custom functions);
    /// [`TapeError::InvalidArgument`] if the result is on another tape.
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// let (v, g) = ws.value_and_grad(|x| x[0] * x[1].sin(), &[2.0, 0.0]).unwrap();
    /// assert_eq!((v, g), (0.0, vec![0.0, 2.0])); // (sin x₁, x₀ cos x₁)
    /// ```
    pub fn value_and_grad<F>(&mut self, f: F, x: &[T]) -> Result<(T, Vec<T>), TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
    {
        self.tape.clear();
        let xs = self.tape.vars(x);
        let y = f(&xs);
        if !on_tape(&self.tape, y, "value_and_grad")? {
            return Ok((y.value(), vec![T::zero(); x.len()]));
        }
        Ok((y.value(), y.try_backward()?.wrt_all(&xs)))
    }

    /// `∇f(x)`: [`Workspace::value_and_grad`] without the value.
    ///
    /// # Errors
    /// As [`Workspace::value_and_grad`].
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// assert_eq!(ws.grad(|x| x[0] * x[0] * x[1], &[3.0, 2.0]).unwrap(), vec![12.0, 9.0]);
    /// ```
    pub fn grad<F>(&mut self, f: F, x: &[T]) -> Result<Vec<T>, TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
    {
        Ok(self.value_and_grad(f, x)?.1)
    }

    /// `f(x)` and the directional derivative `∇f(x)·v`, by one forward pass over the recorded
    /// list: its cost is a small constant times that of `f`, whatever the length of `x`.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if `v` and `x` differ in length; as
    /// [`Workspace::value_and_grad`] where the list holds tensor ops (reverse mode is used then).
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// // f = x₀² + 3x₁: ∇f = (2x₀, 3), so ∇f·(1, 1) = 2·2 + 3
    /// let (v, d) = ws.jvp(|x| x[0] * x[0] + 3.0 * x[1], &[2.0, 5.0], &[1.0, 1.0]).unwrap();
    /// assert_eq!((v, d), (19.0, 7.0));
    /// ```
    pub fn jvp<F>(&mut self, f: F, x: &[T], v: &[T]) -> Result<(T, T), TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
    {
        check_direction("jvp", x, v)?;
        self.tape.clear();
        let xs = self.tape.vars(x);
        let y = f(&xs);
        if !on_tape(&self.tape, y, "jvp")? {
            return Ok((y.value(), T::zero()));
        }
        let seeds: Vec<(u32, T)> = xs.iter().map(|s| s.idx).zip(v.iter().copied()).collect();
        match tangents(&self.tape, &seeds, y.index()) {
            Some(t) => Ok((y.value(), t[y.index()])),
            None => Ok((y.value(), dot(&y.try_backward()?.wrt_all(&xs), v))),
        }
    }

    /// The Hessian-vector product `∇²f(x)·v`, by reverse over reverse: the gradient is
    /// recorded ([`Scalar::backward_graph`]) and `⟨∇f, v⟩` differentiated; about three
    /// backward passes, whatever the length of `x`.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if `v` and `x` differ in length; the errors of
    /// [`Scalar::backward_graph`].
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// // f = x₀²x₁: ∇²f = [[2x₁, 2x₀], [2x₀, 0]]
    /// let hv = ws.hvp(|x| x[0] * x[0] * x[1], &[3.0, 5.0], &[1.0, 0.0]).unwrap();
    /// assert_eq!(hv, vec![10.0, 6.0]);
    /// ```
    pub fn hvp<F>(&mut self, f: F, x: &[T], v: &[T]) -> Result<Vec<T>, TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
    {
        check_direction("hvp", x, v)?;
        self.tape.clear();
        let xs = self.tape.vars(x);
        let y = f(&xs);
        if !on_tape(&self.tape, y, "hvp")? {
            return Ok(vec![T::zero(); x.len()]);
        }
        let gg = y.backward_graph()?;
        let gv: Scalar<'_, T> = xs.iter().zip(v).map(|(&xi, &vi)| gg.wrt(xi) * vi).sum();
        if gv.tape().is_none() {
            return Ok(vec![T::zero(); x.len()]);
        }
        Ok(gv.try_backward()?.wrt_all(&xs))
    }

    /// `f(x)`, `∇f(x)` and the Hessian `∇²f(x)` (row `i` is the gradient of `∂f/∂xᵢ`) from one
    /// recording: the gradient is recorded once and differentiated `n` times. For small `n`.
    ///
    /// # Errors
    /// The errors of [`Scalar::backward_graph`].
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// let (v, g, h) = ws.value_grad_hessian(|x| x[0] * x[0] * x[1], &[3.0, 5.0]).unwrap();
    /// assert_eq!((v, g), (45.0, vec![30.0, 9.0]));
    /// assert_eq!(h, vec![vec![10.0, 6.0], vec![6.0, 0.0]]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn value_grad_hessian<F>(
        &mut self,
        f: F,
        x: &[T],
    ) -> Result<(T, Vec<T>, Vec<Vec<T>>), TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
    {
        let n = x.len();
        self.tape.clear();
        let xs = self.tape.vars(x);
        let y = f(&xs);
        if !on_tape(&self.tape, y, "hessian")? {
            return Ok((y.value(), vec![T::zero(); n], vec![vec![T::zero(); n]; n]));
        }
        let gg = y.backward_graph()?;
        let gs: Vec<Scalar<'_, T>> = xs.iter().map(|&xi| gg.wrt(xi)).collect();
        let mut rows = Vec::with_capacity(n);
        for g in &gs {
            rows.push(match g.tape() {
                Some(_) => g.try_backward()?.wrt_all(&xs),
                None => vec![T::zero(); n],
            });
        }
        Ok((y.value(), gs.iter().map(|g| g.value()).collect(), rows))
    }

    /// The Hessian `∇²f(x)`: [`Workspace::value_grad_hessian`] without the value and gradient.
    ///
    /// # Errors
    /// The errors of [`Scalar::backward_graph`].
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// let h = ws.hessian(|x| (x[0] * x[1]).sin(), &[0.0, 0.0]).unwrap();
    /// // f = sin(x₀x₁): ∇²f = [[−x₁² sin, cos − x₀x₁ sin], [cos − x₀x₁ sin, −x₀² sin]]
    /// assert_eq!(h, vec![vec![0.0, 1.0], vec![1.0, 0.0]]);
    /// ```
    pub fn hessian<F>(&mut self, f: F, x: &[T]) -> Result<Vec<Vec<T>>, TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Scalar<'t, T>,
    {
        Ok(self.value_grad_hessian(f, x)?.2)
    }

    /// `f(x)` and `J·v` for a vector-valued `f`, by one forward pass over the recorded list
    /// (where the list holds tensor ops, by the transpose of the transpose, `∇ᵤ⟨Jᵀu, v⟩`).
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if `v` and `x` differ in length; where reverse mode is used,
    /// the errors of [`Scalar::backward_graph`].
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// // f = (x₀x₁, x₀ + x₁): J = [[x₁, x₀], [1, 1]]
    /// let (y, jv) = ws.jvp_vec(|x| vec![x[0] * x[1], x[0] + x[1]], &[2.0, 3.0], &[1.0, 0.0]).unwrap();
    /// assert_eq!((y, jv), (vec![6.0, 5.0], vec![3.0, 1.0]));
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn jvp_vec<F>(&mut self, f: F, x: &[T], v: &[T]) -> Result<(Vec<T>, Vec<T>), TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Vec<Scalar<'t, T>>,
    {
        check_direction("jvp_vec", x, v)?;
        self.tape.clear();
        let xs = self.tape.vars(x);
        let ys = f(&xs);
        let values = ys.iter().map(|y| y.value()).collect();
        Ok((values, directional(&self.tape, &xs, &ys, v)?))
    }

    /// `f(x)` and `Jᵀ·u` for a vector-valued `f`, by one backward pass (from `⟨u, f(x)⟩`).
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if `u` and `f(x)` differ in length; the errors of
    /// [`Scalar::try_backward`].
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// let (y, g) = ws.vjp(|x| vec![x[0] * x[1], x[0] + x[1]], &[2.0, 3.0], &[1.0, 10.0]).unwrap();
    /// assert_eq!((y, g), (vec![6.0, 5.0], vec![13.0, 12.0])); // Jᵀu = (x₁ + 10, x₀ + 10)
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn vjp<F>(&mut self, f: F, x: &[T], u: &[T]) -> Result<(Vec<T>, Vec<T>), TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Vec<Scalar<'t, T>>,
    {
        self.tape.clear();
        let xs = self.tape.vars(x);
        let ys = f(&xs);
        check_len(
            "vjp",
            "cotangent length differs from the output",
            ys.len(),
            u.len(),
        )?;
        let values = ys.iter().map(|y| y.value()).collect();
        let s: Scalar<'_, T> = ys.iter().zip(u).map(|(&y, &ui)| y * ui).sum();
        if !on_tape(&self.tape, s, "vjp")? {
            return Ok((values, vec![T::zero(); x.len()]));
        }
        Ok((values, s.try_backward()?.wrt_all(&xs)))
    }

    /// The Jacobian of a vector-valued `f` (row `i` is the gradient of output `i`) by forward
    /// mode: one forward pass per input over one recording. For `n ≤ m`.
    ///
    /// # Errors
    /// Where the list holds tensor ops, the errors of [`Scalar::backward_graph`].
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// let j = ws.jacfwd(|x| vec![x[0] * x[1], x[0] + x[1], x[1].exp()], &[2.0, 0.0]).unwrap();
    /// assert_eq!(j, vec![vec![0.0, 2.0], vec![1.0, 1.0], vec![0.0, 1.0]]);
    /// ```
    pub fn jacfwd<F>(&mut self, f: F, x: &[T]) -> Result<Vec<Vec<T>>, TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Vec<Scalar<'t, T>>,
    {
        let n = x.len();
        self.tape.clear();
        let xs = self.tape.vars(x);
        let ys = f(&xs);
        let mut rows = vec![vec![T::zero(); n]; ys.len()];
        let mut e = vec![T::zero(); n];
        for j in 0..n {
            e[j] = T::one();
            let column = directional(&self.tape, &xs, &ys, &e)?;
            e[j] = T::zero();
            for (row, c) in rows.iter_mut().zip(column) {
                row[j] = c;
            }
        }
        Ok(rows)
    }

    /// The Jacobian of a vector-valued `f` by reverse mode: one backward pass per output over
    /// one recording. For `m ≤ n`.
    ///
    /// # Errors
    /// The errors of [`Scalar::try_backward`].
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// let j = ws.jacrev(|x| vec![x[0] * x[1] * x[2]], &[1.0, 2.0, 3.0]).unwrap();
    /// assert_eq!(j, vec![vec![6.0, 3.0, 2.0]]);
    /// ```
    pub fn jacrev<F>(&mut self, f: F, x: &[T]) -> Result<Vec<Vec<T>>, TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Vec<Scalar<'t, T>>,
    {
        self.tape.clear();
        let xs = self.tape.vars(x);
        let ys = f(&xs);
        ys.iter()
            .map(|&y| {
                if on_tape(&self.tape, y, "jacrev")? {
                    Ok(y.try_backward()?.wrt_all(&xs))
                } else {
                    Ok(vec![T::zero(); x.len()])
                }
            })
            .collect()
    }

    /// The Jacobian of a vector-valued `f`, `m` rows of `n`: by forward mode ([`Workspace::jacfwd`],
    /// `n` passes) when there are no more inputs than outputs, else by reverse mode
    /// ([`Workspace::jacrev`], `m` passes). The output count is known after one recording, so
    /// `f` is recorded once more if reverse mode is chosen.
    ///
    /// # Errors
    /// As the mode chosen.
    ///
    /// ```
    /// let mut ws = tape::func::Workspace::<f64>::new();
    /// // 2 inputs, 2 outputs: forward mode.
    /// let j = ws.jacobian(|x| vec![x[0] * x[1], x[0] - x[1]], &[2.0, 3.0]).unwrap();
    /// assert_eq!(j, vec![vec![3.0, 2.0], vec![1.0, -1.0]]);
    /// ```
    pub fn jacobian<F>(&mut self, f: F, x: &[T]) -> Result<Vec<Vec<T>>, TapeError>
    where
        F: for<'t> Fn(&[Scalar<'t, T>]) -> Vec<Scalar<'t, T>>,
    {
        let m = {
            self.tape.clear();
            let xs = self.tape.vars(x);
            f(&xs).len()
        };
        if x.len() <= m {
            self.jacfwd(f, x)
        } else {
            self.jacrev(f, x)
        }
    }
}

/// `J·v` of the outputs `ys` with respect to the inputs `xs` (recorded on `tape`): one tangent
/// pass, or where tensor ops are on the way, `∇ᵤ⟨Jᵀu, v⟩` by two recorded reverse passes.
fn directional<'t, T: Element>(
    tape: &'t Tape<T>,
    xs: &[Scalar<'t, T>],
    ys: &[Scalar<'t, T>],
    v: &[T],
) -> Result<Vec<T>, TapeError> {
    let mut on = Vec::with_capacity(ys.len());
    for &y in ys {
        on.push(on_tape(tape, y, "jvp_vec")?);
    }
    let Some(last) = ys
        .iter()
        .zip(&on)
        .filter(|(_, on)| **on)
        .map(|(y, _)| y.index())
        .max()
    else {
        return Ok(vec![T::zero(); ys.len()]);
    };
    let seeds: Vec<(u32, T)> = xs.iter().map(|s| s.idx).zip(v.iter().copied()).collect();
    if let Some(t) = tangents(tape, &seeds, last) {
        return Ok(ys
            .iter()
            .zip(&on)
            .map(|(y, &on)| if on { t[y.index()] } else { T::zero() })
            .collect());
    }
    // Jᵀu is linear in u, so u's value does not matter: 0.
    let us = tape.vars(&vec![T::zero(); ys.len()]);
    let s: Scalar<'t, T> = us.iter().zip(ys).map(|(&u, &y)| u * y).sum();
    let gg = s.backward_graph()?;
    let d: Scalar<'t, T> = xs.iter().zip(v).map(|(&x, &vi)| gg.wrt(x) * vi).sum();
    if d.tape().is_none() {
        return Ok(vec![T::zero(); ys.len()]);
    }
    Ok(d.try_backward()?.wrt_all(&us))
}

macro_rules! free_functions {
    ($( $(#[doc = $doc:literal])* $name:ident($($arg:ident: $ty:ty),*) -> $out:ty where F: $bound:ty; )*) => {
        $(
            $(#[doc = $doc])*
            ///
            /// # Errors
            #[doc = concat!("As [`Workspace::", stringify!($name), "`].")]
            pub fn $name<T: Element, F>(f: F, $($arg: $ty),*) -> Result<$out, TapeError>
            where
                F: for<'t> Fn(&[Scalar<'t, T>]) -> $bound,
            {
                Workspace::new().$name(f, $($arg),*)
            }
        )*
    };
}

free_functions! {
    /// `f(x)` and `∇f(x)` ([`Workspace::value_and_grad`] on a fresh tape).
    ///
    /// ```
    /// let (v, g) = tape::func::value_and_grad(|x| x[0].exp() * x[1], &[0.0, 2.0]).unwrap();
    /// assert_eq!((v, g), (2.0, vec![2.0, 1.0]));
    /// ```
    value_and_grad(x: &[T]) -> (T, Vec<T>) where F: Scalar<'t, T>;
    /// `∇f(x)` ([`Workspace::grad`] on a fresh tape).
    ///
    /// ```
    /// assert_eq!(tape::func::grad(|x| x[0] * x[1], &[2.0, 3.0]).unwrap(), vec![3.0, 2.0]);
    /// ```
    grad(x: &[T]) -> Vec<T> where F: Scalar<'t, T>;
    /// `f(x)` and `∇f(x)·v` in one forward pass ([`Workspace::jvp`] on a fresh tape).
    ///
    /// ```
    /// let (v, d) = tape::func::jvp(|x| x[0].sin(), &[0.0], &[2.0]).unwrap();
    /// assert_eq!((v, d), (0.0, 2.0));
    /// ```
    jvp(x: &[T], v: &[T]) -> (T, T) where F: Scalar<'t, T>;
    /// `∇²f(x)·v` ([`Workspace::hvp`] on a fresh tape).
    ///
    /// ```
    /// let hv = tape::func::hvp(|x| x[0].powi(3), &[2.0], &[1.0]).unwrap();
    /// assert_eq!(hv, vec![12.0]); // 6x
    /// ```
    hvp(x: &[T], v: &[T]) -> Vec<T> where F: Scalar<'t, T>;
    /// `f(x)`, `∇f(x)` and `∇²f(x)` ([`Workspace::value_grad_hessian`] on a fresh tape).
    ///
    /// ```
    /// let (v, g, h) = tape::func::value_grad_hessian(|x| x[0] * x[0], &[3.0]).unwrap();
    /// assert_eq!((v, g, h), (9.0, vec![6.0], vec![vec![2.0]]));
    /// ```
    value_grad_hessian(x: &[T]) -> (T, Vec<T>, Vec<Vec<T>>) where F: Scalar<'t, T>;
    /// `∇²f(x)` ([`Workspace::hessian`] on a fresh tape).
    ///
    /// ```
    /// let h = tape::func::hessian(|x| x[0] * x[1], &[1.0, 2.0]).unwrap();
    /// assert_eq!(h, vec![vec![0.0, 1.0], vec![1.0, 0.0]]);
    /// ```
    hessian(x: &[T]) -> Vec<Vec<T>> where F: Scalar<'t, T>;
    /// `f(x)` and `J·v` ([`Workspace::jvp_vec`] on a fresh tape).
    ///
    /// ```
    /// let (y, jv) = tape::func::jvp_vec(|x| vec![x[0] * 2.0, x[0] * x[0]], &[3.0], &[1.0]).unwrap();
    /// assert_eq!((y, jv), (vec![6.0, 9.0], vec![2.0, 6.0]));
    /// ```
    jvp_vec(x: &[T], v: &[T]) -> (Vec<T>, Vec<T>) where F: Vec<Scalar<'t, T>>;
    /// `f(x)` and `Jᵀ·u` ([`Workspace::vjp`] on a fresh tape).
    ///
    /// ```
    /// let (y, g) = tape::func::vjp(|x| vec![x[0] * 2.0, x[0] * x[0]], &[3.0], &[1.0, 1.0]).unwrap();
    /// assert_eq!((y, g), (vec![6.0, 9.0], vec![8.0]));
    /// ```
    vjp(x: &[T], u: &[T]) -> (Vec<T>, Vec<T>) where F: Vec<Scalar<'t, T>>;
    /// The Jacobian by forward mode ([`Workspace::jacfwd`] on a fresh tape).
    ///
    /// ```
    /// let j = tape::func::jacfwd(|x| vec![x[0] * x[1]], &[2.0, 3.0]).unwrap();
    /// assert_eq!(j, vec![vec![3.0, 2.0]]);
    /// ```
    jacfwd(x: &[T]) -> Vec<Vec<T>> where F: Vec<Scalar<'t, T>>;
    /// The Jacobian by reverse mode ([`Workspace::jacrev`] on a fresh tape).
    ///
    /// ```
    /// let j = tape::func::jacrev(|x| vec![x[0] * x[1]], &[2.0, 3.0]).unwrap();
    /// assert_eq!(j, vec![vec![3.0, 2.0]]);
    /// ```
    jacrev(x: &[T]) -> Vec<Vec<T>> where F: Vec<Scalar<'t, T>>;
    /// The Jacobian, by forward or reverse mode, whichever needs fewer passes
    /// ([`Workspace::jacobian`] on a fresh tape).
    ///
    /// ```
    /// let j = tape::func::jacobian(|x| vec![x[0] + x[1], x[0] * x[1]], &[2.0, 3.0]).unwrap();
    /// assert_eq!(j, vec![vec![1.0, 1.0], vec![3.0, 2.0]]);
    /// ```
    jacobian(x: &[T]) -> Vec<Vec<T>> where F: Vec<Scalar<'t, T>>;
}
