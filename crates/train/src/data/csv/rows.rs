//! [`Rows`]: the records of a CSV stream, one at a time, each checked and placed on its line.

use std::io::Read;
use std::path::{Path, PathBuf};

use tape::{Array, Element};

use super::CsvOptions;
use super::lines::LineIndex;
use crate::data::read;
use crate::{Result, TrainError};

/// The bytes the `csv` reader buffers.
const CSV_BUFFER: usize = 64 * 1024;

/// A CSV stream's header and, one at a time, its records, each placed on the line (from 1)
/// where it starts. Holds a few buffers of 64 KiB, whatever the length of the stream.
pub(crate) struct Rows<R: Read> {
    name: PathBuf,
    reader: csv::Reader<LineIndex<R>>,
    /// The column names, trimmed.
    header: Vec<String>,
    record: csv::StringRecord,
    /// Where the previous record (or the header) ended: one byte into its line terminator.
    previous_end: u64,
    /// The column of the target, if one was chosen, and the number of feature columns.
    target_idx: Option<usize>,
    n_features: usize,
    /// The lines of the file before the stream's second line, less one: nonzero when the
    /// stream is the header followed by a later part of the file.
    line_offset: usize,
}

impl<R: Read> Rows<R> {
    /// Reads the header of `input`; `name` is the file, for errors.
    ///
    /// # Errors
    /// An invalid delimiter; a stream that cannot be read, is not UTF-8, or holds no header.
    pub(crate) fn open(options: &CsvOptions, input: R, name: &Path) -> Result<Self> {
        let d = options.delimiter;
        if !d.is_ascii() || matches!(d, b'"' | b'\r' | b'\n') {
            return Err(TrainError::invalid(
                "CsvOptions::delimiter",
                format!(
                    "{:?} cannot separate fields; use an ASCII character other than a quote or a line break",
                    char::from(d)
                ),
            ));
        }
        let reader = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(LineIndex::new(input));
        let mut rows = Rows {
            name: name.to_path_buf(),
            reader,
            header: Vec::new(),
            record: csv::StringRecord::new(),
            previous_end: 0,
            target_idx: None,
            n_features: 0,
            line_offset: 0,
        };
        rows.read_header()?;
        Ok(rows)
    }

    fn read_header(&mut self) -> Result<()> {
        let empty = || "the file is empty: expected a header line".to_string();
        if !self.read_record("cannot read the header: ")? {
            return Err(self.bad(empty()));
        }
        if self.is_blank_record() {
            // A first line of spaces: the file is empty if nothing else follows.
            let line = self.reader.get_ref().lines.line_of(self.record_start());
            while self.read_record("")? {
                if !self.is_blank_record() {
                    return Err(self.bad(format!("line {line} is empty")));
                }
            }
            return Err(self.bad(empty()));
        }
        self.header = self.record.iter().map(|f| f.trim().to_string()).collect();
        self.previous_end = self.reader.position().byte();
        Ok(())
    }

    /// The column names, trimmed.
    pub(crate) fn header(&self) -> &[String] {
        &self.header
    }

    /// Numbers lines as in a file whose first `lines_before` lines come between the header
    /// and the stream's second line (a stream of the header and a later part of the file).
    pub(crate) fn set_lines_before(&mut self, lines_before: usize) {
        self.line_offset = lines_before.saturating_sub(1);
    }

    /// The line of the file that is line `line` of the stream (the header is line 1 of both).
    fn shown(&self, line: usize) -> usize {
        if line > 1 {
            line + self.line_offset
        } else {
            line
        }
    }

    /// The file, for errors.
    pub(crate) fn name(&self) -> &Path {
        &self.name
    }

