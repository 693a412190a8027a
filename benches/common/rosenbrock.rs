//! The cheap-gradient principle on N-D Rosenbrock: the value and gradient of
//! `f(x) = Σᵢ (1 − xᵢ)² + 100 (xᵢ₊₁ − xᵢ²)²` by every way tapegrad offers, each to be divided
//! by the time of the plain `f64` function. Reverse mode promises the gradient for a small
//! constant times the function's cost, whatever N; central differences cost 2N evaluations.
//!
//! Every way is a function that is never inlined, so that each is timed as one call of
//! compiled code, the plain function too. The function itself is `argmin_testfunctions`'
//! `rosenbrock`, written generic over `num_traits::Float` and differentiated unchanged.

use argmin_testfunctions as tf;
use tapegrad::tape::func::{self, Workspace};
use tapegrad::tape::{Array, Scalar, Tape, Tensor, fused, higher};

/// The sizes of the point.
pub const ROSENBROCK_SIZES: [usize; 3] = [10, 1_000, 100_000];

/// The point: `n` values uniform in [−2, 2) from a fixed seed.
pub fn rosenbrock_point(n: usize) -> Vec<f64> {
    Array::<f64>::rand_uniform(&[n], -2.0, 2.0, 5)
        .data()
        .to_vec()
}

/// The plain function on `f64`: what the gradients are measured against.
#[inline(never)]
pub fn plain(x: &[f64]) -> f64 {
    tf::rosenbrock(x)
}

/// Value and gradient by the scalar tape, recording on a workspace's tape whose capacity is
/// reused from call to call (an optimiser's loop).
#[inline(never)]
pub fn tape_workspace(ws: &mut Workspace<f64>, x: &[f64]) -> (f64, Vec<f64>) {
    ws.value_and_grad(|x| tf::rosenbrock(x), x)
        .expect("Rosenbrock's gradient")
}

/// Value and gradient by the scalar tape, on a fresh tape (grown from empty) per call.
#[inline(never)]
pub fn tape_fresh(x: &[f64]) -> (f64, Vec<f64>) {
    func::value_and_grad(|x| tf::rosenbrock(x), x).expect("Rosenbrock's gradient")
}

/// Value and gradient by the crate's hand-written derivative, plus the function.
#[inline(never)]
pub fn hand_written(x: &[f64]) -> (f64, Vec<f64>) {
    (tf::rosenbrock(x), tf::rosenbrock_derivative(x))
}

/// Central differences for the coordinates `coords` of the gradient (the others stay 0): two
/// evaluations of [`plain`] per coordinate, with the step `ε^(1/3)·max(1, |xᵢ|)` that balances
/// truncation against rounding. `x` is changed and restored one coordinate at a time.
#[inline(never)]
pub fn finite_differences(x: &mut [f64], coords: std::ops::Range<usize>) -> Vec<f64> {
    let mut grad = vec![0.0; x.len()];
    let eps = f64::EPSILON.cbrt();
    for i in coords {
        let xi = x[i];
        let h = eps * xi.abs().max(1.0);
        x[i] = xi + h;
        let up = plain(x);
        x[i] = xi - h;
        let down = plain(x);
        x[i] = xi;
        grad[i] = (up - down) / (2.0 * h);
    }
    grad
}

/// Rosenbrock with tensor ops, one node per op over the whole vector: the two overlapping
/// slices, elementwise ops and a sum.
pub fn tensor_rosenbrock<'t>(x: Tensor<'t, f64>) -> Scalar<'t, f64> {
    let n = x.len();
    let (head, tail) = (x.slice(0, 0, n - 1), x.slice(0, 1, n));
    ((1.0 - head).powi(2) + (tail - head.powi(2)).powi(2) * 100.0).sum()
}

/// [`tensor_rosenbrock`] with each square written as a product `u·u`, which the elementwise
/// kernels vectorise (`powi` takes its exponent at run time).
pub fn tensor_rosenbrock_products<'t>(x: Tensor<'t, f64>) -> Scalar<'t, f64> {
    let n = x.len();
    let (head, tail) = (x.slice(0, 0, n - 1), x.slice(0, 1, n));
    let (u, v) = (1.0 - head, tail - head * head);
    (u * u + v * v * 100.0).sum()
}

/// Rosenbrock as one fused node: the two overlapping slices, and the per-element formula
/// summed in the same pass ([`fused::map2_sum`]), its partials from dual numbers.
pub fn fused_rosenbrock<'t>(x: Tensor<'t, f64>) -> Scalar<'t, f64> {
    let n = x.len();
    let (head, tail) = (x.slice(0, 0, n - 1), x.slice(0, 1, n));
    fused::map2_sum(head, tail, |a, b| {
        let (u, v) = (1.0 - a, b - a * a);
        u * u + v * v * 100.0
    })
    .expect("slices of one length")
}

/// Value and gradient of [`fused_rosenbrock`] by `higher::value_and_grad`.
#[inline(never)]
pub fn tensor_fused(x: &Array<f64>) -> (f64, Array<f64>) {
    higher::value_and_grad(|_: &Tape<f64>, x| fused_rosenbrock(x), x)
        .expect("Rosenbrock's gradient")
}

/// Value and gradient of [`tensor_rosenbrock`] by `higher::value_and_grad` (a fresh tape per
/// call; the point is copied onto it, as it is not a shared array).
#[inline(never)]
pub fn tensor(x: &Array<f64>) -> (f64, Array<f64>) {
    higher::value_and_grad(|_: &Tape<f64>, x| tensor_rosenbrock(x), x)
        .expect("Rosenbrock's gradient")
}

/// As [`tensor`], for [`tensor_rosenbrock_products`].
#[inline(never)]
pub fn tensor_products(x: &Array<f64>) -> (f64, Array<f64>) {
    higher::value_and_grad(|_: &Tape<f64>, x| tensor_rosenbrock_products(x), x)
        .expect("Rosenbrock's gradient")
}

/// Checks every way against the hand-written gradient at `x` (to 1e-12 relative to the
/// gradient's largest entry; central differences on the first `fd_coords` coordinates, to
/// 1e-4 of it, as their rounding error grows with `|f|`). Panics naming the way that
/// disagrees.
pub fn check_all(x: &[f64], fd_coords: usize) {
    let (value, want) = hand_written(x);
    let scale = want.iter().fold(1.0f64, |m, g| m.max(g.abs()));
    let close = |what: &str, v: f64, g: &[f64], tol: f64| {
        assert!(
            (v - value).abs() <= 1e-12 * value.abs().max(1.0),
            "{what}: value {v} against {value}"
        );
        for (i, (a, b)) in g.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= tol * scale, "{what}: ∂{i} {a} against {b}");
        }
    };
    assert_eq!(plain(x), value, "plain");
    let (v, g) = tape_workspace(&mut Workspace::new(), x);
    close("tape_workspace", v, &g, 1e-12);
    let (v, g) = tape_fresh(x);
    close("tape_fresh", v, &g, 1e-12);
    let array = Array::from_vec(x.to_vec(), &[x.len()]).expect("a vector");
    let (v, g) = tensor(&array);
    close("tensor", v, g.data(), 1e-12);
    let (v, g) = tensor_products(&array);
    close("tensor_products", v, g.data(), 1e-12);
    let (v, g) = tensor_fused(&array);
    close("tensor_fused", v, g.data(), 1e-12);
    let g = finite_differences(&mut x.to_vec(), 0..fd_coords);
    close("finite_differences", value, &g[..fd_coords], 1e-4);
}
