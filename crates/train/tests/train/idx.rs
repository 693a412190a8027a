//! IDX (MNIST format) readers: good files, raw and gzip, and every kind of broken file.

use std::path::Path;

use train::TrainError;
use train::data::idx::{read_images, read_labels};
use train::data::mnist;

use crate::common::{TempDir, gzip};

/// An IDX file of unsigned bytes with these dimensions and data.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// The message of a [`TrainError::BadFile`], after checking that it names `path`.
#[track_caller]
fn bad_file_message(err: TrainError, path: &Path) -> String {
    match &err {
        TrainError::BadFile { path: p, message } => {
            assert_eq!(p, path);
            assert!(
                err.to_string().starts_with(&path.display().to_string()),
                "{err}"
            );
            message.clone()
        }
        other => panic!("expected BadFile for {}, got {other:?}", path.display()),
    }
}

#[test]
fn images_are_scaled_to_unit_range_raw_or_gzip() {
    let dir = TempDir::new("idx-good");
    // Two 2×3 images; 51/255 = 0.2 and 255/255 = 1 exactly in f64.
    let data = [0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6];
    let bytes = idx(&[2, 2, 3], &data);
    let raw = dir.write("images-idx3-ubyte", &bytes);
    // Compressed, under a name without `.gz`: detection goes by the magic bytes.
    let gz = dir.write("images-compressed", &gzip(&bytes));
    for path in [raw, gz] {
        let a = read_images::<f64>(&path).unwrap();
        assert_eq!(a.shape(), &[2, 2, 3]);
        let expected: Vec<f64> = data.iter().map(|&b| f64::from(b) / 255.0).collect();
        assert_eq!(a.data(), expected.as_slice());
        assert_eq!(a.get(&[0, 0, 2]), 0.2);
        assert_eq!(a.get(&[0, 0, 1]), 1.0);
    }
    let labels = dir.write("labels.gz", &gzip(&idx(&[3], &[7, 0, 9])));
    assert_eq!(read_labels(&labels).unwrap(), vec![7, 0, 9]);
}

#[test]
fn bad_magic_is_reported() {
    let dir = TempDir::new("idx-magic");
    let path = dir.write("x", &[0x12, 0x34, 0x08, 0x03, 0, 0, 0, 0]);
    let msg = bad_file_message(read_images::<f32>(&path).unwrap_err(), &path);
    assert_eq!(
        msg,
        "bad magic number 0x12340803: not an IDX file (IDX images start with 0x00000803)"
    );
}

#[test]
fn a_label_file_is_not_an_image_file() {
    let dir = TempDir::new("idx-dims");
    let labels = dir.write("labels", &idx(&[2], &[1, 2]));
    let msg = bad_file_message(read_images::<f32>(&labels).unwrap_err(), &labels);
    assert!(
        msg.contains("the file has 1 dimensions but IDX images have 3"),
        "{msg}"
    );
    let images = dir.write("images", &idx(&[1, 1, 1], &[0]));
    let msg = bad_file_message(read_labels(&images).unwrap_err(), &images);
    assert!(
        msg.contains("the file has 3 dimensions but IDX labels have 1"),
        "{msg}"
    );
}

#[test]
fn other_element_types_are_refused_by_name() {
    let dir = TempDir::new("idx-type");
    let mut bytes = idx(&[1], &[0, 0, 0, 0]);
    bytes[2] = 0x0D;
    let path = dir.write("floats", &bytes);
    let msg = bad_file_message(read_labels(&path).unwrap_err(), &path);
    assert_eq!(
        msg,
        "IDX element type 0x0D (f32) is not supported; only unsigned bytes (0x08) are"
    );
    bytes[2] = 0x42;
    let path = dir.write("unknown", &bytes);
    let msg = bad_file_message(read_labels(&path).unwrap_err(), &path);
    assert!(msg.contains("unknown IDX element type 0x42"), "{msg}");
}

#[test]
fn short_headers_are_reported() {
    let dir = TempDir::new("idx-short");
    let empty = dir.write("empty", &[]);
    let msg = bad_file_message(read_labels(&empty).unwrap_err(), &empty);
    assert!(
        msg.starts_with("0 bytes is too short for an IDX header"),
        "{msg}"
    );
    // The magic promises 3 dimensions (16 header bytes) but only one follows.
    let cut = dir.write("cut", &[0, 0, 8, 3, 0, 0, 0, 2]);
    let msg = bad_file_message(read_images::<f32>(&cut).unwrap_err(), &cut);
    assert_eq!(
        msg,
        "the header is cut short: 3 dimensions need 16 header bytes, the file has 8"
    );
}

