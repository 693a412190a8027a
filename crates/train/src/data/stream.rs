//! [`CsvStream`]: a CSV classification table larger than memory, read in passes.
//!
//! Opening the file reads it once, to count the rows, check every field and find the
//! classes. Everything after that reads it again, a row at a time: the statistics of the
//! training part ([`CsvStream::training_statistics`], two passes, the same sums in the same
//! order as [`Standardizer::fit`]) and each epoch's batches ([`CsvStream::batches`]), which
//! hold one shuffle buffer of rows and one batch, never the table.
//!
//! **The shuffle buffer.** An epoch reads the part's rows in file order into a buffer of
//! [`CsvStream::shuffle_buffer`] rows; when it is full, its rows are visited in a random
//! order (a permutation seeded from the seed, the epoch and the buffer's place in the file),
//! then the buffer is filled with the next rows. When the buffer holds the whole part, the
//! order is the permutation [`Dataset::shuffled_batches`] draws, so a streamed epoch is the
//! in-memory epoch. With a smaller buffer a row only mixes with the rows of its own buffer
//! load, and the loads come in file order: a file sorted by class gives batches of one class.
//! Such a file needs a shuffle once beforehand (`shuf`), or a buffer as large as memory allows.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use tape::{Array, Element};

use super::csv::{self, CsvOptions, Rows};
use super::read::{self, Input, ReadCounter};
use super::{Batch, BatchTargets, Dataset, MAX_CLASSES, Standardizer, shuffle};
use crate::{Result, TrainError};

/// The shuffle buffer's size when none is chosen: 65,536 rows.
pub const DEFAULT_SHUFFLE_BUFFER: usize = 1 << 16;

/// Which rows of a [`CsvStream`] to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The rows [`CsvStream::split`] kept for training (every row, before a split).
    Train,
    /// The rows [`CsvStream::split`] held out (none, before a split).
    Test,
}

/// A CSV classification table read from its file in passes, in batches, with the rows
/// standardised as they are read; see the [module documentation](self) for what it holds and
/// how it shuffles.
///
/// ```
/// use train::data::csv::CsvOptions;
/// use train::data::stream::{CsvStream, Part};
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-stream-{}.csv", std::process::id()));
/// let rows: String = (0..100).map(|i| format!("{i},{}\n", i % 2)).collect();
/// std::fs::write(&path, format!("x,label\n{rows}"))?;
///
/// let stream = CsvStream::<f32>::open(&path, "label", &CsvOptions::default())?
///     .split(0.2, 7)?
///     .with_shuffle_buffer(32)?;
/// let stats = stream.training_statistics()?;
/// let stream = stream.with_scaler(Some(stats.standardizer))?;
/// assert_eq!((stream.len(Part::Train), stream.len(Part::Test)), (80, 20));
///
/// // An epoch: batches of 10 shuffled rows, each row standardised; a user's own loop.
/// let mut seen = 0;
/// for batch in stream.batches(Part::Train, 10, Some((7, 0)))? {
///     let batch = batch?;
///     assert_eq!(batch.features.shape(), &[10, 1]);
///     seen += batch.len();
/// }
/// assert_eq!(seen, 80);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CsvStream<T: Element> {
    path: PathBuf,
    options: CsvOptions,
    label_column: String,
    n_rows: usize,
    n_features: usize,
    n_classes: usize,
    /// The rows held out, as a bitset over the file's rows.
    held_out: Option<Vec<u64>>,
    n_test: usize,
    scaler: Option<Standardizer>,
    shuffle_buffer: usize,
    /// Where every pass adds the bytes it reads.
    counter: ReadCounter,
    _element: PhantomData<fn() -> T>,
}

/// What [`CsvStream::training_statistics`] finds in the training part.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TrainingStatistics {
    /// The samples of each class.
    pub class_counts: Vec<usize>,
    /// The per-feature mean and deviation, as [`Standardizer::fit`] computes them.
    pub standardizer: Standardizer,
}

impl<T: Element> CsvStream<T> {
    /// Opens the CSV file `path` whose column `label_column` holds class labels, and reads it
    /// once: every field is checked as [`CsvOptions::read_classification`] checks it, and the
    /// rows and classes are counted. Nothing of the table is kept.
    ///
    /// # Errors
    /// The errors of [`CsvOptions::read_classification`], with the same messages.
    pub fn open(path: impl AsRef<Path>, label_column: &str, options: &CsvOptions) -> Result<Self> {
        Self::open_counting(path, label_column, options, &ReadCounter::new())
    }

