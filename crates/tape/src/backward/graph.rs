//! The recorded backward walk (`create_graph`): like the first-order sweep, but each op's
//! derivative rule is evaluated on tape handles instead of numbers, so every gradient it
//! returns is itself a recorded [`Scalar`] or [`Tensor`] that can be differentiated again. The
//! rules are the ones first-order backward uses ([`crate::rules`] and the tensor
//! vector-Jacobian products), and so are the checks (`checks.rs`).

use smallvec::SmallVec;

use super::checks::{custom_gradients, gradient_anomaly, recorded_anomaly, reports_gradient};
use crate::node::Tag;
use crate::tensor::op::{TensorOp, vjp};
use crate::{Array, Element, Scalar, Shape, Tape, TapeError, Tensor};

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
    /// A constant on no tape has gradient 0.
    fn graph_grad_in(self, grads: &GraphGradients<'t, T>) -> Scalar<'t, T> {
        let Some(tape) = self.tape() else {
            return Scalar::constant(T::zero());
        };
        grads.check(tape, self.idx);
        grads.scalars[self.idx as usize].unwrap_or_else(|| Scalar::constant(T::zero()))
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

/// What the walk needs of one node, copied out so that the tape's borrow ends before the
/// node's backward records on it.
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

/// The recorded backward from scalar `out`: each node's derivative rule evaluated on handles,
/// so that every gradient is itself on the tape.
pub(crate) fn record<'t, T: Element>(
    tape: &'t Tape<T>,
    out: Scalar<'t, T>,
) -> Result<GraphGradients<'t, T>, TapeError> {
    let out = out.idx as usize;
    let (n_slots, checking) = {
        let inner = tape.inner.borrow();
        recorded_anomaly(&inner)?;
        (inner.tensors_up_to(out), inner.anomaly().is_some())
    };
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
                scalar_step(&mut grads, i, g, tag, [a, b], param, checking)?;
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
                let node = TensorStep {
                    i,
                    slot,
                    op: &op,
                    inputs: &inputs,
                    scalar_out,
                };
                tensor_step(&mut grads, node, g, checking)?;
            }
        }
    }
    forget_constants(&mut grads);
    Ok(grads)
}

/// Constants report zero, as in first-order backward.
fn forget_constants<T: Element>(grads: &mut GraphGradients<'_, T>) {
    let inner = grads.tape.inner.borrow();
    for (j, s) in grads.scalars.iter_mut().enumerate() {
        if !reports_gradient(&inner, j) {
            *s = None;
        }
    }
    for (slot, t) in grads.tensors.iter_mut().enumerate() {
        if !reports_gradient(&inner, inner.tensor(slot).idx as usize) {
            *t = None;
        }
    }
}

fn read_step<T: Element>(tape: &Tape<T>, i: usize) -> Step<T> {
    let inner = tape.inner.borrow();
    let node = *inner.node(i);
    match node.tag() {
        Tag::SINK | Tag::LEAF | Tag::CONST => Step::Skip,
        Tag::TENSOR => {
            let tn = inner.tensor(node.a());
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
    let v = tape.inner.borrow().value(j as usize);
    Scalar::from_parts(tape, j, v)
}

/// Adds gradient `g`, sent by node `from`, to node `j`'s (checked for anomalies first).
fn add_scalar<'t, T: Element>(
    grads: &mut GraphGradients<'t, T>,
    from: usize,
    j: usize,
    g: Scalar<'t, T>,
    incoming_finite: Option<bool>,
) -> Result<(), TapeError> {
    if let Some(incoming_finite) = incoming_finite {
        let bad = (!g.value().is_finite()).then(|| g.value().as_f64());
        anomaly_at(grads.tape, from, j, incoming_finite, bad)?;
    }
    let slot = &mut grads.scalars[j];
    *slot = Some(match *slot {
        Some(acc) => acc + g,
        None => g,
    });
    Ok(())
}

/// Adds gradient `g`, sent by node `from`, to the tensor in slot `slot` (node `j`).
fn add_tensor<'t, T: Element>(
    grads: &mut GraphGradients<'t, T>,
    from: usize,
    (j, slot): (usize, usize),
    g: Tensor<'t, T>,
    incoming_finite: Option<bool>,
) -> Result<(), TapeError> {
    if let Some(incoming_finite) = incoming_finite {
        let bad = g.with_value(|v| v.first_non_finite().map(|(_, b)| b.as_f64()));
        anomaly_at(grads.tape, from, j, incoming_finite, bad)?;
    }
    let s = &mut grads.tensors[slot];
    *s = Some(match *s {
        Some(acc) => acc + g,
        None => g,
    });
    Ok(())
}

