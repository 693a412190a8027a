//! The IDX format of MNIST: image and label files, raw or gzip-compressed.
//!
//! An IDX file is a 4-byte magic number — two zero bytes, an element-type byte (`0x08` for
//! unsigned bytes, the only type MNIST uses) and the number of dimensions — then each
//! dimension as a big-endian `u32`, then the elements in row-major order. Image files have 3
//! dimensions (`n, rows, cols`, magic `0x00000803` = 2051), label files 1 (`n`, magic
//! `0x00000801` = 2049). Files starting with the gzip magic bytes `1f 8b` are decompressed
//! as they are read, whatever their name.
//!
//! A file is parsed as it is read: loading holds the samples (as the element type) and a read
//! buffer, never the file's bytes as well. The samples' storage is reserved at once when the
//! size of the content is known (a raw file) and grown as data arrives otherwise (gzip), so a
//! header that promises more than the file holds allocates nothing for it.

use std::path::{Path, PathBuf};

use tape::{Array, Element};

use super::Dataset;
use super::read::{self, READ_BUFFER};
use crate::{Result, TrainError};

/// Reads an IDX image file as pixels in `[0, 1]` (the stored byte divided by 255), shaped
/// `[n, rows, cols]`.
///
/// ```no_run
/// let images = train::data::idx::read_images::<f32>("mnist/t10k-images-idx3-ubyte.gz")?;
/// assert_eq!(images.shape(), &[10_000, 28, 28]);
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be read; [`TrainError::BadFile`] if it is not an
/// IDX file of 3-D unsigned bytes, holds no image or images of no pixel, its data is shorter
/// or longer than the header says, or its gzip stream is broken.
pub fn read_images<T: Element>(path: impl AsRef<Path>) -> Result<Array<T>> {
    let path = path.as_ref();
    let input = read::open(path)?;
    let content_len = (!input.gzip).then_some(input.len);
    images_from(input.reader, content_len, path)
}

/// [`read_images`] on the bytes of a file already in memory (raw or gzip); `name` stands for
/// the file in errors.
///
/// ```
/// // One image of 1 × 2 pixels: 0 and 255.
/// let bytes = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255];
/// let images = train::data::idx::parse_images::<f32>(&bytes, "inline".as_ref())?;
/// assert_eq!((images.shape(), images.data()), (&[1, 1, 2][..], &[0.0, 1.0][..]));
/// let err = train::data::idx::parse_images::<f32>(&bytes[..17], "inline".as_ref()).unwrap_err();
/// assert!(err.to_string().starts_with("inline: truncated"));
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// As [`read_images`], without the I/O errors.
pub fn parse_images<T: Element>(bytes: &[u8], name: &Path) -> Result<Array<T>> {
    let content_len = (!read::is_gzip(bytes)).then_some(bytes.len() as u64);
    images_from(read::from_bytes(bytes), content_len, name)
}

fn images_from<T: Element>(
    mut reader: impl std::io::Read,
    content_len: Option<u64>,
    path: &Path,
) -> Result<Array<T>> {
    let scale: Vec<T> = (0..=255u8)
        .map(|b| T::cast_from(f64::from(b) / 255.0))
        .collect();
    let (dims, pixels) = parse(&mut reader, path, 3, "images", content_len, |b| {
        scale[usize::from(b)]
    })?;
    Ok(Array::from_vec(pixels, &dims)?)
}

/// Reads an IDX label file: one byte per sample.
///
/// ```no_run
/// let labels = train::data::idx::read_labels("mnist/t10k-labels-idx1-ubyte.gz")?;
/// assert_eq!(&labels[..3], &[7, 2, 1]);
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// As [`read_images`], for a 1-D file.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let input = read::open(path)?;
    let content_len = (!input.gzip).then_some(input.len);
    let (_, labels) = parse(input.reader, path, 1, "labels", content_len, |b| b)?;
    Ok(labels)
}

/// [`read_labels`] on the bytes of a file already in memory (raw or gzip); `name` stands for
/// the file in errors.
///
/// ```
/// let bytes = [0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1];
/// assert_eq!(train::data::idx::parse_labels(&bytes, "inline".as_ref())?, vec![7, 2, 1]);
/// let none = [0, 0, 8, 1, 0, 0, 0, 0];
/// let err = train::data::idx::parse_labels(&none, "inline".as_ref()).unwrap_err();
/// assert_eq!(err.to_string(), "inline: holds no labels: the header gives 0 samples");
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// As [`read_labels`], without the I/O errors.
pub fn parse_labels(bytes: &[u8], name: &Path) -> Result<Vec<u8>> {
    let content_len = (!read::is_gzip(bytes)).then_some(bytes.len() as u64);
    let (_, labels) = parse(
        read::from_bytes(bytes),
        name,
        1,
        "labels",
        content_len,
        |b| b,
    )?;
    Ok(labels)
}

