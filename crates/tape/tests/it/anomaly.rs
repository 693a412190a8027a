//! Anomaly detection: the first NaN or infinity, in a value or a gradient, reported with the
//! op that produced it and where that op was recorded.

use tape::{Array, Tape, TapeError};

use crate::common::{assert_array_close, panic_message};

/// The fields of a `NonFinite` error, or a failure naming what came instead.
#[track_caller]
fn non_finite(err: &TapeError) -> (&'static str, &str, usize, &str, f64) {
    match err {
        TapeError::NonFinite {
            what,
            op,
            node,
            location,
            value,
        } => (what, op, *node, location, *value),
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

/// Asserts that a recorded location is `…anomaly.rs:<line>:<column>`.
#[track_caller]
fn assert_location(location: &str, line: u32) {
    let (file, rest) = location
        .split_once(':')
        .unwrap_or_else(|| panic!("no line in {location}"));
    assert!(file.ends_with("anomaly.rs"), "{location}");
    assert!(
        rest.starts_with(&format!("{line}:")),
        "{location}: expected line {line}"
    );
}

#[test]
fn a_nan_value_is_reported_with_its_op_and_where_it_was_recorded() {
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    assert!(tape.anomaly_detection());
    let x = tape.var(-1.0);
    let (y, line) = (x.ln(), line!());
    let z = y * 2.0 + x;
    let err = z.try_backward().unwrap_err();
    let (what, op, node, location, value) = non_finite(&err);
    assert_eq!((what, op, node), ("value", "ln", y.index()));
    assert!(value.is_nan());
    assert_location(location, line);
    assert!(
        err.to_string().starts_with(&format!(
            "anomaly: value of `ln` (node {}, recorded at ",
            y.index()
        )),
        "{err}"
    );
    // `backward` panics with the same message.
    assert_eq!(panic_message(|| z.backward()), err.to_string());
}

#[test]
fn a_gradient_that_is_not_finite_is_reported_with_its_op() {
    // √x at 0 is 0, a finite value, but its derivative 1/(2√x) is infinite: only the
    // backward pass can find it.
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let x = tape.var(0.0);
    let (r, line) = (x.sqrt(), line!());
    let y = r * 3.0;
    assert_eq!(y.value(), 0.0);
    assert!(tape.anomaly().is_none(), "every value is finite");
    let err = y.try_backward().unwrap_err();
    let (what, op, node, location, value) = non_finite(&err);
    assert_eq!((what, op, node), ("gradient", "sqrt", r.index()));
    assert_eq!(value, f64::INFINITY);
    assert_location(location, line);
    assert_eq!(panic_message(|| y.backward()), err.to_string());
}

#[test]
fn tensor_ops_are_checked_too() {
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    // A value: exp overflows to +∞ in one element.
    let x = tape.tensor_from_vec(vec![1.0, 1000.0], &[2]).unwrap();
    let (e, line) = (x.exp(), line!());
    let err = e.sum().try_backward().unwrap_err();
    let (what, op, node, location, value) = non_finite(&err);
    assert_eq!((what, op, node), ("value", "exp", e.index()));
    assert_eq!(value, f64::INFINITY);
    assert_location(location, line);

    // A gradient: Σ√x at x = [0, 1] is 1, but ∂/∂x_0 is infinite.
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let x = tape.tensor_from_vec(vec![0.0, 1.0], &[2]).unwrap();
    let (r, line) = (x.sqrt(), line!());
    let s = r.sum();
    assert_eq!(s.value(), 1.0);
    let err = s.try_backward().unwrap_err();
    let (what, op, node, location, value) = non_finite(&err);
    assert_eq!((what, op, node), ("gradient", "sqrt", r.index()));
    assert_eq!(value, f64::INFINITY);
    assert_location(location, line);
    // Through a vector-Jacobian product as well.
    let err = tape.vjp(r, &Array::ones(&[2])).unwrap_err();
    assert_eq!(non_finite(&err).1, "sqrt");

    // A value from a matrix product: ln of a negative entry of a product.
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let a = tape.tensor_from_vec(vec![1.0, -2.0], &[1, 2]).unwrap();
    let b = tape.tensor_from_vec(vec![1.0, 1.0], &[2, 1]).unwrap();
    let (l, line) = (a.matmul(b).ln(), line!());
    let err = l.sum().try_backward().unwrap_err();
    let (what, op, _, location, _) = non_finite(&err);
    assert_eq!((what, op), ("value", "ln"));
    assert_location(location, line);
}

#[test]
fn without_detection_the_same_computations_run_quietly() {
    let tape = Tape::<f64>::new();
    assert!(!tape.anomaly_detection());
    let x = tape.var(-1.0);
    let y = x.ln();
    assert!(y.value().is_nan());
    // d ln x = 1/x = −1 is finite even where ln is not.
    assert_eq!(y.try_backward().unwrap().wrt(x), -1.0);

    let t = tape.tensor_from_vec(vec![0.0, 1.0], &[2]).unwrap();
    let g = t.sqrt().sum().try_backward().unwrap();
    // 1/(2√x): ∞ at 0, 0.5 at 1.
    assert_eq!(g.wrt(t).data(), &[f64::INFINITY, 0.5]);
    assert!(tape.anomaly().is_none());
}

#[test]
fn anomaly_returns_the_first_one() {
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    assert_eq!(tape.anomaly(), None);
    let x = tape.var(-4.0);
    let (a, line) = (x.sqrt(), line!());
    let b = x.ln();
    let _ = a + b;
    let first = tape.anomaly().expect("sqrt of −4 is NaN");
    let (what, op, node, location, _) = non_finite(&first);
    assert_eq!((what, op, node), ("value", "sqrt", a.index()));
    assert_location(location, line);
    // Turning detection off forgets it.
    tape.set_anomaly_detection(false);
    assert_eq!(tape.anomaly(), None);
}

#[test]
fn detection_turned_on_midway_checks_what_follows() {
    let tape = Tape::<f64>::new();
    let x = tape.var(0.0);
    // Recorded before detection: a NaN value that is not checked, and a node with an
    // infinite derivative.
    let unchecked = tape.var(-1.0).ln();
    let r = x.sqrt();
    tape.set_anomaly_detection(true);
    assert_eq!(tape.anomaly(), None, "{unchecked:?} was recorded unchecked");

    // The backward pass still finds the infinite gradient of the early node, but cannot say
    // where it was recorded.
    let y = r * 2.0;
    let err = y.try_backward().unwrap_err();
    let (what, op, node, location, _) = non_finite(&err);
    assert_eq!((what, op, node), ("gradient", "sqrt", r.index()));
    assert_eq!(location, "<recorded before anomaly detection was enabled>");

    // New ops are checked as they are recorded, with their location.
    let (bad, line) = ((x - 1.0).ln(), line!());
    let err = tape.anomaly().expect("ln of −1");
    let (what, op, node, location, _) = non_finite(&err);
    assert_eq!((what, op, node), ("value", "ln", bad.index()));
    assert_location(location, line);
}

#[test]
fn clear_forgets_the_anomaly_but_keeps_detection_on() {
    let mut tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    {
        let x = tape.var(-1.0);
        assert!(x.ln().try_backward().is_err());
    }
    tape.clear();
    assert!(tape.anomaly_detection());
    assert_eq!(tape.anomaly(), None);
    let x = tape.var(4.0);
    // d√x/dx = 1/(2√x) = 0.25 at 4.
    assert_eq!(x.sqrt().try_backward().unwrap().wrt(x), 0.25);
}

#[test]
fn a_dead_branch_raises_no_gradient_anomaly() {
    // √x at 0 has an infinite derivative, but the output does not depend on it: no gradient
    // flows through it, so there is nothing to report.
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let x = tape.var(0.0);
    let t = tape.tensor_from_vec(vec![0.0, 1.0], &[2]).unwrap();
    let _dead = x.sqrt();
    let _dead_t = t.sqrt();
    let y = x * 2.0 + t.sum();
    let g = y.try_backward().unwrap();
    assert_eq!(g.wrt(x), 2.0);
    assert_array_close("t", g.wrt(t), &[2], &[1.0, 1.0], 0.0);
}

#[test]
fn gradients_flowing_only_into_constants_are_no_anomaly() {
    // (−2)^y has ∂/∂y = (−2)^y·ln(−2) = NaN, but with y the constant 2 that partial is
    // discarded: the only gradient asked for is d/dx x² = 2x = −4.
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let x = tape.var(-2.0);
    let two = tape.constant(2.0);
    let g = x.pow(two).try_backward().unwrap();
    assert_eq!((g.wrt(x), g.wrt(two)), (-4.0, 0.0));

    let t = tape.tensor_from_vec(vec![-2.0, 3.0], &[2]).unwrap();
    let c = tape.tensor_constant(Array::full(&[], 2.0));
    let g = t.pow(c).sum().try_backward().unwrap();
    assert_array_close("d/dt Σt²", g.wrt(t), &[2], &[-4.0, 6.0], 0.0);
    assert_array_close("constant", g.wrt(c), &[], &[0.0], 0.0);

    // With a variable exponent the same NaN is a real gradient, and is reported.
    let y = tape.var(2.0);
    let err = x.pow(y).try_backward().unwrap_err();
    let (what, op, _, _, value) = non_finite(&err);
    assert_eq!((what, op), ("gradient", "pow"));
    assert!(value.is_nan());
}
