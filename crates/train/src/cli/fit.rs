//! `tapegrad train`: load and split the data, scale it, build the MLP, train it with the
//! chosen optimiser and schedule, report, save and plot.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use nn::Mlp;
use tape::{Array, Element};

use super::args::{OptimizerName, Scale, ScheduleName, TrainArgs, csv_options};
use super::model_file::{self, describe, thousands};
use super::outputs::{self, Output};
use super::report::{self, HEADER, Progress, say};
use super::source::{DEFAULT_TEST_FRACTION, Source};
use super::stream::{self, RunPart};
use super::{EVAL_BATCH, plot};
use crate::data::Standardizer;
use crate::distributed::Collective;
use crate::optim::{
    Adam, AdamConfig, AdamW, CosineAnnealing, Optimizer, OptimizerState, Sgd, SgdConfig,
};
use crate::trainer::{Control, EpochStats, Evaluation, Event, History, TrainConfig, Trainer};
use crate::{Result, TrainError};

/// `tapegrad train`.
pub(super) fn train<T: Element>(
    args: &TrainArgs,
    out: &mut dyn Write,
    show_progress: bool,
    group: Option<Rc<dyn Collective>>,
) -> Result<()> {
    let started = Instant::now();
    let source = Source::from_arg(args.data.as_deref())?;
    check_options(args, &source)?;
    let data = RunData::<T>::load(args, source, show_progress, group.clone())?;
    let mut sizes = vec![data.train.n_features()];
    sizes.extend(&args.hidden);
    sizes.push(data.n_classes);
    check_model_size::<T>(&sizes, args.optimizer, crate::memory::available_bytes())?;
    let mut mlp = Mlp::<T>::new(&sizes, args.activation.activation(), args.seed)?;
    let settings = OptimizerSettings::from_args(args);
    if !args.quiet {
        let ranks = group.as_ref().map_or(1, |g| g.size());
        write_setup(out, args, &data, &mlp, &settings, ranks)?;
    }

    let (mut trainer, resume_from) = trainer_and_resume(args, &data, &mlp, &settings, out)?;
    if let Some(group) = group {
        trainer = trainer.with_collective(group);
    }
    let mut progress = Progress::new(show_progress, args.epochs);
    let mut epochs = Vec::new();
    let mut final_state = None;
    let fitted = Fit {
        trainer: &mut trainer,
        resume_from,
        mlp: &mut mlp,
        train: &data.train,
        test: &data.test,
        progress: &mut progress,
        out: &mut *out,
        quiet: args.quiet,
        epochs: &mut epochs,
        final_state: &mut final_state,
    }
    .run_with(args.optimizer, &settings);
    progress.finish();
    let history = match fitted {
        Ok(history) => history,
        Err(e @ TrainError::NonFinite { .. }) => {
            // The trainer put back the last parameters whose loss was finite: keep them.
            let history = History {
                epochs,
                stopped_early: true,
            };
            return keep_after_divergence(args, &data, &mlp, &settings, &history, out, e);
        }
        Err(e) => return Err(e),
    };

    report_and_save(
        args,
        &data,
        &mlp,
        &settings,
        &trainer,
        &history,
        final_state,
        started,
        out,
    )
}

/// The trainer of `tapegrad train`, with its state file if `--save-state` asks for one, and
/// the file `--resume` continues (checked against this run's options and model first).
fn trainer_and_resume<'a, T: Element>(
    args: &'a TrainArgs,
    data: &RunData<T>,
    mlp: &Mlp<T>,
    settings: &OptimizerSettings,
    out: &mut dyn Write,
) -> Result<(Trainer, Option<&'a Path>)> {
    let mut trainer = trainer_for(args, settings.lr)?;
    let resume_from = match &args.resume {
        Some(path) => {
            let done = check_resume(path, args, data, mlp, settings.lr)?;
            if !args.quiet {
                say!(
                    out,
                    "continuing the run of {} after its epoch {done}",
                    path.display()
                )?;
            }
            Some(path.as_path())
        }
        None => None,
    };
    if let (true, Some(path)) = (args.save_state, &args.save) {
        let meta = run_metadata(args, data, mlp, settings.lr);
        trainer = trainer.with_state_file(path, meta);
    }
    Ok((trainer, resume_from))
}

