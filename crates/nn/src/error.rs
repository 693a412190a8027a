//! [`NnError`]: everything that can go wrong in the nn crate, as one enum.

use tape::{Shape, TapeError};

/// Errors of the nn crate: labels out of range, batch sizes that disagree, tensors of the wrong
/// rank or shape, invalid configurations, and errors of the tape underneath.
///
/// Messages name the function and what is wrong:
/// ```
/// use nn::loss::softmax_cross_entropy;
/// let tape = tape::Tape::<f64>::new();
/// let logits = tape.zeros(&[4, 10]);
/// let err = softmax_cross_entropy(logits, &[0, 1, 2, 12]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "softmax_cross_entropy: label 12 at row 3 is out of range for 10 classes"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// A class label is not below the number of classes.
    #[error("{op}: label {label} at row {row} is out of range for {n_classes} classes")]
    LabelOutOfRange {
        /// The function called.
        op: &'static str,
        /// The offending label.
        label: usize,
        /// Its row in the batch.
        row: usize,
        /// The number of classes (columns of the input).
        n_classes: usize,
    },
    /// The number of labels differs from the number of rows.
    #[error("{op}: {n_labels} labels for a batch of {batch} rows")]
    BatchMismatch {
        /// The function called.
        op: &'static str,
        /// How many labels were given.
        n_labels: usize,
        /// How many rows the input has.
        batch: usize,
    },
    /// A tensor does not have the rank (or the form) the function needs.
    #[error("{op}: expected {expected}, got shape {shape:?}")]
    BadShape {
        /// The function called.
        op: &'static str,
        /// What was expected, in words (e.g. `a 2-D tensor [batch, classes]`).
        expected: &'static str,
        /// The shape given.
        shape: Shape,
    },
    /// Two shapes that must agree do not.
    #[error("{op}: {what}: {lhs:?} vs {rhs:?}")]
    ShapeMismatch {
        /// The function called.
        op: &'static str,
        /// What must agree, in words (e.g. `prediction and target shapes differ`).
        what: &'static str,
        /// The first shape.
        lhs: Shape,
        /// The second shape.
        rhs: Shape,
    },
    /// An argument or configuration value is invalid.
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The function or constructor called.
        op: &'static str,
        /// What is wrong, in words.
        message: String,
    },
    /// A named parameter does not fit: missing, unexpected, or of another shape (loading a
    /// [`StateDict`](crate::StateDict)).
    ///
    /// ```
    /// use nn::{Init, Linear, Model};
    /// let mut small = Linear::<f64>::new(2, 1, Init::Zeros, 0);
    /// let big = Linear::<f64>::new(3, 1, Init::Zeros, 0);
    /// let err = small.load_state_dict(&big.state_dict()).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "load_state_dict: parameter `weight`: shape [1, 3] in the state dict, but the model's is [1, 2]"
    /// );
    /// ```
    #[error("{op}: parameter `{name}`: {message}")]
    Parameter {
        /// The function called.
        op: &'static str,
        /// The parameter's (or the entry's) name.
        name: String,
        /// What is wrong, in words, with both shapes where shapes differ.
        message: String,
    },
    /// An error of the tape underneath.
    #[error(transparent)]
    Tape(#[from] TapeError),
}

impl NnError {
    pub(crate) fn bad_shape(op: &'static str, expected: &'static str, shape: &[usize]) -> Self {
        NnError::BadShape {
            op,
            expected,
            shape: Shape::from_slice(shape),
        }
    }

    pub(crate) fn mismatch(
        op: &'static str,
        what: &'static str,
        lhs: &[usize],
        rhs: &[usize],
    ) -> Self {
        NnError::ShapeMismatch {
            op,
            what,
            lhs: Shape::from_slice(lhs),
            rhs: Shape::from_slice(rhs),
        }
    }

    pub(crate) fn invalid(op: &'static str, message: impl Into<String>) -> Self {
        NnError::InvalidArgument {
            op,
            message: message.into(),
        }
    }
}
