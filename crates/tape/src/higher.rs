//! Gradients of gradients, and the function transforms built on them.
//!
//! [`Scalar::backward_graph`] walks the list like [`Scalar::backward`], but evaluates each
//! op's derivative rule on tape handles instead of numbers, so every gradient it returns is
//! itself a recorded [`Scalar`] or [`Tensor`] ([`GraphGradients`]): it can be used in further
//! computation and differentiated again, any number of times. The rules are the same ones
//! first-order backward uses ([`crate::rules`] and the tensor vector-Jacobian products); there
//! is no second table of derivatives.
//!
//! On top of it, the function transforms for functions of one tensor: [`value_and_grad`],
//! [`grad`], Hessian-vector products ([`hvp`]), full Hessians ([`hessian`]), Jacobian-vector
//! products ([`jvp`]) and Jacobians ([`jacobian`]). [`crate::func`] has the same names for
//! functions of a slice of scalars.

pub use crate::backward::{GraphGradients, WrtGraph};
use crate::{Array, Element, Scalar, Tape, TapeError, Tensor};

/// `f(x)` and its gradient, for a scalar function of one tensor: one recording, one backward
/// pass (the tensor form of [`crate::func::value_and_grad`]).
///
/// # Errors
/// The errors of [`Scalar::try_backward`].
///
/// ```
/// use tape::{higher::value_and_grad, Array};
/// let x = Array::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let (v, g) = value_and_grad(|_, x| (x * x).sum(), &x).unwrap();
/// assert_eq!((v, g.data()), (5.0, &[2.0, 4.0][..]));
/// ```
pub fn value_and_grad<T, F>(f: F, x: &Array<T>) -> Result<(T, Array<T>), TapeError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, Tensor<'t, T>) -> Scalar<'t, T>,
{
    let tape = Tape::new();
    let xh = tape.tensor(x.clone());
    let y = f(&tape, xh);
    if y.tape().is_none() {
        return Ok((y.value(), Array::zeros(x.shape())));
    }
    let mut g = y.try_backward()?;
    Ok((y.value(), g.take(xh)))
}

/// `f(x)` and the Jacobian-vector product `J·v` of a tensor function of one tensor (the tensor
/// form of [`crate::func::jvp_vec`]), by the transpose of the transpose: with `u` of the
/// output's shape, `Jᵀu` is recorded ([`Scalar::backward_graph`]) and `J·v = ∇ᵤ⟨Jᵀu, v⟩`.
/// About three reverse passes, whatever the sizes.
///
/// # Errors
/// [`TapeError::ShapeMismatch`] if `v` does not have `x`'s shape; the errors of
/// [`Scalar::backward_graph`].
///
/// ```
/// use tape::{higher::jvp, Array};
/// // f(x) = x² elementwise: J = diag(2x)
/// let x = Array::from_vec(vec![1.0, 3.0], &[2]).unwrap();
/// let v = Array::from_vec(vec![1.0, 10.0], &[2]).unwrap();
/// let (y, jv) = jvp(|_, x| x * x, &x, &v).unwrap();
/// assert_eq!((y.data(), jv.data()), (&[1.0, 9.0][..], &[2.0, 60.0][..]));
/// ```
pub fn jvp<T, F>(f: F, x: &Array<T>, v: &Array<T>) -> Result<(Array<T>, Array<T>), TapeError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, Tensor<'t, T>) -> Tensor<'t, T>,
{
    if x.shape() != v.shape() {
        return Err(TapeError::shape(
            "jvp",
            "direction shape differs from the point",
            x.shape(),
            v.shape(),
        ));
    }
    let tape = Tape::new();
    let xh = tape.tensor(x.clone());
    let y = f(&tape, xh);
    // Jᵀu is linear in u, so u's value does not matter: zeros.
    let u = tape.zeros(&y.shape());
    let jtu = (u * y).sum().backward_graph()?.wrt(xh);
    let d = (jtu * tape.tensor_constant(v.clone())).sum();
    let mut g = d.try_backward()?;
    Ok((y.value(), g.take(u)))
}

/// The gradient of a scalar function of one tensor at `x`, as an array.
///
/// # Errors
/// The errors of [`Scalar::try_backward`].
///
/// ```
/// use tape::{higher::grad, Array};
/// let x = Array::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let g = grad(|_, x| (x * x).sum(), &x).unwrap();    // 2x
/// assert_eq!(g.data(), &[2.0, 4.0]);
/// ```
pub fn grad<T, F>(f: F, x: &Array<T>) -> Result<Array<T>, TapeError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, Tensor<'t, T>) -> Scalar<'t, T>,
{
    let tape = Tape::new();
    let xh = tape.tensor(x.clone());
    let mut g = f(&tape, xh).try_backward()?;
    Ok(g.take(xh))
}

