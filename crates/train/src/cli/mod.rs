//! The `tapegrad` command-line program: train an MLP, evaluate saved weights, predict.
//!
//! `src/main.rs` of the `tapegrad` package only calls [`main`]; everything else is here, so it
//! can be tested and reused. [`run`] runs a parsed [`Cli`] and writes what the program prints
//! to any [`Write`]:
//!
//! ```
//! use clap::Parser;
//! use train::cli::{run, Cli};
//!
//! // Two epochs of a small MLP on the built-in digits, printing only the result.
//! let cli = Cli::try_parse_from(["tapegrad", "--hidden", "32", "--epochs", "2", "--quiet"])?;
//! let mut out = Vec::new();
//! run(cli, &mut out)?;
//! let out = String::from_utf8(out)?;
//! assert!(out.starts_with("test accuracy: "), "{out}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - `tapegrad` (or `tapegrad train`) trains: the data is split (unless it has a test split
//!   of its own), features are standardised with statistics of the training part, an MLP
//!   with the chosen hidden widths and activation is trained with softmax cross-entropy, and
//!   a table reports loss and accuracy per epoch. `--save` writes the weights (see
//!   [`crate::checkpoint`]; the activation and the standardisation go into the metadata),
//!   `--plot` the curves as SVG.
//! - `tapegrad evaluate --weights W` reports loss and accuracy of saved weights.
//! - `tapegrad predict --weights W` prints the predicted class of every sample.
//!
//! Every mistake in the input is an error naming what is wrong — an option's value, a file,
//! a line of a CSV file — and the program exits with a non-zero status, never a panic.

mod args;
mod model_file;
mod plot;
mod report;
mod source;

use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use nn::{BoundModel, Mlp, Model};
use tape::{Array, Element, Tape};

use crate::data::{Dataset, Standardizer};
use crate::metrics::argmax_rows;
use crate::optim::{Adam, AdamConfig, AdamW, CosineAnnealing, Optimizer, Sgd, SgdConfig};
use crate::trainer::{Control, Event, History, TrainConfig, Trainer};
use crate::{Result, TrainError};

pub use args::{
    ActivationName, Cli, Command, Dtype, EvaluateArgs, OptimizerName, PredictArgs, Scale,
    ScheduleName, Split, TrainArgs,
};
use model_file::{AnySavedMlp, SavedMlp, describe, thousands};
use report::{HEADER, Progress, say};
use source::{DEFAULT_TEST_FRACTION, Samples, Source};

/// Samples per forward pass in evaluation and prediction (memory only: results do not
/// depend on it).
const EVAL_BATCH: usize = 1000;

/// The program: parses the command line, runs it, prints any error to standard error, and
/// returns the exit status — 0 on success, 1 on an error, 2 for a command line that does not
/// parse (with `clap`'s message and usage).
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     train::cli::main()
/// }
/// ```
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // `tapegrad predict | head`: the reader has seen enough; that is not a failure.
        Err(TrainError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line, writing the program's output to `out`.
///
/// The progress bar of `train` goes to standard error, and only when both standard output
/// and standard error are terminals and `--quiet` is not given.
///
/// ```
/// use clap::Parser;
/// let cli = train::cli::Cli::try_parse_from(["tapegrad", "--data", "no/such/dir"])?;
/// let err = train::cli::run(cli, &mut Vec::new()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "--data: `no/such/dir` does not exist; give a directory of IDX files (MNIST) or a CSV file"
/// );
/// # Ok::<(), clap::Error>(())
/// ```
///
/// # Errors
/// Any [`TrainError`]: a missing or malformed data file or checkpoint, options that do not
/// go together, a model that does not fit the data, a non-finite loss, a file that cannot
/// be written.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    match cli.into_command() {
        Command::Train(args) => {
            let show = terminal && !args.quiet;
            match args.dtype {
                Dtype::F32 => train::<f32>(&args, out, show),
                Dtype::F64 => train::<f64>(&args, out, show),
            }
        }
        Command::Evaluate(args) => match model_file::load(&args.weights)? {
            AnySavedMlp::F32(m) => evaluate(&m, &args, out),
            AnySavedMlp::F64(m) => evaluate(&m, &args, out),
        },
        Command::Predict(args) => match model_file::load(&args.data.weights)? {
            AnySavedMlp::F32(m) => predict(&m, &args, out),
            AnySavedMlp::F64(m) => predict(&m, &args, out),
        },
    }
}

