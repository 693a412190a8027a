//! Integration tests of the tape crate: one binary, one module per subject.
//!
//! The property tests use the crate's `proptest` feature, which the crate's own
//! dev-dependency on itself turns on for every test build.
mod anomaly;
mod check;
mod common;
mod composite;
mod errors;
mod higher;
mod higher_props;
mod scalar_ops;
mod tensor_elementwise;
mod tensor_structural;
