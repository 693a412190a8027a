//! The gradient checker itself: it passes correct derivatives, and it catches wrong ones with
//! a report that says where.

use tape::check::{
    CheckConfig, Entry, gradcheck, gradcheck_directional, gradcheck_scalar, gradcheck_scalars,
};
use tape::{Array, Function, Tape, TapeError};

use crate::common::{assert_grad, assert_grad_scalar};

/// `x³` elementwise whose backward multiplies by `factor·x²`: 3 is right, 2 deliberately
/// wrong.
#[derive(Clone)]
struct Cube {
    factor: f64,
}

const CUBE: Cube = Cube { factor: 3.0 };
const WRONG_CUBE: Cube = Cube { factor: 2.0 };

impl Function<f64> for Cube {
    fn name(&self) -> &str {
        "cube"
    }
    fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
        Ok(x[0].map(|v| v * v * v))
    }
    fn backward(&self, x: &[&Array<f64>], _out: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
        let d: Vec<f64> = x[0]
            .data()
            .iter()
            .zip(g.data())
            .map(|(v, g)| self.factor * v * v * g)
            .collect();
        vec![Array::from_vec(d, x[0].shape()).unwrap()]
    }
}

#[test]
fn gradcheck_catches_a_custom_function_with_a_wrong_derivative() {
    let x = Array::from_vec(vec![1.0, -2.0, 0.5], &[3]).unwrap();
    let err = gradcheck(
        |t, xs| t.apply(&WRONG_CUBE, xs).unwrap(),
        std::slice::from_ref(&x),
        &CheckConfig::default(),
    )
    .unwrap_err();
    // Diagonal Jacobian: the three diagonal entries are wrong (2x² vs 3x²), the six
    // off-diagonal zeros agree.
    assert_eq!(err.checked, 9);
    assert_eq!(err.mismatches.len(), 3);
    let m = err.mismatches[1];
    assert_eq!(
        m.entry,
        Entry::Jacobian {
            input: 0,
            element: 1,
            output: 1
        }
    );
    assert_eq!(m.analytic, 8.0); // 2·(-2)²
    assert!((m.numeric - 12.0).abs() < 1e-6, "numeric {}", m.numeric); // 3·(-2)²
    assert!((m.abs_err - 4.0).abs() < 1e-6);
    // The report prints as a table naming the entry and both values.
    let text = err.to_string();
    assert!(
        text.starts_with("gradient check failed: 3 of 9 derivatives differ"),
        "{text}"
    );
    assert!(text.contains("input 0, element 1, output 1"), "{text}");
    assert!(text.contains("8.0000000e0"), "{text}");

    // The right derivative passes.
    assert_grad(
        |t, xs| t.apply(&CUBE, xs).unwrap(),
        &[x],
        &CheckConfig::default(),
    );
}

#[test]
fn the_scalar_output_and_directional_checks_catch_it_too() {
    let x = Array::rand_uniform(&[4, 5], 0.5, 1.5, 11);
    let cfg = CheckConfig::default();
    let err = gradcheck_scalar(
        |t, xs| t.apply(&WRONG_CUBE, xs).unwrap().sum(),
        std::slice::from_ref(&x),
        &cfg,
    )
    .unwrap_err();
    assert_eq!(
        err.mismatches.len(),
        20,
        "every element's derivative is off by x²"
    );
    let err = gradcheck_directional(
        |t, xs| t.apply(&WRONG_CUBE, xs).unwrap(),
        std::slice::from_ref(&x),
        &cfg,
        3,
        5,
    )
    .unwrap_err();
    assert_eq!(err.mismatches.len(), 3);
    assert!(matches!(err.mismatches[0].entry, Entry::Direction(0)));
    assert_grad_scalar(
        |t, xs| t.apply(&CUBE, xs).unwrap().sum(),
        std::slice::from_ref(&x),
        &cfg,
    );
    gradcheck_directional(|t, xs| t.apply(&CUBE, xs).unwrap(), &[x], &cfg, 3, 5).unwrap();
}

#[test]
fn a_wrong_light_scalar_custom_function_is_caught() {
    // y = x², recorded with derivative x (should be 2x).
    let err = gradcheck_scalars(
        |_, v| {
            let x = v[0].value();
            v[0].custom(x * x, x)
        },
        &[3.0],
        &CheckConfig::default(),
    )
    .unwrap_err();
    assert_eq!(err.mismatches[0].analytic, 3.0);
    assert!((err.mismatches[0].numeric - 6.0).abs() < 1e-6);
}

#[test]
fn non_finite_gradients_fail_the_check() {
    // sqrt at 0 has an infinite derivative; central differences straddle 0 and give a
    // finite (and NaN-free) but wrong number, so this must not pass silently.
    let x = Array::from_vec(vec![0.0], &[1]).unwrap();
    let err = gradcheck(|_, xs| xs[0].sqrt(), &[x], &CheckConfig::default()).unwrap_err();
    assert!(err.mismatches[0].analytic.is_infinite());
}

#[test]
fn tolerances_are_respected() {
    // f(x) = x³ at x = 1 with eps = 0.1: the central difference is 3 + eps² = 3.01 exactly,
    // so the error of 0.01 fails a strict tolerance and passes a loose one.
    let x = Array::from_vec(vec![1.0], &[1]).unwrap();
    let strict = CheckConfig {
        eps: 0.1,
        abs_tol: 1e-3,
        rel_tol: 0.0,
    };
    let loose = CheckConfig {
        eps: 0.1,
        abs_tol: 2e-2,
        rel_tol: 0.0,
    };
    let e = gradcheck(|_, xs| xs[0].powi(3), std::slice::from_ref(&x), &strict).unwrap_err();
    assert!((e.mismatches[0].abs_err - 0.01).abs() < 1e-9);
    let r = gradcheck(|_, xs| xs[0].powi(3), &[x], &loose).unwrap();
    assert!((r.max_abs_err - 0.01).abs() < 1e-9);
}

#[test]
fn f32_functions_are_checked_with_f32_settings() {
    let x = Array::<f32>::rand_uniform(&[3, 2], -1.0, 1.0, 2);
    let w = Array::<f32>::rand_uniform(&[2, 2], -1.0, 1.0, 3);
    assert_grad(
        |_, t| t[0].matmul(t[1]).sigmoid(),
        &[x, w],
        &CheckConfig::f32(),
    );
}

#[test]
fn a_tape_is_what_the_function_records_on() {
    // The closure receives the tape, so it can create constants on it.
    let x = Array::from_vec(vec![0.5, 1.5], &[2]).unwrap();
    assert_grad(
        |t: &Tape<f64>, xs| xs[0] * t.tensor_constant(Array::full(&[2], 3.0)),
        &[x],
        &CheckConfig::default(),
    );
}
