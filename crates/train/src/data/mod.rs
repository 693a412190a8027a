//! Data sets in memory, mini-batches, standardisation, and readers for IDX (MNIST) and CSV.
//!
//! A [`Dataset`] is a feature matrix `[n, d]` plus one target per sample: a class label or a
//! vector of real values. [`Dataset::split`] makes a seeded train/test split,
//! [`Standardizer`] scales features with statistics fitted on the training part, and
//! [`Dataset::shuffled_batches`] yields mini-batches in a new seeded order every epoch.
//!
//! ```
//! use train::data::{self, Standardizer};
//!
//! let digits = data::digits::<f32>()?;            // embedded: 1797 samples, 64 features
//! let (mut train, mut test) = digits.split(0.2, 42)?;
//! let scaler = Standardizer::fit(train.features())?;
//! scaler.apply(&mut train)?;
//! scaler.apply(&mut test)?;
//! for epoch in 0..2 {
//!     for batch in train.shuffled_batches(64, 7, epoch)? {
//!         assert_eq!(batch.features.shape()[1], 64);
//!         assert_eq!(batch.labels().unwrap().len(), batch.len());
//!     }
//! }
//! # Ok::<(), train::TrainError>(())
//! ```

pub mod csv;
pub mod idx;
mod loader;
mod read;
mod sampler;
mod shuffle;
mod standardize;
pub mod stream;

use tape::{Array, Element};

use crate::{Result, TrainError};

pub use idx::mnist;
pub use loader::{Batch, BatchTargets, Batches};
pub use read::ReadCounter;
pub use sampler::Sampler;
pub use standardize::Standardizer;
pub use stream::{CsvStream, Part, Spill, StreamBatches, StreamOptions, TrainingStatistics};

/// The largest number of classes a classification data set may have (labels are below it).
///
/// It guards against a corrupt label such as `4000000000` silently asking for billions of
/// classes (and the memory of a confusion matrix that size).
pub const MAX_CLASSES: usize = 1 << 16;

/// What a data set predicts for each sample.
///
/// ```
/// use tape::Array;
/// use train::data::{Dataset, Targets};
/// let ds = Dataset::classification(Array::<f64>::zeros(&[2, 1]), vec![1, 0], 3)?;
/// assert_eq!(ds.targets(), &Targets::Classes { labels: vec![1, 0], n_classes: 3 });
/// let reg = Dataset::regression(Array::<f64>::zeros(&[2, 1]), Array::ones(&[2, 1]))?;
/// assert!(matches!(reg.targets(), Targets::Values(v) if v.shape() == [2, 1]));
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<T: Element> {
    /// One class index per sample, each below `n_classes`.
    Classes {
        /// The labels, one per sample.
        labels: Vec<usize>,
        /// The number of classes.
        n_classes: usize,
    },
    /// Real-valued targets, `[n, k]`: `k` values per sample (regression).
    Values(Array<T>),
}

/// An in-memory data set: features `[n, d]` and one target per sample.
///
/// ```
/// use tape::Array;
/// use train::data::Dataset;
///
/// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2])?;
/// let ds = Dataset::classification(x, vec![0, 1, 1], 2)?;
/// assert_eq!((ds.len(), ds.n_features()), (3, 2));
/// assert_eq!(ds.class_counts(), Some(vec![1, 2]));
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T: Element> {
    features: Array<T>,
    targets: Targets<T>,
}

