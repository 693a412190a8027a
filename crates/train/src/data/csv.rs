//! Tabular data from CSV files, raw or gzip-compressed, read with the `csv` crate.
//!
//! A file is UTF-8 text: one header line of column names, then one row per sample with the
//! same number of fields. Fields are separated by a delimiter (a comma unless
//! [`CsvOptions::delimiter`] says otherwise) and may be quoted (`"1.5"`, `"a,b"`, with `""`
//! for a quote inside quotes); `\n`, `\r\n` and `\r` line endings and a leading byte-order
//! mark are accepted, and spaces around a field are ignored. One column, chosen by name, is
//! the target; every other column is a numeric feature, parsed as `f64` and then converted
//! to the element type. Files starting with the gzip magic bytes `1f 8b` are decompressed
//! as they are read, whatever their name.
//!
//! A file is parsed as it is read, a record at a time: loading holds the parsed table and
//! buffers of a few hundred KiB, never the file's text as well.
//!
//! Nothing is guessed: an empty or non-numeric field, a number that is not finite in the
//! element type (`1e39` in an `f32` table), a row with too few or too many fields, a blank
//! line between rows, or a missing target column is an error naming the file, and for a field the line and
//! column. Class labels must be the integers `0, 1, ..., k − 1` with every class present,
//! unless the number of classes is given ([`CsvOptions::n_classes`]).

mod lines;
mod rows;

use std::io::Read;
use std::path::Path;

use tape::{Array, Element};

use super::read;
use super::{Dataset, MAX_CLASSES};
use crate::{Result, TrainError};
pub(crate) use rows::Rows;

/// How a CSV file is read: the delimiter, and the number of classes if the labels alone do
/// not tell it. [`Default`] is a comma and "the labels tell".
///
/// ```
/// use train::data::csv::CsvOptions;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-opts-{}.csv", std::process::id()));
/// std::fs::write(&path, "x;label\n\"1,5\";0\n2;3\n")?;
/// // Semicolons between fields; labels 0 and 3 of a problem with 4 classes.
/// let opts = CsvOptions { delimiter: b';', n_classes: Some(4) };
/// let err = opts.read_classification::<f64>(&path, "label").unwrap_err();
/// assert!(err.to_string().ends_with("line 2, column 1 (`x`): `1,5` is not a number"));
///
/// std::fs::write(&path, "x;label\n1.5;0\n2;3\n")?;
/// let ds = opts.read_classification::<f64>(&path, "label")?;
/// assert_eq!((ds.labels(), ds.n_classes()), (Some(&[0, 3][..]), Some(4)));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// The byte between fields: `b','` (the default), `b';'`, `b'\t'`, ... It must be an
    /// ASCII character other than a quote, `\r` or `\n`.
    pub delimiter: u8,
    /// The number of classes, for a classification table whose labels do not all occur (a
    /// part of a larger data set). `None` (the default) takes the labels as they are: they
    /// must be `0, 1, ..., k − 1` with each present, and at least two classes.
    pub n_classes: Option<usize>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            n_classes: None,
        }
    }
}

/// Reads a classification data set with the default [`CsvOptions`]: the column named
/// `label_column` holds class labels (integers `0, 1, 2, ...`; `3.0` is read as 3), every
/// class from 0 to the largest label must occur, and there must be at least two.
///
/// ```
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-csv-{}.csv", std::process::id()));
/// std::fs::write(&path, "height,weight,label\n1.5,50,0\n1.8,80,1\n")?;
/// let ds = train::data::csv::read_classification::<f64>(&path, "label")?;
/// assert_eq!(ds.features().data(), &[1.5, 50.0, 1.8, 80.0]);
/// assert_eq!((ds.labels(), ds.n_classes()), (Some(&[0, 1][..]), Some(2)));
///
/// std::fs::write(&path, "height,weight,label\n1.5,heavy,0\n")?;
/// let err = train::data::csv::read_classification::<f64>(&path, "label").unwrap_err();
/// assert!(err.to_string().ends_with("line 2, column 2 (`weight`): `heavy` is not a number"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be read; [`TrainError::BadFile`] if it is empty, not
/// UTF-8, has no such column (or has it twice), no feature column, no data row, a blank line,
/// a row whose number of fields differs from the header's, or labels that are not
/// `0, ..., k − 1` with each present and `k ≥ 2`; [`TrainError::Parse`] for a field that is
/// empty, not a number, not finite in `T`, or (in the label column) not a non-negative
/// integer below [`MAX_CLASSES`].
pub fn read_classification<T: Element>(
    path: impl AsRef<Path>,
    label_column: &str,
) -> Result<Dataset<T>> {
    CsvOptions::default().read_classification(path, label_column)
}