/// After a run that ended without a non-finite loss: the result line, then `--save` (with
/// the training state under `--save-state`) and `--plot`; a test loss that is not finite is
/// an error, after the weights are saved.
#[allow(clippy::too_many_arguments)] // the run's pieces, each used once
fn report_and_save<T: Element>(
    args: &TrainArgs,
    data: &RunData<T>,
    mlp: &Mlp<T>,
    settings: &OptimizerSettings,
    trainer: &Trainer,
    history: &History,
    final_state: Option<(OptimizerState<T>, f64)>,
    started: Instant,
    out: &mut dyn Write,
) -> Result<()> {
    let test = final_test(history);
    if !args.quiet {
        say!(out)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let finite = test.loss.is_finite();
    if finite {
        say!(out, "{}", result_line(&test, seconds))?;
    }
    let state = final_state.filter(|_| args.save_state).map(|(state, lr)| {
        let position = crate::resume::Position {
            epochs_done: trainer.start_epoch() + history.epochs.len(),
            seed: args.seed,
            batch_size: args.batch_size,
            lr,
        };
        (state, position)
    });
    write_outputs(
        args,
        data,
        mlp,
        settings.lr,
        &test,
        history,
        None,
        state,
        out,
    )?;
    if !finite {
        return Err(TrainError::invalid(
            "--data",
            format!(
                "training ended with a finite training loss, but the test part of {} gives a loss of {}: its values are beyond what the model's arithmetic can take; check the file, or scale the features (--scale standard)",
                data.source.describe(),
                test.loss
            ),
        ));
    }
    Ok(())
}

/// After a non-finite loss or gradient (`error`): the model holds the last parameters whose
/// loss was finite. Writes them to `--save` and the curves so far to `--plot`, says so, and
/// returns the error, so that the program still exits with a failure.
fn keep_after_divergence<T: Element>(
    args: &TrainArgs,
    data: &RunData<T>,
    mlp: &Mlp<T>,
    settings: &OptimizerSettings,
    history: &History,
    out: &mut dyn Write,
    error: TrainError,
) -> Result<()> {
    let TrainError::NonFinite { epoch, batch, .. } = &error else {
        return Err(error);
    };
    if !args.quiet {
        say!(out)?;
    }
    let hint = format!(
        "training diverged; a smaller --lr than {} (or --schedule cosine) usually avoids it",
        settings.lr
    );
    if (*epoch, *batch) == (0, 0) {
        say!(
            out,
            "{hint}. It stopped at its first step, before it learned anything, so nothing was saved"
        )?;
        return Err(error);
    }
    let test = data.test.evaluator().evaluate(mlp, super::EVAL_BATCH)?;
    say!(
        out,
        "{hint}. The weights of the last step with a finite loss reach a test accuracy of {:.2}%, test loss {:.4}",
        100.0 * test.accuracy.unwrap_or(f64::NAN),
        test.loss
    )?;
    if let (true, Some(path), true) = (args.save_state, &args.save, *epoch > 0) {
        // The file holds the state of the last complete epoch: keep it to resume from, rather
        // than replace it by weights without a state.
        say!(
            out,
            "{} keeps the training state after epoch {epoch}; continue from it with --resume and a smaller --lr",
            path.display()
        )?;
        if let Some(plot_path) = &args.plot {
            let model = describe(mlp, args.activation);
            let title = format!("{model} on {}", data.source.describe());
            outputs::write_or_rescue("--plot", plot_path, |p| plot::write_svg(p, history, &title))?;
            say!(out, "plotted loss and accuracy to {}", plot_path.display())?;
        }
        return Err(error);
    }
    let why = error.to_string();
    write_outputs(
        args,
        data,
        mlp,
        settings.lr,
        &test,
        history,
        Some(&why),
        None,
        out,
    )?;
    Err(error)
}

/// Writes `--save` (with the metadata; `stopped` says why training ended early, if it did)
/// and `--plot`, each with a fallback file if its own cannot be written.
#[allow(clippy::too_many_arguments)]
fn write_outputs<T: Element>(
    args: &TrainArgs,
    data: &RunData<T>,
    mlp: &Mlp<T>,
    lr: f64,
    test: &Evaluation,
    history: &History,
    stopped: Option<&str>,
    state: Option<(OptimizerState<T>, crate::resume::Position)>,
    out: &mut dyn Write,
) -> Result<()> {
    if let Some(path) = &args.save {
        let mut meta = saved_metadata(args, data, mlp, lr, test);
        if let Some(why) = stopped {
            meta.insert("stopped".into(), why.to_string());
        }
        match state {
            Some((state, position)) => {
                outputs::write_or_rescue("--save", path, |p| {
                    crate::resume::save_parts(p, mlp, state.clone(), &position, &meta)
                })?;
                say!(
                    out,
                    "saved the weights and the training state (after epoch {}) to {}",
                    position.epochs_done,
                    path.display()
                )?;
            }
            None => {
                outputs::write_or_rescue("--save", path, |p| model_file::save(p, mlp, &meta))?;
                say!(out, "saved the weights to {}", path.display())?;
            }
        }
    }
    if let Some(path) = &args.plot {
        let model = describe(mlp, args.activation);
        let title = format!("{model} on {}", data.source.describe());
        outputs::write_or_rescue("--plot", path, |p| plot::write_svg(p, history, &title))?;
        say!(out, "plotted loss and accuracy to {}", path.display())?;
    }
    Ok(())
}

/// The largest model `tapegrad train` builds, in parameters: 2³² (16 GB as `f32`, before the
/// gradients and the optimiser's state).
pub(crate) const MAX_PARAMS: u64 = 1 << 32;

/// Refuses a model too large to train before any of it is allocated: more than
/// [`MAX_PARAMS`] parameters, or more memory for training it than `available` bytes (the
/// parameters, their gradients, the copy an update writes beside them, and the optimiser's
/// state: momentum for sgd, two moments for adam).
fn check_model_size<T: Element>(
    sizes: &[usize],
    optimizer: OptimizerName,
    available: Option<u64>,
) -> Result<()> {
    let shown: Vec<String> = sizes.iter().map(usize::to_string).collect();
    let shown = shown.join("-");
    let n_params = sizes.windows(2).try_fold(0u64, |acc, w| {
        let (a, b) = (w[0] as u64, w[1] as u64);
        a.checked_mul(b)?.checked_add(b)?.checked_add(acc)
    });
    let too_large = |what: String| {
        TrainError::invalid(
            "--hidden",
            format!("a {shown} MLP {what}; give narrower or fewer hidden layers"),
        )
    };
    let Some(n_params) = n_params.filter(|&n| n <= MAX_PARAMS) else {
        return Err(too_large(format!(
            "has {} parameters, more than the {} tapegrad trains",
            n_params.map_or("more than 2^64".into(), |n| thousands(n as usize)),
            thousands(MAX_PARAMS as usize)
        )));
    };
    let copies: u64 = match optimizer {
        OptimizerName::Sgd => 4,
        OptimizerName::Adam | OptimizerName::Adamw => 5,
    };
    let bytes = n_params * std::mem::size_of::<T>() as u64;
    let needed = bytes * copies;
    if let Some(available) = available.filter(|&a| needed > a) {
        return Err(too_large(format!(
            "has {} parameters, {} as {}, and training it with {} takes about {copies} times that, {}; the system has {} available",
            thousands(n_params as usize),
            crate::memory::describe_bytes(bytes),
            T::NAME,
            format!("{optimizer:?}").to_lowercase(),
            crate::memory::describe_bytes(needed),
            crate::memory::describe_bytes(available)
        )));
    }
    Ok(())
}

/// Refuses options that do not go together, and output paths that cannot be written —
/// before training, not after it.
fn check_options(args: &TrainArgs, source: &Source) -> Result<()> {
    source.check_label_column(args.label_column.as_deref())?;
    if source.has_own_split() && args.test_fraction.is_some() {
        return Err(TrainError::invalid(
            "--test-fraction",
            format!(
                "{} has test files of its own; the option applies to the digits and to CSV files",
                source.describe()
            ),
        ));
    }
    if args.momentum.is_some() && args.optimizer != OptimizerName::Sgd {
        return Err(TrainError::invalid(
            "--momentum",
            "applies to --optimizer sgd only (Adam's moment decay rates are fixed at PyTorch's defaults)",
        ));
    }
    source.check_csv_option("--classes", args.classes.is_some())?;
    source.check_csv_option("--stream", args.stream)?;
    if args.stream && args.resume.is_some() {
        return Err(TrainError::invalid(
            "--resume",
            "cannot continue a run with --stream; train without --resume, or continue without --stream",
        ));
    }
    if args.stream && args.scale == Scale::Global {
        return Err(TrainError::invalid(
            "--scale",
            "global scaling is not available with --stream; use standard (the default for tables) or none",
        ));
    }
    source.check_csv_option("--delimiter", args.delimiter.is_some())?;
    let mut outputs = Vec::new();
    if let Some(path) = &args.save {
        outputs.push(Output {
            option: "--save",
            path,
            example: "weights.safetensors",
        });
    }
    if let Some(path) = &args.plot {
        outputs.push(Output {
            option: "--plot",
            path,
            example: "curves.svg",
        });
    }
    outputs::check(&outputs, source)
}

/// The data of a run, split and scaled as the options ask.
struct RunData<T: Element> {
    source: Source,
    /// The fraction held out as the test part (unless the source has a test part of its own).
    test_fraction: f64,
    /// How the features are scaled (never `Auto`), and the statistics of the training part
    /// that both parts were scaled with.
    scale: Scale,
    scaler: Option<Standardizer>,
    train: RunPart<T>,
    test: RunPart<T>,
    n_classes: usize,
}

impl<T: Element> RunData<T> {
    fn load(
        args: &TrainArgs,
        source: Source,
        show_progress: bool,
        group: Option<Rc<dyn Collective>>,
    ) -> Result<Self> {
        let test_fraction = args.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION);
        let scale = match args.scale {
            Scale::Auto if source.has_own_split() => Scale::Global,
            Scale::Auto => Scale::Standard,
            other => other,
        };
        if args.stream {
            let streamed =
                stream::load::<T>(args, &source, scale, test_fraction, show_progress, group)?;
            check_classes(&streamed.class_counts, &source)?;
            return Ok(RunData {
                source,
                test_fraction,
                scale,
                scaler: streamed.scaler,
                train: streamed.train,
                test: streamed.test,
                n_classes: streamed.class_counts.len(),
            });
        }
        let csv = csv_options(args.delimiter, args.classes);
        let (mut train, mut test) = source.load_split::<T>(
            args.label_column(),
            &csv,
            test_fraction,
            args.seed,
            show_progress,
        )?;
        check_classes(&train.class_counts().unwrap_or_default(), &source)?;
        let scaler = fit_scaler(scale, train.features())?;
        if let Some(scaler) = &scaler {
            scaler.apply(&mut train)?;
            scaler.apply(&mut test)?;
        }
        let n_classes = train
            .n_classes()
            .expect("internal error: the command line reads classification data");
        Ok(RunData {
            source,
            test_fraction,
            scale,
            scaler,
            train: RunPart::Memory(train),
            test: RunPart::Memory(test),
            n_classes,
        })
    }
}

