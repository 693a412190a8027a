//! `tapegrad train`: load and split the data, scale it, build the MLP, train it with the
//! chosen optimiser and schedule, report, save and plot.

use std::io::Write;
use std::time::Instant;

use nn::Mlp;
use tape::{Array, Element};

use super::args::{OptimizerName, Scale, ScheduleName, TrainArgs};
use super::model_file::{self, describe, thousands};
use super::report::{self, HEADER, Progress, say};
use super::source::{DEFAULT_TEST_FRACTION, Source};
use super::{EVAL_BATCH, plot};
use crate::data::{Dataset, Standardizer};
use crate::optim::{Adam, AdamConfig, AdamW, CosineAnnealing, Optimizer, Sgd, SgdConfig};
use crate::trainer::{Control, Event, History, TrainConfig, Trainer};
use crate::{Result, TrainError};

/// `tapegrad train`.
pub(super) fn train<T: Element>(
    args: &TrainArgs,
    out: &mut dyn Write,
    show_progress: bool,
) -> Result<()> {
    let started = Instant::now();
    let source = Source::from_arg(args.data.as_deref())?;
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
    // Refuse an output path that cannot be written before training, not after it.
    check_output_dir("--save", args.save.as_deref())?;
    check_output_dir("--plot", args.plot.as_deref())?;
    let test_fraction = args.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION);
    let (mut train_set, mut test_set) =
        source.load_split::<T>(args.label_column(), test_fraction, args.seed)?;
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
        if matches!(source, Source::Csv(_)) {
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
