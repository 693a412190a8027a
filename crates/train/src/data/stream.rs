//! [`CsvStream`]: a CSV classification table larger than memory, read in passes.
//!
//! Opening the file reads it once, to count the rows, check every field and find the
//! classes, and writes the parsed rows to a *spill file* (see [`Spill`]): a temporary file of
//! the rows as numbers, about half the size of the text for typical tables, deleted when the
//! last clone of the stream is dropped. Everything after that reads the spill file, a row at
//! a time and without parsing: the statistics of the training part
//! ([`CsvStream::training_statistics`], two passes, the same sums in the same order as
//! [`Standardizer::fit`]) and each epoch's batches ([`CsvStream::batches`]), which hold one
//! shuffle buffer of rows and one batch, never the table. Without a spill file
//! ([`Spill::Off`]) every pass parses the text again.
//!
//! **The split** ([`CsvStream::split`]) is [`Dataset::split`]'s: the same rows, decided one
//! at a time in file order by selection sampling, replayed from the seed on every pass, so it
//! takes no memory.
//!
//! **The shuffle buffer.** An epoch reads the part's rows in file order into a buffer of
//! [`CsvStream::shuffle_buffer`] rows; when it is full, its rows are visited in a random
//! order (a permutation seeded from the seed, the epoch and the buffer's place in the file),
//! then the buffer is filled with the next rows. When the buffer holds the whole part, the
//! order is the permutation [`Dataset::shuffled_batches`] draws, so a streamed epoch is the
//! in-memory epoch. With a smaller buffer a row only mixes with the rows of its own buffer
//! load, and the loads come in file order: a file sorted by class gives batches of one class.
//! Such a file needs a shuffle once beforehand (`shuf`), or a buffer as large as memory allows.
//!
//! **Several processes** ([`StreamOptions::shard`]) each read their own share of the file:
//! of a plain file, a contiguous run of whole lines (about `1/size` of its bytes; the
//! process seeks to it and reads nothing else but the header); of a gzip file, which cannot
//! be entered in the middle, every `size`-th row (each process decompresses the whole file
//! but parses only its rows). The counts, the classes and the statistics are summed over the
//! processes, so every process knows the whole table's; the split is the same rows as in one
//! process. [`crate::trainer::Trainer::fit_stream`] then makes each global batch of the
//! processes' own batches.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use tape::{Array, Element};

use super::csv::{self, CsvOptions, Rows};
use super::read::{self, ReadCounter};
use super::shuffle::{self, Selection};
use super::{Batch, BatchTargets, Dataset, MAX_CLASSES, Standardizer};
use crate::distributed::Collective;
use crate::{Result, TrainError};

/// The shuffle buffer's size when none is chosen: 65,536 rows.
pub const DEFAULT_SHUFFLE_BUFFER: usize = 1 << 16;

/// The bytes a spill file is read in at once.
const SPILL_CHUNK: usize = 256 * 1024;

/// Which rows of a [`CsvStream`] to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The rows [`CsvStream::split`] kept for training (every row, before a split).
    Train,
    /// The rows [`CsvStream::split`] held out (none, before a split).
    Test,
}

/// Where a [`CsvStream`] keeps the rows it parsed while opening the file, for the passes
/// after it.
///
/// A spill file holds every row of the table (of this process's share) as numbers: the
/// features in the element type (4 bytes each for `f32`, 8 for `f64`) and the label (4
/// bytes). Reading it back costs a copy, where parsing the text again costs 1.3–1.5 µs a
/// row of 20 numbers, several times a small model's training step. The file has no name
/// (the `tempfile` crate's `tempfile_in`: unlinked as soon as it is created on Unix, deleted
/// on close on Windows), so it is gone when the last clone of the stream is, even if the
/// process is killed.
///
/// A spill file on a memory-backed file system (`tmpfs`, which some systems mount at
/// `/tmp`) takes memory after all: point [`Spill::Dir`] (or `TMPDIR`) at a disk then.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Spill {
    /// In the system's temporary directory, [`std::env::temp_dir`] (`TMPDIR` on Unix).
    #[default]
    TempDir,
    /// In this directory.
    Dir(PathBuf),
    /// None: every pass parses the text of the file again.
    Off,
}

