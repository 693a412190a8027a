//! # nn — neural-network building blocks for tapegrad
//!
//! Activations, softmax and log-softmax, losses, [`Linear`] and [`Mlp`] layers and their
//! initialisers, all made of tape ops (plus two custom primitives with hand-written
//! derivatives: the fused softmax cross-entropy and the error function). Everything is generic
//! over the element type `T: tape::Element` (`f32` or `f64`).
//!
//! Parameters live outside the tape, as plain [`Array`](tape::Array)s owned by the model.
//! Each step binds them onto a tape, runs forward, takes a loss, runs backward, reads the
//! gradients by parameter name and updates the parameters in place; then the tape is cleared
//! for the next step:
//!
//! ```
//! use nn::{Activation, BoundModel, Mlp, Model};
//! use nn::loss::softmax_cross_entropy;
//! use tape::{Array, Tape};
//!
//! let mut model = Mlp::<f64>::new(&[2, 16, 2], Activation::Tanh, 0).unwrap();
//! // Two points per class: class 1 where x₀ > 0.
//! let x = Array::from_vec(vec![-1.0, 0.5, -0.5, -1.0, 1.0, 0.2, 0.7, -0.4], &[4, 2]).unwrap();
//! let labels = [0, 0, 1, 1];
//!
//! let mut tape = Tape::new();
//! let mut losses = Vec::new();
//! for _step in 0..50 {
//!     let bound = model.bind(&tape);                      // parameters onto the tape
//!     let logits = bound.forward(tape.tensor_constant(x.clone()));
//!     let loss = softmax_cross_entropy(logits, &labels).unwrap();
//!     losses.push(loss.value());
//!     let mut grads = loss.backward();
//!     let grads = bound.take_grads(&mut grads);           // gradients by parameter name
//!     model.update_params(&grads, &mut |_name, p, g| {   // plain SGD, in place
//!         for (p, g) in p.data_mut().iter_mut().zip(g.data()) {
//!             *p -= 0.5 * g;
//!         }
//!     }).unwrap();
//!     tape.clear();                                       // reuse the tape's memory
//! }
//! assert!(losses[49] < 0.1 * losses[0]);
//! ```
//!
//! - [`activation`]: sigmoid, tanh, ReLU, leaky ReLU, ELU, GELU (exact and tanh), softplus,
//!   SiLU, and the [`Activation`] enum.
//! - [`softmax`], [`log_softmax`]: along an axis, stable for logits of any size.
//! - [`loss`]: softmax cross-entropy (fused, with label smoothing), NLL, MSE, binary
//!   cross-entropy with logits.
//! - [`Model`] and [`BoundModel`]: how parameters are visited, bound and updated;
//!   [`Linear`] and [`Mlp`] implement them.
//! - [`StateDict`]: a model's parameters by name in memory ([`Model::state_dict`],
//!   [`Model::load_state_dict`]), as PyTorch's.
//! - [`curvature`]: Hessian-vector products, Hessians and Gauss–Newton-vector products
//!   over all of a model's parameters, by name.
//! - [`Init`]: Xavier/Glorot and He/Kaiming initialisation from a seed.
//! - [`NnError`]: the crate's one error type.
//! - [`prelude`]: all of the above and the tape's handles, in one `use nn::prelude::*`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod activation;
pub mod check;
pub mod curvature;
mod error;
pub mod init;
mod linear;
pub mod loss;
mod mlp;
mod model;
pub mod prelude;
mod softmax;
pub mod special;
mod state;

pub use activation::Activation;
pub use error::NnError;
pub use init::Init;
pub use linear::{BoundLinear, Linear};
pub use mlp::{BoundMlp, Mlp};
pub use model::{BoundModel, Model, ParamGrads, UpdateFn};
pub use softmax::{log_softmax, softmax, try_log_softmax, try_softmax};
pub use state::{LoadOptions, LoadReport, StateDict};