impl<T: Element> Dataset<T> {
    /// A classification data set: `features` `[n, d]`, one label per row, each below
    /// `n_classes`.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `features` is not 2-D, the number of labels is not
    /// `n`, a label is `>= n_classes`, or `n_classes` is 0 or above [`MAX_CLASSES`].
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2])?;
    /// let ds = Dataset::classification(x.clone(), vec![0, 1, 1], 2)?;
    /// assert_eq!((ds.len(), ds.n_features(), ds.n_classes()), (3, 2, Some(2)));
    /// assert!(Dataset::classification(x, vec![0, 2, 1], 2).is_err()); // label 2 of 2 classes
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn classification(
        features: Array<T>,
        labels: Vec<usize>,
        n_classes: usize,
    ) -> Result<Self> {
        const OP: &str = "Dataset::classification";
        check_features(OP, &features, labels.len())?;
        if n_classes == 0 || n_classes > MAX_CLASSES {
            return Err(TrainError::invalid(
                OP,
                format!("n_classes is {n_classes}; it must be in 1..={MAX_CLASSES}"),
            ));
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= n_classes) {
            return Err(TrainError::invalid(
                OP,
                format!("label {l} of sample {i} is not below n_classes = {n_classes}"),
            ));
        }
        Ok(Dataset {
            // Shared, so that batches taken in order are views of it.
            features: features.shared(),
            targets: Targets::Classes { labels, n_classes },
        })
    }

    /// A regression data set: `features` `[n, d]` and `targets` `[n]` or `[n, k]` (a 1-D
    /// `targets` becomes `[n, 1]`).
    ///
    /// ```
    /// use tape::Array;
    /// let x = Array::from_vec(vec![1.0f32, 2.0], &[2, 1])?;
    /// let y = Array::from_vec(vec![10.0f32, 20.0], &[2])?;
    /// let ds = train::data::Dataset::regression(x, y)?;
    /// assert_eq!(ds.values().unwrap().shape(), &[2, 1]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `features` is not 2-D or `targets` is not 1-D or
    /// 2-D with `n` rows.
    pub fn regression(features: Array<T>, targets: Array<T>) -> Result<Self> {
        const OP: &str = "Dataset::regression";
        let targets = match targets.ndim() {
            1 => {
                let n = targets.len();
                targets.reshaped(&[n, 1])?
            }
            2 => targets,
            _ => {
                return Err(TrainError::invalid(
                    OP,
                    format!("targets must be [n] or [n, k], not {:?}", targets.shape()),
                ));
            }
        };
        check_features(OP, &features, targets.shape()[0])?;
        Ok(Dataset {
            features: features.shared(),
            targets: Targets::Values(targets.shared()),
        })
    }

    /// The number of samples.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// assert_eq!(ds.len(), 3); // one sample per row
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.features.shape()[0]
    }

    /// Whether there are no samples.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// assert!(!ds.is_empty());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of features per sample, `d`.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// assert_eq!(ds.n_features(), 2); // columns of [3, 2]
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn n_features(&self) -> usize {
        self.features.shape()[1]
    }

    /// The features, `[n, d]`.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// assert_eq!(ds.features().shape(), &[3, 2]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn features(&self) -> &Array<T> {
        &self.features
    }

    /// The targets.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::{Dataset, Targets};
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// assert!(matches!(ds.targets(), Targets::Classes { n_classes: 2, .. }));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn targets(&self) -> &Targets<T> {
        &self.targets
    }

    /// The class labels, for a classification data set.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// assert_eq!(ds.labels(), Some(&[0, 1, 1][..]));
    /// assert!(ds.values().is_none());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Values(_) => None,
        }
    }

    /// The number of classes, for a classification data set.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// assert_eq!(ds.n_classes(), Some(2));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn n_classes(&self) -> Option<usize> {
        match &self.targets {
            Targets::Classes { n_classes, .. } => Some(*n_classes),
            Targets::Values(_) => None,
        }
    }

    /// The regression targets `[n, k]`, for a regression data set.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let reg = Dataset::regression(Array::<f64>::zeros(&[2, 1]), Array::from_vec(vec![0.5, 1.5], &[2, 1])?)?;
    /// assert_eq!(reg.values().unwrap().data(), &[0.5, 1.5]);
    /// assert!(reg.labels().is_none() && reg.n_classes().is_none());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn values(&self) -> Option<&Array<T>> {
        match &self.targets {
            Targets::Classes { .. } => None,
            Targets::Values(v) => Some(v),
        }
    }

    /// How many samples each class has, for a classification data set.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// assert_eq!(ds.class_counts(), Some(vec![1, 2])); // one 0, two 1s
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let Targets::Classes { labels, n_classes } = &self.targets else {
            return None;
        };
        let mut counts = vec![0; *n_classes];
        for &l in labels {
            counts[l] += 1;
        }
        Some(counts)
    }

    /// Splits into the features and the targets.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::{Dataset, Targets};
    /// let ds = Dataset::classification(Array::<f64>::zeros(&[3, 2]), vec![0, 1, 1], 2)?;
    /// let (x, y) = ds.into_parts();
    /// assert_eq!(x.shape(), &[3, 2]);
    /// assert_eq!(y, Targets::Classes { labels: vec![0, 1, 1], n_classes: 2 });
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn into_parts(self) -> (Array<T>, Targets<T>) {
        (self.features, self.targets)
    }

    /// The samples at `indices`, in that order (an index may repeat).
    ///
    /// ```
    /// use tape::Array;
    /// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0], &[3, 1])?;
    /// let ds = train::data::Dataset::classification(x, vec![0, 1, 0], 2)?;
    /// let sub = ds.subset(&[2, 0])?;
    /// assert_eq!(sub.features().data(), &[2.0, 0.0]);
    /// assert_eq!(sub.labels(), Some(&[0, 0][..]));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if an index is `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        if let Some(&i) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(TrainError::invalid(
                "Dataset::subset",
                format!("index {i} is out of range for {} samples", self.len()),
            ));
        }
        Ok(self.gather(indices))
    }

    /// Splits into `(train, test)`, `test` holding `round(n · test_fraction)` samples drawn
    /// at random (seeded); each part keeps the original order of its samples.
    ///
    /// The samples are decided one at a time in order, each held out with probability
    /// `(k − s) / (n − t)` when `s` of the first `t` were (selection sampling), so that every
    /// set of `k` samples is equally likely and the decisions need no memory: a
    /// [`CsvStream`] makes the same split of a file too large to load.
    ///
    /// The same seed always gives the same split. The random stream used here is distinct
    /// from the ones [`Dataset::shuffled_batches`] uses, so reusing a seed does not correlate
    /// the split with the batch order.
    ///
    /// ```
    /// let digits = train::data::digits::<f64>()?;
    /// let (train, test) = digits.split(0.25, 1)?;
    /// assert_eq!((train.len(), test.len()), (1348, 449)); // 449 = round(1797 / 4)
    /// assert_eq!(digits.split(0.25, 1)?.1, test);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `test_fraction` is not in `(0, 1)` or either part
    /// would be empty.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let n = self.len();
        let n_test = test_count(n, test_fraction, "Dataset::split")?;
        let mut selection = shuffle::Selection::new(n, n_test, seed);
        let (mut train_idx, mut test_idx) =
            (Vec::with_capacity(n - n_test), Vec::with_capacity(n_test));
        for i in 0..n {
            if selection.next_held_out() {
                test_idx.push(i);
            } else {
                train_idx.push(i);
            }
        }
        Ok((self.gather(&train_idx), self.gather(&test_idx)))
    }

    /// Mini-batches of `batch_size` samples in their stored order; the last batch holds the
    /// remainder (it is kept, not dropped).
    ///
    /// ```
    /// let digits = train::data::digits::<f32>()?;
    /// let sizes: Vec<usize> = digits.batches(500)?.map(|b| b.len()).collect();
    /// assert_eq!(sizes, vec![500, 500, 500, 297]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `batch_size` is 0 or the data set is empty.
    pub fn batches(&self, batch_size: usize) -> Result<Batches<'_, T>> {
        Batches::new(self, batch_size, (0..self.len()).collect())
    }

    /// Mini-batches in an order shuffled for this `epoch`: the same `(seed, epoch)` always
    /// gives the same order, and each epoch draws from its own random stream. The last,
    /// partial batch is kept.
    ///
    /// ```
    /// let digits = train::data::digits::<f32>()?;
    /// let first = |epoch| digits.shuffled_batches(32, 9, epoch).unwrap().next().unwrap().indices;
    /// assert_eq!(first(0), first(0));
    /// assert_ne!(first(0), first(1));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `batch_size` is 0 or the data set is empty.
    pub fn shuffled_batches(
        &self,
        batch_size: usize,
        seed: u64,
        epoch: u64,
    ) -> Result<Batches<'_, T>> {
        Batches::new(
            self,
            batch_size,
            shuffle::permutation(self.len(), seed, epoch),
        )
    }

    /// Mini-batches of `batch_size` samples visiting `order`: the samples `order[0..b]`, then
    /// `order[b..2b]`, ...; the last, partial batch is kept. An order may repeat samples or
    /// leave some out.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0, 3.0], &[4, 1])?;
    /// let ds = Dataset::classification(x, vec![0, 1, 0, 1], 2)?;
    /// let batches: Vec<_> = ds.batches_in_order(2, vec![3, 0, 3])?.collect();
    /// assert_eq!(batches[0].features.data(), &[3.0, 0.0]);
    /// assert_eq!(batches[1].indices, vec![3]);
    /// assert!(ds.batches_in_order(2, vec![4]).is_err()); // no sample 4
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `batch_size` is 0, the data set is empty, `order`
    /// is empty, or an index is not below the number of samples (the first one is named).
    pub fn batches_in_order(&self, batch_size: usize, order: Vec<usize>) -> Result<Batches<'_, T>> {
        const OP: &str = "Dataset::batches_in_order";
        if order.is_empty() {
            return Err(TrainError::invalid(OP, "the order visits no sample"));
        }
        if let Some((pos, &i)) = order.iter().enumerate().find(|(_, i)| **i >= self.len()) {
            return Err(TrainError::invalid(
                OP,
                format!(
                    "index {i} at position {pos} of the order is out of range for {} samples",
                    self.len()
                ),
            ));
        }
        Batches::new(self, batch_size, order)
    }

    pub(crate) fn features_mut(&mut self) -> &mut Array<T> {
        &mut self.features
    }

    /// The rows at `indices` (all in range).
    fn gather(&self, indices: &[usize]) -> Self {
        let features = gather_rows(&self.features, indices).shared();
        let targets = match &self.targets {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
            Targets::Values(v) => Targets::Values(gather_rows(v, indices).shared()),
        };
        Dataset { features, targets }
    }
}

