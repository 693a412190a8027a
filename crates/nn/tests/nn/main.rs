//! Integration tests of the nn crate: every gradient is checked against finite differences
//! through `tape::check`, values against formulas evaluated independently in plain Rust.

mod activation;
mod activation_scalar;
mod check;
mod common;
mod curvature;
mod higher;
mod init;
mod loss;
mod model;
mod softmax;
mod state;
mod training;
