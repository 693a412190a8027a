//! Whole expressions with values and gradients derived by hand, and how backward behaves
//! across leaves, outputs, calls and tapes.

use tape::check::CheckConfig;
use tape::{Array, Scalar, Tape, TapeError, Tensor};

use crate::common::{
    assert_array_close, assert_close, assert_grad, assert_grad_scalar, assert_grad_scalars,
    panic_message,
};

fn cfg() -> CheckConfig {
    CheckConfig::default()
}

fn sigma(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

// ---- composite expressions ----------------------------------------------------------------

#[test]
fn product_plus_sine() {
    // f(x, y) = x·y + sin x at (2, 3): f = 6 + sin 2, ∂f/∂x = y + cos x = 3 + cos 2,
    // ∂f/∂y = x = 2.
    let tape = Tape::<f64>::new();
    let (x, y) = (tape.var(2.0), tape.var(3.0));
    let f = x * y + x.sin();
    assert_close("f", f.value(), 6.0 + 2f64.sin(), 1e-15);
    let g = f.backward();
    assert_close("∂f/∂x", g.wrt(x), 3.0 + 2f64.cos(), 1e-15);
    assert_eq!(g.wrt(y), 2.0);
    assert_grad_scalars(|_, v| v[0] * v[1] + v[0].sin(), &[2.0, 3.0], &cfg());
}

/// Binary cross-entropy of σ(w·x + b) against label `y`, recorded from tape ops.
fn logistic_loss<'t>(w: Tensor<'t, f64>, b: Tensor<'t, f64>, x: &[f64], y: f64) -> Scalar<'t, f64> {
    let tape = w.tape();
    let x = tape.tensor_constant(Array::from_vec(x.to_vec(), &[x.len()]).unwrap());
    let p = (w.matmul(x).item() + b.item()).sigmoid();
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

#[test]
fn logistic_regression_loss_gradient_is_residual_times_input() {
    // x = [1, 2, −1], w = [0.5, −0.25, 1], b = 0.1, label y = 1:
    // z = 0.5 − 0.5 − 1 + 0.1 = −0.9, p = σ(−0.9), L = −ln p.
    // dL/dz = p − y (the logistic loss's well-known derivative), so ∇_w L = (p − y)·x and
    // ∂L/∂b = p − y.
    let (x, y) = ([1.0, 2.0, -1.0], 1.0);
    let w0 = Array::from_vec(vec![0.5, -0.25, 1.0], &[3]).unwrap();
    let b0 = Array::scalar(0.1);
    let tape = Tape::<f64>::new();
    let (w, b) = (tape.tensor(w0.clone()), tape.tensor(b0.clone()));
    let loss = logistic_loss(w, b, &x, y);
    let p = sigma(-0.9);
    assert_close("loss", loss.value(), -p.ln(), 1e-15);
    let g = loss.backward();
    let r = p - y;
    assert_array_close("∇w", g.wrt(w), &[3], &[r * x[0], r * x[1], r * x[2]], 1e-15);
    assert_array_close("∂b", g.wrt(b), &[], &[r], 1e-15);
    // Both labels, against central differences too.
    for label in [0.0, 1.0] {
        assert_grad_scalar(
            |_, t| logistic_loss(t[0], t[1], &x, label),
            &[w0.clone(), b0.clone()],
            &cfg(),
        );
    }
}

#[test]
fn two_layer_tanh_network_first_layer_gradient() {
    // out = w2 · tanh(W1 x) with x = [0.5, −1] (a constant input),
    // W1 = [[0.1, 0.2], [−0.3, 0.4], [0.5, −0.6]], w2 = [1, −2, 0.5].
    // Pre-activations a = W1 x = [0.05 − 0.2, −0.15 − 0.4, 0.25 + 0.6] = [−0.15, −0.55, 0.85],
    // h = tanh a. Top layer down: ∂out/∂h_i = w2_i, ∂h_i/∂a_i = 1 − h_i², ∂a_i/∂W1_ij = x_j,
    // so ∂out/∂W1_ij = w2_i·(1 − tanh² a_i)·x_j, and ∂out/∂w2_i = h_i.
    let x = [0.5, -1.0];
    let w1_data = vec![0.1, 0.2, -0.3, 0.4, 0.5, -0.6];
    let w2_data = vec![1.0, -2.0, 0.5];
    let a: [f64; 3] = [-0.15, -0.55, 0.85];
    let tape = Tape::<f64>::new();
    let w1 = tape.tensor_from_vec(w1_data.clone(), &[3, 2]).unwrap();
    let w2 = tape.tensor_from_vec(w2_data.clone(), &[3]).unwrap();
    let xt = tape.tensor_constant(Array::from_vec(x.to_vec(), &[2]).unwrap());
    let out = w2.matmul(w1.matmul(xt).tanh());
    assert_eq!(out.shape().as_slice(), &[] as &[usize]);
    let expected_out: f64 = (0..3).map(|i| w2_data[i] * a[i].tanh()).sum();
    assert_close("out", out.to_vec()[0], expected_out, 1e-15);

    let g = out.sum().backward();
    let mut expected_w1 = Vec::new();
    for i in 0..3 {
        for xj in x {
            expected_w1.push(w2_data[i] * (1.0 - a[i].tanh().powi(2)) * xj);
        }
    }
    assert_array_close("∂out/∂W1", g.wrt(w1), &[3, 2], &expected_w1, 1e-15);
    let expected_w2: Vec<f64> = a.iter().map(|ai| ai.tanh()).collect();
    assert_array_close("∂out/∂w2", g.wrt(w2), &[3], &expected_w2, 1e-15);

    let x_arr = Array::from_vec(x.to_vec(), &[2]).unwrap();
    assert_grad(
        |t, p| p[1].matmul(p[0].matmul(t.tensor_constant(x_arr.clone())).tanh()),
        &[
            Array::from_vec(w1_data, &[3, 2]).unwrap(),
            Array::from_vec(w2_data, &[3]).unwrap(),
        ],
        &cfg(),
    );
}

#[test]
fn softmax_from_tape_ops_has_the_closed_form_jacobian() {
    // s_i = e^{x_i} / Σ_k e^{x_k}; ∂s_i/∂x_j = s_i(δ_ij − s_j) (quotient rule:
    // (δ_ij e^{x_i} Σ − e^{x_i} e^{x_j}) / Σ²).
    let x = [1.0, 2.0, 0.5];
    let total: f64 = x.iter().map(|v: &f64| v.exp()).sum();
    let s: Vec<f64> = x.iter().map(|v| v.exp() / total).collect();
    let tape = Tape::<f64>::new();
    let xt = tape.tensor_from_vec(x.to_vec(), &[3]).unwrap();
    let e = xt.exp();
    let soft = e / e.sum();
    assert_array_close("softmax", &soft.value(), &[3], &s, 1e-15);
    for i in 0..3 {
        // Row i of the Jacobian is the vector-Jacobian product with the i-th unit vector.
        let mut unit = vec![0.0; 3];
        unit[i] = 1.0;
        let g = tape
            .vjp(soft, &Array::from_vec(unit, &[3]).unwrap())
            .unwrap();
        let row: Vec<f64> = (0..3)
            .map(|j| s[i] * (if i == j { 1.0 } else { 0.0 } - s[j]))
            .collect();
        assert_array_close(&format!("row {i}"), g.wrt(xt), &[3], &row, 1e-15);
    }
    assert_grad(
        |_, t| {
            let e = t[0].exp();
            e / e.sum()
        },
        &[Array::from_vec(x.to_vec(), &[3]).unwrap()],
        &cfg(),
    );
}

/// Mean squared error of the linear model `Xβ` against `y`, recorded from tape ops.
fn mse<'t>(beta: Tensor<'t, f64>, xs: &Array<f64>, ys: &Array<f64>) -> Scalar<'t, f64> {
    let tape = beta.tape();
    let x = tape.tensor_constant(xs.clone());
    let y = tape.tensor_constant(ys.clone());
    (x.matmul(beta) - y).powi(2).mean()
}

