//! Matrix products, reductions, shape ops and indexing against central differences, plus
//! the conventions that finite differences cannot see (ties, detach).

use proptest::prelude::*;
use tape::check::{CheckConfig, Entry, gradcheck, strategies};
use tape::{Array, Shape, Tape, Tensor, broadcast_shapes};

use crate::common::{
    assert_array_close, assert_grad, assert_grad_scalar, distinct_array, shape_and_axis,
};

const RANK: usize = 3;
const DIM: usize = 4;

fn cfg() -> CheckConfig {
    CheckConfig::default()
}

fn arr(shape: &[usize]) -> impl Strategy<Value = Array<f64>> + use<> {
    strategies::array::<f64>(shape, -2.0, 2.0)
}

fn any_array() -> impl Strategy<Value = Array<f64>> {
    strategies::array_up_to::<f64>(RANK, DIM, -2.0, 2.0)
}

/// An array of rank `1..=RANK` and one of its axes.
fn array_and_axis() -> impl Strategy<Value = (Array<f64>, usize)> {
    shape_and_axis(RANK, DIM).prop_flat_map(|(s, axis)| (arr(&s), Just(axis)))
}

/// An array and a permutation of its axes.
fn array_and_permutation() -> impl Strategy<Value = (Array<f64>, Vec<usize>)> {
    strategies::shape(RANK, DIM).prop_flat_map(|s| {
        let rank = s.len();
        (arr(&s), Just((0..rank).collect::<Vec<_>>()).prop_shuffle())
    })
}

/// The shape that `a` and `b` broadcast to.
fn broadcast(a: &[usize], b: &[usize]) -> Shape {
    broadcast_shapes("test", a, b).expect("the strategy makes shapes that broadcast")
}

