//! Initialisers: the distributions have the documented bounds and moments, and are
//! deterministic for a seed.

use nn::Init;
use nn::init::{derive_seed, fans};
use tape::Array;

fn mean_and_std(a: &Array<f64>) -> (f64, f64) {
    let n = a.len() as f64;
    let mean = a.data().iter().sum::<f64>() / n;
    let var = a.data().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[test]
fn moments_match_the_formulas() {
    // A [200, 300] weight: fan_in 300, fan_out 200. With 60,000 samples the sample standard
    // deviation is within ~1% of the true one, so 3% is a safe bound.
    let shape = [200, 300];
    let (fan_in, fan_out) = (300.0f64, 200.0f64);
    let cases = [
        // U(−a, a) has standard deviation a/√3.
        (
            Init::XavierUniform,
            (6.0 / (fan_in + fan_out)).sqrt() / 3f64.sqrt(),
        ),
        (Init::XavierNormal, (2.0 / (fan_in + fan_out)).sqrt()),
        (Init::HeUniform, (6.0 / fan_in).sqrt() / 3f64.sqrt()),
        (Init::HeNormal, (2.0 / fan_in).sqrt()),
    ];
    for (init, expected_std) in cases {
        let w: Array<f64> = init.array(&shape, 17);
        let (mean, std) = mean_and_std(&w);
        assert!(mean.abs() < 0.03 * expected_std, "{init:?}: mean {mean}");
        assert!(
            (std / expected_std - 1.0).abs() < 0.03,
            "{init:?}: std {std} vs {expected_std}"
        );
    }
    let bound = (6.0 / (fan_in + fan_out)).sqrt();
    let w: Array<f64> = Init::XavierUniform.array(&shape, 1);
    assert!(w.data().iter().all(|v| v.abs() <= bound));
    let w: Array<f64> = Init::Uniform {
        low: 2.0,
        high: 3.0,
    }
    .array(&[1000], 1);
    assert!(w.data().iter().all(|v| (2.0..3.0).contains(v)));
    let (mean, std) = mean_and_std(
        &Init::Normal {
            mean: -1.0,
            std: 0.5,
        }
        .array(&[10_000], 2),
    );
    assert!(
        (mean + 1.0).abs() < 0.02 && (std - 0.5).abs() < 0.02,
        "{mean} {std}"
    );
}

#[test]
fn deterministic_for_a_seed_in_both_precisions() {
    for init in [
        Init::XavierUniform,
        Init::XavierNormal,
        Init::HeUniform,
        Init::HeNormal,
    ] {
        let a: Array<f64> = init.array(&[8, 5], 3);
        assert_eq!(a, init.array(&[8, 5], 3));
        assert_ne!(a, init.array(&[8, 5], 4));
        // f32 draws the same samples (up to rounding of the scale and the result).
        let b: Array<f32> = init.array(&[8, 5], 3);
        assert!(b.cast::<f64>().max_abs_diff(&a) < 1e-6);
    }
}

#[test]
fn empty_shapes_and_zeros() {
    let w: Array<f64> = Init::HeNormal.array(&[0, 4], 1);
    assert_eq!(w.shape(), &[0, 4]);
    let z: Array<f64> = Init::Zeros.array(&[2, 2], 9);
    assert_eq!(z.data(), &[0.0; 4]);
}

#[test]
fn fans_follow_pytorch() {
    assert_eq!(fans(&[]), (1, 1));
    assert_eq!(fans(&[5]), (5, 5));
    assert_eq!(fans(&[10, 20]), (20, 10));
    assert_eq!(fans(&[8, 4, 3, 3]), (36, 72));
}

#[test]
fn derived_seeds_are_distinct() {
    let seeds: std::collections::HashSet<u64> = (0..100)
        .flat_map(|s| (0..100).map(move |i| derive_seed(s, i)))
        .collect();
    assert_eq!(seeds.len(), 10_000);
}
