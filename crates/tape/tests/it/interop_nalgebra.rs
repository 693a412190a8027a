//! Conversions between `Array` and nalgebra (feature `nalgebra`): element `[i, j]` is
//! `m[(i, j)]` whatever the storage order, which conversions share a buffer, errors, and a
//! gradient of nalgebra data.

use nalgebra::{DMatrix, DVector};
use tape::{Array, Element, Tape, TapeError};

/// A `rows × cols` matrix with distinct elements `100·i + j + 0.5`.
fn numbered<T: Element>(rows: usize, cols: usize) -> DMatrix<T> {
    DMatrix::from_fn(rows, cols, |i, j| T::cast_from((100 * i + j) as f64 + 0.5))
}

/// Asserts that `a` is `[rows, cols]` and `a.get(&[i, j]) == m[(i, j)]` everywhere.
#[track_caller]
fn assert_same_elements<T: Element>(a: &Array<T>, m: &DMatrix<T>) {
    assert_eq!(a.shape(), &[m.nrows(), m.ncols()]);
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            assert_eq!(a.get(&[i, j]), m[(i, j)], "element [{i}, {j}]");
        }
    }
}

/// Shapes around the transposition's tiles of 16 rows, and the degenerate ones.
const SHAPES: &[(usize, usize)] = &[
    (0, 0),
    (0, 3),
    (3, 0),
    (1, 1),
    (1, 5),
    (5, 1),
    (2, 3),
    (16, 16),
    (17, 33),
    (40, 7),
];

fn matrix_round_trips<T: Element>() {
    for &(rows, cols) in SHAPES {
        let m = numbered::<T>(rows, cols);
        let a = Array::from(&m);
        assert_same_elements(&a, &m);
        assert_eq!(Array::from(m.clone()), a, "{rows}×{cols}");
        assert_eq!(DMatrix::try_from(&a).unwrap(), m, "{rows}×{cols}");
        assert_eq!(DMatrix::try_from(a).unwrap(), m, "{rows}×{cols}");
    }
}

#[test]
fn matrices_survive_a_round_trip_through_arrays_f64() {
    matrix_round_trips::<f64>();
}

#[test]
fn matrices_survive_a_round_trip_through_arrays_f32() {
    matrix_round_trips::<f32>();
}

#[test]
fn vectors_survive_a_round_trip_through_arrays() {
    for n in [0, 1, 7] {
        let v = DVector::from_fn(n, |i, _| i as f32 - 0.5);
        let a = Array::from(&v);
        assert_eq!((a.shape(), a.data()), (&[n][..], v.as_slice()));
        assert_eq!(Array::from(v.clone()), a);
        assert_eq!(DVector::try_from(&a).unwrap(), v);
        assert_eq!(DVector::try_from(a).unwrap(), v);
    }
}

#[test]
fn a_matrix_is_transposed_in_memory_between_column_and_row_major() {
    let m = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(m.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // nalgebra: by columns
    let a = Array::from(m);
    assert_eq!(a.data(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]); // tapegrad: by rows
    let back = DMatrix::try_from(&a).unwrap();
    assert_eq!(back.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

#[test]
fn a_vector_and_a_single_row_or_column_keep_their_buffer() {
    let v = DVector::from_vec(vec![1.0f64, 2.0, 3.0]);
    let before = v.as_ptr();
    let a = Array::from(v);
    assert_eq!(a.data().as_ptr(), before);
    let v = DVector::try_from(a).unwrap();
    assert_eq!(v.as_ptr(), before);

    for (rows, cols) in [(1, 4), (4, 1)] {
        let m = numbered::<f64>(rows, cols);
        let before = m.as_ptr();
        let a = Array::from(m);
        assert_eq!(a.data().as_ptr(), before, "{rows}×{cols}");
        let m = DMatrix::try_from(a).unwrap();
        assert_eq!(m.as_ptr(), before, "{rows}×{cols}");
    }
}

#[test]
fn a_matrix_of_several_rows_and_columns_is_copied() {
    let m = numbered::<f64>(3, 4);
    let before = m.as_ptr();
    let a = Array::from(m);
    assert_ne!(a.data().as_ptr(), before);
    let data = a.data().as_ptr();
    let m = DMatrix::try_from(a).unwrap();
    assert_ne!(m.as_ptr(), data);
}

#[test]
fn into_a_vector_copies_a_buffer_another_clone_still_refers_to() {
    let a = Array::from_vec(vec![1.0f64, 2.0, 3.0], &[3])
        .unwrap()
        .shared();
    let other = a.clone();
    let mut v = DVector::try_from(a).unwrap();
    assert_ne!(v.as_ptr(), other.data().as_ptr());
    v[0] = 10.0;
    assert_eq!(other.data(), &[1.0, 2.0, 3.0]);
}

#[test]
fn shapes_that_are_not_a_matrix_or_a_vector_are_errors_naming_the_conversion() {
    let cube = Array::<f64>::zeros(&[2, 3, 4]);
    let scalar = Array::scalar(1.0f64);
    let row = Array::<f64>::zeros(&[1, 3]);
    let cases: [(TapeError, &str); 6] = [
        (
            DMatrix::try_from(cube.clone()).unwrap_err(),
            "DMatrix::try_from: a matrix needs a 2-D array [rows, cols], not 3-D (shape [2, 3, 4])",
        ),
        (
            DMatrix::try_from(&scalar).unwrap_err(),
            "DMatrix::try_from: a matrix needs a 2-D array [rows, cols], not 0-D (shape [])",
        ),
        (
            DMatrix::try_from(&cube).unwrap_err(),
            "DMatrix::try_from: a matrix needs a 2-D array [rows, cols], not 3-D (shape [2, 3, 4])",
        ),
        (
            DVector::try_from(row).unwrap_err(),
            "DVector::try_from: a vector needs a 1-D array [n], not 2-D (reshape an [n, 1] or [1, n] array first) (shape [1, 3])",
        ),
        (
            DVector::try_from(&scalar).unwrap_err(),
            "DVector::try_from: a vector needs a 1-D array [n], not 0-D (reshape an [n, 1] or [1, n] array first) (shape [])",
        ),
        (
            DVector::try_from(&cube).unwrap_err(),
            "DVector::try_from: a vector needs a 1-D array [n], not 3-D (reshape an [n, 1] or [1, n] array first) (shape [2, 3, 4])",
        ),
    ];
    for (err, expected) in cases {
        assert!(matches!(err, TapeError::InvalidArgument { .. }));
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn the_gradient_of_a_least_squares_loss_on_nalgebra_data_is_the_closed_form() {
    // L(x) = ‖A·x − b‖², ∇L = 2Aᵀ(A·x − b), computed again in nalgebra.
    let a_m = DMatrix::from_fn(5, 3, |i, j| ((i * 3 + j) as f64 * 0.37).sin());
    let b_v = DVector::from_fn(5, |i, _| i as f64 - 2.0);
    let x_v = DVector::from_vec(vec![0.5, -1.0, 2.0]);

    let tape = Tape::<f64>::new();
    let a = tape.tensor_constant((&a_m).into());
    let b = tape.tensor_constant((&b_v).into());
    let x = tape.tensor((&x_v).into());
    let r = a.matmul(x) - b;
    let mut grads = (r * r).sum().backward();
    let grad = DVector::try_from(grads.take(x)).unwrap();

    let expected = 2.0 * a_m.transpose() * (&a_m * &x_v - &b_v);
    assert!((grad - expected).amax() < 1e-12);
}