/// An error if the training part's samples (`counts` per class) are all of one class.
fn check_classes(counts: &[usize], source: &Source) -> Result<()> {
    let present = counts
        .iter()
        .enumerate()
        .filter(|&(_, &n)| n > 0)
        .map(|(class, _)| class)
        .collect::<Vec<usize>>();
    if let [only] = present.as_slice() {
        return Err(TrainError::invalid(
            "--data",
            format!(
                "every sample of the training part of {} is of class {only}; a classifier needs samples of at least two classes to learn from",
                source.describe()
            ),
        ));
    }
    Ok(())
}

/// The optimiser's settings, the options' defaults filled in.
struct OptimizerSettings {
    lr: f64,
    weight_decay: f64,
    /// SGD only.
    momentum: f64,
}

impl OptimizerSettings {
    fn from_args(args: &TrainArgs) -> Self {
        OptimizerSettings {
            lr: args.lr.unwrap_or(args.optimizer.default_lr()),
            weight_decay: args.weight_decay.unwrap_or(match args.optimizer {
                OptimizerName::Adamw => AdamConfig::adamw().weight_decay,
                _ => 0.0,
            }),
            momentum: args.momentum.unwrap_or(0.9),
        }
    }
}

/// The lines above the table: the model, the data, the optimiser and the rest of the run.
fn write_setup<T: Element>(
    out: &mut dyn Write,
    args: &TrainArgs,
    data: &RunData<T>,
    mlp: &Mlp<T>,
    settings: &OptimizerSettings,
    ranks: usize,
) -> Result<()> {
    say!(out, "model: {}", describe(mlp, args.activation))?;
    say!(
        out,
        "data: {}: {} training and {} test samples, {} features, {} classes",
        data.source.describe(),
        thousands(data.train.len()),
        thousands(data.test.len()),
        data.train.n_features(),
        data.n_classes
    )?;
    let OptimizerSettings {
        lr,
        weight_decay,
        momentum,
    } = settings;
    let optimiser = match args.optimizer {
        OptimizerName::Sgd => format!("sgd (momentum {momentum})"),
        OptimizerName::Adam => "adam".into(),
        OptimizerName::Adamw => "adamw".into(),
    };
    let schedule = match args.schedule {
        ScheduleName::Constant => String::new(),
        ScheduleName::Cosine => format!(" (cosine to {})", lr / 100.0),
    };
    say!(
        out,
        "training: {optimiser}, lr {lr}{schedule}, weight decay {weight_decay}, batch {}, {} epochs, seed {}, {} scaling\n",
        args.batch_size,
        args.epochs,
        args.seed,
        format!("{:?}", data.scale).to_lowercase()
    )?;
    if ranks > 1 {
        say!(
            out,
            "data parallel: {ranks} processes, each taking its share of every batch of {}\n",
            args.batch_size
        )?;
    }
    say!(out, "{HEADER}")
}

