//! Shared (copy-on-write) arrays: clones refer to the same elements until one is changed, and
//! values never alias.

use tape::{Array, Tape};

fn sample() -> Array<f64> {
    Array::from_vec((0..3000).map(|i| i as f64 * 0.5).collect(), &[30, 100]).unwrap()
}

#[test]
fn a_clone_of_a_shared_array_refers_to_the_same_elements() {
    let a = sample().shared();
    let b = a.clone();
    assert!(a.is_shared() && b.is_shared());
    assert_eq!(a.data().as_ptr(), b.data().as_ptr());
    assert_eq!(a, b);
}

#[test]
fn a_clone_of_an_owned_array_is_a_copy() {
    let a = sample();
    let b = a.clone();
    assert!(!a.is_shared());
    assert_ne!(a.data().as_ptr(), b.data().as_ptr());
    assert_eq!(a, b);
}

#[test]
fn changing_a_shared_array_leaves_its_clones_unchanged() {
    let mut a = sample().shared();
    let b = a.clone();
    a.data_mut()[7] = -1.0;
    assert_eq!(a.data()[7], -1.0);
    assert_eq!(b.data()[7], 3.5);
    assert_eq!(b, sample());
    // Still shared: the next clone is again a reference.
    let c = a.clone();
    assert_eq!(c.data().as_ptr(), a.data().as_ptr());
}

#[test]
fn a_shared_array_without_other_references_changes_in_place() {
    let mut a = sample().shared();
    let b = a.clone();
    drop(b);
    let before = a.data().as_ptr();
    a.data_mut()[0] = 9.0;
    assert_eq!(a.data().as_ptr(), before);
    assert_eq!(a.data()[0], 9.0);
}

#[test]
fn into_vec_of_a_shared_array_copies_only_when_another_refers_to_it() {
    let a = sample().shared();
    let b = a.clone();
    let v = a.into_vec();
    assert_eq!(v, sample().into_vec());
    assert_eq!(b, sample());
    let ptr = b.data().as_ptr();
    let w = b.into_vec();
    assert_eq!(w.as_ptr(), ptr);
}

#[test]
fn shared_and_owned_arrays_compare_by_value() {
    assert_eq!(sample().shared(), sample());
    let mut other = sample();
    other.data_mut()[1] = 0.0;
    assert_ne!(sample().shared(), other);
}

#[test]
fn a_parameter_bound_onto_a_tape_is_not_copied_and_keeps_its_value_after_an_update() {
    let mut w = Array::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap().shared();
    let mut tape = Tape::new();
    let grad = {
        let x = tape.tensor(w.clone());
        assert_eq!(x.with_value(|v| v.data().as_ptr()), w.data().as_ptr());
        let loss = (x * x).sum();
        let grads = loss.backward();
        grads.wrt(x).clone()
    };
    // Updating while the tape still holds the parameter copies it first: the tape's value
    // stays what the forward pass used.
    {
        let x_on_tape = tape.tensor(w.clone());
        w.data_mut()[0] -= 0.5 * grad.data()[0];
        assert_eq!(x_on_tape.to_vec(), vec![1.0, 2.0, 3.0]);
    }
    tape.clear();
    let before = w.data().as_ptr();
    for (p, g) in w.data_mut().iter_mut().zip(grad.data()) {
        *p -= 0.5 * g;
    }
    assert_eq!(
        w.data().as_ptr(),
        before,
        "updated in place once the tape is cleared"
    );
    // The gradient is 2w = [2, 4, 6]; the first element was stepped twice (above and here).
    assert_eq!(w.data(), &[-1.0, 0.0, 0.0]);
}

