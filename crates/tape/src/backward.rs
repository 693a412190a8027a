//! The reverse sweep and its result, [`Gradients`].
//!
//! The list is already in topological order (a node can only name earlier nodes), so
//! backward is one walk from the output down to node 1: no sort, no recursion. Scalar nodes are
//! handled in tight runs between tensor nodes — `adj[a] += pa·adj[i]; adj[b] += pb·adj[i]` with
//! no branch on the op, skipping nodes whose adjoint is zero — and each tensor node dispatches
//! to its op's vector-Jacobian product.

use std::sync::OnceLock;

use smallvec::SmallVec;

use crate::array::buffers;
use crate::node::{ScalarNode, Tag};
use crate::rules::BinaryOp;
use crate::tape::{Inner, TensorNode};
use crate::tensor::op::{TensorOp, vjp};
use crate::{Array, Element, Scalar, Shape, Tape, TapeError, Tensor};

/// The gradients of one output with respect to every node recorded before it.
///
/// Index it with the handles you care about: [`Gradients::wrt`] gives a `T` for a [`Scalar`]
/// and an `&Array<T>` (of the tensor's shape) for a [`Tensor`]. Nodes that did not influence
/// the output have zero gradient. Computing gradients does not change the tape, so backward
/// can run again, from the same or another output.
///
/// ```
/// use tape::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(2.0);
/// let unused = tape.var(5.0);
/// let y = x * x;
/// let g = y.backward();
/// assert_eq!(g.wrt(x), 4.0);
/// assert_eq!(g.wrt(unused), 0.0);
/// let again = (y * 3.0).backward();
/// assert_eq!(again.wrt(x), 12.0);
/// ```
#[derive(Clone)]
pub struct Gradients<T: Element> {
    tape_id: u64,
    generation: u64,
    scalars: Vec<T>,
    tensors: Vec<TensorGrad<T>>,
}

/// One tensor's gradient: the one computed, or (for a tensor the output does not depend on, a
/// constant, or a gradient already taken) zeros of its shape, made only if they are read.
#[derive(Clone)]
struct TensorGrad<T: Element> {
    grad: Option<Array<T>>,
    shape: Shape,
    zeros: OnceLock<Array<T>>,
}

impl<T: Element> TensorGrad<T> {
    fn get(&self) -> &Array<T> {
        match &self.grad {
            Some(g) => g,
            None => self.zeros.get_or_init(|| Array::zeros(&self.shape)),
        }
    }

    fn take(&mut self) -> Array<T> {
        self.grad
            .take()
            .or_else(|| self.zeros.take())
            .unwrap_or_else(|| Array::zeros(&self.shape))
    }
}

/// A handle whose gradient can be read from [`Gradients`]: [`Scalar`] (a `T`) or
/// [`Tensor`] (an `&Array<T>`).
///
/// ```
/// use tape::{Array, Tape};
/// let tape = Tape::<f64>::new();
/// let s = tape.var(3.0);
/// let t = tape.full(&[2], 3.0);
/// let g = (t.sum() * s).backward(); // s·(t₀ + t₁)
/// let ds: f64 = g.wrt(s); // t₀ + t₁
/// let dt: &Array<f64> = g.wrt(t); // s, for each element
/// assert_eq!((ds, dt.data()), (6.0, &[3.0, 3.0][..]));
/// ```
pub trait Wrt<T: Element> {
    /// What the gradient is returned as.
    type Output<'g>
    where
        T: 'g;
    /// Reads this handle's gradient.
    fn grad_in(self, grads: &Gradients<T>) -> Self::Output<'_>;
}

impl<T: Element> Drop for Gradients<T> {
    /// The adjoint vector goes back to this thread's buffer cache, for the next backward pass.
    fn drop(&mut self) {
        buffers::recycle(std::mem::take(&mut self.scalars));
    }
}

