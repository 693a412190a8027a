//! The first-order reverse sweep: adjoints as plain numbers and arrays.
//!
//! The list is already in topological order (a node can only name earlier nodes), so backward
//! is one walk from the output down to node 1: no sort, no recursion. Scalar nodes are handled
//! in tight runs between tensor nodes — `adj[a] += pa·adj[i]; adj[b] += pb·adj[i]` with no
//! branch on the op, skipping nodes whose adjoint is zero — and each tensor node dispatches to
//! its op's vector-Jacobian product.

use smallvec::SmallVec;

use super::Gradients;
use super::checks::{custom_gradients, gradient_anomaly, recorded_anomaly, reports_gradient};
use crate::array::buffers;
use crate::node::ScalarNode;
use crate::rules::BinaryOp;
use crate::tape::{Inner, TensorNode};
use crate::tensor::op::{TensorOp, vjp};
use crate::{Array, Element, Shape, Tape, TapeError};

/// Where the sweep starts: a scalar output (its adjoint is 1) or a tensor output with a
/// cotangent.
pub(crate) enum Seed<T: Element> {
    Scalar(usize),
    Tensor {
        idx: usize,
        slot: usize,
        cotangent: Array<T>,
    },
}

/// Runs the reverse sweep from `seed` over everything recorded before it.
pub(crate) fn sweep<T: Element>(tape: &Tape<T>, seed: Seed<T>) -> Result<Gradients<T>, TapeError> {
    let inner = tape.inner.borrow();
    recorded_anomaly(&inner)?;
    let checking = inner.anomaly().is_some();
    let out = match seed {
        Seed::Scalar(idx) | Seed::Tensor { idx, .. } => idx,
    };
    let mut adj = buffers::filled(out + 1, T::zero());
    let n_slots = inner.tensors_up_to(out);
    let mut tgrads: Vec<Option<Array<T>>> = (0..n_slots).map(|_| None).collect();
    match seed {
        Seed::Scalar(idx) => adj[idx] = T::one(),
        Seed::Tensor {
            slot, cotangent, ..
        } => tgrads[slot] = Some(cotangent),
    }
    // `hi` is one past the highest scalar node still to process.
    let mut hi = out + 1;
    for slot in (0..n_slots).rev() {
        let tn = inner.tensor(slot);
        let ti = tn.idx as usize;
        scalar_run(&inner, &mut adj, ti + 1, hi, checking)?;
        hi = ti;
        let grad_out = if tn.scalar_out {
            let a = adj[ti];
            (a != T::zero()).then(|| Array::scalar(a))
        } else {
            tgrads[slot].take()
        };
        let Some(mut g) = grad_out else { continue };
        if matches!(tn.op, TensorOp::Binary(BinaryOp::Add)) && g.len() >= buffers::MIN_LEN {
            // An add passes its gradient on unchanged to an input of its own shape: shared,
            // that input's gradient is a second reference, not a copy (copied only if another
            // contribution is later added to it).
            g = g.shared();
        }
        if !tn.op.is_source() {
            tensor_node_backward(&inner, tn, &g, &mut adj, &mut tgrads, checking)?;
        }
        if !tn.scalar_out {
            tgrads[slot] = Some(g);
        }
    }
    scalar_run(&inner, &mut adj, 1, hi, checking)?;
    Ok(finish(tape, &inner, adj, tgrads))
}

