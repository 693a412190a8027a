//! The embedded data sets: the scikit-learn digits and diabetes.

#[test]
fn digits_has_the_documented_shape_and_class_counts() {
    let ds = train::data::digits::<f32>().unwrap();
    assert_eq!(ds.len(), 1797);
    assert_eq!(ds.n_features(), 64);
    assert_eq!(ds.n_classes(), Some(10));
    // Class counts as listed in shared/data/README.md (and by scikit-learn's documentation).
    assert_eq!(
        ds.class_counts().unwrap(),
        vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    // `zcat digits.csv.gz | sed -n 2p` starts 0,0,5,13,9,1,0,0 and ends with label 0;
    // the last line's label is 8.
    assert_eq!(
        &ds.features().data()[..8],
        &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]
    );
    assert_eq!(ds.labels().unwrap()[0], 0);
    assert_eq!(ds.labels().unwrap()[1796], 8);
    // Pixels are counts of 0..=16.
    assert!(
        ds.features()
            .data()
            .iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
    );
}

#[test]
fn digits_in_f64_equal_digits_in_f32() {
    let a = train::data::digits::<f32>().unwrap();
    let b = train::data::digits::<f64>().unwrap();
    assert_eq!(a.features().cast::<f64>(), *b.features());
    assert_eq!(a.labels(), b.labels());
}

#[test]
fn diabetes_has_the_documented_shape_and_values() {
    let ds = train::data::diabetes::<f64>().unwrap();
    assert_eq!((ds.len(), ds.n_features()), (442, 10));
    let y = ds.values().unwrap();
    assert_eq!(y.shape(), &[442, 1]);
    // The first and last rows of crates/train/data/diabetes.csv (`sed -n 2p`, `tail -1`).
    assert_eq!(
        &ds.features().data()[..10],
        &[59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    );
    assert_eq!(
        &ds.features().data()[4410..],
        &[36.0, 1.0, 19.6, 71.0, 250.0, 133.2, 97.0, 3.0, 4.5951, 92.0]
    );
    assert_eq!((y.data()[0], y.data()[441]), (151.0, 57.0));
    // The target runs from 25 to 346 with mean 152.133 (shared/data/README.md).
    let (min, max) = y
        .data()
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert_eq!((min, max), (25.0, 346.0));
    let mean = y.data().iter().sum::<f64>() / 442.0;
    assert!((mean - 152.133).abs() < 5e-4, "{mean}");
}
