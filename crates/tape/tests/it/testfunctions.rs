//! Functions of the published crate `argmin_testfunctions`, written generic over
//! `num_traits::Float`, differentiated unchanged: gradients and Hessians against the crate's
//! own hand-written `*_derivative` and `*_hessian` functions at random points, in `f64` to
//! 1e-12 relative and in `f32` to single precision.

use argmin_testfunctions as tf;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tape::func;

/// `|got − want| ≤ tol·max(1, max |want|)` element by element: relative to the array's scale,
/// so that entries which are exactly 0 in one formula are not divided by.
fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, w| m.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: {g} vs {w} (scale {scale})"
        );
    }
}

fn flatten<const N: usize>(h: [[f64; N]; N]) -> Vec<f64> {
    h.iter().flatten().copied().collect()
}

fn random_points(seed: u64, n: usize, count: usize, range: f64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| (0..n).map(|_| rng.random_range(-range..range)).collect())
        .collect()
}

#[test]
fn rosenbrock_in_several_dimensions() {
    for n in [2, 3, 5, 10] {
        for x in random_points(n as u64, n, 20, 2.0) {
            let (value, g) = func::value_and_grad(|p| tf::rosenbrock(p), &x).unwrap();
            assert_eq!(value, tf::rosenbrock(&x));
            assert_close("rosenbrock ∇", &g, &tf::rosenbrock_derivative(&x), 1e-12);
            let h = func::hessian(|p| tf::rosenbrock(p), &x).unwrap();
            let want: Vec<f64> = tf::rosenbrock_hessian(&x).into_iter().flatten().collect();
            assert_close("rosenbrock ∇²", &h.concat(), &want, 1e-12);
        }
    }
}

#[test]
fn n_dimensional_functions_with_transcendental_ops() {
    for x in random_points(7, 4, 20, 3.0) {
        let g = func::grad(|p| tf::ackley(p), &x).unwrap();
        assert_close("ackley ∇", &g, &tf::ackley_derivative(&x), 1e-12);
        let h = func::hessian(|p| tf::ackley(p), &x).unwrap();
        let want: Vec<f64> = tf::ackley_hessian(&x).into_iter().flatten().collect();
        assert_close("ackley ∇²", &h.concat(), &want, 1e-12);

        let g = func::grad(|p| tf::rastrigin(p), &x).unwrap();
        assert_close("rastrigin ∇", &g, &tf::rastrigin_derivative(&x), 1e-12);
        let h = func::hessian(|p| tf::rastrigin(p), &x).unwrap();
        let want: Vec<f64> = tf::rastrigin_hessian(&x).into_iter().flatten().collect();
        assert_close("rastrigin ∇²", &h.concat(), &want, 1e-12);

        let g = func::grad(|p| tf::levy(p), &x).unwrap();
        assert_close("levy ∇", &g, &tf::levy_derivative(&x), 1e-12);
        let h = func::hessian(|p| tf::levy(p), &x).unwrap();
        let want: Vec<f64> = tf::levy_hessian(&x).into_iter().flatten().collect();
        assert_close("levy ∇²", &h.concat(), &want, 1e-12);
    }
}

/// Checks a two-dimensional function of the crate (`f(&[T; 2])`) against its `f_derivative`
/// and `f_hessian` at random points.
macro_rules! check_2d {
    ($seed:expr, $f:ident, $df:ident, $hf:ident) => {
        for x in random_points($seed, 2, 20, 2.0) {
            let x2 = [x[0], x[1]];
            let (value, g) = func::value_and_grad(|p| tf::$f(&[p[0], p[1]]), &x).unwrap();
            let h = func::hessian(|p| tf::$f(&[p[0], p[1]]), &x).unwrap();
            let what = stringify!($f);
            assert_eq!(value, tf::$f(&x2), "{what}");
            assert_close(&format!("{what} ∇"), &g, &tf::$df(&x2), 1e-12);
            assert_close(
                &format!("{what} ∇²"),
                &h.concat(),
                &flatten(tf::$hf(&x2)),
                1e-12,
            );
        }
    };
}

#[test]
fn two_dimensional_functions() {
    check_2d!(1, beale, beale_derivative, beale_hessian);
    check_2d!(2, himmelblau, himmelblau_derivative, himmelblau_hessian);
    check_2d!(
        3,
        goldsteinprice,
        goldsteinprice_derivative,
        goldsteinprice_hessian
    );
    check_2d!(4, booth, booth_derivative, booth_hessian);
    check_2d!(5, matyas, matyas_derivative, matyas_hessian);
    check_2d!(6, mccormick, mccormick_derivative, mccormick_hessian);
    check_2d!(
        7,
        threehumpcamel,
        threehumpcamel_derivative,
        threehumpcamel_hessian
    );
    check_2d!(8, easom, easom_derivative, easom_hessian);
}

#[test]
fn single_precision() {
    let x: Vec<f32> = vec![0.3, -0.7, 1.1, 0.4];
    let g = func::grad(|p| tf::rosenbrock(p), &x).unwrap();
    let want = tf::rosenbrock_derivative(&x);
    let scale = want.iter().fold(1.0f32, |m, w| m.max(w.abs()));
    for (a, b) in g.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-5 * scale, "{a} vs {b}");
    }
    let h = func::hessian(|p| tf::ackley(p), &x).unwrap();
    let want = tf::ackley_hessian(&x);
    for (row, want) in h.iter().zip(&want) {
        for (a, b) in row.iter().zip(want) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
    let (v, g) = func::value_and_grad(|p| tf::himmelblau(&[p[0], p[1]]), &[1.5f32, -0.5]).unwrap();
    assert_eq!(v, tf::himmelblau(&[1.5f32, -0.5]));
    let want = tf::himmelblau_derivative(&[1.5f32, -0.5]);
    assert!((g[0] - want[0]).abs() <= 1e-4 && (g[1] - want[1]).abs() <= 1e-4);
}
