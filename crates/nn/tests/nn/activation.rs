//! Activations: gradients against finite differences, values against independent formulas,
//! behaviour at kinks and at very large |x|.

use nn::Activation;
use nn::activation::{elu, gelu, gelu_tanh, leaky_relu, silu, softplus};
use nn::special::{erf, erfc};
use proptest::prelude::*;
use tape::check::strategies;
use tape::{Array, Element, Tape};

use crate::common::{assert_close, assert_grad, sigmoid, vec1};

/// Every activation, with parameters, for the tests that cover them all.
const ALL: [Activation; 11] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu(0.01),
    Activation::LeakyRelu(1.5),
    Activation::Elu(0.7),
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::Softplus,
    Activation::Silu,
];

/// erf by its Maclaurin series `2/√π Σ (−1)ⁿ x²ⁿ⁺¹ / (n!(2n+1))`, independent of `libm`.
/// For |x| ≤ 3 the largest term is about 10³, so the sum keeps ~13 significant digits.
fn erf_series(x: f64) -> f64 {
    let mut term = x; // (−1)ⁿ x²ⁿ⁺¹ / n!
    let mut sum = x;
    for n in 1..200 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
        if term.abs() < 1e-30 {
            break;
        }
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

/// A reference implementation of an activation on plain numbers.
type Reference<'a> = &'a dyn Fn(f64) -> f64;

fn apply(act: Activation, x: &[f64]) -> Vec<f64> {
    let tape = Tape::<f64>::new();
    act.apply(tape.tensor(vec1(x))).to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    // Smooth activations: finite differences are valid everywhere, 0 included.
    #[test]
    fn smooth_activations_gradcheck(x in strategies::array_up_to::<f64>(2, 4, -4.0, 4.0)) {
        for act in [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Softplus,
            Activation::Silu,
            Activation::Elu(1.0), // C¹ at 0 when alpha = 1
            Activation::Identity,
        ] {
            assert_grad(|_, t| act.apply(t[0]), std::slice::from_ref(&x));
        }
    }

    // Activations with a kink at 0: inputs kept 1e-3 away from it, where central differences
    // with step 1e-6 never straddle it.
    #[test]
    fn kinked_activations_gradcheck(
        x in strategies::array_avoiding::<f64>(&[3, 4], -4.0, 4.0, &[0.0], 1e-3)
    ) {
        for act in [
            Activation::Relu,
            Activation::LeakyRelu(0.1),
            Activation::LeakyRelu(2.0),
            Activation::Elu(0.5),
        ] {
            assert_grad(|_, t| act.apply(t[0]), std::slice::from_ref(&x));
        }
    }

    #[test]
    fn erf_and_erfc_gradcheck(x in strategies::array_up_to::<f64>(2, 4, -3.0, 3.0)) {
        assert_grad(|_, t| erf(t[0]), std::slice::from_ref(&x));
        assert_grad(|_, t| erfc(t[0]), std::slice::from_ref(&x));
    }
}

#[test]
fn f32_activations_gradcheck() {
    // f32 central differences need a large step and loose tolerances (CheckConfig::f32).
    let x = Array::<f32>::from_vec(vec![-2.5, -0.7, 0.4, 1.9], &[4]).unwrap();
    for act in ALL {
        tape::check::gradcheck(
            |_, t| act.apply(t[0]),
            std::slice::from_ref(&x),
            &tape::check::CheckConfig::f32(),
        )
        .unwrap_or_else(|e| panic!("{act:?}: {e}"));
    }
}

#[test]
fn erf_matches_series_and_tables() {
    let xs: Vec<f64> = (-30..=30).map(|i| i as f64 * 0.1).collect();
    let tape = Tape::<f64>::new();
    let got = erf(tape.tensor(vec1(&xs))).to_vec();
    let expected: Vec<f64> = xs.iter().map(|&x| erf_series(x)).collect();
    assert_close(&got, &expected, 1e-12);
    // erfc = 1 − erf where no cancellation matters.
    let got_c = erfc(tape.tensor(vec1(&xs))).to_vec();
    let expected_c: Vec<f64> = expected.iter().map(|e| 1.0 - e).collect();
    assert_close(&got_c, &expected_c, 1e-12);
    // Tabulated: erf(0.5) = 0.5204998778130465, erfc(3) = 2.209049699858544e-5.
    let t = tape.tensor(vec1(&[0.5, 3.0]));
    assert!((erf(t).to_vec()[0] - 0.520_499_877_813_046_5).abs() < 1e-15);
    assert!((erfc(t).to_vec()[1] / 2.209_049_699_858_544e-5 - 1.0).abs() < 1e-13);
}

#[test]
fn erf_f32_is_rounded_f64() {
    let tape = Tape::<f32>::new();
    let x = tape.tensor(Array::from_vec(vec![0.3f32, -1.7, 2.2], &[3]).unwrap());
    let got = erf(x).to_vec();
    for (g, x) in got.iter().zip([0.3f32, -1.7, 2.2]) {
        assert_eq!(*g, erf_series(x as f64) as f32);
    }
}

#[test]
fn values_match_independent_formulas() {
    let xs: Vec<f64> = (-40..=40).map(|i| i as f64 * 0.2).collect(); // −8 … 8
    let phi = |x: f64| 0.5 * (1.0 + erf_series(x / 2f64.sqrt()));
    let c = (2.0 / std::f64::consts::PI).sqrt();
    let gelu_tanh_reference = |x: f64| 0.5 * x * (1.0 + (c * (x + 0.044715 * x.powi(3))).tanh());
    let cases: [(Activation, Reference<'_>, f64); 8] = [
        (Activation::Sigmoid, &sigmoid, 1e-15),
        (Activation::Tanh, &f64::tanh, 0.0),
        (Activation::Relu, &|x: f64| x.max(0.0), 0.0),
        (
            Activation::LeakyRelu(0.2),
            &|x| if x > 0.0 { x } else { 0.2 * x },
            0.0,
        ),
        (
            Activation::Elu(0.7),
            &|x: f64| if x > 0.0 { x } else { 0.7 * x.exp_m1() },
            1e-15,
        ),
        (Activation::GeluTanh, &gelu_tanh_reference, 1e-14),
        (Activation::Softplus, &|x: f64| x.exp().ln_1p(), 1e-14),
        (Activation::Silu, &|x: f64| x * sigmoid(x), 1e-14),
    ];
    for (act, reference, tol) in cases {
        let expected: Vec<f64> = xs.iter().map(|&x| reference(x)).collect();
        let got = apply(act, &xs);
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert!(
                (g - e).abs() <= tol * e.abs().max(1.0),
                "{act:?} at {}: got {g}, expected {e}",
                xs[i]
            );
        }
    }
    // The series for erf is only accurate to ~1e-12 for |x/√2| ≤ 3, so compare GELU there.
    let small: Vec<f64> = (-40..=40).map(|i| i as f64 * 0.1).collect(); // −4 … 4
    let got = apply(Activation::Gelu, &small);
    let expected: Vec<f64> = small.iter().map(|&x| x * phi(x)).collect();
    assert_close(&got, &expected, 1e-12);
}

#[test]
fn gelu_tail_is_accurate_where_one_plus_erf_cancels() {
    // GELU(−10) = −10·Φ(−10) = −10·7.619853024160527e-24 (Φ(−10) from tables). A value
    // computed as x·(1 + erf(x/√2))/2 would be exactly 0 here.
    let got = apply(Activation::Gelu, &[-10.0])[0];
    assert!(
        (got / -7.619_853_024_160_527e-23 - 1.0).abs() < 1e-12,
        "got {got}"
    );
    // Same for the tanh form, through σ(2u) rather than 1 + tanh(u).
    let c = (2.0 / std::f64::consts::PI).sqrt();
    let u = c * (-10.0 + 0.044715 * -1000.0);
    let expected = -10.0 * (2.0 * u).exp() / (1.0 + (2.0 * u).exp());
    let got = apply(Activation::GeluTanh, &[-10.0])[0];
    assert!(
        (got / expected - 1.0).abs() < 1e-12,
        "got {got}, expected {expected}"
    );
}

/// Value and gradient of every activation at large |x| are finite, and the gradients are the
/// limits: 0 or the negative slope on the left, 1 on the right (except saturating ones).
fn check_large<T: Element>(big: f64) {
    let xs = [-big, -1.0, 0.0, 1.0, big].map(T::cast_from);
    for act in ALL {
        let tape = Tape::<T>::new();
        let x = tape.tensor(Array::from_vec(xs.to_vec(), &[5]).unwrap());
        let y = act.apply(x);
        let values = y.to_vec();
        let grads = y.sum().backward().wrt(x).clone();
        for (i, (v, g)) in values.iter().zip(grads.data()).enumerate() {
            assert!(
                v.is_finite() && g.is_finite(),
                "{act:?} ({}) at {}: value {v}, gradient {g}",
                T::NAME,
                xs[i]
            );
        }
        let (g_left, g_right) = (grads.data()[0].as_f64(), grads.data()[4].as_f64());
        let (left, right) = match act {
            Activation::Identity => (1.0, 1.0),
            Activation::LeakyRelu(s) => (s, 1.0),
            Activation::Sigmoid | Activation::Tanh => (0.0, 0.0),
            _ => (0.0, 1.0),
        };
        assert!(
            (g_left - left).abs() < 1e-6 && (g_right - right).abs() < 1e-6,
            "{act:?} ({}): gradients at ±{big} are {g_left}, {g_right}",
            T::NAME
        );
    }
}

#[test]
fn stable_for_large_inputs_f64() {
    check_large::<f64>(1e4);
}

#[test]
fn stable_for_large_inputs_f32() {
    check_large::<f32>(100.0);
}

#[test]
fn asymptotic_values() {
    let big = 1e4;
    for act in [
        Activation::Relu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Softplus,
        Activation::Silu,
        Activation::Elu(1.0),
    ] {
        let v = apply(act, &[-big, big]);
        let left = if matches!(act, Activation::Elu(_)) {
            -1.0
        } else {
            0.0
        };
        assert_eq!(v, vec![left, big], "{act:?}");
    }
    assert_eq!(apply(Activation::Sigmoid, &[-big, big]), vec![0.0, 1.0]);
    assert_eq!(apply(Activation::Tanh, &[-big, big]), vec![-1.0, 1.0]);
}

/// Gradient of `f` at exactly `x`, by the tape.
fn grad_at(f: impl for<'t> Fn(tape::Tensor<'t, f64>) -> tape::Tensor<'t, f64>, x: f64) -> f64 {
    let tape = Tape::<f64>::new();
    let t = tape.tensor(vec1(&[x]));
    f(t).sum().backward().wrt(t).data()[0]
}

