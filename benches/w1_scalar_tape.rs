//! W1, the scalar tape: recording 1,000,000 scalar ops, and the backward pass over them,
//! measured separately. Criterion reports the throughput in ops (elements) per second.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tapegrad::tape::Tape;

use common::{W1_INPUTS, W1_OPS, w1_inputs, w1_record, w1_value};

fn w1(c: &mut Criterion) {
    let mut tape = Tape::<f64>::with_capacity(W1_OPS + W1_INPUTS + 1);
    {
        let x = w1_inputs(&tape);
        let acc = w1_record(&tape, &x, W1_OPS);
        assert_eq!(acc.value(), w1_value(W1_OPS), "W1 records the wrong value");
    }

    let mut group = c.benchmark_group("w1_scalar_tape");
    group.throughput(Throughput::Elements(W1_OPS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));

    // Record on a cleared tape whose capacity is reused; the inputs are created before the
    // clock starts, as in the PyTorch script.
    group.bench_function("record", |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                tape.clear();
                let x = w1_inputs(&tape);
                let start = Instant::now();
                let acc = w1_record(&tape, &x, W1_OPS);
                total += start.elapsed();
                black_box(acc.value());
            }
            total
        });
    });

    // Backward from `acc` on one recorded tape, including dropping the gradients.
    tape.clear();
    let x = w1_inputs(&tape);
    let acc = w1_record(&tape, &x, W1_OPS);
    group.bench_function("backward", |bench| {
        bench.iter(|| {
            let g = acc.backward();
            black_box(g.wrt(x[1]));
        });
    });
    group.finish();
}

criterion_group!(benches, w1);
criterion_main!(benches);
