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
pub(crate) fn decompress_if_gzip(raw: Vec<u8>, name: &Path) -> Result<Vec<u8>> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4));
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "the gzip stream ends early (truncated file)".to_string()
            } else {
                format!("the gzip stream is corrupt: {e}")
            };
            TrainError::bad_file(name, why)
        })?;
    Ok(out)
}
