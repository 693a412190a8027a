//! The training loop: learning, determinism, events, stopping, schedules, and errors.

use nn::{Activation, Init, Linear, Mlp, Model};
use tape::Array;
use train::TrainError;
use train::data::{self, Dataset, Standardizer};
use train::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig, StepDecay, WarmupCosine};
use train::trainer::{Control, Event, History, TrainConfig, Trainer, evaluate};

/// The digits, split 80/20 (seed 0) and standardised on the training part.
fn digits_split() -> (Dataset<f32>, Dataset<f32>) {
    let (mut train, mut test) = data::digits::<f32>().unwrap().split(0.2, 0).unwrap();
    let s = Standardizer::fit(train.features()).unwrap();
    s.apply(&mut train).unwrap();
    s.apply(&mut test).unwrap();
    (train, test)
}

fn params<M: Model<f32>>(m: &M) -> Vec<Array<f32>> {
    let mut v = Vec::new();
    m.visit_params(&mut |_, p| v.push(p.clone()));
    v
}

fn config(epochs: usize, batch_size: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size,
        seed,
        ..TrainConfig::default()
    }
}

/// Trains a 64-32-10 ReLU MLP (init seed 1) with Adam (lr 0.01).
fn train_mlp(epochs: usize, seed: u64) -> (Mlp<f32>, History) {
    let (train, test) = digits_split();
    let mut model = Mlp::<f32>::new(&[64, 32, 10], Activation::Relu, 1).unwrap();
    let mut adam = Adam::new(AdamConfig {
        lr: 0.01,
        ..AdamConfig::default()
    })
    .unwrap();
    let trainer = Trainer::new(config(epochs, 32, seed)).unwrap();
    let history = trainer
        .fit(&mut model, &mut adam, &train, Some(&test), |_| {
            Control::Continue
        })
        .unwrap();
    (model, history)
}

#[test]
fn an_mlp_learns_the_digits() {
    let (_, history) = train_mlp(6, 0);
    assert_eq!(history.epochs.len(), 6);
    assert!(!history.stopped_early);
    let first = &history.epochs[0];
    let last = &history.epochs[5];
    // Chance level is a loss of ln 10 ≈ 2.30 and an accuracy of 0.1.
    assert!(first.train_loss < 2.31, "{}", first.train_loss);
    assert!(last.train_loss < 0.1, "train loss {}", last.train_loss);
    assert!(last.train_loss < 0.2 * first.train_loss);
    let test = last.test.unwrap();
    assert_eq!(test.n_samples, 359); // round(1797 · 0.2)
    assert!(
        test.accuracy.unwrap() > 0.93,
        "test accuracy {:?}",
        test.accuracy
    );
    assert!(
        last.train_accuracy.unwrap() > 0.97,
        "{:?}",
        last.train_accuracy
    );
    assert!(
        history
            .epochs
            .iter()
            .all(|e| e.lr == 0.01 && e.seconds >= 0.0)
    );
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let (m1, h1) = train_mlp(2, 5);
    let (m2, h2) = train_mlp(2, 5);
    assert_eq!(params(&m1), params(&m2));
    let losses = |h: &History| {
        h.epochs
            .iter()
            .map(|e| (e.train_loss, e.test))
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&h1), losses(&h2));
    // Another seed visits the batches in another order and ends elsewhere.
    let (m3, _) = train_mlp(2, 6);
    assert_ne!(params(&m1), params(&m3));
}

#[test]
fn linear_regression_recovers_its_coefficients() {
    // y = 2x − 1 on x = 0, 0.1, ..., 1.9: least squares has w = 2, b = −1 exactly.
    let x: Vec<f64> = (0..20).map(|i| i as f64 / 10.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 2.0 * x - 1.0).collect();
    let ds = Dataset::regression(
        Array::from_vec(x, &[20, 1]).unwrap(),
        Array::from_vec(y, &[20]).unwrap(),
    )
    .unwrap();
    let mut model = Linear::<f64>::new(1, 1, Init::Zeros, 0);
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..SgdConfig::default()
    })
    .unwrap();
    let trainer = Trainer::new(config(200, 5, 0)).unwrap();
    let history = trainer
        .fit(&mut model, &mut sgd, &ds, Some(&ds), |_| Control::Continue)
        .unwrap();
    let mut wb = Vec::new();
    model.visit_params(&mut |_, p| wb.push(p.data()[0]));
    assert!(
        (wb[0] - 2.0).abs() < 1e-6 && (wb[1] + 1.0).abs() < 1e-6,
        "{wb:?}"
    );
    let last = history.epochs.last().unwrap();
    assert!(last.test.unwrap().loss < 1e-10);
    assert_eq!(last.train_accuracy, None);
    assert_eq!(last.test.unwrap().accuracy, None);
}