#[test]
fn linear_regression_mse_gradient() {
    // X = [[1, 2], [3, −1], [0, 1], [2, 2]], y = [1, 0, 2, −1], β = [0.5, −0.5], n = 4.
    // Xβ = [−0.5, 2, −0.5, 0], r = Xβ − y = [−1.5, 2, −2.5, 1],
    // L = Σr²/n = (2.25 + 4 + 6.25 + 1)/4 = 3.375,
    // ∇L = (2/n)·Xᵀr = 0.5·[−1.5 + 6 + 0 + 2, −3 − 2 − 2.5 + 2] = [3.25, −2.75].
    let xs = Array::from_vec(vec![1.0, 2.0, 3.0, -1.0, 0.0, 1.0, 2.0, 2.0], &[4, 2]).unwrap();
    let ys = Array::from_vec(vec![1.0, 0.0, 2.0, -1.0], &[4]).unwrap();
    let beta0 = Array::from_vec(vec![0.5, -0.5], &[2]).unwrap();
    let tape = Tape::<f64>::new();
    let beta = tape.tensor(beta0.clone());
    let loss = mse(beta, &xs, &ys);
    assert_close("loss", loss.value(), 3.375, 1e-15);
    let g = loss.backward();
    assert_array_close("∇β", g.wrt(beta), &[2], &[3.25, -2.75], 1e-14);
    assert_grad_scalar(|_, b| mse(b[0], &xs, &ys), &[beta0], &cfg());
}

