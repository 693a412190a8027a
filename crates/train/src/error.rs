//! [`TrainError`]: everything that can go wrong while loading data, optimising and saving.

use std::path::PathBuf;

use nn::NnError;
use tape::TapeError;

/// The result type of this crate.
///
/// ```
/// use train::optim::{Sgd, SgdConfig};
/// let sgd: train::Result<Sgd<f64>> = Sgd::new(SgdConfig { lr: -1.0, ..SgdConfig::default() });
/// assert!(sgd.unwrap_err().to_string().contains("lr"));
/// ```
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// Errors of the train crate.
///
/// Every error about a file names the file; errors about a tensor in a checkpoint also name the
/// tensor, and errors about a CSV field name the line and the column:
/// ```
/// use train::TrainError;
/// let err = train::data::csv::read_classification::<f32>("no/such/file.csv", "label").unwrap_err();
/// assert!(matches!(err, TrainError::Io { .. }));
/// assert!(err.to_string().starts_with("no/such/file.csv: "));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// An error of the tape: a shape mismatch in a computation, a non-finite value found by
    /// anomaly detection, ...
    #[error(transparent)]
    Tape(#[from] TapeError),

    /// An error of the nn crate: a model that does not fit the data (input width, number of
    /// classes), an invalid loss configuration, ...
    #[error(transparent)]
    Nn(#[from] NnError),

    /// Training met a loss or gradient that is NaN or infinite. Training stopped, and the
    /// parameters were restored to the last ones whose loss was finite (or left as they were,
    /// if the bad value came before any update).
    #[error(
        "epoch {epoch}, batch {batch}: the {what} is {value}; training stopped and the parameters were restored to the last step with a finite loss"
    )]
    NonFinite {
        /// The epoch, counting from 0.
        epoch: usize,
        /// The batch within the epoch, counting from 0.
        batch: usize,
        /// What was not finite: `loss`, or `gradient of `layers.0.weight``.
        what: String,
        /// The first non-finite value seen.
        value: f64,
    },

    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or directory).
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A file was read but its contents are not what they should be: a bad magic number,
    /// dimensions that do not match, data shorter than its header says, a missing column, rows
    /// of different lengths, a broken gzip stream, a corrupt checkpoint.
    #[error("{}: {message}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        message: String,
    },

    /// A field of a CSV file could not be parsed.
    #[error("{}: line {line}, column {column} (`{column_name}`): {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1 (the header is line 1).
        line: usize,
        /// The column, counting from 1.
        column: usize,
        /// The column's name in the header.
        column_name: String,
        /// What is wrong with the field.
        message: String,
    },

    /// A checkpoint does not fit the parameters it is loaded into: a tensor is missing, has
    /// another shape or element type, or is not expected at all.
    #[error("{}: tensor `{tensor}`: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name, e.g. `layers.0.weight`.
        tensor: String,
        /// What is wrong.
        message: String,
    },

    /// An argument is invalid: a batch size of 0, an empty data set, a test fraction outside
    /// `(0, 1)`, a gradient whose shape differs from its parameter's, ...
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The function or method that refused the argument.
        op: &'static str,
        /// What is wrong, in words.
        message: String,
    },
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        TrainError::BadFile {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(op: &'static str, message: impl Into<String>) -> Self {
        TrainError::InvalidArgument {
            op,
            message: message.into(),
        }
    }
}
