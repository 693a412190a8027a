//! Integration tests of the tape crate: one binary, one module per subject.

mod check;
mod common;
mod higher;
mod higher_props;
