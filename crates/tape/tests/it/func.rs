//! The function transforms of `tape::func` (slices) and `tape::higher` (tensors) against
//! central differences and against each other: forward mode against reverse mode, forward
//! mode on lists with tensor ops (the reverse-mode fallback) against the tangent pass, Jacobians
//! both ways, Hessians against differences of the gradient.

use proptest::prelude::*;
use tape::check::{CheckConfig, gradcheck_scalars};
use tape::func::{self, Workspace};
use tape::{Array, Scalar, Tensor, higher};

/// A smooth scalar function of three inputs, using binary ops, constants and transcendental
/// ops.
fn f3<'t>(x: &[Scalar<'t, f64>]) -> Scalar<'t, f64> {
    (x[0] * x[1]).sin() + x[2].exp() * x[0] - (x[1] * x[1] + 1.0).ln() / x[2].cosh()
        + 2.0 / (x[0] * x[0] + 1.0)
}

/// A vector function of three inputs into four outputs.
fn g34<'t>(x: &[Scalar<'t, f64>]) -> Vec<Scalar<'t, f64>> {
    vec![
        x[0] * x[1],
        x[1].sin() * x[2],
        (x[0] + x[2]).exp(),
        x[0].hypot(x[1]) - x[2],
    ]
}

/// The same as [`g34`], but reading its inputs through a tensor (so that its list holds
/// tensor nodes, which store no forward rule).
fn g34_tensor<'t>(x: &[Scalar<'t, f64>]) -> Vec<Scalar<'t, f64>> {
    let t = Tensor::from_scalars(x, &[3]);
    g34(&[t.get(&[0]), t.get(&[1]), t.get(&[2])])
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

fn point() -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-1.0..1.0f64, 3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn value_and_grad_matches_central_differences(x in point()) {
        let (v, g) = func::value_and_grad(f3, &x).unwrap();
        let tape = tape::Tape::<f64>::new();
        prop_assert_eq!(v, f3(&tape.vars(&x)).value());
        let check = gradcheck_scalars(|_, s| f3(s), &x, &CheckConfig::default());
        prop_assert!(check.is_ok(), "{}", check.unwrap_err());
        // ... and equals the backward pass of the same recording
        let tape = tape::Tape::<f64>::new();
        let xs = tape.vars(&x);
        prop_assert_eq!(g, f3(&xs).backward().wrt_all(&xs));
    }

    #[test]
    fn jvp_is_the_gradient_along_the_direction(x in point(), v in point()) {
        let (value, d) = func::jvp(f3, &x, &v).unwrap();
        let (value2, g) = func::value_and_grad(f3, &x).unwrap();
        prop_assert_eq!(value, value2);
        let dot: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        prop_assert!(close(d, dot, 1e-12), "forward {} vs reverse {}", d, dot);
        // and central differences along v
        let h = 1e-6;
        let at = |s: f64| {
            let p: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + s * b).collect();
            func::value_and_grad(f3, &p).unwrap().0
        };
        let numeric = (at(h) - at(-h)) / (2.0 * h);
        prop_assert!(close(d, numeric, 1e-6), "forward {} vs differences {}", d, numeric);
    }

    #[test]
    fn jacobians_forward_and_reverse_agree(x in point()) {
        let fwd = func::jacfwd(g34, &x).unwrap();
        let rev = func::jacrev(g34, &x).unwrap();
        prop_assert_eq!(fwd.len(), 4);
        for (rf, rr) in fwd.iter().zip(&rev) {
            for (a, b) in rf.iter().zip(rr) {
                prop_assert!(close(*a, *b, 1e-12), "{} vs {}", a, b);
            }
        }
        // A list with tensor ops takes the reverse-mode construction: the same numbers.
        let through_tensors = func::jacfwd(g34_tensor, &x).unwrap();
        for (rf, rt) in fwd.iter().zip(&through_tensors) {
            for (a, b) in rf.iter().zip(rt) {
                prop_assert!(close(*a, *b, 1e-12), "{} vs {}", a, b);
            }
        }
        // jvp_vec is J·v, vjp is Jᵀ·u.
        let v = [0.5, -1.0, 2.0];
        let (_, jv) = func::jvp_vec(g34, &x, &v).unwrap();
        let (_, jv_t) = func::jvp_vec(g34_tensor, &x, &v).unwrap();
        for (i, row) in fwd.iter().enumerate() {
            let want: f64 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
            prop_assert!(close(jv[i], want, 1e-12) && close(jv_t[i], want, 1e-12));
        }
        let u = [1.0, -2.0, 0.5, 3.0];
        let (_, jtu) = func::vjp(g34, &x, &u).unwrap();
        for j in 0..3 {
            let want: f64 = (0..4).map(|i| fwd[i][j] * u[i]).sum();
            prop_assert!(close(jtu[j], want, 1e-12));
        }
    }

    #[test]
    fn hessian_and_hvp_match_differences_of_the_gradient(x in point(), v in point()) {
        let (value, g, h) = func::value_grad_hessian(f3, &x).unwrap();
        prop_assert_eq!((value, &g), (func::value_and_grad(f3, &x).unwrap().0, &func::grad(f3, &x).unwrap()));
        let step = 1e-5;
        for j in 0..3 {
            let mut plus = x.clone();
            let mut minus = x.clone();
            plus[j] += step;
            minus[j] -= step;
            let (gp, gm) = (func::grad(f3, &plus).unwrap(), func::grad(f3, &minus).unwrap());
            for i in 0..3 {
                let numeric = (gp[i] - gm[i]) / (2.0 * step);
                prop_assert!(close(h[i][j], numeric, 1e-6), "H[{}][{}] {} vs {}", i, j, h[i][j], numeric);
                prop_assert!(close(h[i][j], h[j][i], 1e-12), "symmetric");
            }
        }
        let hv = func::hvp(f3, &x, &v).unwrap();
        for i in 0..3 {
            let want: f64 = (0..3).map(|j| h[i][j] * v[j]).sum();
            prop_assert!(close(hv[i], want, 1e-12));
        }
    }
}

