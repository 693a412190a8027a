//! [`TapeError`]: everything that can go wrong on a tape, as one enum.

use crate::Shape;

/// Errors of the tape crate: wrong shapes, bad indices, non-finite values found by anomaly
/// detection, and failed gradient checks.
///
/// Messages name the op and the shapes involved:
/// ```
/// use tape::{Tape, TapeError};
/// let tape = Tape::<f64>::new();
/// let a = tape.tensor_from_vec(vec![0.0; 12], &[3, 4]).unwrap();
/// let b = tape.tensor_from_vec(vec![0.0; 10], &[5, 2]).unwrap();
/// let err = a.try_matmul(b).unwrap_err();
/// assert_eq!(err.to_string(), "matmul: inner dimensions differ: lhs [3, 4], rhs [5, 2]");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TapeError {
    /// Two shapes that an op needs to agree do not.
    #[error("{op}: {what}: lhs {lhs:?}, rhs {rhs:?}")]
    ShapeMismatch {
        /// The op that was recorded.
        op: &'static str,
        /// What is wrong, e.g. `shapes cannot be broadcast`.
        what: &'static str,
        /// The first shape.
        lhs: Shape,
        /// The second shape.
        rhs: Shape,
    },
    /// An argument is invalid for the shape it is applied to (an axis out of range, a bad
    /// permutation, a slice past the end, a data length that does not fit the shape).
    #[error("{op}: {message} (shape {shape:?})")]
    InvalidArgument {
        /// The op or constructor.
        op: &'static str,
        /// What is wrong, in words.
        message: String,
        /// The shape it was applied to.
        shape: Shape,
    },
    /// An index is out of range.
    #[error("{op}: index {index} is out of range for a dimension of size {len} (shape {shape:?})")]
    IndexOutOfRange {
        /// The op.
        op: &'static str,
        /// The offending index.
        index: usize,
        /// The size of the dimension indexed.
        len: usize,
        /// The shape indexed.
        shape: Shape,
    },
    /// Anomaly detection found a NaN or infinity.
    #[error(
        "anomaly: {what} of `{op}` (node {node}, recorded at {location}) is not finite: {value}"
    )]
    NonFinite {
        /// `"value"` (forward) or `"gradient"` (backward).
        what: &'static str,
        /// The op's name.
        op: String,
        /// The node's index on the tape.
        node: usize,
        /// `file:line:column` of the code that recorded the op.
        location: String,
        /// The first non-finite number found.
        value: f64,
    },
    /// Handles of two different tapes were combined in one op. The `try_` forms and every
    /// other function that returns a `Result` report it; operators and the plain forms panic
    /// with the same message.
    ///
    /// ```
    /// use tape::{Tape, TapeError};
    /// let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    /// let err = t1.ones(&[2, 2]).try_matmul(t2.ones(&[2, 2])).unwrap_err();
    /// assert_eq!(err, TapeError::DifferentTapes { op: "matmul".into() });
    /// assert_eq!(err.to_string(), "matmul: operands belong to different tapes");
    /// ```
    #[error("{op}: operands belong to different tapes")]
    DifferentTapes {
        /// The op, or the custom function's name.
        op: String,
    },
    /// A custom function failed, or was used in a way it does not support.
    #[error("custom function `{name}`: {message}")]
    Custom {
        /// The function's name.
        name: String,
        /// What went wrong.
        message: String,
    },
}

impl TapeError {
    pub(crate) fn shape(
        op: &'static str,
        what: &'static str,
        lhs: &[usize],
        rhs: &[usize],
    ) -> Self {
        TapeError::ShapeMismatch {
            op,
            what,
            lhs: Shape::from_slice(lhs),
            rhs: Shape::from_slice(rhs),
        }
    }

    /// `Ok` if `a` and `b` are the same tape, else [`TapeError::DifferentTapes`] naming `op`.
    pub(crate) fn same_tape<T: crate::Element>(
        a: &crate::Tape<T>,
        b: &crate::Tape<T>,
        op: &str,
    ) -> Result<(), Self> {
        if std::ptr::eq(a, b) {
            Ok(())
        } else {
            Err(TapeError::DifferentTapes { op: op.to_string() })
        }
    }

    pub(crate) fn invalid(op: &'static str, message: impl Into<String>, shape: &[usize]) -> Self {
        TapeError::InvalidArgument {
            op,
            message: message.into(),
            shape: Shape::from_slice(shape),
        }
    }
}

/// `Result::unwrap` with the error's own message, for the panicking forms of the `try_` ops.
///
/// `#[track_caller]` here and on every method between it and the user's code makes the panic
/// name the user's line, not this crate's. A closure (`unwrap_or_else(|e| panic!(..))`) would
/// break that chain: closures do not take their caller's location.
pub(crate) trait OrPanic<V> {
    /// The value, or a panic with the error's message at the caller's location.
    fn or_panic(self) -> V;
}

impl<V> OrPanic<V> for Result<V, TapeError> {
    #[track_caller]
    #[inline]
    fn or_panic(self) -> V {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }
}
