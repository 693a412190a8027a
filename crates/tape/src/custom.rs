//! Custom differentiable functions: a new primitive with a hand-written backward.
//!
//! Most functions need nothing: any Rust function built from tape ops is differentiable. A
//! primitive of its own is for when the derivative is cheaper or more stable written by hand
//! (a fused kernel, a numerically careful formula). Scalar functions can use the lighter
//! [`Scalar::custom`](crate::Scalar::custom).

use std::sync::Arc;

use crate::tensor::op::TensorOp;
use crate::{Array, Element, Tape, TapeError, Tensor};

/// A differentiable primitive over tensors: a forward and its vector-Jacobian product.
///
/// Check every implementation with [`check::gradcheck`](crate::check::gradcheck). A function
/// is `Send + Sync`, since the tape keeps it and a tape may move to another thread: state it
/// holds is plain data, or behind `Arc` rather than `Rc`.
///
/// ```
/// use tape::{Array, Function, Tape, TapeError};
///
/// /// `log(1 + eˣ)` elementwise, stable for large |x|; derivative σ(x).
/// #[derive(Clone)]
/// struct Log1pExp;
///
/// impl Function<f64> for Log1pExp {
///     fn name(&self) -> &str { "log1p_exp" }
///     fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
///         Ok(x[0].map(|v| v.max(0.0) + (-v.abs()).exp().ln_1p()))
///     }
///     fn backward(&self, x: &[&Array<f64>], _out: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
///         let sig = x[0].map(|v| 1.0 / (1.0 + (-v).exp()));
///         let data = sig.data().iter().zip(g.data()).map(|(s, g)| s * g).collect();
///         vec![Array::from_vec(data, x[0].shape()).unwrap()]
///     }
/// }
///
/// let tape = Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![-800.0, 0.0, 800.0], &[3]).unwrap();
/// let y = tape.apply(&Log1pExp, &[x]).unwrap();
/// assert_eq!(y.to_vec(), vec![0.0, 2f64.ln(), 800.0]);
/// assert_eq!(y.sum().backward().wrt(x).data(), &[0.0, 0.5, 1.0]);
/// ```
pub trait Function<T: Element>: Send + Sync {
    /// The name shown in tape listings and error messages.
    fn name(&self) -> &str;

    /// Computes the output from the input values.
    ///
    /// # Errors
    /// Whatever the function rejects (typically shapes), as a [`TapeError`].
    fn forward(&self, inputs: &[&Array<T>]) -> Result<Array<T>, TapeError>;

    /// Given the inputs, the output and the gradient of the output, returns the gradient of
    /// each input (one per input, each of that input's shape).
    fn backward(&self, inputs: &[&Array<T>], out: &Array<T>, grad_out: &Array<T>) -> Vec<Array<T>>;

    /// The branch decisions of a piecewise function at these inputs (which side of each kink
    /// every element is on, in any encoding), so that a gradient check can tell a finite
    /// difference that crosses a kink from a wrong derivative. At a tie the derivative must be
    /// that of the branch named here, which the check verifies with a one-sided difference on
    /// the side where the decisions stay the same (see
    /// [`check::check_ops`](crate::check::check_ops)). The default, empty, declares a smooth
    /// function.
    ///
    /// ```
    /// use tape::{Array, Function, TapeError};
    ///
    /// /// `max(x, 0)`, derivative 0 at 0: the tie belongs to the branch `x ≤ 0`.
    /// #[derive(Clone)]
    /// struct Relu;
    /// impl Function<f64> for Relu {
    ///     fn name(&self) -> &str { "relu" }
    ///     fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
    ///         Ok(x[0].map(|v| v.max(0.0)))
    ///     }
    ///     fn backward(&self, x: &[&Array<f64>], _o: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
    ///         let d = x[0].data().iter().zip(g.data()).map(|(&v, &g)| if v > 0.0 { g } else { 0.0 });
    ///         vec![Array::from_vec(d.collect(), x[0].shape()).unwrap()]
    ///     }
    ///     fn branches(&self, x: &[&Array<f64>]) -> Vec<usize> {
    ///         x[0].data().iter().map(|&v| usize::from(v > 0.0)).collect()
    ///     }
    /// }
    /// let x = Array::from_vec(vec![-1.0, 0.0, 2.0], &[3]).unwrap();
    /// assert_eq!(Relu.branches(&[&x]), vec![0, 0, 1]);
    /// ```
    fn branches(&self, inputs: &[&Array<T>]) -> Vec<usize> {
        let _ = inputs;
        Vec::new()
    }