fn anomaly_at<T: Element>(
    tape: &Tape<T>,
    from: usize,
    j: usize,
    incoming_finite: bool,
    bad: Option<f64>,
) -> Result<(), TapeError> {
    let inner = tape.inner.borrow();
    match gradient_anomaly(&inner, from, j, incoming_finite, bad) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

fn scalar_step<'t, T: Element>(
    grads: &mut GraphGradients<'t, T>,
    i: usize,
    g: Scalar<'t, T>,
    tag: Tag,
    [a, b]: [u32; 2],
    param: f64,
    checking: bool,
) -> Result<(), TapeError> {
    let tape = grads.tape;
    let incoming = checking.then(|| g.value().is_finite());
    let out = scalar_handle(tape, i as u32);
    let x = scalar_handle(tape, a);
    if let Some(op) = tag.unary(param) {
        add_scalar(grads, i, a as usize, g * op.df(x, out), incoming)
    } else if let Some(op) = tag.binary() {
        let y = scalar_handle(tape, b);
        let (dx, dy) = op.df(x, y, out);
        add_scalar(grads, i, a as usize, g * dx, incoming)?;
        add_scalar(grads, i, b as usize, g * dy, incoming)
    } else if tag == Tag::CUSTOM {
        Err(TapeError::Custom {
            name: "Scalar::custom".into(),
            message: format!(
                "node {i} has a numeric derivative only, so it cannot be differentiated twice; \
                 write the function with tape ops instead"
            ),
        })
    } else {
        unreachable!("internal error: scalar step for tag {tag:?}");
    }
}

/// A tensor node, as [`record`] reads it.
struct TensorStep<'a, T: Element> {
    i: usize,
    slot: u32,
    op: &'a TensorOp<T>,
    inputs: &'a [u32],
    scalar_out: bool,
}

fn tensor_step<'t, T: Element>(
    grads: &mut GraphGradients<'t, T>,
    node: TensorStep<'_, T>,
    g: Tensor<'t, T>,
    checking: bool,
) -> Result<(), TapeError> {
    let tape = grads.tape;
    // Handles of the inputs and of the output; scalars enter as 0-d tensors.
    let slots: SmallVec<[Option<usize>; 2]> = {
        let inner = tape.inner.borrow();
        node.inputs
            .iter()
            .map(|&j| inner.tensor_slot(j as usize))
            .collect()
    };
    let xs: SmallVec<[Tensor<'t, T>; 2]> = node
        .inputs
        .iter()
        .zip(&slots)
        .map(|(&j, slot)| match slot {
            Some(s) => Tensor::from_parts(tape, j, *s as u32),
            None => scalar_handle(tape, j).to_tensor(),
        })
        .collect();
    let out = if node.scalar_out {
        scalar_handle(tape, node.i as u32).to_tensor()
    } else {
        Tensor::from_parts(tape, node.i as u32, node.slot)
    };
    let results = recorded_input_gradients(node.op, &xs, out, g)?;
    let incoming = checking.then(|| g.with_value(|v| v.first_non_finite().is_none()));
    for ((&j, slot), gj) in node.inputs.iter().zip(&slots).zip(results) {
        let Some(gj) = gj else { continue };
        match slot {
            Some(s) => add_tensor(grads, node.i, (j as usize, *s), gj, incoming)?,
            None => add_scalar(grads, node.i, j as usize, gj.item(), incoming)?,
        }
    }
    Ok(())
}

/// The gradients a tensor node sends to its inputs `xs`, recorded: its op's vector-Jacobian
/// product on handles, or a custom function's `backward_on_tape`, checked as first-order
/// backward checks `backward`.
fn recorded_input_gradients<'t, T: Element>(
    op: &TensorOp<T>,
    xs: &[Tensor<'t, T>],
    out: Tensor<'t, T>,
    g: Tensor<'t, T>,
) -> Result<SmallVec<[Option<Tensor<'t, T>>; 2]>, TapeError> {
    match op {
        TensorOp::Custom(f) => {
            let numeric_only = || TapeError::Custom {
                name: f.name().to_string(),
                message: "its backward is numeric only, so it cannot be differentiated twice; \
                          implement `backward_on_tape` or write it with tape ops"
                    .into(),
            };
            let gs = f.backward_on_tape(xs, out, g).ok_or_else(numeric_only)?;
            let shapes =
                |ts: &[Tensor<'t, T>]| -> Vec<Shape> { ts.iter().map(|t| t.shape()).collect() };
            custom_gradients(f.name(), "backward_on_tape", &shapes(&gs), &shapes(xs))?;
            Ok(gs.into_iter().map(Some).collect())
        }
        op => {
            let refs: SmallVec<[&Tensor<'t, T>; 2]> = xs.iter().collect();
            let need: SmallVec<[bool; 2]> = smallvec::smallvec![true; refs.len()];
            Ok(vjp(op, &refs, &out, &g, &need))
        }
    }
}