/// The shape of `op(x)` for a 2-D shape, transposed when `t`.
fn maybe_t(rows: usize, cols: usize, t: bool) -> [usize; 2] {
    if t { [cols, rows] } else { [rows, cols] }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    // ---- matrix products -------------------------------------------------------------------

    #[test]
    fn matmul_2d((a, b) in strategies::matmul_dims(DIM)
        .prop_flat_map(|(m, k, n)| (arr(&[m, k]), arr(&[k, n]))))
    {
        assert_grad(|_, t| t[0].matmul(t[1]), &[a, b], &cfg());
    }

    #[test]
    fn matmul_t_every_transpose_combination(
        (m, k, n) in strategies::matmul_dims(DIM),
        seed in any::<u64>(),
    ) {
        for ta in [false, true] {
            for tb in [false, true] {
                // op(a) is [m, k] and op(b) is [k, n], so a and b are stored transposed when
                // their flag is set.
                let a = Array::rand_uniform(&maybe_t(m, k, ta), -2.0, 2.0, seed);
                let b = Array::rand_uniform(&maybe_t(k, n, tb), -2.0, 2.0, seed ^ 1);
                let r = gradcheck(|_, t| t[0].matmul_t(ta, t[1], tb), &[a, b], &cfg());
                prop_assert!(r.is_ok(), "ta = {ta}, tb = {tb}: {}", r.unwrap_err());
            }
        }
    }

    #[test]
    fn matmul_matrix_vector((a, v) in strategies::matmul_dims(DIM)
        .prop_flat_map(|(m, k, _)| (arr(&[m, k]), arr(&[k]))))
    {
        assert_grad(|_, t| t[0].matmul(t[1]), &[a, v], &cfg());
    }

    #[test]
    fn matmul_vector_matrix((v, b) in strategies::matmul_dims(DIM)
        .prop_flat_map(|(_, k, n)| (arr(&[k]), arr(&[k, n]))))
    {
        assert_grad(|_, t| t[0].matmul(t[1]), &[v, b], &cfg());
    }

    #[test]
    fn matmul_vector_vector((u, v) in (1..=DIM).prop_flat_map(|k| (arr(&[k]), arr(&[k])))) {
        assert_grad(|_, t| t[0].matmul(t[1]), &[u, v], &cfg());
    }

    // ---- whole-tensor reductions -----------------------------------------------------------

    #[test]
    fn sum(x in any_array()) {
        assert_grad_scalar(|_, t| (t[0] * t[0]).sum(), &[x], &cfg());
    }

    #[test]
    fn mean(x in any_array()) {
        assert_grad_scalar(|_, t| t[0].sin().mean(), &[x], &cfg());
    }

    #[test]
    fn max(x in distinct_array(RANK, DIM)) {
        assert_grad_scalar(|_, t| t[0].max(), &[x], &cfg());
    }

    #[test]
    fn min(x in distinct_array(RANK, DIM)) {
        assert_grad_scalar(|_, t| t[0].min(), &[x], &cfg());
    }

    // ---- reductions along an axis, every axis, keepdim both ways ---------------------------

    #[test]
    fn sum_axis(x in any_array()) {
        let inputs = std::slice::from_ref(&x);
        for axis in 0..x.ndim() {
            for keepdim in [false, true] {
                let r = gradcheck(|_, t| t[0].sum_axis(axis, keepdim), inputs, &cfg());
                prop_assert!(r.is_ok(), "axis {axis}, keepdim {keepdim}: {}", r.unwrap_err());
            }
        }
    }

    #[test]
    fn mean_axis(x in any_array()) {
        let inputs = std::slice::from_ref(&x);
        for axis in 0..x.ndim() {
            for keepdim in [false, true] {
                let r = gradcheck(|_, t| t[0].mean_axis(axis, keepdim), inputs, &cfg());
                prop_assert!(r.is_ok(), "axis {axis}, keepdim {keepdim}: {}", r.unwrap_err());
            }
        }
    }

    #[test]
    fn max_axis(x in distinct_array(RANK, DIM)) {
        let inputs = std::slice::from_ref(&x);
        for axis in 0..x.ndim() {
            for keepdim in [false, true] {
                let r = gradcheck(|_, t| t[0].max_axis(axis, keepdim), inputs, &cfg());
                prop_assert!(r.is_ok(), "axis {axis}, keepdim {keepdim}: {}", r.unwrap_err());
            }
        }
    }

    #[test]
    fn min_axis(x in distinct_array(RANK, DIM)) {
        let inputs = std::slice::from_ref(&x);
        for axis in 0..x.ndim() {
            for keepdim in [false, true] {
                let r = gradcheck(|_, t| t[0].min_axis(axis, keepdim), inputs, &cfg());
                prop_assert!(r.is_ok(), "axis {axis}, keepdim {keepdim}: {}", r.unwrap_err());
            }
        }
    }

    // ---- shape ops -------------------------------------------------------------------------

    #[test]
    fn sum_to((x, target) in strategies::broadcast_pair(RANK, DIM)
        .prop_flat_map(|(a, b)| (arr(&broadcast(&a, &b)), Just(a))))
    {
        assert_grad(|_, t| t[0].sum_to(&target), &[x], &cfg());
    }

    #[test]
    fn broadcast_to((x, target) in strategies::broadcast_pair(RANK, DIM)
        .prop_flat_map(|(a, b)| (arr(&a), Just(broadcast(&a, &b)))))
    {
        assert_grad(|_, t| t[0].broadcast_to(&target).sin(), &[x], &cfg());
    }

    #[test]
    fn reshape(x in any_array()) {
        // Reversed dimensions keep the element count but move every boundary.
        let reversed: Vec<usize> = x.shape().iter().rev().copied().collect();
        let inputs = std::slice::from_ref(&x);
        assert_grad(|_, t| t[0].reshape(&reversed) * t[0].reshape(&reversed), inputs, &cfg());
        assert_grad(|_, t| t[0].flatten().cos(), &[x], &cfg());
    }

    #[test]
    fn permute((x, perm) in array_and_permutation()) {
        assert_grad(|_, t| t[0].permute(&perm).exp(), &[x], &cfg());
    }

    #[test]
    fn transpose((x, a, b) in array_and_axis()
        .prop_flat_map(|(x, a)| { let r = x.ndim(); (Just(x), Just(a), 0..r) }))
    {
        assert_grad(|_, t| t[0].transpose(a, b).tanh(), &[x], &cfg());
    }

    #[test]
    fn t_of_a_matrix(x in (1..=DIM, 1..=DIM).prop_flat_map(|(m, n)| arr(&[m, n]))) {
        // tᵀ·t mixes the transposed and untransposed copies in one product.
        assert_grad(|_, t| t[0].t().matmul(t[0]), &[x], &cfg());
    }

    #[test]
    fn unsqueeze_squeeze_flatten((x, axis) in array_and_axis()) {
        let inputs = std::slice::from_ref(&x);
        assert_grad(|_, t| t[0].unsqueeze(axis).squeeze(axis).sin(), inputs, &cfg());
        let rank = x.ndim();
        assert_grad(|_, t| t[0].unsqueeze(rank).flatten().sin(), &[x], &cfg());
    }

    #[test]
    fn slice((x, axis, start, end) in array_and_axis().prop_flat_map(|(x, axis)| {
        let n = x.shape()[axis];
        (Just(x), Just(axis), 0..n).prop_flat_map(move |(x, axis, start)| {
            (Just(x), Just(axis), Just(start), start + 1..=n)
        })
    })) {
        assert_grad(|_, t| t[0].slice(axis, start, end).sin(), &[x], &cfg());
    }

    #[test]
    fn pad((x, axis, before, after) in array_and_axis()
        .prop_flat_map(|(x, axis)| (Just(x), Just(axis), 0..=2usize, 0..=2usize)))
    {
        // cos so the padded zeros are not mapped to zeros: cos 0 = 1 with derivative 0.
        assert_grad(|_, t| t[0].pad(axis, before, after).cos(), &[x], &cfg());
    }

    #[test]
    fn concat_along_every_axis(
        (shape, sizes, seed) in (
            strategies::shape(RANK, DIM).prop_filter("at least one axis", |s| !s.is_empty()),
            proptest::collection::vec(1..=3usize, 2..=3),
            any::<u64>(),
        )
    ) {
        for axis in 0..shape.len() {
            let parts: Vec<Array<f64>> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let mut s = shape.clone();
                    s[axis] = n;
                    Array::rand_uniform(&s, -2.0, 2.0, seed.wrapping_add(i as u64))
                })
                .collect();
            // Each part enters through a different factor so a mix-up of the slices shows.
            let r = gradcheck(
                |_, t| {
                    let scaled: Vec<Tensor<'_, f64>> =
                        t.iter().enumerate().map(|(i, &p)| p * (i as f64 + 1.0)).collect();
                    Tensor::concat(&scaled, axis).sin()
                },
                &parts,
                &cfg(),
            );
            prop_assert!(r.is_ok(), "axis {axis}: {}", r.unwrap_err());
        }
    }

    // ---- indexing --------------------------------------------------------------------------

    #[test]
    fn gather((x, idx) in (1..=DIM, 1..=DIM).prop_flat_map(|(n, c)| {
        (arr(&[n, c]), proptest::collection::vec(0..c, n))
    })) {
        assert_grad(|_, t| t[0].gather(&idx).exp(), &[x], &cfg());
    }

    #[test]
    fn scatter((x, idx, n_cols) in (1..=DIM, 1..=DIM).prop_flat_map(|(n, c)| {
        (arr(&[n]), proptest::collection::vec(0..c, n), Just(c))
    })) {
        assert_grad(|_, t| t[0].scatter(&idx, n_cols).cos(), &[x], &cfg());
    }

    #[test]
    fn index_select_with_repeats((x, idx) in strategies::shape(RANK, DIM)
        .prop_filter("at least one axis", |s| !s.is_empty())
        .prop_flat_map(|s| {
            let rows = s[0];
            (arr(&s), proptest::collection::vec(0..rows, 1..=5))
        }))
    {
        // Repeat the first index so every case exercises accumulation into one row.
        let mut idx = idx;
        idx.push(idx[0]);
        assert_grad(|_, t| t[0].index_select(&idx).sin(), &[x], &cfg());
    }

    #[test]
    fn index_add((x, idx, n_rows) in (strategies::shape(2, DIM), 1..=DIM, 1..=DIM)
        .prop_flat_map(|(rest, k, n_rows)| {
            let mut shape = Shape::from_slice(&[k]);
            shape.extend_from_slice(&rest);
            (arr(&shape), proptest::collection::vec(0..n_rows, k), Just(n_rows))
        }))
    {
        let mut idx = idx;
        if idx.len() >= 2 {
            idx[1] = idx[0];
        }
        assert_grad(|_, t| t[0].index_add(&idx, n_rows).sin(), &[x], &cfg());
    }

    #[test]
    fn get((x, index) in strategies::shape(RANK, DIM).prop_flat_map(|s| {
        let index: Vec<_> = s.iter().map(|&d| 0..d).collect();
        (arr(&s), index)
    })) {
        assert_grad_scalar(|_, t| t[0].get(&index).sin() * t[0].sum(), &[x], &cfg());
    }

    #[test]
    fn item(x in prop_oneof![arr(&[]), arr(&[1]), arr(&[1, 1, 1])]) {
        assert_grad_scalar(|_, t| t[0].item().exp(), &[x], &cfg());
    }

    #[test]
    fn from_scalars(xs in proptest::collection::vec(arr(&[]), 4)) {
        // Four 0-d inputs read as scalars, recombined into a [2, 2] tensor whose elements
        // depend on several of them.
        assert_grad(
            |_, t| {
                let s: Vec<_> = t.iter().map(|x| x.item()).collect();
                let elems = [s[0], s[0] * s[1], s[2].sin(), s[3] + s[1]];
                Tensor::from_scalars(&elems, &[2, 2]).exp()
            },
            &xs,
            &cfg(),
        );
    }

    #[test]
    fn scalar_to_tensor(xs in proptest::collection::vec(arr(&[]), 1)) {
        assert_grad(|_, t| (t[0].item() * 2.0).to_tensor().sin(), &xs, &cfg());
    }
}

