//! Fused elementwise ops: a whole per-element formula as one tape node, its derivative from
//! forward-mode [`Dual`] numbers.
//!
//! A formula such as `(1 − a)² + 100 (b − a²)²` written with tensor ops records one node per
//! op, and each is a pass over memory forward and another backward. Written once as a closure
//! over [`Dual`]s and recorded with [`map2`] (or [`map1`], [`map3`]), it is one node: the
//! forward evaluates the closure per element for the values; the backward evaluates it again
//! with the inputs seeded as dual variables and multiplies the gradient of each element by the
//! `K` partials it gets, `grad_xₖ[i] = grad_out[i] · ∂f/∂xₖ(x[i])`. [`map1_sum`], [`map2_sum`]
//! and [`map3_sum`] also sum the results in the same pass, returning a [`Scalar`].
//!
//! The partials are recomputed in the backward rather than stored: nothing is kept but the
//! inputs, which the tape holds anyway; the forward costs about what the plain formula costs
//! (the tangents it does not use are dead code the compiler removes); and the backward is a
//! function of the inputs alone, as [`Function`] requires.
//!
//! The inputs must have the same shape (no broadcasting: broadcast first with
//! [`Tensor::broadcast_to`]). The loops run on the calling thread. Not supported: a second
//! derivative through a fused node ([`Scalar::backward_graph`] returns
//! [`TapeError::Custom`] naming the op), since the closure is written for one level of duals.
//!
//! ```
//! use tape::{fused, Tape};
//!
//! let tape = Tape::<f64>::new();
//! let a = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
//! let b = tape.tensor_from_vec(vec![3.0, 4.0], &[2]).unwrap();
//! // a·b + a², one node: ∂/∂a = b + 2a, ∂/∂b = a.
//! let y = fused::map2(a, b, |a, b| a * b + a * a).unwrap();
//! assert_eq!(y.to_vec(), vec![4.0, 12.0]);
//! let g = y.sum().backward();
//! assert_eq!((g.wrt(a).data(), g.wrt(b).data()), (&[5.0, 8.0][..], &[1.0, 2.0][..]));
//! ```

mod dual;
mod kernel;

pub use dual::Dual;

use std::sync::Arc;

use crate::tensor::op::TensorOp;
use crate::{Array, Element, Function, Scalar, Shape, TapeError, Tensor};

/// A fused formula over `K` inputs, kept on the tape as a custom function.
struct Fused<F, const K: usize> {
    name: &'static str,
    f: Arc<F>,
    /// Whether the results are summed into one scalar.
    sum: bool,
}

impl<F, const K: usize> Clone for Fused<F, K> {
    fn clone(&self) -> Self {
        Fused {
            name: self.name,
            f: Arc::clone(&self.f),
            sum: self.sum,
        }
    }
}

impl<T, F, const K: usize> Function<T> for Fused<F, K>
where
    T: Element,
    F: Fn([Dual<T, K>; K]) -> Dual<T, K> + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.name
    }

    fn forward(&self, inputs: &[&Array<T>]) -> Result<Array<T>, TapeError> {
        let xs = same_shapes(self.name, inputs)?;
        Ok(if self.sum {
            Array::scalar(kernel::sum_values(&*self.f, xs))
        } else {
            let shape = Shape::from_slice(inputs[0].shape());
            Array::from_parts(kernel::values(&*self.f, xs), shape)
        })
    }

    fn backward(
        &self,
        inputs: &[&Array<T>],
        _out: &Array<T>,
        grad_out: &Array<T>,
    ) -> Vec<Array<T>> {
        let xs = same_shapes(self.name, inputs)
            .unwrap_or_else(|e| panic!("internal error: fused inputs checked at record: {e}"));
        let grads = if self.sum {
            let g = grad_out.data()[0];
            kernel::partials_times(&*self.f, xs, |_| g)
        } else {
            let g = grad_out.data();
            kernel::partials_times(&*self.f, xs, |i| g[i])
        };
        let shape = Shape::from_slice(inputs[0].shape());
        grads
            .into_iter()
            .map(|data| Array::from_parts(data, shape.clone()))
            .collect()
    }
}

/// The inputs' data, after checking that there are `K` of them and that they share one shape.
fn same_shapes<'a, T: Element, const K: usize>(
    name: &'static str,
    inputs: &[&'a Array<T>],
) -> Result<[&'a [T]; K], TapeError> {
    assert_eq!(inputs.len(), K, "internal error: {name} takes {K} inputs");
    for x in &inputs[1..] {
        if x.shape() != inputs[0].shape() {
            return Err(TapeError::ShapeMismatch {
                op: name,
                what: "inputs differ in shape (fused ops do not broadcast)",
                lhs: Shape::from_slice(inputs[0].shape()),
                rhs: Shape::from_slice(x.shape()),
            });
        }
    }
    Ok(std::array::from_fn(|k| inputs[k].data()))
}

