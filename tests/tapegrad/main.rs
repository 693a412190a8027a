//! End-to-end tests of tapegrad: the command-line program, the examples, and training on
//! MNIST. One test binary, one module per area.

// The program is built only with the `cli` feature (on by default).
#[cfg(feature = "cli")]
mod cli;
mod examples;
mod mnist;
#[cfg(all(feature = "cli", feature = "mpi"))]
mod mpi;
#[cfg(feature = "cli")]
mod robustness;
