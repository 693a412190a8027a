//! Resumable runs: a run stopped after an epoch and resumed from its state file ends with the
//! weights of the run that was never stopped, bit for bit; bad resume files are refused.

use std::collections::BTreeMap;
use std::path::Path;

use nn::{Activation, Mlp, Model};
use train::checkpoint;
use train::data::{self, Dataset, Standardizer};
use train::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig, StepDecay, WarmupCosine};
use train::trainer::{Control, Event, TrainConfig, Trainer};

use crate::common::TempDir;

const EPOCHS: usize = 4;

fn digits_train() -> Dataset<f32> {
    let (mut train, _) = data::digits::<f32>().unwrap().split(0.2, 0).unwrap();
    Standardizer::fit(train.features())
        .unwrap()
        .apply(&mut train)
        .unwrap();
    train
}

fn config() -> TrainConfig {
    TrainConfig {
        epochs: EPOCHS,
        batch_size: 48,
        seed: 5,
        ..TrainConfig::default()
    }
}

/// A trainer whose learning rate halves every epoch, so that starting at the wrong epoch
/// would show.
fn trainer(lr: f64) -> Trainer {
    Trainer::new(config())
        .unwrap()
        .with_schedule(StepDecay::new(lr, 1, 0.5).unwrap())
}

fn mlp(init_seed: u64) -> Mlp<f32> {
    Mlp::new(&[64, 24, 10], Activation::Tanh, init_seed).unwrap()
}

fn sgd() -> Sgd<f32> {
    Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-4,
        ..SgdConfig::default()
    })
    .unwrap()
}

fn adam() -> Adam<f32> {
    Adam::new(AdamConfig {
        lr: 0.01,
        ..AdamConfig::default()
    })
    .unwrap()
}

/// Every parameter's bits, by name.
fn bits(model: &Mlp<f32>) -> Vec<(String, Vec<u32>)> {
    let mut v = Vec::new();
    model.visit_params(&mut |name, p| {
        v.push((
            name.to_string(),
            p.data().iter().map(|x| x.to_bits()).collect(),
        ))
    });
    v
}

/// Trains for all epochs without a stop.
fn uninterrupted<O: Optimizer<f32>>(mut opt: O, lr: f64) -> Mlp<f32> {
    let data = digits_train();
    let mut model = mlp(1);
    trainer(lr)
        .fit(&mut model, &mut opt, &data, None, |_| Control::Continue)
        .unwrap();
    model
}

/// Trains until the end of epoch `stop_after`, saves the state to `path`, and returns how
/// many epochs were done.
fn stopped<O: Optimizer<f32>>(mut opt: O, lr: f64, stop_after: usize, path: &Path) -> usize {
    let data = digits_train();
    let mut model = mlp(1);
    let t = trainer(lr);
    let history = t
        .fit(&mut model, &mut opt, &data, None, |e| match e {
            Event::EpochEnd(s) if s.epoch == stop_after => Control::Stop,
            _ => Control::Continue,
        })
        .unwrap();
    let done = history.epochs.len();
    t.save_state(path, &model, &opt, done, &BTreeMap::new())
        .unwrap();
    done
}

/// Resumes from `path` into a model initialised differently and a fresh optimiser.
fn resumed<O: Optimizer<f32>>(mut opt: O, lr: f64, path: &Path) -> (Mlp<f32>, usize) {
    let data = digits_train();
    let mut model = mlp(99);
    let mut t = trainer(lr);
    t.load_state(path, &mut model, &mut opt).unwrap();
    let start = t.start_epoch();
    let history = t
        .fit(&mut model, &mut opt, &data, None, |_| Control::Continue)
        .unwrap();
    assert_eq!(history.epochs.first().map(|s| s.epoch), Some(start));
    (model, start)
}

#[test]
fn sgd_with_momentum_resumed_after_an_epoch_ends_bit_identical() {
    let dir = TempDir::new("resume-sgd");
    let path = dir.path().join("run.safetensors");
    let reference = uninterrupted(sgd(), 0.1);
    assert_eq!(stopped(sgd(), 0.1, 1, &path), 2);
    let (model, start) = resumed(sgd(), 0.1, &path);
    assert_eq!(start, 2);
    assert_eq!(bits(&model), bits(&reference));

    // The optimiser's state and the epoch matter (so the comparison above can fail): the
    // weights alone, with fresh momentum buffers, end elsewhere, and so does the full state
    // started at epoch 0 again.
    let mut weights_only = mlp(99);
    let mut ck = checkpoint::load::<f32>(&path).unwrap();
    weights_only.visit_params_mut(&mut |name, p| *p = ck.tensors.remove(name).unwrap());
    trainer(0.1)
        .with_start_epoch(2)
        .fit(&mut weights_only, &mut sgd(), &digits_train(), None, |_| {
            Control::Continue
        })
        .unwrap();
    assert_ne!(bits(&weights_only), bits(&reference));
    let mut restarted = mlp(99);
    let mut opt = sgd();
    let mut t = trainer(0.1);
    t.load_state(&path, &mut restarted, &mut opt).unwrap();
    t.with_start_epoch(0)
        .fit(&mut restarted, &mut opt, &digits_train(), None, |_| {
            Control::Continue
        })
        .unwrap();
    assert_ne!(bits(&restarted), bits(&reference));
}