// ---- conventions finite differences cannot see -------------------------------------------

#[test]
fn max_ties_send_the_gradient_to_the_first_maximal_element() {
    let tape = Tape::<f64>::new();
    let x = tape
        .tensor_from_vec(vec![1.0, 3.0, 0.0, 3.0, 3.0, -1.0], &[2, 3])
        .unwrap();
    let g = x.max().backward();
    assert_array_close(
        "max",
        g.wrt(x),
        &[2, 3],
        &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        0.0,
    );
    let g = x.min().backward();
    // The minimum −1 is unique: element 5.
    assert_array_close(
        "min",
        g.wrt(x),
        &[2, 3],
        &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        0.0,
    );

    // Along axis 1, row 1 = [3, 3, −1] ties at columns 0 and 1: column 0 wins.
    let g = x.max_axis(1, false).sum().backward();
    assert_array_close(
        "max_axis 1",
        g.wrt(x),
        &[2, 3],
        &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
        0.0,
    );
    // Along axis 0: column 0 = [1, 3] picks row 1 (flat 3), column 1 = [3, 3] ties and
    // row 0 wins (flat 1), column 2 = [0, −1] picks row 0 (flat 2).
    let g = x.max_axis(0, true).sum().backward();
    assert_array_close(
        "max_axis 0",
        g.wrt(x),
        &[2, 3],
        &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
        0.0,
    );

    let y = tape.tensor_from_vec(vec![2.0, -5.0, -5.0], &[3]).unwrap();
    let g = y.min_axis(0, false).sum().backward();
    assert_array_close("min_axis", g.wrt(y), &[3], &[0.0, 1.0, 0.0], 0.0);
}

