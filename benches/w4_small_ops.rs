//! W4, small-op overhead: one elementwise add of two 4-element `f32` tensors on the tape.
//! Each measured batch records 1000 adds on a tape cleared beforehand; criterion reports the
//! throughput in adds (elements) per second.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tapegrad::tape::Tape;

use common::{W4_ADDS, w4_adds, w4_inputs};

fn w4(c: &mut Criterion) {
    let mut tape = Tape::<f32>::new();
    let mut group = c.benchmark_group("w4_small_ops");
    group.throughput(Throughput::Elements(W4_ADDS as u64));
    group.bench_function("add4", |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                tape.clear();
                let (a, b) = w4_inputs(&tape);
                let start = Instant::now();
                let c = w4_adds(a, b, W4_ADDS);
                total += start.elapsed();
                black_box(c.index());
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, w4);
criterion_main!(benches);