#[test]
fn adam_resumed_after_an_epoch_ends_bit_identical() {
    let dir = TempDir::new("resume-adam");
    let path = dir.path().join("run.safetensors");
    let reference = uninterrupted(adam(), 0.01);
    assert_eq!(stopped(adam(), 0.01, 2, &path), 3);
    let (model, start) = resumed(adam(), 0.01, &path);
    assert_eq!(start, 3);
    assert_eq!(bits(&model), bits(&reference));

    // Adam's step counts and moments are in the file under their own names, and the weights
    // under PyTorch's.
    let ck = checkpoint::load::<f32>(&path).unwrap();
    let names: Vec<&str> = ck.tensors.keys().map(String::as_str).collect();
    assert!(names.contains(&"layers.0.weight"));
    assert!(names.contains(&"optimizer.state.layers.0.weight.exp_avg"));
    assert!(names.contains(&"optimizer.state.layers.1.bias.exp_avg_sq"));
    let steps_per_epoch = digits_train().len().div_ceil(48);
    assert_eq!(
        ck.metadata["optimizer.state.layers.0.weight.step"],
        (3 * steps_per_epoch).to_string()
    );
    assert_eq!(ck.metadata["optimizer.kind"], "adam");
}

/// A trainer whose rate changes every step (a warm-up of 10 steps, then a cosine over the
/// run's 4 × 30 steps) and whose gradients are clipped: a resumed run must count the steps
/// the epochs before it made.
fn step_trainer() -> Trainer {
    Trainer::new(TrainConfig {
        clip_grad_norm: Some(1.0),
        ..config()
    })
    .unwrap()
    .with_step_schedule(WarmupCosine::new(0.02, 0.001, 10, 4 * 30).unwrap())
}

#[test]
fn a_per_step_schedule_resumes_at_the_step_it_stopped_at() {
    let data = digits_train();
    assert_eq!(data.len().div_ceil(48), 30); // 1,437 samples in batches of 48
    let dir = TempDir::new("resume-step-schedule");
    let path = dir.path().join("run.safetensors");
    let mut reference = mlp(1);
    step_trainer()
        .fit(&mut reference, &mut adam(), &data, None, |_| {
            Control::Continue
        })
        .unwrap();

    let (mut model, mut opt) = (mlp(1), adam());
    let t = step_trainer();
    t.fit(&mut model, &mut opt, &data, None, |e| match e {
        Event::EpochEnd(s) if s.epoch == 1 => Control::Stop,
        _ => Control::Continue,
    })
    .unwrap();
    t.save_state(&path, &model, &opt, 2, &BTreeMap::new())
        .unwrap();

    let (mut model, mut opt) = (mlp(99), adam());
    let mut t = step_trainer();
    t.load_state(&path, &mut model, &mut opt).unwrap();
    let mut first_step = None;
    t.fit(&mut model, &mut opt, &data, None, |e| {
        if let (Event::Batch { step, .. }, None) = (e, first_step) {
            first_step = Some(*step);
        }
        Control::Continue
    })
    .unwrap();
    // Two epochs of 30 batches were done before the stop.
    assert_eq!(first_step, Some(60));
    assert_eq!(bits(&model), bits(&reference));
}

#[test]
fn a_run_killed_mid_epoch_resumes_from_the_state_file_of_its_last_epoch() {
    let dir = TempDir::new("resume-killed");
    let path = dir.path().join("every-epoch.safetensors");
    let reference = uninterrupted(adam(), 0.01);
    let data = digits_train();
    let mut model = mlp(1);
    let mut opt = adam();
    let t = trainer(0.01).with_state_file(&path, BTreeMap::new());
    // Stops in the middle of epoch 2: the file holds the state at the end of epoch 1.
    t.fit(&mut model, &mut opt, &data, None, |e| match e {
        Event::Batch {
            epoch: 2, batch: 5, ..
        } => Control::Stop,
        _ => Control::Continue,
    })
    .unwrap();
    let (model, start) = resumed(adam(), 0.01, &path);
    assert_eq!(start, 2);
    assert_eq!(bits(&model), bits(&reference));
}