/// Records `f` over the inputs as one node: a tensor, or (`sum`) a scalar.
fn record<'t, T, F, const K: usize>(
    name: &'static str,
    xs: [Tensor<'t, T>; K],
    f: F,
    sum: bool,
) -> Result<(Array<T>, Fused<F, K>), TapeError>
where
    T: Element,
    F: Fn([Dual<T, K>; K]) -> Dual<T, K> + Send + Sync + 'static,
{
    let tape = xs[0].tape;
    for x in &xs[1..] {
        TapeError::same_tape(tape, x.tape, name)?;
    }
    let fused = Fused {
        name,
        f: Arc::new(f),
        sum,
    };
    let inner = tape.inner.borrow();
    let values: Vec<&Array<T>> = xs
        .iter()
        .map(|x| inner.tensor_value(x.slot as usize))
        .collect();
    let out = fused.forward(&values)?;
    Ok((out, fused))
}

/// Records an elementwise map as one tensor node.
fn record_map<'t, T, F, const K: usize>(
    name: &'static str,
    xs: [Tensor<'t, T>; K],
    f: F,
) -> Result<Tensor<'t, T>, TapeError>
where
    T: Element,
    F: Fn([Dual<T, K>; K]) -> Dual<T, K> + Send + Sync + 'static,
{
    let (out, fused) = record(name, xs, f, false)?;
    let idx = xs.map(|x| x.idx);
    Ok(xs[0]
        .tape
        .push_tensor(TensorOp::Custom(Arc::new(fused)), &idx, out))
}

/// Records an elementwise map and its sum as one node with a scalar output.
fn record_sum<'t, T, F, const K: usize>(
    name: &'static str,
    xs: [Tensor<'t, T>; K],
    f: F,
) -> Result<Scalar<'t, T>, TapeError>
where
    T: Element,
    F: Fn([Dual<T, K>; K]) -> Dual<T, K> + Send + Sync + 'static,
{
    let (out, fused) = record(name, xs, f, true)?;
    let idx = xs.map(|x| x.idx);
    let value = out.data()[0];
    Ok(xs[0]
        .tape
        .push_tensor_scalar(TensorOp::Custom(Arc::new(fused)), &idx, value))
}

/// `f(aᵢ)` for every element, as one node; gradient `grad_out[i] · f′(aᵢ)`, with `f′` from
/// the dual number the closure returns.
///
/// # Errors
/// None in practice; the signature matches [`map2`].
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let a = tape.tensor_from_vec(vec![0.0, 1.0], &[2]).unwrap();
/// let y = tape::fused::map1(a, |a| a.exp() * a).unwrap(); // derivative (1 + a)eᵃ
/// assert_eq!(y.sum().backward().wrt(a).data(), &[1.0, 2.0 * 1f64.exp()]);
/// ```
pub fn map1<'t, T, F>(a: Tensor<'t, T>, f: F) -> Result<Tensor<'t, T>, TapeError>
where
    T: Element,
    F: Fn(Dual<T, 1>) -> Dual<T, 1> + Send + Sync + 'static,
{
    record_map("fused::map1", [a], move |[a]: [Dual<T, 1>; 1]| f(a))
}

/// `f(aᵢ, bᵢ)` for every element, as one node; gradients `grad_out[i] · ∂f/∂a` and
/// `grad_out[i] · ∂f/∂b`, from the dual number the closure returns.
///
/// # Errors
/// [`TapeError::ShapeMismatch`] naming `fused::map2` and both shapes if `a` and `b` differ in
/// shape (there is no broadcasting); [`TapeError::DifferentTapes`].
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let a = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let b = tape.tensor_from_vec(vec![3.0], &[1]).unwrap();
/// let err = tape::fused::map2(a, b, |a, b| a * b).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "fused::map2: inputs differ in shape (fused ops do not broadcast): lhs [2], rhs [1]"
/// );
/// ```
pub fn map2<'t, T, F>(a: Tensor<'t, T>, b: Tensor<'t, T>, f: F) -> Result<Tensor<'t, T>, TapeError>
where
    T: Element,
    F: Fn(Dual<T, 2>, Dual<T, 2>) -> Dual<T, 2> + Send + Sync + 'static,
{
    record_map("fused::map2", [a, b], move |[a, b]: [Dual<T, 2>; 2]| {
        f(a, b)
    })
}