#[test]
fn detach_stops_the_gradient() {
    let x = Array::from_vec(vec![1.0, -2.0, 3.0], &[3]).unwrap();
    let tape = Tape::<f64>::new();
    let xt = tape.tensor(x.clone());
    // f(x) = Σ x·detach(x): differentiated as Σ c·x with c = x held fixed, so ∇f = x
    // (where Σ x² would give 2x).
    let g = (xt * xt.detach()).sum().backward();
    assert_array_close("tensor detach", g.wrt(xt), &[3], &[1.0, -2.0, 3.0], 0.0);

    // Finite differences see through detach (they change x everywhere), so the check must
    // fail on every diagonal entry with analytic x_i against numeric 2x_i.
    let err = gradcheck(|_, t| t[0] * t[0].detach(), &[x], &cfg()).unwrap_err();
    assert_eq!(err.mismatches.len(), 3);
    for (i, (m, xi)) in err.mismatches.iter().zip([1.0, -2.0, 3.0]).enumerate() {
        assert_eq!(
            m.entry,
            Entry::Jacobian {
                input: 0,
                element: i,
                output: i
            }
        );
        assert_eq!(m.analytic, xi);
        assert!((m.numeric - 2.0 * xi).abs() < 1e-6, "numeric {}", m.numeric);
    }

    // Scalars: y = x²·detach(x) at x = 2 has gradient 2x·c = 2·2·2 = 8 (12 without detach).
    let s = tape.var(2.0);
    assert_eq!((s * s * s.detach()).backward().wrt(s), 8.0);
}

