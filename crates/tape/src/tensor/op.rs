//! The closed set of built-in tensor ops, plus one `Custom` variant, and the backward dispatch.
//!
//! Each op stores only what its backward needs (indices, axes, an argmax); input values are
//! read from the input nodes. [`vjp`] is written once over [`TensorAlgebra`]: with plain
//! [`Array`]s it is the first-order backward; with [`Tensor`](crate::Tensor) handles it
//! records the backward on the tape.

use std::sync::Arc;

use smallvec::{SmallVec, smallvec};

use super::algebra::TensorAlgebra;
use crate::rules::{BinaryOp, UnaryOp};
use crate::{Array, Element, Function, Shape};

#[derive(Clone)]
pub(crate) enum TensorOp<T: Element> {
    Leaf,
    Constant,
    Unary(UnaryOp),
    Binary(BinaryOp),
    MatMul {
        ta: bool,
        tb: bool,
    },
    SumAll,
    SumTo,
    BroadcastTo,
    Reshape,
    /// The permutation (behind a reference count, like the other variants' index lists, so
    /// that the op stays small: every tensor node holds one).
    Permute(Arc<[usize]>),
    MaxAll {
        arg: usize,
    },
    MaxAxis {
        axis: usize,
        arg: Arc<[usize]>,
    },
    GatherElems(Arc<[usize]>),
    ScatterElems(Arc<[usize]>),
    IndexSelect(Arc<[usize]>),
    IndexAdd(Arc<[usize]>),
    Slice {
        axis: usize,
        start: usize,
        end: usize,
    },
    Pad {
        axis: usize,
        before: usize,
        after: usize,
    },
    Concat {
        axis: usize,
    },
    FromScalars,
    Element {
        flat: usize,
    },
    Custom(Arc<dyn Function<T>>),
}

impl<T: Element> TensorOp<T> {
    pub(crate) fn name(&self) -> String {
        match self {
            TensorOp::Leaf => "tensor".into(),
            TensorOp::Constant => "tensor_constant".into(),
            TensorOp::Unary(u) => u.name().into(),
            TensorOp::Binary(b) => b.name().into(),
            TensorOp::MatMul {
                ta: false,
                tb: false,
            } => "matmul".into(),
            TensorOp::MatMul { ta, tb } => format!("matmul(ta={ta}, tb={tb})"),
            TensorOp::SumAll => "sum".into(),
            TensorOp::SumTo => "sum_to".into(),
            TensorOp::BroadcastTo => "broadcast_to".into(),
            TensorOp::Reshape => "reshape".into(),
            TensorOp::Permute(p) => format!("permute{:?}", &p[..]),
            TensorOp::MaxAll { .. } => "max".into(),
            TensorOp::MaxAxis { .. } => "max_axis".into(),
            TensorOp::GatherElems(_) => "gather".into(),
            TensorOp::ScatterElems(_) => "scatter".into(),
            TensorOp::IndexSelect(_) => "index_select".into(),
            TensorOp::IndexAdd(_) => "index_add".into(),
            TensorOp::Slice { axis, start, end } => format!("slice(axis={axis}, {start}..{end})"),
            TensorOp::Pad {
                axis,
                before,
                after,
            } => format!("pad(axis={axis}, {before}, {after})"),
            TensorOp::Concat { axis } => format!("concat(axis={axis})"),
            TensorOp::FromScalars => "from_scalars".into(),
            TensorOp::Element { flat } => format!("element({flat})"),
            TensorOp::Custom(f) => format!("custom:{}", f.name()),
        }
    }

    /// Whether the op has inputs to send gradients to.
    pub(crate) fn is_source(&self) -> bool {
        matches!(self, TensorOp::Leaf | TensorOp::Constant)
    }
}