#[test]
fn an_add_passes_its_gradient_on_without_mixing_it_with_other_contributions() {
    // h = x + b (a bias row) is large enough for its gradient to be shared with x's; x also
    // feeds a second term, whose contribution is added to x's gradient afterwards. That
    // addition must copy, not change h's gradient. Closed forms: ∂/∂h = c, ∂/∂x = c + d,
    // ∂/∂b = column sums of c.
    let (rows, cols) = (40, 50);
    let x0 = Array::<f64>::rand_uniform(&[rows, cols], -1.0, 1.0, 1);
    let b0 = Array::<f64>::rand_uniform(&[cols], -1.0, 1.0, 2);
    let c0 = Array::<f64>::rand_uniform(&[rows, cols], -1.0, 1.0, 3);
    let d0 = Array::<f64>::rand_uniform(&[rows, cols], -1.0, 1.0, 4);
    for order in 0..2 {
        let tape = Tape::new();
        let (x, b) = (tape.tensor(x0.clone()), tape.tensor(b0.clone()));
        let (c, d) = (
            tape.tensor_constant(c0.clone()),
            tape.tensor_constant(d0.clone()),
        );
        let h = x + b;
        // Both orders of recording, so the shared gradient is reached first or second.
        let loss = if order == 0 {
            (h * c).sum() + (x * d).sum()
        } else {
            (x * d).sum() + (h * c).sum()
        };
        let grads = loss.backward();
        assert_eq!(grads.wrt(h).data(), c0.data(), "∂/∂h, order {order}");
        let expected_x: Vec<f64> = c0
            .data()
            .iter()
            .zip(d0.data())
            .map(|(c, d)| c + d)
            .collect();
        assert_eq!(
            grads.wrt(x).data(),
            expected_x.as_slice(),
            "∂/∂x, order {order}"
        );
        let expected_b: Vec<f64> = (0..cols)
            .map(|j| (0..rows).map(|i| c0.data()[i * cols + j]).sum())
            .collect();
        let got_b = grads.wrt(b).data().to_vec();
        for (g, e) in got_b.iter().zip(&expected_b) {
            assert!((g - e).abs() < 1e-12, "∂/∂b, order {order}");
        }
    }
}

#[test]
fn an_add_hands_its_gradient_to_an_input_of_its_shape_without_copying() {
    let tape = Tape::new();
    let x = tape.tensor(Array::<f64>::rand_uniform(&[40, 50], -1.0, 1.0, 1));
    let b = tape.tensor(Array::<f64>::rand_uniform(&[50], -1.0, 1.0, 2));
    let h = x + b;
    let grads = (h * h).sum().backward();
    assert_eq!(grads.wrt(x).data().as_ptr(), grads.wrt(h).data().as_ptr());
    assert_eq!(grads.wrt(x).data(), grads.wrt(h).data());
}

#[test]
fn zip_mut_with_updates_every_element_once_on_any_thread_count() {
    // Long enough to be split across threads, and not a multiple of the chunk size.
    let n = 100_003;
    let g = Array::<f64>::rand_uniform(&[n], -1.0, 1.0, 5);
    let start = Array::<f64>::rand_uniform(&[n], -1.0, 1.0, 6);
    let expected: Vec<f64> = start
        .data()
        .iter()
        .zip(g.data())
        .map(|(w, g)| w - 0.1 * g)
        .collect();
    for threads in 1..=3 {
        tape::set_num_threads(threads);
        let mut w = start.clone();
        w.zip_mut_with(&g, |w, g| *w -= 0.1 * g).unwrap();
        assert_eq!(w.data(), expected.as_slice(), "{threads} threads");
    }
}

#[test]
fn zip_mut_with_copies_a_shared_array_before_changing_it_and_checks_shapes() {
    let mut w = sample().shared();
    let other_ref = w.clone();
    let g = Array::full(&[30, 100], 1.0);
    w.zip_mut_with(&g, |w, g| *w += g).unwrap();
    assert_eq!(other_ref, sample(), "the other reference keeps its values");
    assert_eq!(w.data()[7], sample().data()[7] + 1.0);
    let before = w.clone();
    let err = w
        .zip_mut_with(&Array::zeros(&[100, 30]), |w, _| *w = 0.0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "zip_mut_with: shapes differ: lhs [30, 100], rhs [100, 30]"
    );
    assert_eq!(w, before, "unchanged after the error");
}