#[test]
fn data_shorter_than_the_header_says_is_truncated() {
    let dir = TempDir::new("idx-truncated");
    // 2 × 2 × 2 = 8 bytes promised, 5 given.
    let path = dir.write("images", &idx(&[2, 2, 2], &[1, 2, 3, 4, 5]));
    let msg = bad_file_message(read_images::<f32>(&path).unwrap_err(), &path);
    assert_eq!(
        msg,
        "truncated: the header says 2 × 2 × 2 = 8 bytes of data, the file has only 5 after the header"
    );
}

#[test]
fn data_longer_than_the_header_says_is_reported() {
    let dir = TempDir::new("idx-long");
    let path = dir.write("labels", &idx(&[2], &[1, 2, 3]));
    let msg = bad_file_message(read_labels(&path).unwrap_err(), &path);
    assert!(
        msg.ends_with("but 3 bytes follow the header (1 too many)"),
        "{msg}"
    );
}

#[test]
fn broken_gzip_streams_are_reported() {
    let dir = TempDir::new("idx-gzip");
    let compressed = gzip(&idx(&[100], &[7; 100]));
    let cut = dir.write("cut.gz", &compressed[..compressed.len() / 2]);
    let msg = bad_file_message(read_labels(&cut).unwrap_err(), &cut);
    assert_eq!(msg, "the gzip stream ends early (truncated file)");
    // Flip the bytes of the stored CRC-32 (the 8 bytes before the end hold CRC and size).
    let mut bad_crc = compressed.clone();
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0xff;
    let bad = dir.write("crc.gz", &bad_crc);
    let msg = bad_file_message(read_labels(&bad).unwrap_err(), &bad);
    assert!(msg.starts_with("the gzip stream is corrupt"), "{msg}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = TempDir::new("idx-missing");
    let path = dir.path().join("nope");
    let err = read_labels(&path).unwrap_err();
    assert!(
        matches!(&err, TrainError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().starts_with(&path.display().to_string()));
}

/// Writes a small MNIST-like directory: 3 training and 2 test images of 2×2 pixels.
fn fake_mnist(dir: &TempDir) {
    let train: Vec<u8> = (0..12).map(|i| i * 20).collect();
    dir.write(
        "train-images-idx3-ubyte.gz",
        &gzip(&idx(&[3, 2, 2], &train)),
    );
    dir.write("train-labels-idx1-ubyte", &idx(&[3], &[5, 0, 4]));
    dir.write("t10k-images.idx3-ubyte", &idx(&[2, 2, 2], &[255; 8]));
    dir.write("t10k-labels-idx1-ubyte.gz", &gzip(&idx(&[2], &[7, 2])));
}

#[test]
fn mnist_reads_any_mix_of_file_names() {
    let dir = TempDir::new("mnist-fake");
    fake_mnist(&dir);
    let (train, test) = mnist::<f32>(dir.path()).unwrap();
    assert_eq!((train.len(), train.n_features(), test.len()), (3, 4, 2));
    assert_eq!(train.labels().unwrap(), &[5, 0, 4]);
    assert_eq!(test.labels().unwrap(), &[7, 2]);
    assert_eq!(train.n_classes(), Some(10));
    // Image 1 is bytes 80, 100, 120, 140.
    let expected: Vec<f32> = [80.0f64, 100.0, 120.0, 140.0]
        .iter()
        .map(|b| (b / 255.0) as f32)
        .collect();
    assert_eq!(&train.features().data()[4..8], expected.as_slice());
    assert!(test.features().data().iter().all(|&v| v == 1.0));
}

#[test]
fn mnist_image_and_label_counts_must_agree() {
    let dir = TempDir::new("mnist-count");
    fake_mnist(&dir);
    let labels = dir.write("train-labels-idx1-ubyte", &idx(&[2], &[5, 0]));
    let msg = bad_file_message(mnist::<f32>(dir.path()).unwrap_err(), &labels);
    let images = dir.path().join("train-images-idx3-ubyte.gz");
    assert_eq!(
        msg,
        format!("holds 2 labels but {} holds 3 images", images.display())
    );
}

#[test]
fn mnist_labels_must_be_digits() {
    let dir = TempDir::new("mnist-label");
    fake_mnist(&dir);
    let labels = dir.write("train-labels-idx1-ubyte", &idx(&[3], &[5, 10, 4]));
    let msg = bad_file_message(mnist::<f32>(dir.path()).unwrap_err(), &labels);
    assert_eq!(msg, "label 10 of sample 1 is not a digit 0..=9");
}

#[test]
fn mnist_train_and_test_images_must_have_one_size() {
    let dir = TempDir::new("mnist-size");
    fake_mnist(&dir);
    dir.write("t10k-images.idx3-ubyte", &idx(&[2, 3, 3], &[0; 18]));
    let msg = bad_file_message(mnist::<f32>(dir.path()).unwrap_err(), dir.path());
    assert_eq!(
        msg,
        "training images have 4 pixels each but test images have 9"
    );
}

#[test]
fn mnist_names_a_missing_file_and_a_missing_directory() {
    let dir = TempDir::new("mnist-missing");
    fake_mnist(&dir);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let msg = bad_file_message(mnist::<f32>(dir.path()).unwrap_err(), dir.path());
    assert!(
        msg.starts_with("no MNIST file `t10k-labels-idx1-ubyte.gz` in this directory"),
        "{msg}"
    );
    let nowhere = dir.path().join("no-such-dir");
    let err = mnist::<f32>(&nowhere).unwrap_err();
    assert!(
        matches!(&err, TrainError::Io { path, .. } if *path == nowhere),
        "{err:?}"
    );
}

#[test]
fn no_samples_and_images_of_no_pixel_are_refused_naming_the_file() {
    let dir = TempDir::new("idx-empty");
    let path = dir.write("images", &idx(&[0, 28, 28], &[]));
    let msg = bad_file_message(read_images::<f32>(&path).unwrap_err(), &path);
    assert_eq!(msg, "holds no images: the header gives 0 samples");
    let path = dir.write("flat", &idx(&[3, 0, 0], &[]));
    let msg = bad_file_message(read_images::<f32>(&path).unwrap_err(), &path);
    assert_eq!(
        msg,
        "its images have 0 × 0 pixels (rows × columns); an image needs at least one"
    );
    let path = dir.write("labels", &gzip(&idx(&[0], &[])));
    let msg = bad_file_message(read_labels(&path).unwrap_err(), &path);
    assert_eq!(msg, "holds no labels: the header gives 0 samples");
    // In a directory, the error names the file at fault, not a function.
    let mnist_dir = TempDir::new("mnist-empty");
    fake_mnist(&mnist_dir);
    let images = mnist_dir.write("t10k-images.idx3-ubyte", &idx(&[0, 2, 2], &[]));
    let msg = bad_file_message(mnist::<f32>(mnist_dir.path()).unwrap_err(), &images);
    assert_eq!(msg, "holds no images: the header gives 0 samples");
}

#[test]
fn a_gzip_stream_that_expands_far_is_read_in_steps() {
    // 20 MB of zeros compress to about 20 kB; the reader grows its buffer in steps with
    // `try_reserve` and reads the whole.
    let dir = TempDir::new("idx-expand");
    let n = 20_000_000u32;
    let bytes = gzip(&idx(&[n], &vec![3; n as usize]));
    assert!(bytes.len() < 100_000, "{}", bytes.len());
    let path = dir.write("labels.gz", &bytes);
    let labels = read_labels(&path).unwrap();
    assert_eq!(labels.len(), n as usize);
    assert!(labels.iter().all(|&l| l == 3));
}

#[test]
fn loading_holds_the_pixels_not_the_file() {
    // 2,000 images of 28 × 28: 1.6 MB of bytes, 6.3 MB of f32 pixels. Reading the file first
    // would hold its bytes beside the pixels.
    let n = 2_000u32;
    let data: Vec<u8> = (0..n as usize * 784).map(|i| (i % 251) as u8).collect();
    let bytes = idx(&[n, 28, 28], &data);
    let dir = TempDir::new("idx-memory");
    for (name, file) in [("images", bytes.clone()), ("images.gz", gzip(&bytes))] {
        let path = dir.write(name, &file);
        let (images, peak) = crate::alloc::peak_bytes(|| read_images::<f32>(&path).unwrap());
        assert_eq!(images.shape(), &[n as usize, 28, 28]);
        assert_eq!(images.data()[251], 0.0);
        let pixels = data.len() * 4;
        // Raw: the pixels reserved at once. Gzip: grown by doubling up to the header's size.
        let bound = pixels + 1024 * 1024;
        assert!(peak < bound, "{name}: peak {peak} bytes, bound {bound}");
    }
}