/// How [`CsvStream::open_with`] reads a file: where it spills the parsed rows, what counts
/// the bytes it reads, and whether it reads only this process's share.
///
/// ```
/// use train::data::stream::{Spill, StreamOptions};
/// use train::data::ReadCounter;
/// let counter = ReadCounter::new();
/// let options = StreamOptions::new().spill(Spill::Off).counter(&counter);
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub struct StreamOptions {
    spill: Spill,
    counter: ReadCounter,
    group: Option<Rc<dyn Collective>>,
}

impl std::fmt::Debug for StreamOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamOptions")
            .field("spill", &self.spill)
            .field("counter", &self.counter)
            .field("group", &self.group.as_ref().map(|g| (g.rank(), g.size())))
            .finish()
    }
}

impl StreamOptions {
    /// Spill to the temporary directory, count into a fresh counter, read the whole file.
    pub fn new() -> Self {
        StreamOptions::default()
    }

    /// Where to keep the parsed rows (see [`Spill`]).
    #[must_use]
    pub fn spill(mut self, spill: Spill) -> Self {
        self.spill = spill;
        self
    }

    /// Adds the bytes read from the file, by opening and by every later pass, to `counter`
    /// (for a progress bar on another thread).
    #[must_use]
    pub fn counter(mut self, counter: &ReadCounter) -> Self {
        self.counter = counter.clone();
        self
    }

    /// Reads only this process's share of the file, one of `group.size()` (see the
    /// [module documentation](self)); every process of the group must open the same file
    /// with the same options, as the collectives of the group demand. A group of one
    /// process reads the whole file.
    #[must_use]
    pub fn shard(mut self, group: Rc<dyn Collective>) -> Self {
        self.group = Some(group);
        self
    }
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
#[derive(Clone)]
pub struct CsvStream<T: Element> {
    path: PathBuf,
    options: CsvOptions,
    label_column: String,
    /// The rows of the whole file.
    n_rows: usize,
    n_features: usize,
    n_classes: usize,
    /// Which rows of the file this process reads, and the rows of every process's share.
    share: Share,
    share_rows: Vec<usize>,
    /// The seed and the held-out rows of the split, and each process's rows of each part.
    split: Option<(u64, usize)>,
    part_rows: Vec<[usize; 2]>,
    scaler: Option<Standardizer>,
    shuffle_buffer: usize,
    /// Where every pass adds the bytes it reads.
    counter: ReadCounter,
    spill: Option<Arc<SpillFile>>,
    /// The processes the file is shared among (at least two), if any.
    group: Option<Rc<dyn Collective>>,
    _element: PhantomData<fn() -> T>,
}

impl<T: Element> std::fmt::Debug for CsvStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvStream")
            .field("path", &self.path)
            .field("label_column", &self.label_column)
            .field("n_rows", &self.n_rows)
            .field("n_features", &self.n_features)
            .field("n_classes", &self.n_classes)
            .field("share", &self.share)
            .field("split", &self.split)
            .field("shuffle_buffer", &self.shuffle_buffer)
            .field("spilled", &self.spill.is_some())
            .finish_non_exhaustive()
    }
}

/// The rows of the file one process reads.
#[derive(Clone, Debug)]
enum Share {
    /// All of them.
    Whole,
    /// The whole lines that start in the bytes `start..end` of a plain file, after its header
    /// of `header_len` bytes; the first of them is row `first_row` of the file.
    Lines {
        header_len: u64,
        start: u64,
        end: u64,
        first_row: usize,
    },
    /// Rows `rank`, `rank + size`, `rank + 2 · size`, ... (of a gzip file).
    Stride { rank: usize, size: usize },
}

impl Share {
    /// The row of the file that is row `i` of the share.
    fn file_row(&self, i: usize) -> usize {
        match *self {
            Share::Whole => i,
            Share::Lines { first_row, .. } => first_row + i,
            Share::Stride { rank, size } => rank + i * size,
        }
    }
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

/// What the first pass over a share finds.
struct FirstPass {
    rows: usize,
    n_features: usize,
    /// Which labels occur.
    present: Vec<bool>,
    spill: Option<SpillFile>,
}

impl<T: Element> CsvStream<T> {
    /// Opens the CSV file `path` whose column `label_column` holds class labels, and reads it
    /// once: every field is checked as [`CsvOptions::read_classification`] checks it, the
    /// rows and classes are counted, and the rows are spilled to a temporary file (see
    /// [`Spill`]). Nothing of the table is kept in memory.
    ///
    /// # Errors
    /// The errors of [`CsvOptions::read_classification`], with the same messages; and the
    /// spill file's (a full disk, with the directory named).
    pub fn open(path: impl AsRef<Path>, label_column: &str, options: &CsvOptions) -> Result<Self> {
        Self::open_with(path, label_column, options, &StreamOptions::new())
    }

