//! End-to-end tests of tapegrad: the command-line program, the examples, and training on
//! MNIST. One test binary, one module per area.

mod cli;
mod examples;
mod mnist;
