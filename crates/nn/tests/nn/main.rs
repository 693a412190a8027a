//! Integration tests of the nn crate: every gradient is checked against finite differences
//! through `tape::check`, values against formulas evaluated independently in plain Rust.

mod activation;
mod check;
mod common;
mod higher;
mod init;
mod loss;
mod model;
mod softmax;
mod training;
