//! The performance workloads of DESIGN.md, built in one place so that the criterion benches
//! (`benches/w*.rs`) and the `workloads` example (which prints figures in the same format as
//! the PyTorch comparison script) measure exactly the same thing.

// Each bench binary includes this module and uses only its own workload.
#![allow(dead_code)]

use tapegrad::tape::{Array, Scalar, Tape, Tensor};

/// W1: number of recorded ops (three per loop iteration).
pub const W1_OPS: usize = 1_000_000;

/// W1: number of scalar inputs.
pub const W1_INPUTS: usize = 1000;

/// W1's inputs, `x[i] = 0.001 * i` for `i < 1000`, as variables of `tape`.
pub fn w1_inputs(tape: &Tape<f64>) -> Vec<Scalar<'_, f64>> {
    (0..W1_INPUTS).map(|i| tape.var(0.001 * i as f64)).collect()
}

/// Records W1 on `tape` and returns `acc`:
/// `acc = 0; for k in 0..n_ops/3 { acc = acc*0.999 + x[k % 1000] * x[(7*k) % 1000] }`.
///
/// Each iteration records three nodes: `mul_const(0.999)`, `mul` and `add`.
#[inline(never)]
pub fn w1_record<'t>(tape: &'t Tape<f64>, x: &[Scalar<'t, f64>], n_ops: usize) -> Scalar<'t, f64> {
    let mut acc = tape.constant(0.0);
    for k in 0..n_ops / 3 {
        acc = acc * 0.999 + x[k % W1_INPUTS] * x[(7 * k) % W1_INPUTS];
    }
    acc
}

/// W1 evaluated on plain numbers, in the same order, for checking the recorded value.
pub fn w1_value(n_ops: usize) -> f64 {
    let x: Vec<f64> = (0..W1_INPUTS).map(|i| 0.001 * i as f64).collect();
    let mut acc = 0.0;
    for k in 0..n_ops / 3 {
        acc = acc * 0.999 + x[k % W1_INPUTS] * x[(7 * k) % W1_INPUTS];
    }
    acc
}

/// W4: number of adds recorded per measured batch.
pub const W4_ADDS: usize = 1000;

/// W4's operands: two 4-element `f32` tensors (inputs, so gradients would flow to them).
pub fn w4_inputs(tape: &Tape<f32>) -> (Tensor<'_, f32>, Tensor<'_, f32>) {
    (
        tape.tensor(Array::rand_uniform(&[4], 0.0, 1.0, 1)),
        tape.tensor(Array::rand_uniform(&[4], 0.0, 1.0, 2)),
    )
}

/// Records `n` elementwise adds `a + b` on the tape and returns the last.
#[inline(never)]
pub fn w4_adds<'t>(a: Tensor<'t, f32>, b: Tensor<'t, f32>, n: usize) -> Tensor<'t, f32> {
    let mut c = a;
    for _ in 0..n {
        c = std::hint::black_box(a) + std::hint::black_box(b);
    }
    c
}
