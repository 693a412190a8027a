//! Tabular data from CSV files, raw or gzip-compressed.
//!
//! The format is the simple one numeric tables use: UTF-8, comma-separated, one header line
//! of column names, then one row per sample with the same number of fields; no quoting. One
//! column, chosen by name, is the target; every other column is a numeric feature, parsed as
//! `f64` and then converted to the element type. Files starting with the gzip magic bytes
//! `1f 8b` are decompressed first, whatever their name. `\r\n` line endings and a leading
//! byte-order mark are accepted.
//!
//! Nothing is guessed: an empty, non-numeric or non-finite field, a row with too few or too
//! many fields, or a missing target column is an error naming the file, and for a field the
//! line and column.

use std::path::Path;

use tape::{Array, Element};

use super::read::read_maybe_gzip;
use super::{Dataset, MAX_CLASSES};
use crate::{Result, TrainError};

/// Reads a classification data set: the column named `label_column` holds class labels
/// (integers `0, 1, 2, ...`; `3.0` is read as 3), and the number of classes is the largest
/// label plus one.
///
/// ```
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-csv-{}.csv", std::process::id()));
/// std::fs::write(&path, "height,weight,label\n1.5,50,0\n1.8,80,2\n")?;
/// let ds = train::data::csv::read_classification::<f64>(&path, "label")?;
/// assert_eq!(ds.features().data(), &[1.5, 50.0, 1.8, 80.0]);
/// assert_eq!((ds.labels(), ds.n_classes()), (Some(&[0, 2][..]), Some(3)));
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
/// UTF-8, has no such column (or has it twice), no feature column, no data row, or a row whose
/// number of fields differs from the header's; [`TrainError::Parse`] for a field that is
/// empty, not a finite number, or (in the label column) not a non-negative integer below
/// [`MAX_CLASSES`].
pub fn read_classification<T: Element>(
    path: impl AsRef<Path>,
    label_column: &str,
) -> Result<Dataset<T>> {
    let path = path.as_ref();
    parse_classification(&read_maybe_gzip(path)?, path, label_column)
}

/// Reads a regression data set: the column named `target_column` holds a real-valued target;
/// the targets come out as `[n, 1]`.
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
/// As [`read_classification`], with any finite number accepted as a target.
pub fn read_regression<T: Element>(
    path: impl AsRef<Path>,
    target_column: &str,
) -> Result<Dataset<T>> {
    let path = path.as_ref();
    let (features, targets) = parse_regression(&read_maybe_gzip(path)?, path, target_column)?;
    Dataset::regression(features, targets)
}

/// The features and the `[n, 1]` targets of a regression table already in memory; `path`
/// names the bytes in errors.
pub(crate) fn parse_regression<T: Element>(
    bytes: &[u8],
    path: &Path,
    target_column: &str,
) -> Result<(Array<T>, Array<T>)> {
    let (features, targets) = parse_table(bytes, path, Some(target_column), |s| {
        parse_number(s).map(T::cast_from)
    })?;
    let n = targets.len();
    Ok((features, Array::from_vec(targets, &[n, 1])?))
}

/// Reads the features of a CSV file for prediction, and its labels if it has them: every
/// column but `label_column` is a feature; if the header has no `label_column`, every column
/// is a feature and the labels are `None`.
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
/// As [`read_classification`]; a file with only the label column has no features.
pub fn read_features<T: Element>(
    path: impl AsRef<Path>,
    label_column: &str,
) -> Result<(Array<T>, Option<Vec<usize>>)> {
    let path = path.as_ref();
    let bytes = read_maybe_gzip(path)?;
    let has_labels = std::str::from_utf8(&bytes).is_ok_and(|text| {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let header = text.split('\n').next().unwrap_or("");
        let header = header.strip_suffix('\r').unwrap_or(header);
        header.split(',').any(|c| c.trim() == label_column)
    });
    if has_labels {
        let (features, labels) = parse_table(&bytes, path, Some(label_column), parse_label)?;
        Ok((features, Some(labels)))
    } else {
        let (features, _) = parse_table(&bytes, path, None, |_| Ok(()))?;
        Ok((features, None))
    }
}