/// Reads a regression data set with the default [`CsvOptions`]: the column named
/// `target_column` holds a real-valued target; the targets come out as `[n, 1]`.
///
/// ```
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-reg-{}.csv", std::process::id()));
/// std::fs::write(&path, "x,target\n1,2.5\n2,4.5\n")?;
/// let ds = train::data::csv::read_regression::<f32>(&path, "target")?;
/// assert_eq!(ds.values().unwrap().data(), &[2.5, 4.5]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`read_classification`], with any number finite in `T` accepted as a target.
pub fn read_regression<T: Element>(
    path: impl AsRef<Path>,
    target_column: &str,
) -> Result<Dataset<T>> {
    CsvOptions::default().read_regression(path, target_column)
}

/// Reads the features of a CSV file for prediction, and its labels if it has them, with the
/// default [`CsvOptions`]: every column but `label_column` is a feature; if the header has no
/// `label_column`, every column is a feature and the labels are `None`. The labels are not
/// checked against each other (the model decides how many classes there are).
///
/// ```
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-feat-{}.csv", std::process::id()));
/// std::fs::write(&path, "height,weight\n1.5,50\n1.8,80\n")?;
/// let (x, labels) = train::data::csv::read_features::<f64>(&path, "label")?;
/// assert_eq!((x.shape(), labels), (&[2, 2][..], None));
///
/// std::fs::write(&path, "height,label,weight\n1.5,1,50\n")?;
/// let (x, labels) = train::data::csv::read_features::<f64>(&path, "label")?;
/// assert_eq!((x.data(), labels), (&[1.5, 50.0][..], Some(vec![1])));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`read_classification`] for the fields; a file with only the label column has no
/// features.
pub fn read_features<T: Element>(
    path: impl AsRef<Path>,
    label_column: &str,
) -> Result<(Array<T>, Option<Vec<usize>>)> {
    CsvOptions::default().read_features(path, label_column)
}

impl CsvOptions {
    /// [`read_classification`] with these options.
    ///
    /// ```
    /// use train::data::csv::CsvOptions;
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-tab-{}.tsv", std::process::id()));
    /// std::fs::write(&path, "a\tlabel\n1\t0\n2\t1\n")?;
    /// let tabs = CsvOptions { delimiter: b'\t', ..CsvOptions::default() };
    /// assert_eq!(tabs.read_classification::<f32>(&path, "label")?.len(), 2);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`read_classification`]; with [`CsvOptions::n_classes`] given, a label at or above
    /// it is a [`TrainError::Parse`] and absent classes are allowed.
    pub fn read_classification<T: Element>(
        &self,
        path: impl AsRef<Path>,
        label_column: &str,
    ) -> Result<Dataset<T>> {
        let path = path.as_ref();
        self.classification_from(read::open(path)?.reader, path, label_column)
    }

    /// [`CsvOptions::read_classification`], adding the bytes read from the file to `counter`
    /// as they are read, for a progress bar (see [`ReadCounter`](crate::data::ReadCounter)).
    ///
    /// # Errors
    /// As [`CsvOptions::read_classification`].
    pub fn read_classification_counting<T: Element>(
        &self,
        path: impl AsRef<Path>,
        label_column: &str,
        counter: &read::ReadCounter,
    ) -> Result<Dataset<T>> {
        let path = path.as_ref();
        self.classification_from(
            read::open_counting(path, counter)?.reader,
            path,
            label_column,
        )
    }

    /// [`read_regression`] with these options.
    ///
    /// ```
    /// use train::data::csv::CsvOptions;
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-treg-{}.csv", std::process::id()));
    /// std::fs::write(&path, "x;target\n1;2,5\n")?; // `2,5` is not a number
    /// let semi = CsvOptions { delimiter: b';', ..CsvOptions::default() };
    /// assert!(semi.read_regression::<f64>(&path, "target").is_err());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`read_regression`].
    pub fn read_regression<T: Element>(
        &self,
        path: impl AsRef<Path>,
        target_column: &str,
    ) -> Result<Dataset<T>> {
        let path = path.as_ref();
        self.regression_from(read::open(path)?.reader, path, target_column)
    }

