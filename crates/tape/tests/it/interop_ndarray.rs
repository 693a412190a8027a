//! Conversions between `Array` and ndarray (feature `ndarray`): values in both directions for
//! every layout, which conversions share a buffer, errors, and gradients of ndarray data.

use ndarray::{ArcArray, ArrayD, ArrayView, ArrayViewD, Dimension, IntoDimension, ShapeBuilder, s};
use tape::check::CheckConfig;
use tape::{Array, Element, Tape, TapeError};

use crate::common::assert_grad_scalar;

/// An array of `shape` whose elements are distinct (their flat index, plus a fraction).
fn numbered<T: Element>(shape: &[usize]) -> Array<T> {
    let n = shape.iter().product();
    let data = (0..n).map(|i| T::cast_from(i as f64 + 0.25)).collect();
    Array::from_vec(data, shape).unwrap()
}

/// Asserts that `a` has the shape of `x` and that `a.get(idx) == x[idx]` for every index.
#[track_caller]
fn assert_same_elements<T: Element, D: Dimension>(a: &Array<T>, x: &ArrayView<'_, T, D>) {
    assert_eq!(a.shape(), x.shape());
    for (idx, &v) in x.indexed_iter() {
        let idx = idx.into_dimension();
        assert_eq!(a.get(idx.slice()), v, "element {:?}", idx.slice());
    }
}

const SHAPES: &[&[usize]] = &[
    &[],
    &[0],
    &[1],
    &[5],
    &[3, 0],
    &[0, 4],
    &[2, 3],
    &[1, 7],
    &[2, 3, 4],
    &[2, 1, 3, 2],
];

fn round_trips<T: Element>() {
    for &shape in SHAPES {
        let a = numbered::<T>(shape);
        // Through a view, a copy and a handed-over buffer, and back.
        let view = a.as_ndarray().unwrap();
        assert_same_elements(&a, &view);
        assert_eq!(Array::from(view), a, "shape {shape:?}");
        let copy = a.to_ndarray().unwrap();
        assert!(copy.is_standard_layout());
        assert_eq!(Array::from(&copy), a, "shape {shape:?}");
        let owned = a.clone().into_ndarray().unwrap();
        assert_eq!(owned, copy);
        assert_eq!(Array::from(owned), a, "shape {shape:?}");
        // And as `TryFrom`.
        let viewed = ArrayViewD::try_from(&a).unwrap();
        assert_eq!(viewed, copy.view());
        assert_eq!(ArrayD::try_from(a.clone()).unwrap(), copy);
    }
}

#[test]
fn arrays_of_every_rank_survive_a_round_trip_through_ndarray_f64() {
    round_trips::<f64>();
}

#[test]
fn arrays_of_every_rank_survive_a_round_trip_through_ndarray_f32() {
    round_trips::<f32>();
}

#[test]
fn a_zero_dimensional_array_is_a_zero_dimensional_ndarray() {
    let a = Array::scalar(-3.5f64);
    let x = a.to_ndarray().unwrap();
    assert_eq!((x.ndim(), x.len(), x.first()), (0, 1, Some(&-3.5)));
    let back = Array::from(ndarray::arr0(2.0f32));
    assert_eq!((back.shape(), back.data()), (&[][..], &[2.0][..]));
}

#[test]
fn the_view_of_an_array_reads_its_buffer() {
    let a = numbered::<f64>(&[4, 5]);
    let v = a.as_ndarray().unwrap();
    assert_eq!(v.as_ptr(), a.data().as_ptr());
    assert_eq!(v.strides(), &[5, 1]);
    // The view of a shared array's rows reads the shared buffer too.
    let shared = a.shared();
    let rows = shared.rows(1..3).unwrap();
    let v = rows.as_ndarray().unwrap();
    assert_eq!(v.as_ptr(), shared.data()[5..].as_ptr());
    assert_eq!(v[[1, 4]], shared.get(&[2, 4]));
}