/// The message of loading `path` into a 64-24-10 MLP (or `model`) with `opt`, which must
/// fail and leave both unchanged.
fn refusal<O: Optimizer<f32>>(
    path: &Path,
    t: &mut Trainer,
    model: &mut Mlp<f32>,
    opt: &mut O,
) -> String {
    let before = bits(model);
    let opt_before = opt.state().unwrap();
    let start = t.start_epoch();
    let err = t.load_state(path, model, opt).unwrap_err().to_string();
    assert_eq!(bits(model), before, "{err}");
    assert_eq!(opt.state().unwrap(), opt_before, "{err}");
    assert_eq!(t.start_epoch(), start, "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    err
}

#[test]
fn mismatched_and_corrupt_resume_files_are_refused_with_the_file_named() {
    let dir = TempDir::new("resume-bad");
    let path = dir.path().join("run.safetensors");
    stopped(sgd(), 0.1, 0, &path);
    let mut model = mlp(3);

    // Another kind of optimiser.
    let err = refusal(&path, &mut trainer(0.1), &mut model, &mut adam());
    assert!(
        err.contains("the state is of optimiser `sgd`, but this optimiser is `adam`"),
        "{err}"
    );

    // Other hyper-parameters (the learning rate alone may change).
    let mut other = Sgd::new(SgdConfig {
        momentum: 0.5,
        ..sgd().config().clone()
    })
    .unwrap();
    let err = refusal(&path, &mut trainer(0.1), &mut model, &mut other);
    assert!(
        err.contains("`momentum` is 0.9 in the state, but 0.5 in this optimiser"),
        "{err}"
    );
    let mut faster = Sgd::new(SgdConfig {
        lr: 0.3,
        ..sgd().config().clone()
    })
    .unwrap();
    assert!(
        trainer(0.1)
            .load_state(&path, &mut mlp(3), &mut faster)
            .is_ok()
    );

    // A model of another shape.
    let mut wider = Mlp::<f32>::new(&[64, 32, 10], Activation::Tanh, 0).unwrap();
    let before = {
        let mut v = Vec::new();
        wider.visit_params(&mut |_, p| v.push(p.clone()));
        v
    };
    let err = trainer(0.1)
        .load_state(&path, &mut wider, &mut sgd())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "tensor `layers.0.weight`: shape [24, 64] in the file, but the parameter's is [32, 64]"
        ),
        "{err}"
    );
    let mut after = Vec::new();
    wider.visit_params(&mut |_, p| after.push(p.clone()));
    assert_eq!(after, before);

    // Another seed or batch size: the batches would differ.
    let mut t = Trainer::new(TrainConfig {
        seed: 6,
        ..config()
    })
    .unwrap();
    let err = refusal(&path, &mut t, &mut model, &mut sgd());
    assert!(
        err.contains("saved with seed 5, but this one has 6"),
        "{err}"
    );
    let mut t = Trainer::new(TrainConfig {
        batch_size: 32,
        ..config()
    })
    .unwrap();
    let err = refusal(&path, &mut t, &mut model, &mut sgd());
    assert!(
        err.contains("saved with batch_size 48, but this one has 32"),
        "{err}"
    );

    // Weights only.
    let weights = dir.path().join("weights.safetensors");
    checkpoint::save_model(&weights, &mlp(1), &BTreeMap::new()).unwrap();
    let err = refusal(&weights, &mut trainer(0.1), &mut model, &mut sgd());
    assert!(err.contains("holds no training state"), "{err}");

    // A momentum buffer of the wrong length.
    let mut ck = checkpoint::load::<f32>(&path).unwrap();
    ck.tensors.insert(
        "optimizer.state.layers.1.bias.momentum_buffer".into(),
        tape::Array::zeros(&[3]),
    );
    let bad = dir.path().join("bad-buffer.safetensors");
    checkpoint::save(
        &bad,
        ck.tensors.iter().map(|(n, a)| (n.as_str(), a)),
        &ck.metadata,
    )
    .unwrap();
    let err = refusal(&bad, &mut trainer(0.1), &mut model, &mut sgd());
    assert!(err.contains("tensor `optimizer.state.layers.1.bias.momentum_buffer`: has 3 elements, but parameter `layers.1.bias` has 10"), "{err}");

    // Damaged bytes: truncated, and one bit flipped.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.write("cut.safetensors", &bytes[..bytes.len() - 7]);
    let err = refusal(&cut, &mut trainer(0.1), &mut model, &mut sgd());
    assert!(err.contains("not a valid safetensors file"), "{err}");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x10;
    let flipped = dir.write("flipped.safetensors", &flipped);
    let err = refusal(&flipped, &mut trainer(0.1), &mut model, &mut sgd());
    assert!(err.contains("checksum does not match"), "{err}");
}