    /// [`read_features`] with these options.
    ///
    /// ```
    /// use train::data::csv::CsvOptions;
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-tfeat-{}.csv", std::process::id()));
    /// std::fs::write(&path, "a|b\n1|2\n")?;
    /// let pipes = CsvOptions { delimiter: b'|', ..CsvOptions::default() };
    /// let (x, labels) = pipes.read_features::<f64>(&path, "label")?;
    /// assert_eq!((x.data(), labels), (&[1.0, 2.0][..], None));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`read_features`].
    pub fn read_features<T: Element>(
        &self,
        path: impl AsRef<Path>,
        label_column: &str,
    ) -> Result<(Array<T>, Option<Vec<usize>>)> {
        let path = path.as_ref();
        self.features_from(read::open(path)?.reader, path, label_column)
    }

    /// [`CsvOptions::read_classification`] on the bytes of a file already in memory (raw or
    /// gzip); `name` stands for the file in errors.
    ///
    /// ```
    /// use train::data::csv::CsvOptions;
    /// let bytes = b"a,label\n1,0\n2,1\n";
    /// let ds = CsvOptions::default().parse_classification::<f64>(bytes, "inline".as_ref(), "label")?;
    /// assert_eq!(ds.len(), 2);
    /// let err = CsvOptions::default().parse_classification::<f64>(b"a,label\n", "inline".as_ref(), "label");
    /// assert_eq!(err.unwrap_err().to_string(), "inline: the file has a header but no data rows");
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// As [`CsvOptions::read_classification`], without the I/O errors.
    pub fn parse_classification<T: Element>(
        &self,
        bytes: &[u8],
        name: &Path,
        label_column: &str,
    ) -> Result<Dataset<T>> {
        self.classification_from(read::from_bytes(bytes), name, label_column)
    }

    /// [`CsvOptions::read_features`] on the bytes of a file already in memory (raw or
    /// gzip); `name` stands for the file in errors.
    ///
    /// ```
    /// use train::data::csv::CsvOptions;
    /// let (x, labels) = CsvOptions::default().parse_features::<f32>(b"a,b\n1,2\n", "inline".as_ref(), "label")?;
    /// assert_eq!((x.shape(), labels), (&[1, 2][..], None));
    /// # Ok::<(), train::TrainError>(())
    /// ```
    ///
    /// # Errors
    /// As [`CsvOptions::read_features`], without the I/O errors.
    pub fn parse_features<T: Element>(
        &self,
        bytes: &[u8],
        name: &Path,
        label_column: &str,
    ) -> Result<(Array<T>, Option<Vec<usize>>)> {
        self.features_from(read::from_bytes(bytes), name, label_column)
    }

    /// The features and the `[n, 1]` targets of a regression table (raw or gzip bytes).
    pub(crate) fn parse_regression<T: Element>(
        &self,
        bytes: &[u8],
        name: &Path,
        target_column: &str,
    ) -> Result<Dataset<T>> {
        self.regression_from(read::from_bytes(bytes), name, target_column)
    }

    fn regression_from<T: Element>(
        &self,
        input: impl Read,
        name: &Path,
        target_column: &str,
    ) -> Result<Dataset<T>> {
        let mut rows = Rows::open(self, input, name)?;
        let (features, targets) =
            rows::parse_table(&mut rows, Some(target_column), |s| parse_element::<T>(s))?;
        let n = targets.len();
        Dataset::regression(features, Array::from_vec(targets, &[n, 1])?)
    }

    fn classification_from<T: Element>(
        &self,
        input: impl Read,
        name: &Path,
        label_column: &str,
    ) -> Result<Dataset<T>> {
        let mut rows = Rows::open(self, input, name)?;
        let max = self.n_classes.unwrap_or(MAX_CLASSES);
        let (features, labels) =
            rows::parse_table(&mut rows, Some(label_column), |s| parse_label(s, max))?;
        let n_classes = self.n_classes_of(&labels, name, label_column)?;
        Dataset::classification(features, labels, n_classes)
    }

