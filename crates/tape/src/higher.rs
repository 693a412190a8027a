//! Gradients of gradients: a backward pass recorded on the tape.
//!
//! [`Scalar::backward_graph`] walks the list like [`Scalar::backward`], but evaluates each
//! op's derivative rule on tape handles instead of numbers, so every gradient it returns is
//! itself a recorded [`Scalar`] or [`Tensor`]: it can be used in further computation and
//! differentiated again, any number of times. The rules are the same ones first-order backward
//! uses ([`crate::rules`] and the tensor vector-Jacobian products); there is no second table of
//! derivatives.
//!
//! On top of it: [`grad`], Hessian-vector products ([`hvp`]), full Hessians ([`hessian`]) and
//! Jacobians ([`jacobian`]).

use smallvec::SmallVec;

use crate::backward::is_tensor_valued;
use crate::node::Tag;
use crate::tensor::op::{TensorOp, vjp};
use crate::{Array, Element, Scalar, Tape, TapeError, Tensor};

/// Gradients as tape handles, from [`Scalar::backward_graph`].
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.var(2.0);
/// let y = x * x * x;                       // x³
/// let dy = y.backward_graph().unwrap().wrt(x);
/// assert_eq!(dy.value(), 12.0);            // 3x²
/// let d2y = dy.backward().wrt(x);
/// assert_eq!(d2y, 12.0);                   // 6x
/// ```
pub struct GraphGradients<'t, T: Element> {
    tape: &'t Tape<T>,
    generation: u64,
    scalars: Vec<Option<Scalar<'t, T>>>,
    tensors: Vec<Option<Tensor<'t, T>>>,
}

/// A handle whose recorded gradient can be read from [`GraphGradients`].
///
/// ```
/// use tape::{Scalar, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.var(3.0);
/// let w = tape.full(&[2], 3.0);
/// let gg = (x * x * w.sum()).backward_graph().unwrap(); // x²·(w₀ + w₁)
/// let dx: Scalar<f64> = gg.wrt(x); // 2x·(w₀ + w₁) = 36
/// let dw: Tensor<f64> = gg.wrt(w); // x² = 9 for each element
/// assert_eq!((dx.value(), dw.to_vec()), (36.0, vec![9.0, 9.0]));
/// ```
pub trait WrtGraph<'t, T: Element> {
    /// The gradient's handle type.
    type Output;
    /// Reads the gradient (a recorded zero if no gradient reached this handle).
    fn graph_grad_in(self, grads: &GraphGradients<'t, T>) -> Self::Output;
}

impl<'t, T: Element> GraphGradients<'t, T> {
    /// The gradient with respect to `h`, as a handle on the same tape.
    ///
    /// # Panics
    /// If `h` belongs to another tape or was recorded after the backward pass.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let y = x.powi(3).sum(); // Σ x³
    /// let g = y.backward_graph().unwrap().wrt(x); // 3x², recorded on the tape
    /// assert_eq!(g.to_vec(), vec![3.0, 12.0]);
    /// assert_eq!(g.sum().backward().wrt(x).data(), &[6.0, 12.0]); // d/dx Σ 3x² = 6x
    /// ```
    pub fn wrt<H: WrtGraph<'t, T>>(&self, h: H) -> H::Output {
        h.graph_grad_in(self)
    }

    #[track_caller]
    fn check(&self, tape: &Tape<T>, idx: u32) {
        assert!(
            std::ptr::eq(self.tape, tape),
            "GraphGradients::wrt: the handle belongs to a different tape"
        );
        assert_eq!(
            self.generation, tape.generation,
            "internal error: tape cleared under live handles"
        );
        assert!(
            (idx as usize) < self.scalars.len(),
            "GraphGradients::wrt: node {idx} was recorded after this backward pass"
        );
    }
}

impl<'t, T: Element> WrtGraph<'t, T> for Scalar<'t, T> {
    type Output = Scalar<'t, T>;
    fn graph_grad_in(self, grads: &GraphGradients<'t, T>) -> Scalar<'t, T> {
        grads.check(self.tape, self.idx);
        grads.scalars[self.idx as usize].unwrap_or_else(|| self.tape.constant(T::zero()))
    }
}