#[test]
fn jacobian_chooses_the_mode_with_fewer_passes_and_both_agree() {
    let x = [0.3, -0.4, 0.9];
    // 3 inputs, 4 outputs: forward. 3 inputs, 1 output: reverse.
    assert_eq!(
        func::jacobian(g34, &x).unwrap(),
        func::jacfwd(g34, &x).unwrap()
    );
    fn one<'t>(x: &[Scalar<'t, f64>]) -> Vec<Scalar<'t, f64>> {
        vec![f3(x)]
    }
    assert_eq!(
        func::jacobian(one, &x).unwrap(),
        func::jacrev(one, &x).unwrap()
    );
}

#[test]
fn a_workspace_reuses_its_tape_and_gives_the_same_results() {
    let mut ws = Workspace::<f64>::new();
    let x = [0.2, 0.7, -0.5];
    let first = ws.value_and_grad(f3, &x).unwrap();
    for _ in 0..5 {
        assert_eq!(ws.value_and_grad(f3, &x).unwrap(), first);
        assert_eq!(ws.hessian(f3, &x).unwrap(), func::hessian(f3, &x).unwrap());
        assert_eq!(ws.jvp(f3, &x, &[1.0, 0.0, 0.0]).unwrap().1, first.1[0]);
    }
}

#[test]
fn constant_functions_have_zero_derivatives() {
    let x = [1.0, 2.0];
    // (Functions, not closures in variables: a closure's signature is only inferred as
    // holding for every tape lifetime where it is passed straight to the transform.)
    fn c<'t>(_: &[Scalar<'t, f64>]) -> Scalar<'t, f64> {
        Scalar::constant(3.0)
    }
    assert_eq!(func::value_and_grad(c, &x).unwrap(), (3.0, vec![0.0, 0.0]));
    assert_eq!(func::jvp(c, &x, &[1.0, 1.0]).unwrap(), (3.0, 0.0));
    assert_eq!(func::hessian(c, &x).unwrap(), vec![vec![0.0; 2]; 2]);
    assert_eq!(func::hvp(c, &x, &[1.0, 1.0]).unwrap(), vec![0.0; 2]);
    fn v<'t>(_: &[Scalar<'t, f64>]) -> Vec<Scalar<'t, f64>> {
        vec![Scalar::constant(1.0)]
    }
    assert_eq!(func::jacfwd(v, &x).unwrap(), vec![vec![0.0; 2]]);
    assert_eq!(func::jacrev(v, &x).unwrap(), vec![vec![0.0; 2]]);
    // A linear function has a zero Hessian.
    assert_eq!(
        func::hessian(|x| x[0] * 2.0 + x[1], &x).unwrap(),
        vec![vec![0.0; 2]; 2]
    );
}

#[test]
fn bad_lengths_and_foreign_tapes_are_errors() {
    let err = func::jvp(f3, &[1.0, 2.0, 3.0], &[1.0])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("jvp: direction length differs"), "{err}");
    assert!(func::hvp(f3, &[1.0, 2.0, 3.0], &[1.0]).is_err());
    assert!(func::vjp(g34, &[1.0, 2.0, 3.0], &[1.0]).is_err());
    // Only a tape that lives forever can lend a handle to every recording.
    let other: &'static tape::Tape<f64> = Box::leak(Box::new(tape::Tape::new()));
    let y = other.var(1.0);
    let err = func::value_and_grad(|_| y, &[1.0]).unwrap_err().to_string();
    assert!(err.contains("another tape"), "{err}");
}

#[test]
fn tensor_forms_agree_with_the_slice_forms() {
    let x = [0.3, -0.4, 0.9];
    let xa = Array::from_vec(x.to_vec(), &[3]).unwrap();
    fn f_tensor<'t>(_: &'t tape::Tape<f64>, t: Tensor<'t, f64>) -> Scalar<'t, f64> {
        f3(&[t.get(&[0]), t.get(&[1]), t.get(&[2])])
    }
    let (v, g) = higher::value_and_grad(f_tensor, &xa).unwrap();
    let (v2, g2) = func::value_and_grad(f3, &x).unwrap();
    assert_eq!(v, v2);
    for (a, b) in g.data().iter().zip(&g2) {
        assert!(close(*a, *b, 1e-14));
    }
    fn g_tensor<'t>(_: &'t tape::Tape<f64>, t: Tensor<'t, f64>) -> Tensor<'t, f64> {
        Tensor::from_scalars(&g34(&[t.get(&[0]), t.get(&[1]), t.get(&[2])]), &[4])
    }
    let dir = Array::from_vec(vec![0.5, -1.0, 2.0], &[3]).unwrap();
    let (y, jv) = higher::jvp(g_tensor, &xa, &dir).unwrap();
    let (y2, jv2) = func::jvp_vec(g34, &x, dir.data()).unwrap();
    assert_eq!(y.data(), &y2[..]);
    for (a, b) in jv.data().iter().zip(&jv2) {
        assert!(close(*a, *b, 1e-12), "{a} vs {b}");
    }
    let j = higher::jacobian(g_tensor, &xa).unwrap();
    let j2 = func::jacobian(g34, &x).unwrap();
    for (a, b) in j.data().iter().zip(j2.concat()) {
        assert!(close(*a, b, 1e-12));
    }
}
