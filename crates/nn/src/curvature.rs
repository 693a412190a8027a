//! Second order over a whole model: Hessian-vector products, the dense Hessian and
//! Gauss–Newton-vector products with respect to every parameter, by name.
//!
//! `tape::higher` differentiates functions of one tensor; a model has several weight tensors.
//! These functions bind the model onto a tape themselves, so the parameters need no packing
//! by hand: a direction is a [`StateDict`] with the model's names and shapes, and so is the
//! result. Each also returns the loss's value at the model's parameters.
//!
//! All of them go through the recorded backward pass ([`Scalar::backward_graph`]), so every
//! op of the loss must be differentiable twice: tape ops are, and so are the fused
//! cross-entropy and the error function of this crate.
//!
//! ```
//! use nn::curvature::hvp;
//! use nn::loss::mse_loss;
//! use nn::{BoundModel, Init, Linear, Model};
//! use tape::Array;
//!
//! // L(w) = mean((w·x − y)²) over x = [1, 2]: a quadratic with Hessian 2·mean(x²) = 5.
//! let model = Linear::<f64>::without_bias(1, 1, Init::Zeros, 0);
//! let x = Array::from_vec(vec![1.0, 2.0], &[2, 1])?;
//! let y = Array::from_vec(vec![1.0, 1.0], &[2, 1])?;
//! let direction = model.state_dict(); // any map with the model's names and shapes
//! let mut direction = direction;
//! direction.get_mut("weight").unwrap().data_mut()[0] = 1.0;
//! let (loss, hv) = hvp(&model, |tape, m| {
//!     let pred = m.try_forward(tape.tensor_constant(x.clone()))?;
//!     mse_loss(pred, tape.tensor_constant(y.clone()))
//! }, &direction)?;
//! assert_eq!(loss, 1.0);                              // w = 0: mean(1, 1)
//! assert_eq!(hv.get("weight").unwrap().data(), &[5.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use tape::{Array, Element, Scalar, Tape, Tensor};

use crate::{BoundModel, Model, NnError, StateDict};

/// Checks that `v` has exactly the parameters' names, each with its parameter's shape.
fn check_direction<T: Element>(
    op: &'static str,
    params: &[(String, Tensor<'_, T>)],
    v: &StateDict<T>,
) -> Result<(), NnError> {
    for (name, p) in params {
        let shape = p.shape();
        match v.get(name) {
            None => {
                return Err(NnError::Parameter {
                    op,
                    name: name.clone(),
                    message: format!("missing from the direction (the parameter is {shape:?})"),
                });
            }
            Some(d) if d.shape() != shape => {
                return Err(NnError::Parameter {
                    op,
                    name: name.clone(),
                    message: format!(
                        "shape {:?} in the direction, but the parameter's is {shape:?}",
                        d.shape()
                    ),
                });
            }
            Some(_) => {}
        }
    }
    if let Some((extra, _)) = v.iter().find(|(n, _)| !params.iter().any(|(p, _)| p == n)) {
        return Err(NnError::Parameter {
            op,
            name: extra.to_string(),
            message: "in the direction but not a parameter of the model".into(),
        });
    }
    Ok(())
}

/// `Σ_p ⟨a_p, v_p⟩` over the parameters, recorded; `None` if no term is on a tape (the sum
/// does not depend on anything).
fn dot_with<'t, T: Element>(
    terms: impl Iterator<Item = (Tensor<'t, T>, &'t Tape<T>, Array<T>)>,
) -> Option<Scalar<'t, T>> {
    let mut total: Option<Scalar<'t, T>> = None;
    for (a, tape, v) in terms {
        let term = (a * tape.tensor_constant(v)).sum();
        total = Some(match total {
            None => term,
            Some(s) => s + term,
        });
    }
    total.filter(|s| s.tape().is_some())
}

