//! Optimisers against values worked out by hand from the published update equations, and
//! learning-rate schedules.

use tape::Array;
use train::TrainError;
use train::optim::{
    Adam, AdamConfig, AdamW, CosineAnnealing, LrSchedule, Optimizer, Sgd, SgdConfig, StepDecay,
};

use crate::common::assert_close;

fn arr(v: &[f64]) -> Array<f64> {
    Array::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

/// Runs `opt` from `p0`, the gradient at each step given by `grad(step, p)`, and returns the
/// parameter after each step.
fn run(
    opt: &mut (impl Optimizer<f64> + ?Sized),
    p0: &[f64],
    steps: usize,
    grad: impl Fn(usize, &[f64]) -> Vec<f64>,
) -> Vec<Vec<f64>> {
    let mut p = arr(p0);
    (0..steps)
        .map(|t| {
            let g = arr(&grad(t, p.data()));
            opt.update("p", &mut p, &g).unwrap();
            p.data().to_vec()
        })
        .collect()
}

#[test]
#[allow(clippy::approx_constant)] // 0.6931 below is a parameter value, not ln 2.
fn sgd_momentum_with_weight_decay_matches_hand_computation() {
    // f(p) = ½‖p‖², so the gradient is p. lr = 0.1, μ = 0.9, λ = 0.1, p₀ = (1, −2).
    // Step 1: g = p + 0.1p = (1.1, −2.2); b = g;                      p = p − 0.1b = (0.89, −1.78)
    // Step 2: g = 1.1p = (0.979, −1.958); b = 0.9(1.1, −2.2) + g = (1.969, −3.938);
    //         p = (0.89 − 0.1969, −1.78 + 0.3938) = (0.6931, −1.3862)
    // Step 3: g = 1.1p = (0.76241, −1.52482); b = 0.9(1.969, −3.938) + g = (2.53451, −5.06902);
    //         p = (0.6931 − 0.253451, −1.3862 + 0.506902) = (0.439649, −0.879298)
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.1,
        ..SgdConfig::default()
    })
    .unwrap();
    let ps = run(&mut sgd, &[1.0, -2.0], 3, |_, p| p.to_vec());
    assert_close(&ps[0], &[0.89, -1.78], 1e-12);
    assert_close(&ps[1], &[0.6931, -1.3862], 1e-12);
    assert_close(&ps[2], &[0.439649, -0.879298], 1e-12);
}

#[test]
fn sgd_nesterov_matches_hand_computation() {
    // Gradient p, lr = 0.1, μ = 0.9, Nesterov, p₀ = (1, −2); the update direction is g + μb.
    // Step 1: g = (1, −2); b = g; d = g + 0.9b = (1.9, −3.8); p = (0.81, −1.62)
    // Step 2: g = (0.81, −1.62); b = 0.9(1, −2) + g = (1.71, −3.42);
    //         d = g + 0.9b = (2.349, −4.698); p = (0.81 − 0.2349, −1.62 + 0.4698) = (0.5751, −1.1502)
    // Step 3: g = (0.5751, −1.1502); b = 0.9(1.71, −3.42) + g = (2.1141, −4.2282);
    //         d = g + 0.9b = (2.47779, −4.95558); p = (0.327321, −0.654642)
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        nesterov: true,
        ..SgdConfig::default()
    })
    .unwrap();
    let ps = run(&mut sgd, &[1.0, -2.0], 3, |_, p| p.to_vec());
    assert_close(&ps[0], &[0.81, -1.62], 1e-12);
    assert_close(&ps[1], &[0.5751, -1.1502], 1e-12);
    assert_close(&ps[2], &[0.327321, -0.654642], 1e-12);
}