    /// [`CsvStream::open`], adding the bytes this pass and every later one reads from the file
    /// to `counter`, for a progress bar.
    ///
    /// # Errors
    /// As [`CsvStream::open`].
    pub fn open_counting(
        path: impl AsRef<Path>,
        label_column: &str,
        options: &CsvOptions,
        counter: &ReadCounter,
    ) -> Result<Self> {
        let path = path.as_ref();
        let input = read::open_counting(path, counter)?;
        let mut rows = Rows::open(options, input.reader, path)?;
        let n_features = rows.select(Some(label_column))?;
        let max = options.n_classes.unwrap_or(MAX_CLASSES);
        let parse = |s: &str| csv::parse_label(s, max);
        let (mut x, mut y) = (Vec::<T>::with_capacity(n_features), Vec::with_capacity(1));
        let mut present = Vec::<bool>::new();
        let mut n_rows = 0;
        while rows.next_row(&parse, &mut x, &mut y)?.is_some() {
            let label = y[0];
            if label >= present.len() {
                present.resize(label + 1, false);
            }
            present[label] = true;
            n_rows += 1;
            x.clear();
            y.clear();
        }
        if n_rows == 0 {
            return Err(TrainError::bad_file(
                path,
                "the file has a header but no data rows",
            ));
        }
        let labels: Vec<usize> = (0..present.len()).filter(|&c| present[c]).collect();
        let n_classes = options.n_classes_of(&labels, path, label_column)?;
        Ok(CsvStream {
            path: path.to_path_buf(),
            options: options.clone(),
            label_column: label_column.to_string(),
            n_rows,
            n_features,
            n_classes,
            held_out: None,
            n_test: 0,
            scaler: None,
            shuffle_buffer: DEFAULT_SHUFFLE_BUFFER,
            counter: counter.clone(),
            _element: PhantomData,
        })
    }

    /// Holds out the rows [`Dataset::split`] would hold out of a data set of these rows with
    /// the same `test_fraction` and `seed`: [`Part::Test`] reads them, [`Part::Train`] the
    /// others, each in file order.
    ///
    /// # Errors
    /// As [`Dataset::split`]: a fraction not strictly between 0 and 1, or one that leaves
    /// either part empty.
    pub fn split(mut self, test_fraction: f64, seed: u64) -> Result<Self> {
        let n = self.n_rows;
        let n_test = super::test_count(n, test_fraction, "CsvStream::split")?;
        self.held_out = Some(shuffle::held_out(n, n_test, seed));
        self.n_test = n_test;
        Ok(self)
    }

