//! W3, GEMM: `f32` products 128×784 · 784×256 and 1024³ with `Array::matmul`, the kernel the
//! tape's `matmul` runs. Criterion reports the throughput in multiply-adds (elements) per
//! second; GFLOP/s is twice that. Threads: `TAPEGRAD_THREADS` (default: all cores).
//!
//! Beside W3, `w3_linear` times the product of a linear layer, `x·Wᵀ` with the weight stored
//! `[out, in]` (read transposed through strides), at W2's first layer and at width 1,024: the
//! layout `parallel::gemm` computes column-major when the output is wide.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tapegrad::tape::{Array, Tape};

use common::{W3_SHAPES, w3_operands};

fn w3(c: &mut Criterion) {
    let mut group = c.benchmark_group("w3_gemm");
    group.measurement_time(Duration::from_secs(5));
    for shape @ (m, k, n) in W3_SHAPES {
        let (a, b) = w3_operands(shape);
        group.throughput(Throughput::Elements((m * k * n) as u64));
        group.bench_function(format!("{m}x{k}x{n}"), |bench| {
            bench.iter(|| black_box(a.matmul(&b).expect("W3 shapes")));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("w3_linear");
    group.measurement_time(Duration::from_secs(5));
    for (batch, n_in, n_out) in [(128, 784, 256), (128, 1024, 1024)] {
        // Shared, so that putting them on the tape is a reference, not a copy (as a model's
        // parameters and a batch view are); the product is read in place.
        let x = Array::<f32>::rand_uniform(&[batch, n_in], 0.0, 1.0, 1).shared();
        let w = Array::<f32>::rand_uniform(&[n_out, n_in], -0.1, 0.1, 2).shared();
        let mut tape = Tape::<f32>::new();
        group.throughput(Throughput::Elements((batch * n_in * n_out) as u64));
        group.bench_function(format!("{batch}x{n_in}x{n_out}t"), |bench| {
            bench.iter(|| {
                tape.clear();
                let (xt, wt) = (tape.tensor(x.clone()), tape.tensor(w.clone()));
                black_box(xt.matmul_t(false, wt, true).with_value(|y| y.data()[0]))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, w3);
criterion_main!(benches);
