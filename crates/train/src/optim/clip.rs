//! Gradient clipping by global norm: PyTorch's `torch.nn.utils.clip_grad_norm_`.

use nn::ParamGrads;
use tape::Element;

use super::check_hyper;
use crate::Result;

/// The global L2 norm of all gradients together: `‖g‖ = √(Σ_params Σ_elements g²)`,
/// summed in `f64`.
///
/// ```
/// use nn::ParamGrads;
/// use tape::Array;
/// let grads = ParamGrads::from_vec(vec![
///     ("a".to_string(), Array::from_vec(vec![3.0f32], &[1])?),
///     ("b".to_string(), Array::from_vec(vec![4.0f32], &[1])?),
/// ]);
/// assert_eq!(train::optim::grad_norm(&grads), 5.0); // √(9 + 16)
/// # Ok::<(), tape::TapeError>(())
/// ```
pub fn grad_norm<T: Element>(grads: &ParamGrads<T>) -> f64 {
    grads
        .iter()
        .flat_map(|(_, g)| g.data().iter())
        .map(|v| {
            let v = v.as_f64();
            v * v
        })
        .sum::<f64>()
        .sqrt()
}

/// Scales all gradients together so that their global norm is at most about `max_norm`, and
/// returns the norm they had: PyTorch's `clip_grad_norm_(params, max_norm)` (L2, the
/// default `norm_type=2`).
///
/// With `‖g‖` the [`grad_norm`] and `c = max_norm / (‖g‖ + 10⁻⁶)`, every gradient becomes
/// `g ← c·g` when `c < 1`, and is left as it is otherwise. (The `10⁻⁶` is PyTorch's: it keeps
/// `c` finite for zero gradients, and makes the clipped norm a hair below `max_norm`.) The
/// direction of the whole gradient is kept; only its length changes.
///
/// # Errors
/// [`TrainError::InvalidArgument`](crate::TrainError::InvalidArgument) if `max_norm` is not a
/// finite positive number; the gradients are then unchanged.
///
/// ```
/// use nn::ParamGrads;
/// use tape::Array;
/// let mut grads = ParamGrads::from_vec(vec![
///     ("w".to_string(), Array::from_vec(vec![3.0f64, 4.0], &[2])?),
/// ]);
/// let norm = train::optim::clip_grad_norm(&mut grads, 1.0)?;
/// assert_eq!(norm, 5.0);
/// // c = 1/(5 + 1e-6): [3, 4]·c ≈ [0.6, 0.8]
/// let g = grads.get("w").unwrap().data();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn clip_grad_norm<T: Element>(grads: &mut ParamGrads<T>, max_norm: f64) -> Result<f64> {
    check_hyper("clip_grad_norm", "max_norm", max_norm, |v| v > 0.0, "> 0")?;
    let norm = grad_norm(grads);
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let c = T::cast_from(coef);
        for (_, g) in grads.iter_mut() {
            g.data_mut().iter_mut().for_each(|v| *v *= c);
        }
    }
    Ok(norm)
}