/// `tapegrad train`.
fn train<T: Element>(args: &TrainArgs, out: &mut dyn Write, show_progress: bool) -> Result<()> {
    let started = Instant::now();
    let source = Source::from_arg(args.data.as_deref())?;
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
    // Refuse an output path that cannot be written before training, not after it.
    check_output_dir("--save", args.save.as_deref())?;
    check_output_dir("--plot", args.plot.as_deref())?;
    let test_fraction = args.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION);
    let (mut train_set, mut test_set) =
        source.load_split::<T>(&args.label_column, test_fraction, args.seed)?;
    let scale = match args.scale {
        Scale::Auto if source.has_own_split() => Scale::Global,
        Scale::Auto => Scale::Standard,
        other => other,
    };
    let scaler = fit_scaler(scale, train_set.features())?;
    if let Some(scaler) = &scaler {
        scaler.apply(&mut train_set)?;
        scaler.apply(&mut test_set)?;
    }
    let n_classes = train_set
        .n_classes()
        .expect("internal error: the command line reads classification data");
    let mut sizes = vec![train_set.n_features()];
    sizes.extend(&args.hidden);
    sizes.push(n_classes);
    let mut mlp = Mlp::<T>::new(&sizes, args.activation.activation(), args.seed)?;

    let lr = args.lr.unwrap_or(args.optimizer.default_lr());
    let weight_decay = args.weight_decay.unwrap_or(match args.optimizer {
        OptimizerName::Adamw => AdamConfig::adamw().weight_decay,
        _ => 0.0,
    });
    let momentum = args.momentum.unwrap_or(0.9);
    let quiet = args.quiet;
    if !quiet {
        say!(out, "model: {}", describe(&mlp, args.activation))?;
        say!(
            out,
            "data: {}: {} training and {} test samples, {} features, {n_classes} classes",
            source.describe(),
            thousands(train_set.len()),
            thousands(test_set.len()),
            train_set.n_features()
        )?;
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
            format!("{scale:?}").to_lowercase()
        )?;
        say!(out, "{HEADER}")?;
    }

    let mut trainer = Trainer::new(TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        eval_batch_size: EVAL_BATCH,
    })?;
    if args.schedule == ScheduleName::Cosine {
        // Epoch e gets lr_min + (lr − lr_min)·(1 + cos(π·e/(epochs − 1)))/2: the full lr first,
        // lr/100 at the last epoch. A single epoch runs at lr.
        let t_max = (args.epochs - 1).max(1);
        trainer = trainer.with_schedule(CosineAnnealing::new(lr, lr / 100.0, t_max)?);
    }
    let mut progress = Progress::new(show_progress, args.epochs);
    let mut fit = Fit {
        trainer: &trainer,
        mlp: &mut mlp,
        train: &train_set,
        test: &test_set,
        progress: &mut progress,
        out: &mut *out,
        quiet,
    };
    let history = match args.optimizer {
        OptimizerName::Sgd => fit.run(&mut Sgd::new(SgdConfig {
            lr,
            momentum,
            weight_decay,
            ..SgdConfig::default()
        })?)?,
        OptimizerName::Adam => fit.run(&mut Adam::new(AdamConfig {
            lr,
            weight_decay,
            ..AdamConfig::default()
        })?)?,
        OptimizerName::Adamw => fit.run(&mut AdamW::new(AdamConfig {
            lr,
            weight_decay,
            ..AdamConfig::default()
        })?)?,
    };
    progress.finish();

    let last = history
        .epochs
        .last()
        .expect("internal error: training ran no epoch");
    let test = last
        .test
        .expect("internal error: training evaluated no test data");
    let accuracy = test.accuracy.unwrap_or(f64::NAN);
    let correct = (accuracy * test.n_samples as f64).round() as usize;
    if !quiet {
        say!(out)?;
    }
    say!(
        out,
        "test accuracy: {:.2}% ({correct} of {}), test loss {:.4}, {:.1} s",
        100.0 * accuracy,
        test.n_samples,
        test.loss,
        started.elapsed().as_secs_f64()
    )?;

    if let Some(path) = &args.save {
        let mut meta = model_file::metadata_for(&mlp, args.activation, scaler.as_ref());
        meta.insert("data".into(), source.describe());
        if !source.has_own_split() {
            meta.insert("test_fraction".into(), test_fraction.to_string());
            meta.insert("split_seed".into(), args.seed.to_string());
        }
        meta.insert("label_column".into(), args.label_column.clone());
        meta.insert("epochs".into(), args.epochs.to_string());
        meta.insert("batch_size".into(), args.batch_size.to_string());
        meta.insert(
            "optimizer".into(),
            format!("{:?}", args.optimizer).to_lowercase(),
        );
        meta.insert("lr".into(), lr.to_string());
        meta.insert("seed".into(), args.seed.to_string());
        meta.insert("test_accuracy".into(), accuracy.to_string());
        meta.insert("test_loss".into(), test.loss.to_string());
        model_file::save(path, &mlp, &meta)?;
        say!(out, "saved the weights to {}", path.display())?;
    }
    if let Some(path) = &args.plot {
        let title = format!(
            "{} on {}",
            describe(&mlp, args.activation),
            source.describe()
        );
        plot::write_svg(path, &history, &title)?;
        say!(out, "plotted loss and accuracy to {}", path.display())?;
    }
    Ok(())
}

