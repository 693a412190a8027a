//! The errors of every shape-checked op: `try_` forms return them, operators and plain
//! methods panic with the same message, and messages name the op and the shapes involved.

use tape::{Tape, TapeError, Tensor};

use crate::common::panic_message;

#[test]
fn shape_errors_name_the_op_and_both_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.zeros(&[3, 4]);
    let b = tape.zeros(&[5, 2]);
    let err = a.try_matmul(b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: inner dimensions differ: lhs [3, 4], rhs [5, 2]"
    );
    // The operator form panics with the same message.
    assert_eq!(panic_message(|| a.matmul(b)), err.to_string());

    let (m, v) = (tape.zeros(&[2, 3]), tape.zeros(&[2]));
    type TryOp<'t> = fn(Tensor<'t, f64>, Tensor<'t, f64>) -> Result<Tensor<'t, f64>, TapeError>;
    let ops: [(&str, TryOp<'_>); 7] = [
        ("add", Tensor::try_add),
        ("sub", Tensor::try_sub),
        ("mul", Tensor::try_mul),
        ("div", Tensor::try_div),
        ("pow", Tensor::try_pow),
        ("max", Tensor::try_maximum),
        ("min", Tensor::try_minimum),
    ];
    for (name, op) in ops {
        let err = op(m, v).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{name}: shapes cannot be broadcast: lhs [2, 3], rhs [2]")
        );
        // Both directions fail, naming the shapes in the order given.
        let err = op(v, m).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{name}: shapes cannot be broadcast: lhs [2], rhs [2, 3]")
        );
    }
    assert_eq!(
        panic_message(|| m + v),
        "add: shapes cannot be broadcast: lhs [2, 3], rhs [2]"
    );
    assert_eq!(
        panic_message(|| v / m),
        "div: shapes cannot be broadcast: lhs [2], rhs [2, 3]"
    );
}

#[test]
fn matmul_errors() {
    let tape = Tape::<f64>::new();
    let m34 = tape.zeros(&[3, 4]);
    let cube = tape.zeros(&[2, 2, 2]);
    let err = cube.try_matmul(tape.zeros(&[2, 2])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: operands must be 1-D or 2-D: lhs [2, 2, 2], rhs [2, 2]"
    );
    let err = m34.try_matmul(tape.zeros(&[5])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: inner dimensions differ: lhs [3, 4], rhs [5]"
    );
    let err = tape.zeros(&[5]).try_matmul(m34).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: inner dimensions differ: lhs [5], rhs [3, 4]"
    );
    let err = tape.zeros(&[2]).try_matmul(tape.zeros(&[3])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: inner dimensions differ: lhs [2], rhs [3]"
    );
    // matmul_t takes only matrices, and compares the dimensions after transposing:
    // m34ᵀ is [4, 3], which fits a [3, 2] but not a [4, 2].
    let err = tape
        .zeros(&[3])
        .try_matmul_t(false, m34, false)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: operands must be 2-D: lhs [3], rhs [3, 4]"
    );
    assert!(m34.try_matmul_t(true, tape.zeros(&[3, 2]), false).is_ok());
    let err = m34
        .try_matmul_t(true, tape.zeros(&[4, 2]), false)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: inner dimensions differ: lhs [3, 4], rhs [4, 2]"
    );
    assert!(m34.try_matmul_t(false, tape.zeros(&[2, 4]), true).is_ok());
}

