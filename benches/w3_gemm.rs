//! W3, GEMM: `f32` products 128×784 · 784×256 and 1024³ with `Array::matmul`, the kernel the
//! tape's `matmul` runs. Criterion reports the throughput in multiply-adds (elements) per
//! second; GFLOP/s is twice that. Threads: `TAPEGRAD_THREADS` (default: all cores).

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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
}

criterion_group!(benches, w3);
criterion_main!(benches);