#[test]
fn events_come_in_order_and_count_every_batch() {
    let (train, _) = digits_split();
    let mut model = Mlp::<f32>::new(&[64, 10], Activation::Identity, 0).unwrap();
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.05,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut log = Vec::new();
    let trainer = Trainer::new(config(2, 100, 0)).unwrap();
    let history = trainer
        .fit(&mut model, &mut sgd, &train, None, |e| {
            log.push(match e {
                Event::EpochStart {
                    epoch, n_batches, ..
                } => format!("start {epoch} {n_batches}"),
                Event::Batch {
                    batch, size, loss, ..
                } => {
                    assert!(loss.is_finite());
                    format!("batch {batch} {size}")
                }
                Event::EpochEnd(s) => format!("end {}", s.epoch),
                _ => "other".to_string(),
            });
            Control::Continue
        })
        .unwrap();
    // 1438 training samples in batches of 100: 14 full batches and one of 38.
    assert_eq!(train.len(), 1438);
    let mut expected = Vec::new();
    for epoch in 0..2 {
        expected.push(format!("start {epoch} 15"));
        expected.extend((0..14).map(|b| format!("batch {b} 100")));
        expected.push("batch 14 38".to_string());
        expected.push(format!("end {epoch}"));
    }
    assert_eq!(log, expected);
    assert!(history.epochs.iter().all(|e| e.test.is_none()));
}

#[test]
fn the_callback_can_stop_after_an_epoch_or_a_batch() {
    let (train, test) = digits_split();
    let trainer = Trainer::new(config(10, 64, 0)).unwrap();
    let fresh = || Mlp::<f32>::new(&[64, 10], Activation::Identity, 0).unwrap();
    let sgd = || {
        Sgd::new(SgdConfig {
            lr: 0.05,
            ..SgdConfig::default()
        })
        .unwrap()
    };

    // Stop when the test accuracy passes 0.8: an early-stopping rule.
    let (mut model, mut opt) = (fresh(), sgd());
    let history = trainer
        .fit(&mut model, &mut opt, &train, Some(&test), |e| match e {
            Event::EpochEnd(s) if s.test.unwrap().accuracy.unwrap() > 0.8 => Control::Stop,
            _ => Control::Continue,
        })
        .unwrap();
    assert!(history.stopped_early);
    assert!(history.epochs.len() < 10);
    assert!(
        history
            .epochs
            .last()
            .unwrap()
            .test
            .unwrap()
            .accuracy
            .unwrap()
            > 0.8
    );

    // Stop after the third batch: exactly three updates, no finished epoch.
    let (mut model, mut opt) = (fresh(), sgd());
    let mut batches = 0;
    let history = trainer
        .fit(&mut model, &mut opt, &train, Some(&test), |e| {
            if let Event::Batch { .. } = e {
                batches += 1;
                if batches == 3 {
                    return Control::Stop;
                }
            }
            Control::Continue
        })
        .unwrap();
    assert!(history.stopped_early && history.epochs.is_empty());
    assert_ne!(params(&model), params(&fresh()));
}

#[test]
fn a_schedule_sets_the_learning_rate_per_epoch() {
    let (train, _) = digits_split();
    let mut model = Mlp::<f32>::new(&[64, 10], Activation::Identity, 0).unwrap();
    let mut sgd = Sgd::new(SgdConfig::default()).unwrap();
    let trainer = Trainer::new(config(5, 256, 0))
        .unwrap()
        .with_schedule(StepDecay::new(0.1, 2, 0.5).unwrap());
    let mut lrs = Vec::new();
    let history = trainer
        .fit(&mut model, &mut sgd, &train, None, |e| {
            if let Event::EpochStart { lr, .. } = e {
                lrs.push(*lr);
            }
            Control::Continue
        })
        .unwrap();
    // 0.1 · 0.5^⌊epoch / 2⌋
    assert_eq!(lrs, vec![0.1, 0.1, 0.05, 0.05, 0.025]);
    assert_eq!(history.epochs[4].lr, 0.025);
    assert_eq!(sgd.lr(), 0.025);
}

