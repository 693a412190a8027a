//! Times the performance workloads of DESIGN.md and prints one line per figure, in the same
//! format as the PyTorch comparison script, so the two outputs can be set side by side:
//!
//! ```text
//! W1_record 9.8 ns/op
//! W1_backward 5.4 ns/op
//! W1_total 15.2 ns/op
//! W1_memory 32.0 B/op
//! W2_step 2.345 ms
//! W2_epoch 1.234 s
//! W2_gflops 45.6 GFLOP/s
//! W3_gemm_128x784x256 80.1 GFLOP/s
//! W3_gemm_1024x1024x1024 75.0 GFLOP/s
//! W4_add4 101 ns/op
//! tapegrad threads 1
//! ```
//!
//! `W1_memory` (Linux only) has no PyTorch counterpart: it is the growth of resident memory
//! per op while W1 is recorded, which checks the 32 bytes per `f64` scalar node. `W2mem`
//! (Linux only, run only when named) trains W2 for four epochs and prints the peak resident
//! memory after each; `scale` (also only when named) runs W1 and W2 at other sizes.
//!
//! `mnist` (also only when named) trains W2's model on the real MNIST training set and prints
//! the median time of one epoch — a new shuffled order, 469 batches of 128 gathered by the
//! `train` crate, forward, backward and update — over 5 epochs after a warm-up epoch, and the
//! mean training loss of the last epoch (`MNIST_epoch 1.234 s`, `MNIST_loss 0.123 -`), to set
//! beside `benches/pytorch_mnist_epoch.py`. Reading the files is not timed. The data comes from
//! `--mnist DIR`, else the `TAPEGRAD_MNIST_DIR` environment variable, else
//! `../shared/data/mnist`. `mnist-adam` (only when named) is the command-line program's
//! default run instead: the same model trained by `train`'s `Trainer` (with its checks and
//! its record of the last good parameters) with Adam at lr 0.001 on batches of 32; it prints
//! the median of 3 epochs after a warm-up epoch (`MNIST_adam32_epoch 1.234 s`), to set beside
//! `benches/pytorch_mnist_epoch.py THREADS DIR adam32`.
//!
//! `cheap` (only when named) measures the cheap-gradient principle on N-D Rosenbrock for N =
//! 10, 10³ and 10⁵: the plain `f64` function's time (`rosenbrock_N1000_plain 1234.5 ns`) and,
//! for each way of getting value and gradient, its time and its ratio to the plain function's
//! (`rosenbrock_N1000_tape_workspace_ratio 25.1 x`): the scalar tape through
//! `func::value_and_grad` with a reused `Workspace` and on a fresh tape, the crate's
//! hand-written derivative plus the function, central differences (2N evaluations; at N =
//! 10⁵ the first 1,000 coordinates, scaled by N / 1,000) and the tensor formulation through
//! `higher::value_and_grad`, with squares as `powi(2)` (`tensor`) and as products
//! (`tensor_products`) and as one fused node (`tensor_fused`, `fused::map2_sum`). The ways are
//! timed in turn within each of 11 rounds, each round
//! starting with the next way; a ratio is the median of the rounds' ratios.
//!
//! `workers` (only when named) runs W2's model through `Trainer::fit` with `--workers W`
//! data-parallel workers: the time per step on W2's random data (`W2_trainer_step`) and per
//! epoch of MNIST (`MNIST_trainer_epoch`), to set data parallelism beside split products.
//!
//! Run with `cargo run --release --example workloads -- [--threads N] [--workers W]
//! [--mnist DIR] [W1 W2 ...]`; with no workload named every workload except `W2mem`,
//! `scale`, `mnist`, `mnist-adam`, `cheap` and `workers` runs. The thread count (for large matrix products) comes from `--threads`, else from the
//! `TAPEGRAD_THREADS` environment variable, else all cores. Each figure is the median over
//! repeated runs, after warm-up runs, as in the PyTorch scripts.

#[path = "../benches/common/mod.rs"]
mod common;

use std::borrow::Cow;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use tapegrad::tape::Tape;

use common::{
    MnistEpoch, W1_INPUTS, W1_OPS, W2, W2_BATCH, W2_EPOCH_STEPS, W2_FLOPS, W3_SHAPES, W4_ADDS,
    apply_thread_count, mnist_train_set, w1_inputs, w1_record, w1_value, w3_operands, w4_adds,
    w4_inputs,
};