/// The trainer the options ask for, with the cosine schedule from `lr` if chosen.
fn trainer_for(args: &TrainArgs, lr: f64) -> Result<Trainer> {
    let trainer = Trainer::new(TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        eval_batch_size: EVAL_BATCH,
        shuffle: !args.no_shuffle,
        clip_grad_norm: args.clip_grad_norm,
        workers: args.workers,
    })?;
    Ok(match args.schedule {
        ScheduleName::Constant => trainer,
        ScheduleName::Cosine => {
            // Epoch e gets lr_min + (lr − lr_min)·(1 + cos(π·e/(epochs − 1)))/2: the full lr
            // first, lr/100 at the last epoch. A single epoch runs at lr.
            let t_max = (args.epochs - 1).max(1);
            trainer.with_schedule(CosineAnnealing::new(lr, lr / 100.0, t_max)?)
        }
    })
}

/// The evaluation on the test part after the last epoch.
fn final_test(history: &History) -> Evaluation {
    history
        .epochs
        .last()
        .expect("internal error: training ran no epoch")
        .test
        .expect("internal error: training evaluated no test data")
}

/// `test accuracy: 97.21% (349 of 359), test loss 0.1070, 0.5 s`.
fn result_line(test: &Evaluation, seconds: f64) -> String {
    let accuracy = test.accuracy.unwrap_or(f64::NAN);
    let correct = (accuracy * test.n_samples as f64).round() as usize;
    format!(
        "test accuracy: {:.2}% ({correct} of {}), test loss {:.4}, {seconds:.1} s",
        100.0 * accuracy,
        test.n_samples,
        test.loss,
    )
}