    /// Sets how many rows an epoch shuffles at once (see the [module documentation](self)).
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] for 0 rows.
    pub fn with_shuffle_buffer(mut self, rows: usize) -> Result<Self> {
        if rows == 0 {
            return Err(TrainError::invalid(
                "CsvStream::with_shuffle_buffer",
                "the shuffle buffer must hold at least one row",
            ));
        }
        self.shuffle_buffer = rows;
        Ok(self)
    }

    /// Standardises every row read from now on with `scaler` (none: the rows as they are).
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if the scaler was fitted on another number of features.
    pub fn with_scaler(mut self, scaler: Option<Standardizer>) -> Result<Self> {
        if let Some(s) = &scaler {
            if s.mean().len() != self.n_features {
                return Err(TrainError::invalid(
                    "CsvStream::with_scaler",
                    format!(
                        "the scaler was fitted on {} features; the table has {}",
                        s.mean().len(),
                        self.n_features
                    ),
                ));
            }
        }
        self.scaler = scaler;
        Ok(self)
    }

    /// The class counts and the per-feature statistics of the training part, as read (not
    /// standardised): two passes over the file, the first for the means, the second for the
    /// deviations from them, with the sums of [`Standardizer::fit`] in the same order, so that
    /// the result is the same to the bit.
    ///
    /// # Errors
    /// The file's errors, if it changed since it was opened.
    pub fn training_statistics(&self) -> Result<TrainingStatistics> {
        let raw = self.clone().with_scaler(None)?;
        let d = self.n_features;
        let mut sums = vec![0.0; d];
        let mut class_counts = vec![0; self.n_classes];
        raw.for_each_row(Part::Train, |row, label| {
            for (m, &x) in sums.iter_mut().zip(row) {
                *m += x.as_f64();
            }
            class_counts[label] += 1;
        })?;
        let n = self.len(Part::Train);
        let mean: Vec<f64> = sums.iter().map(|s| s / n as f64).collect();
        let mut squares = vec![0.0; d];
        raw.for_each_row(Part::Train, |row, _| {
            for ((v, &m), &x) in squares.iter_mut().zip(&mean).zip(row) {
                let dev = x.as_f64() - m;
                *v += dev * dev;
            }
        })?;
        Ok(TrainingStatistics {
            class_counts,
            standardizer: Standardizer::from_moments(mean, &squares, n),
        })
    }

    /// The rows of `part`.
    pub fn len(&self, part: Part) -> usize {
        match part {
            Part::Train => self.n_rows - self.n_test,
            Part::Test => self.n_test,
        }
    }

    /// Whether `part` has no rows.
    pub fn is_empty(&self, part: Part) -> bool {
        self.len(part) == 0
    }

    /// The number of features (columns other than the label).
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rows an epoch shuffles at once.
    pub fn shuffle_buffer(&self) -> usize {
        self.shuffle_buffer
    }

    /// The scaler rows are standardised with, if any.
    pub fn scaler(&self) -> Option<&Standardizer> {
        self.scaler.as_ref()
    }

    /// The batches of `part`, `batch_size` rows each (the last one possibly smaller), read
    /// from the file as they are asked for. `shuffle` is `Some((seed, epoch))` for an
    /// epoch's shuffled order (see the [module documentation](self)), `None` for file order.
    /// A batch's `indices` count the part's rows in file order, as in the data set
    /// [`Dataset::split`] makes.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] for a batch size of 0 or an empty part; opening the
    /// file. Each batch is a `Result`: the file's errors come with the batch that reached
    /// them, and the iterator ends after an error.
    pub fn batches(
        &self,
        part: Part,
        batch_size: usize,
        shuffle: Option<(u64, u64)>,
    ) -> Result<StreamBatches<'_, T>> {
        const OP: &str = "CsvStream::batches";
        if batch_size == 0 {
            return Err(TrainError::invalid(OP, "batch size is 0"));
        }
        if self.is_empty(part) {
            return Err(TrainError::invalid(OP, "the part has no samples"));
        }
        Ok(StreamBatches {
            reader: PartReader::open(self, part)?,
            batch_size,
            shuffle,
            buffer: Buffer::default(),
            order: Vec::new(),
            pos: 0,
            block: 0,
            emitted: 0,
            failed: false,
        })
    }

    /// The rows of `part` in memory, in file order, standardised if a scaler is set: the
    /// data set [`Dataset::split`] gives for it.
    ///
    /// # Errors
    /// The file's errors.
    pub fn load(&self, part: Part) -> Result<Dataset<T>> {
        let (d, n) = (self.n_features, self.len(part));
        let mut features = Vec::new();
        let mut labels = Vec::new();
        features
            .try_reserve_exact(n * d)
            .and_then(|()| labels.try_reserve_exact(n))
            .map_err(|_| {
                TrainError::bad_file(&self.path, format!("not enough memory for {n} rows"))
            })?;
        self.for_each_row(part, |row, label| {
            features.extend_from_slice(row);
            labels.push(label);
        })?;
        Dataset::classification(Array::from_vec(features, &[n, d])?, labels, self.n_classes)
    }

    /// Calls `f` on every row of `part` (standardised if a scaler is set) with its label.
    fn for_each_row(&self, part: Part, mut f: impl FnMut(&[T], usize)) -> Result<()> {
        let mut reader = PartReader::open(self, part)?;
        let mut row = Vec::with_capacity(self.n_features);
        while let Some(label) = reader.next_into(&mut row)? {
            f(&row, label);
            row.clear();
        }
        Ok(())
    }
}

/// The rows of one part of a stream, read from the file one at a time.
struct PartReader<'s, T: Element> {
    stream: &'s CsvStream<T>,
    rows: Rows<Box<dyn std::io::Read + Send>>,
    part: Part,
    /// The file's rows read so far.
    file_row: usize,
    /// The part's rows read so far.
    part_row: usize,
    label: Vec<usize>,
}

impl<'s, T: Element> PartReader<'s, T> {
    fn open(stream: &'s CsvStream<T>, part: Part) -> Result<Self> {
        let Input { reader, .. } = read::open_counting(&stream.path, &stream.counter)?;
        let mut rows = Rows::open(&stream.options, reader, &stream.path)?;
        if rows.select(Some(&stream.label_column))? != stream.n_features {
            return Err(stream.changed());
        }
        Ok(PartReader {
            stream,
            rows,
            part,
            file_row: 0,
            part_row: 0,
            label: Vec::with_capacity(1),
        })
    }

    /// Appends the next row of the part to `row` (standardised if the stream has a scaler)
    /// and returns its label; `None` after the part's last row.
    fn next_into(&mut self, row: &mut Vec<T>) -> Result<Option<usize>> {
        let stream = self.stream;
        if self.part_row == stream.len(self.part) {
            return Ok(None);
        }
        let parse = |s: &str| csv::parse_label(s, stream.n_classes);
        let start = row.len();
        // The rows of the other part are skipped unparsed (opening checked every field).
        loop {
            let i = self.file_row;
            self.file_row += 1;
            let held_out = stream
                .held_out
                .as_ref()
                .is_some_and(|bits| bits[i / 64] >> (i % 64) & 1 == 1);
            let wanted = held_out == (self.part == Part::Test);
            let line = if wanted {
                self.label.clear();
                self.rows.next_row(&parse, row, &mut self.label)?
            } else {
                self.rows.skip_row()?
            };
            if line.is_none() {
                return Err(stream.changed());
            }
            if wanted {
                break;
            }
        }
        self.part_row += 1;
        if let Some(scaler) = &stream.scaler {
            scaler.transform_row(&mut row[start..]);
        }
        Ok(Some(self.label[0]))
    }
}