/// The loss at the model's parameters and the Hessian-vector product `∇²L·v` with respect to
/// all of them: PyTorch's `torch.autograd.functional.hvp(loss_of_params, params, v)`.
///
/// `loss(tape, bound)` computes the loss from the model bound onto `tape`. The product is
/// reverse over reverse: the gradient is recorded ([`Scalar::backward_graph`]) and
/// `⟨∇L, v⟩` differentiated once more, about three backward passes whatever the model's size.
///
/// # Errors
/// [`NnError::Parameter`] if `v` lacks a parameter, has it with another shape (both named),
/// or has an entry that is not a parameter; the errors of `loss`, and of the tape (a custom
/// function with no recorded backward on the loss's path).
///
/// (See the [module](self) for an example.)
pub fn hvp<T, M, F>(model: &M, loss: F, v: &StateDict<T>) -> Result<(T, StateDict<T>), NnError>
where
    T: Element,
    M: Model<T>,
    F: for<'t> Fn(&'t Tape<T>, &M::Bound<'t>) -> Result<Scalar<'t, T>, NnError>,
{
    const OP: &str = "curvature::hvp";
    let tape = Tape::new();
    let bound = model.bind(&tape);
    let params = bound.params();
    check_direction(OP, &params, v)?;
    let l = loss(&tape, &bound)?;
    let value = l.value();
    let g = l.backward_graph()?;
    let dot = dot_with(params.iter().map(|(name, p)| {
        let d = v.get(name).expect("checked above").clone();
        (g.wrt(*p), &tape, d)
    }));
    let mut out = StateDict::new();
    match dot {
        Some(dot) => {
            let mut hv = dot.try_backward()?;
            for (name, p) in &params {
                out.insert(name.clone(), hv.take(*p));
            }
        }
        None => {
            for (name, p) in &params {
                out.insert(name.clone(), Array::zeros(&p.shape()));
            }
        }
    }
    Ok((value, out))
}

/// The loss at the model's parameters and its full Hessian with respect to all of them, as an
/// `[n, n]` array for `n` = [`Model::num_params`]: for small models.
///
/// Rows and columns follow the parameters laid end to end in visit order, each row-major —
/// the order of [`StateDict::flatten`] of [`Model::state_dict`]: entry `(i, j)` is
/// `∂²L/∂θᵢ∂θⱼ` for `θ` that flat vector. The gradient is recorded once and differentiated
/// `n` times.
///
/// # Errors
/// The errors of `loss`, and of the tape (a custom function with no recorded backward).
///
/// ```
/// use nn::curvature::hessian;
/// use nn::loss::mse_loss;
/// use nn::{BoundModel, Init, Linear, Model};
/// use tape::Array;
/// // ŷ = w·x + b, L = mean((ŷ − y)²) over x = [1, 3]: H = 2·mean([[x², x], [x, 1]]).
/// let model = Linear::<f64>::new(1, 1, Init::Zeros, 0);
/// let x = Array::from_vec(vec![1.0, 3.0], &[2, 1])?;
/// let (loss, h) = hessian(&model, |tape, m| {
///     let pred = m.try_forward(tape.tensor_constant(x.clone()))?;
///     mse_loss(pred, tape.zeros(&[2, 1]))
/// })?;
/// assert_eq!(loss, 0.0);
/// // mean(x²) = 5, mean(x) = 2: H = [[10, 4], [4, 2]] for θ = (weight, bias).
/// assert_eq!(h.data(), &[10.0, 4.0, 4.0, 2.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn hessian<T, M, F>(model: &M, loss: F) -> Result<(T, Array<T>), NnError>
where
    T: Element,
    M: Model<T>,
    F: for<'t> Fn(&'t Tape<T>, &M::Bound<'t>) -> Result<Scalar<'t, T>, NnError>,
{
    let tape = Tape::new();
    let bound = model.bind(&tape);
    let params = bound.params();
    let n: usize = params.iter().map(|(_, p)| p.len()).sum();
    let l = loss(&tape, &bound)?;
    let value = l.value();
    let g = l.backward_graph()?;
    let mut data = Vec::with_capacity(n * n);
    for (_, p) in &params {
        let gp = g.wrt(*p).flatten();
        for i in 0..p.len() {
            let element = gp.get(&[i]);
            if element.tape().is_none() {
                data.extend(std::iter::repeat_n(T::zero(), n));
                continue;
            }
            let row = element.try_backward()?;
            for (_, q) in &params {
                data.extend_from_slice(row.wrt(*q).data());
            }
        }
    }
    Ok((value, Array::from_vec(data, &[n, n])?))
}

