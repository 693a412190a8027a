//! The performance workloads of DESIGN.md, built in one place so that the criterion benches
//! (`benches/w*.rs`) and the `workloads` example (which prints figures in the same format as
//! the PyTorch comparison script) measure exactly the same thing. The cheap-gradient
//! workload on Rosenbrock (`benches/cheap_gradient.rs`, `workloads cheap`) is in [`rosenbrock`].

// Each bench binary includes this module and uses only its own workload.
#![allow(dead_code)]

use std::path::Path;

use tapegrad::nn::loss::softmax_cross_entropy;
use tapegrad::nn::{Activation, BoundModel, Mlp, Model};
use tapegrad::tape::{Array, Scalar, Tape, Tensor};
use tapegrad::train::data::{Batch, BatchTargets, Dataset};

pub mod rosenbrock;

/// W1: number of recorded ops (three per loop iteration).
pub const W1_OPS: usize = 1_000_000;

/// W1: number of scalar inputs.
pub const W1_INPUTS: usize = 1000;

/// W1's inputs, `x[i] = 0.001 * i` for `i < 1000`, as variables of `tape`.
pub fn w1_inputs(tape: &Tape<f64>) -> Vec<Scalar<'_, f64>> {
    (0..W1_INPUTS).map(|i| tape.var(0.001 * i as f64)).collect()
}

/// Records W1 on `tape` and returns `acc`:
/// `acc = 0; for k in 0..n_ops/3 { acc = acc*0.999 + x[k % 1000] * x[(7*k) % 1000] }`.
///
/// Each iteration records three nodes: `mul_const(0.999)`, `mul` and `add`.
#[inline(never)]
pub fn w1_record<'t>(tape: &'t Tape<f64>, x: &[Scalar<'t, f64>], n_ops: usize) -> Scalar<'t, f64> {
    let mut acc = tape.constant(0.0);
    for k in 0..n_ops / 3 {
        acc = acc * 0.999 + x[k % W1_INPUTS] * x[(7 * k) % W1_INPUTS];
    }
    acc
}

/// W1 evaluated on plain numbers, in the same order, for checking the recorded value.
pub fn w1_value(n_ops: usize) -> f64 {
    let x: Vec<f64> = (0..W1_INPUTS).map(|i| 0.001 * i as f64).collect();
    let mut acc = 0.0;
    for k in 0..n_ops / 3 {
        acc = acc * 0.999 + x[k % W1_INPUTS] * x[(7 * k) % W1_INPUTS];
    }
    acc
}

/// W4: number of adds recorded per measured batch.
pub const W4_ADDS: usize = 1000;

/// W4's operands: two 4-element `f32` tensors (inputs, so gradients would flow to them).
pub fn w4_inputs(tape: &Tape<f32>) -> (Tensor<'_, f32>, Tensor<'_, f32>) {
    (
        tape.tensor(Array::rand_uniform(&[4], 0.0, 1.0, 1)),
        tape.tensor(Array::rand_uniform(&[4], 0.0, 1.0, 2)),
    )
}

/// Records `n` elementwise adds `a + b` on the tape and returns the last.
#[inline(never)]
pub fn w4_adds<'t>(a: Tensor<'t, f32>, b: Tensor<'t, f32>, n: usize) -> Tensor<'t, f32> {
    let mut c = a;
    for _ in 0..n {
        c = std::hint::black_box(a) + std::hint::black_box(b);
    }
    c
}

/// W2: layer widths of the MLP, input first.
pub const W2_SIZES: [usize; 4] = [784, 256, 128, 10];

/// W2: samples per step.
pub const W2_BATCH: usize = 128;

/// W2: samples in the data set (one epoch).
pub const W2_SAMPLES: usize = 60_000;

/// W2: steps per epoch, as the PyTorch script counts them (`ceil(60000 / 128)`).
pub const W2_EPOCH_STEPS: usize = W2_SAMPLES.div_ceil(W2_BATCH);

/// W2: SGD learning rate.
pub const W2_LR: f32 = 0.05;

/// Floating-point operations of one W2 step, counted as the PyTorch script does: forward and
/// two backward products per layer, minus the input gradient of the first layer, which
/// neither side computes.
pub const W2_FLOPS: usize =
    2 * W2_BATCH * (784 * 256 + 256 * 128 + 128 * 10) * 3 - 2 * W2_BATCH * 784 * 256;

/// W2: an MLP 784-256-128-10 with ReLU, trained with softmax cross-entropy (mean) and plain SGD
/// on random inputs in [0, 1) and random labels, all from a fixed seed. Built with the `nn`
/// crate as a user would.
pub struct W2 {
    /// The model; its parameters live outside the tape.
    pub mlp: Mlp<f32>,
    /// The tape, cleared at the start of every step (its capacity is reused).
    pub tape: Tape<f32>,
    /// The inputs, `[60000, 784]`, shared so that a batch is a view of its rows.
    pub inputs: Array<f32>,
    /// The labels, one per sample.
    pub labels: Vec<usize>,
    /// Where the next batch starts.
    pub pos: usize,
}

impl W2 {
    /// The model, the data and an empty tape, all from `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_shape(&W2_SIZES, W2_SAMPLES, seed)
    }

    /// Like [`W2::new`] with other layer widths and number of samples (for scaling runs).
    pub fn with_shape(sizes: &[usize], samples: usize, seed: u64) -> Self {
        let mlp = Mlp::new(sizes, Activation::Relu, seed).expect("W2 layer sizes");
        let inputs = Array::rand_uniform(&[samples, sizes[0]], 0.0, 1.0, seed + 1).shared();
        let labels = Array::<f64>::rand_uniform(&[samples], 0.0, 1.0, seed + 2)
            .data()
            .iter()
            .map(|&u| {
                ((u * sizes[sizes.len() - 1] as f64) as usize).min(sizes[sizes.len() - 1] - 1)
            })
            .collect();
        W2 {
            mlp,
            tape: Tape::new(),
            inputs,
            labels,
            pos: 0,
        }
    }

    /// One training step on the next `batch` samples: forward, loss, backward and the SGD
    /// update `p -= lr·g`. Returns the loss.
    pub fn step(&mut self, batch: usize) -> f32 {
        let samples = self.labels.len();
        let i = self.pos;
        self.pos = (i + batch) % (samples - batch);
        // A view of the rows, as PyTorch's `X[i:i + 128]`: `inputs` is shared.
        let xb = self.inputs.rows(i..i + batch).expect("W2 batch rows");
        let yb = &self.labels[i..i + batch];
        sgd_step(&mut self.mlp, &mut self.tape, xb, yb)
    }
}

