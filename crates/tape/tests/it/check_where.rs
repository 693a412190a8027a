//! Gradient checks that say where: the faulty op and its source line, kinks told apart from
//! wrong derivatives, f32 with the default settings.

use tape::check::{CheckConfig, Side, check_ops, gradcheck, gradcheck_scalar};
use tape::{Array, Function, Tape, TapeError, Tensor};

/// `x³` elementwise with a wrong derivative: `2x²` where `3x²` is right.
#[derive(Clone)]
struct CubeWrong;

impl Function<f64> for CubeWrong {
    fn name(&self) -> &str {
        "cube_wrong"
    }
    fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
        Ok(x[0].map(|v| v * v * v))
    }
    fn backward(&self, x: &[&Array<f64>], _out: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
        let d = x[0]
            .data()
            .iter()
            .zip(g.data())
            .map(|(v, g)| 2.0 * v * v * g);
        vec![Array::from_vec(d.collect(), x[0].shape()).unwrap()]
    }
}

/// `max(x, 0)` with the tie at 0 declared on the zero branch (`x > 0`), and a backward that
/// follows the declaration (`right`) or gives the tie to the other branch (`x ≥ 0`).
#[derive(Clone)]
struct Relu {
    right: bool,
}

impl Function<f64> for Relu {
    fn name(&self) -> &str {
        if self.right { "relu_gt" } else { "relu_ge" }
    }
    fn forward(&self, x: &[&Array<f64>]) -> Result<Array<f64>, TapeError> {
        Ok(x[0].map(|v| v.max(0.0)))
    }
    fn backward(&self, x: &[&Array<f64>], _out: &Array<f64>, g: &Array<f64>) -> Vec<Array<f64>> {
        let on = |v: f64| if self.right { v > 0.0 } else { v >= 0.0 };
        let d = x[0]
            .data()
            .iter()
            .zip(g.data())
            .map(|(&v, &g)| if on(v) { g } else { 0.0 });
        vec![Array::from_vec(d.collect(), x[0].shape()).unwrap()]
    }
    fn branches(&self, x: &[&Array<f64>]) -> Vec<usize> {
        x[0].data().iter().map(|&v| usize::from(v > 0.0)).collect()
    }
}

/// About fifty correct ops with the wrong cube among them; returns the cube's output and the
/// line that recorded it.
fn long_composite<'t>(tape: &'t Tape<f64>, x: Tensor<'t, f64>) -> (tape::Scalar<'t, f64>, u32) {
    let mut h = x;
    for _ in 0..12 {
        h = (h.sin() * 0.9 + h.tanh()).exp() * 0.5; // five ops a round
    }
    let (cube, line) = (tape.apply(&CubeWrong, &[h]).unwrap(), line!());
    let mut y = cube;
    for _ in 0..3 {
        y = y.sigmoid() + y.powi(2);
    }
    (y.sum(), line)
}

#[test]
fn a_failing_check_names_the_wrong_custom_function_and_its_line() {
    let x = Array::from_vec(vec![0.3, -0.8, 1.1, 0.05], &[4]).unwrap();
    let err = gradcheck_scalar(
        |t, xs| long_composite(t, xs[0]).0,
        std::slice::from_ref(&x),
        &CheckConfig::default(),
    )
    .unwrap_err();
    assert_eq!(err.mismatches.len(), 4); // every element goes through the cube
    let op = err.localised.as_ref().expect("the faulty op is found");
    assert_eq!(op.op, "custom:cube_wrong");
    // The line recorded is where `apply` was called.
    let line = {
        let tape = Tape::new();
        long_composite(&tape, tape.tensor(x.clone())).1
    };
    assert_eq!(op.location.unwrap().line(), line);
    assert!(op.location.unwrap().file().ends_with("check_where.rs"));
    // Node: the sink is 0, the input 1, then 12 rounds of 6 nodes (sin, ·0.9, tanh, +, exp,
    // ·0.5), so the cube is node 1 + 72 + 1 = 74.
    assert_eq!(op.node, 74);
    // Its own check: the derivative it gives is 2/3 of the true one, at every element.
    assert_eq!(op.mismatches.len(), 4);
    for m in &op.mismatches {
        assert!((m.analytic / m.numeric - 2.0 / 3.0).abs() < 1e-5, "{m:?}");
        assert_eq!(m.kink, None);
    }
    let text = err.to_string();
    assert!(text.contains(&format!(
        "node 74 `custom:cube_wrong`, recorded at {}",
        op.location.unwrap()
    )));
}

#[test]
fn check_ops_on_a_tape_recorded_by_hand() {
    let tape = Tape::<f64>::new();
    tape.set_location_tracking(true);
    let x = tape.tensor_from_vec(vec![0.5, -1.5, 2.0], &[3]).unwrap();
    let w = tape
        .tensor_from_vec(vec![1.0, 2.0, -1.0, 0.5, 0.0, 3.0], &[3, 2])
        .unwrap();
    let h = x.reshape(&[1, 3]).matmul(w).tanh();
    let report = check_ops(&tape, &CheckConfig::default()).unwrap();
    assert_eq!(report.ops, 3); // reshape, matmul, tanh
    // reshape: 3 entries; matmul: 3 + 6; tanh: 2.
    assert_eq!(report.checked, 3 + 9 + 2);
    let y = tape.apply(&CubeWrong, &[h]).unwrap();
    let line = line!() - 1;
    let failure = check_ops(&tape, &CheckConfig::default()).unwrap_err();
    assert_eq!(
        (failure.node, failure.location.unwrap().line()),
        (y.index(), line)
    );
}

