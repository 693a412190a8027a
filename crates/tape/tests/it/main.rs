//! Integration tests of the tape crate: one binary, one module per subject.
//!
//! The property tests use the crate's `proptest` feature, which the workspace root enables
//! for its tests: run them with `cargo test --workspace` (or `-p tapegrad-tape --features
//! proptest`).

#[cfg(not(feature = "proptest"))]
compile_error!(
    "the tape crate's integration tests need its `proptest` feature: run `cargo test --workspace` \
     or `cargo test -p tapegrad-tape --features proptest`"
);

mod anomaly;
mod check;
mod common;
mod composite;
mod errors;
mod scalar_ops;
mod tensor_elementwise;
mod tensor_structural;
