//! Forward mode, measured: the directional derivative `J·v` of a vector function by the tangent
//! pass over the recorded list (what `tape::func::jvp_vec` does) against the transpose of the
//! transpose (`J·v = ∇ᵤ⟨Jᵀu, v⟩`, two recorded reverse passes), each as a multiple of the
//! plain function's time, at several sizes. Prints `name value unit` lines; the median of
//! repeated calls.
//!
//! Run with `cargo run --release --example forward_mode`.

use std::hint::black_box;
use std::time::Instant;

use tapegrad::tape::func::Workspace;
use tapegrad::tape::num_traits::Float;
use tapegrad::tape::{Scalar, Tape};

/// A vector function of `n` inputs and `n` outputs: `yᵢ = xᵢ·sin(xᵢ₊₁) + exp(xᵢ)/2`.
fn chain<F: Float>(x: &[F]) -> Vec<F> {
    let half = F::from(0.5).unwrap();
    (0..x.len())
        .map(|i| x[i] * x[(i + 1) % x.len()].sin() + x[i].exp() * half)
        .collect()
}

/// `J·v` by two recorded reverse passes, with the public API: `g(u) = Jᵀu` recorded, then
/// differentiated along `v`.
fn transpose_of_transpose(x: &[f64], v: &[f64]) -> Vec<f64> {
    let tape = Tape::<f64>::new();
    let xs = tape.vars(x);
    let ys = chain(&xs);
    let us = tape.vars(&vec![0.0; ys.len()]);
    let s: Scalar<'_, f64> = us.iter().zip(&ys).map(|(&u, &y)| u * y).sum();
    let gg = s.backward_graph().expect("no custom functions");
    let d: Scalar<'_, f64> = xs.iter().zip(v).map(|(&x, &vi)| gg.wrt(x) * vi).sum();
    d.backward().wrt_all(&us)
}

/// Median seconds of `repeats` calls.
fn median_time(repeats: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[repeats / 2]
}

fn main() {
    let mut ws = Workspace::<f64>::new();
    for n in [10, 100, 1_000, 10_000] {
        let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
        // The two constructions agree (to rounding).
        let tangent = ws.jvp_vec(|p| chain(p), &x, &v).unwrap().1;
        let reverse = transpose_of_transpose(&x, &v);
        let err = tangent
            .iter()
            .zip(&reverse)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() / (1.0 + b.abs())));
        assert!(err < 1e-12, "the constructions differ by {err}");
        let repeats = (200_000 / n).clamp(15, 2_000);
        let plain = median_time(repeats, || {
            black_box(chain(black_box(&x)));
        });
        let tangent = median_time(repeats, || {
            black_box(ws.jvp_vec(|p| chain(p), &x, &v).unwrap());
        });
        let reverse = median_time(repeats, || {
            black_box(transpose_of_transpose(&x, &v));
        });
        let gradient_of_sum = median_time(repeats, || {
            black_box(
                ws.value_and_grad(|p| chain(p).into_iter().sum(), &x)
                    .unwrap(),
            );
        });
        println!("jvp_plain_n{n} {:.3} us", plain * 1e6);
        println!("jvp_tangent_n{n} {:.1} x", tangent / plain);
        println!("jvp_transpose_of_transpose_n{n} {:.1} x", reverse / plain);
        println!(
            "value_and_grad_of_sum_n{n} {:.1} x",
            gradient_of_sum / plain
        );
    }
}
