//! [`Batches`]: an iterator of mini-batches over a [`Dataset`].

use tape::{Array, Element};

use super::{Dataset, Targets, gather_rows};
use crate::{Result, TrainError};

/// One mini-batch: the features of `b` samples and their targets.
///
/// ```
/// use tape::Array;
/// use train::data::Dataset;
/// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0, 3.0, 4.0], &[5, 1])?;
/// let ds = Dataset::classification(x, vec![0, 1, 0, 1, 0], 2)?;
/// let batches: Vec<_> = ds.batches(2)?.collect();
/// assert_eq!(batches.len(), 3); // 2 + 2 + 1 samples
/// let last = &batches[2];
/// assert_eq!((last.features.data(), last.indices.as_slice()), (&[4.0][..], &[4][..]));
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Batch<T: Element> {
    /// The features, `[b, d]`.
    pub features: Array<T>,
    /// The targets of the same samples, in the same order.
    pub targets: BatchTargets<T>,
    /// Which samples of the data set these are, in order.
    pub indices: Vec<usize>,
}

/// The targets of a [`Batch`].
///
/// ```
/// use tape::Array;
/// use train::data::{BatchTargets, Dataset};
/// let ds = Dataset::regression(Array::<f64>::zeros(&[2, 1]), Array::from_vec(vec![0.5, 1.5], &[2, 1])?)?;
/// let batch = ds.batches(2)?.next().unwrap();
/// assert!(matches!(&batch.targets, BatchTargets::Values(v) if v.data() == [0.5, 1.5]));
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum BatchTargets<T: Element> {
    /// Class labels, one per sample.
    Classes(Vec<usize>),
    /// Regression targets, `[b, k]`.
    Values(Array<T>),
}

impl<T: Element> Batch<T> {
    /// The number of samples in the batch.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0, 3.0, 4.0], &[5, 1])?;
    /// let ds = Dataset::classification(x, vec![0, 1, 0, 1, 0], 2)?;
    /// let sizes: Vec<usize> = ds.batches(2)?.map(|b| b.len()).collect();
    /// assert_eq!(sizes, vec![2, 2, 1]); // the last batch is partial
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch is empty (never true for a batch from [`Batches`]).
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0, 3.0, 4.0], &[5, 1])?;
    /// let ds = Dataset::classification(x, vec![0, 1, 0, 1, 0], 2)?;
    /// assert!(ds.batches(2)?.all(|b| !b.is_empty()));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// The class labels, for a classification data set.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0, 3.0, 4.0], &[5, 1])?;
    /// let ds = Dataset::classification(x, vec![0, 1, 0, 1, 0], 2)?;
    /// let batch = ds.batches(3)?.next().unwrap();
    /// assert_eq!(batch.labels(), Some(&[0, 1, 0][..]));
    /// assert!(batch.values().is_none());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.targets {
            BatchTargets::Classes(l) => Some(l),
            BatchTargets::Values(_) => None,
        }
    }

    /// The regression targets `[b, k]`, for a regression data set.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let ds = Dataset::regression(Array::<f64>::zeros(&[2, 1]), Array::from_vec(vec![0.5, 1.5], &[2, 1])?)?;
    /// let batch = ds.batches(2)?.next().unwrap();
    /// assert_eq!(batch.values().unwrap().data(), &[0.5, 1.5]);
    /// assert!(batch.labels().is_none());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn values(&self) -> Option<&Array<T>> {
        match &self.targets {
            BatchTargets::Classes(_) => None,
            BatchTargets::Values(v) => Some(v),
        }
    }
}

/// Mini-batches of a [`Dataset`] in a given order, the last one possibly smaller; made by
/// [`Dataset::batches`] and [`Dataset::shuffled_batches`].
///
/// ```
/// use tape::Array;
/// use train::data::Dataset;
/// let x = Array::from_vec((0..5).map(f64::from).collect(), &[5, 1])?;
/// let ds = Dataset::classification(x, vec![0, 1, 0, 1, 0], 2)?;
/// let batches: Vec<_> = ds.batches(2)?.collect();
/// assert_eq!(batches.len(), 3);
/// assert_eq!(batches[2].features.data(), &[4.0]);   // the partial batch is kept
/// assert_eq!(batches[2].labels(), Some(&[0][..]));
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Batches<'d, T: Element> {
    dataset: &'d Dataset<T>,
    order: Vec<usize>,
    batch_size: usize,
    pos: usize,
}

impl<'d, T: Element> Batches<'d, T> {
    pub(super) fn new(
        dataset: &'d Dataset<T>,
        batch_size: usize,
        order: Vec<usize>,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(TrainError::invalid("Dataset::batches", "batch size is 0"));
        }
        if dataset.is_empty() {
            return Err(TrainError::invalid(
                "Dataset::batches",
                "the data set has no samples",
            ));
        }
        Ok(Batches {
            dataset,
            order,
            batch_size,
            pos: 0,
        })
    }

    /// The order in which the samples are visited this epoch.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Dataset;
    /// let x = Array::from_vec(vec![0.0f64, 1.0, 2.0, 3.0, 4.0], &[5, 1])?;
    /// let ds = Dataset::classification(x, vec![0, 1, 0, 1, 0], 2)?;
    /// let batches = ds.shuffled_batches(2, 7, 0)?;
    /// let order = batches.order().to_vec();
    /// let visited: Vec<usize> = batches.flat_map(|b| b.indices).collect();
    /// assert_eq!(visited, order);
    /// let mut sorted = order;
    /// sorted.sort();
    /// assert_eq!(sorted, vec![0, 1, 2, 3, 4]); // a permutation of the samples
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

impl<T: Element> Iterator for Batches<'_, T> {
    type Item = Batch<T>;

    fn next(&mut self) -> Option<Batch<T>> {
        if self.pos >= self.order.len() {
            return None;
        }
        let end = (self.pos + self.batch_size).min(self.order.len());
        let indices = self.order[self.pos..end].to_vec();
        self.pos = end;
        let features = gather_rows(&self.dataset.features, &indices);
        let targets = match &self.dataset.targets {
            Targets::Classes { labels, .. } => {
                BatchTargets::Classes(indices.iter().map(|&i| labels[i]).collect())
            }
            Targets::Values(v) => BatchTargets::Values(gather_rows(v, &indices)),
        };
        Some(Batch {
            features,
            targets,
            indices,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.order.len() - self.pos).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl<T: Element> ExactSizeIterator for Batches<'_, T> {}
