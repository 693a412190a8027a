//! Integration tests of the tape crate: one binary, one module per subject.
//!
//! The property tests use the crate's `proptest` feature, which the crate's own
//! dev-dependency on itself turns on for every test build.
mod anomaly;
mod check;
mod check_where;
mod common;
mod composite;
mod errors;
mod float;
mod func;
mod fused;
mod higher;
mod higher_props;
mod interop_argmin;
mod interop_nalgebra;
mod interop_ndarray;
mod scalar_ops;
mod storage;
mod sweep;
mod table;
mod tensor_elementwise;
mod tensor_structural;
mod testfunctions;
mod walks;

/// The matrix product skips the gradient of a constant operand; the other operand's gradient
/// is the one computed when both take gradients.
#[test]
fn matmul_with_a_constant_operand_gives_the_same_weight_gradient() {
    use tape::{Array, Tape};
    let xa = Array::<f64>::rand_uniform(&[6, 5], -1.0, 1.0, 1);
    let wa = Array::<f64>::rand_uniform(&[3, 5], -1.0, 1.0, 2);
    let grad_w = |constant: bool| {
        let tape = Tape::<f64>::new();
        let x = if constant {
            tape.tensor_constant(xa.clone())
        } else {
            tape.tensor(xa.clone())
        };
        let w = tape.tensor(wa.clone());
        let loss = x.matmul_t(false, w, true).tanh().sum();
        let g = loss.backward();
        (g.wrt(w).clone(), g.wrt(x).clone())
    };
    let (gw_const, gx_const) = grad_w(true);
    let (gw_var, gx_var) = grad_w(false);
    assert_eq!(gw_const, gw_var);
    assert!(gx_const.data().iter().all(|&v| v == 0.0));
    assert!(gx_var.data().iter().any(|&v| v != 0.0));
}

/// Tensors the output does not depend on, constants, and gradients already taken all read as
/// zeros of the tensor's shape.
#[test]
fn unreached_constant_and_taken_gradients_read_as_zeros() {
    use tape::{Array, Tape};
    let tape = Tape::<f64>::new();
    let w = tape.tensor(Array::full(&[2, 3], 2.0));
    let c = tape.tensor_constant(Array::ones(&[2, 3]));
    let unused = tape.tensor(Array::ones(&[4]));
    let mut g = (w * c).sum().backward();
    assert_eq!(g.wrt(unused), &Array::zeros(&[4]));
    assert_eq!(g.wrt(c), &Array::zeros(&[2, 3]));
    let copy = g.clone();
    assert_eq!(g.take(w), Array::ones(&[2, 3]));
    assert_eq!(g.wrt(w), &Array::zeros(&[2, 3]));
    assert_eq!(g.take(w), Array::zeros(&[2, 3]));
    assert_eq!(g.take(unused), Array::zeros(&[4]));
    assert_eq!(copy.wrt(w), &Array::ones(&[2, 3]));
}
