//! [`Standardizer`]: zero mean and unit variance per feature, fitted on training data.

use tape::{Array, Element};

use super::Dataset;
use crate::{Result, TrainError};

/// Per-feature standardisation `x' = (x − mean) / std`, with the mean and the (population)
/// standard deviation fitted on one set of features — the training split — and applied
/// unchanged to others, so that nothing about the test split leaks into training.
///
/// A feature that does not vary in the fitted data (an always-blank pixel) has no scale to
/// divide by: its standard deviation is taken as 1, so it becomes `x − mean` (0 on the
/// training data) rather than NaN. This is scikit-learn's `StandardScaler` convention.
/// Statistics are computed in `f64` with two passes over the data.
///
/// ```
/// use tape::Array;
/// use train::data::Standardizer;
/// // Column 0: 1, 3 → mean 2, std 1.  Column 1: 5, 5 → mean 5, std 0, taken as 1.
/// let train = Array::from_vec(vec![1.0f64, 5.0, 3.0, 5.0], &[2, 2])?;
/// let s = Standardizer::fit(&train)?;
/// assert_eq!(s.mean(), &[2.0, 5.0]);
/// assert_eq!(s.std(), &[1.0, 1.0]);
/// let test = Array::from_vec(vec![4.0f64, 6.0], &[1, 2])?;
/// assert_eq!(s.transform(&test)?.data(), &[2.0, 1.0]);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Standardizer {
    /// Fits mean and standard deviation per column of `features` `[n, d]`.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `features` is not 2-D or has no rows, or a value is
    /// not finite.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Standardizer;
    /// // column 0 is 1 and 5 (mean 3, std 2); column 1 is constant
    /// let x = Array::from_vec(vec![1.0f64, 10.0, 5.0, 10.0], &[2, 2])?;
    /// let s = Standardizer::fit(&x)?;
    /// assert_eq!((s.mean(), s.std()), (&[3.0, 10.0][..], &[2.0, 1.0][..]));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn fit<T: Element>(features: &Array<T>) -> Result<Self> {
        const OP: &str = "Standardizer::fit";
        if features.ndim() != 2 || features.shape()[0] == 0 {
            return Err(TrainError::invalid(
                OP,
                format!(
                    "features must be 2-D with at least one row, not {:?}",
                    features.shape()
                ),
            ));
        }
        let (n, d) = (features.shape()[0], features.shape()[1]);
        if let Some((i, _)) = features.first_non_finite() {
            return Err(TrainError::invalid(
                OP,
                format!(
                    "feature {} of sample {} is {}, not a finite number",
                    i % d,
                    i / d,
                    features.data()[i]
                ),
            ));
        }
        let mut mean = vec![0.0; d];
        for row in features.data().chunks_exact(d) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x.as_f64();
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for row in features.data().chunks_exact(d) {
            for ((v, &m), &x) in var.iter_mut().zip(&mean).zip(row) {
                let dev = x.as_f64() - m;
                *v += dev * dev;
            }
        }
        Ok(Standardizer::from_moments(mean, &var, n))
    }

    /// A standardiser with given statistics, e.g. read back from a checkpoint's metadata.
    ///
    /// ```
    /// use train::data::Standardizer;
    /// let s = Standardizer::from_parts(vec![2.0, 5.0], vec![1.0, 0.5])?;
    /// let x = tape::Array::from_vec(vec![4.0f64, 6.0], &[1, 2])?;
    /// assert_eq!(s.transform(&x)?.data(), &[2.0, 2.0]);
    /// assert!(Standardizer::from_parts(vec![0.0], vec![0.0]).is_err());
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if the two lengths differ, a mean is not finite, or a
    /// standard deviation is not finite and positive.
    pub fn from_parts(mean: Vec<f64>, std: Vec<f64>) -> Result<Self> {
        const OP: &str = "Standardizer::from_parts";
        if mean.len() != std.len() {
            return Err(TrainError::invalid(
                OP,
                format!("{} means but {} standard deviations", mean.len(), std.len()),
            ));
        }
        if let Some(i) = mean.iter().position(|m| !m.is_finite()) {
            return Err(TrainError::invalid(
                OP,
                format!(
                    "the mean of feature {i} is {}, not a finite number",
                    mean[i]
                ),
            ));
        }
        if let Some(i) = std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(TrainError::invalid(
                OP,
                format!(
                    "the standard deviation of feature {i} is {}; it must be finite and positive",
                    std[i]
                ),
            ));
        }
        Ok(Standardizer { mean, std })
    }

    /// The fitted mean of each feature.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Standardizer;
    /// // column 0 is 1 and 5 (mean 3, std 2); column 1 is constant
    /// let x = Array::from_vec(vec![1.0f64, 10.0, 5.0, 10.0], &[2, 2])?;
    /// let s = Standardizer::fit(&x)?;
    /// assert_eq!(s.mean(), &[3.0, 10.0]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The fitted standard deviation of each feature (1 where the feature did not vary).
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Standardizer;
    /// // column 0 is 1 and 5 (mean 3, std 2); column 1 is constant
    /// let x = Array::from_vec(vec![1.0f64, 10.0, 5.0, 10.0], &[2, 2])?;
    /// let s = Standardizer::fit(&x)?;
    /// assert_eq!(s.std(), &[2.0, 1.0]); // 1 for the constant column
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn std(&self) -> &[f64] {
        &self.std
    }

    /// Standardises `features` `[m, d]` with the fitted statistics.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if `features` is not 2-D with the fitted number of
    /// columns.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::Standardizer;
    /// // column 0 is 1 and 5 (mean 3, std 2); column 1 is constant
    /// let x = Array::from_vec(vec![1.0f64, 10.0, 5.0, 10.0], &[2, 2])?;
    /// let s = Standardizer::fit(&x)?;
    /// assert_eq!(s.transform(&x)?.data(), &[-1.0, 0.0, 1.0, 0.0]); // (x − mean) / std
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn transform<T: Element>(&self, features: &Array<T>) -> Result<Array<T>> {
        let mut out = features.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// Standardises the features of a data set in place.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if the data set has another number of features than
    /// the fitted data.
    ///
    /// ```
    /// use tape::Array;
    /// use train::data::{Dataset, Standardizer};
    /// let x = Array::from_vec(vec![1.0f64, 10.0, 5.0, 10.0], &[2, 2])?;
    /// let mut ds = Dataset::classification(x, vec![0, 1], 2)?;
    /// let s = Standardizer::fit(ds.features())?; // mean [3, 10], std [2, 1]
    /// s.apply(&mut ds)?;
    /// assert_eq!(ds.features().data(), &[-1.0, 0.0, 1.0, 0.0]);
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn apply<T: Element>(&self, dataset: &mut Dataset<T>) -> Result<()> {
        self.transform_in_place(dataset.features_mut())
    }

    fn transform_in_place<T: Element>(&self, features: &mut Array<T>) -> Result<()> {
        let d = self.mean.len();
        if features.ndim() != 2 || features.shape()[1] != d {
            return Err(TrainError::invalid(
                "Standardizer::transform",
                format!(
                    "fitted on {d} features, given an array of shape {:?}",
                    features.shape()
                ),
            ));
        }
        if d == 0 {
            return Ok(());
        }
        for row in features.data_mut().chunks_exact_mut(d) {
            self.transform_row(row);
        }
        Ok(())
    }

    /// Standardises one row of the fitted width.
    pub(crate) fn transform_row<T: Element>(&self, row: &mut [T]) {
        for ((x, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
            *x = T::cast_from((x.as_f64() - m) / s);
        }
    }

    /// The standardiser of data whose per-feature mean is `mean` and whose sums of squared
    /// deviations from it are `squares`, over `n` rows: the last step of [`Standardizer::fit`],
    /// for statistics gathered elsewhere (a stream).
    pub(crate) fn from_moments(mean: Vec<f64>, squares: &[f64], n: usize) -> Self {
        let std = squares
            .iter()
            .zip(&mean)
            .map(|(&v, &m): (&f64, &f64)| {
                let s = (v / n as f64).sqrt();
                // A constant column can still show a deviation of a few ulps of its mean
                // (the mean is rounded); treat anything that small as no variation at all.
                if s > 10.0 * f64::EPSILON * m.abs() && s > 0.0 {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer { mean, std }
    }
}