/// `f(aᵢ, bᵢ, cᵢ)` for every element, as one node; gradients as [`map2`]'s.
///
/// # Errors
/// As [`map2`].
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![2.0], &[1]).unwrap();
/// let y = tape::fused::map3(x, x, x, |a, b, c| a * b * c).unwrap(); // x³: derivative 3x²
/// assert_eq!(y.sum().backward().wrt(x).data(), &[12.0]);
/// ```
pub fn map3<'t, T, F>(
    a: Tensor<'t, T>,
    b: Tensor<'t, T>,
    c: Tensor<'t, T>,
    f: F,
) -> Result<Tensor<'t, T>, TapeError>
where
    T: Element,
    F: Fn(Dual<T, 3>, Dual<T, 3>, Dual<T, 3>) -> Dual<T, 3> + Send + Sync + 'static,
{
    record_map(
        "fused::map3",
        [a, b, c],
        move |[a, b, c]: [Dual<T, 3>; 3]| f(a, b, c),
    )
}

/// `Σᵢ f(aᵢ)` as one node: [`map1`] and the sum in one pass, without the intermediate
/// tensor; gradient `grad_out · f′(aᵢ)`.
///
/// # Errors
/// None in practice; the signature matches [`map2_sum`].
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let a = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let s = tape::fused::map1_sum(a, |a| a * a).unwrap();
/// assert_eq!(s.value(), 5.0);
/// assert_eq!(s.backward().wrt(a).data(), &[2.0, 4.0]);
/// ```
pub fn map1_sum<'t, T, F>(a: Tensor<'t, T>, f: F) -> Result<Scalar<'t, T>, TapeError>
where
    T: Element,
    F: Fn(Dual<T, 1>) -> Dual<T, 1> + Send + Sync + 'static,
{
    record_sum("fused::map1_sum", [a], move |[a]: [Dual<T, 1>; 1]| f(a))
}

/// `Σᵢ f(aᵢ, bᵢ)` as one node: [`map2`] and the sum in one pass; gradients
/// `grad_out · ∂f/∂a` and `grad_out · ∂f/∂b` per element.
///
/// # Errors
/// As [`map2`], naming `fused::map2_sum`.
///
/// ```
/// // N-D Rosenbrock: Σ (1 − xᵢ)² + 100 (xᵢ₊₁ − xᵢ²)² over the overlapping slices of x.
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![1.0, 1.0, 1.0], &[3]).unwrap();
/// let (head, tail) = (x.slice(0, 0, 2), x.slice(0, 1, 3));
/// let f = tape::fused::map2_sum(head, tail, |a, b| {
///     let (u, v) = (1.0 - a, b - a * a);
///     u * u + v * v * 100.0
/// })
/// .unwrap();
/// assert_eq!(f.value(), 0.0); // the minimum, where the gradient vanishes
/// assert_eq!(f.backward().wrt(x).data(), &[0.0; 3]);
/// ```
pub fn map2_sum<'t, T, F>(
    a: Tensor<'t, T>,
    b: Tensor<'t, T>,
    f: F,
) -> Result<Scalar<'t, T>, TapeError>
where
    T: Element,
    F: Fn(Dual<T, 2>, Dual<T, 2>) -> Dual<T, 2> + Send + Sync + 'static,
{
    record_sum("fused::map2_sum", [a, b], move |[a, b]: [Dual<T, 2>; 2]| {
        f(a, b)
    })
}

/// `Σᵢ f(aᵢ, bᵢ, cᵢ)` as one node: [`map3`] and the sum in one pass.
///
/// # Errors
/// As [`map2`], naming `fused::map3_sum`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let s = tape::fused::map3_sum(x, x, x, |a, b, c| a + b * c).unwrap(); // Σ x + x²
/// assert_eq!(s.value(), 8.0);
/// assert_eq!(s.backward().wrt(x).data(), &[3.0, 5.0]);
/// ```
pub fn map3_sum<'t, T, F>(
    a: Tensor<'t, T>,
    b: Tensor<'t, T>,
    c: Tensor<'t, T>,
    f: F,
) -> Result<Scalar<'t, T>, TapeError>
where
    T: Element,
    F: Fn(Dual<T, 3>, Dual<T, 3>, Dual<T, 3>) -> Dual<T, 3> + Send + Sync + 'static,
{
    record_sum(
        "fused::map3_sum",
        [a, b, c],
        move |[a, b, c]: [Dual<T, 3>; 3]| f(a, b, c),
    )
}