    /// Chooses the target column (none: every column is a feature) and returns the number of
    /// features: all the other columns, of which there must be at least one.
    pub(crate) fn select(&mut self, target_column: Option<&str>) -> Result<usize> {
        let target_idx = target_column
            .map(|name| super::find_column(&self.header, name))
            .transpose()
            .map_err(|message| self.bad(message))?;
        let n_features = self.header.len() - usize::from(target_idx.is_some());
        if n_features == 0 {
            return Err(self.bad(format!(
                "the only column is the target `{}`; there are no features",
                target_column.unwrap_or_default()
            )));
        }
        (self.target_idx, self.n_features) = (target_idx, n_features);
        Ok(n_features)
    }

    /// Reads the next row, pushing its target (read by `parse_target` from the column
    /// [`Rows::select`] chose) onto `targets` and its features onto `features`; returns the
    /// row's line, or `None` at the end of the stream. The caller makes room in both vectors,
    /// so that running out of memory is an error rather than an abort.
    pub(crate) fn next_row<T: Element, Y>(
        &mut self,
        parse_target: &impl Fn(&str) -> std::result::Result<Y, String>,
        features: &mut Vec<T>,
        targets: &mut Vec<Y>,
    ) -> Result<Option<usize>> {
        let Some(line_no) = self.skip_row()? else {
            return Ok(None);
        };
        self.parse_row(line_no, parse_target, features, targets)?;
        Ok(Some(line_no))
    }

    /// Reads the next row without parsing its fields, checking only its place and its number
    /// of fields; returns its line, or `None` at the end of the stream.
    pub(crate) fn skip_row(&mut self) -> Result<Option<usize>> {
        if !self.read_record("")? {
            return Ok(None);
        }
        let line_no = self.record_line()?;
        self.previous_end = self.reader.position().byte();
        self.reader
            .get_mut()
            .lines
            .forget_through(self.previous_end.saturating_sub(1));
        self.check_field_count(line_no)?;
        Ok(Some(line_no))
    }

    /// Reads a record into `self.record`; `false` at the end. A `csv` error is placed on the
    /// line after the previous record, with `context` before it.
    fn read_record(&mut self, context: &str) -> Result<bool> {
        match self.reader.read_record(&mut self.record) {
            Ok(more) => Ok(more),
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => match e.into_kind() {
                csv::ErrorKind::Io(io) => Err(read::stream_error(&self.name, io)),
                _ => panic!("internal error: an I/O error of the csv reader changed its kind"),
            },
            Err(e) => {
                let line = self.line_after_previous();
                Err(self.bad(format!("{context}line {line}: {e}")))
            }
        }
    }

    /// The line after the one where the previous record ended.
    fn line_after_previous(&self) -> usize {
        let lines = &self.reader.get_ref().lines;
        self.shown(lines.line_of(self.previous_end.saturating_sub(1)) + 1)
    }

    /// Where the current record's reading started.
    fn record_start(&self) -> u64 {
        self.record
            .position()
            .map_or(self.previous_end, csv::Position::byte)
    }

    /// A line of spaces reads as one empty field.
    fn is_blank_record(&self) -> bool {
        self.record.len() == 1 && self.record[0].trim().is_empty()
    }

    /// An error about the file as a whole, or a line of it, rather than one field.
    fn bad(&self, message: String) -> TrainError {
        TrainError::bad_file(&self.name, message)
    }

    /// The line on which the current record starts: the first line after the previous
    /// record's last one that is not blank. A blank line between the two is an error, as is
    /// a line of spaces: the reader skips blank lines without a word, so they are found here
    /// from the line starts; like every other irregularity, a blank line is refused, not
    /// guessed away.
    fn record_line(&self) -> Result<usize> {
        let lines = &self.reader.get_ref().lines;
        let previous_line = lines.line_of(self.previous_end.saturating_sub(1));
        let mut line_no = previous_line + 1;
        while lines.is_blank(line_no) == Some(true) {
            line_no += 1;
        }
        if line_no > previous_line + 1 {
            let empty = self.shown(previous_line + 1);
            return Err(self.bad(format!("line {empty} is empty")));
        }
        let line_no = self.shown(line_no);
        // A line of spaces reads as one empty field; in a table of one column that is a
        // row whose field is empty, which `parse_row` reports as such.
        if self.is_blank_record() && self.header.len() > 1 {
            return Err(self.bad(format!("line {line_no} is empty")));
        }
        Ok(line_no)
    }