/// One printed figure: name, value, unit, and how many decimals to print.
struct Figure {
    name: Cow<'static, str>,
    value: f64,
    unit: &'static str,
    decimals: usize,
}

/// A workload: its name, as accepted on the command line, and the function measuring it.
type Workload = (&'static str, fn() -> Vec<Figure>);

const WORKLOADS: &[Workload] = &[
    ("W1", w1),
    ("W2", w2),
    ("W3", w3),
    ("W4", w4),
    ("W2mem", w2_memory),
    ("scale", scaling),
    ("mnist", mnist_epoch),
    ("mnist-adam", mnist_adam_epoch),
    ("cheap", cheap_gradient),
    ("workers", data_parallel),
];

/// Workloads run only when named.
const ON_REQUEST: [&str; 6] = ["W2mem", "scale", "mnist", "mnist-adam", "cheap", "workers"];

/// The number of data-parallel workers asked for by `--workers W` (removed from `args`),
/// else 1.
static WORKERS: OnceLock<usize> = OnceLock::new();

fn workers_arg(args: &mut Vec<String>) -> usize {
    let Some(i) = args.iter().position(|a| a == "--workers") else {
        return 1;
    };
    let Some(w) = args
        .get(i + 1)
        .and_then(|w| w.parse::<usize>().ok())
        .filter(|&w| w > 0)
    else {
        eprintln!("--workers needs a count of at least 1");
        std::process::exit(2);
    };
    args.drain(i..i + 2);
    w
}

/// The MNIST directory, chosen in `main`.
static MNIST_DIR: OnceLock<PathBuf> = OnceLock::new();

/// The MNIST directory asked for by `--mnist DIR` (removed from `args`), else the
/// `TAPEGRAD_MNIST_DIR` environment variable, else `../shared/data/mnist`.
fn mnist_dir(args: &mut Vec<String>) -> PathBuf {
    if let Some(i) = args.iter().position(|a| a == "--mnist") {
        let Some(dir) = args.get(i + 1).cloned() else {
            eprintln!("--mnist needs a directory");
            std::process::exit(2);
        };
        args.drain(i..i + 2);
        return PathBuf::from(dir);
    }
    std::env::var_os("TAPEGRAD_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data/mnist"))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Resident memory of this process in bytes, from `/proc/self/status` (Linux only).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory per recorded op: the growth of resident memory while W1 is recorded on a fresh
/// tape whose capacity was reserved up front (pages count once they are written).
fn w1_memory() -> Option<Figure> {
    let before = resident_bytes()?;
    let tape = Tape::<f64>::with_capacity(W1_OPS + W1_INPUTS + 1);
    let x = w1_inputs(&tape);
    let acc = w1_record(&tape, &x, W1_OPS);
    black_box(acc.value());
    let after = resident_bytes()?;
    Some(Figure {
        name: "W1_memory".into(),
        value: after.saturating_sub(before) as f64 / W1_OPS as f64,
        unit: "B/op",
        decimals: 1,
    })
}

/// W1: record 1,000,000 scalar ops on a cleared tape (capacity reused), then backward.
fn w1() -> Vec<Figure> {
    let memory = w1_memory();
    const WARM_UP: usize = 2;
    const REPEATS: usize = 15;
    let mut tape = Tape::<f64>::with_capacity(W1_OPS + W1_INPUTS + 1);
    let (mut record, mut backward, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..WARM_UP + REPEATS {
        tape.clear();
        let x = w1_inputs(&tape);
        let t0 = Instant::now();
        let acc = w1_record(&tape, &x, W1_OPS);
        let t1 = Instant::now();
        let grads = acc.backward();
        black_box(grads.wrt(x[1]));
        drop(grads);
        let t2 = Instant::now();
        if run == 0 {
            assert_eq!(acc.value(), w1_value(W1_OPS), "W1 recorded the wrong value");
        }
        if run >= WARM_UP {
            let per_op = |d: std::time::Duration| d.as_secs_f64() * 1e9 / W1_OPS as f64;
            record.push(per_op(t1 - t0));
            backward.push(per_op(t2 - t1));
            total.push(per_op(t2 - t0));
        }
    }
    let figure = |name: &'static str, xs| Figure {
        name: name.into(),
        value: median(xs),
        unit: "ns/op",
        decimals: 1,
    };
    let mut figures = vec![
        figure("W1_record", record),
        figure("W1_backward", backward),
        figure("W1_total", total),
    ];
    figures.extend(memory);
    figures
}

/// Median of `reps` timings of `f` in seconds, after `warm` untimed calls.
fn median_time(mut f: impl FnMut(), reps: usize, warm: usize) -> f64 {
    for _ in 0..warm {
        f();
    }
    let times = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    median(times)
}

/// W2: an MLP training step (median of 300 after 20 warm-up steps), then one epoch of 469
/// steps, as the PyTorch script times them.
fn w2() -> Vec<Figure> {
    let mut w2 = W2::new(0);
    let step = median_time(|| _ = black_box(w2.step(W2_BATCH)), 300, 20);
    let t0 = Instant::now();
    for _ in 0..W2_EPOCH_STEPS {
        black_box(w2.step(W2_BATCH));
    }
    let epoch = t0.elapsed().as_secs_f64();
    vec![
        Figure {
            name: "W2_step".into(),
            value: step * 1e3,
            unit: "ms",
            decimals: 3,
        },
        Figure {
            name: "W2_epoch".into(),
            value: epoch,
            unit: "s",
            decimals: 3,
        },
        Figure {
            name: "W2_gflops".into(),
            value: W2_FLOPS as f64 / step / 1e9,
            unit: "GFLOP/s",
            decimals: 1,
        },
    ]
}

/// Scaling runs (only when named): W1 record + backward per op for N = 10⁴ … 10⁷, and the W2
/// step for batches 32 … 1,024 (hidden widths 256-128) and hidden widths 64 … 2,048 (two
/// hidden layers of that width, batch 128). Names carry the parameter: `W1_total_N100000`,
/// `W2_step_batch512`, `W2_step_width1024`.
fn scaling() -> Vec<Figure> {
    let mut figures = Vec::new();
    for (n, label) in [
        (10_000, "W1_total_N10000"),
        (100_000, "W1_total_N100000"),
        (1_000_000, "W1_total_N1000000"),
        (10_000_000, "W1_total_N10000000"),
    ] {
        let mut tape = Tape::<f64>::with_capacity(n + W1_INPUTS + 1);
        let reps = (10_000_000 / n).clamp(3, 101);
        let mut total = Vec::new();
        for _ in 0..reps + 2 {
            tape.clear();
            let x = w1_inputs(&tape);
            let t0 = Instant::now();
            let acc = w1_record(&tape, &x, n);
            let grads = acc.backward();
            black_box(grads.wrt(x[1]));
            drop(grads);
            total.push(t0.elapsed().as_secs_f64() * 1e9 / n as f64);
        }
        total.drain(..2);
        figures.push(Figure {
            name: label.into(),
            value: median(total),
            unit: "ns/op",
            decimals: 1,
        });
    }
    let step = |sizes: &[usize], batch: usize| {
        let mut w2 = W2::with_shape(sizes, 8 * batch.max(128), 0);
        median_time(|| _ = black_box(w2.step(batch)), 30, 5) * 1e3
    };
    for (batch, label) in [
        (32, "W2_step_batch32"),
        (128, "W2_step_batch128"),
        (512, "W2_step_batch512"),
        (1024, "W2_step_batch1024"),
    ] {
        figures.push(Figure {
            name: label.into(),
            value: step(&[784, 256, 128, 10], batch),
            unit: "ms",
            decimals: 3,
        });
    }
    for (width, label) in [
        (64, "W2_step_width64"),
        (256, "W2_step_width256"),
        (1024, "W2_step_width1024"),
        (2048, "W2_step_width2048"),
    ] {
        figures.push(Figure {
            name: label.into(),
            value: step(&[784, width, width, 10], W2_BATCH),
            unit: "ms",
            decimals: 3,
        });
    }
    figures
}

/// Peak resident memory of this process so far, in bytes (`VmHWM`, Linux only).
fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// W2 over four epochs: the peak resident memory after each (it should stay flat from the
/// second epoch on), in MiB. The 60,000 × 784 inputs alone are 179 MiB.
fn w2_memory() -> Vec<Figure> {
    const NAMES: [&str; 4] = [
        "W2_peak_rss_epoch1",
        "W2_peak_rss_epoch2",
        "W2_peak_rss_epoch3",
        "W2_peak_rss_epoch4",
    ];
    let mut w2 = W2::new(0);
    NAMES
        .iter()
        .filter_map(|&name| {
            for _ in 0..W2_EPOCH_STEPS {
                black_box(w2.step(W2_BATCH));
            }
            Some(Figure {
                name: name.into(),
                value: peak_resident_bytes()? as f64 / (1 << 20) as f64,
                unit: "MiB",
                decimals: 1,
            })
        })
        .collect()
}

/// MNIST: one training epoch on the real data, median of 5 after a warm-up epoch, and the
/// mean loss of the last epoch. Exits with status 1 if the files cannot be read.
fn mnist_epoch() -> Vec<Figure> {
    const WARM_UP: usize = 1;
    const REPEATS: usize = 5;
    let dir = MNIST_DIR.get().expect("the MNIST directory is set in main");
    let data = mnist_train_set(dir).unwrap_or_else(|e| {
        eprintln!(
            "mnist: cannot read the MNIST training set: {e}\n\
             (give the directory of the IDX files with --mnist DIR or TAPEGRAD_MNIST_DIR)"
        );
        std::process::exit(1);
    });
    let mut run = MnistEpoch::new(data);
    let mut loss = f32::NAN;
    let mut times = Vec::new();
    for epoch in 0..WARM_UP + REPEATS {
        let t0 = Instant::now();
        loss = black_box(run.run(usize::MAX));
        if epoch >= WARM_UP {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    vec![
        Figure {
            name: "MNIST_epoch".into(),
            value: median(times),
            unit: "s",
            decimals: 3,
        },
        Figure {
            name: "MNIST_loss".into(),
            value: f64::from(loss),
            unit: "-",
            decimals: 3,
        },
    ]
}

/// MNIST as the command-line program trains by default: `Trainer::fit` with Adam (lr 0.001)
/// on batches of 32, one epoch at a time; the median of 3 epochs after a warm-up epoch.
fn mnist_adam_epoch() -> Vec<Figure> {
    use tapegrad::nn::{Activation, Mlp};
    use tapegrad::train::optim::{Adam, AdamConfig};
    use tapegrad::train::trainer::{Control, TrainConfig, Trainer};
    const WARM_UP: usize = 1;
    const REPEATS: usize = 3;
    let dir = MNIST_DIR.get().expect("the MNIST directory is set in main");
    let data = mnist_train_set(dir).unwrap_or_else(|e| {
        eprintln!("mnist-adam: cannot read the MNIST training set: {e}");
        std::process::exit(1);
    });
    let mut mlp = Mlp::<f32>::new(&common::W2_SIZES, Activation::Relu, common::MNIST_SEED)
        .expect("MNIST layer sizes");
    let mut adam = Adam::new(AdamConfig::default()).expect("Adam's defaults");
    let trainer = Trainer::new(TrainConfig {
        epochs: 1,
        batch_size: 32,
        seed: common::MNIST_SEED,
        ..TrainConfig::default()
    })
    .expect("a valid configuration");
    let mut times = Vec::new();
    for epoch in 0..WARM_UP + REPEATS {
        let t0 = Instant::now();
        let history = trainer
            .fit(&mut mlp, &mut adam, &data, None, |_| Control::Continue)
            .expect("MNIST training");
        black_box(history);
        if epoch >= WARM_UP {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    vec![Figure {
        name: "MNIST_adam32_epoch".into(),
        value: median(times),
        unit: "s",
        decimals: 3,
    }]
}

/// Data parallelism (only when named): W2's model and step (784-256-128-10 ReLU, batches of
/// 128, SGD at lr 0.05) run by `Trainer::fit` with `--workers W`, on random inputs in
/// [0, 1) with fixed labels, as W2's (`W2_trainer_step`: the median over 5 epochs of 60 steps, after a
/// warm-up epoch, of the time per step) and on the MNIST training set (`MNIST_trainer_epoch`:
/// the median of 3 epochs after a warm-up epoch).
fn data_parallel() -> Vec<Figure> {
    use tapegrad::nn::{Activation, Mlp};
    use tapegrad::tape::Array;
    use tapegrad::train::data::Dataset;
    use tapegrad::train::optim::{Sgd, SgdConfig};
    use tapegrad::train::trainer::{Control, TrainConfig, Trainer};
    let workers = *WORKERS.get().expect("the worker count is set in main");
    let time_epochs = |data: &Dataset<f32>, warm_up: usize, repeats: usize| -> Vec<f64> {
        let mut mlp = Mlp::<f32>::new(&common::W2_SIZES, Activation::Relu, common::MNIST_SEED)
            .expect("W2 layer sizes");
        let mut sgd = Sgd::new(SgdConfig {
            lr: f64::from(common::W2_LR),
            ..SgdConfig::default()
        })
        .expect("a valid learning rate");
        let trainer = Trainer::new(TrainConfig {
            epochs: 1,
            batch_size: W2_BATCH,
            seed: common::MNIST_SEED,
            workers,
            ..TrainConfig::default()
        })
        .expect("a valid configuration");
        let mut times = Vec::new();
        for epoch in 0..warm_up + repeats {
            let t0 = Instant::now();
            let history = trainer
                .fit(&mut mlp, &mut sgd, data, None, |_| Control::Continue)
                .expect("training");
            black_box(history);
            if epoch >= warm_up {
                times.push(t0.elapsed().as_secs_f64());
            }
        }
        times
    };
    const STEPS: usize = 60;
    let n = STEPS * W2_BATCH;
    let x = Array::<f32>::rand_uniform(&[n, common::W2_SIZES[0]], 0.0, 1.0, 1);
    let labels: Vec<usize> = (0..n).map(|i| (i * 7 + i / 13) % 10).collect();
    let random = Dataset::classification(x, labels, 10).expect("random W2 data");
    let step = median(time_epochs(&random, 1, 5)) / STEPS as f64;
    let dir = MNIST_DIR.get().expect("the MNIST directory is set in main");
    let mnist = mnist_train_set(dir).unwrap_or_else(|e| {
        eprintln!("workers: cannot read the MNIST training set: {e}");
        std::process::exit(1);
    });
    let epoch = median(time_epochs(&mnist, 1, 3));
    vec![
        Figure {
            name: "W2_trainer_step".into(),
            value: step * 1e3,
            unit: "ms",
            decimals: 3,
        },
        Figure {
            name: "MNIST_trainer_epoch".into(),
            value: epoch,
            unit: "s",
            decimals: 3,
        },
    ]
}

/// W3: `f32` GEMM 128×784·784×256 (median of 50) and 1024³ (median of 15).
fn w3() -> Vec<Figure> {
    W3_SHAPES
        .iter()
        .map(|&shape| {
            let (m, k, n) = shape;
            let (a, b) = w3_operands(shape);
            let reps = if m < 1024 { 50 } else { 15 };
            let t = median_time(|| _ = black_box(a.matmul(&b)), reps, 3);
            Figure {
                name: match m {
                    128 => "W3_gemm_128x784x256",
                    _ => "W3_gemm_1024x1024x1024",
                }
                .into(),
                value: 2.0 * (m * k * n) as f64 / t / 1e9,
                unit: "GFLOP/s",
                decimals: 1,
            }
        })
        .collect()
}

/// W4: 1000 adds of two 4-element f32 tensors on a tape cleared before each batch.
fn w4() -> Vec<Figure> {
    const WARM_UP: usize = 20;
    const REPEATS: usize = 200;
    let mut tape = Tape::<f32>::new();
    let mut per_op = Vec::new();
    for run in 0..WARM_UP + REPEATS {
        tape.clear();
        let (a, b) = w4_inputs(&tape);
        let t0 = Instant::now();
        let c = w4_adds(a, b, W4_ADDS);
        let elapsed = t0.elapsed();
        black_box(c.index());
        if run >= WARM_UP {
            per_op.push(elapsed.as_secs_f64() * 1e9 / W4_ADDS as f64);
        }
    }
    vec![Figure {
        name: "W4_add4".into(),
        value: median(per_op),
        unit: "ns/op",
        decimals: 0,
    }]
}

/// The cheap-gradient principle on N-D Rosenbrock (only when named): for each N, every way of
/// getting value and gradient timed against the plain function, interleaved in 11 rounds.
fn cheap_gradient() -> Vec<Figure> {
    use common::rosenbrock::{
        ROSENBROCK_SIZES, check_all, finite_differences, hand_written, plain, rosenbrock_point,
        tape_fresh, tape_workspace, tensor, tensor_fused, tensor_products,
    };
    use tapegrad::tape::Array;
    use tapegrad::tape::func::Workspace;

    const ROUNDS: usize = 11;
    /// Central differences on at most this many coordinates, scaled to N.
    const FD_COORDS: usize = 1_000;
    const WAYS: [&str; 8] = [
        "plain",
        "tape_workspace",
        "tape_fresh",
        "hand_written",
        "finite_differences",
        "tensor",
        "tensor_products",
        "tensor_fused",
    ];
    let mut figures = Vec::new();
    for n in ROSENBROCK_SIZES {
        let x = rosenbrock_point(n);
        check_all(&x, n.min(100));
        let fd_coords = n.min(FD_COORDS);
        let fd_scale = n as f64 / fd_coords as f64;
        let array = Array::from_vec(x.clone(), &[n]).expect("a vector");
        let mut fd_x = x.clone();
        let mut ws = Workspace::<f64>::new();
        // One call of way `w`, its result kept from the optimiser.
        let mut call = |w: usize| match w {
            0 => _ = black_box(plain(black_box(&x))),
            1 => _ = black_box(tape_workspace(&mut ws, black_box(&x))),
            2 => _ = black_box(tape_fresh(black_box(&x))),
            3 => _ = black_box(hand_written(black_box(&x))),
            4 => _ = black_box(finite_differences(black_box(&mut fd_x), 0..fd_coords)),
            5 => _ = black_box(tensor(black_box(&array))),
            6 => _ = black_box(tensor_products(black_box(&array))),
            _ => _ = black_box(tensor_fused(black_box(&array))),
        };
        // Calls per timing: doubled until a batch takes 2 ms, so the clock is read rarely.
        let batch: Vec<usize> = (0..WAYS.len())
            .map(|w| {
                let mut k = 1;
                loop {
                    let t0 = Instant::now();
                    for _ in 0..k {
                        call(w);
                    }
                    if t0.elapsed().as_secs_f64() >= 2e-3 {
                        return k;
                    }
                    k *= 2;
                }
            })
            .collect();
        let mut times = vec![Vec::new(); WAYS.len()];
        for round in 0..ROUNDS {
            for w in (0..WAYS.len()).map(|i| (i + round) % WAYS.len()) {
                let t0 = Instant::now();
                for _ in 0..batch[w] {
                    call(w);
                }
                let scale = if w == 4 { fd_scale } else { 1.0 };
                times[w].push(t0.elapsed().as_secs_f64() * 1e9 / batch[w] as f64 * scale);
            }
        }
        for (w, name) in WAYS.iter().enumerate() {
            let ratios = times[w].iter().zip(&times[0]).map(|(t, p)| t / p).collect();
            let label = |suffix: &str| format!("rosenbrock_N{n}_{name}{suffix}").into();
            figures.push(Figure {
                name: label(""),
                value: median(times[w].clone()),
                unit: "ns",
                decimals: 1,
            });
            if w > 0 {
                figures.push(Figure {
                    name: label("_ratio"),
                    value: median(ratios),
                    unit: "x",
                    decimals: 2,
                });
            }
        }
    }
    figures
}

fn main() {
    let mut wanted: Vec<String> = std::env::args().skip(1).collect();
    let threads = apply_thread_count(&mut wanted);
    MNIST_DIR
        .set(mnist_dir(&mut wanted))
        .expect("the MNIST directory is set once");
    let workers = workers_arg(&mut wanted);
    WORKERS.set(workers).expect("the worker count is set once");
    for name in &wanted {
        if !WORKLOADS.iter().any(|(w, _)| w.eq_ignore_ascii_case(name)) {
            let known: Vec<&str> = WORKLOADS.iter().map(|(w, _)| *w).collect();
            eprintln!("unknown workload {name:?}; known: {}", known.join(", "));
            std::process::exit(2);
        }
    }
    for (name, run) in WORKLOADS {
        let by_default = !ON_REQUEST.contains(name);
        if (wanted.is_empty() && by_default) || wanted.iter().any(|w| w.eq_ignore_ascii_case(name))
        {
            for f in run() {
                println!("{} {:.*} {}", f.name, f.decimals, f.value, f.unit);
            }
        }
    }
    println!("tapegrad threads {threads}");
    println!("tapegrad workers {workers}");
}