    /// [`CsvStream::open`] with the choices of `stream`: where to spill, what counts the
    /// bytes read, and whether this process reads only its share of the file.
    ///
    /// # Errors
    /// As [`CsvStream::open`]. With a group, every process returns an error if any of them
    /// met one (its own, or one naming the process that failed), so that none is left
    /// waiting for the others.
    pub fn open_with(
        path: impl AsRef<Path>,
        label_column: &str,
        options: &CsvOptions,
        stream: &StreamOptions,
    ) -> Result<Self> {
        let path = path.as_ref();
        let group = stream.group.clone().filter(|g| g.size() > 1);
        let mut this = CsvStream {
            path: path.to_path_buf(),
            options: options.clone(),
            label_column: label_column.to_string(),
            n_rows: 0,
            n_features: 0,
            n_classes: 0,
            share: Share::Whole,
            share_rows: Vec::new(),
            split: None,
            part_rows: Vec::new(),
            scaler: None,
            shuffle_buffer: DEFAULT_SHUFFLE_BUFFER,
            counter: stream.counter.clone(),
            spill: None,
            group,
            _element: PhantomData,
        };
        let first = this
            .plan_share()
            .and_then(|()| this.first_pass(&stream.spill));
        let (first, share_rows, present) = match &this.group {
            None => {
                let first = first?;
                let rows = vec![first.rows];
                let present = first.present.clone();
                (first, rows, present)
            }
            Some(group) => exchange(group.as_ref(), first, path)?,
        };
        let n_rows: usize = share_rows.iter().sum();
        if n_rows == 0 {
            return Err(TrainError::bad_file(
                path,
                "the file has a header but no data rows",
            ));
        }
        if let Share::Lines { first_row, .. } = &mut this.share {
            let rank = this.group.as_ref().map_or(0, |g| g.rank());
            *first_row = share_rows[..rank].iter().sum();
        }
        let labels: Vec<usize> = (0..present.len()).filter(|&c| present[c]).collect();
        this.n_classes = options.n_classes_of(&labels, path, label_column)?;
        this.n_rows = n_rows;
        this.n_features = first.n_features;
        this.part_rows = share_rows.iter().map(|&r| [r, 0]).collect();
        this.share_rows = share_rows;
        this.spill = first.spill.map(Arc::new);
        Ok(this)
    }

    /// Chooses this process's share of the file.
    fn plan_share(&mut self) -> Result<()> {
        let Some(group) = &self.group else {
            return Ok(());
        };
        let (rank, size) = (group.rank(), group.size());
        let path = &self.path;
        let io = |e| TrainError::io(path, e);
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 2];
        let got = read::read_up_to(&mut file, &mut head).map_err(io)?;
        if read::is_gzip(&head[..got]) {
            self.share = Share::Stride { rank, size };
            return Ok(());
        }
        let header_len = read::line_start_at_or_after(&mut file, 1, len).map_err(io)?;
        let body = len - header_len;
        let cut = |r: usize| -> std::io::Result<u64> {
            let at = header_len + (u128::from(body) * r as u128 / size as u128) as u64;
            read::line_start_at_or_after(&mut File::open(path)?, at, len)
        };
        let (start, end) = (cut(rank).map_err(io)?, cut(rank + 1).map_err(io)?);
        self.share = Share::Lines {
            header_len,
            start,
            end,
            first_row: 0,
        };
        Ok(())
    }

    /// The text of this process's share: the header, then its rows.
    fn open_text(&self) -> Result<ShareRows> {
        let reader = match self.share {
            Share::Lines {
                header_len,
                start,
                end,
                ..
            } => read::open_lines_counting(&self.path, header_len, (start, end), &self.counter)?,
            Share::Whole | Share::Stride { .. } => {
                read::open_counting(&self.path, &self.counter)?.reader
            }
        };
        let mut rows = Rows::open(&self.options, reader, &self.path)?;
        let n_features = rows.select(Some(&self.label_column))?;
        let stride = match self.share {
            Share::Stride { rank, size } => Some((rank, size)),
            _ => None,
        };
        Ok(ShareRows {
            rows,
            n_features,
            stride,
            file_row: 0,
            label: Vec::with_capacity(1),
        })
    }