/// Checks that the directory `path` would be written into exists.
fn check_output_dir(option: &'static str, path: Option<&std::path::Path>) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    if path.file_name().is_none() {
        return Err(TrainError::invalid(
            option,
            format!("`{}` does not name a file", path.display()),
        ));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(TrainError::invalid(
            option,
            format!(
                "cannot write `{}`: the directory `{}` does not exist",
                path.display(),
                dir.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// The scaling `--scale` asks for, fitted on `features` `[n, d]`.
fn fit_scaler<T: Element>(scale: Scale, features: &Array<T>) -> Result<Option<Standardizer>> {
    match scale {
        Scale::None | Scale::Auto => Ok(None),
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
    trainer: &'a Trainer,
    mlp: &'a mut Mlp<T>,
    train: &'a Dataset<T>,
    test: &'a Dataset<T>,
    progress: &'a mut Progress,
    out: &'a mut (dyn Write + 'o),
    quiet: bool,
}

impl<T: Element> Fit<'_, '_, T> {
    fn run<O: Optimizer<T>>(&mut self, opt: &mut O) -> Result<History> {
        let mut failed = None;
        let (progress, out, quiet) = (&mut *self.progress, &mut *self.out, self.quiet);
        let history = self
            .trainer
            .fit(self.mlp, opt, self.train, Some(self.test), |event| {
                match event {
                    Event::EpochStart {
                        epoch, n_batches, ..
                    } => progress.epoch_start(*epoch, *n_batches),
                    Event::Batch {
                        epoch, size, loss, ..
                    } => progress.batch(*epoch, *size, *loss),
                    Event::EpochEnd(stats) => {
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
            })?;
        match failed {
            Some(e) => Err(e),
            None => Ok(history),
        }
    }
}

/// `tapegrad evaluate`.
fn evaluate<T: Element>(
    saved: &SavedMlp<T>,
    args: &EvaluateArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let (samples, what) = select(saved, args)?;
    let Some(labels) = samples.labels else {
        return Err(TrainError::invalid(
            "--data",
            format!(
                "{what} has no `{}` column, and evaluation needs the labels (`tapegrad predict` does not); name the column with --label-column",
                args.label_column
            ),
        ));
    };
    let n_out = *saved
        .mlp
        .sizes()
        .last()
        .expect("internal error: an MLP has layers");
    check_labels(&labels, n_out, &what)?;
    let data = Dataset::classification(samples.features, labels, n_out)?;
    let eval = crate::trainer::evaluate(&saved.mlp, &data, EVAL_BATCH)?;
    let accuracy = eval.accuracy.unwrap_or(f64::NAN);
    say!(
        out,
        "model: {} ({})",
        saved.describe(),
        saved.path.display()
    )?;
    say!(out, "data: {what}: {} samples", thousands(eval.n_samples))?;
    say!(
        out,
        "accuracy: {:.2}% ({} of {}), loss {:.4}",
        100.0 * accuracy,
        (accuracy * eval.n_samples as f64).round() as usize,
        eval.n_samples,
        eval.loss
    )?;
    Ok(())
}

/// `tapegrad predict`.
fn predict<T: Element>(saved: &SavedMlp<T>, args: &PredictArgs, out: &mut dyn Write) -> Result<()> {
    let (samples, what) = select(saved, &args.data)?;
    let n = args.limit.map_or(samples.len(), |l| l.min(samples.len()));
    let d = samples.n_features();
    let mut out = BufWriter::new(out);
    let labels = samples.labels.as_deref();
    say!(
        out,
        "# {}, {} of the {} samples of {what}",
        saved.describe(),
        thousands(n),
        thousands(samples.len())
    )?;
    say!(
        out,
        "{}",
        if labels.is_some() {
            "sample  predicted  label"
        } else {
            "sample  predicted"
        }
    )?;
    let mut tape = Tape::<T>::new();
    let mut correct = 0;
    for start in (0..n).step_by(EVAL_BATCH) {
        let end = (start + EVAL_BATCH).min(n);
        let chunk = Array::from_vec(
            samples.features.data()[start * d..end * d].to_vec(),
            &[end - start, d],
        )?;
        let predicted = {
            let bound = saved.mlp.bind(&tape);
            let logits = bound.try_forward(tape.tensor_constant(chunk))?;
            logits.with_value(argmax_rows)?
        };
        tape.clear();
        for (i, p) in (start..end).zip(predicted) {
            match labels {
                Some(l) => {
                    correct += usize::from(l[i] == p);
                    say!(out, "{i:>6}  {p:>9}  {:>5}", l[i])?
                }
                None => say!(out, "{i:>6}  {p:>9}")?,
            }
        }
    }
    if labels.is_some() && n > 0 {
        say!(
            out,
            "# {correct} of {n} right ({:.2}%)",
            100.0 * correct as f64 / n as f64
        )?;
    }
    out.flush().map_err(report::stdout_error)
}

/// The samples `--data` and `--split` choose, standardised as the model's inputs were, and a
/// description of them.
fn select<T: Element>(saved: &SavedMlp<T>, args: &EvaluateArgs) -> Result<(Samples<T>, String)> {
    let source = Source::from_arg(args.data.as_deref())?;
    let n_in = saved.mlp.sizes()[0];
    let (mut samples, what) = match (&source, args.split) {
        (_, Some(Split::All)) => (source.load_all::<T>(&args.label_column)?, source.describe()),
        (Source::Idx(dir), split) => {
            let (train, test) = crate::data::mnist::<T>(dir)?;
            if split == Some(Split::Train) {
                (
                    Samples::from_dataset(train),
                    format!("{} (training files)", source.describe()),
                )
            } else {
                (
                    Samples::from_dataset(test),
                    format!("{} (test files)", source.describe()),
                )
            }
        }
        (_, split) => {
            let all = source.load_all::<T>(&args.label_column)?;
            match (all.labels, split) {
                // Unlabelled rows are data to predict, all of them.
                (None, None) => (
                    Samples {
                        features: all.features,
                        labels: None,
                    },
                    source.describe(),
                ),
                (None, Some(_)) => {
                    return Err(TrainError::invalid(
                        "--split",
                        format!(
                            "{} has no `{}` column, so it was not split for training; use --split all (the default for unlabelled data)",
                            source.describe(),
                            args.label_column
                        ),
                    ));
                }
                (Some(labels), split) => {
                    let split = split.unwrap_or(Split::Test);
                    let fraction = saved.meta_number::<f64>("test_fraction")?;
                    let seed = saved.meta_number::<u64>("split_seed")?;
                    let (Some(fraction), Some(seed)) = (fraction, seed) else {
                        return Err(TrainError::invalid(
                            "--split",
                            format!(
                                "{} does not record how a test part was drawn (it was trained on data with test files of its own); use --split all",
                                saved.path.display()
                            ),
                        ));
                    };
                    let n_classes = labels.iter().max().map_or(1, |m| m + 1);
                    let ds = Dataset::classification(all.features, labels, n_classes)?;
                    let (train, test) = ds.split(fraction, seed)?;
                    let (part, name) = if split == Split::Train {
                        (train, "training")
                    } else {
                        (test, "test")
                    };
                    (
                        Samples::from_dataset(part),
                        format!(
                            "{} ({name} part: fraction {fraction}, seed {seed})",
                            source.describe()
                        ),
                    )
                }
            }
        }
    };
    if samples.n_features() != n_in {
        return Err(TrainError::invalid(
            "--data",
            format!(
                "{what} has {} features per sample, but the model in {} takes {n_in}",
                samples.n_features(),
                saved.path.display()
            ),
        ));
    }
    if let Some(scaler) = &saved.scaler {
        samples.features = scaler.transform(&samples.features)?;
    }
    Ok((samples, what))
}

/// Checks that every label is one of the model's classes.
fn check_labels(labels: &[usize], n_out: usize, what: &str) -> Result<()> {
    match labels.iter().enumerate().find(|&(_, &l)| l >= n_out) {
        Some((i, &l)) => Err(TrainError::invalid(
            "--data",
            format!(
                "sample {i} of {what} has label {l}, but the model has only {n_out} classes (0 to {})",
                n_out - 1
            ),
        )),
        None => Ok(()),
    }
}
