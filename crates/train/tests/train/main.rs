//! Integration tests of the train crate: one binary, one module per area.

mod alloc;
mod checkpoint;
mod common;
mod csv;
mod data;
mod digits;
mod distributed;
mod fuzz;
mod idx;
mod metrics;
mod mnist;
mod optim;
mod parallel;
mod resume;
mod stream;
mod stream_shards;
mod trainer;

/// Counts allocations per thread, for the fuzz tests' bound on memory.
#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