    /// Reads the share once, checking every field, counting the rows and classes, and
    /// spilling the rows as `spill` says.
    fn first_pass(&self, spill: &Spill) -> Result<FirstPass> {
        let mut text = self.open_text()?;
        let d = text.n_features;
        let mut writer = match spill {
            Spill::Off => None,
            Spill::TempDir => Some(SpillWriter::new::<T>(&std::env::temp_dir(), d)?),
            Spill::Dir(dir) => Some(SpillWriter::new::<T>(dir, d)?),
        };
        let max = self.options.n_classes.unwrap_or(MAX_CLASSES);
        let mut x = Vec::<T>::with_capacity(d);
        let mut present = Vec::<bool>::new();
        let mut rows = 0;
        loop {
            x.clear();
            let label = match text.next(Some((max, &mut x))) {
                Ok(Some(label)) => label.expect("internal error: a parsed row has a label"),
                Ok(None) => break,
                Err(e) => return Err(self.placed(e, rows, true)),
            };
            if label >= present.len() {
                present.resize(label + 1, false);
            }
            present[label] = true;
            if let Some(w) = &mut writer {
                w.push(&x, label)?;
            }
            rows += 1;
        }
        Ok(FirstPass {
            rows,
            n_features: d,
            present,
            spill: writer.map(SpillWriter::finish).transpose()?,
        })
    }

    /// `error`, met at row `row` of the share (parsing it if `parse`), with its line counted
    /// from the start of the file: a share that starts in the middle of the file numbers its
    /// lines from its own start, so the lines before it are counted (only now that an error
    /// needs them) and the row is read again.
    fn placed(&self, error: TrainError, row: usize, parse: bool) -> TrainError {
        let Share::Lines {
            header_len, start, ..
        } = self.share
        else {
            return error;
        };
        if start == header_len
            || !matches!(error, TrainError::Parse { .. } | TrainError::BadFile { .. })
        {
            return error;
        }
        let again = || -> Result<()> {
            let lines = read::lines_before(&self.path, start)?;
            let mut text = self.open_text()?;
            text.rows.set_lines_before(lines);
            let max = self.options.n_classes.unwrap_or(MAX_CLASSES);
            let mut x = Vec::<T>::with_capacity(self.n_features.max(1));
            for _ in 0..row {
                text.next::<T>(None)?;
            }
            text.next(parse.then_some((max, &mut x)))?;
            Ok(())
        };
        match again() {
            Err(placed) => placed,
            // The file changed between the two reads: the first error is all there is.
            Ok(()) => error,
        }
    }

