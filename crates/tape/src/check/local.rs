//! One recorded op, taken out of its tape: its forward replayed on plain arrays, its recorded
//! backward (the stored partials of a scalar node, the vector-Jacobian product of a tensor
//! op), and its branch decisions — what [`check_ops`](super::check_ops) compares, op by op.

use crate::node::Tag;
use crate::rules::{BinaryOp, UnaryOp};
use crate::tape::Inner;
use crate::tensor::op::{TensorOp, vjp};
use crate::{Array, Element, TensorAlgebra};

/// What a node computes.
pub(super) enum Kind<T: Element> {
    /// A scalar node of the op table, with the partial it stored at record time.
    Unary(UnaryOp, T),
    /// A binary scalar node of the op table, with its stored partials.
    Binary(BinaryOp, [T; 2]),
    /// A tensor op (a custom function included).
    Tensor(TensorOp<T>),
}

/// A recorded op with the values it saw.
pub(super) struct Local<T: Element> {
    pub(super) kind: Kind<T>,
    /// The input values, scalars as 0-dimensional arrays.
    pub(super) inputs: Vec<Array<T>>,
    pub(super) out_shape: Vec<usize>,
}

/// What a node of the list is, for the op check.
pub(super) enum Node<T: Element> {
    /// Leaves, constants, the sink: nothing to check.
    Source,
    /// A [`Scalar::custom`](crate::Scalar::custom) node: a value and a derivative, with no
    /// forward to replay.
    Opaque,
    /// An op that can be replayed.
    Op(Local<T>),
}

/// Node `j` of the list, taken out.
pub(super) fn node<T: Element>(inner: &Inner<T>, j: usize) -> Node<T> {
    let n = inner.node(j);
    let tag = n.tag();
    let scalar = |k: usize| Array::scalar(inner.value(k));
    match tag {
        Tag::SINK | Tag::LEAF | Tag::CONST => Node::Source,
        Tag::CUSTOM => Node::Opaque,
        Tag::TENSOR => {
            let tn = inner.tensor(n.a());
            if tn.op.is_source() {
                return Node::Source;
            }
            let inputs = inner
                .inputs_of(tn)
                .iter()
                .map(|&k| match inner.tensor_slot(k as usize) {
                    Some(slot) => inner.tensor_value(slot).clone(),
                    None => scalar(k as usize),
                })
                .collect();
            Node::Op(Local {
                kind: Kind::Tensor(tn.op.clone()),
                inputs,
                out_shape: tn.value.shape().to_vec(),
            })
        }
        _ => {
            let [pa, pb] = n.partials;
            if let Some(u) = tag.unary(pb.as_f64()) {
                Node::Op(Local {
                    kind: Kind::Unary(u, pa),
                    inputs: vec![scalar(n.a())],
                    out_shape: vec![],
                })
            } else if let Some(b) = tag.binary() {
                Node::Op(Local {
                    kind: Kind::Binary(b, [pa, pb]),
                    inputs: vec![scalar(n.a()), scalar(n.b())],
                    out_shape: vec![],
                })
            } else {
                unreachable!("internal error: tag {tag:?} is no op")
            }
        }
    }
}

impl<T: Element> Local<T> {
    /// The op's name as the tape's listing shows it.
    pub(super) fn name(&self) -> String {
        match &self.kind {
            Kind::Unary(u, _) => u.name().into(),
            Kind::Binary(b, _) => b.name().into(),
            Kind::Tensor(op) => op.name(),
        }
    }

    /// The forward, replayed on `xs` (the recorded inputs, perhaps moved).
    pub(super) fn forward(&self, xs: &[Array<T>]) -> Result<Array<T>, String> {
        let shape = &self.out_shape[..];
        Ok(match &self.kind {
            Kind::Unary(u, _) | Kind::Tensor(TensorOp::Unary(u)) => xs[0].map(|v| u.f(v)),
            Kind::Binary(b, _) | Kind::Tensor(TensorOp::Binary(b)) => {
                binary(&xs[0], &xs[1], shape, *b)
            }
            Kind::Tensor(op) => tensor_forward(op, xs, shape)?,
        })
    }

    /// The recorded backward: the gradient of every input given the output's `g`.
    pub(super) fn backward(&self, out: &Array<T>, g: &Array<T>) -> Result<Vec<Array<T>>, String> {
        let xs = &self.inputs;
        let scaled = |p: T| g.map(|v| v * p);
        match &self.kind {
            Kind::Unary(_, pa) => Ok(vec![scaled(*pa)]),
            Kind::Binary(_, [pa, pb]) => Ok(vec![scaled(*pa), scaled(*pb)]),
            Kind::Tensor(TensorOp::Custom(f)) => {
                let refs: Vec<&Array<T>> = xs.iter().collect();
                let grads = f.backward(&refs, out, g);
                if grads.len() != xs.len() {
                    return Err(format!(
                        "backward returned {} gradients for {} inputs",
                        grads.len(),
                        xs.len()
                    ));
                }
                for (k, (gk, x)) in grads.iter().zip(xs).enumerate() {
                    if gk.shape() != x.shape() {
                        return Err(format!(
                            "backward returned a gradient of shape {:?} for input {k} of shape {:?}",
                            gk.shape(),
                            x.shape()
                        ));
                    }
                }
                Ok(grads)
            }
            Kind::Tensor(op) => {
                let refs: Vec<&Array<T>> = xs.iter().collect();
                let need = vec![true; xs.len()];
                let grads = vjp(op, &refs, out, g, &need);
                Ok(grads
                    .into_iter()
                    .zip(xs)
                    .map(|(gk, x)| gk.unwrap_or_else(|| Array::zeros(x.shape())))
                    .collect())
            }
        }
    }

