//! [`Gradients`]: the result of a first-order backward pass, indexed by handle.

use std::sync::OnceLock;

use crate::array::buffers;
use crate::{Array, Element, Scalar, Shape, Tape, Tensor};

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
    /// The result of a sweep on `tape` as it is now: every node's adjoint, and each tensor
    /// slot's gradient with its shape (`None`: zeros, made if read).
    pub(super) fn new(
        tape: &Tape<T>,
        scalars: Vec<T>,
        tensors: impl Iterator<Item = (Option<Array<T>>, Shape)>,
    ) -> Self {
        Gradients {
            tape_id: tape.id,
            generation: tape.generation,
            scalars,
            tensors: tensors
                .map(|(grad, shape)| TensorGrad {
                    grad,
                    shape,
                    zeros: OnceLock::new(),
                })
                .collect(),
        }
    }

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
    /// A constant on no tape has gradient 0.
    fn grad_in(self, grads: &Gradients<T>) -> T {
        let Some(tape) = self.tape() else {
            return T::zero();
        };
        grads.check(tape, self.idx, "wrt");
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