    /// The number of classes: as given, or as the labels make them.
    pub(crate) fn n_classes_of(
        &self,
        labels: &[usize],
        name: &Path,
        label_column: &str,
    ) -> Result<usize> {
        match self.n_classes {
            Some(n) => Ok(n),
            None => classes_of(labels).map_err(|why| {
                TrainError::bad_file(name, format!("the label column `{label_column}` {why}"))
            }),
        }
    }

    fn features_from<T: Element>(
        &self,
        input: impl Read,
        name: &Path,
        label_column: &str,
    ) -> Result<(Array<T>, Option<Vec<usize>>)> {
        let mut rows = Rows::open(self, input, name)?;
        if rows.header().iter().any(|c| c == label_column) {
            let (features, labels) = rows::parse_table(&mut rows, Some(label_column), |s| {
                parse_label(s, MAX_CLASSES)
            })?;
            Ok((features, Some(labels)))
        } else {
            let (features, _) = rows::parse_table(&mut rows, None, |_| Ok(()))?;
            Ok((features, None))
        }
    }
}

/// The number of classes the labels make, `largest + 1`, or why they make none: fewer than
/// two classes, or classes below the largest that never occur.
fn classes_of(labels: &[usize]) -> std::result::Result<usize, String> {
    let mut present: Vec<usize> = labels.to_vec();
    present.sort_unstable();
    present.dedup();
    let shown = |values: &[usize]| {
        let mut text: Vec<String> = values.iter().take(10).map(usize::to_string).collect();
        if values.len() > 10 {
            text.push(format!("… ({} values)", values.len()));
        }
        text.join(", ")
    };
    match present.as_slice() {
        [] => Err("holds no labels".into()),
        [only] => Err(format!(
            "holds only one class, {only}: a classifier needs at least two"
        )),
        [.., last] if *last + 1 != present.len() => Err(format!(
            "holds the labels {}, which leave {} of the classes 0 to {last} without a sample; renumber the labels 0 to {}, or give the number of classes if the others exist",
            shown(&present),
            last + 1 - present.len(),
            present.len() - 1,
        )),
        _ => Ok(present.len()),
    }
}

/// The index of the column called `name`, which must occur exactly once.
pub(crate) fn find_column(header: &[String], name: &str) -> std::result::Result<usize, String> {
    let hits: Vec<usize> = (0..header.len()).filter(|&i| header[i] == name).collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => {
            let shown = if header.len() <= 8 {
                header.join(", ")
            } else {
                format!(
                    "{}, …, {}",
                    header[..5].join(", "),
                    header[header.len() - 2..].join(", ")
                )
            };
            Err(format!(
                "no column named `{name}` in the header ({} columns: {shown})",
                header.len()
            ))
        }
        many => Err(format!(
            "the header names column `{name}` {} times (columns {})",
            many.len(),
            many.iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A field as a number of the element type: a number in `f64` that stays finite in `T`.
pub(crate) fn parse_element<T: Element>(field: &str) -> std::result::Result<T, String> {
    let v = match field.parse::<f64>() {
        Ok(v) if v.is_finite() => v,
        Ok(_) => return Err(format!("`{field}` is not a finite number")),
        Err(_) => return Err(format!("`{field}` is not a number")),
    };
    let t = T::cast_from(v);
    if t.is_finite() {
        Ok(t)
    } else {
        Err(format!(
            "`{field}` is too large for {}: its largest finite value is about {:e}",
            T::NAME,
            T::max_value().as_f64()
        ))
    }
}

/// A class label: a non-negative integer below `max` (`3.0` is read as 3).
pub(crate) fn parse_label(field: &str, max: usize) -> std::result::Result<usize, String> {
    let label = match field.parse::<usize>() {
        Ok(l) => Some(l),
        Err(_) => match field.parse::<f64>() {
            // `3.0` is a whole number written as a float; accept it exactly.
            Ok(v) if v >= 0.0 && v.fract() == 0.0 => (v < max as f64).then_some(v as usize),
            _ => {
                return Err(format!(
                    "`{field}` is not a class label (a non-negative integer)"
                ));
            }
        },
    };
    match label {
        Some(l) if l < max => Ok(l),
        _ if max == MAX_CLASSES => Err(format!(
            "label {field} is too large: at most {MAX_CLASSES} classes are supported"
        )),
        _ => Err(format!(
            "label {field} is not below the number of classes, {max}"
        )),
    }
}