/// The rows of a 2-D array at `indices` (all in range) as a new `[indices.len(), d]` array:
/// a view when the indices are consecutive and the array is shared, a copy otherwise.
pub(crate) fn gather_rows<T: Element>(a: &Array<T>, indices: &[usize]) -> Array<T> {
    let consecutive = indices.windows(2).all(|w| w[1] == w[0] + 1);
    match (consecutive, indices.first()) {
        (true, Some(&first)) => a.rows(first..first + indices.len()),
        _ => a.select_rows(indices),
    }
    .expect("internal error: gathered row indices out of range")
}

fn check_features<T: Element>(
    op: &'static str,
    features: &Array<T>,
    n_targets: usize,
) -> Result<()> {
    if features.ndim() != 2 {
        return Err(TrainError::invalid(
            op,
            format!("features must be 2-D [n, d], not {:?}", features.shape()),
        ));
    }
    if features.shape()[0] != n_targets {
        return Err(TrainError::invalid(
            op,
            format!(
                "features have {} rows but there are {n_targets} targets",
                features.shape()[0]
            ),
        ));
    }
    Ok(())
}

/// The scikit-learn "digits" data set, embedded in the binary: 1797 images of 8×8 pixels
/// (64 features, integers 0..=16, row-major), 10 classes.
///
/// These are the test part of the UCI "Optical Recognition of Handwritten Digits" data
/// (E. Alpaydin, C. Kaynak), as shipped by scikit-learn; the features are the raw counts,
/// not scaled (use a [`Standardizer`]).
///
/// ```
/// let digits = train::data::digits::<f32>()?;
/// assert_eq!((digits.len(), digits.n_features(), digits.n_classes()), (1797, 64, Some(10)));
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// None in practice: the embedded file is checked by the tests. The `Result` is the CSV
/// reader's.
pub fn digits<T: Element>() -> Result<Dataset<T>> {
    const DIGITS: &[u8] = include_bytes!("../../data/digits.csv.gz");
    csv::CsvOptions::default().parse_classification(
        DIGITS,
        "<embedded digits.csv.gz>".as_ref(),
        "label",
    )
}