#[test]
fn a_diverging_run_stops_with_the_last_finite_parameters() {
    // One sample x = 1, y = 1; model y = w·x without bias, w₀ = 0; SGD with lr = 1000 on
    // (w − 1)², whose gradient is 2(w − 1). So w − 1 ← (1 − 2000)(w − 1): after k updates
    // w_k − 1 = −(−1999)^k, and the loss (w_k − 1)² = 1999^(2k) = 10^(6.6017·k) overflows to
    // infinity first at k = 47 (10^310.3), while at k = 46 it is 10^303.7, still finite.
    // One batch per epoch, so the 47th update happens in epoch 46 and the bad loss is seen at
    // epoch 47; the parameters must come back as w₄₆ = 1 − 1999^46.
    let ds = Dataset::regression(
        Array::from_vec(vec![1.0f64], &[1, 1]).unwrap(),
        Array::from_vec(vec![1.0f64], &[1]).unwrap(),
    )
    .unwrap();
    let mut model = Linear::<f64>::without_bias(1, 1, Init::Zeros, 0);
    let mut sgd = Sgd::new(SgdConfig {
        lr: 1000.0,
        ..SgdConfig::default()
    })
    .unwrap();
    let trainer = Trainer::new(config(100, 1, 0)).unwrap();
    let mut seen = 0;
    let err = trainer
        .fit(&mut model, &mut sgd, &ds, None, |e| {
            if let Event::Batch { loss, .. } = e {
                assert!(loss.is_finite());
                seen += 1;
            }
            Control::Continue
        })
        .unwrap_err();
    match &err {
        TrainError::NonFinite {
            epoch,
            batch,
            what,
            value,
        } => {
            assert_eq!((*epoch, *batch, what.as_str()), (47, 0, "loss"));
            assert_eq!(*value, f64::INFINITY);
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    assert_eq!(seen, 47);
    let mut w = 0.0;
    model.visit_params(&mut |_, p| w = p.data()[0]);
    let expected = 1.0 - 1999f64.powi(46);
    assert!(
        ((w - expected) / expected).abs() < 1e-12,
        "w = {w}, expected {expected}"
    );
    assert!(
        err.to_string()
            .contains("epoch 47, batch 0: the loss is inf"),
        "{err}"
    );
}

#[test]
fn a_diverging_run_restores_a_wide_layer_updated_on_two_threads() {
    // The run above with the weight spread over 40,000 inputs, all 1: y = Σwᵢ, so with
    // lr = 1000/40,000 the sum s follows s − 1 ← −1999(s − 1), every wᵢ = s/40,000. The
    // weight is large enough for its updates to be split across threads, and it is shared
    // with the trainer's record of the last good step, so each update writes new elements
    // while that record keeps the old: those must be what comes back.
    let n = 40_000;
    tape::set_num_threads(2);
    let ds = Dataset::regression(
        Array::from_vec(vec![1.0f64; n], &[1, n]).unwrap(),
        Array::from_vec(vec![1.0f64], &[1]).unwrap(),
    )
    .unwrap();
    let mut model = Linear::<f64>::without_bias(n, 1, Init::Zeros, 0);
    let mut sgd = Sgd::new(SgdConfig {
        lr: 1000.0 / n as f64,
        ..SgdConfig::default()
    })
    .unwrap();
    let err = Trainer::new(config(100, 1, 0))
        .unwrap()
        .fit(&mut model, &mut sgd, &ds, None, |_| Control::Continue)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("epoch 47, batch 0: the loss is inf"),
        "{err}"
    );
    let mut w = Vec::new();
    model.visit_params(&mut |_, p| w = p.data().to_vec());
    let expected = (1.0 - 1999f64.powi(46)) / n as f64;
    assert_eq!(w.len(), n);
    for (i, wi) in w.iter().enumerate() {
        assert!(
            ((wi - expected) / expected).abs() < 1e-9,
            "w[{i}] = {wi}, expected {expected}"
        );
    }
}

#[test]
fn a_nan_feature_stops_before_any_update() {
    let x = Array::from_vec(vec![1.0f32, f32::NAN], &[2, 1]).unwrap();
    let ds = Dataset::classification(x, vec![0, 1], 2).unwrap();
    let mut model = Mlp::<f32>::new(&[1, 2], Activation::Identity, 3).unwrap();
    let before = params(&model);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let err = Trainer::new(config(3, 2, 0))
        .unwrap()
        .fit(&mut model, &mut adam, &ds, None, |_| Control::Continue)
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::NonFinite {
                epoch: 0,
                batch: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(params(&model), before);
}

#[test]
fn a_model_that_does_not_fit_the_data_is_an_error_and_changes_nothing() {
    let (train, _) = digits_split();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let trainer = Trainer::new(config(1, 32, 0)).unwrap();
    // Wrong input width.
    let mut narrow = Mlp::<f32>::new(&[63, 10], Activation::Identity, 0).unwrap();
    let before = params(&narrow);
    let err = trainer
        .fit(&mut narrow, &mut adam, &train, None, |_| Control::Continue)
        .unwrap_err();
    assert!(matches!(err, TrainError::Nn(_)), "{err:?}");
    assert_eq!(params(&narrow), before);
    // Too few classes for the labels.
    let mut five = Mlp::<f32>::new(&[64, 5], Activation::Identity, 0).unwrap();
    let err = trainer
        .fit(&mut five, &mut adam, &train, None, |_| Control::Continue)
        .unwrap_err();
    assert!(
        err.to_string().contains("out of range for 5 classes"),
        "{err}"
    );
}

#[test]
fn bad_configurations_and_empty_data_are_errors() {
    assert!(Trainer::new(config(1, 0, 0)).is_err());
    assert!(
        Trainer::new(TrainConfig {
            eval_batch_size: 0,
            ..TrainConfig::default()
        })
        .is_err()
    );
    let empty = Dataset::classification(Array::<f32>::zeros(&[0, 2]), vec![], 2).unwrap();
    let mut model = Mlp::<f32>::new(&[2, 2], Activation::Identity, 0).unwrap();
    let mut sgd = Sgd::new(SgdConfig::default()).unwrap();
    let err = Trainer::new(config(1, 4, 0))
        .unwrap()
        .fit(&mut model, &mut sgd, &empty, None, |_| Control::Continue)
        .unwrap_err();
    assert!(matches!(err, TrainError::InvalidArgument { .. }), "{err:?}");
}

#[test]
fn evaluate_matches_hand_computed_values() {
    // A zero linear model gives logits 0: softmax is uniform over 10 classes, the loss is
    // ln 10 for every sample, and argmax (ties to the lowest index) predicts class 0, right
    // for the 178 zeros among the 1797 digits.
    let digits = data::digits::<f32>().unwrap();
    let model = Linear::<f32>::new(64, 10, Init::Zeros, 0);
    let e = evaluate(&model, &digits, 1000).unwrap();
    assert!((e.loss - 10f64.ln()).abs() < 1e-6, "{}", e.loss);
    assert_eq!(e.accuracy, Some(178.0 / 1797.0));
    assert_eq!(e.n_samples, 1797);
    // The batch size changes nothing but memory.
    let e7 = evaluate(&model, &digits, 7).unwrap();
    assert_eq!(e7.accuracy, e.accuracy);
    assert!((e7.loss - e.loss).abs() < 1e-6);
}

/// Two regression samples, `(x, y) = (1, 1)` and `(2, 0)`, and a model `ŷ = w·x` with
/// `w = 0`; the loss of one sample is `(w·x − y)²`, its gradient `2x(w·x − y)`.
fn two_samples() -> (Dataset<f64>, Linear<f64>) {
    let x = Array::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    let y = Array::from_vec(vec![1.0, 0.0], &[2, 1]).unwrap();
    let data = Dataset::regression(x, y).unwrap();
    (data, Linear::without_bias(1, 1, Init::Zeros, 0))
}

/// Trains on `two_samples` with batches of one, plain SGD at `lr`, and returns `w` and the
/// `(step, lr, grad_norm)` of every batch event.
fn run(trainer: Trainer, lr: f64) -> (f64, Vec<(usize, f64, Option<f64>)>) {
    let (data, mut model) = two_samples();
    let mut sgd = Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut steps = Vec::new();
    trainer
        .fit(&mut model, &mut sgd, &data, None, |e| {
            if let Event::Batch {
                step,
                lr,
                grad_norm,
                ..
            } = e
            {
                steps.push((*step, *lr, *grad_norm));
            }
            Control::Continue
        })
        .unwrap();
    (model.weight.data()[0], steps)
}

fn in_order(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 1,
        shuffle: false,
        ..TrainConfig::default()
    }
}

#[test]
fn without_shuffling_the_samples_come_in_their_stored_order() {
    // lr 0.5, order (0, 1): sample 0: g = 2·1·(0 − 1) = −2, w = 0 + 0.5·2 = 1;
    // sample 1: g = 2·2·(1·2 − 0) = 8, w = 1 − 0.5·8 = −3.
    let (w, steps) = run(Trainer::new(in_order(1)).unwrap(), 0.5);
    assert_eq!(w, -3.0);
    assert_eq!(steps, [(0, 0.5, None), (1, 0.5, None)]);
}

#[test]
fn a_sampler_sets_the_order() {
    // Order (1, 0): sample 1: g = 2·2·(0·2 − 0) = 0, w = 0; sample 0: g = −2, w = 1.
    let trainer = Trainer::new(in_order(1))
        .unwrap()
        .with_sampler(|_epoch: usize, _n: usize| vec![1, 0]);
    assert_eq!(run(trainer, 0.5).0, 1.0);
    // A sampler's index out of range is an error naming it.
    let (data, mut model) = two_samples();
    let mut sgd = Sgd::new(SgdConfig::default()).unwrap();
    let err = Trainer::new(in_order(1))
        .unwrap()
        .with_sampler(|_: usize, _: usize| vec![0, 2])
        .fit(&mut model, &mut sgd, &data, None, |_| Control::Continue)
        .unwrap_err()
        .to_string();
    assert!(err.contains("index 2 at position 1"), "{err}");
}

#[test]
fn clipping_scales_the_gradient_to_the_global_norm() {
    // max_norm 1, lr 0.5, order (0, 1), ε = 10⁻⁶:
    // step 0: g = −2, ‖g‖ = 2, c = 1/(2 + ε) < 1, so g = −2/(2 + ε) and
    //         w₁ = 0.5·2/(2 + ε) = 1/(2 + ε) = 0.5 − 2.5e-7 + O(1e-13);
    // step 1: g = 2·2·(2w₁ − 0) = 8w₁ = 4 − 2e-6 + O(1e-12), c = 1/(g + ε) < 1, so the
    //         clipped g is g/(g + ε) = 1 − ε/(g + ε) = 1 − 2.5e-7 + O(1e-13) and
    //         w₂ = w₁ − 0.5·(1 − 2.5e-7) = (0.5 − 2.5e-7) − (0.5 − 1.25e-7) = −1.25e-7.
    let config = TrainConfig {
        clip_grad_norm: Some(1.0),
        ..in_order(1)
    };
    let (w, steps) = run(Trainer::new(config).unwrap(), 0.5);
    assert!((w - -1.25e-7).abs() < 1e-12, "w = {w}");
    // The events report the norms before clipping: 2, then 4 − 2e-6.
    assert_eq!(steps[0].2, Some(2.0));
    assert!(
        (steps[1].2.unwrap() - (4.0 - 2e-6)).abs() < 1e-11,
        "{steps:?}"
    );
    // A norm already below the bound is left alone: with max_norm 100 the run is unclipped.
    let config = TrainConfig {
        clip_grad_norm: Some(100.0),
        ..in_order(1)
    };
    assert_eq!(run(Trainer::new(config).unwrap(), 0.5).0, -3.0);
}

#[test]
fn a_step_schedule_sets_the_rate_of_every_update() {
    // Warm-up over 2 steps to 0.5, cosine to 0 by step 4: the rates are 0.5·1/2 = 0.25,
    // 0.5·2/2 = 0.5, then ½·0.5·(1 + cos(π·k/2)) for k = 0, 1: 0.5, 0.25; the floor after.
    // Order (0, 1) each epoch, from w = 0:
    // step 0 (lr 0.25, sample 0): g = −2, w = 0.5;
    // step 1 (lr 0.5, sample 1): g = 2·2·(2·0.5) = 4, w = 0.5 − 2 = −1.5;
    // step 2 (lr 0.5, sample 0): g = 2·1·(−1.5 − 1) = −5, w = −1.5 + 2.5 = 1;
    // step 3 (lr 0.25, sample 1): g = 2·2·(2·1) = 8, w = 1 − 2 = −1.
    let trainer = Trainer::new(in_order(2))
        .unwrap()
        .with_step_schedule(WarmupCosine::new(0.5, 0.0, 2, 4).unwrap());
    let (w, steps) = run(trainer, 123.0); // the optimiser's own rate is never used
    let expected = [
        (0, 0.25, None),
        (1, 0.5, None),
        (2, 0.5, None),
        (3, 0.25, None),
    ];
    assert_eq!(steps.len(), 4);
    for (got, want) in steps.iter().zip(expected) {
        assert_eq!((got.0, got.2), (want.0, want.2));
        assert!((got.1 - want.1).abs() < 1e-15, "{steps:?}");
    }
    assert!((w - -1.0).abs() < 1e-12, "w = {w}");
}

#[test]
fn clipping_zero_gradients_leaves_them_zero() {
    // ‖g‖ = 0: c = 1/(0 + 1e-6) = 1e6 ≥ 1, so nothing is scaled (and nothing divides by 0).
    let mut grads = nn::ParamGrads::from_vec(vec![("w".to_string(), Array::<f64>::zeros(&[3]))]);
    assert_eq!(train::optim::clip_grad_norm(&mut grads, 1.0).unwrap(), 0.0);
    assert_eq!(grads.get("w").unwrap().data(), &[0.0, 0.0, 0.0]);
    assert!(train::optim::clip_grad_norm(&mut grads, f64::NAN).is_err());
}
