//! The names most programs that drive models by hand need, in one import: the tape's handles,
//! arrays and shapes, the layers and the [`Model`] traits, the activations, softmax and the
//! losses.
//!
//! The facade crate's `tapegrad::prelude` re-exports all of these and adds the training
//! side (data sets, optimisers, the loop, checkpoints).
//!
//! ```
//! use nn::prelude::*;
//!
//! let model = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, 0)?;
//! let tape = Tape::new();
//! let bound = model.bind(&tape);
//! let logits = bound.forward(tape.tensor_constant(Array::ones(&[5, 3])));
//! assert_eq!(logits.shape(), [5, 2]);
//! let probs = softmax(logits, 1);
//! assert!((probs.sum().value() - 5.0).abs() < 1e-12); // each row sums to 1
//! let smoothed = CrossEntropy { label_smoothing: 0.1 };
//! let loss = softmax_cross_entropy_with(logits, &[0, 1, 0, 1, 0], &smoothed)?;
//! let lp = log_softmax(logits, 1);
//! let nll = nll_loss(lp, &[0, 1, 0, 1, 0])?;
//! let y = tape.tensor_constant(Array::zeros(&[5, 2]));
//! let total = loss + nll + bce_with_logits(logits, y)? + mse_loss(gelu(logits), y)?;
//! let grads = bound.grads(&total.backward());
//! assert_eq!(grads.len(), 4);
//! # Ok::<(), NnError>(())
//! ```

pub use crate::activation::{
    Activation, elu, gelu, gelu_tanh, leaky_relu, relu, sigmoid, silu, softplus, tanh,
};
pub use crate::loss::{
    CrossEntropy, bce_with_logits, mse_loss, nll_loss, softmax_cross_entropy,
    softmax_cross_entropy_with,
};
pub use crate::{
    BoundLinear, BoundMlp, BoundModel, Init, Linear, LoadOptions, LoadReport, Mlp, Model, NnError,
    ParamGrads, StateDict, UpdateFn, log_softmax, softmax, try_log_softmax, try_softmax,
};
pub use tape::{Array, Element, Function, Gradients, Real, Scalar, Shape, Tape, TapeError, Tensor};