#[test]
fn softplus_gradient_at_zero_is_one_half() {
    // softplus'(x) = σ(x), and σ(0) = 1/2: the kinks of max(x, 0) and |x| must cancel.
    assert_eq!(grad_at(softplus, 0.0), 0.5);
}

/// Far below 0, softplus(x) = ln(1 + t) with t = eˣ keeps its relative accuracy, in both
/// precisions, where adding 1 first would round it to 0 (from x ≈ −37 in `f64`, −17 in
/// `f32`); above, it approaches x.
#[test]
fn softplus_keeps_its_relative_accuracy_in_the_tails() {
    // The series t − t²/2 + t³/3 is exact to rounding for t ≤ e⁻²⁰ (the next term is below
    // 10⁻³⁴ relative).
    let series = |x: f64| {
        let t = x.exp();
        t - t * t / 2.0 + t * t * t / 3.0
    };
    for x in [-20.0, -40.0, -300.0, -700.0] {
        let tape = Tape::<f64>::new();
        let y = softplus(tape.tensor(vec1(&[x]))).to_vec()[0];
        let want = series(x);
        assert!(
            (y - want).abs() <= 4.0 * f64::EPSILON * want,
            "x = {x}: {y} vs {want}"
        );
    }
    let tape = Tape::<f32>::new();
    let x = tape.tensor(tape::Array::from_vec(vec![-30.0f32], &[1]).unwrap());
    let y = softplus(x).to_vec()[0] as f64;
    let want = series(-30.0);
    assert!(
        (y - want).abs() <= 4.0 * f32::EPSILON as f64 * want,
        "{y} vs {want}"
    );
    let tape = Tape::<f64>::new();
    let y = softplus(tape.tensor(vec1(&[40.0]))).to_vec()[0];
    assert_eq!(y, 40.0 + (-40f64).exp().ln_1p());
}

#[test]
fn conventions_at_kinks() {
    // PyTorch: leaky_relu'(0) = slope, elu'(0) = alpha, relu'(0) = 0.
    assert_eq!(grad_at(|x| leaky_relu(x, 0.3), 0.0), 0.3);
    assert_eq!(grad_at(|x| elu(x, 0.7), 0.0), 0.7);
    assert_eq!(grad_at(|x| x.relu(), 0.0), 0.0);
    // Smooth ones at 0: gelu'(0) = Φ(0) = 1/2, silu'(0) = σ(0) = 1/2, gelu_tanh'(0) = 1/2.
    assert_eq!(grad_at(gelu, 0.0), 0.5);
    assert_eq!(grad_at(silu, 0.0), 0.5);
    assert_eq!(grad_at(gelu_tanh, 0.0), 0.5);
}
