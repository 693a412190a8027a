//! Gradient checks of a model's parameters, reported by parameter name.
//!
//! [`check_model`] perturbs every parameter of a [`Model`] (or, for large models, random
//! directions along each parameter) and compares the loss's finite differences with the
//! gradient backward gives. A failing entry is named as the checkpoint names it —
//! `layers.1.weight[3, 7]` — and, as every check of `tape::check` does, the error names the
//! first op on the tape whose backward is wrong, with the source line that recorded it.

// The error is tape's `GradCheckError`, returned once per check (see `tape::check`).
#![allow(clippy::result_large_err)]

use tape::check::{CheckConfig, GradCheckError, Mode, Report, gradcheck_named};
use tape::{Element, Scalar, Tape};

use crate::{BoundModel, Model};

/// Checks the gradient of `loss` with respect to every parameter of `model`.
///
/// `loss` runs the bound model on the tape it is given and returns a scalar; it is called
/// once per evaluation, on a copy of the model whose parameters are moved. With
/// [`Mode::Full`] every parameter element is compared (two evaluations each); with
/// [`Mode::Directions`], `per_input` random directions along each parameter tensor.
///
/// # Errors
/// [`GradCheckError`] whose entries are named `name[i, j]` (or `name, direction d`).
///
/// # Panics
/// If `loss` panics or backward fails.
///
/// ```
/// use nn::{check::check_model, Activation, BoundModel, Mlp};
/// use tape::check::{CheckConfig, Mode};
/// use tape::Array;
///
/// let model = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, 0).unwrap();
/// let x = Array::rand_normal(&[5, 3], 0.0, 1.0, 1);
/// let report = check_model(&model, |tape, m| {
///     m.forward(tape.tensor_constant(x.clone())).powi(2).mean()
/// }, &CheckConfig::default(), Mode::Full).unwrap();
/// assert_eq!(report.checked, 3 * 4 + 4 + 4 * 2 + 2);
/// ```
pub fn check_model<T, M, F>(
    model: &M,
    loss: F,
    config: &CheckConfig,
    mode: Mode,
) -> Result<Report, GradCheckError>
where
    T: Element,
    M: Model<T> + Clone,
    F: for<'t> Fn(&'t Tape<T>, &M::Bound<'t>) -> Scalar<'t, T>,
{
    let mut names = Vec::new();
    let mut params = Vec::new();
    model.visit_params(&mut |name, p| {
        names.push(name.to_string());
        params.push(p.clone());
    });
    gradcheck_named(
        |tape, values| {
            let mut moved = model.clone();
            let mut k = 0;
            moved.visit_params_mut(&mut |_, p| {
                *p = values[k].clone();
                k += 1;
            });
            let bound = moved.bind(tape);
            let out = loss(tape, &bound);
            let mut handles = Vec::new();
            bound.visit_handles(&mut |_, t| handles.push(t));
            (out, handles)
        },
        &params,
        &names,
        config,
        mode,
    )
}