#[test]
fn into_ndarray_hands_over_an_owned_buffer() {
    let a = numbered::<f32>(&[3, 4]);
    let before = a.data().as_ptr();
    let x = a.into_ndarray().unwrap();
    assert_eq!(x.as_ptr(), before);
    assert_eq!(x.shape(), &[3, 4]);
    assert_eq!(x[[2, 1]], 9.25);
}

#[test]
fn into_ndarray_hands_over_a_shared_buffer_when_no_clone_is_alive() {
    let a = numbered::<f64>(&[3, 4]).shared();
    let before = a.data().as_ptr();
    let x = a.into_ndarray().unwrap();
    assert_eq!(x.as_ptr(), before);
}

#[test]
fn into_ndarray_copies_a_buffer_another_clone_still_refers_to() {
    let a = numbered::<f64>(&[3, 4]).shared();
    let other = a.clone();
    let mut x = a.into_ndarray().unwrap();
    assert_ne!(x.as_ptr(), other.data().as_ptr());
    x[[0, 0]] = 100.0;
    assert_eq!(other, numbered::<f64>(&[3, 4])); // unchanged
}

#[test]
fn into_ndarray_copies_the_rows_of_a_shared_array() {
    let data = numbered::<f64>(&[5, 2]).shared();
    let rows = data.rows(2..4).unwrap();
    let x = rows.into_ndarray().unwrap();
    assert_eq!(x.as_slice().unwrap(), &[4.25, 5.25, 6.25, 7.25]);
    assert!(!data.data().as_ptr_range().contains(&x.as_ptr()));
}

#[test]
fn to_ndarray_always_copies() {
    let a = numbered::<f64>(&[2, 2]);
    let x = a.to_ndarray().unwrap();
    assert_ne!(x.as_ptr(), a.data().as_ptr());
    assert_eq!(x.as_slice().unwrap(), a.data());
}

#[test]
fn an_owned_ndarray_in_standard_layout_is_taken_without_copying() {
    let x =
        ndarray::Array3::<f64>::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as f64);
    let before = x.as_ptr();
    let a = Array::from(x);
    assert_eq!(a.data().as_ptr(), before);
    assert_eq!(a.shape(), &[2, 3, 4]);
    assert!(a.data().iter().enumerate().all(|(i, &v)| v == i as f64));
}

#[test]
fn an_ndarray_sliced_in_place_keeps_its_buffer_with_the_rows_moved_to_the_front() {
    let mut x = ndarray::Array2::<f64>::from_shape_fn((5, 3), |(i, j)| (10 * i + j) as f64);
    let buffer = x.as_ptr();
    x.slice_collapse(s![2..4, ..]); // rows 2 and 3: still standard layout, at an offset
    assert!(x.is_standard_layout());
    assert_ne!(x.as_ptr(), buffer);
    let a = Array::from(x);
    assert_eq!(a.shape(), &[2, 3]);
    assert_eq!(a.data(), &[20.0, 21.0, 22.0, 30.0, 31.0, 32.0]);
    assert_eq!(a.data().as_ptr(), buffer); // the same allocation, from its start
}

#[test]
fn a_column_major_ndarray_is_copied_in_row_major_order() {
    let x = ndarray::Array2::<f32>::from_shape_fn((3, 4).f(), |(i, j)| (10 * i + j) as f32);
    assert!(!x.is_standard_layout());
    let a = Array::from(x.clone());
    assert_same_elements(&a, &x.view());
    assert_eq!(a.data()[..4], [0.0, 1.0, 2.0, 3.0]);
    // Also in more dimensions, and by reference.
    let y = ndarray::Array3::<f64>::from_shape_fn((2, 3, 4).f(), |(i, j, k)| {
        (i * 100 + j * 10 + k) as f64
    });
    assert_same_elements(&Array::from(&y), &y.view());
    assert_same_elements(&Array::from(y.clone()), &y.view());
}