// ---- backward across leaves, outputs and calls --------------------------------------------

#[test]
fn leaves_that_do_not_reach_the_output_get_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(2.0);
    let unused = tape.var(5.0);
    let t = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    let unused_t = tape.ones(&[2, 3]);
    // Used elsewhere, but not by the output.
    let _elsewhere = unused * 3.0 + (unused_t * 2.0).sum();
    let y = x * x + (t * t).sum();
    let g = y.backward();
    assert_eq!(g.wrt(x), 4.0);
    assert_eq!(g.wrt(unused), 0.0);
    assert_array_close("t", g.wrt(t), &[2], &[2.0, 4.0], 0.0);
    assert_array_close("unused tensor", g.wrt(unused_t), &[2, 3], &[0.0; 6], 0.0);
}

#[test]
fn a_branch_that_does_not_reach_the_output_leaves_the_gradient_alone() {
    // x feeds sqrt and ln, whose derivatives at 0 are infinite, but the output is 2x only:
    // ∂out/∂x = 2. The dead branches carry a zero adjoint and must contribute nothing (not
    // 0·∞ = NaN).
    let tape = Tape::<f64>::new();
    let x = tape.var(0.0);
    let _dead = x.sqrt() + x.ln() + x.powf(0.5);
    let out = x * 2.0;
    assert_eq!(out.backward().wrt(x), 2.0);
    // The same when the dead branch was recorded between the output's ancestors.
    let y = x * 3.0;
    let _dead = x.sqrt();
    let out = y + x;
    assert_eq!(out.backward().wrt(x), 4.0);
}

#[test]
fn backward_twice_gives_the_same_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.tensor_from_vec(vec![0.3, -0.7, 1.1], &[3]).unwrap();
    let s = tape.var(0.5);
    let y = (x.tanh() * s).sum() * s;
    let (g1, g2) = (y.backward(), y.backward());
    assert_eq!(g1.wrt(x), g2.wrt(x));
    assert_eq!(g1.wrt(s), g2.wrt(s));
    // And they are the right ones: ∂y/∂s = 2s·Σ tanh x.
    let sum_tanh: f64 = [0.3f64, -0.7, 1.1].iter().map(|v| v.tanh()).sum();
    assert_close("∂y/∂s", g1.wrt(s), 2.0 * 0.5 * sum_tanh, 1e-15);
}

#[test]
fn backward_from_two_outputs_of_one_tape() {
    let tape = Tape::<f64>::new();
    let (x, y) = (tape.var(3.0), tape.var(4.0));
    let product = x * y; // ∂/∂x = y = 4, ∂/∂y = x = 3
    let norm2 = x * x + y * y; // ∂/∂x = 2x = 6, ∂/∂y = 2y = 8
    let (gp, gn) = (product.backward(), norm2.backward());
    assert_eq!((gp.wrt(x), gp.wrt(y)), (4.0, 3.0));
    assert_eq!((gn.wrt(x), gn.wrt(y)), (6.0, 8.0));
    // The earlier output's gradients do not see the later one.
    assert_eq!(gn.wrt(product), 0.0);
}

