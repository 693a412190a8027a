//! [`LineIndex`]: the text of a CSV stream on its way to the `csv` reader, checked to be
//! UTF-8, its byte-order mark dropped, and the start of every line noted (while it is still
//! needed), so that a record can be placed on the line an editor shows.
//!
//! The `csv` crate counts `\n` only; a file with `\r` line endings would be one long line to
//! it. Here `\n`, `\r\n` and a lone `\r` each end a line.

use std::collections::VecDeque;
use std::io::Read;

use crate::data::read::Fault;

/// The bytes handed to the `csv` reader at once.
const BUFFER: usize = 64 * 1024;

/// The UTF-8 byte-order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// A reader of the text of `R`, which fails with a [`Fault`] at the first byte that is not
/// UTF-8, and notes where lines start. Offsets count from the first byte after a byte-order
/// mark, as the `csv` reader's positions do.
pub(super) struct LineIndex<R> {
    inner: R,
    buf: Box<[u8]>,
    /// `buf[start..valid_end]` is checked text not yet handed out; `buf[valid_end..end]` is
    /// the start of a character whose other bytes are still to come.
    start: usize,
    valid_end: usize,
    end: usize,
    /// The offset of `buf[0]` in the text.
    base: u64,
    /// The length of the byte-order mark dropped at the start (0 or 3), for the offsets of
    /// UTF-8 errors, which count from the first byte of the file.
    bom: u64,
    started: bool,
    eof: bool,
    /// The end of the stream has been handed out (and noted in `lines`).
    finished: bool,
    pub(super) lines: LineStarts,
}

impl<R: Read> LineIndex<R> {
    pub(super) fn new(inner: R) -> Self {
        LineIndex {
            inner,
            buf: vec![0; BUFFER].into_boxed_slice(),
            start: 0,
            valid_end: 0,
            end: 0,
            base: 0,
            bom: 0,
            started: false,
            eof: false,
            finished: false,
            lines: LineStarts::new(),
        }
    }

    /// Reads more of the stream into the buffer, once everything checked is handed out.
    fn refill(&mut self) -> std::io::Result<()> {
        let tail = self.end - self.valid_end;
        self.buf.copy_within(self.valid_end..self.end, 0);
        self.base += self.valid_end as u64;
        (self.start, self.valid_end, self.end) = (0, 0, tail);
        while self.valid_end == 0 && !self.eof {
            let n = match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.end += n;
            if n == 0 {
                self.eof = true;
            } else if !self.started && self.end < BOM.len() {
                // A byte-order mark is looked for in the first three bytes.
                continue;
            }
            if !self.started {
                self.started = true;
                if self.buf[..self.end].starts_with(&BOM) {
                    self.buf.copy_within(BOM.len()..self.end, 0);
                    self.end -= BOM.len();
                    self.bom = BOM.len() as u64;
                }
            }
            self.valid_end = match std::str::from_utf8(&self.buf[..self.end]) {
                Ok(_) => self.end,
                Err(e) if e.error_len().is_none() && !self.eof => e.valid_up_to(),
                Err(e) => {
                    let offset = self.bom + self.base + e.valid_up_to() as u64;
                    return Err(Fault::io(format!(
                        "not valid UTF-8 text (first bad byte at offset {offset})"
                    )));
                }
            };
        }
        Ok(())
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.start == self.valid_end {
            if !self.eof {
                self.refill()?;
            }
            if self.start == self.valid_end {
                if !self.finished {
                    self.finished = true;
                    self.lines.finish(self.base + self.end as u64);
                }
                return Ok(0);
            }
        }
        let n = out.len().min(self.valid_end - self.start);
        let text = &self.buf[self.start..self.start + n];
        out[..n].copy_from_slice(text);
        self.lines.scan(text, self.base + self.start as u64);
        self.start += n;
        Ok(n)
    }
}

/// Where the lines start that may still be asked about, each with whether it is blank (its
/// first byte ends it).
pub(super) struct LineStarts {
    starts: VecDeque<(u64, bool)>,
    /// The lines whose starts were dropped from the front.
    passed: usize,
    /// The last start's first byte is still to come.
    pending: bool,
    /// The last byte was `\r`: a line starts after it unless `\n` follows.
    after_cr: bool,
}

