//! Where the command line's data comes from: the built-in digits, an IDX directory, or a CSV
//! file; and how each is split into training and test parts.

use std::path::{Path, PathBuf};

use tape::{Array, Element};

use super::report::LoadBar;
use crate::data::csv::CsvOptions;
use crate::data::{self, Dataset};
use crate::{Result, TrainError};

/// The fraction of the digits or of a CSV file held out for testing when none is given.
pub(crate) const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// A data source named by `--data`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// The digits embedded in the binary.
    Digits,
    /// A directory of MNIST-style IDX files, with their own test split.
    Idx(PathBuf),
    /// A CSV file, split by a seeded fraction.
    Csv(PathBuf),
}

impl Source {
    /// The source `--data` names: none is the digits, a directory is IDX, a file is CSV.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] naming `--data` if the path does not exist.
    pub(crate) fn from_arg(data: Option<&Path>) -> Result<Self> {
        let Some(path) = data else {
            return Ok(Source::Digits);
        };
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Ok(Source::Idx(path.to_path_buf())),
            Ok(_) => Ok(Source::Csv(path.to_path_buf())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(TrainError::invalid(
                "--data",
                format!(
                    "`{}` does not exist; give a directory of IDX files (MNIST) or a CSV file",
                    path.display()
                ),
            )),
            Err(e) => Err(TrainError::io(path, e)),
        }
    }

    /// Whether the source has a test split of its own (rather than a seeded fraction).
    pub(crate) fn has_own_split(&self) -> bool {
        matches!(self, Source::Idx(_))
    }

    /// An error unless the data is a CSV file, when `--label-column` was given: the other
    /// sources have no columns to choose from.
    pub(crate) fn check_label_column(&self, given: Option<&str>) -> Result<()> {
        match (self, given) {
            (Source::Csv(_), _) | (_, None) => Ok(()),
            (_, Some(name)) => Err(TrainError::invalid(
                "--label-column",
                format!(
                    "{} has no columns to take `{name}` from; the option applies to CSV files",
                    self.describe()
                ),
            )),
        }
    }

    /// A description for the program's output.
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::Digits => "the built-in digits".into(),
            Source::Idx(dir) => format!("IDX directory {}", dir.display()),
            Source::Csv(file) => file.display().to_string(),
        }
    }

    /// An error naming the option if a CSV-only option was given for other data.
    pub(crate) fn check_csv_option(&self, option: &'static str, given: bool) -> Result<()> {
        if given && !matches!(self, Source::Csv(_)) {
            return Err(TrainError::invalid(
                option,
                format!("applies to CSV files, and {} is not one", self.describe()),
            ));
        }
        Ok(())
    }

    /// `(train, test)`: the IDX files' own parts, or a split of `test_fraction` with `seed`.
    pub(crate) fn load_split<T: Element>(
        &self,
        label_column: &str,
        csv: &CsvOptions,
        test_fraction: f64,
        seed: u64,
        show_progress: bool,
    ) -> Result<(Dataset<T>, Dataset<T>)> {
        let all = match self {
            Source::Idx(dir) => return data::mnist(dir),
            Source::Digits => data::digits()?,
            Source::Csv(file) => {
                let counter = data::ReadCounter::new();
                let total = std::fs::metadata(file).map_or(0, |m| m.len());
                let _bar = LoadBar::start(show_progress, "loading", total, &counter);
                csv.read_classification_counting(file, label_column, &counter)?
            }
        };
        // The split's own error names a function; say which file and option instead.
        all.split(test_fraction, seed).map_err(|e| match e {
            TrainError::InvalidArgument { message, .. } => {
                TrainError::invalid("--test-fraction", format!("{}: {message}", self.describe()))
            }
            other => other,
        })
    }

    /// Every sample, for `--split all`: for IDX the training files then the test files.
    pub(crate) fn load_all<T: Element>(
        &self,
        label_column: &str,
        csv: &CsvOptions,
    ) -> Result<Samples<T>> {
        match self {
            Source::Digits => Ok(Samples::from_dataset(data::digits()?)),
            Source::Idx(dir) => {
                let (train, test) = data::mnist::<T>(dir)?;
                Ok(Samples::concat(train, test))
            }
            Source::Csv(file) => {
                let (features, labels) = csv.read_features(file, label_column)?;
                Ok(Samples { features, labels })
            }
        }
    }
}

/// Features, with their labels if the data has them.
#[derive(Clone, Debug)]
pub(crate) struct Samples<T: Element> {
    /// `[n, d]`.
    pub(crate) features: Array<T>,
    /// One per row, if known.
    pub(crate) labels: Option<Vec<usize>>,
}

impl<T: Element> Samples<T> {
    pub(crate) fn from_dataset(ds: Dataset<T>) -> Self {
        let labels = ds.labels().map(<[usize]>::to_vec);
        Samples {
            features: ds.into_parts().0,
            labels,
        }
    }

    fn concat(a: Dataset<T>, b: Dataset<T>) -> Self {
        let d = a.n_features();
        let n = a.len() + b.len();
        let mut labels = a.labels().unwrap_or_default().to_vec();
        labels.extend_from_slice(b.labels().unwrap_or_default());
        let mut values = a.into_parts().0.into_vec();
        values.extend_from_slice(b.features().data());
        Samples {
            features: Array::from_vec(values, &[n, d])
                .expect("internal error: concatenated features have the wrong length"),
            labels: Some(labels),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.features.shape()[0]
    }

    pub(crate) fn n_features(&self) -> usize {
        self.features.shape()[1]
    }
}