    /// The op's branch decisions at `xs`: which side of each kink every element is on
    /// (empty for a smooth op). Ties follow each op's convention, so the decisions at a tie
    /// name the branch whose derivative backward uses.
    pub(super) fn branches(&self, xs: &[Array<T>]) -> Vec<usize> {
        match &self.kind {
            Kind::Unary(u, _) | Kind::Tensor(TensorOp::Unary(u)) => unary_branches(*u, &xs[0]),
            Kind::Binary(b, _) | Kind::Tensor(TensorOp::Binary(b)) => {
                binary_branches(*b, &xs[0], &xs[1], &self.out_shape)
            }
            Kind::Tensor(TensorOp::MaxAll { .. }) => vec![xs[0].argmax_all()],
            Kind::Tensor(TensorOp::MaxAxis { axis, .. }) => xs[0].max_axis(*axis).1,
            Kind::Tensor(TensorOp::Custom(f)) => {
                let refs: Vec<&Array<T>> = xs.iter().collect();
                f.branches(&refs)
            }
            Kind::Tensor(_) => Vec::new(),
        }
    }
}

fn binary<T: Element>(a: &Array<T>, b: &Array<T>, shape: &[usize], op: BinaryOp) -> Array<T> {
    if a.shape() == b.shape() {
        a.zip_same(b, op)
    } else {
        a.zip_broadcast(b, shape, op)
    }
}

/// `relu`: `x > 0` (the tie is on the side of the zero branch); `abs`: the sign, with 0 its own
/// branch (its derivative there, 0, is the mean of both sides).
fn unary_branches<T: Element>(op: UnaryOp, x: &Array<T>) -> Vec<usize> {
    let code = |v: T| -> usize {
        match op {
            UnaryOp::Relu => usize::from(v > T::zero()),
            _ => usize::from(v > T::zero()) + 2 * usize::from(v < T::zero()),
        }
    };
    match op {
        UnaryOp::Relu | UnaryOp::Abs => x.data().iter().map(|&v| code(v)).collect(),
        _ => Vec::new(),
    }
}

/// `max`: `a ≥ b` (a tie goes to `a`); `min`: `a ≤ b`; `%`: the quotient `trunc(a / b)`,
/// whose every change is a jump.
fn binary_branches<T: Element>(
    op: BinaryOp,
    a: &Array<T>,
    b: &Array<T>,
    shape: &[usize],
) -> Vec<usize> {
    let diff = || binary(a, b, shape, BinaryOp::Sub);
    match op {
        BinaryOp::Max => diff()
            .data()
            .iter()
            .map(|&d| usize::from(d >= T::zero()))
            .collect(),
        BinaryOp::Min => diff()
            .data()
            .iter()
            .map(|&d| usize::from(d <= T::zero()))
            .collect(),
        BinaryOp::Rem => binary(a, b, shape, BinaryOp::Div)
            .data()
            .iter()
            .map(|&q| q.as_f64().trunc() as i64 as usize)
            .collect(),
        _ => Vec::new(),
    }
}

fn tensor_forward<T: Element>(
    op: &TensorOp<T>,
    xs: &[Array<T>],
    shape: &[usize],
) -> Result<Array<T>, String> {
    let x = &xs[0];
    Ok(match op {
        TensorOp::Leaf | TensorOp::Constant | TensorOp::Unary(_) | TensorOp::Binary(_) => {
            unreachable!("internal error: replayed elsewhere")
        }
        &TensorOp::MatMul { ta, tb } => x.matmul_t(ta, &xs[1], tb),
        TensorOp::SumAll => Array::scalar(x.sum_all()),
        TensorOp::SumTo => x.sum_to(shape),
        TensorOp::BroadcastTo => x.broadcast_to(shape),
        TensorOp::Reshape => TensorAlgebra::reshape(x, shape),
        TensorOp::Permute(perm) => x.permute(perm),
        TensorOp::MaxAll { .. } => Array::scalar(x.data()[x.argmax_all()]),
        &TensorOp::MaxAxis { axis, .. } => TensorAlgebra::reshape(&x.max_axis(axis).0, shape),
        TensorOp::GatherElems(idx) => x.gather_elems(idx),
        TensorOp::ScatterElems(idx) => x.scatter_elems(idx, shape[1]),
        TensorOp::IndexSelect(idx) => x.index_select(idx),
        TensorOp::IndexAdd(idx) => x.index_add(idx, shape[0]),
        &TensorOp::Slice { axis, start, end } => x.slice(axis, start, end),
        &TensorOp::Pad {
            axis,
            before,
            after,
        } => x.pad(axis, before, after),
        &TensorOp::Concat { axis } => {
            // Each part padded to the whole and the parts added: the adjoint of the slices
            // its backward takes.
            let mut sum = Array::zeros(shape);
            let mut start = 0;
            for part in xs {
                let n = part.shape()[axis];
                let padded = part.pad(axis, start, shape[axis] - start - n);
                sum = sum.zip_same(&padded, BinaryOp::Add);
                start += n;
            }
            sum
        }
        TensorOp::FromScalars => {
            let data = xs.iter().map(|a| a.data()[0]).collect();
            Array::from_vec(data, shape).map_err(|e| e.to_string())?
        }
        &TensorOp::Element { flat } => Array::scalar(x.data()[flat]),
        TensorOp::Custom(f) => {
            let refs: Vec<&Array<T>> = xs.iter().collect();
            f.forward(&refs)
                .map_err(|e| format!("forward failed: {e}"))?
        }
    })
}
