//! End to end: small networks trained by full-batch gradient descent (Adam, written here) reach
//! fixed bounds from fixed seeds.

use nn::loss::{bce_with_logits, mse_loss};
use nn::{Activation, BoundModel, Mlp, Model, ParamGrads};
use tape::{Array, Tape};

/// Adam (Kingma & Ba, 2015) with the usual defaults, state kept per parameter in visit order.
struct Adam {
    lr: f64,
    step: i32,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
}

impl Adam {
    fn new(lr: f64) -> Self {
        Adam {
            lr,
            step: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    fn update(&mut self, model: &mut Mlp<f64>, grads: &ParamGrads<f64>) {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        self.step += 1;
        let (c1, c2) = (1.0 - b1.powi(self.step), 1.0 - b2.powi(self.step));
        let (lr, ms, vs) = (self.lr, &mut self.m, &mut self.v);
        let mut k = 0;
        model
            .update_params(grads, &mut |_, p, g| {
                if ms.len() <= k {
                    ms.push(vec![0.0; p.len()]);
                    vs.push(vec![0.0; p.len()]);
                }
                for (((p, g), m), v) in p
                    .data_mut()
                    .iter_mut()
                    .zip(g.data())
                    .zip(&mut ms[k])
                    .zip(&mut vs[k])
                {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                }
                k += 1;
            })
            .unwrap();
    }
}

#[test]
fn xor_2_2_1() {
    let x = Array::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]).unwrap();
    let y = Array::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4, 1]).unwrap();
    let mut model = Mlp::<f64>::new(&[2, 2, 1], Activation::Tanh, 7).unwrap();
    let mut adam = Adam::new(0.05);
    let mut tape = Tape::new();
    let mut loss_value = f64::INFINITY;
    for _ in 0..1500 {
        let bound = model.bind(&tape);
        let logits = bound.forward(tape.tensor_constant(x.clone()));
        let loss = bce_with_logits(logits, tape.tensor_constant(y.clone())).unwrap();
        loss_value = loss.value();
        let mut grads = loss.backward();
        let grads = bound.take_grads(&mut grads);
        adam.update(&mut model, &grads);
        tape.clear();
    }
    assert!(loss_value < 0.02, "loss {loss_value}");
    let probs = model
        .bind(&tape)
        .forward(tape.tensor_constant(x))
        .sigmoid()
        .to_vec();
    for (p, t) in probs.iter().zip(y.data()) {
        assert_eq!(*p > 0.5, *t > 0.5, "outputs {probs:?}");
    }
}

#[test]
fn tanh_mlp_fits_sine() {
    let n = 64;
    let xs: Vec<f64> = (0..n)
        .map(|i| -std::f64::consts::PI + 2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64)
        .collect();
    let x = Array::from_vec(xs.clone(), &[n, 1]).unwrap();
    let y = Array::from_vec(xs.iter().map(|v| v.sin()).collect(), &[n, 1]).unwrap();
    let mut model = Mlp::<f64>::new(&[1, 16, 1], Activation::Tanh, 1).unwrap();
    let mut adam = Adam::new(0.02);
    let mut tape = Tape::new();
    let mut mse = f64::INFINITY;
    for _ in 0..3000 {
        let bound = model.bind(&tape);
        let pred = bound.forward(tape.tensor_constant(x.clone()));
        let loss = mse_loss(pred, tape.tensor_constant(y.clone())).unwrap();
        mse = loss.value();
        if mse < 1e-4 {
            break;
        }
        let mut grads = loss.backward();
        let grads = bound.take_grads(&mut grads);
        adam.update(&mut model, &grads);
        tape.clear();
    }
    assert!(mse < 1e-3, "mse {mse}");
}
