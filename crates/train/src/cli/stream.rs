//! `--stream`: a CSV file read in passes, each epoch from the file, rather than loaded.

use std::rc::Rc;

use tape::Element;

use super::args::{Scale, TrainArgs, csv_options};
use super::report::LoadBar;
use super::source::Source;
use crate::data::stream::DEFAULT_SHUFFLE_BUFFER;
use crate::data::{CsvStream, Dataset, Part, ReadCounter, Spill, Standardizer, StreamOptions};
use crate::distributed::Collective;
use crate::trainer::Evaluate;
use crate::{Result, TrainError};

/// The training or the test part of a run: in memory, or a part of a file read each time.
pub(super) enum RunPart<T: Element> {
    Memory(Dataset<T>),
    Stream(CsvStream<T>, Part),
}

impl<T: Element> RunPart<T> {
    pub(super) fn len(&self) -> usize {
        match self {
            RunPart::Memory(d) => d.len(),
            RunPart::Stream(s, part) => s.len(*part),
        }
    }

    pub(super) fn n_features(&self) -> usize {
        match self {
            RunPart::Memory(d) => d.n_features(),
            RunPart::Stream(s, _) => s.n_features(),
        }
    }

    /// The samples, for [`Evaluate::evaluate`] and [`crate::trainer::Trainer::fit_stream`].
    pub(super) fn evaluator(&self) -> Evaluate<'_, T> {
        match self {
            RunPart::Memory(d) => Evaluate::Dataset(d),
            RunPart::Stream(s, part) => Evaluate::Stream(s, *part),
        }
    }
}

/// A run's streamed data.
pub(super) struct Streamed<T: Element> {
    /// The training part of the file, split as without `--stream`.
    pub(super) train: RunPart<T>,
    /// The test part: in memory if it is no larger than the shuffle buffer, else read from
    /// the file at each evaluation.
    pub(super) test: RunPart<T>,
    /// The scaler of the training part.
    pub(super) scaler: Option<Standardizer>,
    /// The training part's samples of each class.
    pub(super) class_counts: Vec<usize>,
}

/// The streamed data of the CSV file `source`, scaled as `scale` says (`Standard` or `None`).
pub(super) fn load<T: Element>(
    args: &TrainArgs,
    source: &Source,
    scale: Scale,
    test_fraction: f64,
    show_progress: bool,
    group: Option<Rc<dyn Collective>>,
) -> Result<Streamed<T>> {
    let Source::Csv(file) = source else {
        panic!("internal error: --stream is refused for data other than a CSV file");
    };
    let csv = csv_options(args.delimiter, args.classes);
    let spill = match (&args.spill_dir, args.no_spill) {
        (_, true) => Spill::Off,
        (Some(dir), false) => Spill::Dir(dir.clone()),
        (None, false) => Spill::TempDir,
    };
    // Three passes before training: the rows and classes, the means, the deviations; the
    // last two read the spill file (not counted: it is read at the speed of a copy).
    let counter = ReadCounter::new();
    let file_len = std::fs::metadata(file).map_or(0, |m| m.len());
    let (total, what) = match (&spill, &group) {
        (Spill::Off, None) => (3 * file_len, "reading (3 passes)"),
        (Spill::Off, Some(g)) => (3 * file_len / g.size() as u64, "reading (3 passes)"),
        (_, None) => (file_len, "reading"),
        (_, Some(g)) => (file_len / g.size() as u64, "reading"),
    };
    let bar = LoadBar::start(show_progress, what, total, &counter);
    let mut options = StreamOptions::new().spill(spill).counter(&counter);
    if let Some(group) = group {
        options = options.shard(group);
    }
    let stream = CsvStream::<T>::open_with(file, args.label_column(), &csv, &options)?
        .split(test_fraction, args.seed)
        .map_err(|e| match e {
            TrainError::InvalidArgument { message, .. } => TrainError::invalid(
                "--test-fraction",
                format!("{}: {message}", source.describe()),
            ),
            other => other,
        })?
        .with_shuffle_buffer(args.shuffle_buffer.unwrap_or(DEFAULT_SHUFFLE_BUFFER))?;
    let stats = stream.training_statistics()?;
    drop(bar);
    let scaler = match scale {
        Scale::Standard => Some(stats.standardizer),
        Scale::None => None,
        Scale::Auto | Scale::Global => {
            panic!("internal error: --stream scales per feature or not at all")
        }
    };
    let stream = stream.with_scaler(scaler.clone())?;
    // A share of the test part is evaluated from its file, so that the sums over the
    // processes make the whole part's.
    let test = if stream.shard().is_none() && stream.len(Part::Test) <= stream.shuffle_buffer() {
        RunPart::Memory(stream.load(Part::Test)?)
    } else {
        RunPart::Stream(stream.clone(), Part::Test)
    };
    Ok(Streamed {
        train: RunPart::Stream(stream, Part::Train),
        test,
        scaler,
        class_counts: stats.class_counts,
    })
}