/// The Hessian-vector product `∇²f(x)·v` of a scalar function, by reverse-over-reverse:
/// differentiate `⟨∇f(x), v⟩`, where `∇f` was recorded by [`Scalar::backward_graph`]. Costs
/// about three backward passes, whatever the size of `x`.
///
/// # Errors
/// [`TapeError::ShapeMismatch`] if `v` does not have `x`'s shape; the errors of
/// [`Scalar::backward_graph`].
///
/// ```
/// use tape::{higher::hvp, Array};
/// // f(x) = Σ x³ has Hessian diag(6x).
/// let x = Array::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let v = Array::from_vec(vec![1.0, 1.0], &[2]).unwrap();
/// assert_eq!(hvp(|_, x| x.powi(3).sum(), &x, &v).unwrap().data(), &[6.0, 12.0]);
/// ```
pub fn hvp<T, F>(f: F, x: &Array<T>, v: &Array<T>) -> Result<Array<T>, TapeError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, Tensor<'t, T>) -> Scalar<'t, T>,
{
    if x.shape() != v.shape() {
        return Err(TapeError::shape(
            "hvp",
            "direction shape differs from the point",
            x.shape(),
            v.shape(),
        ));
    }
    let tape = Tape::new();
    let xh = tape.tensor(x.clone());
    let gx = f(&tape, xh).backward_graph()?.wrt(xh);
    let mut h = (gx * tape.tensor_constant(v.clone()))
        .sum()
        .try_backward()?;
    Ok(h.take(xh))
}

/// The full Hessian of a scalar function of one tensor of `n` elements, as an `[n, n]` array
/// (row `i` is the gradient of `∂f/∂xᵢ`). Records the gradient once and runs `n` backward
/// passes from it: for small `n`.
///
/// # Errors
/// The errors of [`Scalar::backward_graph`].
///
/// ```
/// use tape::{higher::hessian, Array};
/// // f(x, y) = x²y has Hessian [[2y, 2x], [2x, 0]].
/// let p = Array::from_vec(vec![3.0, 5.0], &[2]).unwrap();
/// let h = hessian(|_, p| p.get(&[0]) * p.get(&[0]) * p.get(&[1]), &p).unwrap();
/// assert_eq!(h.data(), &[10.0, 6.0, 6.0, 0.0]);
/// ```
pub fn hessian<T, F>(f: F, x: &Array<T>) -> Result<Array<T>, TapeError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, Tensor<'t, T>) -> Scalar<'t, T>,
{
    let n = x.len();
    let tape = Tape::new();
    let xh = tape.tensor(x.clone());
    let gx = f(&tape, xh).backward_graph()?.wrt(xh).flatten();
    let mut data = Vec::with_capacity(n * n);
    for i in 0..n {
        let row = gx.get(&[i]).try_backward()?;
        data.extend_from_slice(row.wrt(xh).data());
    }
    Array::from_vec(data, &[n, n])
}

/// The Jacobian of a tensor function of one tensor, as an `[m, n]` array for `m` output and
/// `n` input elements (row `i` is the gradient of output element `i`), by `m` vector-Jacobian
/// products on one recording.
///
/// # Errors
/// The errors of [`Tape::vjp`].
///
/// ```
/// use tape::{higher::jacobian, Array};
/// let x = Array::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// // f(x) = [x₀x₁, x₀ + x₁]
/// let j = jacobian(|t, x| {
///     let (a, b) = (x.get(&[0]), x.get(&[1]));
///     tape::Tensor::from_scalars(&[a * b, a + b], &[2])
/// }, &x).unwrap();
/// assert_eq!(j.data(), &[2.0, 1.0, 1.0, 1.0]);
/// ```
pub fn jacobian<T, F>(f: F, x: &Array<T>) -> Result<Array<T>, TapeError>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, Tensor<'t, T>) -> Tensor<'t, T>,
{
    let tape = Tape::new();
    let xh = tape.tensor(x.clone());
    let y = f(&tape, xh);
    let (m, n, out_shape) = (y.len(), x.len(), y.shape());
    let mut data = Vec::with_capacity(m * n);
    for i in 0..m {
        let mut e = Array::zeros(&out_shape);
        e.data_mut()[i] = T::one();
        data.extend_from_slice(tape.vjp(y, &e)?.wrt(xh).data());
    }
    Array::from_vec(data, &[m, n])
}