impl<'t, T: Element> WrtGraph<'t, T> for Tensor<'t, T> {
    type Output = Tensor<'t, T>;
    fn graph_grad_in(self, grads: &GraphGradients<'t, T>) -> Tensor<'t, T> {
        grads.check(self.tape, self.idx);
        grads.tensors[self.slot as usize]
            .unwrap_or_else(|| self.tape.tensor_constant(Array::zeros(&self.shape())))
    }
}

/// A value read from the tape for one node, copied out so the borrow ends before recording.
enum Step<T: Element> {
    Skip,
    Scalar {
        tag: Tag,
        a: u32,
        b: u32,
        param: f64,
    },
    Tensor {
        slot: u32,
        op: TensorOp<T>,
        inputs: SmallVec<[u32; 2]>,
        scalar_out: bool,
    },
}

impl<'t, T: Element> Scalar<'t, T> {
    /// Backward with the gradients recorded on the tape (PyTorch's `create_graph=True`): the
    /// result's handles can be combined with other handles and differentiated again.
    ///
    /// # Errors
    /// [`TapeError::Custom`] if a custom function lies on the path (its backward is numeric
    /// only, so it cannot be differentiated twice); anomalies as [`Scalar::try_backward`].
    ///
    /// ```
    /// // The gradient penalty ‖∇ₓ f‖² of f(x) = Σ sin(x), itself differentiated.
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![0.5, 1.0], &[2]).unwrap();
    /// let f = x.sin().sum();
    /// let gx = f.backward_graph().unwrap().wrt(x);      // cos x, as a tensor on the tape
    /// let penalty = (gx * gx).sum();                    // Σ cos² x
    /// let d = penalty.backward().wrt(x).clone();        // -2 cos x sin x
    /// assert!((d.data()[0] + 2.0 * 0.5f64.cos() * 0.5f64.sin()).abs() < 1e-15);
    /// ```
    pub fn backward_graph(self) -> Result<GraphGradients<'t, T>, TapeError> {
        let tape = self.tape;
        let out = self.idx as usize;
        if let Some(err) = tape.anomaly() {
            return Err(err);
        }
        let n_slots = tape
            .inner
            .borrow()
            .tensors
            .partition_point(|t| t.idx as usize <= out);
        let mut grads = GraphGradients {
            tape,
            generation: tape.generation,
            scalars: vec![None; out + 1],
            tensors: vec![None; n_slots],
        };
        grads.scalars[out] = Some(tape.constant(T::one()));
        for i in (1..=out).rev() {
            match read_step(tape, i) {
                Step::Skip => {}
                Step::Scalar { tag, a, b, param } => {
                    let Some(g) = grads.scalars[i] else { continue };
                    scalar_step(tape, &mut grads, i, g, tag, a, b, param)?;
                }
                Step::Tensor {
                    slot,
                    op,
                    inputs,
                    scalar_out,
                } => {
                    let g = if scalar_out {
                        grads.scalars[i].map(Scalar::to_tensor)
                    } else {
                        grads.tensors[slot as usize]
                    };
                    let Some(g) = g else { continue };
                    tensor_step(tape, &mut grads, i, slot, &op, &inputs, scalar_out, g)?;
                }
            }
        }
        // Constants report zero, as in first-order backward.
        let constants = tape.inner.borrow().constants.clone();
        for c in constants {
            if let Some(s) = grads.scalars.get_mut(c as usize) {
                *s = None;
            }
        }
        Ok(grads)
    }
}

fn read_step<T: Element>(tape: &Tape<T>, i: usize) -> Step<T> {
    let inner = tape.inner.borrow();
    let node = inner.nodes[i];
    match node.tag() {
        Tag::SINK | Tag::LEAF | Tag::CONST => Step::Skip,
        Tag::TENSOR => {
            let tn = &inner.tensors[node.a()];
            if tn.op.is_source() {
                return Step::Skip;
            }
            Step::Tensor {
                slot: node.a() as u32,
                op: tn.op.clone(),
                inputs: SmallVec::from_slice(inner.inputs_of(tn)),
                scalar_out: tn.scalar_out,
            }
        }
        tag => Step::Scalar {
            tag,
            a: node.a() as u32,
            b: node.b() as u32,
            param: node.partials[1].as_f64(),
        },
    }
}

fn scalar_handle<T: Element>(tape: &Tape<T>, j: u32) -> Scalar<'_, T> {
    let v = tape.inner.borrow().values[j as usize];
    Scalar::from_parts(tape, j, v)
}