    /// The same backward written with tape ops, so that it can be differentiated again (used by
    /// [`Scalar::backward_graph`](crate::Scalar::backward_graph)). The default, `None`, means
    /// the function has a numeric backward only: differentiating it twice is then an error.
    ///
    /// ```
    /// use tape::{Array, Function, Tape, TapeError, Tensor};
    ///
    /// #[derive(Clone)]
    /// struct Square;
    /// impl Function<f64> for Square {
    ///     fn name(&self) -> &str { "square" }
    ///     fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
    ///         Ok(x[0].map(|v| v * v))
    ///     }
    ///     fn backward(&self, x: &[&Array<f64>], _o: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
    ///         let d = x[0].data().iter().zip(g.data()).map(|(v, g)| 2.0 * v * g).collect();
    ///         vec![Array::from_vec(d, x[0].shape()).unwrap()]
    ///     }
    ///     fn backward_on_tape<'t>(
    ///         &self, x: &[Tensor<'t, f64>], _out: Tensor<'t, f64>, g: Tensor<'t, f64>,
    ///     ) -> Option<Vec<Tensor<'t, f64>>> {
    ///         Some(vec![g * x[0] * 2.0])
    ///     }
    /// }
    ///
    /// let tape = Tape::<f64>::new();
    /// let x = tape.full(&[1], 3.0);
    /// let y = tape.apply(&Square, &[x]).unwrap().sum();
    /// let dy = y.backward_graph().unwrap().wrt(x);      // 2x
    /// assert_eq!(dy.sum().backward().wrt(x).data(), &[2.0]);
    /// ```
    fn backward_on_tape<'t>(
        &self,
        inputs: &[Tensor<'t, T>],
        out: Tensor<'t, T>,
        grad_out: Tensor<'t, T>,
    ) -> Option<Vec<Tensor<'t, T>>> {
        let _ = (inputs, out, grad_out);
        None
    }
}

impl<T: Element> Tape<T> {
    /// Records a custom [`Function`] applied to `inputs`. The function is cloned onto the tape.
    ///
    /// # Errors
    /// The error of the function's `forward`; [`TapeError::DifferentTapes`] if an input
    /// belongs to another tape.
    ///
    /// ```
    /// use tape::{Array, Function, Tape, TapeError};
    ///
    /// #[derive(Clone)]
    /// struct Double;
    /// impl Function<f64> for Double {
    ///     fn name(&self) -> &str { "double" }
    ///     fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
    ///         Ok(x[0].map(|v| 2.0 * v))
    ///     }
    ///     fn backward(&self, _x: &[&Array<f64>], _o: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
    ///         vec![g.map(|v| 2.0 * v)]
    ///     }
    /// }
    ///
    /// let tape = Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let y = tape.apply(&Double, &[x]).unwrap();
    /// assert_eq!(y.to_vec(), vec![2.0, 4.0]);
    /// assert_eq!(y.sum().backward().wrt(x).data(), &[2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn apply<'t, F>(
        &'t self,
        f: &F,
        inputs: &[Tensor<'t, T>],
    ) -> Result<Tensor<'t, T>, TapeError>
    where
        F: Function<T> + Clone + 'static,
    {
        for x in inputs {
            TapeError::same_tape(self, x.tape, f.name())?;
        }
        let out = {
            let inner = self.inner.borrow();
            let xs: Vec<&Array<T>> = inputs
                .iter()
                .map(|x| inner.tensor_value(x.slot as usize))
                .collect();
            f.forward(&xs)?
        };
        let idx: Vec<u32> = inputs.iter().map(|x| x.idx).collect();
        Ok(self.push_tensor(TensorOp::Custom(Arc::new(f.clone())), &idx, out))
    }
}
