//! Files read as streams, gunzipped as they are read when they start with the gzip magic
//! bytes; and the errors of such a stream, turned into messages that name the file.
//!
//! Nothing here holds more of a file than a buffer of [`READ_BUFFER`] bytes (and, for gzip,
//! the decoder's window of 32 KiB): the readers in `csv.rs` and `idx.rs` parse as they read.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::bufread::MultiGzDecoder;

use crate::{Result, TrainError};

/// The first two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The bytes read from a file at once.
pub(crate) const READ_BUFFER: usize = 256 * 1024;

/// A file opened for reading as a stream: its bytes (decompressed if it is gzip) and its size
/// on disk.
pub(crate) struct Input {
    /// The file's content, decompressed as it is read if the file is gzip.
    pub(crate) reader: Box<dyn Read + Send>,
    /// The file's size on disk.
    pub(crate) len: u64,
    /// Whether the file is gzip (so that its content is longer than `len`, by an unknown
    /// factor).
    pub(crate) gzip: bool,
}

/// A count of the bytes read from files, shared between the reader and whoever watches it (a
/// progress bar on another thread). Clones share the count.
///
/// ```
/// use train::data::ReadCounter;
/// use train::data::csv::CsvOptions;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-counter-{}.csv", std::process::id()));
/// std::fs::write(&path, "x,label\n1,0\n2,1\n")?;
/// let counter = ReadCounter::new();
/// let watcher = counter.clone(); // for another thread
/// CsvOptions::default().read_classification_counting::<f32>(&path, "label", &counter)?;
/// assert_eq!(watcher.bytes(), 16); // the whole file
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReadCounter(Arc<AtomicU64>);

impl ReadCounter {
    /// A count at 0.
    pub fn new() -> Self {
        ReadCounter::default()
    }

    /// The bytes read so far (of the file as stored: compressed, for gzip).
    pub fn bytes(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens `path` as a stream of its content, decompressed if the file is gzip (whatever its
/// name).
pub(crate) fn open(path: &Path) -> Result<Input> {
    open_counting(path, &ReadCounter::new())
}

/// [`open`], adding the bytes read from the file to `counter`.
pub(crate) fn open_counting(path: &Path, counter: &ReadCounter) -> Result<Input> {
    let file = File::open(path).map_err(|e| TrainError::io(path, e))?;
    let len = file.metadata().map_err(|e| TrainError::io(path, e))?.len();
    let bytes_read = Arc::clone(&counter.0);
    let counted = Counted {
        inner: file,
        count: Arc::clone(&bytes_read),
    };
    let mut buffered = BufReader::with_capacity(READ_BUFFER, counted);
    let head = buffered.fill_buf().map_err(|e| TrainError::io(path, e))?;
    let gzip = is_gzip(head);
    let reader: Box<dyn Read + Send> = if gzip {
        Box::new(Gunzip(MultiGzDecoder::new(buffered)))
    } else {
        Box::new(buffered)
    };
    Ok(Input { reader, len, gzip })
}

/// Whether `bytes` start with the gzip magic bytes.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// The content of `bytes`, decompressed as it is read if it starts with the gzip magic bytes.
pub(crate) fn from_bytes(bytes: &[u8]) -> Box<dyn Read + Send + '_> {
    if is_gzip(bytes) {
        Box::new(Gunzip(MultiGzDecoder::new(bytes)))
    } else {
        Box::new(bytes)
    }
}

/// The error for a failed read of the stream of file `name`: what is wrong with its content
/// (a broken gzip stream, text that is not UTF-8) if a reader here said so, else the I/O
/// error itself.
pub(crate) fn stream_error(name: &Path, e: std::io::Error) -> TrainError {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Fault>()) {
        Some(Fault(why)) => TrainError::bad_file(name, why.clone()),
        None => TrainError::io(name, e),
    }
}

/// What is wrong with a stream's content, carried through `std::io::Error` to
/// [`stream_error`].
#[derive(Debug)]
pub(crate) struct Fault(pub(crate) String);

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fault {}

impl Fault {
    /// `why` as an I/O error of kind `InvalidData`.
    pub(crate) fn io(why: String) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, Fault(why))
    }
}

/// A gzip decoder whose errors say what is wrong with the stream.
struct Gunzip<R: BufRead>(MultiGzDecoder<R>);

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            Fault::io(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "the gzip stream ends early (truncated file)".to_string()
            } else {
                format!("the gzip stream is corrupt: {e}")
            })
        })
    }
}

/// A reader that adds the bytes it reads to a shared count.
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads into `buf` until it is full or the stream ends; returns the bytes read.
pub(crate) fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The part of a plain (not gzip) file that one of several processes reads: its header, the
/// bytes `header_len..`, and then its own whole lines, the bytes `start..end`; each counted
/// into `counter` as read.
pub(crate) fn open_lines_counting(
    path: &Path,
    header_len: u64,
    (start, end): (u64, u64),
    counter: &ReadCounter,
) -> Result<Box<dyn Read + Send>> {
    let open = || File::open(path).map_err(|e| TrainError::io(path, e));
    let count = || Arc::clone(&counter.0);
    let header = Counted {
        inner: open()?.take(header_len),
        count: count(),
    };
    let mut body = open()?;
    body.seek(SeekFrom::Start(start))
        .map_err(|e| TrainError::io(path, e))?;
    let body = Counted {
        inner: body.take(end.saturating_sub(start)),
        count: count(),
    };
    Ok(Box::new(BufReader::with_capacity(
        READ_BUFFER,
        header.chain(body),
    )))
}

/// Where the line that holds byte `pos - 1` of `file` ends: the start of the first line at or
/// after `pos` (`len`, the file's size, if none). `\n`, `\r\n` and a lone `\r` end lines, as
/// everywhere else here.
pub(crate) fn line_start_at_or_after(file: &mut File, pos: u64, len: u64) -> std::io::Result<u64> {
    if pos == 0 || pos >= len {
        return Ok(pos.min(len));
    }
    file.seek(SeekFrom::Start(pos - 1))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut at = pos - 1;
    let mut after_cr = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(len);
        }
        for &b in buf {
            if after_cr {
                // A lone `\r` ended the line before this byte; `\r\n` ends it after.
                return Ok(if b == b'\n' { at + 1 } else { at });
            }
            match b {
                b'\n' => return Ok(at + 1),
                b'\r' => after_cr = true,
                _ => {}
            }
            at += 1;
        }
        let n = buf.len();
        reader.consume(n);
    }
}

/// The number of lines that start before byte `end` of the file `path` (which must be the
/// start of a line): the lines ended by a `\n`, a `\r\n` or a lone `\r` before it.
pub(crate) fn lines_before(path: &Path, end: u64) -> Result<usize> {
    let file = File::open(path).map_err(|e| TrainError::io(path, e))?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, file.take(end));
    let (mut lines, mut after_cr) = (0, false);
    loop {
        let buf = reader.fill_buf().map_err(|e| TrainError::io(path, e))?;
        if buf.is_empty() {
            // `end` starts a line, so a last `\r` there ended one.
            return Ok(lines + usize::from(after_cr));
        }
        for &b in buf {
            match b {
                b'\n' => {
                    lines += 1;
                    after_cr = false;
                }
                b'\r' => {
                    lines += usize::from(after_cr);
                    after_cr = true;
                }
                _ => {
                    lines += usize::from(after_cr);
                    after_cr = false;
                }
            }
        }
        let n = buf.len();
        reader.consume(n);
    }
}