#[test]
fn rows_of_a_shared_array_refer_to_its_elements_and_never_alias_a_change() {
    let mut data = sample().shared(); // [30, 100], element i = i/2
    let view = data.rows(10..13).unwrap();
    assert_eq!(view.shape(), &[3, 100]);
    assert!(view.is_shared());
    assert_eq!(view.data().as_ptr(), data.data()[1000..].as_ptr());
    assert_eq!(view.data(), &sample().data()[1000..1300]);
    // Rows of a view count from the view's first row.
    let inner = view.rows(1..3).unwrap();
    assert_eq!(inner.data(), &sample().data()[1100..1300]);
    assert_eq!(inner.data().as_ptr(), data.data()[1100..].as_ptr());
    // Changing the view copies it; changing the array copies the array: neither sees the other.
    let mut changed = view.clone();
    changed.data_mut()[0] = -1.0;
    assert_eq!(changed.data()[0], -1.0);
    assert_eq!(data.data()[1000], 500.0);
    data.data_mut()[1000] = -2.0;
    assert_eq!(view.data()[0], 500.0);
    assert_eq!(inner.into_vec(), sample().data()[1100..1300].to_vec());
    // An owned array's rows are a copy.
    let owned = sample();
    let copy = owned.rows(0..2).unwrap();
    assert!(!copy.is_shared());
    assert_eq!(copy.data(), &owned.data()[..200]);
    // Empty and full ranges; errors name the rows.
    assert_eq!(owned.rows(5..5).unwrap().shape(), &[0, 100]);
    assert_eq!(owned.rows(0..30).unwrap(), owned);
    let err = owned.rows(29..31).unwrap_err().to_string();
    assert!(err.contains("Array::rows") && err.contains("29..31") && err.contains("30 rows"));
    assert!(Array::scalar(1.0f64).rows(0..1).is_err());
}

#[test]
fn a_batch_viewed_from_a_shared_data_set_trains_like_a_copied_one() {
    let inputs = Array::<f64>::rand_uniform(&[64, 5], -1.0, 1.0, 7).shared();
    let w0 = Array::<f64>::rand_uniform(&[3, 5], -1.0, 1.0, 8);
    let grad = |x: Array<f64>| {
        let tape = Tape::new();
        let w = tape.tensor(w0.clone());
        let loss = tape
            .tensor_constant(x)
            .matmul_t(false, w, true)
            .relu()
            .sum();
        loss.backward().wrt(w).clone()
    };
    let viewed = grad(inputs.rows(16..48).unwrap());
    let copied = grad(Array::from_slice(&inputs.data()[80..240], &[32, 5]).unwrap());
    assert_eq!(viewed, copied);
}

/// Adam's update of one element, written out: the rule `zip_mut_with_state` is checked
/// against.
fn adam_rule(p: &mut f32, g: f32, m: &mut f32, v: &mut f32) {
    *m = 0.9 * *m + 0.1 * g;
    *v = 0.999 * *v + 0.001 * g * g;
    *p -= 0.01 * *m / (v.sqrt() + 1e-8);
}

