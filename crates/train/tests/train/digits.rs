//! The embedded scikit-learn digits.

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
