//! Accuracy, running means and confusion matrices.

use tape::Array;
use train::metrics::{
    Accuracy, ConfusionMatrix, RunningMean, accuracy, argmax_rows, count_correct,
};

fn logits(rows: &[&[f32]]) -> Array<f32> {
    let k = rows[0].len();
    Array::from_vec(rows.concat(), &[rows.len(), k]).unwrap()
}

#[test]
fn argmax_breaks_ties_low_and_skips_nan() {
    let l = logits(&[
        &[0.0, 2.0, 1.0],
        &[3.0, 3.0, 1.0],
        &[f32::NAN, 1.0, 0.5],
        &[f32::NAN, f32::NAN, f32::NAN],
        &[-5.0, -1.0, -3.0],
    ]);
    assert_eq!(argmax_rows(&l).unwrap(), vec![1, 0, 1, 0, 1]);
    assert!(argmax_rows(&Array::<f32>::zeros(&[3])).is_err());
    assert!(argmax_rows(&Array::<f32>::zeros(&[3, 0])).is_err());
}

#[test]
fn accuracy_counts_rows_whose_argmax_is_the_label() {
    let l = logits(&[&[0.9, 0.1], &[0.2, 0.8], &[0.6, 0.4], &[0.3, 0.7]]);
    // Predictions 0, 1, 0, 1 against labels 0, 1, 1, 1: three right out of four.
    assert_eq!(count_correct(&l, &[0, 1, 1, 1]).unwrap(), 3);
    assert_eq!(accuracy(&l, &[0, 1, 1, 1]).unwrap(), 0.75);
    let err = accuracy(&l, &[0, 1, 1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "count_correct: 3 labels for 4 rows of logits"
    );
    let err = accuracy(&l, &[0, 1, 2, 1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "count_correct: label 2 of row 2 is not below the number of classes, 2"
    );
    assert!(accuracy(&Array::<f32>::zeros(&[0, 2]), &[]).is_err());
}

#[test]
fn accuracy_accumulates_over_batches_and_refuses_bad_ones() {
    let mut acc = Accuracy::default();
    assert_eq!(acc.value(), None);
    acc.add(&logits(&[&[1.0, 0.0], &[1.0, 0.0]]), &[0, 1])
        .unwrap();
    acc.add(&logits(&[&[0.0, 1.0]]), &[1]).unwrap();
    assert!(acc.add(&logits(&[&[0.0, 1.0]]), &[5]).is_err());
    // 2 right of 3; the refused batch added nothing.
    assert_eq!((acc.correct, acc.total), (2, 3));
    assert_eq!(acc.value(), Some(2.0 / 3.0));
}

#[test]
fn running_mean_weights_by_count() {
    let mut m = RunningMean::default();
    assert_eq!(m.mean(), None);
    m.add(1.0, 3);
    m.add(3.0, 1);
    // (1·3 + 3·1) / 4 = 1.5
    assert_eq!(m.mean(), Some(1.5));
    assert_eq!(m.count(), 4.0);
}

#[test]
fn confusion_matrix_rows_are_actual_columns_predicted() {
    let mut cm = ConfusionMatrix::new(3);
    let l = logits(&[
        &[1.0, 0.0, 0.0],
        &[0.0, 1.0, 0.0],
        &[0.0, 1.0, 0.0],
        &[0.0, 0.0, 1.0],
        &[1.0, 0.0, 0.0],
    ]);
    cm.add(&l, &[0, 1, 2, 2, 2]).unwrap();
    // Class 2 was predicted as 1, 2 and 0 once each.
    assert_eq!(
        (
            cm.get(0, 0),
            cm.get(1, 1),
            cm.get(2, 1),
            cm.get(2, 2),
            cm.get(2, 0)
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(cm.get(0, 1), 0);
    assert_eq!(cm.accuracy(), Some(0.6));
    assert_eq!(cm.recall(2), Some(1.0 / 3.0));
    assert_eq!(ConfusionMatrix::new(3).recall(0), None);
    assert!(cm.add(&logits(&[&[1.0, 0.0]]), &[0]).is_err());
    assert_eq!(
        cm.to_string(),
        "actual\\predicted 0 1 2\n               0 1 0 0\n               1 0 1 0\n               2 1 1 1"
    );
}