#[test]
fn sgd_dampening_applies_from_the_second_step() {
    // Constant gradient (1, 2), lr = 1, μ = 0.5, τ = 0.1, p₀ = 0.
    // Step 1: b = g = (1, 2) (no dampening on the first step); p = (−1, −2)
    // Step 2: b = 0.5(1, 2) + 0.9(1, 2) = (1.4, 2.8); p = (−2.4, −4.8)
    let mut sgd = Sgd::new(SgdConfig {
        lr: 1.0,
        momentum: 0.5,
        dampening: 0.1,
        ..SgdConfig::default()
    })
    .unwrap();
    let ps = run(&mut sgd, &[0.0, 0.0], 2, |_, _| vec![1.0, 2.0]);
    assert_close(&ps[0], &[-1.0, -2.0], 1e-12);
    assert_close(&ps[1], &[-2.4, -4.8], 1e-12);
}

#[test]
fn plain_sgd_with_weight_decay_matches_hand_computation() {
    // Constant gradient (1, 0), lr = 0.1, λ = 0.5, no momentum, p₀ = (2, −1).
    // Step 1: g = (1 + 0.5·2, 0 + 0.5·(−1)) = (2, −0.5); p = (2 − 0.2, −1 + 0.05) = (1.8, −0.95)
    // Step 2: g = (1 + 0.9, −0.475) = (1.9, −0.475); p = (1.8 − 0.19, −0.95 + 0.0475) = (1.61, −0.9025)
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.1,
        weight_decay: 0.5,
        ..SgdConfig::default()
    })
    .unwrap();
    let ps = run(&mut sgd, &[2.0, -1.0], 2, |_, _| vec![1.0, 0.0]);
    assert_close(&ps[0], &[1.8, -0.95], 1e-12);
    assert_close(&ps[1], &[1.61, -0.9025], 1e-12);
}

/// The gradients of the Adam examples: g₁ = (1, −2), g₂ = (3, 0).
fn adam_grads(t: usize, _p: &[f64]) -> Vec<f64> {
    [vec![1.0, -2.0], vec![3.0, 0.0]][t].clone()
}

/// lr = 0.1, β₁ = 0.5, β₂ = 0.75, ε = 0.1: round numbers, and an ε large enough that its
/// place in the formula (outside the square root) shows in the result.
fn adam_config(weight_decay: f64) -> AdamConfig {
    AdamConfig {
        lr: 0.1,
        beta1: 0.5,
        beta2: 0.75,
        eps: 0.1,
        weight_decay,
    }
}

#[test]
fn adam_matches_hand_computation() {
    // p₀ = (1, 1).
    // Step 1: m = 0.5·g₁ = (0.5, −1); v = 0.25·g₁² = (0.25, 1);
    //   m̂ = m/(1 − 0.5) = (1, −2); v̂ = v/(1 − 0.75) = (1, 4); √v̂ + ε = (1.1, 2.1);
    //   p = (1 − 0.1·1/1.1, 1 + 0.1·2/2.1) = (0.9090909091, 1.0952380952)
    // Step 2: m = 0.5m + 0.5·g₂ = (1.75, −0.5); v = 0.75v + 0.25·g₂² = (2.4375, 0.75);
    //   m̂ = m/(1 − 0.25) = (2.3333333, −0.6666667); v̂ = v/(1 − 0.5625) = (5.5714286, 1.7142857);
    //   √v̂ + ε = (2.4603874, 1.4093073);
    //   p = (0.9090909 − 0.1·0.9483814, 1.0952381 + 0.1·0.4730456) = (0.8142549, 1.1425427)
    let mut adam = Adam::new(adam_config(0.0)).unwrap();
    let ps = run(&mut adam, &[1.0, 1.0], 2, adam_grads);
    assert_close(&ps[0], &[0.9090909091, 1.0952380952], 1e-10);
    assert_close(&ps[1], &[0.8142548945, 1.1425426573], 1e-9);
}