#[test]
fn try_forms_return_errors_for_bad_arguments() {
    let tape = Tape::<f64>::new();
    let x = tape.zeros(&[2, 3]);
    let n = tape.len();

    let err = x.try_reshape(&[4]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "reshape: element counts differ: lhs [2, 3], rhs [4]"
    );

    let err = x.try_permute(&[0, 0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "permute: [0, 0] is not a permutation of the 2 axes (shape [2, 3])"
    );
    assert!(matches!(
        x.try_permute(&[1]),
        Err(TapeError::InvalidArgument { op: "permute", .. })
    ));
    assert!(matches!(
        x.try_permute(&[0, 2]),
        Err(TapeError::InvalidArgument { op: "permute", .. })
    ));
    assert!(matches!(
        x.try_transpose(0, 2),
        Err(TapeError::InvalidArgument {
            op: "transpose",
            ..
        })
    ));

    let err = x.try_slice(1, 2, 4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "slice: range 2..4 along axis 1 is out of bounds (shape [2, 3])"
    );
    assert!(matches!(
        x.try_slice(1, 2, 1),
        Err(TapeError::InvalidArgument { op: "slice", .. })
    ));
    assert!(matches!(
        x.try_slice(2, 0, 1),
        Err(TapeError::InvalidArgument { op: "slice", .. })
    ));
    assert!(matches!(
        x.try_pad(2, 1, 1),
        Err(TapeError::InvalidArgument { op: "pad", .. })
    ));

    let err = x.try_sum_axis(2, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sum_axis: axis 2 is out of range for 2 dimensions (shape [2, 3])"
    );
    assert!(matches!(
        x.try_mean_axis(2, true),
        Err(TapeError::InvalidArgument {
            op: "mean_axis",
            ..
        })
    ));
    assert!(matches!(
        x.try_max_axis(5, true),
        Err(TapeError::InvalidArgument { op: "max_axis", .. })
    ));

    let err = x.try_sum_to(&[2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sum_to: target shape does not broadcast to the input: lhs [2, 3], rhs [2]"
    );
    let err = x.try_broadcast_to(&[3, 3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "broadcast_to: shape does not broadcast to the target: lhs [2, 3], rhs [3, 3]"
    );

    // Indexing: a bad index is `IndexOutOfRange` with the op, index and dimension.
    let err = x.try_gather(&[0, 3]).unwrap_err();
    assert_eq!(
        err,
        TapeError::IndexOutOfRange {
            op: "gather",
            index: 3,
            len: 3,
            shape: [2, 3].into_iter().collect(),
        }
    );
    assert_eq!(
        err.to_string(),
        "gather: index 3 is out of range for a dimension of size 3 (shape [2, 3])"
    );
    assert!(matches!(
        x.try_gather(&[0]),
        Err(TapeError::InvalidArgument { op: "gather", .. })
    ));
    let v = tape.zeros(&[2]);
    assert!(matches!(
        v.try_scatter(&[0, 4], 4),
        Err(TapeError::IndexOutOfRange {
            op: "scatter",
            index: 4,
            len: 4,
            ..
        })
    ));
    assert!(matches!(
        x.try_index_select(&[1, 2]),
        Err(TapeError::IndexOutOfRange {
            op: "index_select",
            index: 2,
            len: 2,
            ..
        })
    ));
    assert!(matches!(
        x.try_index_add(&[0, 7], 3),
        Err(TapeError::IndexOutOfRange {
            op: "index_add",
            index: 7,
            len: 3,
            ..
        })
    ));
    assert!(matches!(
        x.try_get(&[2, 0]),
        Err(TapeError::IndexOutOfRange {
            op: "get",
            index: 2,
            len: 2,
            ..
        })
    ));
    assert!(matches!(
        x.try_get(&[0]),
        Err(TapeError::InvalidArgument { op: "get", .. })
    ));

    // Concat: empty list, bad axis, disagreeing shapes.
    assert!(matches!(
        Tensor::<f64>::try_concat(&[], 0),
        Err(TapeError::InvalidArgument { op: "concat", .. })
    ));
    assert!(matches!(
        Tensor::try_concat(&[x, x], 2),
        Err(TapeError::InvalidArgument { op: "concat", .. })
    ));
    let err = Tensor::try_concat(&[x, tape.zeros(&[3, 3])], 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "concat: dimensions other than the axis differ: lhs [2, 3], rhs [3, 3]"
    );
    assert!(Tensor::try_concat(&[x, tape.zeros(&[3, 3])], 0).is_ok());

    let s = tape.var(1.0);
    assert!(matches!(
        Tensor::try_from_scalars(&[s, s], &[3]),
        Err(TapeError::InvalidArgument {
            op: "from_scalars",
            ..
        })
    ));

    // A failed op records nothing: besides `x`, the tape holds only `v`, the two [3, 3]
    // zeros, the one concat that succeeded and `s`.
    assert_eq!(tape.len(), n + 5);
}

#[test]
fn min_axis_errors_name_min_axis() {
    let tape = Tape::<f64>::new();
    let x = tape.zeros(&[2, 3]);
    let before = tape.len();
    let err = x.try_min_axis(2, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "min_axis: axis 2 is out of range for 2 dimensions (shape [2, 3])"
    );
    // Nothing was recorded for the failed call.
    assert_eq!(tape.len(), before);
}

#[test]
fn tensor_from_vec_rejects_a_length_that_does_not_fit() {
    let tape = Tape::<f64>::new();
    let err = tape
        .tensor_from_vec(vec![1.0, 2.0, 3.0], &[2, 2])
        .unwrap_err();
    assert!(matches!(err, TapeError::InvalidArgument { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Array::from_vec: data has 3 elements but the shape needs 4 (shape [2, 2])"
    );
    assert!(tape.is_empty());
}

/// Handles of two tapes: every function that returns a `Result` says so with
/// `TapeError::DifferentTapes` naming the op, and never panics.
#[test]
fn results_refuse_handles_of_another_tape_without_panicking() {
    use tape::{Array, Function};
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let (a, b) = (t1.ones(&[2, 2]), t2.ones(&[2, 2]));
    let different = |op: &str| TapeError::DifferentTapes { op: op.to_string() };

    type TryOp<'t> = fn(Tensor<'t, f64>, Tensor<'t, f64>) -> Result<Tensor<'t, f64>, TapeError>;
    let ops: [(&str, TryOp<'_>); 8] = [
        ("add", Tensor::try_add),
        ("sub", Tensor::try_sub),
        ("mul", Tensor::try_mul),
        ("div", Tensor::try_div),
        ("pow", Tensor::try_pow),
        ("max", Tensor::try_maximum),
        ("min", Tensor::try_minimum),
        ("matmul", Tensor::try_matmul),
    ];
    for (name, op) in ops {
        assert_eq!(op(a, b).unwrap_err(), different(name), "{name}");
        assert_eq!(op(b, a).unwrap_err(), different(name), "{name}");
    }
    assert_eq!(
        a.try_matmul_t(true, b, false).unwrap_err(),
        different("matmul")
    );
    // Vectors take matmul's reshaping path, which must check the tapes first too.
    let (v1, v2) = (t1.ones(&[2]), t2.ones(&[2]));
    assert_eq!(v1.try_matmul(v2).unwrap_err(), different("matmul"));
    assert_eq!(a.try_matmul(v2).unwrap_err(), different("matmul"));
    assert_eq!(
        Tensor::try_concat(&[a, b], 0).unwrap_err(),
        different("concat")
    );
    assert_eq!(
        Tensor::try_from_scalars(&[t1.var(1.0), t2.var(2.0)], &[2]).unwrap_err(),
        different("from_scalars")
    );
    assert_eq!(
        t1.vjp(b, &Array::ones(&[2, 2])).unwrap_err(),
        different("vjp")
    );

    #[derive(Clone)]
    struct Identity;
    impl Function<f64> for Identity {
        fn name(&self) -> &str {
            "identity"
        }
        fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
            Ok(x[0].clone())
        }
        fn backward(&self, _: &[&Array<f64>], _: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
            vec![g.clone()]
        }
    }
    assert_eq!(
        t1.apply(&Identity, &[b]).unwrap_err(),
        different("identity")
    );
    // The refused calls recorded nothing: each tape holds only its three leaves.
    assert_eq!((t1.len(), t2.len()), (3, 3));
    // The panicking forms say the same.
    assert_eq!(
        panic_message(|| a.matmul(b)),
        "matmul: operands belong to different tapes"
    );
}

/// Where the last panic on this thread happened, as recorded by a hook that then hands the
/// panic on to the previous hook (so other tests' panics print as usual).
fn panic_location<R>(f: impl FnOnce() -> R) -> (String, u32) {
    use std::cell::RefCell;
    use std::sync::Once;
    thread_local! {
        static LAST: RefCell<Option<(String, u32)>> = const { RefCell::new(None) };
    }
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(loc) = info.location() {
                LAST.with(|l| *l.borrow_mut() = Some((loc.file().to_string(), loc.line())));
            }
            previous(info);
        }));
    });
    panic_message(f);
    LAST.with(|l| l.borrow_mut().take())
        .expect("the hook saw the panic")
}