    /// Checks that the record on line `line_no` has a field for every column of the header.
    fn check_field_count(&self, line_no: usize) -> Result<()> {
        let n_cols = self.header.len();
        let count = self.record.len();
        if count != n_cols {
            return Err(self.bad(format!(
                "line {line_no} has {count} field{} but the header has {n_cols} columns",
                if count == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    }

    /// Parses the fields of the record on line `line_no`, pushing the one in the target
    /// column, read by `parse_target`, onto `targets` and the rest onto `features`.
    fn parse_row<T: Element, Y>(
        &self,
        line_no: usize,
        parse_target: &impl Fn(&str) -> std::result::Result<Y, String>,
        features: &mut Vec<T>,
        targets: &mut Vec<Y>,
    ) -> Result<()> {
        // Trimmed here rather than by the `csv` reader, whose trimming moves every record's
        // bytes (a tenth of the time of reading a table of numbers).
        for (col, field) in self.record.iter().map(str::trim).enumerate() {
            let parse_err = |message: String| TrainError::Parse {
                path: self.name.clone(),
                line: line_no,
                column: col + 1,
                column_name: self.header[col].clone(),
                message,
            };
            if field.is_empty() {
                return Err(parse_err("the field is empty".into()));
            }
            if Some(col) == self.target_idx {
                targets.push(parse_target(field).map_err(parse_err)?);
            } else {
                features.push(super::parse_element::<T>(field).map_err(parse_err)?);
            }
        }
        Ok(())
    }
}

/// Every row of `rows`: features `[n, d]` and one target per row, read by `parse_target`
/// from `target_column`; with no target column, every column is a feature. The vectors grow
/// by an eighth at a time, so that their spare room stays small next to the data.
pub(crate) fn parse_table<T: Element, Y, R: Read>(
    rows: &mut Rows<R>,
    target_column: Option<&str>,
    parse_target: impl Fn(&str) -> std::result::Result<Y, String>,
) -> Result<(Array<T>, Vec<Y>)> {
    let n_features = rows.select(target_column)?;
    let name = rows.name().to_path_buf();
    let out_of_memory = |what: &str| {
        TrainError::bad_file(
            &name,
            format!("not enough memory for the {what} of the rows read so far"),
        )
    };
    let mut features: Vec<T> = Vec::new();
    let mut targets: Vec<Y> = Vec::new();
    let mut n_rows = 0;
    loop {
        if features.capacity() - features.len() < n_features {
            grow(&mut features, n_features).map_err(|()| out_of_memory("features"))?;
        }
        if targets.capacity() == targets.len() {
            grow(&mut targets, 1).map_err(|()| out_of_memory("targets"))?;
        }
        if rows
            .next_row(&parse_target, &mut features, &mut targets)?
            .is_none()
        {
            break;
        }
        n_rows += 1;
    }
    if n_rows == 0 {
        return Err(TrainError::bad_file(
            rows.name(),
            "the file has a header but no data rows",
        ));
    }
    features.shrink_to_fit();
    Ok((Array::from_vec(features, &[n_rows, n_features])?, targets))
}

/// Makes room in `v` for at least `min` more elements: an eighth of its length more (at
/// least 64 KiB), refused if that is more than the memory the system has available.
pub(crate) fn grow<Y>(v: &mut Vec<Y>, min: usize) -> std::result::Result<(), ()> {
    let size = std::mem::size_of::<Y>().max(1);
    let step = (v.len() / 8).max((64 * 1024) / size).max(min);
    let bytes = (step as u64).saturating_mul(size as u64);
    if crate::memory::available_bytes().is_some_and(|available| bytes > available) {
        return Err(());
    }
    v.try_reserve_exact(step).map_err(|_| ())
}