/// The vector-Jacobian product of a built-in op: given the inputs `x`, the output `out` and the
/// gradient `g` of the output, the gradient of each input (`None`: no gradient flows).
///
/// `need[i]` says whether input `i` wants its gradient; ops whose input gradients cost a
/// separate computation (the matrix product) skip the unwanted ones and return `None` there.
/// Other ops may return gradients that were not asked for; callers drop them.
///
/// Every rule here is one or two lines over [`TensorAlgebra`]; the adjoint of each structural
/// op is another structural op (sum_to ↔ broadcast_to, slice ↔ pad, gather ↔ scatter,
/// index_select ↔ index_add, matmul ↔ matmul), so the rules are closed under differentiation.
pub(crate) fn vjp<T: Element, V: TensorAlgebra<T>>(
    op: &TensorOp<T>,
    x: &[&V],
    out: &V,
    g: &V,
    need: &[bool],
) -> SmallVec<[Option<V>; 2]> {
    match op {
        TensorOp::Leaf | TensorOp::Constant => smallvec![],
        TensorOp::Unary(u) => smallvec![Some(V::unary_vjp(*u, x[0], out, g))],
        TensorOp::Binary(b) => {
            let (ga, gb) = V::binary_vjp(*b, x[0], x[1], out, g);
            smallvec![Some(ga), Some(gb)]
        }
        &TensorOp::MatMul { ta, tb } => matmul_vjp(ta, tb, x[0], x[1], g, need),
        TensorOp::SumAll | TensorOp::SumTo => smallvec![Some(g.broadcast_to(&x[0].shape()))],
        TensorOp::BroadcastTo => smallvec![Some(g.sum_to(&x[0].shape()))],
        TensorOp::Reshape => smallvec![Some(g.reshape(&x[0].shape()))],
        TensorOp::Permute(perm) => {
            let mut inverse = Shape::from_elem(0, perm.len());
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            smallvec![Some(g.permute(&inverse))]
        }
        // The gradient goes to the first maximal element (see `Tensor::max`).
        &TensorOp::MaxAll { arg } => {
            let mask = g.constant(Array::mask_at(&x[0].shape(), &[arg]));
            smallvec![Some(mask.mul(g))]
        }
        TensorOp::MaxAxis { axis, arg } => smallvec![Some(max_axis_vjp(*axis, arg, x[0], g))],
        TensorOp::GatherElems(idx) => smallvec![Some(g.scatter_elems(idx, x[0].shape()[1]))],
        TensorOp::ScatterElems(idx) => smallvec![Some(g.gather_elems(idx))],
        TensorOp::IndexSelect(idx) => smallvec![Some(g.index_add(idx, x[0].shape()[0]))],
        TensorOp::IndexAdd(idx) => smallvec![Some(g.index_select(idx))],
        &TensorOp::Slice { axis, start, end } => {
            let n = x[0].shape()[axis];
            smallvec![Some(g.pad(axis, start, n - end))]
        }
        &TensorOp::Pad { axis, before, .. } => {
            let n = x[0].shape()[axis];
            smallvec![Some(g.slice(axis, before, before + n))]
        }
        &TensorOp::Concat { axis } => {
            // Each part's gradient is its slice of `g`.
            let mut start = 0;
            x.iter()
                .map(|xi| {
                    start += xi.shape()[axis];
                    Some(g.slice(axis, start - xi.shape()[axis], start))
                })
                .collect()
        }
        TensorOp::FromScalars => {
            // Element `i` of `g` goes to scalar `i`, as a 0-d tensor.
            let flat = g.reshape(&[x.len()]);
            (0..x.len())
                .map(|i| Some(flat.slice(0, i, i + 1).reshape(&[])))
                .collect()
        }
        &TensorOp::Element { flat } => {
            let shape = x[0].shape();
            let mask = g.constant(Array::mask_at(&shape, &[flat]));
            smallvec![Some(mask.mul(g))]
        }
        TensorOp::Custom(_) => {
            unreachable!("internal error: custom ops are dispatched by the caller")
        }
    }
}

/// The product `C = op(A)·op(B)`: for `ta = false`, `∂A = G·op(B)ᵀ`; for `ta = true`
/// (`C = Aᵀ·op(B)`), `∂A = op(B)·Gᵀ`. Symmetrically `∂B = op(A)ᵀ·G`, or `Gᵀ·op(A)` when `tb`.
/// Only the gradients `need` asks for are computed (each is a product of its own).
fn matmul_vjp<T: Element, V: TensorAlgebra<T>>(
    ta: bool,
    tb: bool,
    a: &V,
    b: &V,
    g: &V,
    need: &[bool],
) -> SmallVec<[Option<V>; 2]> {
    let ga = need[0].then(|| {
        if ta {
            b.matmul_t(tb, g, true)
        } else {
            g.matmul_t(false, b, !tb)
        }
    });
    let gb = need[1].then(|| {
        if tb {
            g.matmul_t(true, a, ta)
        } else {
            a.matmul_t(!ta, g, false)
        }
    });
    smallvec![ga, gb]
}

/// The maximum along `axis`: `g`, broadcast back along the axis, at each argmax (`arg`) and 0
/// elsewhere.
fn max_axis_vjp<T: Element, V: TensorAlgebra<T>>(axis: usize, arg: &[usize], x: &V, g: &V) -> V {
    let shape = x.shape();
    let mut keep_shape = shape.clone();
    keep_shape[axis] = 1;
    let mask = g.constant(Array::mask_at(&shape, arg));
    mask.mul(&g.reshape(&keep_shape).broadcast_to(&shape))
}