#[cfg(feature = "cli")]
fn join<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    [a, b].concat()
}

/// Runs `tapegrad` with `args`, returning what it printed, or the error.
#[cfg(feature = "cli")]
fn tapegrad(args: &[&str]) -> Result<String, String> {
    use clap::Parser;
    let cli =
        train::cli::Cli::try_parse_from(std::iter::once("tapegrad").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    train::cli::run(cli, &mut out).map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).unwrap())
}

#[cfg(feature = "cli")]
#[test]
fn the_command_line_resumes_a_run_to_the_weights_of_the_uninterrupted_one() {
    let dir = TempDir::new("resume-cli");
    let file = |name: &str| dir.path().join(name).display().to_string();
    let (whole, part, rest) = (file("whole.st"), file("part.st"), file("rest.st"));
    let constant = [
        "train",
        "--hidden",
        "16",
        "--batch-size",
        "64",
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--schedule",
        "constant",
        "-q",
    ];
    tapegrad(&join(&constant, &["--epochs", "3", "--save", &whole])).unwrap();
    tapegrad(&join(
        &constant,
        &["--epochs", "1", "--save", &part, "--save-state"],
    ))
    .unwrap();
    let printed = tapegrad(&join(
        &constant,
        &[
            "--epochs",
            "3",
            "--resume",
            &part,
            "--save",
            &rest,
            "--save-state",
        ],
    ))
    .unwrap();
    assert!(
        printed.contains("saved the weights and the training state (after epoch 3)"),
        "{printed}"
    );
    let (a, b) = (
        checkpoint::load::<f32>(&whole).unwrap(),
        checkpoint::load::<f32>(&rest).unwrap(),
    );
    for (name, w) in &a.tensors {
        let bits = |x: &tape::Array<f32>| x.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(w), bits(&b.tensors[name]), "{name}");
    }
    assert!(
        b.tensors
            .contains_key("optimizer.state.layers.0.weight.momentum_buffer")
    );
    // The file evaluates as any other (the optimiser's arrays are not layers).
    let eval = tapegrad(&["evaluate", "--weights", &rest]).unwrap();
    assert!(eval.contains("accuracy"), "{eval}");

    // Options that change the run are refused, naming the file and the option.
    let mut changed = join(&constant, &["--epochs", "3", "--resume", &part]);
    assert_eq!(changed[3..5], ["--batch-size", "64"]);
    changed[4] = "32";
    let err = tapegrad(&changed).unwrap_err();
    assert!(
        err.contains(&part) && err.contains("batch_size `64`, but these options give `32`"),
        "{err}"
    );
    let mut changed = join(&constant, &["--epochs", "3", "--resume", &part]);
    assert_eq!(changed[5..7], ["--optimizer", "sgd"]);
    changed[6] = "adam";
    let err = tapegrad(&changed).unwrap_err();
    assert!(
        err.contains("optimizer `sgd`, but these options give `adam`"),
        "{err}"
    );
    // So do the order of the samples and clipping.
    let err = tapegrad(&join(
        &constant,
        &["--epochs", "3", "--no-shuffle", "--resume", &part],
    ))
    .unwrap_err();
    assert!(
        err.contains("shuffle `true`, but these options give `false`"),
        "{err}"
    );
    let err = tapegrad(&join(
        &constant,
        &["--epochs", "3", "--clip-grad-norm", "1", "--resume", &part],
    ))
    .unwrap_err();
    assert!(
        err.contains("clip_grad_norm nothing, but these options give `1`"),
        "{err}"
    );
    let err = tapegrad(&join(&constant, &["--epochs", "1", "--resume", &part])).unwrap_err();
    assert!(err.contains("has done 1 epochs already"), "{err}");
    let err = tapegrad(&join(&constant, &["--epochs", "3", "--resume", &whole])).unwrap_err();
    assert!(err.contains("holds no training state"), "{err}");

    // The cosine schedule depends on the number of epochs, so it must not change.
    let cosine = file("cosine.st");
    let cos_base = join(&constant[..9], &["--schedule", "cosine", "-q"]);
    tapegrad(&join(
        &cos_base,
        &["--epochs", "2", "--save", &cosine, "--save-state"],
    ))
    .unwrap();
    let err = tapegrad(&join(&cos_base, &["--epochs", "3", "--resume", &cosine])).unwrap_err();
    assert!(
        err.contains("epochs `2`, but these options give `3`"),
        "{err}"
    );
}
