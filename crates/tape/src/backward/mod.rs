//! Backward: the reverse walks over the list and their results.
//!
//! - `sweep.rs`: the first-order sweep, adjoints as numbers and arrays → [`Gradients`]
//!   (`gradients.rs`). Entered by [`Scalar::backward`](crate::Scalar::backward) and
//!   [`Tape::vjp`](crate::Tape::vjp).
//! - `graph.rs`: the same walk with each rule evaluated on tape handles, so that the gradients
//!   are recorded and can be differentiated again → [`GraphGradients`]. Entered by
//!   [`Scalar::backward_graph`](crate::Scalar::backward_graph).
//! - `checks.rs`: what both walks check and decide the same way (custom functions' results,
//!   anomalies, which nodes report a gradient).

mod checks;
mod gradients;
pub(crate) mod graph;
pub(crate) mod sweep;

pub use gradients::{Gradients, Wrt};
pub use graph::{GraphGradients, WrtGraph};
