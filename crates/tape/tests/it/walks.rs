//! The two backward walks — first order (`backward`, `try_backward`, `vjp`) and recorded
//! (`backward_graph`) — check and decide the same things the same way: what custom functions
//! return, non-finite gradients under anomaly detection, and that constants report zero.

use tape::{Array, Function, Tape, TapeError, Tensor};

/// `2x` elementwise whose backwards return what they are told to: `count` gradients, each of
/// `shape` (or of the input's shape if `None`).
#[derive(Clone)]
struct Twice {
    count: usize,
    shape: Option<Vec<usize>>,
}

impl Twice {
    fn right() -> Self {
        Twice {
            count: 1,
            shape: None,
        }
    }
}

impl Function<f64> for Twice {
    fn name(&self) -> &str {
        "twice"
    }
    fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
        Ok(x[0].map(|v| 2.0 * v))
    }
    fn backward(&self, x: &[&Array<f64>], _out: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
        let shape = self.shape.clone().unwrap_or_else(|| x[0].shape().to_vec());
        let grad = if shape == x[0].shape() {
            g.map(|v| 2.0 * v)
        } else {
            Array::full(&shape, 2.0)
        };
        vec![grad; self.count]
    }
    fn backward_on_tape<'t>(
        &self,
        x: &[Tensor<'t, f64>],
        _out: Tensor<'t, f64>,
        g: Tensor<'t, f64>,
    ) -> Option<Vec<Tensor<'t, f64>>> {
        let grad = match &self.shape {
            Some(shape) if shape.as_slice() != x[0].shape().as_slice() => {
                x[0].tape().full(shape, 2.0)
            }
            _ => g * 2.0,
        };
        Some(vec![grad; self.count])
    }
}

/// Both walks' results for `Σ f(x)` at `x = [1, 2]`.
fn both_walks(f: &Twice) -> (Result<Vec<f64>, TapeError>, Result<Vec<f64>, TapeError>) {
    let tape = Tape::<f64>::new();
    let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    let y = tape.apply(f, &[x]).unwrap().sum();
    let first = y.try_backward().map(|g| g.wrt(x).data().to_vec());
    let recorded = y.backward_graph().map(|g| g.wrt(x).to_vec());
    (first, recorded)
}

fn custom_message(r: Result<Vec<f64>, TapeError>) -> String {
    match r {
        Err(e @ TapeError::Custom { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("twice"),
                "the function is named: {message}"
            );
            message
        }
        other => panic!("expected a custom-function error, got {other:?}"),
    }
}

#[test]
fn a_right_custom_function_gives_the_same_gradient_on_both_walks() {
    let (first, recorded) = both_walks(&Twice::right());
    assert_eq!(first.unwrap(), vec![2.0, 2.0]);
    assert_eq!(recorded.unwrap(), vec![2.0, 2.0]);
}

#[test]
fn a_wrong_gradient_count_is_reported_by_both_walks() {
    let (first, recorded) = both_walks(&Twice {
        count: 2,
        shape: None,
    });
    assert!(
        custom_message(first).contains("backward returned 2 gradients for 1 inputs"),
        "first order"
    );
    assert!(
        custom_message(recorded).contains("backward_on_tape returned 2 gradients for 1 inputs"),
        "recorded"
    );
}

/// A wrong-shaped gradient used to reach the recorded walk's broadcasting `+` unchecked.
#[test]
fn a_wrong_gradient_shape_is_reported_by_both_walks() {
    let (first, recorded) = both_walks(&Twice {
        count: 1,
        shape: Some(vec![3]),
    });
    let first = custom_message(first);
    let recorded = custom_message(recorded);
    assert!(
        first.contains("backward returned a gradient of shape [3] for input 0 of shape [2]"),
        "{first}"
    );
    assert!(
        recorded
            .contains("backward_on_tape returned a gradient of shape [3] for input 0 of shape [2]"),
        "{recorded}"
    );
    // A shape that would broadcast silently is caught too.
    let (first, recorded) = both_walks(&Twice {
        count: 1,
        shape: Some(vec![1]),
    });
    assert!(custom_message(first).contains("of shape [1] for input 0 of shape [2]"));
    assert!(custom_message(recorded).contains("of shape [1] for input 0 of shape [2]"));
}

#[test]
fn a_non_finite_gradient_is_reported_by_both_walks_with_its_op() {
    // √x at 0: the value 0 is finite, the derivative 1/(2√x) is not.
    for tensor in [false, true] {
        let tape = Tape::<f64>::new();
        tape.set_anomaly_detection(true);
        let y = if tensor {
            tape.zeros(&[2]).sqrt().sum()
        } else {
            tape.var(0.0).sqrt()
        };
        for (walk, err) in [
            ("first order", y.try_backward().err()),
            ("recorded", y.backward_graph().err()),
        ] {
            match err {
                Some(TapeError::NonFinite { what, op, .. }) => {
                    assert_eq!(
                        (what, op.as_str()),
                        ("gradient", "sqrt"),
                        "{walk}, tensor {tensor}"
                    )
                }
                other => {
                    panic!("{walk}, tensor {tensor}: expected a gradient anomaly, got {other:?}")
                }
            }
        }
    }
}

#[test]
fn gradients_flowing_only_into_constants_are_no_anomaly_on_either_walk() {
    // ∂(xʸ)/∂y = xʸ ln x is NaN for x < 0, but y is a constant: nobody asked for it.
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let x = tape.var(-2.0);
    let y = x.pow(tape.constant(2.0));
    assert_eq!(y.try_backward().unwrap().wrt(x), -4.0);
    assert_eq!(y.backward_graph().unwrap().wrt(x).value(), -4.0);
}

#[test]
fn constants_report_zero_on_both_walks() {
    let tape = Tape::<f64>::new();
    let c = tape.tensor_constant(Array::full(&[2], 3.0));
    let s = tape.constant(2.0);
    let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    let y = (c * x).sum() * s;
    let g = y.backward();
    assert_eq!((g.wrt(c).data(), g.wrt(s)), (&[0.0, 0.0][..], 0.0));
    let gg = y.backward_graph().unwrap();
    assert_eq!(
        (gg.wrt(c).to_vec(), gg.wrt(s).value()),
        (vec![0.0, 0.0], 0.0)
    );
    assert_eq!(gg.wrt(x).to_vec(), g.wrt(x).data().to_vec());
}