/// The diabetes data set of Efron, Hastie, Johnstone and Tibshirani ("Least Angle
/// Regression", 2004), as shipped by scikit-learn, embedded in the binary: 442 patients, 10
/// features (`age, sex, bmi, bp, s1..s6`), and a real target, a measure of disease progression
/// one year later (25 to 346).
///
/// The features are the raw, unscaled values (scikit-learn's `load_diabetes(scaled=False)`):
/// `sex` is 1 or 2, `bmi` about 18 to 42, the serum measurements on their own scales. Use a
/// [`Standardizer`] before gradient descent.
///
/// ```
/// let d = train::data::diabetes::<f64>()?;
/// assert_eq!((d.len(), d.n_features()), (442, 10));
/// let y = d.values().unwrap();
/// let mean = y.data().iter().sum::<f64>() / 442.0;
/// assert!((mean - 152.133).abs() < 1e-3);
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// None in practice: the embedded file is checked by the tests. The `Result` is the CSV
/// reader's.
pub fn diabetes<T: Element>() -> Result<Dataset<T>> {
    const DIABETES: &[u8] = include_bytes!("../../data/diabetes.csv");
    let name: &std::path::Path = "<embedded diabetes.csv>".as_ref();
    csv::CsvOptions::default().parse_regression(DIABETES, name, "target")
}

/// The samples a split of `n` with `test_fraction` holds out: `round(n · test_fraction)`,
/// which must leave at least one on each side. `op` names the caller in errors.
pub(crate) fn test_count(n: usize, test_fraction: f64, op: &'static str) -> Result<usize> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(TrainError::invalid(
            op,
            format!("test_fraction is {test_fraction}; it must be strictly between 0 and 1"),
        ));
    }
    let n_test = (n as f64 * test_fraction).round() as usize;
    if n_test == 0 || n_test == n {
        return Err(TrainError::invalid(
            op,
            format!(
                "a test fraction of {test_fraction} of {n} samples leaves {} for training and {n_test} for testing; both must be at least 1",
                n - n_test
            ),
        ));
    }
    Ok(n_test)
}