/// Reads MNIST from a directory holding the four standard files, and returns
/// `(train, test)`: 60,000 and 10,000 images of `28 × 28 = 784` features in `[0, 1]`, labels
/// `0..=9`.
///
/// Each file may be gzip-compressed or not: `train-images-idx3-ubyte.gz` is looked for first,
/// then `train-images-idx3-ubyte`, then the dotted spelling `train-images.idx3-ubyte`
/// (and `.gz`) found in some copies; likewise `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`.
///
/// ```no_run
/// let (train, test) = train::data::mnist::<f32>("data/mnist")?;
/// assert_eq!((train.len(), test.len(), train.n_features()), (60_000, 10_000, 784));
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// # Errors
/// [`TrainError::BadFile`] naming the directory if a file is missing; the errors of
/// [`read_images`] and [`read_labels`]; and [`TrainError::BadFile`] if a label is not a
/// digit, an image file and its label file hold different numbers of samples, or the
/// training and test images differ in size.
pub fn mnist<T: Element>(dir: impl AsRef<Path>) -> Result<(Dataset<T>, Dataset<T>)> {
    let dir = dir.as_ref();
    let train = mnist_part(dir, "train")?;
    let test = mnist_part(dir, "t10k")?;
    if train.n_features() != test.n_features() {
        return Err(TrainError::bad_file(
            dir,
            format!(
                "training images have {} pixels each but test images have {}",
                train.n_features(),
                test.n_features()
            ),
        ));
    }
    Ok((train, test))
}

fn mnist_part<T: Element>(dir: &Path, prefix: &str) -> Result<Dataset<T>> {
    let images_path = find_file(dir, &format!("{prefix}-images"), "idx3-ubyte")?;
    let labels_path = find_file(dir, &format!("{prefix}-labels"), "idx1-ubyte")?;
    let images = read_images::<T>(&images_path)?;
    let labels = read_labels(&labels_path)?;
    let (n, rows, cols) = (images.shape()[0], images.shape()[1], images.shape()[2]);
    if labels.len() != n {
        return Err(TrainError::bad_file(
            &labels_path,
            format!(
                "holds {} labels but {} holds {n} images",
                labels.len(),
                images_path.display()
            ),
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l > 9) {
        return Err(TrainError::bad_file(
            &labels_path,
            format!("label {l} of sample {i} is not a digit 0..=9"),
        ));
    }
    let features = images.reshaped(&[n, rows * cols])?;
    Dataset::classification(features, labels.into_iter().map(usize::from).collect(), 10)
}

/// The first of `stem-kind.gz`, `stem-kind`, `stem.kind`, `stem.kind.gz` that exists in `dir`.
fn find_file(dir: &Path, stem: &str, kind: &str) -> Result<PathBuf> {
    let candidates = [
        format!("{stem}-{kind}.gz"),
        format!("{stem}-{kind}"),
        format!("{stem}.{kind}"),
        format!("{stem}.{kind}.gz"),
    ];
    for name in &candidates {
        let path = dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    // Say why: the directory may not exist at all.
    if let Err(e) = std::fs::read_dir(dir) {
        return Err(TrainError::io(dir, e));
    }
    Err(TrainError::bad_file(
        dir,
        format!(
            "no MNIST file `{}` in this directory (nor `{}`, `{}`, `{}`)",
            candidates[0], candidates[1], candidates[2], candidates[3]
        ),
    ))
}

/// IDX's element-type codes and their names.
const IDX_TYPES: [(u8, &str); 6] = [
    (0x08, "unsigned byte"),
    (0x09, "signed byte"),
    (0x0B, "i16"),
    (0x0C, "i32"),
    (0x0D, "f32"),
    (0x0E, "f64"),
];

/// Reads an IDX file of unsigned bytes with `ndim` dimensions from `reader`, checking its
/// header, and returns the dimensions and every element through `convert`. `what` (`images`,
/// `labels`) names what the file should hold; `content_len`, if known, is the length of the
/// content (header and data), which lets the elements' storage be reserved at once.
fn parse<Y>(
    mut reader: impl std::io::Read,
    path: &Path,
    ndim: u8,
    what: &str,
    content_len: Option<u64>,
    convert: impl Fn(u8) -> Y,
) -> Result<(Vec<usize>, Vec<Y>)> {
    let bad = |message: String| TrainError::bad_file(path, message);
    let failed = |e| read::stream_error(path, e);
    // The header, or the whole content if it is shorter: the checks' messages give its length.
    let mut header = [0u8; 4 + 4 * 255];
    let header = &mut header[..header_len(ndim)];
    let got = read::read_up_to(&mut reader, header).map_err(failed)?;
    let head = &header[..got];
    check_magic(head, ndim, what).map_err(bad)?;
    let (dims, expected) = dims_of(head, ndim, what).map_err(bad)?;
    let mut out: Vec<Y> = Vec::new();
    let out_of_memory = || {
        bad(format!(
            "not enough memory for {expected} {} as {} ({})",
            if what == "images" { "pixels" } else { "labels" },
            std::any::type_name::<Y>(),
            crate::memory::describe_bytes(
                (expected as u64).saturating_mul(std::mem::size_of::<Y>() as u64)
            )
        ))
    };
    check_fits::<Y>(expected).map_err(|()| out_of_memory())?;
    if content_len.is_some_and(|len| len >= (header_len(ndim) + expected) as u64) {
        out.try_reserve_exact(expected)
            .map_err(|_| out_of_memory())?;
    }
    let mut chunk = vec![0u8; READ_BUFFER];
    let mut data_len = 0usize;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(e)),
        };
        let wanted = expected.saturating_sub(data_len).min(n);
        if out.capacity() - out.len() < wanted {
            // Grown as the data arrives (doubling, at most to the size the header gives).
            let target = (2 * out.len()).clamp(out.len() + wanted, expected);
            out.try_reserve_exact(target - out.len())
                .map_err(|_| out_of_memory())?;
        }
        out.extend(chunk[..wanted].iter().map(|&b| convert(b)));
        data_len = data_len.saturating_add(n);
    }
    if data_len < expected {
        return Err(bad(format!(
            "truncated: the header says {} = {expected} bytes of data, the file has only {data_len} after the header",
            product_text(&dims),
        )));
    }
    if data_len > expected {
        return Err(bad(format!(
            "the header says {} = {expected} bytes of data, but {data_len} bytes follow the header ({} too many)",
            product_text(&dims),
            data_len - expected
        )));
    }
    Ok((dims, out))
}