#[test]
fn adam_weight_decay_is_an_l2_term_in_the_gradient() {
    // λ = 0.5, p₀ = (1, 1). Step 1: g = g₁ + 0.5p = (1.5, −1.5); at t = 1, m̂ = g and v̂ = g²,
    //   so p = p − 0.1·g/(|g| + 0.1) = (1 − 0.15/1.6, 1 + 0.15/1.6) = (0.90625, 1.09375).
    // Step 2: g = g₂ + 0.5p = (3.453125, 0.546875);
    //   m = 0.5(0.75, −0.75) + 0.5g = (2.1015625, −0.1015625);
    //   v = 0.75(0.5625, 0.5625) + 0.25g² = (3.4028931, 0.4966431);
    //   m̂ = m/0.75 = (2.8020833, −0.1354167); v̂ = v/0.4375 = (7.7780413, 1.1351842);
    //   √v̂ + ε = (2.8889140, 1.1654502);
    //   p = (0.90625 − 0.1·0.9699418, 1.09375 + 0.1·0.1161925) = (0.8092557, 1.1053693)
    let mut adam = Adam::new(adam_config(0.5)).unwrap();
    let ps = run(&mut adam, &[1.0, 1.0], 2, adam_grads);
    assert_close(&ps[0], &[0.90625, 1.09375], 1e-12);
    assert_close(&ps[1], &[0.8092556508, 1.1053692580], 1e-9);
}

#[test]
fn adamw_decays_the_parameters_directly() {
    // λ = 0.5, p₀ = (1, 1): each step first shrinks p by 1 − lr·λ = 0.95, then takes the plain
    // Adam step (the moments are those of `adam_matches_hand_computation`).
    // Step 1: p = 0.95·(1, 1) − 0.1·(1/1.1, −2/2.1) = (0.8590909091, 1.0452380952)
    // Step 2: p = 0.95·p − 0.1·(0.9483814, −0.4730456) = (0.7213003, 1.0402808)
    let mut adamw = AdamW::new(adam_config(0.5)).unwrap();
    let ps = run(&mut adamw, &[1.0, 1.0], 2, adam_grads);
    assert_close(&ps[0], &[0.8590909091, 1.0452380952], 1e-10);
    assert_close(&ps[1], &[0.7213003490, 1.0402807526], 1e-9);
}

#[test]
fn adam_state_is_kept_per_parameter_name() {
    // Two parameters updated alternately follow the same path as each alone: the step count
    // and moments of one do not leak into the other.
    let mut shared = Adam::new(adam_config(0.0)).unwrap();
    let (mut a, mut b) = (arr(&[1.0, 1.0]), arr(&[1.0, 1.0]));
    for t in 0..2 {
        let g = arr(&adam_grads(t, &[]));
        shared.update("a", &mut a, &g).unwrap();
        shared.update("b", &mut b, &g).unwrap();
    }
    let mut alone = Adam::new(adam_config(0.0)).unwrap();
    let ps = run(&mut alone, &[1.0, 1.0], 2, adam_grads);
    assert_eq!(a.data(), ps[1].as_slice());
    assert_eq!(b.data(), ps[1].as_slice());
    // After a reset, the next update is a first step again.
    shared.reset();
    let mut c = arr(&[1.0, 1.0]);
    shared.update("a", &mut c, &arr(&[1.0, -2.0])).unwrap();
    assert_eq!(
        c.data(),
        run(
            &mut Adam::new(adam_config(0.0)).unwrap(),
            &[1.0, 1.0],
            1,
            adam_grads
        )[0]
        .as_slice()
    );
}

#[test]
fn step_updates_every_named_parameter() {
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.5,
        ..SgdConfig::default()
    })
    .unwrap();
    let (mut w, mut b) = (arr(&[1.0, 2.0]), arr(&[3.0]));
    let (gw, gb) = (arr(&[2.0, 2.0]), arr(&[-2.0]));
    sgd.step([("w", &mut w, &gw), ("b", &mut b, &gb)]).unwrap();
    // p − 0.5·g: (1 − 1, 2 − 1) and 3 + 1.
    assert_eq!(w.data(), &[0.0, 1.0]);
    assert_eq!(b.data(), &[4.0]);
}