#[test]
fn zip_mut_with_state_updates_the_array_and_its_state_element_by_element() {
    // Long enough to be split across threads, and not a multiple of any chunk size.
    let n = 70_001;
    let g = Array::<f32>::rand_uniform(&[n], -1.0, 1.0, 7);
    let start = Array::<f32>::rand_uniform(&[n], -1.0, 1.0, 8);
    let m0: Vec<f32> = Array::<f32>::rand_uniform(&[n], -0.1, 0.1, 9)
        .data()
        .to_vec();
    let v0: Vec<f32> = Array::<f32>::rand_uniform(&[n], 0.0, 0.1, 10)
        .data()
        .to_vec();
    let (mut p_ref, mut m_ref, mut v_ref) = (start.data().to_vec(), m0.clone(), v0.clone());
    for i in 0..n {
        adam_rule(&mut p_ref[i], g.data()[i], &mut m_ref[i], &mut v_ref[i]);
    }
    for threads in 1..=3 {
        tape::set_num_threads(threads);
        for shared in [false, true] {
            let mut p = if shared {
                start.clone().shared()
            } else {
                start.clone()
            };
            let other = p.clone();
            let (mut m, mut v) = (m0.clone(), v0.clone());
            p.zip_mut_with_state(&g, [&mut m, &mut v], |p, g, [m, v]| adam_rule(p, g, m, v))
                .unwrap();
            let case = format!("{threads} threads, shared {shared}");
            assert_eq!(p.data(), p_ref.as_slice(), "{case}");
            assert_eq!((&m, &v), (&m_ref, &v_ref), "{case}");
            assert_eq!(other, start, "{case}: the other reference keeps its values");
            assert_eq!(p.is_shared(), shared, "{case}");
        }
    }
}

#[test]
fn an_update_of_a_shared_array_writes_new_elements_in_one_pass_and_stays_shared() {
    let mut w = sample().shared();
    let saved = w.clone();
    let old = w.data().as_ptr();
    let g = Array::full(&[30, 100], 2.0);
    w.zip_mut_with(&g, |w, g| *w -= g).unwrap();
    assert_ne!(w.data().as_ptr(), old, "new elements");
    assert_eq!(
        saved.data().as_ptr(),
        old,
        "the saved reference keeps the old ones"
    );
    assert_eq!(saved, sample());
    assert!(
        w.is_shared(),
        "still shared, so binding it stays a reference count"
    );
    let expected: Vec<f64> = sample().data().iter().map(|v| v - 2.0).collect();
    assert_eq!(w.data(), expected.as_slice());
    // Once nothing else refers to them, the elements are changed where they are.
    drop(saved);
    let now = w.data().as_ptr();
    w.zip_mut_with(&g, |w, g| *w += g).unwrap();
    assert_eq!((w.data().as_ptr(), w), (now, sample()));
}

#[test]
fn zip_mut_with_state_checks_every_length_and_changes_nothing_on_error() {
    let mut w = sample();
    let g = Array::full(&[30, 100], 1.0);
    let mut good = vec![1.0; 3000];
    let mut short = vec![1.0; 2999];
    let err = w
        .zip_mut_with_state(&g, [&mut good, &mut short], |w, _, [a, b]| {
            *w = 0.0;
            *a = 0.0;
            *b = 0.0;
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "zip_mut_with_state: state 1 does not fit: lhs [3000], rhs [2999]"
    );
    let err = w
        .zip_mut_with_state(&Array::zeros(&[3000]), [&mut good], |w, _, _| *w = 0.0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "zip_mut_with_state: shapes differ: lhs [30, 100], rhs [3000]"
    );
    assert_eq!(w, sample());
    assert!(good.iter().chain(&short).all(|&x| x == 1.0));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn first_non_finite_finds_the_first_nan_or_infinity(
        len in 0usize..2000,
        bad in proptest::collection::vec((0usize..2000, 0usize..3), 0..4),
    ) {
        let mut data: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin() * 1e30).collect();
        for &(at, kind) in &bad {
            if at < len {
                data[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][kind];
            }
        }
        let expected = data.iter().position(|v| !v.is_finite());
        let a = Array::from_vec(data.clone(), &[len]).unwrap();
        let found = a.first_non_finite();
        proptest::prop_assert_eq!(found.map(|(i, _)| i), expected);
        if let (Some((i, v)), Some(_)) = (found, expected) {
            proptest::prop_assert_eq!(v.to_bits(), data[i].to_bits());
        }
        // The same in f64.
        let wide = a.cast::<f64>();
        proptest::prop_assert_eq!(wide.first_non_finite().map(|(i, _)| i), expected);
    }
}