/// One SGD step of `mlp` on the batch `xb` with labels `yb`: bind, forward, softmax
/// cross-entropy (mean), backward, and the update `p -= lr·g` with lr [`W2_LR`]. Returns the
/// loss. The tape is cleared at the end.
pub fn sgd_step(mlp: &mut Mlp<f32>, tape: &mut Tape<f32>, xb: Array<f32>, yb: &[usize]) -> f32 {
    let (loss, grads) = {
        let tape = &*tape;
        let model = mlp.bind(tape);
        let x = tape.tensor_constant(xb);
        let loss = softmax_cross_entropy(model.forward(x), yb).expect("training loss");
        let mut grads = loss.backward();
        (loss.value(), model.take_grads(&mut grads))
    };
    // Cleared before the update, so the tape holds no reference to the parameters and the
    // update writes them in place.
    tape.clear();
    mlp.update_params(&grads, &mut |_, p, g| {
        p.zip_mut_with(g, |p, g| *p -= W2_LR * g)
            .expect("a gradient has its parameter's shape");
    })
    .expect("SGD update");
    loss
}

/// MNIST epoch: samples per batch.
pub const MNIST_BATCH: usize = 128;

/// MNIST epoch: the seed of the model and of the batch order.
pub const MNIST_SEED: u64 = 0;

/// The 60,000 MNIST training images (pixels divided by 255) and their labels, read from the
/// gzipped IDX files in `dir` by the `train` crate; the error message names the missing or
/// broken file or directory.
pub fn mnist_train_set(dir: &Path) -> Result<Dataset<f32>, String> {
    match tapegrad::train::data::mnist::<f32>(dir) {
        Ok((train, _test)) => Ok(train),
        Err(e) => Err(e.to_string()),
    }
}

/// Real MNIST training as the PyTorch script `benches/pytorch_mnist_epoch.py` runs it: the
/// W2 model and step (784-256-128-10, ReLU, softmax cross-entropy, SGD at 0.05), over
/// batches of 128 in a new shuffled order each epoch, gathered from the data set by the
/// `train` crate's [`Dataset::shuffled_batches`].
pub struct MnistEpoch {
    /// The model; its parameters live outside the tape.
    pub mlp: Mlp<f32>,
    /// The tape, cleared after every step (its capacity is reused).
    pub tape: Tape<f32>,
    /// The training set.
    pub data: Dataset<f32>,
    /// The number of epochs run so far; it picks the next batch order.
    pub epoch: u64,
}

impl MnistEpoch {
    /// A fresh model from [`MNIST_SEED`], trained on `data`.
    pub fn new(data: Dataset<f32>) -> Self {
        MnistEpoch {
            mlp: Mlp::new(&W2_SIZES, Activation::Relu, MNIST_SEED).expect("MNIST layer sizes"),
            tape: Tape::new(),
            data,
            epoch: 0,
        }
    }

    /// One epoch, or its first `max_batches` batches: a new shuffled order of the samples,
    /// then a training step per batch. Returns the mean loss over the samples seen.
    pub fn run(&mut self, max_batches: usize) -> f32 {
        let batches = self
            .data
            .shuffled_batches(MNIST_BATCH, MNIST_SEED, self.epoch)
            .expect("MNIST batches");
        self.epoch += 1;
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for batch in batches.take(max_batches) {
            let Batch {
                features, targets, ..
            } = batch;
            let BatchTargets::Classes(labels) = targets else {
                panic!("MNIST has class labels");
            };
            let loss = sgd_step(&mut self.mlp, &mut self.tape, features, &labels);
            loss_sum += f64::from(loss) * labels.len() as f64;
            seen += labels.len();
        }
        (loss_sum / seen as f64) as f32
    }
}

/// W3: the GEMM shapes `(m, k, n)`, for `[m, k]·[k, n]`.
pub const W3_SHAPES: [(usize, usize, usize); 2] = [(128, 784, 256), (1024, 1024, 1024)];

/// W3's operands for one shape: uniform in [0, 1), fixed seeds.
pub fn w3_operands((m, k, n): (usize, usize, usize)) -> (Array<f32>, Array<f32>) {
    (
        Array::rand_uniform(&[m, k], 0.0, 1.0, 3),
        Array::rand_uniform(&[k, n], 0.0, 1.0, 4),
    )
}

/// The thread count asked for by `--threads N` (anywhere on the command line) or the
/// `TAPEGRAD_THREADS` environment variable, if any; applied with [`tape::set_num_threads`].
pub fn apply_thread_count(args: &mut Vec<String>) -> usize {
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        let n: usize = args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .expect("--threads needs a number");
        args.drain(i..i + 2);
        tapegrad::tape::set_num_threads(n);
    }
    tapegrad::tape::num_threads()
}