/// `Err` if `count` elements of `Y` are more than the memory the system has available.
fn check_fits<Y>(count: usize) -> std::result::Result<(), ()> {
    let bytes = (count as u64).saturating_mul(std::mem::size_of::<Y>() as u64);
    match crate::memory::available_bytes() {
        Some(available) if bytes > available => Err(()),
        _ => Ok(()),
    }
}

/// Checks the magic number: two zero bytes, the element type of unsigned bytes and `ndim`
/// dimensions. Each part is checked on its own, so that the error says which is wrong: a file
/// that is not IDX at all, IDX of another element type, or IDX `what` of the wrong kind.
fn check_magic(bytes: &[u8], ndim: u8, what: &str) -> std::result::Result<(), String> {
    let expected_magic = 0x0800 | u32::from(ndim);
    if bytes.len() < 4 {
        return Err(format!(
            "{} bytes is too short for an IDX header (expected IDX {what}, magic 0x{expected_magic:08X})",
            bytes.len()
        ));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "bad magic number 0x{magic:08X}: not an IDX file (IDX {what} start with 0x{expected_magic:08X})"
        ));
    }
    match IDX_TYPES.iter().find(|(code, _)| *code == bytes[2]) {
        Some((0x08, _)) => {}
        Some((code, name)) => {
            return Err(format!(
                "IDX element type 0x{code:02X} ({name}) is not supported; only unsigned bytes (0x08) are"
            ));
        }
        None => {
            return Err(format!(
                "bad magic number 0x{magic:08X}: unknown IDX element type 0x{:02X}",
                bytes[2]
            ));
        }
    }
    if bytes[3] != ndim {
        return Err(format!(
            "bad magic number 0x{magic:08X}: the file has {} dimensions but IDX {what} have {ndim} (magic 0x{expected_magic:08X})",
            bytes[3]
        ));
    }
    Ok(())
}

/// The `ndim` dimensions after the magic number, and the number of elements they make. The
/// count is checked for overflow before anything is allocated from it, and a file with no
/// sample, or samples of no pixel, is refused by name rather than read as an empty data set.
fn dims_of(bytes: &[u8], ndim: u8, what: &str) -> std::result::Result<(Vec<usize>, usize), String> {
    let header_len = header_len(ndim);
    if bytes.len() < header_len {
        return Err(format!(
            "the header is cut short: {ndim} dimensions need {header_len} header bytes, the file has {}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("the dimensions {} are too large", product_text(&dims)))?;
    if dims[0] == 0 {
        return Err(format!("holds no {what}: the header gives 0 samples"));
    }
    if dims[1..].contains(&0) {
        return Err(format!(
            "its {what} have {} pixels (rows × columns); an image needs at least one",
            product_text(&dims[1..])
        ));
    }
    Ok((dims, expected))
}

/// The length of the header of an IDX file with `ndim` dimensions: the magic number, then a
/// `u32` per dimension.
fn header_len(ndim: u8) -> usize {
    4 + 4 * usize::from(ndim)
}

/// Dimensions as a product, `60000 × 28 × 28`.
fn product_text(dims: &[usize]) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" × ")
}