/// The loss at the model's parameters and the Gauss–Newton-vector product `Jᵀ·H_L·J·v`,
/// where `J` is the Jacobian of the model's output with respect to all parameters and `H_L`
/// the Hessian of the loss with respect to the output. `G = JᵀH_LJ` is positive
/// semi-definite whenever the loss is convex in the output (squared error, cross-entropy),
/// which makes it the curvature of choice for second-order optimisers; where the model is
/// linear in its parameters it equals the Hessian.
///
/// `forward(tape, bound)` computes the model's output; `loss(tape, output)` the loss of an
/// output. Three products: `J·v` by the transpose of the transpose (a recorded vector-Jacobian
/// product differentiated with respect to its cotangent), `H_L·(J·v)` by reverse over
/// reverse on the loss alone, and `Jᵀ·(H_L·J·v)` by one backward pass.
///
/// # Errors
/// As [`hvp`], and those of `forward`.
///
/// ```
/// use nn::curvature::{gnvp, hvp};
/// use nn::loss::mse_loss;
/// use nn::{BoundModel, Init, Linear, Model};
/// use tape::Array;
/// // A linear model under squared error: the Gauss–Newton matrix is the Hessian.
/// let model = Linear::<f64>::new(2, 1, Init::XavierUniform, 3);
/// let x = Array::rand_normal(&[5, 2], 0.0, 1.0, 1);
/// let y = Array::rand_normal(&[5, 1], 0.0, 1.0, 2);
/// let mut v = model.state_dict();
/// v.iter_mut().for_each(|(_, a)| a.data_mut().iter_mut().for_each(|e| *e = 1.0));
/// let (l1, gv) = gnvp(
///     &model,
///     |tape, m| m.try_forward(tape.tensor_constant(x.clone())),
///     |tape, out| mse_loss(out, tape.tensor_constant(y.clone())),
///     &v,
/// )?;
/// let (l2, hv) = hvp(&model, |tape, m| {
///     mse_loss(m.try_forward(tape.tensor_constant(x.clone()))?, tape.tensor_constant(y.clone()))
/// }, &v)?;
/// assert_eq!(l1, l2);
/// for ((_, a), (_, b)) in gv.iter().zip(hv.iter()) {
///     assert!(a.data().iter().zip(b.data()).all(|(a, b)| (a - b).abs() < 1e-12));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn gnvp<T, M, Fo, Fl>(
    model: &M,
    forward: Fo,
    loss: Fl,
    v: &StateDict<T>,
) -> Result<(T, StateDict<T>), NnError>
where
    T: Element,
    M: Model<T>,
    Fo: for<'t> Fn(&'t Tape<T>, &M::Bound<'t>) -> Result<Tensor<'t, T>, NnError>,
    Fl: for<'t> Fn(&'t Tape<T>, Tensor<'t, T>) -> Result<Scalar<'t, T>, NnError>,
{
    const OP: &str = "curvature::gnvp";
    let tape = Tape::new();
    let bound = model.bind(&tape);
    let params = bound.params();
    check_direction(OP, &params, v)?;
    let out = forward(&tape, &bound)?;
    let out_shape = out.shape();

    // J·v = ∇ᵤ⟨Jᵀu, v⟩: Jᵀu recorded with u a variable (its value does not matter: Jᵀu is
    // linear in u).
    let u = tape.tensor(Array::zeros(&out_shape));
    let jtu = (out * u).sum().backward_graph()?;
    let jv = match dot_with(params.iter().map(|(name, p)| {
        let d = v.get(name).expect("checked above").clone();
        (jtu.wrt(*p), &tape, d)
    })) {
        Some(dot) => dot.try_backward()?.take(u),
        None => Array::zeros(&out_shape),
    };

    // H_L·(J·v): reverse over reverse on the loss of the output alone.
    let loss_tape = Tape::new();
    let o = loss_tape.tensor(out.value());
    let l = loss(&loss_tape, o)?;
    let value = l.value();
    let gl = l.backward_graph()?.wrt(o);
    let hjv = match dot_with(std::iter::once((gl, &loss_tape, jv))) {
        Some(dot) => dot.try_backward()?.take(o),
        None => Array::zeros(&out_shape),
    };

    // Jᵀ·(H_L·J·v): one vector-Jacobian product.
    let mut result = StateDict::new();
    let vjp = (out * tape.tensor_constant(hjv)).sum().try_backward()?;
    for (name, p) in &params {
        result.insert(name.clone(), vjp.wrt(*p).clone());
    }
    Ok((value, result))
}