/// A relu network evaluated where every pre-activation is exactly 0: the inputs are 0, so
/// `x·W` is 0 whatever `W`, and each perturbation of an input crosses the kinks.
fn relu_net<'t>(
    t: &'t Tape<f64>,
    p: &[Tensor<'t, f64>],
    relu: Option<Relu>,
) -> tape::Scalar<'t, f64> {
    let pre = p[0].matmul(p[1]);
    let h = match relu {
        Some(r) => t.apply(&r, &[pre]).unwrap(),
        None => pre.relu(),
    };
    let m = h.max_axis(1, false); // ties: every row of h is 0
    (h.matmul(p[2]).tanh().sum() + m.sum()) + p[0].abs().sum()
}

fn at_kinks() -> [Array<f64>; 3] {
    [
        Array::zeros(&[2, 3]),
        Array::rand_normal(&[3, 4], 0.0, 1.0, 5),
        Array::rand_normal(&[4, 2], 0.0, 1.0, 6),
    ]
}

#[test]
fn a_relu_network_at_its_kinks_passes() {
    let r = gradcheck_scalar(
        |t, p| relu_net(t, p, None),
        &at_kinks(),
        &CheckConfig::default(),
    )
    .unwrap();
    // Every input element's stencil crosses a kink (of abs at least); W's do not (x is 0).
    assert!(r.at_kinks >= 6, "{r:?}");
    assert_eq!(r.checked, 6 + 12 + 8);
    // The same with a custom relu whose backward follows its declared branches.
    let r = gradcheck_scalar(
        |t, p| relu_net(t, p, Some(Relu { right: true })),
        &at_kinks(),
        &CheckConfig::default(),
    )
    .unwrap();
    assert!(r.at_kinks >= 6);
}

#[test]
fn a_custom_relu_with_the_wrong_tie_fails_at_its_kink() {
    let err = gradcheck_scalar(
        |t, p| relu_net(t, p, Some(Relu { right: false })),
        &at_kinks(),
        &CheckConfig::default(),
    )
    .unwrap_err();
    let op = err.localised.expect("the custom relu is found");
    assert_eq!(op.op, "custom:relu_ge");
    // At 0 it gives 1 where its declared branch (x ≤ 0) has slope 0; the stencil keeps that
    // branch on one side, whose one-sided difference is 0.
    let m = op.mismatches[0];
    assert_eq!(m.analytic.abs(), m.abs_err);
    assert!(m.numeric.abs() < 1e-9);
    assert!(matches!(m.kink, Some(Side::Left | Side::Right)));
}

#[test]
fn a_kink_the_op_check_sees_one_sided() {
    // max(a, b) at a tie: all of g goes to a. For a the tie stays on a's side when a grows
    // (right difference, 1); for b, when b shrinks (left difference, 0).
    let tape = Tape::<f64>::new();
    let a = tape.var(1.0);
    let b = tape.var(1.0);
    let _ = a.max(b);
    let r = check_ops(&tape, &CheckConfig::default()).unwrap();
    assert_eq!((r.ops, r.checked, r.at_kinks), (1, 2, 2));
}

#[test]
fn a_correct_f32_function_passes_with_the_default_settings() {
    let x = Array::<f32>::from_vec(vec![0.3, -0.7, 1.2, 0.9, -1.4, 0.1], &[2, 3]).unwrap();
    let w = Array::<f32>::from_vec(vec![0.5, -0.2, 0.8, 0.1, -0.6, 0.4], &[3, 2]).unwrap();
    let r = gradcheck_scalar(
        |_, p| (p[0].matmul(p[1]).tanh() * p[0].matmul(p[1])).sum(),
        &[x.clone(), w.clone()],
        &CheckConfig::default(),
    )
    .unwrap();
    assert_eq!(r.checked, 12);
    // The full Jacobian too.
    gradcheck(
        |_, p| p[0].matmul(p[1]).sin(),
        &[x, w],
        &CheckConfig::default(),
    )
    .unwrap();
}

#[test]
fn an_f32_check_with_a_tiny_step_names_the_settings_to_use() {
    let x = Array::<f32>::from_vec(vec![0.3, -0.7, 1.2], &[3]).unwrap();
    let tiny = CheckConfig {
        eps: 1e-6,
        abs_tol: 1e-8,
        rel_tol: 1e-7,
    };
    let err = gradcheck_scalar(|_, p| p[0].exp().sum(), &[x], &tiny).unwrap_err();
    assert!(err.to_string().contains("use CheckConfig::f32()"), "{err}");
}

/// The function whose failing report docs/gradient-checking.md shows.
fn documented<'t>(tape: &'t Tape<f64>, x: &[Tensor<'t, f64>]) -> tape::Scalar<'t, f64> {
    let h = x[0].tanh();
    let y = tape.apply(&CubeWrong, &[h]).unwrap();
    (y + x[0].relu()).sum()
}

#[test]
fn the_report_in_the_guide_is_what_the_check_prints() {
    let x = Array::from_vec(vec![0.5, -1.0, 0.0], &[3]).unwrap();
    let err = gradcheck_scalar(documented, &[x], &CheckConfig::default()).unwrap_err();
    let printed = err.to_string();
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/gradient-checking.md"
    ))
    .unwrap();
    let marker = "<!-- printed by the_report_in_the_guide_is_what_the_check_prints -->\n```text\n";
    let start = guide.find(marker).map(|i| i + marker.len());
    let Some(start) = start else {
        panic!("no report in the guide; the check prints:\n{printed}")
    };
    let end = start + guide[start..].find("```").unwrap();
    assert_eq!(
        &guide[start..end],
        printed,
        "the guide's report; the check prints:\n{printed}"
    );
}