/// The sweep's result, with the nodes that report no gradient (the sink, constants) zeroed.
fn finish<T: Element>(
    tape: &Tape<T>,
    inner: &Inner<T>,
    mut adj: Vec<T>,
    tgrads: Vec<Option<Array<T>>>,
) -> Gradients<T> {
    adj[0] = T::zero();
    for &c in inner.constants() {
        if let Some(a) = adj.get_mut(c as usize) {
            *a = T::zero();
        }
    }
    let tensors = tgrads.into_iter().zip(inner.tensors()).map(|(g, tn)| {
        let g = g.filter(|_| reports_gradient(inner, tn.idx as usize));
        (g, Shape::from_slice(tn.value.shape()))
    });
    Gradients::new(tape, adj, tensors)
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
    let nodes: &[ScalarNode<T>] = inner.nodes(lo..hi);
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
    for (node, idx) in nodes.iter().zip(lo..hi).rev() {
        let g = adj[idx];
        if g == T::zero() {
            continue;
        }
        let (da, db) = (node.partials[0] * g, node.partials[1] * g);
        let uses_b = node.tag().binary().is_some();
        let bad = |d: T| (!d.is_finite()).then(|| d.as_f64());
        let err = gradient_anomaly(inner, idx, node.a(), g.is_finite(), bad(da)).or_else(|| {
            uses_b
                .then(|| gradient_anomaly(inner, idx, node.b(), g.is_finite(), bad(db)))
                .flatten()
        });
        if let Some(err) = err {
            return Err(err);
        }
        adj[node.a()] += da;
        adj[node.b()] += db;
    }
    Ok(())
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
    let inputs = inner.inputs_of(tn);
    // Scalar inputs (of `from_scalars`) are read as 0-d arrays.
    let scalar_inputs: SmallVec<[Array<T>; 2]> = inputs
        .iter()
        .filter(|&&j| inner.tensor_slot(j as usize).is_none())
        .map(|&j| Array::scalar(inner.value(j as usize)))
        .collect();
    let mut scalars = scalar_inputs.iter();
    let xs: SmallVec<[&Array<T>; 2]> = inputs
        .iter()
        .map(|&j| match inner.tensor_slot(j as usize) {
            Some(slot) => inner.tensor_value(slot),
            None => scalars.next().expect("internal error: scalar input count"),
        })
        .collect();
    if !checking && add_slice_gradient(inner, tn, g, tgrads) {
        return Ok(());
    }
    let grads = input_gradients(inner, tn, &xs, g)?;
    let incoming_finite = !checking || g.first_non_finite().is_none();
    for (&j, gj) in inputs.iter().zip(grads) {
        let Some(gj) = gj else { continue };
        let j = j as usize;
        if checking {
            let bad = gj.first_non_finite().map(|(_, v)| v.as_f64());
            if let Some(err) = gradient_anomaly(inner, tn.idx as usize, j, incoming_finite, bad) {
                return Err(err);
            }
        }
        add_gradient(inner, j, gj, adj, tgrads);
    }
    Ok(())
}

/// A slice whose input already has a gradient adds `g` into that gradient's range in place,
/// rather than padding `g` to the input's shape and adding the whole (the overlapping slices
/// of a stencil: one pass instead of three). Returns whether it did.
fn add_slice_gradient<T: Element>(
    inner: &Inner<T>,
    tn: &TensorNode<T>,
    g: &Array<T>,
    tgrads: &mut [Option<Array<T>>],
) -> bool {
    let TensorOp::Slice { axis, start, .. } = tn.op else {
        return false;
    };
    let &[j] = inner.inputs_of(tn) else {
        return false;
    };
    let Some(slot) = inner.tensor_slot(j as usize) else {
        return false;
    };
    match &mut tgrads[slot] {
        Some(acc) => {
            acc.add_at_axis(g, axis, start);
            true
        }
        None => false,
    }
}

/// The gradients a tensor node sends to its inputs `xs`, given the gradient `g` of its output:
/// its op's vector-Jacobian product, or a custom function's backward, checked.
fn input_gradients<T: Element>(
    inner: &Inner<T>,
    tn: &TensorNode<T>,
    xs: &[&Array<T>],
    g: &Array<T>,
) -> Result<SmallVec<[Option<Array<T>>; 2]>, TapeError> {
    match &tn.op {
        TensorOp::Custom(f) => {
            let gs = f.backward(xs, &tn.value, g);
            let shapes = |a: &[&Array<T>]| -> Vec<Shape> {
                a.iter().map(|x| Shape::from_slice(x.shape())).collect()
            };
            let got: Vec<&Array<T>> = gs.iter().collect();
            custom_gradients(f.name(), "backward", &shapes(&got), &shapes(xs))?;
            Ok(gs.into_iter().map(Some).collect())
        }
        op => {
            // A constant input takes no gradient: skip computing it where that saves work
            // (the input-side product of `x·W` for a constant batch `x`).
            let need: SmallVec<[bool; 2]> = inner
                .inputs_of(tn)
                .iter()
                .map(|&j| reports_gradient(inner, j as usize))
                .collect();
            Ok(vjp(op, xs, &tn.value, g, &need))
        }
    }
}

/// Adds `gj` to the gradient of node `j`: a tensor's accumulates in place, a scalar's (a
/// scalar input of a tensor op, seen as a 0-d array or broadcast) is summed into its adjoint.
fn add_gradient<T: Element>(
    inner: &Inner<T>,
    j: usize,
    gj: Array<T>,
    adj: &mut [T],
    tgrads: &mut [Option<Array<T>>],
) {
    match inner.tensor_slot(j) {
        Some(slot) => match &mut tgrads[slot] {
            Some(acc) => {
                debug_assert_eq!(acc.shape(), gj.shape(), "internal error: gradient shape");
                for (a, b) in acc.data_mut().iter_mut().zip(gj.data()) {
                    *a += *b;
                }
            }
            empty => *empty = Some(gj),
        },
        None => adj[j] += crate::array::pairwise_sum(gj.data()),
    }
}
