//! Second order over a whole model (`nn::curvature`), against the same quantities computed
//! the long way: the parameters packed by hand into one flat vector, a function of that
//! vector, and `tape::higher`'s Hessian and Jacobian of it.

use nn::curvature::{gnvp, hessian, hvp};
use nn::loss::softmax_cross_entropy;
use nn::{Activation, BoundLinear, BoundMlp, BoundModel, Mlp, Model, NnError, StateDict};
use tape::{Array, Tape, Tensor};

const LABELS: [usize; 4] = [0, 2, 1, 2];

fn model() -> Mlp<f64> {
    Mlp::new(&[2, 3, 3], Activation::Tanh, 5).unwrap()
}

fn inputs() -> Array<f64> {
    Array::rand_normal(&[4, 2], 0.0, 1.0, 9)
}

/// The model bound from slices of one flat parameter vector `theta`, in visit order
/// (`layers.0.weight` [3, 2], `layers.0.bias` [3], `layers.1.weight` [3, 3],
/// `layers.1.bias` [3]): the packing by hand that `nn::curvature` spares its users.
fn unpack<'t>(theta: Tensor<'t, f64>) -> BoundMlp<'t, f64> {
    let piece = |start: usize, shape: &[usize]| {
        let n: usize = shape.iter().product();
        theta.try_slice(0, start, start + n).unwrap().reshape(shape)
    };
    BoundMlp {
        layers: vec![
            BoundLinear {
                weight: piece(0, &[3, 2]),
                bias: Some(piece(6, &[3])),
            },
            BoundLinear {
                weight: piece(9, &[3, 3]),
                bias: Some(piece(18, &[3])),
            },
        ],
        activation: Activation::Tanh,
    }
}

fn theta() -> Array<f64> {
    let flat = model().state_dict().flatten();
    let n = flat.len();
    Array::from_vec(flat, &[n]).unwrap()
}

fn dense_hessian() -> Array<f64> {
    let x = inputs();
    tape::higher::hessian(
        |tape, t| {
            let logits = unpack(t).forward(tape.tensor_constant(x.clone()));
            softmax_cross_entropy(logits, &LABELS).unwrap()
        },
        &theta(),
    )
    .unwrap()
}

fn matvec(m: &Array<f64>, v: &[f64]) -> Vec<f64> {
    m.data()
        .chunks_exact(v.len())
        .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "element {i}: {x} vs {y}"
        );
    }
}

fn loss_of<'t>(
    tape: &'t Tape<f64>,
    m: &BoundMlp<'t, f64>,
) -> Result<tape::Scalar<'t, f64>, NnError> {
    softmax_cross_entropy(m.try_forward(tape.tensor_constant(inputs()))?, &LABELS)
}

#[test]
fn the_model_hessian_equals_the_hessian_of_the_packed_parameters() {
    let (value, h) = hessian(&model(), loss_of).unwrap();
    let dense = dense_hessian();
    assert_eq!(h.shape(), [21, 21]);
    close(h.data(), dense.data(), 1e-12);
    // Symmetric, and not trivially zero.
    for i in 0..21 {
        for j in 0..21 {
            assert!((h.data()[i * 21 + j] - h.data()[j * 21 + i]).abs() < 1e-12);
        }
    }
    assert!(h.data().iter().any(|v| v.abs() > 1e-2));
    // The value is the loss at the model's parameters.
    let tape = Tape::new();
    assert_eq!(value, loss_of(&tape, &model().bind(&tape)).unwrap().value());
}

#[test]
fn the_model_hvp_equals_the_dense_hessian_times_the_direction() {
    let m = model();
    let like = m.state_dict();
    let v_flat: Vec<f64> = (0..21).map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
    let v = like.unflatten(&v_flat).unwrap();
    let (_, hv) = hvp(&m, loss_of, &v).unwrap();
    assert_eq!(hv.names(), m.param_names());
    close(&hv.flatten(), &matvec(&dense_hessian(), &v_flat), 1e-12);
}

#[test]
fn the_model_gnvp_equals_j_transpose_h_j_from_dense_jacobians() {
    let m = model();
    let x = inputs();
    let v_flat: Vec<f64> = (0..21).map(|i| ((i * 5 % 13) as f64 - 6.0) / 6.0).collect();
    let v = m.state_dict().unflatten(&v_flat).unwrap();
    let (value, gv) = gnvp(
        &m,
        |tape, b| b.try_forward(tape.tensor_constant(x.clone())),
        |_, out| softmax_cross_entropy(out, &LABELS),
        &v,
    )
    .unwrap();

    // J: [12, 21], the logits [4, 3] by the packed parameters.
    let j = tape::higher::jacobian(
        |tape, t| unpack(t).forward(tape.tensor_constant(x.clone())).flatten(),
        &theta(),
    )
    .unwrap();
    // H_L: [12, 12], the loss's Hessian in the logits.
    let tape = Tape::new();
    let logits = model()
        .bind(&tape)
        .forward(tape.tensor_constant(x.clone()))
        .value();
    let h_l = tape::higher::hessian(
        |_, z| softmax_cross_entropy(z.reshape(&[4, 3]), &LABELS).unwrap(),
        &logits.reshaped(&[12]).unwrap(),
    )
    .unwrap();
    // Jᵀ·(H_L·(J·v)), by plain matrix-vector products.
    let jv = matvec(&j, &v_flat);
    let hjv = matvec(&h_l, &jv);
    let mut expected = vec![0.0; 21];
    for (row, &h) in j.data().chunks_exact(21).zip(&hjv) {
        for (e, &jr) in expected.iter_mut().zip(row) {
            *e += jr * h;
        }
    }
    close(&gv.flatten(), &expected, 1e-12);
    let tape = Tape::new();
    assert_eq!(value, loss_of(&tape, &model().bind(&tape)).unwrap().value());

    // The Gauss–Newton matrix of a convex loss is positive semi-definite: vᵀGv ≥ 0.
    let vgv: f64 = gv.flatten().iter().zip(&v_flat).map(|(a, b)| a * b).sum();
    assert!(vgv >= 0.0, "vᵀGv = {vgv}");
}

#[test]
fn a_direction_that_does_not_fit_is_named() {
    let m = model();
    let mut v = m.state_dict();
    v.insert("layers.1.bias", Array::zeros(&[4]));
    let err = hvp(&m, loss_of, &v).unwrap_err().to_string();
    assert_eq!(
        err,
        "curvature::hvp: parameter `layers.1.bias`: shape [4] in the direction, but the parameter's is [3]"
    );
    let mut v = m.state_dict();
    v.remove("layers.0.weight");
    let err = hvp(&m, loss_of, &v).unwrap_err().to_string();
    assert!(
        err.contains("`layers.0.weight`: missing from the direction"),
        "{err}"
    );
    let mut v: StateDict<f64> = m.state_dict();
    v.insert("extra", Array::zeros(&[1]));
    let err = hvp(&m, loss_of, &v).unwrap_err().to_string();
    assert!(
        err.contains("`extra`: in the direction but not a parameter"),
        "{err}"
    );
}
