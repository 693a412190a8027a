//! Gradients of gradients: closed forms derived by hand, and gradgradcheck.

use tape::check::{CheckConfig, gradgradcheck};
use tape::higher::{grad, hessian, hvp, jacobian};
use tape::{Array, Function, Tape, TapeError, Tensor};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

#[test]
fn third_derivative_of_a_polynomial() {
    // p(x) = x⁴ - 2x³ + 5x; p' = 4x³ - 6x² + 5; p'' = 12x² - 12x; p''' = 24x - 12.
    let tape = Tape::<f64>::new();
    let x = tape.var(1.5);
    let p = x.powi(4) - 2.0 * x.powi(3) + 5.0 * x;
    let d1 = p.backward_graph().unwrap().wrt(x);
    let d2 = d1.backward_graph().unwrap().wrt(x);
    let d3 = d2.backward().wrt(x);
    assert!(close(d1.value(), 4.0 * 3.375 - 6.0 * 2.25 + 5.0)); // 13.5 - 13.5 + 5 = 5
    assert!(close(d2.value(), 12.0 * 2.25 - 18.0)); // 9
    assert!(close(d3, 24.0 * 1.5 - 12.0)); // 24
}

#[test]
fn second_derivatives_of_scalar_ops_match_closed_forms() {
    // (f, x, f'' derived by hand)
    let x0 = 0.7f64;
    let s = 1.0 / (1.0 + (-x0).exp());
    type Case = (
        &'static str,
        fn(tape::Scalar<'_, f64>) -> tape::Scalar<'_, f64>,
        f64,
    );
    let cases: Vec<Case> = vec![
        ("exp", |x| x.exp(), x0.exp()),                // eˣ
        ("ln", |x| x.ln(), -1.0 / (x0 * x0)),          // -1/x²
        ("sqrt", |x| x.sqrt(), -0.25 * x0.powf(-1.5)), // -¼x^-3/2
        ("sin", |x| x.sin(), -x0.sin()),               // -sin
        ("cos", |x| x.cos(), -x0.cos()),               // -cos
        (
            "tan",
            |x| x.tan(),
            2.0 * x0.tan() * (1.0 + x0.tan().powi(2)),
        ), // 2 tan sec²
        (
            "tanh",
            |x| x.tanh(),
            -2.0 * x0.tanh() * (1.0 - x0.tanh().powi(2)),
        ), // -2 tanh sech²
        ("sigmoid", |x| x.sigmoid(), s * (1.0 - s) * (1.0 - 2.0 * s)), // σ(1-σ)(1-2σ)
        ("recip", |x| x.recip(), 2.0 / x0.powi(3)),    // 2/x³
        ("ln_1p", |x| x.ln_1p(), -1.0 / (1.0 + x0).powi(2)), // -1/(1+x)²
        ("exp_m1", |x| x.exp_m1(), x0.exp()),          // eˣ
        ("powi", |x| x.powi(4), 12.0 * x0 * x0),       // 12x²
        ("powf", |x| x.powf(2.5), 2.5 * 1.5 * x0.powf(0.5)), // c(c-1)x^(c-2)
        ("relu", |x| x.relu(), 0.0),                   // piecewise linear
        ("abs", |x| x.abs(), 0.0),
        ("div", |x| 3.0 / x, 6.0 / x0.powi(3)), // 3/x → 6/x³
        ("mul", |x| x * x, 2.0),
    ];
    for (name, f, expected) in cases {
        let tape = Tape::<f64>::new();
        let x = tape.var(x0);
        let d1 = f(x).backward_graph().unwrap().wrt(x);
        let d2 = d1.backward().wrt(x);
        assert!(
            close(d2, expected),
            "{name}: f'' = {d2}, expected {expected}"
        );
    }
}

#[test]
fn mixed_partials_of_pow_max_and_min() {
    // f(x, y) = xʸ: ∂²f/∂x∂y = x^(y-1)(1 + y ln x).
    let tape = Tape::<f64>::new();
    let (x, y) = (tape.var(1.7), tape.var(2.3));
    let fx = x.pow(y).backward_graph().unwrap().wrt(x);
    let fxy = fx.backward().wrt(y);
    assert!(close(fxy, 1.7f64.powf(1.3) * (1.0 + 2.3 * 1.7f64.ln())));
    // max(x, y)·x with x > y is x², so the second derivative in x is 2 and the mixed one 0.
    let tape = Tape::<f64>::new();
    let (x, y) = (tape.var(3.0), tape.var(1.0));
    let gx = (x.max(y) * x).backward_graph().unwrap().wrt(x);
    let g = gx.backward();
    assert_eq!((g.wrt(x), g.wrt(y)), (2.0, 0.0));
}

#[test]
fn hessian_of_a_quadratic_form_is_the_symmetrised_matrix() {
    // f(x) = xᵀAx has Hessian A + Aᵀ.
    let a = Array::from_vec(vec![1.0, 2.0, 0.5, -1.0, 3.0, 0.0, 4.0, 1.0, 2.0], &[3, 3]).unwrap();
    let x = Array::from_vec(vec![0.2, -0.4, 0.9], &[3]).unwrap();
    let h = hessian(
        |t, x| {
            let a = t.tensor_constant(a.clone());
            x.matmul(a.matmul(x)).item()
        },
        &x,
    )
    .unwrap();
    for i in 0..3 {
        for j in 0..3 {
            assert!(close(h.get(&[i, j]), a.get(&[i, j]) + a.get(&[j, i])));
        }
    }
}

#[test]
fn hvp_equals_hessian_times_vector() {
    // f(x) = Σ sin(xᵢ)·xᵢ₊₁ over a chain; compare hvp with the full Hessian times v.
    fn f<'t>(_: &'t Tape<f64>, x: Tensor<'t, f64>) -> tape::Scalar<'t, f64> {
        (x.slice(0, 0, 3).sin() * x.slice(0, 1, 4)).sum()
    }
    let x = Array::from_vec(vec![0.1, 0.5, -0.3, 0.8], &[4]).unwrap();
    let v = Array::from_vec(vec![1.0, -2.0, 0.5, 3.0], &[4]).unwrap();
    let h = hessian(f, &x).unwrap();
    let hv = hvp(f, &x, &v).unwrap();
    for i in 0..4 {
        let expected: f64 = (0..4).map(|j| h.get(&[i, j]) * v.data()[j]).sum();
        assert!(close(hv.data()[i], expected), "row {i}");
    }
    assert!(hvp(f, &x, &Array::zeros(&[3])).is_err());
}

#[test]
fn jacobian_and_grad_of_elementwise_functions() {
    // f(x) = x² elementwise: Jacobian diag(2x); grad of Σx² is 2x.
    let x = Array::from_vec(vec![1.0, -2.0, 3.0], &[3]).unwrap();
    let j = jacobian(|_, x| x * x, &x).unwrap();
    assert_eq!(j.data(), &[2.0, 0.0, 0.0, 0.0, -4.0, 0.0, 0.0, 0.0, 6.0]);
    assert_eq!(
        grad(|_, x| (x * x).sum(), &x).unwrap().data(),
        &[2.0, -4.0, 6.0]
    );
}

#[test]
fn gradgradcheck_passes_on_composites_of_every_tensor_op_family() {
    let cfg = CheckConfig {
        rel_tol: 1e-5,
        abs_tol: 1e-7,
        ..Default::default()
    };
    let a = Array::rand_uniform(&[2, 3], 0.5, 1.5, 1);
    let b = Array::rand_uniform(&[3, 2], -1.0, 1.0, 2);
    let c = Array::rand_uniform(&[3], 0.5, 1.5, 3);
    // matmul, transposes, broadcasting, reductions, shape and index ops.
    gradgradcheck(
        |_, p| {
            let m = p[0].matmul(p[1]).tanh();
            let s = (p[0] * p[2]).sigmoid().sum_axis(1, true);
            let z = (m + s).t().reshape(&[4]).concat_with(p[2]);
            (z.exp() * z.slice(0, 1, 7).pad(0, 0, 1)).sum()
                + p[0].max()
                + p[0].gather(&[2, 0]).ln().sum()
        },
        &[a.clone(), b.clone(), c.clone()],
        &cfg,
    )
    .unwrap();
    gradgradcheck(
        |_, p| {
            let r = p[1]
                .index_select(&[2, 0, 2])
                .permute(&[1, 0])
                .matmul_t(false, p[0], true);
            (r * r).mean()
                + p[2].powf(1.5).max_axis(0, false).sum()
                + (p[2] / p[2].sum().to_tensor()).sqrt().sum()
        },
        &[a, b, c],
        &cfg,
    )
    .unwrap();
}

trait ConcatWith<'t> {
    fn concat_with(self, other: Tensor<'t, f64>) -> Tensor<'t, f64>;
}
impl<'t> ConcatWith<'t> for Tensor<'t, f64> {
    fn concat_with(self, other: Tensor<'t, f64>) -> Tensor<'t, f64> {
        Tensor::concat(&[self, other], 0)
    }
}

#[test]
fn numeric_only_custom_functions_refuse_to_be_differentiated_twice() {
    let tape = Tape::<f64>::new();
    let x = tape.ones(&[2]);
    let y = tape.apply(&SQUARE, &[x]).unwrap().sum();
    // First order works ...
    assert_eq!(y.backward().wrt(x).data(), &[2.0, 2.0]);
    // ... second order is a clear error, not a wrong answer.
    let err = y.backward_graph().err().expect("must refuse");
    assert!(
        err.to_string().contains("custom function `square`"),
        "{err}"
    );
    let tape = Tape::<f64>::new();
    let x = tape.var(2.0);
    let err = x
        .custom(4.0, 4.0)
        .backward_graph()
        .err()
        .expect("must refuse");
    assert!(
        err.to_string().contains("cannot be differentiated twice"),
        "{err}"
    );
}

#[test]
fn first_order_results_are_unchanged_by_a_recorded_backward() {
    let tape = Tape::<f64>::new();
    let x = tape.tensor_from_vec(vec![0.3, 0.9], &[2]).unwrap();
    let y = (x.sin() * x).sum();
    let first = y.backward().wrt(x).clone();
    let recorded = y.backward_graph().unwrap().wrt(x).value();
    assert!(first.max_abs_diff(&recorded) < 1e-15);
    // And backward from y still gives the same after the recording appended nodes.
    assert!(y.backward().wrt(x).max_abs_diff(&first) == 0.0);
}

#[test]
fn gradgradcheck_catches_a_gradient_whose_recording_does_not_match_its_values() {
    // f(x) = Σ x·detach(x): f's values are Σx², but the gradient recorded is detach(x) = x
    // (not 2x) and, being a constant, has second derivative 0 (not 1 — the derivative of the
    // recorded values x). Both levels are reported: two gradient entries and two Hessian
    // diagonal entries.
    let x = Array::from_vec(vec![0.5, -1.5], &[2]).unwrap();
    let err = gradgradcheck(
        |_, x| (x[0] * x[0].detach()).sum(),
        &[x],
        &CheckConfig::default(),
    )
    .unwrap_err();
    assert_eq!(err.checked, 2 + 4);
    assert_eq!(err.mismatches.len(), 4);
    // Gradient: recorded 0.5, central differences of Σx² give 2·0.5 = 1.
    assert_eq!(err.mismatches[0].analytic, 0.5);
    assert!((err.mismatches[0].numeric - 1.0).abs() < 1e-6);
    // Hessian (0, 0): recorded 0, differences of the recorded gradient x give 1.
    assert_eq!(err.mismatches[2].analytic, 0.0);
    assert!((err.mismatches[2].numeric - 1.0).abs() < 1e-6);
}

#[test]
fn gradgradcheck_catches_a_recorded_backward_that_is_wrong_but_self_consistent() {
    let x = Array::from_vec(vec![1.0, 2.0], &[2]).unwrap();
    let err = gradgradcheck(
        |t, x| t.apply(&CONSISTENTLY_WRONG_SQUARE, x).unwrap().sum(),
        &[x],
        &CheckConfig::default(),
    )
    .unwrap_err();
    // Only the two first-order entries fail: 2.002x vs 2x; the Hessian 2.002 agrees with the
    // differences of 2.002x.
    assert_eq!(err.mismatches.len(), 2);
    assert!((err.mismatches[1].analytic - 4.004).abs() < 1e-12);
    assert!((err.mismatches[1].numeric - 4.0).abs() < 1e-6);
}

#[test]
fn custom_functions_with_a_tape_backward_are_differentiable_twice() {
    // f(x) = Σ sin(x²): f'' = 2cos(x²) - 4x²sin(x²) on the diagonal.
    let x = Array::from_vec(vec![0.4, 1.1], &[2]).unwrap();
    gradgradcheck(
        |t, x| t.apply(&SQUARE_ON_TAPE, x).unwrap().sin().sum(),
        std::slice::from_ref(&x),
        &CheckConfig::default(),
    )
    .unwrap();
    let h = hessian(
        |t, x| t.apply(&SQUARE_ON_TAPE, &[x]).unwrap().sin().sum(),
        &x,
    )
    .unwrap();
    let v: f64 = 0.4;
    assert!(close(
        h.get(&[0, 0]),
        2.0 * (v * v).cos() - 4.0 * v * v * (v * v).sin()
    ));
    assert_eq!(h.get(&[0, 1]), 0.0);
}

#[test]
fn gradient_penalty_gradient_is_right() {
    // The loss of docs/higher-order.md as a function of w, checked against finite differences:
    // its gradient passes through the recorded input gradient (a second derivative).
    use tape::check::gradcheck_scalar;
    let xs = Array::rand_uniform(&[5, 3], -1.0, 1.0, 1);
    let ys = Array::rand_uniform(&[5, 1], -0.5, 0.5, 2);
    let w = Array::rand_normal(&[3, 1], 0.0, 0.5, 3);
    gradcheck_scalar(
        |t, p| {
            let x = t.tensor(xs.clone());
            let f = x.matmul(p[0]).tanh();
            let mse = (f - t.tensor_constant(ys.clone())).powi(2).mean();
            let gx = f.sum().backward_graph().unwrap().wrt(x);
            mse + (gx * gx).sum() * 0.1
        },
        &[w],
        &CheckConfig::default(),
    )
    .unwrap();
}

/// `x²` elementwise: numeric backward `2x·g`; a backward on the tape `tape_factor·x·g` if
/// given (2 is right; 2.002 is wrong but self-consistent: its own Hessian agrees with
/// differences of its own gradient, so only a first-order comparison can catch it).
#[derive(Clone)]
struct Square {
    tape_factor: Option<f64>,
}

const SQUARE: Square = Square { tape_factor: None };
const SQUARE_ON_TAPE: Square = Square {
    tape_factor: Some(2.0),
};
const CONSISTENTLY_WRONG_SQUARE: Square = Square {
    tape_factor: Some(2.002),
};

impl Function<f64> for Square {
    fn name(&self) -> &str {
        "square"
    }
    fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
        Ok(x[0].map(|v| v * v))
    }
    fn backward(&self, x: &[&Array<f64>], _o: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
        let d = x[0]
            .data()
            .iter()
            .zip(g.data())
            .map(|(v, g)| 2.0 * v * g)
            .collect();
        vec![Array::from_vec(d, x[0].shape()).unwrap()]
    }
    fn backward_on_tape<'t>(
        &self,
        x: &[Tensor<'t, f64>],
        _out: Tensor<'t, f64>,
        g: Tensor<'t, f64>,
    ) -> Option<Vec<Tensor<'t, f64>>> {
        self.tape_factor.map(|c| vec![g * x[0] * c])
    }
}