    /// Holds out the rows [`Dataset::split`] would hold out of a data set of these rows with
    /// the same `test_fraction` and `seed`: [`Part::Test`] reads them, [`Part::Train`] the
    /// others, each in file order. Nothing is stored: every pass decides the rows again from
    /// the seed, as `Dataset::split` does.
    ///
    /// # Errors
    /// As [`Dataset::split`]: a fraction not strictly between 0 and 1, or one that leaves
    /// either part empty.
    pub fn split(mut self, test_fraction: f64, seed: u64) -> Result<Self> {
        let n = self.n_rows;
        let n_test = super::test_count(n, test_fraction, "CsvStream::split")?;
        self.split = Some((seed, n_test));
        // Each process's rows of each part: one pass of the decisions over the whole file.
        let size = self.share_rows.len();
        let mut counts = vec![[0usize; 2]; size];
        let mut selection = Selection::new(n, n_test, seed);
        let mut owner = 0;
        let mut owner_end = self.share_rows[0];
        for row in 0..n {
            let held = usize::from(selection.next_held_out());
            let rank = match self.share {
                Share::Whole => 0,
                Share::Stride { size, .. } => row % size,
                Share::Lines { .. } => {
                    while row >= owner_end {
                        owner += 1;
                        owner_end += self.share_rows[owner];
                    }
                    owner
                }
            };
            counts[rank][held] += 1;
        }
        self.part_rows = counts;
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
    /// standardised): two passes, the first for the means, the second for the deviations
    /// from them, with the sums of [`Standardizer::fit`] in the same order, so that the
    /// result is the same to the bit. With a group (see [`StreamOptions::shard`]) each
    /// process sums its share and the sums are added over the processes, so the result is
    /// the whole table's, to rounding.
    ///
    /// # Errors
    /// The file's errors, if it changed since it was opened (when it is read again rather
    /// than its spill file).
    pub fn training_statistics(&self) -> Result<TrainingStatistics> {
        let raw = self.clone().with_scaler(None)?;
        let d = self.n_features;
        let mut sums = vec![0.0; d + self.n_classes];
        raw.for_each_row(Part::Train, |row, label| {
            for (m, &x) in sums.iter_mut().zip(row) {
                *m += x.as_f64();
            }
            sums[d + label] += 1.0;
        })?;
        self.sum_over_group(&mut sums)?;
        let n = self.total_len(Part::Train);
        let mean: Vec<f64> = sums[..d].iter().map(|s| s / n as f64).collect();
        let class_counts = sums[d..].iter().map(|&c| c as usize).collect();
        let mut squares = vec![0.0; d];
        raw.for_each_row(Part::Train, |row, _| {
            for ((v, &m), &x) in squares.iter_mut().zip(&mean).zip(row) {
                let dev = x.as_f64() - m;
                *v += dev * dev;
            }
        })?;
        self.sum_over_group(&mut squares)?;
        Ok(TrainingStatistics {
            class_counts,
            standardizer: Standardizer::from_moments(mean, &squares, n),
        })
    }

    /// Adds `values` over the processes of the group, if there is one.
    fn sum_over_group(&self, values: &mut [f64]) -> Result<()> {
        match &self.group {
            Some(group) => group.sum_f64(values),
            None => Ok(()),
        }
    }

    /// The rows of `part` this process reads: all of them, or its share's with a group.
    pub fn len(&self, part: Part) -> usize {
        self.rows_of(self.rank(), part)
    }

    /// The rows of `part` in the whole file, over all processes.
    pub fn total_len(&self, part: Part) -> usize {
        (0..self.part_rows.len())
            .map(|r| self.rows_of(r, part))
            .sum()
    }

    /// The rows of `part` that process `rank` reads.
    fn rows_of(&self, rank: usize, part: Part) -> usize {
        self.part_rows[rank][usize::from(part == Part::Test)]
    }

    /// Whether this process reads no rows of `part`.
    pub fn is_empty(&self, part: Part) -> bool {
        self.len(part) == 0
    }

    /// This process's place in the group the file is shared among: `(rank, size)`; `None`
    /// if this process reads the whole file.
    pub fn shard(&self) -> Option<(usize, usize)> {
        self.group.as_ref().map(|g| (g.rank(), g.size()))
    }

    fn rank(&self) -> usize {
        self.group.as_ref().map_or(0, |g| g.rank())
    }

    /// The group the file is shared among, if any.
    pub(crate) fn group(&self) -> Option<&dyn Collective> {
        self.group.as_deref()
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

    /// Whether the passes after opening read a spill file rather than the text.
    pub fn is_spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// The batches of `part`, `batch_size` rows each (the last one possibly smaller), read
    /// as they are asked for. `shuffle` is `Some((seed, epoch))` for an epoch's shuffled
    /// order (see the [module documentation](self)), `None` for file order. A batch's
    /// `indices` count the part's rows in file order, as in the data set [`Dataset::split`]
    /// makes (of this process's share, with a group).
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
        let n_batches = self.len(part).div_ceil(batch_size);
        self.batches_in_steps(part, batch_size, n_batches, shuffle)
    }

    /// [`CsvStream::batches`] in exactly `n_steps` batches, those after this process's rows
    /// run out empty: the batches of one process of a group (see [`StepPlan`]).
    pub(crate) fn batches_in_steps(
        &self,
        part: Part,
        batch_size: usize,
        n_steps: usize,
        shuffle: Option<(u64, u64)>,
    ) -> Result<StreamBatches<'_, T>> {
        Ok(StreamBatches {
            reader: PartReader::open(self, part)?,
            batch_size,
            n_steps,
            steps: 0,
            shuffle,
            buffer: Buffer::default(),
            order: Vec::new(),
            pos: 0,
            block: 0,
            emitted: 0,
            failed: false,
        })
    }

    /// How the processes of the group share each step of an epoch of `part` in global
    /// batches of `batch_size` rows: every process the same number of steps, each taking
    /// about its share of every batch from its own rows.
    pub(crate) fn step_plan(&self, part: Part, batch_size: usize) -> StepPlan {
        let rows: Vec<usize> = (0..self.part_rows.len())
            .map(|r| self.rows_of(r, part))
            .collect();
        let total: usize = rows.iter().sum();
        let steps = total.div_ceil(batch_size).max(1);
        let local: Vec<usize> = rows.iter().map(|&n| n.div_ceil(steps).max(1)).collect();
        let n_steps = rows
            .iter()
            .zip(&local)
            .map(|(&n, &b)| n.div_ceil(b))
            .max()
            .unwrap_or(0);
        StepPlan {
            rows,
            local,
            n_steps,
        }
    }