impl<T: Element> std::fmt::Debug for Gradients<T> {
    /// A summary: how many nodes are covered, not every adjoint (a scalar tape can hold
    /// millions).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gradients")
            .field("nodes", &(self.scalars.len() - 1))
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl<T: Element> Gradients<T> {
    /// The gradient of the output with respect to `h` (a [`Scalar`] or a [`Tensor`]).
    ///
    /// # Panics
    /// If `h` belongs to another tape, was recorded after the tape was cleared, or was
    /// recorded after this backward pass ran.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(3.0);
    /// let w = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let g = ((w * x).sum() * x).backward(); // x²·(w₀ + w₁)
    /// assert_eq!(g.wrt(x), 18.0); // 2x·(w₀ + w₁) = 6·3
    /// assert_eq!(g.wrt(w).data(), &[9.0, 9.0]); // x²
    /// ```
    pub fn wrt<H: Wrt<T>>(&self, h: H) -> H::Output<'_> {
        h.grad_in(self)
    }

    /// Gradients with respect to several scalars.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let xs = tape.vars(&[1.0, 2.0]);
    /// let y = xs[0] * xs[1];
    /// assert_eq!(y.backward().wrt_all(&xs), vec![2.0, 1.0]);
    /// ```
    pub fn wrt_all(&self, hs: &[Scalar<'_, T>]) -> Vec<T> {
        hs.iter().map(|&h| self.wrt(h)).collect()
    }

    /// Moves a tensor's gradient out, leaving zeros of the same shape (no copy).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let w = tape.ones(&[2]);
    /// let mut g = (w * w).sum().backward();
    /// assert_eq!(g.take(w).into_vec(), vec![2.0, 2.0]);
    /// ```
    pub fn take(&mut self, t: Tensor<'_, T>) -> Array<T> {
        self.check(t.tape, t.idx, "take");
        self.tensors[t.slot as usize].take()
    }

    /// Whether these gradients were computed on `tape` as it is now: the same tape, not
    /// cleared since. Only then do node indices of `tape` address them.
    pub(crate) fn computed_on(&self, tape: &Tape<T>) -> bool {
        tape.id == self.tape_id && tape.generation == self.generation
    }

    /// The gradient of scalar-valued node `idx`, if the backward pass reached that far back
    /// (nodes recorded after the output have none). Check [`Gradients::computed_on`] first.
    pub(crate) fn scalar_grad(&self, idx: usize) -> Option<T> {
        self.scalars.get(idx).copied()
    }

    /// The gradient of the tensor in slot `slot` of the tape's tensor list, if the backward
    /// pass reached it. Check [`Gradients::computed_on`] first.
    pub(crate) fn tensor_grad(&self, slot: usize) -> Option<&Array<T>> {
        self.tensors.get(slot).map(TensorGrad::get)
    }

    #[track_caller]
    fn check(&self, tape: &Tape<T>, idx: u32, what: &str) {
        assert!(
            tape.id == self.tape_id,
            "Gradients::{what}: the handle belongs to a different tape"
        );
        assert!(
            tape.generation == self.generation,
            "Gradients::{what}: the tape was cleared after these gradients were computed"
        );
        assert!(
            (idx as usize) < self.scalars.len(),
            "Gradients::{what}: node {idx} was recorded after this backward pass (it cannot have influenced the output)"
        );
    }
}

impl<'t, T: Element> Wrt<T> for Scalar<'t, T> {
    type Output<'g>
        = T
    where
        T: 'g;
    fn grad_in(self, grads: &Gradients<T>) -> T {
        grads.check(self.tape, self.idx, "wrt");
        grads.scalars[self.idx as usize]
    }
}

impl<'t, T: Element> Wrt<T> for Tensor<'t, T> {
    type Output<'g>
        = &'g Array<T>
    where
        T: 'g;
    fn grad_in(self, grads: &Gradients<T>) -> &Array<T> {
        grads.check(self.tape, self.idx, "wrt");
        grads.tensors[self.slot as usize].get()
    }
}

impl<'t, T: Element> Scalar<'t, T> {
    /// Gradients of this scalar with respect to everything recorded before it.
    ///
    /// # Panics
    /// With anomaly detection on, if a value or gradient is not finite (the message names the
    /// op and where it was recorded); and if a custom function's backward returns gradients of
    /// the wrong number or shape. [`Scalar::try_backward`] returns these as errors instead.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(0.5);
    /// let y = x.sin() * x.exp();
    /// // d/dx sin(x)eˣ = (cos x + sin x) eˣ
    /// let expected = (0.5f64.cos() + 0.5f64.sin()) * 0.5f64.exp();
    /// assert!((y.backward().wrt(x) - expected).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn backward(self) -> Gradients<T> {
        self.try_backward().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Scalar::backward`], returning anomalies and custom-function errors instead of
    /// panicking.
    ///
    /// # Errors
    /// [`TapeError::NonFinite`] (anomaly detection on) for the first non-finite value recorded
    /// or gradient computed; [`TapeError::Custom`] if a custom backward misbehaves.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(3.0);
    /// assert_eq!((x * x).try_backward().unwrap().wrt(x), 6.0);
    /// tape.set_anomaly_detection(true);
    /// let bad = tape.var(0.0).ln(); // ln 0 = -inf
    /// assert!(bad.try_backward().is_err());
    /// ```
    pub fn try_backward(self) -> Result<Gradients<T>, TapeError> {
        let inner = self.tape.inner.borrow();
        let mut adj = buffers::filled(self.idx as usize + 1, T::zero());
        adj[self.idx as usize] = T::one();
        sweep(self.tape, &inner, self.idx as usize, adj, None)
    }
}

impl<T: Element> Tape<T> {
    /// A vector-Jacobian product: the gradients of `⟨cotangent, output⟩` with respect to every
    /// node recorded before `output`, i.e. `Jᵀ·cotangent`.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if `cotangent` does not have the output's shape; the errors
    /// of [`Scalar::try_backward`].
    ///
    /// ```
    /// use tape::{Array, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let y = x * x;                                   // Jacobian diag(2x)
    /// let v = Array::from_vec(vec![1.0, 10.0], &[2]).unwrap();
    /// let g = tape.vjp(y, &v).unwrap();
    /// assert_eq!(g.wrt(x).data(), &[2.0, 40.0]);
    /// ```
    pub fn vjp(
        &self,
        output: Tensor<'_, T>,
        cotangent: &Array<T>,
    ) -> Result<Gradients<T>, TapeError> {
        self.same(output.tape, "vjp");
        let inner = self.inner.borrow();
        let shape = inner.tensors[output.slot as usize].value.shape();
        if shape != cotangent.shape() {
            return Err(TapeError::shape(
                "vjp",
                "cotangent shape differs from the output",
                shape,
                cotangent.shape(),
            ));
        }
        let adj = buffers::filled(output.idx as usize + 1, T::zero());
        sweep(
            self,
            &inner,
            output.idx as usize,
            adj,
            Some((output.slot as usize, cotangent.clone())),
        )
    }
}

/// Runs the reverse sweep from node `out` with the adjoints seeded in `adj` (and, for a tensor
/// output, its cotangent).
fn sweep<T: Element>(
    tape: &Tape<T>,
    inner: &Inner<T>,
    out: usize,
    mut adj: Vec<T>,
    tensor_seed: Option<(usize, Array<T>)>,
) -> Result<Gradients<T>, TapeError> {
    let checking = inner.anomaly.is_some();
    if let Some(err) = inner.anomaly.as_ref().and_then(|a| a.first.clone()) {
        return Err(err);
    }
    let n_slots = inner.tensors.partition_point(|t| t.idx as usize <= out);
    let mut tgrads: Vec<Option<Array<T>>> = (0..n_slots).map(|_| None).collect();
    if let Some((slot, seed)) = tensor_seed {
        tgrads[slot] = Some(seed);
    }
    // `hi` is one past the highest scalar node still to process.
    let mut hi = out + 1;
    for slot in (0..n_slots).rev() {
        let tn = &inner.tensors[slot];
        let ti = tn.idx as usize;
        scalar_run(inner, &mut adj, ti + 1, hi, checking)?;
        hi = ti;
        let grad_out = if tn.scalar_out {
            let a = adj[ti];
            (a != T::zero()).then(|| Array::scalar(a))
        } else {
            tgrads[slot].take()
        };
        if let Some(mut g) = grad_out {
            if matches!(tn.op, TensorOp::Binary(BinaryOp::Add)) && g.len() >= buffers::MIN_LEN {
                // An add passes its gradient on unchanged to an input of its own shape: shared,
                // that input's gradient is a second reference, not a copy (copied only if
                // another contribution is later added to it).
                g = g.shared();
            }
            if !tn.op.is_source() {
                tensor_node_backward(inner, tn, &g, &mut adj, &mut tgrads, checking)?;
            }
            if !tn.scalar_out {
                tgrads[slot] = Some(g);
            }
        }
    }
    scalar_run(inner, &mut adj, 1, hi, checking)?;
    let tensors = tgrads
        .into_iter()
        .zip(&inner.tensors)
        .map(|(g, tn)| TensorGrad {
            // A constant's adjoint is not a gradient anyone asked for: report zero.
            grad: g.filter(|_| !matches!(tn.op, TensorOp::Constant)),
            shape: Shape::from_slice(tn.value.shape()),
            zeros: OnceLock::new(),
        })
        .collect();
    adj[0] = T::zero();
    for &c in &inner.constants {
        if let Some(a) = adj.get_mut(c as usize) {
            *a = T::zero();
        }
    }
    Ok(Gradients {
        tape_id: tape.id,
        generation: tape.generation,
        scalars: adj,
        tensors,
    })
}

/// Backward over the scalar nodes `lo..hi`, highest first.
#[inline]
fn scalar_run<T: Element>(
    inner: &Inner<T>,
    adj: &mut [T],
    lo: usize,
    hi: usize,
    checking: bool,
) -> Result<(), TapeError> {
    if lo >= hi {
        return Ok(());
    }
    let nodes: &[ScalarNode<T>] = &inner.nodes[lo..hi];
    // A node whose adjoint is zero sends nothing back and is skipped, as tensor nodes without a
    // gradient are: otherwise a node that does not reach the output but has an infinite
    // partial (`sqrt` or `ln` at 0) would add 0·∞ = NaN to its inputs' gradients.
    if !checking {
        let adj = &mut adj[..hi];
        for (node, i) in nodes.iter().zip(lo..hi).rev() {
            let g = adj[i];
            if g == T::zero() {
                continue;
            }
            adj[node.a()] += node.partials[0] * g;
            adj[node.b()] += node.partials[1] * g;
        }
        return Ok(());
    }
    for (i, node) in nodes.iter().enumerate().rev() {
        let idx = lo + i;
        let g = adj[idx];
        if g == T::zero() {
            continue;
        }
        let (da, db) = (node.partials[0] * g, node.partials[1] * g);
        let used_b = node.tag().binary().is_some();
        // What flows into a constant is discarded (its gradient is reported as zero), so it is
        // no anomaly: ∂(xʸ)/∂y is NaN for x < 0 even when y is the constant 2.
        let bad_a = !da.is_finite() && !is_constant(inner, node.a());
        let bad_b = used_b && !db.is_finite() && !is_constant(inner, node.b());
        if g.is_finite() && (bad_a || bad_b) {
            return Err(gradient_anomaly(inner, idx, if bad_a { da } else { db }));
        }
        adj[node.a()] += da;
        adj[node.b()] += db;
    }
    Ok(())
}

fn gradient_anomaly<T: Element>(inner: &Inner<T>, idx: usize, value: T) -> TapeError {
    TapeError::NonFinite {
        what: "gradient",
        op: inner.op_name(idx),
        node: idx,
        location: inner
            .anomaly
            .as_ref()
            .map_or_else(String::new, |a| a.location_of(idx)),
        value: value.as_f64(),
    }
}

/// One tensor node's backward: compute the gradients of its inputs and add them in.
fn tensor_node_backward<T: Element>(
    inner: &Inner<T>,
    tn: &TensorNode<T>,
    g: &Array<T>,
    adj: &mut [T],
    tgrads: &mut [Option<Array<T>>],
    checking: bool,
) -> Result<(), TapeError> {
    // Scalar inputs (of `from_scalars`) are read as 0-d arrays.
    let inputs = inner.inputs_of(tn);
    let scalar_inputs: SmallVec<[Array<T>; 2]> = inputs
        .iter()
        .filter(|&&j| !is_tensor_valued(inner, j as usize))
        .map(|&j| Array::scalar(inner.values[j as usize]))
        .collect();
    let mut k = 0;
    let xs: SmallVec<[&Array<T>; 2]> = inputs
        .iter()
        .map(|&j| {
            let j = j as usize;
            if is_tensor_valued(inner, j) {
                &inner.tensors[inner.nodes[j].a()].value
            } else {
                k += 1;
                &scalar_inputs[k - 1]
            }
        })
        .collect();
    let grads: SmallVec<[Option<Array<T>>; 2]> = match &tn.op {
        TensorOp::Custom(f) => {
            let gs = f.backward(&xs, &tn.value, g);
            if gs.len() != xs.len() {
                return Err(TapeError::Custom {
                    name: f.name().to_string(),
                    message: format!(
                        "backward returned {} gradients for {} inputs",
                        gs.len(),
                        xs.len()
                    ),
                });
            }
            for (i, (gi, xi)) in gs.iter().zip(&xs).enumerate() {
                if gi.shape() != xi.shape() {
                    return Err(TapeError::Custom {
                        name: f.name().to_string(),
                        message: format!(
                            "backward returned a gradient of shape {:?} for input {i} of shape {:?}",
                            gi.shape(),
                            xi.shape()
                        ),
                    });
                }
            }
            gs.into_iter().map(Some).collect()
        }
        op => {
            // A constant input takes no gradient: skip computing it where that saves
            // work (the input-side product of `x·W` for a constant batch `x`).
            let need: SmallVec<[bool; 2]> = inputs
                .iter()
                .map(|&j| !is_constant(inner, j as usize))
                .collect();
            vjp(op, &xs, &tn.value, g, &need)
        }
    };
    for (&j, gj) in inputs.iter().zip(grads) {
        let Some(gj) = gj else { continue };
        let j = j as usize;
        if checking && !is_constant(inner, j) {
            if let Some((_, bad)) = gj.first_non_finite() {
                if g.first_non_finite().is_none() {
                    return Err(gradient_anomaly(inner, tn.idx as usize, bad));
                }
            }
        }
        if is_tensor_valued(inner, j) {
            let slot = inner.nodes[j].a();
            match &mut tgrads[slot] {
                Some(acc) => {
                    debug_assert_eq!(acc.shape(), gj.shape(), "internal error: gradient shape");
                    for (a, b) in acc.data_mut().iter_mut().zip(gj.data()) {
                        *a += *b;
                    }
                }
                empty => *empty = Some(gj),
            }
        } else {
            adj[j] += crate::array::pairwise_sum(gj.data());
        }
    }
    Ok(())
}

/// Whether node `j` is a scalar or tensor constant, whose gradient is reported as zero.
fn is_constant<T: Element>(inner: &Inner<T>, j: usize) -> bool {
    let node = &inner.nodes[j];
    match node.tag() {
        Tag::CONST => true,
        Tag::TENSOR => matches!(inner.tensors[node.a()].op, TensorOp::Constant),
        _ => false,
    }
}

/// Whether node `j` is a tensor (as opposed to a scalar, which may itself come from a tensor
/// op such as `sum`).
#[inline]
pub(crate) fn is_tensor_valued<T: Element>(inner: &Inner<T>, j: usize) -> bool {
    let node = &inner.nodes[j];
    node.tag() == Tag::TENSOR && !inner.tensors[node.a()].scalar_out
}
