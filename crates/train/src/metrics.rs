//! Metrics: accuracy from logits, running means of the loss, confusion matrices.
//!
//! ```
//! use tape::Array;
//! use train::metrics::{Accuracy, RunningMean};
//!
//! let mut acc = Accuracy::default();
//! let mut loss = RunningMean::default();
//! // Two batches: logits [b, classes] and labels.
//! let logits = Array::from_vec(vec![2.0f32, 1.0, 0.0, 3.0], &[2, 2])?;
//! acc.add(&logits, &[0, 0])?;          // row 0 → class 0 (right), row 1 → class 1 (wrong)
//! loss.add(0.7, 2);
//! let logits = Array::from_vec(vec![0.0f32, 5.0], &[1, 2])?;
//! acc.add(&logits, &[1])?;             // right
//! loss.add(0.1, 1);
//! assert_eq!(acc.value(), Some(2.0 / 3.0));
//! assert!((loss.mean().unwrap() - 0.5).abs() < 1e-15);   // (0.7·2 + 0.1·1) / 3
//! # Ok::<(), train::TrainError>(())
//! ```

use std::fmt;

use tape::{Array, Element};

use crate::{Result, TrainError};

/// The index of the largest value in each row of `logits` `[n, k]` — the predicted class.
/// Ties go to the lowest index; NaNs are never the largest (a row of NaNs predicts class 0).
///
/// ```
/// let logits = tape::Array::from_vec(vec![0.1f64, 0.7, 0.2, 5.0, 5.0, -1.0], &[2, 3])?;
/// assert_eq!(train::metrics::argmax_rows(&logits)?, vec![1, 0]);
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// [`TrainError::InvalidArgument`] if `logits` is not 2-D with at least one column.
pub fn argmax_rows<T: Element>(logits: &Array<T>) -> Result<Vec<usize>> {
    if logits.ndim() != 2 || logits.shape()[1] == 0 {
        return Err(TrainError::invalid(
            "argmax_rows",
            format!(
                "logits must be 2-D [n, classes] with at least one class, not {:?}",
                logits.shape()
            ),
        ));
    }
    let k = logits.shape()[1];
    Ok(logits
        .data()
        .chunks_exact(k)
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate().skip(1) {
                if v > row[best] || (row[best].is_nan() && !v.is_nan()) {
                    best = j;
                }
            }
            best
        })
        .collect())
}

/// How many rows of `logits` `[n, k]` have their largest value at the row's label.
///
/// # Errors
/// [`TrainError::InvalidArgument`] if `logits` is not 2-D, `labels` has not `n` entries, or
/// a label is `>= k`.
///
/// ```
/// use tape::Array;
/// // row-wise argmax: 0, 1, 0
/// let logits = Array::from_vec(vec![2.0f64, 1.0, 0.0, 3.0, 5.0, 4.0], &[3, 2])?;
/// let n = train::metrics::count_correct(&logits, &[0, 1, 1])?;
/// assert_eq!(n, 2); // the last row predicts 0, its label is 1
/// # Ok::<(), train::TrainError>(())
/// ```
pub fn count_correct<T: Element>(logits: &Array<T>, labels: &[usize]) -> Result<usize> {
    let predictions = argmax_rows(logits)?;
    check_labels("count_correct", logits, labels)?;
    Ok(predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count())
}

/// The fraction of rows of `logits` `[n, k]` whose largest value is at the row's label.
///
/// ```
/// let logits = tape::Array::from_vec(vec![1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0], &[4, 2])?;
/// assert_eq!(train::metrics::accuracy(&logits, &[0, 1, 1, 1])?, 0.75);
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// As [`count_correct`], and if there are no rows.
pub fn accuracy<T: Element>(logits: &Array<T>, labels: &[usize]) -> Result<f64> {
    let correct = count_correct(logits, labels)?;
    if labels.is_empty() {
        return Err(TrainError::invalid("accuracy", "no samples"));
    }
    Ok(correct as f64 / labels.len() as f64)
}

