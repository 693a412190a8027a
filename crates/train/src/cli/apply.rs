//! `tapegrad evaluate` and `tapegrad predict`: saved weights applied to a data set.

use std::io::{BufWriter, Write};

use nn::{BoundModel, Model};
use tape::{Array, Element, Tape};

use super::EVAL_BATCH;
use super::args::{EvaluateArgs, PredictArgs, Split, csv_options};
use super::model_file::{self, SavedMlp, thousands};
use super::report::{self, say};
use super::source::{Samples, Source};
use crate::data::Dataset;
use crate::metrics::argmax_rows;
use crate::{Result, TrainError};

/// `tapegrad evaluate`.
pub(super) fn evaluate<T: Element>(
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
                args.label_column()
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
    if !eval.loss.is_finite() {
        return Err(non_finite_outputs(
            saved,
            &what,
            format!("a loss of {}", eval.loss),
        ));
    }
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
pub(super) fn predict<T: Element>(
    saved: &SavedMlp<T>,
    args: &PredictArgs,
    out: &mut dyn Write,
) -> Result<()> {
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
            // A NaN among a row's outputs would make its argmax class 0: refuse it instead.
            if let Some((i, v)) = logits.with_value(|a| a.first_non_finite()) {
                let sample = start + i / logits.shape()[1];
                return Err(non_finite_outputs(
                    saved,
                    &what,
                    format!("an output of {} for sample {sample}", v.as_f64()),
                ));
            }
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
    source.check_label_column(args.label_column.as_deref())?;
    source.check_csv_option("--delimiter", args.delimiter.is_some())?;
    let csv = csv_options(args.delimiter, None);
    let n_in = saved.mlp.sizes()[0];
    let (mut samples, what) = match (&source, args.split) {
        (_, Some(Split::All)) => (
            source.load_all::<T>(args.label_column(), &csv)?,
            source.describe(),
        ),
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
            let all = source.load_all::<T>(args.label_column(), &csv)?;
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
                            args.label_column()
                        ),
                    ));
                }
                (Some(labels), split) => recorded_split(
                    saved,
                    &source,
                    all.features,
                    labels,
                    split.unwrap_or(Split::Test),
                )?,
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

/// The part of a labelled table (the digits, a CSV file) that training used as `split`,
/// drawn again with the fraction and seed recorded in the checkpoint.
fn recorded_split<T: Element>(
    saved: &SavedMlp<T>,
    source: &Source,
    features: Array<T>,
    labels: Vec<usize>,
    split: Split,
) -> Result<(Samples<T>, String)> {
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
    if saved.metadata.get("split").map(String::as_str) != Some(model_file::SPLIT_METHOD) {
        return Err(TrainError::invalid(
            "--split",
            format!(
                "{} records a test part drawn by an earlier version of tapegrad (the first rows of a seeded permutation), which this version does not draw again; use --split all, or train it again",
                saved.path.display()
            ),
        ));
    }
    // The split depends only on the number of samples and the seed, so the class count
    // given here does not matter.
    let n_classes = labels.iter().max().map_or(1, |m| m + 1);
    let (train, test) =
        Dataset::classification(features, labels, n_classes)?.split(fraction, seed)?;
    let (part, name) = match split {
        Split::Train => (train, "training"),
        _ => (test, "test"),
    };
    Ok((
        Samples::from_dataset(part),
        format!(
            "{} ({name} part: fraction {fraction}, seed {seed})",
            source.describe()
        ),
    ))
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

/// The error for a model whose outputs on `what` are not finite.
fn non_finite_outputs<T: Element>(saved: &SavedMlp<T>, what: &str, found: String) -> TrainError {
    TrainError::invalid(
        "--data",
        format!(
            "the model in {} gives {found} on {what}: the inputs are far outside what it was trained on, or the file is not the one it was trained for",
            saved.path.display()
        ),
    )
}
