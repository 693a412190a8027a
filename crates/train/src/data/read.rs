//! Reading a whole file, gunzipping it when it starts with the gzip magic bytes.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::{Result, TrainError};

/// The first two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The bytes of `path`, decompressed if the file is gzip (whatever its name).
pub(crate) fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    decompress_if_gzip(raw, path)
}

/// `raw` itself, or its decompression if it starts with the gzip magic bytes. `name` is the
/// file the bytes came from, for error messages.
///
/// The output grows with `try_reserve` and stops at the memory the system has available, so
/// a stream that expands beyond it (a "gzip bomb", or a file too large for the machine) is an
/// error naming the file rather than an abort.
pub(crate) fn decompress_if_gzip(raw: Vec<u8>, name: &Path) -> Result<Vec<u8>> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let limit = crate::memory::available_bytes().unwrap_or(u64::MAX);
    let mut out: Vec<u8> = Vec::new();
    let mut decoder = MultiGzDecoder::new(raw.as_slice());
    let too_large = || {
        TrainError::bad_file(
            name,
            format!(
                "decompressed, the file is larger than the memory available ({})",
                crate::memory::describe_bytes(limit)
            ),
        )
    };
    loop {
        let grow = out.capacity().clamp(64 * 1024, 64 * 1024 * 1024);
        if out.len() as u64 + grow as u64 > limit {
            return Err(too_large());
        }
        out.try_reserve_exact(grow).map_err(|_| too_large())?;
        // At most the room reserved, so that `read_to_end` never grows the vector itself.
        let room = (out.capacity() - out.len()) as u64;
        let n = (&mut decoder)
            .take(room)
            .read_to_end(&mut out)
            .map_err(|e| {
                let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    "the gzip stream ends early (truncated file)".to_string()
                } else {
                    format!("the gzip stream is corrupt: {e}")
                };
                TrainError::bad_file(name, why)
            })?;
        if (n as u64) < room {
            return Ok(out);
        }
    }
}
