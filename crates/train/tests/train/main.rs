//! Integration tests of the train crate: one binary, one module per area.

mod checkpoint;
mod common;
mod csv;
mod data;
mod digits;
mod idx;
mod metrics;
mod mnist;
mod optim;
mod trainer;
