//! # tapegrad
//!
//! Tape-based reverse-mode automatic differentiation, with neural-network layers and a
//! training driver on top. This crate only re-exports: [`tape`] (the autodiff engine),
//! [`nn`] (layers, activations, losses) and [`train`] (optimisers, data, the training loop).
//!
//! ```
//! use tapegrad::prelude::*;
//! let tape = Tape::<f64>::new();
//! let x = tape.var(3.0);
//! let y = x * x;
//! assert_eq!(y.backward().wrt(x), 6.0);
//! ```
#![deny(missing_docs)]

pub use nn;
pub use tape;
pub use train;

/// The names most programs need.
pub mod prelude {
    pub use tape::{Array, Element, Function, Gradients, Real, Scalar, Tape, TapeError, Tensor};
}

/// The examples of `README.md`, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;