    /// The rows of `part` in memory, in file order, standardised if a scaler is set: the
    /// data set [`Dataset::split`] gives for it (this process's share of it, with a group).
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

/// How the processes of a group share the steps of an epoch: the rows each reads, the rows
/// each takes a step, and the steps.
#[derive(Clone, Debug)]
pub(crate) struct StepPlan {
    rows: Vec<usize>,
    local: Vec<usize>,
    pub(crate) n_steps: usize,
}

impl StepPlan {
    /// The rows process `rank` takes each step (fewer, or none, once its rows run out).
    pub(crate) fn local_batch(&self, rank: usize) -> usize {
        self.local[rank]
    }

    /// The rows all processes together take at step `step`: the global batch.
    pub(crate) fn global_batch(&self, step: usize) -> usize {
        self.rows
            .iter()
            .zip(&self.local)
            .map(|(&n, &b)| b.min(n.saturating_sub(step * b)))
            .sum()
    }
}

/// Sums what the processes of `group` found in their first passes: their rows, their
/// classes, and whether any failed (then every process returns an error).
fn exchange(
    group: &dyn Collective,
    first: Result<FirstPass>,
    path: &Path,
) -> Result<(FirstPass, Vec<usize>, Vec<bool>)> {
    let (rank, size) = (group.rank(), group.size());
    // Each process's rows, its number of label values, whether it failed, its features.
    let mut mine = vec![0.0; 4 * size];
    match &first {
        Ok(f) => {
            mine[rank] = f.rows as f64;
            mine[size + rank] = f.present.len() as f64;
            mine[3 * size + rank] = f.n_features as f64;
        }
        Err(_) => mine[2 * size + rank] = 1.0,
    }
    group.sum_f64(&mut mine)?;
    let failed: Vec<usize> = (0..size).filter(|&r| mine[2 * size + r] > 0.0).collect();
    let first = match (first, failed.first()) {
        (Err(e), _) => return Err(e),
        (Ok(_), Some(&r)) => {
            return Err(TrainError::bad_file(
                path,
                format!("process {r} of {size} could not read its share of the file"),
            ));
        }
        (Ok(first), None) => first,
    };
    if (0..size).any(|r| mine[3 * size + r] != first.n_features as f64) {
        return Err(TrainError::bad_file(
            path,
            "the processes read different headers (is it the same file on every machine?)",
        ));
    }
    let n_labels = (0..size)
        .map(|r| mine[size + r] as usize)
        .max()
        .unwrap_or(0);
    let mut present = vec![0.0; n_labels];
    for (p, &here) in present.iter_mut().zip(&first.present) {
        *p = f64::from(u8::from(here));
    }
    group.sum_f64(&mut present)?;
    let rows = (0..size).map(|r| mine[r] as usize).collect();
    Ok((first, rows, present.iter().map(|&p| p > 0.0).collect()))
}

/// The rows of one process's share of the text of the file, one at a time.
struct ShareRows {
    rows: Rows<Box<dyn Read + Send>>,
    n_features: usize,
    /// `(rank, size)` when the share is every `size`-th row of the file.
    stride: Option<(usize, usize)>,
    /// The rows of the file read so far.
    file_row: usize,
    label: Vec<usize>,
}

impl ShareRows {
    /// Reads the next row of the share: with `parse = Some((classes, features))`, pushes its
    /// features onto `features` and returns `Some(Some(label))`; without, checks only its
    /// place and number of fields and returns `Some(None)`. `None` after the last row.
    fn next<T: Element>(
        &mut self,
        parse: Option<(usize, &mut Vec<T>)>,
    ) -> Result<Option<Option<usize>>> {
        if let Some((rank, size)) = self.stride {
            while self.file_row % size != rank {
                if self.rows.skip_row()?.is_none() {
                    return Ok(None);
                }
                self.file_row += 1;
            }
        }
        let found = match parse {
            Some((classes, features)) => {
                self.label.clear();
                let parse_label = |s: &str| csv::parse_label(s, classes);
                self.rows
                    .next_row(&parse_label, features, &mut self.label)?
                    .map(|_| Some(self.label[0]))
            }
            None => self.rows.skip_row()?.map(|_| None),
        };
        self.file_row += usize::from(found.is_some());
        Ok(found)
    }
}

/// The spill file of a stream: every row of its share as numbers, `row_bytes` bytes a row.
struct SpillFile {
    file: Mutex<File>,
    row_bytes: usize,
    rows: usize,
    dir: PathBuf,
}

impl SpillFile {
    /// Fills `buf` from byte `offset`. Readers share the file, each with its own place in it.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(buf))
            .map_err(|e| self.error("reading", e))
    }

