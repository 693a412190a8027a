//! The scalar forms of the activations: gradients and second derivatives against central
//! differences through `tape::check`, and values and gradients equal to the tensor forms'.

use nn::Activation;
use tape::check::{CheckConfig, gradcheck_scalars};
use tape::{Array, Tape};

/// Every activation with a derivative, with parameters (`Identity` needs no check).
const ALL: [Activation; 10] = [
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

/// Points away from the kink at 0 (central differences straddle it there), both signs,
/// small and large.
const POINTS: [f64; 8] = [-6.0, -2.3, -0.7, -0.05, 0.05, 0.9, 2.4, 7.0];

#[test]
fn scalar_gradients_match_central_differences() {
    for act in ALL {
        for x in POINTS {
            let report =
                gradcheck_scalars(|_, v| act.apply_scalar(v[0]), &[x], &CheckConfig::default())
                    .unwrap_or_else(|e| panic!("{act:?} at {x}: {e}"));
            assert_eq!(report.checked, 1);
        }
    }
}

#[test]
fn scalar_second_derivatives_match_central_differences_of_the_first() {
    // The recorded gradient (backward_graph), differentiated again, against central
    // differences of the first derivative: (f'(x + h) − f'(x − h))/2h. The first derivative
    // there comes from the tape's first-order sweep, itself checked above.
    let first = |act: Activation, x: f64| {
        let tape = Tape::<f64>::new();
        let v = tape.var(x);
        act.apply_scalar(v).backward().wrt(v)
    };
    let h = 1e-5;
    for act in ALL {
        for x in POINTS {
            let tape = Tape::<f64>::new();
            let v = tape.var(x);
            let grads = act.apply_scalar(v).backward_graph().unwrap();
            let second = grads.wrt(v).backward().wrt(v);
            let numeric = (first(act, x + h) - first(act, x - h)) / (2.0 * h);
            assert!(
                (second - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
                "{act:?} at {x}: recorded {second}, differences {numeric}"
            );
        }
    }
}

#[test]
fn scalar_and_tensor_forms_agree_bit_for_bit() {
    // Including the kinks: 0 itself, where each form must take the same convention.
    let xs = [-1e4, -6.0, -1.0, -0.0, 0.0, 0.3, 1.0, 50.0, 1e4];
    for act in ALL {
        let tape = Tape::<f64>::new();
        let t = tape.tensor(Array::from_vec(xs.to_vec(), &[xs.len()]).unwrap());
        let out = act.apply(t);
        let tensor_values = out.to_vec();
        let tensor_grads = out.sum().backward().wrt(t).data().to_vec();
        for (i, &x) in xs.iter().enumerate() {
            let tape = Tape::<f64>::new();
            let v = tape.var(x);
            let y = act.apply_scalar(v);
            let g = y.backward().wrt(v);
            assert_eq!(
                y.value().to_bits(),
                tensor_values[i].to_bits(),
                "{act:?} value at {x}"
            );
            assert_eq!(
                g.to_bits(),
                tensor_grads[i].to_bits(),
                "{act:?} gradient at {x}"
            );
        }
    }
}

#[test]
fn scalar_forms_work_in_f32_and_on_constants() {
    for act in ALL {
        let tape = Tape::<f32>::new();
        let v = tape.var(0.5f32);
        let y = act.apply_scalar(v);
        let expected = act.apply(tape.tensor(Array::from_vec(vec![0.5f32], &[1]).unwrap()));
        assert_eq!(y.value(), expected.to_vec()[0], "{act:?}");
        // A constant (on no tape) gives a constant with the same value.
        let c = act.apply_scalar(tape::Scalar::<f64>::constant(0.5));
        assert!(c.tape().is_none(), "{act:?}");
        let tape64 = Tape::<f64>::new();
        assert_eq!(
            c.value(),
            act.apply_scalar(tape64.var(0.5)).value(),
            "{act:?}"
        );
    }
}
