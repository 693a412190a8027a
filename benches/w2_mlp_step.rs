//! W2, one MLP training step: 784-256-128-10 with ReLU, softmax cross-entropy (mean), `f32`,
//! batch 128, plain SGD with learning rate 0.05, on random inputs and labels from a fixed
//! seed. One iteration is forward, backward and the update. Threads: `TAPEGRAD_THREADS`
//! (default: all cores).

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use common::{W2, W2_BATCH};

fn w2(c: &mut Criterion) {
    let mut w2 = W2::new(0);
    let mut group = c.benchmark_group("w2_mlp_step");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("step", |bench| {
        bench.iter(|| black_box(w2.step(W2_BATCH)));
    });
    group.finish();
}

criterion_group!(benches, w2);
criterion_main!(benches);
