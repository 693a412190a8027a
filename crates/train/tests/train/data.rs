//! Dataset construction, split, standardisation and mini-batches.

use tape::Array;
use train::TrainError;
use train::data::{BatchTargets, Dataset, Standardizer, Targets};

use crate::common::assert_close;

/// `n` samples whose single feature is the sample's index and whose label is `index % 3`,
/// so that every batch can be checked against its indices.
fn indexed(n: usize) -> Dataset<f64> {
    let x = Array::from_vec((0..n).map(|i| i as f64).collect(), &[n, 1]).unwrap();
    Dataset::classification(x, (0..n).map(|i| i % 3).collect(), 3).unwrap()
}

fn invalid_message(err: TrainError) -> String {
    match err {
        TrainError::InvalidArgument { message, .. } => message,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn classification_rejects_bad_labels_and_shapes() {
    let x = Array::<f64>::zeros(&[2, 3]);
    let msg = invalid_message(Dataset::classification(x.clone(), vec![0, 3], 3).unwrap_err());
    assert_eq!(msg, "label 3 of sample 1 is not below n_classes = 3");
    let msg = invalid_message(Dataset::classification(x.clone(), vec![0], 3).unwrap_err());
    assert_eq!(msg, "features have 2 rows but there are 1 targets");
    assert!(Dataset::classification(x.clone(), vec![0, 0], 0).is_err());
    let flat = Array::<f64>::zeros(&[6]);
    let msg = invalid_message(Dataset::classification(flat, vec![0; 6], 1).unwrap_err());
    assert!(msg.contains("2-D"), "{msg}");
}

#[test]
fn regression_accepts_one_or_two_dimensional_targets() {
    let x = Array::<f32>::zeros(&[3, 2]);
    let y1 = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
    let ds = Dataset::regression(x.clone(), y1).unwrap();
    assert_eq!(ds.values().unwrap().shape(), &[3, 1]);
    assert_eq!(ds.labels(), None);
    let y2 = Array::<f32>::zeros(&[3, 4]);
    assert_eq!(
        Dataset::regression(x.clone(), y2)
            .unwrap()
            .values()
            .unwrap()
            .shape(),
        &[3, 4]
    );
    assert!(Dataset::regression(x.clone(), Array::zeros(&[2])).is_err());
    assert!(Dataset::regression(x, Array::zeros(&[3, 1, 1])).is_err());
}

#[test]
fn subset_takes_rows_in_the_given_order_and_checks_indices() {
    let ds = indexed(5);
    let sub = ds.subset(&[4, 1, 1]).unwrap();
    assert_eq!(sub.features().data(), &[4.0, 1.0, 1.0]);
    assert_eq!(sub.labels().unwrap(), &[1, 1, 1]);
    let msg = invalid_message(ds.subset(&[0, 5]).unwrap_err());
    assert_eq!(msg, "index 5 is out of range for 5 samples");
}

#[test]
fn split_partitions_the_samples_deterministically() {
    let ds = indexed(10);
    let (train, test) = ds.split(0.3, 7).unwrap();
    // round(10 · 0.3) = 3 test samples, 7 training samples.
    assert_eq!((train.len(), test.len()), (7, 3));
    let mut all: Vec<f64> = train.features().data().to_vec();
    all.extend_from_slice(test.features().data());
    let mut sorted = all.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(sorted, (0..10).map(f64::from).collect::<Vec<_>>());
    // Each part keeps the original order, and labels travel with their rows.
    for part in [&train, &test] {
        let f = part.features().data();
        assert!(f.windows(2).all(|w| w[0] < w[1]), "{f:?}");
        for (x, &l) in f.iter().zip(part.labels().unwrap()) {
            assert_eq!(*x as usize % 3, l);
        }
        assert_eq!(part.n_classes(), Some(3));
    }
    assert_eq!(ds.split(0.3, 7).unwrap(), (train.clone(), test.clone()));
    let other_seeds: Vec<_> = (8..12).map(|s| ds.split(0.3, s).unwrap().1).collect();
    assert!(
        other_seeds.iter().any(|t| *t != test),
        "four other seeds gave the same split"
    );
}

#[test]
fn split_rejects_fractions_that_leave_a_part_empty() {
    let ds = indexed(10);
    for f in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
        assert!(ds.split(f, 0).is_err(), "fraction {f}");
    }
    // round(10 · 0.01) = 0 test samples; round(10 · 0.97) = 10 leaves no training sample.
    let msg = invalid_message(ds.split(0.01, 0).unwrap_err());
    assert!(
        msg.contains("leaves 10 for training and 0 for testing"),
        "{msg}"
    );
    assert!(ds.split(0.97, 0).is_err());
    assert!(indexed(1).split(0.5, 0).is_err());
}

#[test]
fn batches_keep_the_last_partial_batch() {
    let ds = indexed(10);
    let batches: Vec<_> = ds.batches(4).unwrap().collect();
    let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
    assert_eq!(sizes, vec![4, 4, 2]);
    assert_eq!(batches[2].indices, vec![8, 9]);
    assert_eq!(batches[2].features.data(), &[8.0, 9.0]);
    assert_eq!(batches[2].features.shape(), &[2, 1]);
    assert_eq!(batches[2].labels().unwrap(), &[2, 0]);
    assert_eq!(ds.batches(4).unwrap().len(), 3);
    assert_eq!(ds.batches(10).unwrap().len(), 1);
    assert_eq!(ds.batches(11).unwrap().next().unwrap().len(), 10);
}

#[test]
fn batches_in_order_are_views_of_the_data_set_and_do_not_change_it() {
    let ds = indexed(10);
    let base = ds.features().data().as_ptr();
    for (k, batch) in ds.batches(4).unwrap().enumerate() {
        assert!(batch.features.is_shared());
        assert_eq!(
            batch.features.data().as_ptr(),
            ds.features().data()[4 * k..].as_ptr()
        );
        let mut changed = batch.features.clone();
        changed.data_mut()[0] = -1.0;
        assert_eq!(ds.features().data()[4 * k], (4 * k) as f64);
    }
    assert_eq!(ds.features().data().as_ptr(), base);
    // Regression targets too.
    let y = Array::from_vec((0..10).map(|i| 10.0 * i as f64).collect(), &[10]).unwrap();
    let reg = Dataset::regression(ds.features().clone(), y).unwrap();
    let batch = reg.batches(3).unwrap().nth(1).unwrap();
    let BatchTargets::Values(v) = &batch.targets else {
        panic!("regression batch without values");
    };
    assert_eq!(v.data(), &[30.0, 40.0, 50.0]);
    assert_eq!(
        v.data().as_ptr(),
        reg.values().unwrap().data()[3..].as_ptr()
    );
}

#[test]
fn shuffled_batches_visit_every_sample_once_per_epoch() {
    let ds = indexed(23);
    let mut orders = Vec::new();
    for epoch in 0..3 {
        let mut seen = Vec::new();
        for batch in ds.shuffled_batches(5, 11, epoch).unwrap() {
            // Features and labels belong to the samples the batch names.
            let expected: Vec<f64> = batch.indices.iter().map(|&i| i as f64).collect();
            assert_eq!(batch.features.data(), expected.as_slice());
            let labels: Vec<usize> = batch.indices.iter().map(|&i| i % 3).collect();
            assert_eq!(batch.labels().unwrap(), labels.as_slice());
            seen.extend(batch.indices);
        }
        orders.push(seen.clone());
        seen.sort_unstable();
        assert_eq!(seen, (0..23).collect::<Vec<_>>());
    }
    assert_ne!(
        orders[0],
        (0..23).collect::<Vec<_>>(),
        "epoch 0 was not shuffled"
    );
    assert_ne!(orders[0], orders[1]);
    assert_ne!(orders[1], orders[2]);
    // Deterministic: the same seed and epoch give the same order; another seed another.
    assert_eq!(
        ds.shuffled_batches(5, 11, 1).unwrap().order(),
        orders[1].as_slice()
    );
    assert_ne!(
        ds.shuffled_batches(5, 12, 1).unwrap().order(),
        orders[1].as_slice()
    );
}

#[test]
fn batch_size_zero_and_empty_data_sets_are_errors() {
    let msg = invalid_message(indexed(3).batches(0).unwrap_err());
    assert_eq!(msg, "batch size is 0");
    assert!(indexed(3).shuffled_batches(0, 1, 1).is_err());
    let empty = Dataset::classification(Array::<f32>::zeros(&[0, 4]), vec![], 2).unwrap();
    assert!(empty.is_empty());
    let msg = invalid_message(empty.batches(8).unwrap_err());
    assert_eq!(msg, "the data set has no samples");
    assert!(empty.shuffled_batches(8, 0, 0).is_err());
}

#[test]
fn regression_batches_carry_their_target_rows() {
    let x = Array::from_vec(vec![0.0f64, 1.0, 2.0], &[3, 1]).unwrap();
    let y = Array::from_vec(vec![0.0, 10.0, 1.0, 11.0, 2.0, 12.0], &[3, 2]).unwrap();
    let ds = Dataset::regression(x, y).unwrap();
    for batch in ds.shuffled_batches(2, 3, 0).unwrap() {
        let BatchTargets::Values(v) = &batch.targets else {
            panic!("regression batch without values");
        };
        for (r, &i) in batch.indices.iter().enumerate() {
            assert_eq!(v.get(&[r, 0]), i as f64);
            assert_eq!(v.get(&[r, 1]), 10.0 + i as f64);
        }
        assert_eq!(batch.labels(), None);
    }
}

#[test]
fn standardizer_uses_training_statistics_and_survives_constant_columns() {
    // Column 0: 1, 2, 3, 4 → mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25,
    // std √1.25 ≈ 1.1180340. Column 1: constant 7 → std taken as 1. Column 2: constant 0.1,
    // whose computed mean is off by rounding → still treated as constant.
    let train = Array::from_vec(
        vec![
            1.0f64, 7.0, 0.1, 2.0, 7.0, 0.1, 3.0, 7.0, 0.1, 4.0, 7.0, 0.1,
        ],
        &[4, 3],
    )
    .unwrap();
    let s = Standardizer::fit(&train).unwrap();
    assert_close(&s.mean()[..2], &[2.5, 7.0], 1e-15);
    assert_close(s.std(), &[1.25f64.sqrt(), 1.0, 1.0], 1e-15);
    let t = s.transform(&train).unwrap();
    let s5 = 1.25f64.sqrt();
    // Row 0: (1 − 2.5)/√1.25 = −1.3416408, 7 − 7 = 0, 0.1 − 0.1 ≈ 0.
    assert_close(&t.data()[..3], &[-1.5 / s5, 0.0, 0.0], 1e-12);
    assert!(t.data().iter().all(|v| v.is_finite()));
    // The test split is scaled with the training statistics: (5 − 2.5)/√1.25 = 2.2360680.
    let test = Array::from_vec(vec![5.0f64, 8.0, 0.1], &[1, 3]).unwrap();
    assert_close(
        s.transform(&test).unwrap().data(),
        &[2.5 / s5, 1.0, 0.0],
        1e-12,
    );
}

#[test]
fn standardizer_rejects_bad_input() {
    assert!(Standardizer::fit(&Array::<f64>::zeros(&[0, 3])).is_err());
    assert!(Standardizer::fit(&Array::<f64>::zeros(&[3])).is_err());
    let nan = Array::from_vec(vec![1.0f64, f64::NAN], &[1, 2]).unwrap();
    let msg = invalid_message(Standardizer::fit(&nan).unwrap_err());
    assert_eq!(msg, "feature 1 of sample 0 is NaN, not a finite number");
    let s = Standardizer::fit(&Array::<f64>::ones(&[2, 3])).unwrap();
    assert!(s.transform(&Array::<f64>::ones(&[2, 4])).is_err());
    let mut ds = indexed(3);
    assert!(s.apply(&mut ds).is_err());
    assert_eq!(ds, indexed(3), "a failed apply changed the data set");
}

#[test]
fn standardized_digits_have_zero_mean_and_unit_or_zero_spread() {
    let (mut train, mut test) = train::data::digits::<f64>().unwrap().split(0.2, 5).unwrap();
    let s = Standardizer::fit(train.features()).unwrap();
    s.apply(&mut train).unwrap();
    s.apply(&mut test).unwrap();
    let (n, d) = (train.len(), train.n_features());
    let x = train.features().data();
    let mut n_constant = 0;
    for c in 0..d {
        let col: Vec<f64> = (0..n).map(|r| x[r * d + c]).collect();
        let mean = col.iter().sum::<f64>() / n as f64;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 1e-12, "column {c}: mean {mean}");
        if var == 0.0 {
            n_constant += 1;
        } else {
            assert!((var - 1.0).abs() < 1e-9, "column {c}: variance {var}");
        }
    }
    // Digits has blank border pixels: pixel_0_0 is 0 in every image.
    assert!(n_constant >= 1);
    assert!(test.features().data().iter().all(|v| v.is_finite()));
    assert!(matches!(
        train.targets(),
        Targets::Classes { n_classes: 10, .. }
    ));
}