/// [`read_classification`] on bytes already in memory; `path` names them in errors.
pub(crate) fn parse_classification<T: Element>(
    bytes: &[u8],
    path: &Path,
    label_column: &str,
) -> Result<Dataset<T>> {
    let (features, labels) = parse_table(bytes, path, Some(label_column), parse_label)?;
    let n_classes = labels.iter().max().map_or(1, |&m| m + 1);
    Dataset::classification(features, labels, n_classes)
}

/// Parses the table: features `[n, d]` and one target per row, read by `parse_target` from
/// `target_column`; with no target column, every column is a feature and no target is read.
fn parse_table<T: Element, Y>(
    bytes: &[u8],
    path: &Path,
    target_column: Option<&str>,
    parse_target: impl Fn(&str) -> std::result::Result<Y, String>,
) -> Result<(Array<T>, Vec<Y>)> {
    let bad = |message: String| TrainError::bad_file(path, message);
    let (header, lines) = header_and_lines(bytes, path)?;
    let target_idx = target_column
        .map(|name| find_column(&header, name))
        .transpose()
        .map_err(bad)?;
    let n_cols = header.len();
    let n_features = n_cols - usize::from(target_idx.is_some());
    if n_features == 0 {
        return Err(bad(format!(
            "the only column is the target `{}`; there are no features",
            target_column.unwrap_or_default()
        )));
    }

    let mut features: Vec<T> = Vec::new();
    let mut targets: Vec<Y> = Vec::new();
    let mut n_rows = 0;
    for (i, line) in lines.enumerate() {
        n_rows += 1;
        let line_no = i + 2;
        if line.trim().is_empty() {
            return Err(bad(format!("line {line_no} is empty")));
        }
        let mut n_fields = 0;
        for (col, field) in line.split(',').enumerate() {
            n_fields += 1;
            if n_fields > n_cols {
                break;
            }
            let field = field.trim();
            let parse_err = |message: String| TrainError::Parse {
                path: path.to_path_buf(),
                line: line_no,
                column: col + 1,
                column_name: header[col].to_string(),
                message,
            };
            if field.is_empty() {
                return Err(parse_err("the field is empty".into()));
            }
            if Some(col) == target_idx {
                targets.push(parse_target(field).map_err(parse_err)?);
            } else {
                features.push(T::cast_from(parse_number(field).map_err(parse_err)?));
            }
        }
        if n_fields != n_cols {
            let count = line.split(',').count();
            return Err(bad(format!(
                "line {line_no} has {count} field{} but the header has {n_cols} columns",
                if count == 1 { "" } else { "s" }
            )));
        }
    }
    if n_rows == 0 {
        return Err(bad("the file has a header but no data rows".into()));
    }
    Ok((Array::from_vec(features, &[n_rows, n_features])?, targets))
}

/// The column names of the header line (trimmed), and the data lines after it: the bytes as
/// UTF-8 text, without a byte-order mark, a final newline or carriage returns.
fn header_and_lines<'b>(
    bytes: &'b [u8],
    path: &Path,
) -> Result<(Vec<&'b str>, impl Iterator<Item = &'b str>)> {
    let bad = |message: String| TrainError::bad_file(path, message);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "not valid UTF-8 text (first bad byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(bad("the file is empty: expected a header line".into()));
    }
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let header = lines
        .next()
        .expect("internal error: split yields at least one line")
        .split(',')
        .map(str::trim)
        .collect();
    Ok((header, lines))
}

/// The index of the column called `name`, which must occur exactly once.
fn find_column(header: &[&str], name: &str) -> std::result::Result<usize, String> {
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

fn parse_number(field: &str) -> std::result::Result<f64, String> {
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("`{field}` is not a finite number")),
        Err(_) => Err(format!("`{field}` is not a number")),
    }
}

fn parse_label(field: &str) -> std::result::Result<usize, String> {
    let label = match field.parse::<usize>() {
        Ok(l) => l,
        Err(_) => match field.parse::<f64>() {
            // `3.0` is a whole number written as a float; accept it exactly.
            Ok(v) if v >= 0.0 && v.fract() == 0.0 => v as usize,
            _ => {
                return Err(format!(
                    "`{field}` is not a class label (a non-negative integer)"
                ));
            }
        },
    };
    if label >= MAX_CLASSES {
        return Err(format!(
            "label {label} is too large: at most {MAX_CLASSES} classes are supported"
        ));
    }
    Ok(label)
}
