//! The cheap-gradient principle on N-D Rosenbrock, N = 10, 10³ and 10⁵: the plain `f64`
//! function, and value and gradient by the scalar tape (`func::value_and_grad` with a reused
//! `Workspace`, and on a fresh tape), by the crate's hand-written derivative, by central
//! differences, and by the tensor formulation (`higher::value_and_grad`), with squares as
//! `powi(2)` and as products, and as one fused node (`fused::map2_sum`). One group per N;
//! criterion reports the throughput in gradient coordinates (elements) per second, so the ways
//! compare within a group and N across groups.
//!
//! Central differences cost 2N evaluations; from N = 10³ they are timed on the first 100
//! coordinates (`finite_differences_100`), whose throughput is that of the whole gradient.
//! The ratios to the plain function, from one interleaved run, come from
//! `cargo run --release --example workloads -- cheap`. Threads (for the tensor kernels from
//! 2¹⁵ elements): `TAPEGRAD_THREADS` (default: all cores).

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use tapegrad::tape::Array;
use tapegrad::tape::func::Workspace;

use common::rosenbrock::{
    ROSENBROCK_SIZES, check_all, finite_differences, hand_written, plain, rosenbrock_point,
    tape_fresh, tape_workspace, tensor, tensor_fused, tensor_products,
};

/// Central differences on at most this many coordinates (at N = 10⁵, 20 ms a call).
const FD_COORDS: usize = 100;

fn group<'c>(c: &'c mut Criterion, n: usize) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(format!("rosenbrock_n{n}"));
    if n >= 100_000 {
        // Milliseconds a call: few samples, as for W1.
        group.sample_size(10);
    } else {
        group.measurement_time(Duration::from_secs(3));
    }
    group
}

fn cheap_gradient(c: &mut Criterion) {
    for n in ROSENBROCK_SIZES {
        let x = rosenbrock_point(n);
        check_all(&x, n.min(100));
        let array = Array::from_vec(x.clone(), &[n]).expect("a vector");
        let mut ws = Workspace::<f64>::new();

        let mut group = group(c, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("plain", |b| b.iter(|| plain(black_box(&x))));
        group.bench_function("tape_workspace", |b| {
            b.iter(|| tape_workspace(&mut ws, black_box(&x)));
        });
        group.bench_function("tape_fresh", |b| b.iter(|| tape_fresh(black_box(&x))));
        group.bench_function("hand_written", |b| b.iter(|| hand_written(black_box(&x))));
        group.bench_function("tensor", |b| b.iter(|| tensor(black_box(&array))));
        group.bench_function("tensor_products", |b| {
            b.iter(|| tensor_products(black_box(&array)));
        });
        group.bench_function("tensor_fused", |b| {
            b.iter(|| tensor_fused(black_box(&array)));
        });

        let coords = n.min(FD_COORDS);
        let mut fd_x = x.clone();
        group.throughput(Throughput::Elements(coords as u64));
        let name = if coords == n {
            "finite_differences".to_string()
        } else {
            format!("finite_differences_{coords}")
        };
        group.bench_function(name, |b| {
            b.iter(|| finite_differences(black_box(&mut fd_x), 0..coords));
        });
        group.finish();
    }
}

criterion_group!(benches, cheap_gradient);
criterion_main!(benches);