/// The metadata `--save` writes: the model's activation and scaling, what it was trained on
/// and how, and its test result.
fn saved_metadata<T: Element>(
    args: &TrainArgs,
    data: &RunData<T>,
    mlp: &Mlp<T>,
    lr: f64,
    test: &Evaluation,
) -> BTreeMap<String, String> {
    let mut meta = run_metadata(args, data, mlp, lr);
    meta.insert(
        "test_accuracy".into(),
        test.accuracy.unwrap_or(f64::NAN).to_string(),
    );
    meta.insert("test_loss".into(), test.loss.to_string());
    meta
}

/// The metadata of a run, without its results: the model, the data and the options.
fn run_metadata<T: Element>(
    args: &TrainArgs,
    data: &RunData<T>,
    mlp: &Mlp<T>,
    lr: f64,
) -> BTreeMap<String, String> {
    let mut meta = model_file::metadata_for(mlp, args.activation, data.scaler.as_ref());
    meta.insert("data".into(), data.source.describe());
    if !data.source.has_own_split() {
        meta.insert("test_fraction".into(), data.test_fraction.to_string());
        meta.insert("split_seed".into(), args.seed.to_string());
        meta.insert("split".into(), model_file::SPLIT_METHOD.into());
    }
    if matches!(data.source, Source::Csv(_)) {
        meta.insert("label_column".into(), args.label_column().to_string());
    }
    meta.insert("epochs".into(), args.epochs.to_string());
    meta.insert("batch_size".into(), args.batch_size.to_string());
    meta.insert(
        "optimizer".into(),
        format!("{:?}", args.optimizer).to_lowercase(),
    );
    meta.insert("lr".into(), lr.to_string());
    meta.insert("seed".into(), args.seed.to_string());
    meta.insert(
        "schedule".into(),
        format!("{:?}", args.schedule).to_lowercase(),
    );
    let settings = OptimizerSettings::from_args(args);
    meta.insert("weight_decay".into(), settings.weight_decay.to_string());
    if args.optimizer == OptimizerName::Sgd {
        meta.insert("momentum".into(), settings.momentum.to_string());
    }
    meta.insert("shuffle".into(), (!args.no_shuffle).to_string());
    if let RunPart::Stream(stream, _) = &data.train {
        meta.insert(
            "stream_shuffle_buffer".into(),
            stream.shuffle_buffer().to_string(),
        );
    }
    if let Some(max_norm) = args.clip_grad_norm {
        meta.insert("clip_grad_norm".into(), max_norm.to_string());
    }
    meta
}