fn add_scalar<'t, T: Element>(grads: &mut GraphGradients<'t, T>, j: usize, g: Scalar<'t, T>) {
    let slot = &mut grads.scalars[j];
    *slot = Some(match *slot {
        Some(acc) => acc + g,
        None => g,
    });
}

fn add_tensor<'t, T: Element>(grads: &mut GraphGradients<'t, T>, slot: usize, g: Tensor<'t, T>) {
    let s = &mut grads.tensors[slot];
    *s = Some(match *s {
        Some(acc) => acc + g,
        None => g,
    });
}

#[allow(clippy::too_many_arguments)]
fn scalar_step<'t, T: Element>(
    tape: &'t Tape<T>,
    grads: &mut GraphGradients<'t, T>,
    i: usize,
    g: Scalar<'t, T>,
    tag: Tag,
    a: u32,
    b: u32,
    param: f64,
) -> Result<(), TapeError> {
    let out = scalar_handle(tape, i as u32);
    let x = scalar_handle(tape, a);
    if let Some(op) = tag.unary(param) {
        add_scalar(grads, a as usize, g * op.df(x, out));
    } else if let Some(op) = tag.binary() {
        let y = scalar_handle(tape, b);
        let (dx, dy) = op.df(x, y, out);
        add_scalar(grads, a as usize, g * dx);
        add_scalar(grads, b as usize, g * dy);
    } else if tag == Tag::CUSTOM {
        return Err(TapeError::Custom {
            name: "Scalar::custom".into(),
            message: format!(
                "node {i} has a numeric derivative only, so it cannot be differentiated twice; \
                 write the function with tape ops instead"
            ),
        });
    } else {
        unreachable!("internal error: scalar step for tag {tag:?}");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn tensor_step<'t, T: Element>(
    tape: &'t Tape<T>,
    grads: &mut GraphGradients<'t, T>,
    i: usize,
    slot: u32,
    op: &TensorOp<T>,
    inputs: &[u32],
    scalar_out: bool,
    g: Tensor<'t, T>,
) -> Result<(), TapeError> {
    // Handles of the inputs and of the output; scalars enter as 0-d tensors.
    let kinds: SmallVec<[Option<u32>; 2]> = {
        let inner = tape.inner.borrow();
        inputs
            .iter()
            .map(|&j| {
                is_tensor_valued(&inner, j as usize).then(|| inner.nodes[j as usize].a() as u32)
            })
            .collect()
    };
    let xs: SmallVec<[Tensor<'t, T>; 2]> = inputs
        .iter()
        .zip(&kinds)
        .map(|(&j, kind)| match kind {
            Some(s) => Tensor::from_parts(tape, j, *s),
            None => scalar_handle(tape, j).to_tensor(),
        })
        .collect();
    let out = if scalar_out {
        scalar_handle(tape, i as u32).to_tensor()
    } else {
        Tensor::from_parts(tape, i as u32, slot)
    };
    let results: SmallVec<[Option<Tensor<'t, T>>; 2]> = match op {
        TensorOp::Custom(f) => {
            let numeric_only = || TapeError::Custom {
                name: f.name().to_string(),
                message: "its backward is numeric only, so it cannot be differentiated twice; \
                          implement `backward_on_tape` or write it with tape ops"
                    .into(),
            };
            let gs = f.backward_on_tape(&xs, out, g).ok_or_else(numeric_only)?;
            if gs.len() != xs.len() {
                return Err(TapeError::Custom {
                    name: f.name().to_string(),
                    message: format!(
                        "backward_on_tape returned {} gradients for {} inputs",
                        gs.len(),
                        xs.len()
                    ),
                });
            }
            gs.into_iter().map(Some).collect()
        }
        op => {
            let refs: SmallVec<[&Tensor<'t, T>; 2]> = xs.iter().collect();
            let need: SmallVec<[bool; 2]> = smallvec::smallvec![true; refs.len()];
            vjp(op, &refs, &out, &g, &need)
        }
    };
    for ((&j, kind), gj) in inputs.iter().zip(&kinds).zip(results) {
        let Some(gj) = gj else { continue };
        match kind {
            Some(s) => add_tensor(grads, *s as usize, gj),
            None => add_scalar(grads, j as usize, gj.item()),
        }
    }
    Ok(())
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