#[test]
fn vjp_takes_a_cotangent_of_the_output_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    // y = x², Jacobian diag(2x); Jᵀv = [2·1·1, 2·2·10, 2·3·100].
    let y = x * x;
    let v = Array::from_vec(vec![1.0, 10.0, 100.0], &[3]).unwrap();
    let g = tape.vjp(y, &v).unwrap();
    assert_array_close("Jᵀv", g.wrt(x), &[3], &[2.0, 40.0, 600.0], 0.0);

    let bad = Array::from_vec(vec![1.0, 1.0], &[2]).unwrap();
    let err = tape.vjp(y, &bad).unwrap_err();
    assert!(
        matches!(err, TapeError::ShapeMismatch { op: "vjp", .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "vjp: cotangent shape differs from the output: lhs [3], rhs [2]"
    );
}

#[test]
fn clear_keeps_capacity_and_later_results_are_right() {
    let mut tape = Tape::<f64>::new();
    let record = |tape: &Tape<f64>, v: f64| {
        // y = Σ_{k=1..50} k·x, dy/dx = 1275.
        let x = tape.var(v);
        let mut y = x * 0.0;
        for k in 1..=50 {
            y += x * k as f64;
        }
        (y.value(), y.backward().wrt(x))
    };
    assert_eq!(record(&tape, 1.0), (1275.0, 1275.0));
    let capacity = tape.capacity();
    assert!(capacity >= tape.len(), "{capacity} < {}", tape.len());
    tape.clear();
    assert!(tape.is_empty());
    assert_eq!(tape.capacity(), capacity);
    assert_eq!(record(&tape, 2.0), (2550.0, 1275.0));
    // The same computation again fits in what was kept: no growth.
    assert_eq!(tape.capacity(), capacity);
    tape.clear();
    assert_eq!(tape.capacity(), capacity);
}

#[test]
fn a_tape_grown_from_empty_with_detection_switched_midway_keeps_every_value() {
    // y₀ = 0, yₖ₊₁ = 0.999·yₖ + x², so y = x²·S with S = Σ_{k<n} 0.999ᵏ, and z = e^y:
    // dz/dx = e^y·2xS and d²z/dx² = e^y·((2xS)² + 2S). The tape starts empty and reallocates
    // many times; anomaly detection is on for a stretch in the middle, so nodes are recorded
    // both through the fast path and the slow one. The second derivative reads recorded values
    // back from the tape (e^y's derivative is its own value), so it checks they survived.
    let tape = Tape::<f64>::new();
    let n = 5000;
    let x = tape.var(0.03);
    let mut y = tape.constant(0.0);
    for k in 0..n {
        if k == 1000 {
            tape.set_anomaly_detection(true);
        }
        if k == 3000 {
            tape.set_anomaly_detection(false);
        }
        y = y * 0.999 + x * x;
    }
    let z = y.exp();
    assert_eq!(tape.len(), 2 + 3 * n + 1);
    assert!(tape.capacity() >= tape.len());
    assert_eq!(tape.anomaly(), None);
    // Rounding over 5,000 steps: relative errors of about 1e-13.
    let close = |what, actual: f64, expected: f64| {
        assert_close(what, actual, expected, 1e-10 * expected.abs());
    };
    let s = (1.0 - 0.999f64.powi(n as i32)) / (1.0 - 0.999);
    let (xv, yv) = (0.03, 0.0009 * s);
    close("y", y.value(), yv);
    let dz = z.backward_graph().unwrap().wrt(x);
    close("dz/dx", dz.value(), yv.exp() * 2.0 * xv * s);
    close("dz/dx, first order", z.backward().wrt(x), dz.value());
    let d2z = dz.backward().wrt(x);
    close(
        "d²z/dx²",
        d2z,
        yv.exp() * ((2.0 * xv * s).powi(2) + 2.0 * s),
    );
}

#[test]
fn gradients_refuse_handles_they_cannot_answer_for() {
    let mut tape = Tape::<f64>::new();
    let other = Tape::<f64>::new();
    let foreign = other.var(1.0);
    let foreign_t = other.ones(&[2]);
    let g = {
        let x = tape.var(2.0);
        let g = (x * x).backward();
        let msg = panic_message(|| g.wrt(foreign));
        assert!(msg.contains("different tape"), "{msg}");
        let msg = panic_message(|| g.wrt(foreign_t).len());
        assert!(msg.contains("different tape"), "{msg}");
        let later = tape.var(3.0);
        let msg = panic_message(|| g.wrt(later));
        assert!(msg.contains("recorded after this backward pass"), "{msg}");
        g
    };
    tape.clear();
    let fresh = tape.var(1.0);
    let msg = panic_message(|| g.wrt(fresh));
    assert!(msg.contains("the tape was cleared"), "{msg}");
}

#[test]
fn mixing_handles_of_two_tapes_panics() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let (x, y) = (t1.var(1.0), t2.var(2.0));
    let (a, b) = (t1.ones(&[2, 2]), t2.ones(&[2, 2]));
    let cases: [(&str, String); 6] = [
        ("add", panic_message(|| x + y)),
        ("max", panic_message(|| x.max(y))),
        ("mul", panic_message(|| a * b)),
        ("matmul", panic_message(|| a.matmul(b))),
        ("concat", panic_message(|| Tensor::concat(&[a, b], 0))),
        ("mul", panic_message(|| a * y)),
    ];
    for (op, msg) in cases {
        assert_eq!(msg, format!("{op}: operands belong to different tapes"));
    }
    let msg = panic_message(|| Tensor::from_scalars(&[x, y], &[2]));
    assert_eq!(msg, "from_scalars: operands belong to different tapes");
    // `vjp` returns a `Result`, so it says so with an error instead.
    let err = t1.vjp(b, &Array::ones(&[2, 2])).unwrap_err();
    assert_eq!(err.to_string(), "vjp: operands belong to different tapes");
}
