//! Second derivatives of every op over random shapes, through gradgradcheck. Each op is
//! composed with `sin` and summed, so that even linear ops (reshape, slice, matmul in one
//! argument) have a non-zero Hessian to check.

use proptest::prelude::*;
use tape::check::{CheckConfig, gradgradcheck, strategies};
use tape::{Array, Scalar, Tensor};

fn cfg() -> CheckConfig {
    CheckConfig {
        abs_tol: 1e-7,
        rel_tol: 1e-5,
        ..Default::default()
    }
}

fn wrap<'t>(t: Tensor<'t, f64>) -> Scalar<'t, f64> {
    t.sin().sum()
}

macro_rules! gg {
    ($inputs:expr, |$p:ident| $body:expr) => {{
        let inputs = $inputs;
        let r = gradgradcheck(|_, $p| wrap($body), &inputs, &cfg());
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }};
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn operators_with_constants(x in strategies::array_up_to::<f64>(2, 3, 0.3, 1.2)) {
        // Each op of the table is checked to second order in `table.rs`.
        gg!([x.clone()], |p| -p[0] * 2.0 + 1.0);
        gg!([x.clone()], |p| 3.0 / p[0] - 1.0);
    }

    #[test]
    fn kinked_unary_ops_away_from_the_kink(x in strategies::array_avoiding::<f64>(&[2, 3], -1.0, 1.0, &[0.0], 0.05)) {
        gg!([x.clone()], |p| p[0].relu() * p[0]);
        gg!([x.clone()], |p| p[0].abs() * p[0]);
    }

    #[test]
    fn maximum_and_minimum_times_an_operand((sa, sb) in strategies::broadcast_pair(3, 3), seed in 0u64..1000) {
        let a = Array::rand_uniform(&sa, 0.5, 1.5, seed);
        let b = Array::rand_uniform(&sb, 0.5, 1.5, seed + 1);
        // Ties have probability zero for continuous random values.
        gg!([a.clone(), b.clone()], |p| p[0].maximum(p[1]) * p[0]);
        gg!([a.clone(), b.clone()], |p| p[0].minimum(p[1]) * p[1]);
    }

    #[test]
    fn matmul_in_every_transpose_combination((m, k, n) in strategies::matmul_dims(3), seed in 0u64..1000) {
        let a = Array::rand_uniform(&[m, k], -1.0, 1.0, seed);
        let b = Array::rand_uniform(&[k, n], -1.0, 1.0, seed + 1);
        let at = Array::rand_uniform(&[k, m], -1.0, 1.0, seed + 2);
        let bt = Array::rand_uniform(&[n, k], -1.0, 1.0, seed + 3);
        gg!([at.clone(), b.clone()], |p| p[0].matmul_t(true, p[1], false));
        gg!([a.clone(), bt.clone()], |p| p[0].matmul_t(false, p[1], true));
        gg!([at, bt], |p| p[0].matmul_t(true, p[1], true));
        let v = Array::rand_uniform(&[k], -1.0, 1.0, seed + 4);
        gg!([a, v], |p| p[0].matmul(p[1]));
    }

    #[test]
    fn reductions(x in strategies::array::<f64>(&[2, 3, 2], -1.0, 1.0), axis in 0usize..3, keep in any::<bool>()) {
        gg!([x.clone()], |p| p[0].sum_axis(axis, keep));
        gg!([x.clone()], |p| p[0].mean_axis(axis, keep));
        gg!([x.clone()], |p| p[0].max_axis(axis, keep));
        gg!([x.clone()], |p| p[0].min_axis(axis, keep));
        gg!([x.clone()], |p| p[0].sum_to(&[1, 3, 1]));
        gg!([x.clone()], |p| (p[0] * p[0].sum().to_tensor()).flatten());
        gg!([x.clone()], |p| (p[0] * p[0].mean().to_tensor()).flatten());
        gg!([x.clone()], |p| (p[0] * p[0].max().to_tensor()).flatten());
    }

    #[test]
    fn shape_and_index_ops(x in strategies::array::<f64>(&[3, 4], -1.0, 1.0), s in 0usize..3, idx in proptest::collection::vec(0usize..4, 3)) {
        gg!([x.clone()], |p| p[0].reshape(&[2, 6]) * p[0].reshape(&[2, 6]));
        gg!([x.clone()], |p| p[0].permute(&[1, 0]) * p[0].t());
        gg!([x.clone()], |p| p[0].slice(1, s, 4) * p[0].slice(1, 0, 4 - s));
        gg!([x.clone()], |p| p[0].pad(0, s, 1) * p[0].pad(0, s, 1));
        gg!([x.clone()], |p| Tensor::concat(&[p[0], p[0] * p[0]], s % 2));
        gg!([x.clone()], |p| p[0].gather(&idx) * p[0].gather(&idx));
        gg!([x.clone()], |p| p[0].gather(&idx).scatter(&idx, 4) * p[0]);
        gg!([x.clone()], |p| p[0].index_select(&[s, 0, s]) * p[0].index_select(&[0, s, 2]));
        gg!([x.clone()], |p| p[0].index_select(&[2, s, 2]).index_add(&[0, 1, 0], 3) * p[0]);
        gg!([x.clone()], |p| p[0].broadcast_to(&[2, 3, 4]) * p[0]);
        gg!([x.clone()], |p| Tensor::from_scalars(&[p[0].get(&[s, 1]) * p[0].get(&[0, 3]), p[0].get(&[2, 2])], &[2]));
    }
}