    fn error(&self, doing: &str, e: std::io::Error) -> TrainError {
        TrainError::io(
            &self.dir,
            std::io::Error::new(
                e.kind(),
                format!("{doing} the spill file of the parsed rows in this directory: {e}"),
            ),
        )
    }
}

/// Writes the spill file while the text is parsed.
struct SpillWriter {
    out: BufWriter<File>,
    row: Vec<u8>,
    spill: SpillFile,
}

impl SpillWriter {
    fn new<T: Element>(dir: &Path, n_features: usize) -> Result<Self> {
        let row_bytes = n_features * std::mem::size_of::<T>() + 4;
        let spill = SpillFile {
            file: Mutex::new(tempfile::tempfile_in(dir).map_err(|e| {
                TrainError::io(
                    dir,
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot create a spill file for the parsed rows in this directory: {e}"
                        ),
                    ),
                )
            })?),
            row_bytes,
            rows: 0,
            dir: dir.to_path_buf(),
        };
        let file = spill
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .try_clone()
            .map_err(|e| spill.error("opening", e))?;
        Ok(SpillWriter {
            out: BufWriter::with_capacity(SPILL_CHUNK, file),
            row: Vec::with_capacity(row_bytes),
            spill,
        })
    }

    fn push<T: Element>(&mut self, features: &[T], label: usize) -> Result<()> {
        self.row.clear();
        for &x in features {
            encode(x, &mut self.row);
        }
        self.row
            .extend_from_slice(&u32::try_from(label).unwrap_or(u32::MAX).to_le_bytes());
        self.spill.rows += 1;
        self.out
            .write_all(&self.row)
            .map_err(|e| self.spill.error("writing", e))
    }

    fn finish(self) -> Result<SpillFile> {
        let SpillWriter { out, spill, .. } = self;
        out.into_inner()
            .map_err(|e| spill.error("writing", e.into_error()))?;
        Ok(spill)
    }
}

/// Appends `x` to `out` in the element's own width, little-endian.
fn encode<T: Element>(x: T, out: &mut Vec<u8>) {
    if std::mem::size_of::<T>() == 4 {
        out.extend_from_slice(&(x.as_f64() as f32).to_le_bytes());
    } else {
        out.extend_from_slice(&x.as_f64().to_le_bytes());
    }
}

/// Appends the row encoded in `bytes` (features, then the label) to `out`; returns the label.
fn decode<T: Element>(bytes: &[u8], out: &mut Vec<T>) -> usize {
    let width = std::mem::size_of::<T>();
    let (features, label) = bytes.split_at(bytes.len() - 4);
    if width == 4 {
        out.extend(
            features
                .chunks_exact(4)
                .map(|b| T::cast_from(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))),
        );
    } else {
        out.extend(features.chunks_exact(8).map(|b| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            T::cast_from(f64::from_le_bytes(w))
        }));
    }
    u32::from_le_bytes([label[0], label[1], label[2], label[3]]) as usize
}

/// A spill file read from the start, a chunk at a time.
struct SpillReader {
    spill: Arc<SpillFile>,
    buf: Vec<u8>,
    pos: usize,
    /// Where the next chunk starts, and the rows not yet in a chunk.
    offset: u64,
    rows_left: usize,
}

impl SpillReader {
    fn new(spill: &Arc<SpillFile>) -> Self {
        SpillReader {
            spill: Arc::clone(spill),
            buf: Vec::new(),
            pos: 0,
            offset: 0,
            rows_left: spill.rows,
        }
    }