#[test]
fn views_of_any_strides_are_copied_in_logical_order() {
    let x =
        ndarray::Array3::<f64>::from_shape_fn((3, 4, 5), |(i, j, k)| (i * 100 + j * 10 + k) as f64);
    let views: Vec<(&str, ArrayViewD<'_, f64>)> = vec![
        ("standard", x.view().into_dyn()),
        ("standard rows", x.slice(s![1..3, .., ..]).into_dyn()),
        ("transposed", x.t().into_dyn()),
        ("permuted", x.view().permuted_axes([2, 0, 1]).into_dyn()),
        ("stepped", x.slice(s![..;2, 1.., ..;3]).into_dyn()),
        ("reversed", x.slice(s![..;-1, .., ..;-2]).into_dyn()),
        ("one index", x.slice(s![1, .., 2]).into_dyn()),
        ("empty", x.slice(s![.., 2..2, ..]).into_dyn()),
    ];
    for (what, v) in views {
        let a = Array::from(v.clone());
        assert_eq!(a.shape(), v.shape(), "{what}");
        assert_same_elements(&a, &v);
        assert!(
            !x.as_slice()
                .unwrap()
                .as_ptr_range()
                .contains(&a.data().as_ptr()),
            "{what}: must be a copy"
        );
    }
    // A broadcast view repeats elements with stride 0.
    let row = ndarray::arr1(&[1.0f32, 2.0, 3.0]);
    let b = row.broadcast((2, 3)).unwrap();
    assert_eq!(Array::from(b).data(), &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
}

#[test]
fn an_empty_column_major_ndarray_converts() {
    let x = ndarray::Array2::<f64>::zeros((0, 3).f());
    let a = Array::from(x);
    assert_eq!((a.shape(), a.len()), (&[0, 3][..], 0));
    let y = ndarray::Array2::<f64>::zeros((4, 0));
    assert_eq!(Array::from(y).shape(), &[4, 0]);
}

#[test]
fn a_shared_ndarray_is_taken_when_it_is_the_last_reference_and_copied_otherwise() {
    let x: ArcArray<f64, _> =
        ndarray::Array2::from_shape_fn((3, 3), |(i, j)| (3 * i + j) as f64).into_shared();
    let other = x.clone();
    let a = Array::from(x);
    assert_ne!(a.data().as_ptr(), other.as_ptr());
    assert_same_elements(&a, &other.view());
    let before = other.as_ptr();
    let b = Array::from(other);
    assert_eq!(b.data().as_ptr(), before);
    assert_eq!(a, b);
    // A transposed shared array is copied in logical order.
    let t = ndarray::Array2::from_shape_fn((2, 3), |(i, j)| (3 * i + j) as f64)
        .into_shared()
        .reversed_axes();
    assert_eq!(Array::from(t).data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn a_shape_ndarray_cannot_hold_is_an_error_naming_the_conversion_and_the_shape() {
    // Empty, so tapegrad holds it; but ndarray needs the product of the non-zero lengths to
    // fit an isize.
    let a = Array::<f64>::zeros(&[0, usize::MAX]);
    let expected_tail = format!("(shape [0, {}])", usize::MAX);
    for (op, err) in [
        ("Array::as_ndarray", a.as_ndarray().unwrap_err()),
        ("Array::to_ndarray", a.to_ndarray().unwrap_err()),
        ("Array::into_ndarray", a.clone().into_ndarray().unwrap_err()),
        (
            "Array::into_ndarray",
            ArrayD::try_from(a.clone()).unwrap_err(),
        ),
    ] {
        assert!(matches!(err, TapeError::InvalidArgument { .. }));
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{op}: ndarray cannot hold this shape")),
            "{msg}"
        );
        assert!(msg.ends_with(&expected_tail), "{msg}");
    }
    // The largest empty shape ndarray does hold converts.
    let ok = Array::<f64>::zeros(&[0, isize::MAX as usize]);
    assert_eq!(ok.as_ndarray().unwrap().shape(), &[0, isize::MAX as usize]);
}

/// `f(W, x) = Σ tanh(W·x)` on tensors recorded from ndarray values with non-standard
/// layouts.
fn tanh_layer<'t, T: Element>(
    w: tape::Tensor<'t, T>,
    x: tape::Tensor<'t, T>,
) -> tape::Scalar<'t, T> {
    w.matmul(x).tanh().sum()
}

