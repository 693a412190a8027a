//! MNIST from disk, where `TAPEGRAD_MNIST_DIR` points at the four standard files.
//!
//! CI always sets the variable (to `../shared/data/mnist`, relative to the workspace root).
//! A fresh clone without the data skips this test with a note instead of failing; a variable
//! that is set but points nowhere fails it.

use std::path::PathBuf;

/// The MNIST directory from `TAPEGRAD_MNIST_DIR`; a relative path is tried from the current
/// directory and then from the workspace root (cargo runs tests from the package's
/// directory, CI names the path from the workspace root).
fn mnist_dir() -> Option<PathBuf> {
    let var = std::env::var_os("TAPEGRAD_MNIST_DIR")?;
    let dir = PathBuf::from(var);
    if dir.is_absolute() || dir.is_dir() {
        return Some(dir);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    Some(root.join(dir))
}

#[test]
fn mnist_matches_the_published_facts() {
    let Some(dir) = mnist_dir() else {
        eprintln!(
            "note: TAPEGRAD_MNIST_DIR is not set; skipping the MNIST test. \
             Set it to a directory holding train-images-idx3-ubyte.gz and the three other files."
        );
        return;
    };
    let (train, test) = train::data::mnist::<f32>(&dir)
        .unwrap_or_else(|e| panic!("TAPEGRAD_MNIST_DIR={}: {e}", dir.display()));
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.n_features(), 28 * 28);
    assert_eq!(
        &train.labels().unwrap()[..10],
        &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    );
    assert_eq!(
        &test.labels().unwrap()[..10],
        &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    );
    assert_eq!(
        train.class_counts().unwrap(),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        test.class_counts().unwrap(),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    // Mean pixel over the training set: 33.3184 on the 0..=255 scale, i.e. /255 here.
    let mean = |d: &train::data::Dataset<f32>| {
        d.features()
            .data()
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / d.features().len() as f64
    };
    assert!(
        (mean(&train) * 255.0 - 33.3184).abs() < 1e-3,
        "{}",
        mean(&train) * 255.0
    );
    assert!(
        (mean(&test) * 255.0 - 33.7912).abs() < 1e-3,
        "{}",
        mean(&test) * 255.0
    );
    assert!(
        train
            .features()
            .data()
            .iter()
            .all(|v| (0.0..=1.0).contains(v))
    );
}