    /// The next row's bytes; `None` after the last.
    fn next(&mut self) -> Result<Option<&[u8]>> {
        let rb = self.spill.row_bytes;
        if self.pos == self.buf.len() {
            if self.rows_left == 0 {
                return Ok(None);
            }
            let rows = (SPILL_CHUNK / rb).max(1).min(self.rows_left);
            self.buf.resize(rows * rb, 0);
            self.spill.read_at(self.offset, &mut self.buf)?;
            self.offset += (rows * rb) as u64;
            self.rows_left -= rows;
            self.pos = 0;
        }
        let row = &self.buf[self.pos..self.pos + rb];
        self.pos += rb;
        Ok(Some(row))
    }
}

/// Where a part's rows come from.
enum Source {
    Text(Box<ShareRows>),
    Spill(SpillReader),
}

/// The rows of one part of a stream (of this process's share), one at a time.
struct PartReader<'s, T: Element> {
    stream: &'s CsvStream<T>,
    source: Source,
    part: Part,
    /// The share's rows read so far.
    share_row: usize,
    /// The part's rows read so far.
    part_row: usize,
    /// The split's decisions, and the row of the file the next one is for.
    selection: Option<(Selection, usize)>,
}

impl<'s, T: Element> PartReader<'s, T> {
    fn open(stream: &'s CsvStream<T>, part: Part) -> Result<Self> {
        let source = match &stream.spill {
            Some(spill) => Source::Spill(SpillReader::new(spill)),
            None => {
                let text = stream.open_text()?;
                if text.n_features != stream.n_features {
                    return Err(stream.changed());
                }
                Source::Text(Box::new(text))
            }
        };
        Ok(PartReader {
            stream,
            source,
            part,
            share_row: 0,
            part_row: 0,
            selection: stream
                .split
                .map(|(seed, n_test)| (Selection::new(stream.n_rows, n_test, seed), 0)),
        })
    }

    /// Appends the next row of the part to `row` (standardised if the stream has a scaler)
    /// and returns its label; `None` after the part's last row.
    fn next_into(&mut self, row: &mut Vec<T>) -> Result<Option<usize>> {
        let stream = self.stream;
        if self.part_row == stream.len(self.part) {
            return Ok(None);
        }
        let start = row.len();
        let classes = stream.n_classes;
        // The rows of the other part are skipped unparsed (opening checked every field).
        let label = loop {
            let i = self.share_row;
            self.share_row += 1;
            let held_out = match &mut self.selection {
                Some((selection, next)) => {
                    let file_row = stream.share.file_row(i);
                    selection.skip(file_row - *next);
                    *next = file_row + 1;
                    selection.next_held_out()
                }
                None => false,
            };
            let wanted = held_out == (self.part == Part::Test);
            let label = match &mut self.source {
                Source::Spill(spill) => match spill.next()? {
                    None => return Err(stream.changed()),
                    Some(bytes) => wanted.then(|| decode(bytes, row)),
                },
                Source::Text(text) => {
                    let read = text.next(wanted.then_some((classes, &mut *row)));
                    match read {
                        Ok(None) => return Err(stream.changed()),
                        Ok(Some(label)) => label,
                        Err(e) => return Err(stream.placed(e, i, wanted)),
                    }
                }
            };
            if let Some(label) = label {
                break label;
            }
        };
        self.part_row += 1;
        if let Some(scaler) = &stream.scaler {
            scaler.transform_row(&mut row[start..]);
        }
        Ok(Some(label))
    }
}

/// The rows of one buffer load: features `[k, d]`, labels, and their indices in the part.
#[derive(Default)]
struct Buffer<T> {
    features: Vec<T>,
    labels: Vec<usize>,
    indices: Vec<usize>,
}

/// The batches of one part of a [`CsvStream`], read as they are asked for; made by
/// [`CsvStream::batches`]. Holds at most one shuffle buffer of rows and one batch.
pub struct StreamBatches<'s, T: Element> {
    reader: PartReader<'s, T>,
    batch_size: usize,
    /// The batches in all, and those handed out.
    n_steps: usize,
    steps: usize,
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
        self.n_steps
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
        let rank = stream.rank() as u64;
        self.order = match self.shuffle {
            // The whole part of one process in one load: the in-memory epoch's permutation.
            Some((seed, epoch)) if k == total && stream.group.is_none() => {
                shuffle::permutation(k, seed, epoch)
            }
            Some((seed, epoch)) => {
                shuffle::permutation(k, seed, epoch ^ ((self.block + 1) << 40) ^ (rank << 24))
            }
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
        if self.failed || self.steps == self.n_steps {
            return None;
        }
        self.steps += 1;
        let batch = self.next_batch();
        self.failed = batch.is_err();
        Some(batch)
    }
}