impl LineStarts {
    fn new() -> Self {
        LineStarts {
            starts: VecDeque::from([(0, false)]),
            passed: 0,
            pending: true,
            after_cr: false,
        }
    }

    /// Notes the lines that start in `text`, which begins at `offset`.
    fn scan(&mut self, text: &[u8], offset: u64) {
        let is_break = |b: u8| b == b'\n' || b == b'\r';
        for (i, &b) in text.iter().enumerate() {
            if self.pending {
                self.pending = false;
                if let Some(last) = self.starts.back_mut() {
                    last.1 = is_break(b);
                }
            }
            if self.after_cr {
                self.after_cr = false;
                if b != b'\n' {
                    self.starts.push_back((offset + i as u64, is_break(b)));
                }
            }
            if b == b'\n' {
                self.starts.push_back((offset + i as u64 + 1, false));
                self.pending = true;
            } else if b == b'\r' {
                self.after_cr = true;
            }
        }
    }

    /// The stream ends at `offset`: a line that starts there holds nothing.
    fn finish(&mut self, offset: u64) {
        if self.after_cr {
            self.after_cr = false;
            self.starts.push_back((offset, true));
        } else if self.pending {
            self.pending = false;
            if let Some(last) = self.starts.back_mut() {
                last.1 = true;
            }
        }
    }

    /// The line (from 1) that holds byte `offset`, which must not be before an offset given
    /// to [`LineStarts::forget_through`].
    pub(super) fn line_of(&self, offset: u64) -> usize {
        self.passed + self.starts.partition_point(|&(s, _)| s <= offset)
    }

    /// Whether line `line` (from 1) is blank; `None` if it has not been read yet.
    pub(super) fn is_blank(&self, line: usize) -> Option<bool> {
        let idx = line.checked_sub(1 + self.passed)?;
        self.starts.get(idx).map(|&(_, blank)| blank)
    }

    /// Drops the lines that start at or before `offset`: no question will be asked about an
    /// earlier byte.
    pub(super) fn forget_through(&mut self, offset: u64) {
        while self.starts.len() > 1 && self.starts[1].0 <= offset {
            self.starts.pop_front();
            self.passed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(text: &[u8]) -> LineIndex<&[u8]> {
        let mut lines = LineIndex::new(text);
        let mut out = Vec::new();
        lines.read_to_end(&mut out).unwrap();
        lines
    }

    #[test]
    fn every_line_ending_starts_a_line() {
        // Lines: "a" (0), "" (2), "b" (3, after \r\n), "c" (6, after a lone \r), "" (8).
        let lines = index(b"a\n\nb\r\nc\r").lines;
        let starts: Vec<(u64, bool)> = lines.starts.iter().copied().collect();
        assert_eq!(
            starts,
            vec![(0, false), (2, true), (3, false), (6, false), (8, true)]
        );
        assert_eq!(
            (lines.line_of(0), lines.line_of(2), lines.line_of(7)),
            (1, 2, 4)
        );
        assert_eq!(lines.is_blank(2), Some(true));
        assert_eq!(lines.is_blank(6), None);
    }

    #[test]
    fn forgotten_lines_still_count() {
        let mut lines = index(b"a\nb\nc\n").lines;
        lines.forget_through(3);
        assert_eq!(lines.starts.len(), 3); // lines 2, 3 and the empty one after the last break
        assert_eq!((lines.line_of(3), lines.line_of(4)), (2, 3));
        assert_eq!(lines.is_blank(3), Some(false));
    }

    #[test]
    fn the_byte_order_mark_is_dropped_and_bad_bytes_are_named() {
        let mut out = Vec::new();
        LineIndex::new(&b"\xEF\xBB\xBFab"[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"ab");
        // The offset counts the mark, as a hex editor does.
        let err = LineIndex::new(&b"\xEF\xBB\xBFab\xff"[..])
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "not valid UTF-8 text (first bad byte at offset 5)"
        );
        // A character cut off by the end of the stream is not UTF-8 either.
        let err = LineIndex::new(&b"a\xC3"[..])
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().ends_with("offset 1)"), "{err}");
    }
}