#[test]
fn gradients_of_ndarray_inputs_match_finite_differences_and_the_closed_form() {
    // W is the transpose of a stored 4×3 array, x a column-major 4×2 array.
    let stored =
        ndarray::Array2::<f64>::from_shape_fn((4, 3), |(i, j)| 0.3 * i as f64 - 0.2 * j as f64);
    let w_view = stored.t(); // 3×4
    let x_nd =
        ndarray::Array2::<f64>::from_shape_fn((4, 2).f(), |(i, j)| 0.5 - 0.25 * (i + j) as f64);

    let tape = Tape::<f64>::new();
    let w = tape.tensor(w_view.into());
    let x = tape.tensor(x_nd.clone().into());
    let mut grads = tanh_layer(w, x).backward();
    let grad_w = grads.take(w).into_ndarray().unwrap();
    let grad_x = grads.take(x).into_ndarray().unwrap();

    // Closed form, in ndarray: with Z = W·x and D = 1 − tanh²(Z), ∂f/∂W = D·xᵀ and
    // ∂f/∂x = Wᵀ·D.
    let z = w_view.dot(&x_nd);
    let d = z.mapv(|v| 1.0 - v.tanh() * v.tanh());
    let expected_w = d.dot(&x_nd.t());
    let expected_x = w_view.t().dot(&d);
    let close = |a: &ArrayD<f64>, b: &ndarray::Array2<f64>| {
        a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(p, q)| (p - q).abs() < 1e-12)
    };
    assert!(close(&grad_w, &expected_w), "{grad_w} vs {expected_w}");
    assert!(close(&grad_x, &expected_x), "{grad_x} vs {expected_x}");

    // And central differences on the same inputs, converted from the same ndarray values.
    let inputs = [Array::from(w_view), Array::from(&x_nd)];
    assert_grad_scalar(
        |_, t| tanh_layer(t[0], t[1]),
        &inputs,
        &CheckConfig::default(),
    );
}

#[test]
fn gradients_of_f32_ndarray_inputs_match_finite_differences() {
    let w_nd = ndarray::Array2::<f32>::from_shape_fn((2, 3).f(), |(i, j)| {
        0.4 * i as f32 - 0.3 * j as f32 + 0.1
    });
    let x_nd = ndarray::Array1::<f32>::from_shape_fn(3, |i| 1.0 - 0.5 * i as f32);
    let inputs = [Array::from(w_nd), Array::from(x_nd.view())];
    assert_grad_scalar(|_, t| tanh_layer(t[0], t[1]), &inputs, &CheckConfig::f32());
    // The gradient read as an ndarray view, without copying, has the input's shape.
    let tape = Tape::<f32>::new();
    let (w, x) = (
        tape.tensor(inputs[0].clone()),
        tape.tensor(inputs[1].clone()),
    );
    let grads = tanh_layer(w, x).backward();
    let g = grads.wrt(x).as_ndarray().unwrap();
    assert_eq!(g.shape(), &[3]);
    assert_eq!(g.as_ptr(), grads.wrt(x).data().as_ptr());
}

#[test]
fn a_dynamic_view_converts_like_a_fixed_one() {
    let x = ndarray::Array2::<f64>::from_shape_fn((2, 3), |(i, j)| (i + j) as f64);
    let dynamic: ArrayViewD<'_, f64> = x.view().into_dyn();
    let fixed = Array::from(x.view());
    assert_eq!(Array::from(dynamic), fixed);
    let back: ArrayD<f64> = fixed.into_ndarray().unwrap();
    assert_eq!(back.into_dimensionality::<ndarray::Ix2>().unwrap(), x);
}