#[test]
fn f32_parameters_follow_the_f64_path() {
    let mut a32 = Adam::<f32>::new(adam_config(0.0)).unwrap();
    let mut p = Array::from_vec(vec![1.0f32, 1.0], &[2]).unwrap();
    for t in 0..2 {
        let g = arr(&adam_grads(t, &[])).cast::<f32>();
        a32.update("p", &mut p, &g).unwrap();
    }
    assert_close(
        &p.cast::<f64>().into_vec(),
        &[0.8142548945, 1.1425426573],
        1e-6,
    );
}

#[test]
fn shape_mismatches_are_errors_that_change_nothing() {
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut p = arr(&[1.0, 2.0]);
    let err = sgd.update("w", &mut p, &arr(&[1.0, 2.0, 3.0])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Sgd::update: parameter `w`: gradient shape [3] differs from parameter shape [2]"
    );
    assert_eq!(p.data(), &[1.0, 2.0]);
    // A different parameter under a name already used for another size.
    sgd.update("w", &mut p, &arr(&[1.0, 1.0])).unwrap();
    let mut q = arr(&[1.0, 2.0, 3.0]);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    adam.update("w", &mut p, &arr(&[1.0, 1.0])).unwrap();
    for opt in [&mut sgd as &mut dyn Optimizer<f64>, &mut adam] {
        let err = opt.update("w", &mut q, &arr(&[0.0, 0.0, 0.0])).unwrap_err();
        assert!(
            err.to_string()
                .contains("its optimiser state was made for 2"),
            "{err}"
        );
        assert_eq!(q.data(), &[1.0, 2.0, 3.0]);
    }
}