#[test]
fn structural_values_by_hand() {
    let tape = Tape::<f64>::new();
    // [[1, 2, 3], [4, 5, 6]]
    let x = tape
        .tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])
        .unwrap();
    assert_eq!(x.t().to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    assert_eq!(x.sum_axis(0, false).to_vec(), vec![5.0, 7.0, 9.0]);
    assert_eq!(x.sum_axis(1, true).shape().as_slice(), &[2, 1]);
    assert_eq!(x.mean_axis(1, false).to_vec(), vec![2.0, 5.0]);
    assert_eq!(x.max_axis(0, false).to_vec(), vec![4.0, 5.0, 6.0]);
    assert_eq!(x.min_axis(1, true).to_vec(), vec![1.0, 4.0]);
    assert_eq!(x.slice(1, 1, 3).to_vec(), vec![2.0, 3.0, 5.0, 6.0]);
    assert_eq!(
        x.pad(0, 1, 0).to_vec(),
        vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(
        Tensor::concat(&[x, x.slice(0, 0, 1)], 0).to_vec(),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0, 3.0]
    );
    assert_eq!(x.gather(&[2, 0]).to_vec(), vec![3.0, 4.0]);
    assert_eq!(
        x.index_select(&[1, 1]).to_vec(),
        vec![4.0, 5.0, 6.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(x.get(&[1, 2]).value(), 6.0);
    // [1, 1]·x is the column sums: [1+4, 2+5, 3+6].
    let ones = tape.ones(&[2]);
    assert_eq!(ones.matmul(x).to_vec(), vec![5.0, 7.0, 9.0]);
    // A permutation of a [2, 3, 1] view: axes (2, 0, 1) give shape [1, 2, 3], same order.
    let p = x.reshape(&[2, 3, 1]).permute(&[2, 0, 1]);
    assert_eq!(p.shape().as_slice(), &[1, 2, 3]);
    assert_eq!(p.to_vec(), x.to_vec());
}