/// The metadata keys that must be the same for `--resume` to continue a run: everything that
/// decides the data, the model, the batches and the optimiser but the learning rate (and the
/// epochs, unless the cosine schedule depends on them).
const RUN_IDENTITY: [&str; 18] = [
    "data",
    "test_fraction",
    "split_seed",
    "split",
    "label_column",
    "activation",
    "sizes",
    "input_mean",
    "input_std",
    "batch_size",
    "optimizer",
    "seed",
    "schedule",
    "weight_decay",
    "momentum",
    "shuffle",
    "clip_grad_norm",
    "stream_shuffle_buffer",
];

/// Checks that the run saved in `path` (with `--save-state`) is the one these options
/// describe, and returns the epochs it has done.
fn check_resume<T: Element>(
    path: &std::path::Path,
    args: &TrainArgs,
    data: &RunData<T>,
    mlp: &Mlp<T>,
    lr: f64,
) -> Result<usize> {
    let saved = crate::checkpoint::load::<T>(path)?;
    let option = |e: &str| TrainError::invalid("--resume", format!("{}: {e}", path.display()));
    let done = saved
        .metadata
        .get(crate::resume::EPOCHS_DONE_KEY)
        .and_then(|v| v.parse::<usize>().ok())
        .ok_or_else(|| {
            option("holds no training state; a run can be continued from a file written with --save-state")
        })?;
    let mine = run_metadata(args, data, mlp, lr);
    let mut keys = RUN_IDENTITY.to_vec();
    if args.schedule == ScheduleName::Cosine {
        keys.push("epochs");
    }
    for key in keys {
        let (theirs, ours) = (saved.metadata.get(key), mine.get(key));
        if theirs != ours {
            let show = |v: Option<&String>| v.map_or("nothing".to_string(), |v| format!("`{v}`"));
            return Err(option(&format!(
                "the run was saved with {key} {}, but these options give {}; give the options of the run to continue it{}",
                show(theirs),
                show(ours),
                if key == "epochs" {
                    " (the cosine schedule depends on the number of epochs)"
                } else {
                    ""
                }
            )));
        }
    }
    if done >= args.epochs {
        return Err(option(&format!(
            "the run has done {done} epochs already; give --epochs more than {done} to train it further"
        )));
    }
    Ok(done)
}