fn check_labels<T: Element>(op: &'static str, logits: &Array<T>, labels: &[usize]) -> Result<()> {
    let (n, k) = (logits.shape()[0], logits.shape()[1]);
    if labels.len() != n {
        return Err(TrainError::invalid(
            op,
            format!("{} labels for {n} rows of logits", labels.len()),
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= k) {
        return Err(TrainError::invalid(
            op,
            format!("label {l} of row {i} is not below the number of classes, {k}"),
        ));
    }
    Ok(())
}

/// Accuracy accumulated over batches.
///
/// ```
/// use tape::Array;
/// // row-wise argmax: 0, 1, 0
/// let logits = Array::from_vec(vec![2.0f64, 1.0, 0.0, 3.0, 5.0, 4.0], &[3, 2])?;
/// let mut acc = train::metrics::Accuracy::default();
/// acc.add(&logits, &[0, 1, 1])?;
/// assert_eq!((acc.correct, acc.total), (2, 3));
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accuracy {
    /// Samples predicted right so far.
    pub correct: usize,
    /// Samples seen so far.
    pub total: usize,
}

impl Accuracy {
    /// Adds a batch of logits `[b, k]` and its labels.
    ///
    /// # Errors
    /// As [`count_correct`]; nothing is added then.
    ///
    /// ```
    /// use tape::Array;
    /// // row-wise argmax: 0, 1, 0
    /// let logits = Array::from_vec(vec![2.0f64, 1.0, 0.0, 3.0, 5.0, 4.0], &[3, 2])?;
    /// let mut acc = train::metrics::Accuracy::default();
    /// acc.add(&logits, &[0, 1, 1])?;
    /// acc.add(&Array::from_vec(vec![0.0f64, 1.0], &[1, 2])?, &[1])?;
    /// assert_eq!(acc.value(), Some(0.75)); // (2 + 1) / (3 + 1)
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn add<T: Element>(&mut self, logits: &Array<T>, labels: &[usize]) -> Result<()> {
        self.correct += count_correct(logits, labels)?;
        self.total += labels.len();
        Ok(())
    }

    /// `correct / total`, or `None` before any sample.
    ///
    /// ```
    /// use tape::Array;
    /// // row-wise argmax: 0, 1, 0
    /// let logits = Array::from_vec(vec![2.0f64, 1.0, 0.0, 3.0, 5.0, 4.0], &[3, 2])?;
    /// let mut acc = train::metrics::Accuracy::default();
    /// assert_eq!(acc.value(), None);
    /// acc.add(&logits, &[0, 1, 0])?;
    /// assert_eq!(acc.value(), Some(1.0));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn value(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
}

/// A weighted running mean, e.g. of the loss over an epoch: add each batch's mean loss with
/// the batch size as weight, and the result is the mean over samples even when the last batch
/// is smaller.
///
/// ```
/// let mut loss = train::metrics::RunningMean::default();
/// loss.add(1.0, 3); // a batch of 3 with mean loss 1
/// loss.add(3.0, 1); // a last batch of 1
/// assert_eq!(loss.mean(), Some(1.5)); // (3·1 + 1·3) / 4
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunningMean {
    sum: f64,
    weight: f64,
}

impl RunningMean {
    /// Adds `value` with weight `count` (e.g. a batch's mean loss and its size).
    ///
    /// ```
    /// let mut m = train::metrics::RunningMean::default();
    /// m.add(2.0, 1);
    /// m.add(5.0, 2);
    /// assert_eq!(m.mean(), Some(4.0)); // (2 + 2·5) / 3
    /// ```
    pub fn add(&mut self, value: f64, count: usize) {
        self.sum += value * count as f64;
        self.weight += count as f64;
    }

    /// The mean so far, or `None` before anything (of positive weight) was added.
    ///
    /// ```
    /// let mut m = train::metrics::RunningMean::default();
    /// assert_eq!(m.mean(), None);
    /// m.add(0.5, 4);
    /// assert_eq!(m.mean(), Some(0.5));
    /// ```
    pub fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }

    /// The total weight added.
    ///
    /// ```
    /// let mut m = train::metrics::RunningMean::default();
    /// m.add(1.0, 3);
    /// m.add(2.0, 2);
    /// assert_eq!(m.count(), 5.0);
    /// ```
    pub fn count(&self) -> f64 {
        self.weight
    }
}

/// A confusion matrix: `get(actual, predicted)` counts the samples of class `actual`
/// predicted as `predicted`.
///
/// ```
/// use tape::Array;
/// let mut cm = train::metrics::ConfusionMatrix::new(2);
/// let logits = Array::from_vec(vec![1.0f64, 0.0, 1.0, 0.0, 0.0, 1.0], &[3, 2])?;
/// cm.add(&logits, &[0, 1, 1])?;
/// assert_eq!((cm.get(0, 0), cm.get(1, 0), cm.get(1, 1)), (1, 1, 1));
/// assert_eq!(cm.recall(1), Some(0.5));
/// assert_eq!(cm.accuracy(), Some(2.0 / 3.0));
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    n_classes: usize,
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// An empty matrix for `n_classes` classes.
    ///
    /// ```
    /// let cm = train::metrics::ConfusionMatrix::new(3);
    /// assert_eq!(cm.n_classes(), 3);
    /// assert_eq!((cm.get(2, 1), cm.accuracy()), (0, None));
    /// ```
    pub fn new(n_classes: usize) -> Self {
        ConfusionMatrix {
            n_classes,
            counts: vec![0; n_classes * n_classes],
        }
    }

    /// The number of classes.
    ///
    /// ```
    /// assert_eq!(train::metrics::ConfusionMatrix::new(4).n_classes(), 4);
    /// ```
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Adds a batch of logits `[b, n_classes]` and its labels.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if the logits do not have `n_classes` columns or the
    /// labels do not fit them; nothing is added then.
    ///
    /// ```
    /// use tape::Array;
    /// // row-wise argmax: 0, 1, 0
    /// let logits = Array::from_vec(vec![2.0f64, 1.0, 0.0, 3.0, 5.0, 4.0], &[3, 2])?;
    /// let mut cm = train::metrics::ConfusionMatrix::new(2);
    /// cm.add(&logits, &[0, 1, 1])?;
    /// assert_eq!((cm.get(0, 0), cm.get(1, 1), cm.get(1, 0)), (1, 1, 1));
    /// assert!(cm.add(&logits, &[0, 1]).is_err()); // one label per row
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn add<T: Element>(&mut self, logits: &Array<T>, labels: &[usize]) -> Result<()> {
        let predictions = argmax_rows(logits)?;
        if logits.shape()[1] != self.n_classes {
            return Err(TrainError::invalid(
                "ConfusionMatrix::add",
                format!(
                    "logits have {} columns but the matrix has {} classes",
                    logits.shape()[1],
                    self.n_classes
                ),
            ));
        }
        check_labels("ConfusionMatrix::add", logits, labels)?;
        for (&p, &l) in predictions.iter().zip(labels) {
            self.counts[l * self.n_classes + p] += 1;
        }
        Ok(())
    }

    /// How many samples of class `actual` were predicted as `predicted`.
    ///
    /// # Panics
    /// If either class is `>= n_classes`.
    ///
    /// ```
    /// use tape::Array;
    /// // row-wise argmax: 0, 1, 0
    /// let logits = Array::from_vec(vec![2.0f64, 1.0, 0.0, 3.0, 5.0, 4.0], &[3, 2])?;
    /// let mut cm = train::metrics::ConfusionMatrix::new(2);
    /// cm.add(&logits, &[0, 1, 1])?;
    /// assert_eq!(cm.get(1, 0), 1); // the last sample: class 1 predicted as 0
    /// assert_eq!(cm.get(0, 1), 0);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn get(&self, actual: usize, predicted: usize) -> usize {
        assert!(
            actual < self.n_classes && predicted < self.n_classes,
            "ConfusionMatrix::get: class ({actual}, {predicted}) out of range for {} classes",
            self.n_classes
        );
        self.counts[actual * self.n_classes + predicted]
    }

    /// The fraction of all samples on the diagonal, or `None` if there are none.
    ///
    /// ```
    /// use tape::Array;
    /// // row-wise argmax: 0, 1, 0
    /// let logits = Array::from_vec(vec![2.0f64, 1.0, 0.0, 3.0, 5.0, 4.0], &[3, 2])?;
    /// let mut cm = train::metrics::ConfusionMatrix::new(2);
    /// cm.add(&logits, &[0, 1, 1])?;
    /// assert_eq!(cm.accuracy(), Some(2.0 / 3.0)); // two of three on the diagonal
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn accuracy(&self) -> Option<f64> {
        let total: usize = self.counts.iter().sum();
        let diag: usize = (0..self.n_classes).map(|c| self.get(c, c)).sum();
        (total > 0).then(|| diag as f64 / total as f64)
    }

    /// The fraction of class `c`'s samples predicted as `c`, or `None` if it has none.
    ///
    /// # Panics
    /// If `c >= n_classes`.
    ///
    /// ```
    /// use tape::Array;
    /// // row-wise argmax: 0, 1, 0
    /// let logits = Array::from_vec(vec![2.0f64, 1.0, 0.0, 0.0, 3.0, 0.0, 5.0, 4.0, 0.0], &[3, 3])?;
    /// let mut cm = train::metrics::ConfusionMatrix::new(3);
    /// cm.add(&logits, &[0, 1, 1])?;
    /// assert_eq!((cm.recall(0), cm.recall(1)), (Some(1.0), Some(0.5)));
    /// assert_eq!(cm.recall(2), None); // no sample of class 2
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn recall(&self, c: usize) -> Option<f64> {
        let row = &self.counts[c * self.n_classes..(c + 1) * self.n_classes];
        let total: usize = row.iter().sum();
        (total > 0).then(|| row[c] as f64 / total as f64)
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A table: one row per actual class, one column per predicted class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .counts
            .iter()
            .map(|c| c.to_string().len())
            .chain([self.n_classes.saturating_sub(1).to_string().len()])
            .max()
            .unwrap_or(1);
        write!(f, "actual\\predicted")?;
        for p in 0..self.n_classes {
            write!(f, " {p:>width$}")?;
        }
        for a in 0..self.n_classes {
            write!(f, "\n{a:>16}")?;
            for p in 0..self.n_classes {
                write!(f, " {:>width$}", self.get(a, p))?;
            }
        }
        Ok(())
    }
}