#[test]
fn invalid_hyper_parameters_are_refused() {
    let bad_sgd = [
        SgdConfig {
            lr: -0.1,
            ..SgdConfig::default()
        },
        SgdConfig {
            lr: f64::NAN,
            ..SgdConfig::default()
        },
        SgdConfig {
            momentum: 1.0,
            ..SgdConfig::default()
        },
        SgdConfig {
            dampening: 1.5,
            ..SgdConfig::default()
        },
        SgdConfig {
            weight_decay: -1.0,
            ..SgdConfig::default()
        },
        SgdConfig {
            nesterov: true,
            ..SgdConfig::default()
        },
        SgdConfig {
            nesterov: true,
            momentum: 0.9,
            dampening: 0.1,
            ..SgdConfig::default()
        },
    ];
    for c in bad_sgd {
        assert!(
            matches!(
                Sgd::<f32>::new(c.clone()),
                Err(TrainError::InvalidArgument { .. })
            ),
            "{c:?}"
        );
    }
    let err = Sgd::<f32>::new(SgdConfig {
        momentum: 1.0,
        ..SgdConfig::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Sgd::new: momentum is 1; it must be finite and in [0, 1)"
    );
    let bad_adam = [
        AdamConfig {
            beta1: 1.0,
            ..AdamConfig::default()
        },
        AdamConfig {
            beta2: -0.1,
            ..AdamConfig::default()
        },
        AdamConfig {
            eps: -1e-8,
            ..AdamConfig::default()
        },
        AdamConfig {
            lr: f64::INFINITY,
            ..AdamConfig::default()
        },
    ];
    for c in bad_adam {
        assert!(Adam::<f32>::new(c.clone()).is_err(), "{c:?}");
        assert!(AdamW::<f32>::new(c.clone()).is_err(), "{c:?}");
    }
}

#[test]
fn set_lr_changes_the_next_update() {
    let mut sgd = Sgd::new(SgdConfig {
        lr: 1.0,
        ..SgdConfig::default()
    })
    .unwrap();
    sgd.set_lr(0.25);
    assert_eq!(sgd.lr(), 0.25);
    let mut p = arr(&[1.0]);
    sgd.update("p", &mut p, &arr(&[2.0])).unwrap();
    assert_eq!(p.data(), &[0.5]); // 1 − 0.25·2
}

#[test]
fn step_decay_multiplies_every_step_size_epochs() {
    // lr = 0.1, γ = 0.1, every 3 epochs: 0.1 for t = 0..3, 0.01 for 3..6, 0.001 from 6.
    let s = StepDecay::new(0.1, 3, 0.1).unwrap();
    let lrs: Vec<f64> = (0..8).map(|t| s.lr_at(t)).collect();
    assert_close(
        &lrs,
        &[0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001],
        1e-15,
    );
    assert!(StepDecay::new(0.1, 0, 0.5).is_err());
    assert!(StepDecay::new(0.1, 1, 0.0).is_err());
    assert!(StepDecay::new(-0.1, 1, 0.5).is_err());
}

#[test]
fn cosine_annealing_follows_the_formula() {
    // lr_max = 1, lr_min = 0.1, T = 4: lr_t = 0.1 + 0.45(1 + cos(πt/4)).
    // t = 0: 0.1 + 0.9 = 1; t = 1: 0.1 + 0.45(1 + 0.7071068) = 0.8681981;
    // t = 2: 0.1 + 0.45 = 0.55; t = 3: 0.1 + 0.45(1 − 0.7071068) = 0.2318019; t = 4: 0.1;
    // afterwards it stays at 0.1.
    let s = CosineAnnealing::new(1.0, 0.1, 4).unwrap();
    let lrs: Vec<f64> = (0..7).map(|t| s.lr_at(t)).collect();
    assert_close(
        &lrs,
        &[1.0, 0.8681980515, 0.55, 0.2318019485, 0.1, 0.1, 0.1],
        1e-9,
    );
    assert!(CosineAnnealing::new(0.1, 1.0, 4).is_err());
    assert!(CosineAnnealing::new(1.0, 0.1, 0).is_err());
}

/// Makes a fresh optimiser.
type MakeOptimizer = Box<dyn Fn() -> Box<dyn Optimizer<f64>>>;

#[test]
fn large_parameters_split_across_threads_update_element_by_element() {
    // Long enough for the update to be split across threads; each element must follow the
    // same rule as a parameter of its own (whose updates the tests above check by hand).
    let n = 50_001;
    let p0: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.001).sin()).collect();
    let grad = |t: usize, p: &[f64]| -> Vec<f64> {
        p.iter()
            .enumerate()
            .map(|(i, v)| v + 0.1 * ((i + t) % 7) as f64)
            .collect()
    };
    let optimisers: Vec<(&str, MakeOptimizer)> = vec![
        (
            "sgd",
            Box::new(|| {
                let c = SgdConfig {
                    lr: 0.1,
                    momentum: 0.9,
                    nesterov: true,
                    weight_decay: 0.01,
                    ..SgdConfig::default()
                };
                Box::new(Sgd::new(c).unwrap())
            }),
        ),
        (
            "adam",
            Box::new(|| Box::new(Adam::new(adam_config(0.01)).unwrap())),
        ),
        (
            "adamw",
            Box::new(|| Box::new(AdamW::new(adam_config(0.01)).unwrap())),
        ),
    ];
    for (name, make) in &optimisers {
        let mut results = Vec::new();
        for threads in 1..=3 {
            tape::set_num_threads(threads);
            let mut opt = make();
            results.push(run(&mut *opt, &p0, 3, grad));
        }
        assert!(
            results.iter().all(|r| *r == results[0]),
            "{name}: thread counts differ"
        );
        for i in (0..n).step_by(997) {
            let mut single = make();
            let alone = run(&mut *single, &p0[i..=i], 3, |t, p| {
                vec![p[0] + 0.1 * ((i + t) % 7) as f64]
            });
            for step in 0..3 {
                assert_eq!(
                    results[0][step][i], alone[step][0],
                    "{name}: element {i}, step {step}"
                );
            }
        }
    }
}