/// The scaling `--scale` asks for, fitted on `features` `[n, d]`.
fn fit_scaler<T: Element>(scale: Scale, features: &Array<T>) -> Result<Option<Standardizer>> {
    match scale {
        Scale::None => Ok(None),
        Scale::Auto => panic!("internal error: --scale auto is resolved before fitting"),
        Scale::Standard => Standardizer::fit(features).map(Some),
        Scale::Global => {
            // The mean and (population) deviation of every value, in f64 with two passes,
            // repeated per feature; no deviation at all (a constant table) is taken as 1.
            let (d, values) = (features.shape()[1], features.data());
            let n = values.len().max(1) as f64;
            let mean = values.iter().map(|v| v.as_f64()).sum::<f64>() / n;
            let var = values
                .iter()
                .map(|v| (v.as_f64() - mean).powi(2))
                .sum::<f64>()
                / n;
            let std = if var > 0.0 { var.sqrt() } else { 1.0 };
            Standardizer::from_parts(vec![mean; d], vec![std; d]).map(Some)
        }
    }
}

/// Everything one training run needs but the optimiser, whose type varies.
struct Fit<'a, 'o, T: Element> {
    trainer: &'a mut Trainer,
    /// The `--resume` file, read into the model and optimiser before training.
    resume_from: Option<&'a std::path::Path>,
    mlp: &'a mut Mlp<T>,
    train: &'a RunPart<T>,
    test: &'a RunPart<T>,
    progress: &'a mut Progress,
    out: &'a mut (dyn Write + 'o),
    quiet: bool,
    /// Every epoch's statistics, as they come: the history so far if training fails.
    epochs: &'a mut Vec<EpochStats>,
    /// With `--save-state`: the optimiser's state and learning rate at the end.
    final_state: &'a mut Option<(OptimizerState<T>, f64)>,
}

impl<T: Element> Fit<'_, '_, T> {
    /// Runs with the optimiser `name`, built from `settings`.
    fn run_with(&mut self, name: OptimizerName, settings: &OptimizerSettings) -> Result<History> {
        let &OptimizerSettings {
            lr,
            weight_decay,
            momentum,
        } = settings;
        match name {
            OptimizerName::Sgd => self.run(&mut Sgd::new(SgdConfig {
                lr,
                momentum,
                weight_decay,
                ..SgdConfig::default()
            })?),
            OptimizerName::Adam => self.run(&mut Adam::new(AdamConfig {
                lr,
                weight_decay,
                ..AdamConfig::default()
            })?),
            OptimizerName::Adamw => self.run(&mut AdamW::new(AdamConfig {
                lr,
                weight_decay,
                ..AdamConfig::default()
            })?),
        }
    }

    /// Trains with `opt`, reporting every event to the progress bar and every epoch's row
    /// to the output.
    fn run<O: Optimizer<T>>(&mut self, opt: &mut O) -> Result<History> {
        if let Some(path) = self.resume_from {
            self.trainer.load_state(path, self.mlp, opt)?;
        }
        let mut failed = None;
        let (progress, out, quiet) = (&mut *self.progress, &mut *self.out, self.quiet);
        let epochs = &mut *self.epochs;
        let mut on_event = |event: &Event<'_>| {
            match event {
                Event::EpochStart {
                    epoch, n_batches, ..
                } => progress.epoch_start(*epoch, *n_batches),
                Event::Batch {
                    epoch, size, loss, ..
                } => progress.batch(*epoch, *size, *loss),
                Event::EpochEnd(stats) => {
                    epochs.push((*stats).clone());
                    if !quiet {
                        let line = report::row(stats);
                        if let Err(e) = progress.println(out, &line) {
                            failed = Some(e);
                            return Control::Stop;
                        }
                    }
                }
            }
            Control::Continue
        };
        let history = match (self.train, self.test) {
            (RunPart::Memory(train), RunPart::Memory(test)) => {
                self.trainer
                    .fit(self.mlp, opt, train, Some(test), &mut on_event)?
            }
            (RunPart::Stream(train, _), test) => self.trainer.fit_stream(
                self.mlp,
                opt,
                train,
                Some(test.evaluator()),
                &mut on_event,
            )?,
            (RunPart::Memory(_), RunPart::Stream(..)) => {
                panic!("internal error: a test part streamed for a training part in memory")
            }
        };
        *self.final_state = Some((opt.state()?, opt.lr()));
        match failed {
            Some(e) => Err(e),
            None => Ok(history),
        }
    }
}