impl<T: Element> CsvStream<T> {
    /// The error for a file whose rows are not those it had when it was opened.
    fn changed(&self) -> TrainError {
        TrainError::bad_file(
            &self.path,
            format!(
                "the file has changed since it was first read ({} rows of {} features then)",
                self.n_rows, self.n_features
            ),
        )
    }
}

/// The rows of one buffer load: features `[k, d]`, labels, and their indices in the part.
#[derive(Default)]
struct Buffer<T> {
    features: Vec<T>,
    labels: Vec<usize>,
    indices: Vec<usize>,
}

/// The batches of one part of a [`CsvStream`], read from the file as they are asked for;
/// made by [`CsvStream::batches`]. Holds at most one shuffle buffer of rows and one batch.
pub struct StreamBatches<'s, T: Element> {
    reader: PartReader<'s, T>,
    batch_size: usize,
    shuffle: Option<(u64, u64)>,
    buffer: Buffer<T>,
    /// The order in which the buffer's rows are visited, and how far it has got.
    order: Vec<usize>,
    pos: usize,
    /// Buffer loads so far.
    block: u64,
    /// Rows handed out in batches.
    emitted: usize,
    failed: bool,
}

impl<T: Element> StreamBatches<'_, T> {
    /// The number of batches in all, those already handed out included.
    pub fn n_batches(&self) -> usize {
        self.reader
            .stream
            .len(self.reader.part)
            .div_ceil(self.batch_size)
    }

    /// The most rows the shuffle buffer has held at once.
    pub fn buffer_capacity(&self) -> usize {
        self.buffer.labels.capacity()
    }

    /// Reads the next buffer load and chooses the order of its rows.
    fn fill(&mut self) -> Result<()> {
        let stream = self.reader.stream;
        let total = stream.len(self.reader.part);
        let k = stream.shuffle_buffer.min(total - self.reader.part_row);
        let d = stream.n_features;
        let buffer = &mut self.buffer;
        buffer.features.clear();
        buffer.labels.clear();
        buffer.indices.clear();
        buffer
            .features
            .try_reserve_exact(k * d)
            .and_then(|()| buffer.labels.try_reserve_exact(k))
            .and_then(|()| buffer.indices.try_reserve_exact(k))
            .map_err(|_| {
                TrainError::invalid(
                    "CsvStream::batches",
                    format!("not enough memory for a shuffle buffer of {k} rows of {d} features"),
                )
            })?;
        for _ in 0..k {
            let index = self.reader.part_row;
            let label = self
                .reader
                .next_into(&mut buffer.features)?
                .expect("internal error: the part ended before its count");
            buffer.labels.push(label);
            buffer.indices.push(index);
        }
        self.order = match self.shuffle {
            // The whole part in one load: the in-memory epoch's permutation.
            Some((seed, epoch)) if k == total => shuffle::permutation(k, seed, epoch),
            Some((seed, epoch)) => shuffle::permutation(k, seed, epoch ^ ((self.block + 1) << 40)),
            None => (0..k).collect(),
        };
        self.pos = 0;
        self.block += 1;
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Batch<T>> {
        let stream = self.reader.stream;
        let d = stream.n_features;
        let b = self
            .batch_size
            .min(stream.len(self.reader.part) - self.emitted);
        let mut features = Vec::with_capacity(b * d);
        let mut labels = Vec::with_capacity(b);
        let mut indices = Vec::with_capacity(b);
        while labels.len() < b {
            if self.pos == self.order.len() {
                self.fill()?;
            }
            let r = self.order[self.pos];
            self.pos += 1;
            features.extend_from_slice(&self.buffer.features[r * d..(r + 1) * d]);
            labels.push(self.buffer.labels[r]);
            indices.push(self.buffer.indices[r]);
        }
        self.emitted += b;
        Ok(Batch {
            features: Array::from_vec(features, &[b, d])?,
            targets: BatchTargets::Classes(labels),
            indices,
        })
    }
}

impl<T: Element> Iterator for StreamBatches<'_, T> {
    type Item = Result<Batch<T>>;

    fn next(&mut self) -> Option<Result<Batch<T>>> {
        if self.failed || self.emitted == self.reader.stream.len(self.reader.part) {
            return None;
        }
        let batch = self.next_batch();
        self.failed = batch.is_err();
        Some(batch)
    }
}
