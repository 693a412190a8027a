//! # tape — tapegrad's reverse-mode automatic differentiation
//!
//! A [`Tape`] records scalar and tensor operations into a Wengert list as they run; calling
//! [`Scalar::backward`] replays the list from the end with the chain rule and returns the
//! [`Gradients`] of the output with respect to every recorded value.
//!
//! ```
//! use tape::Tape;
//!
//! let tape = Tape::<f64>::new();
//! let w = tape.tensor_from_vec(vec![0.5, -1.0, 2.0, 0.0, 1.0, 1.5], &[3, 2]).unwrap();
//! let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[1, 3]).unwrap();
//! let loss = x.matmul(w).tanh().sum();        // any composition of ops is differentiable
//! let grads = loss.backward();
//! assert_eq!(grads.wrt(w).shape(), &[3, 2]);
//! ```
//!
//! - Scalars ([`Scalar`]) are first class: each op stores its local partials at record time
//!   and backward over scalars is a tight multiply-add loop.
//! - Tensors ([`Tensor`]) are contiguous row-major arrays with NumPy broadcasting, matrix
//!   products through a real GEMM, reductions, reshapes and indexing.
//! - Handles are `Copy` and borrow their tape; there is no global state besides where large
//!   kernels run ([`set_parallelism`]: tapegrad's own threads, the caller's `rayon` pool, or
//!   the calling thread). A tape is `Send`, so a host's tasks can each own one.
//! - New primitives implement [`Function`]; [`check`] compares any gradient with central
//!   finite differences.
//! - A chain of cheap elementwise ops can be one node: [`fused`] records a per-element
//!   closure over dual numbers whose derivative comes from forward mode.
//! - Derivative rules are written once, generic over [`Real`] (numbers or handles), so they
//!   can also be recorded on the tape; the elementwise ops are one table, [`rules`].
//! - A [`Scalar`] is a `num_traits::Float`: code written generic over `Float` is
//!   differentiated without a change, and [`func`] gives its gradient, Hessian, directional
//!   derivative (forward mode) or Jacobian from a closure and a point, as `jax.grad` does
//!   ([`higher`] does the same for functions of one tensor).
//!
//! ```
//! use tape::num_traits::Float;
//! fn softplus<F: Float>(x: F) -> F { (F::one() + x.exp()).ln() } // written for any Float
//! let g = tape::func::grad(|x| softplus(x[0]), &[0.0]).unwrap();
//! assert_eq!(g, vec![0.5]); // σ(0)
//! ```
//!
//! ## Features
//! All off by default.
//! - `proptest`: strategies for property tests of your own functions ([`check`]).
//! - `ndarray`: conversions between [`Array`] and `ndarray`'s `ArrayD`, `ArrayViewD` and
//!   arrays of any dimension: a view of an `Array` never copies, and an owned ndarray array in
//!   standard (row-major) layout is taken without copying. A tensor is recorded with
//!   `tape.tensor(x.into())`, a gradient read with `grads.wrt(w).as_ndarray()`.
//! - `nalgebra`: conversions between [`Array`] and `nalgebra`'s `DMatrix` (`[rows, cols]`,
//!   element `[i, j]` ↔ `m[(i, j)]`, copied transposed since nalgebra is column-major) and
//!   `DVector` (`[n]`, not copied).
//!
//! Each conversion's documentation says when it copies; `docs/embedding.md` has a whole
//! program.
#![deny(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "argmin")]
pub mod argmin;
mod array;
mod backward;
pub mod check;
mod custom;
mod debug;
mod element;
mod error;
mod forward;
pub mod func;
pub mod fused;
pub mod higher;
#[cfg(any(feature = "ndarray", feature = "nalgebra"))]
mod interop;
mod node;
mod parallel;
mod real;
#[macro_use]
pub mod rules;
mod scalar;
mod shape;
mod tape;
mod tensor;

pub use array::Array;
pub use backward::{Gradients, GraphGradients, Wrt, WrtGraph};
pub use custom::Function;
pub use element::Element;
pub use error::TapeError;
/// The `num-traits` crate tapegrad implements (`Scalar` is a `num_traits::Float`), so that
/// generic code names the same version.
pub use num_traits;
pub use parallel::{
    IDLE_SPIN, Parallelism, num_threads, parallelism, set_num_threads, set_parallelism,
};
pub use rules::Real;
pub use scalar::Scalar;
pub use shape::{Shape, broadcast_shapes};
pub use tape::Tape;
pub use tensor::Tensor;
pub use tensor::algebra::TensorAlgebra;

/// The `nalgebra` crate the conversions are written for (feature `nalgebra`): name its types
/// through this path, or depend on the same version, so that the conversions apply.
#[cfg(feature = "nalgebra")]
pub use nalgebra;
/// The `ndarray` crate the conversions are written for (feature `ndarray`): name its types
/// through this path, or depend on the same version, so that the conversions apply.
#[cfg(feature = "ndarray")]
pub use ndarray;

/// The examples of the guides in `docs/`, compiled and run as doc-tests.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../../../docs/custom-functions.md")]
    struct CustomFunctions;
    #[doc = include_str!("../../../docs/higher-order.md")]
    struct HigherOrder;
}