/// A shape error in an operator or plain method is reported at the line that called it, not
/// inside the tape crate: `#[track_caller]` runs from the public method to the panic.
#[test]
fn panics_point_at_the_callers_line() {
    let tape = Tape::<f64>::new();
    let (m, v) = (tape.zeros(&[2, 3]), tape.zeros(&[2]));
    let other = Tape::<f64>::new();
    let w = other.zeros(&[3, 3]);
    let here = file!().to_string();
    let cases: Vec<(u32, (String, u32))> = vec![
        (line!(), panic_location(|| m.matmul(v))),
        (line!(), panic_location(|| m.matmul(w))),
        (line!(), panic_location(|| m.matmul_t(true, v, false))),
        (line!(), panic_location(|| m + v)),
        (line!(), panic_location(|| v * m)),
        (line!(), panic_location(|| m.reshape(&[4]))),
        (line!(), panic_location(|| m.permute(&[0, 0]))),
        (line!(), panic_location(|| m.transpose(0, 2))),
        (line!(), panic_location(|| m.broadcast_to(&[4, 3]))),
        (line!(), panic_location(|| m.slice(1, 2, 9))),
        (line!(), panic_location(|| m.pad(5, 1, 1))),
        (line!(), panic_location(|| m.sum_axis(2, false))),
        (line!(), panic_location(|| m.mean_axis(2, false))),
        (line!(), panic_location(|| m.max_axis(2, false))),
        (line!(), panic_location(|| m.min_axis(2, false))),
        (line!(), panic_location(|| m.sum_to(&[5]))),
        (line!(), panic_location(|| m.gather(&[7, 7]))),
        (line!(), panic_location(|| m.index_select(&[9]))),
        (line!(), panic_location(|| v.scatter(&[9, 9], 2))),
        (line!(), panic_location(|| m.get(&[5, 5]))),
        (line!(), panic_location(|| Tensor::concat(&[m, v], 0))),
    ];
    for (line, (file, at)) in cases {
        assert_eq!((file.as_str(), at), (here.as_str(), line));
    }
}
