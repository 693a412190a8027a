//! Loss functions, each the mean over the batch (or over all elements) as a [`Scalar`].
//!
//! Inputs are validated first: a label out of range, a batch-size mismatch or a tensor of the
//! wrong rank is an [`NnError`] naming the function and what is wrong, never a panic deep in
//! the tape.

use std::sync::Arc;

use tape::{Array, Element, Function, Scalar, TapeError, Tensor};

use crate::activation::softplus;
use crate::{NnError, softmax};

/// Options of [`softmax_cross_entropy_with`]. Public fields; start from `Default`.
///
/// ```
/// let smoothed = nn::loss::CrossEntropy { label_smoothing: 0.1 };
/// assert_eq!(nn::loss::CrossEntropy::default().label_smoothing, 0.0);
/// # let _ = smoothed;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CrossEntropy {
    /// Label smoothing `ε ∈ [0, 1]`: the target distribution of a sample with label `y` is
    /// `(1 − ε)·onehot(y) + ε/C` over the `C` classes. 0 (the default) is plain cross-entropy.
    pub label_smoothing: f64,
}

/// Checks that `shape` is `[batch, classes]` with one in-range label per row; returns `batch`.
fn check_labels(op: &'static str, shape: &[usize], labels: &[usize]) -> Result<usize, NnError> {
    let &[batch, n_classes] = shape else {
        return Err(NnError::bad_shape(
            op,
            "a 2-D tensor [batch, classes]",
            shape,
        ));
    };
    if n_classes == 0 {
        return Err(NnError::bad_shape(op, "at least one class", shape));
    }
    if labels.len() != batch {
        return Err(NnError::BatchMismatch {
            op,
            n_labels: labels.len(),
            batch,
        });
    }
    if batch == 0 {
        return Err(NnError::invalid(
            op,
            "the batch is empty: the mean is undefined",
        ));
    }
    if let Some((row, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= n_classes) {
        return Err(NnError::LabelOutOfRange {
            op,
            label,
            row,
            n_classes,
        });
    }
    Ok(batch)
}

/// The fused softmax cross-entropy primitive: logits `[B, C]` in, the mean loss (0-d) out.
///
/// Forward, per row, with `lse = m + ln Σⱼ e^(xⱼ − m)` (`m` the row max, so nothing overflows)
/// and the target distribution `t` (one-hot, or smoothed):
/// `loss = −Σⱼ tⱼ·(xⱼ − lse) = lse − Σⱼ tⱼ·xⱼ` (as `Σⱼ tⱼ = 1`).
/// Backward: `∂loss/∂xⱼ = softmax(x)ⱼ − tⱼ`, divided by `B` for the mean.
#[derive(Clone)]
struct SoftmaxCrossEntropy {
    labels: Arc<[usize]>,
    smoothing: f64,
}

impl SoftmaxCrossEntropy {
    /// The target probability of class `class` in a row whose label is `label`.
    fn target(&self, label: usize, class: usize, n_classes: usize) -> f64 {
        let spread = self.smoothing / n_classes as f64;
        if class == label {
            1.0 - self.smoothing + spread
        } else {
            spread
        }
    }
}

/// The row max `m` and `Σⱼ e^(xⱼ − m)` of one row, in `f64`, with the terms `e^(xⱼ − m)` left
/// in `exps`.
fn max_and_sum_exp<T: Element>(row: &[T], exps: &mut Vec<f64>) -> (f64, f64) {
    let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.as_f64()));
    exps.clear();
    exps.extend(row.iter().map(|v| (v.as_f64() - m).exp()));
    (m, exps.iter().sum())
}

impl<T: Element> Function<T> for SoftmaxCrossEntropy {
    fn name(&self) -> &str {
        "softmax_cross_entropy"
    }

    fn forward(&self, inputs: &[&Array<T>]) -> Result<Array<T>, TapeError> {
        let x = inputs[0];
        let n_classes = x.shape()[1];
        let mut total = 0.0;
        let mut exps = Vec::with_capacity(n_classes);
        for (row, &label) in x.data().chunks_exact(n_classes).zip(self.labels.iter()) {
            let (m, sum_exp) = max_and_sum_exp(row, &mut exps);
            let target_dot_x: f64 = row
                .iter()
                .enumerate()
                .map(|(j, v)| self.target(label, j, n_classes) * v.as_f64())
                .sum();
            total += m + sum_exp.ln() - target_dot_x;
        }
        Ok(Array::scalar(T::cast_from(
            total / self.labels.len() as f64,
        )))
    }

    fn backward(
        &self,
        inputs: &[&Array<T>],
        _out: &Array<T>,
        grad_out: &Array<T>,
    ) -> Vec<Array<T>> {
        let x = inputs[0];
        let n_classes = x.shape()[1];
        let scale = grad_out.data()[0].as_f64() / self.labels.len() as f64;
        let mut grad = Vec::with_capacity(x.len());
        // A row's e^(xⱼ − m), computed once for both the sum and the probabilities.
        let mut exps = Vec::with_capacity(n_classes);
        for (row, &label) in x.data().chunks_exact(n_classes).zip(self.labels.iter()) {
            // softmax as e^(xⱼ − m) / Σ: exact where the shifted logits are, rather than
            // e^(xⱼ − lse), whose lse carries the rounding error of m + ln Σ.
            let (_, sum_exp) = max_and_sum_exp(row, &mut exps);
            grad.extend(exps.iter().enumerate().map(|(j, e)| {
                T::cast_from(scale * (e / sum_exp - self.target(label, j, n_classes)))
            }));
        }
        vec![
            Array::from_vec(grad, x.shape()).expect("internal error: cross-entropy gradient shape"),
        ]
    }

    fn backward_on_tape<'t>(
        &self,
        inputs: &[Tensor<'t, T>],
        _out: Tensor<'t, T>,
        grad_out: Tensor<'t, T>,
    ) -> Option<Vec<Tensor<'t, T>>> {
        // The same rule as `backward`, recorded with tape ops: g·(softmax(x) − t)/B.
        let x = inputs[0];
        let shape = x.shape();
        let (batch, n_classes) = (shape[0], shape[1]);
        let target: Vec<T> = self
            .labels
            .iter()
            .flat_map(|&label| {
                (0..n_classes).map(move |j| T::cast_from(self.target(label, j, n_classes)))
            })
            .collect();
        let target = Array::from_vec(target, &shape).expect("internal error: target shape");
        let diff = softmax(x, 1) - x.tape().tensor_constant(target);
        Some(vec![diff * (grad_out * T::cast_from(1.0 / batch as f64))])
    }
}

/// Softmax cross-entropy from logits `[B, C]` and integer labels, the mean over the batch:
/// `−(1/B)·Σᵣ log softmax(xᵣ)[yᵣ]`. Gradient `(softmax(x) − onehot(y))/B`.
///
/// One fused primitive: the forward works row by row with the max subtracted, so logits of any
/// finite size give a finite loss, and the backward is the closed form above, with no
/// intermediate softmax or log kept on the tape. The backward can also be recorded
/// (`Scalar::backward_graph`), so the loss can be differentiated twice. Same as
/// [`softmax_cross_entropy_with`] with the default [`CrossEntropy`].
///
/// # Errors
/// [`NnError::BadShape`] unless the logits are 2-D with at least one class;
/// [`NnError::BatchMismatch`] unless there is one label per row;
/// [`NnError::LabelOutOfRange`] for a label `≥ C`; [`NnError::InvalidArgument`] for an empty
/// batch.
///
/// ```
/// use nn::loss::softmax_cross_entropy;
/// let tape = tape::Tape::<f64>::new();
/// let logits = tape.tensor_from_vec(vec![0.0, 0.0, 5.0, 5.0], &[2, 2]).unwrap();
/// let loss = softmax_cross_entropy(logits, &[0, 1]).unwrap();
/// // Both rows are uniform over two classes: loss = ln 2.
/// assert!((loss.value() - 2f64.ln()).abs() < 1e-15);
/// // (softmax − onehot)/B = ([0.5, 0.5] − [1, 0])/2 for row 0, and so on.
/// let g = loss.backward();
/// let expected = [-0.25, 0.25, 0.25, -0.25];
/// assert!(g.wrt(logits).data().iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-15));
/// ```
#[track_caller]
pub fn softmax_cross_entropy<'t, T: Element>(
    logits: Tensor<'t, T>,
    labels: &[usize],
) -> Result<Scalar<'t, T>, NnError> {
    softmax_cross_entropy_with(logits, labels, &CrossEntropy::default())
}

/// [`softmax_cross_entropy`] with options (label smoothing).
///
/// With smoothing `ε` the target distribution of row `r` is `t = (1 − ε)·onehot(yᵣ) + ε/C`, the
/// loss is `−(1/B)·Σᵣ Σⱼ tⱼ·log softmax(xᵣ)ⱼ`, and the gradient `(softmax(x) − t)/B`.
///
/// # Errors
/// Those of [`softmax_cross_entropy`], and [`NnError::InvalidArgument`] if the smoothing is
/// not in `[0, 1]`.
///
/// ```
/// use nn::loss::{softmax_cross_entropy_with, CrossEntropy};
/// let tape = tape::Tape::<f64>::new();
/// let logits = tape.zeros(&[1, 4]);
/// let config = CrossEntropy { label_smoothing: 0.4 };
/// let loss = softmax_cross_entropy_with(logits, &[2], &config).unwrap();
/// // Uniform softmax: loss = ln 4 whatever the targets.
/// assert!((loss.value() - 4f64.ln()).abs() < 1e-15);
/// // t = 0.6·onehot + 0.1 = [0.1, 0.1, 0.7, 0.1]; gradient 0.25 − t.
/// let g = loss.backward();
/// let expected = [0.15, 0.15, -0.45, 0.15];
/// assert!(g.wrt(logits).data().iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-15));
/// ```
#[track_caller]
pub fn softmax_cross_entropy_with<'t, T: Element>(
    logits: Tensor<'t, T>,
    labels: &[usize],
    config: &CrossEntropy,
) -> Result<Scalar<'t, T>, NnError> {
    const OP: &str = "softmax_cross_entropy";
    check_labels(OP, &logits.shape(), labels)?;
    let smoothing = config.label_smoothing;
    if !(0.0..=1.0).contains(&smoothing) {
        return Err(NnError::invalid(
            OP,
            format!("label smoothing {smoothing} is not in [0, 1]"),
        ));
    }
    let f = SoftmaxCrossEntropy {
        labels: Arc::from(labels),
        smoothing,
    };
    Ok(logits.tape().apply(&f, &[logits])?.item())
}

/// Negative log-likelihood from log-probabilities `[B, C]` (e.g. from
/// [`log_softmax`](crate::log_softmax)) and integer labels, the mean over the batch:
/// `−(1/B)·Σᵣ log_probs[r, yᵣ]`. Gradient `−1/B` at each label's position, 0 elsewhere.
///
/// # Errors
/// As [`softmax_cross_entropy`].
///
/// ```
/// use nn::loss::nll_loss;
/// let tape = tape::Tape::<f64>::new();
/// let lp = tape.tensor_from_vec(vec![-1.0, -2.0, -3.0, -4.0], &[2, 2]).unwrap();
/// let loss = nll_loss(lp, &[1, 0]).unwrap();
/// assert_eq!(loss.value(), 2.5); // (2 + 3)/2
/// assert_eq!(loss.backward().wrt(lp).data(), &[0.0, -0.5, -0.5, 0.0]);
/// ```
#[track_caller]
pub fn nll_loss<'t, T: Element>(
    log_probs: Tensor<'t, T>,
    labels: &[usize],
) -> Result<Scalar<'t, T>, NnError> {
    let batch = check_labels("nll_loss", &log_probs.shape(), labels)?;
    let picked = log_probs.try_gather(labels)?;
    Ok(picked.sum() * T::cast_from(-1.0 / batch as f64))
}

/// Checks that two tensors have the same, non-empty shape.
fn check_same_shape<T: Element>(
    op: &'static str,
    what: &'static str,
    a: Tensor<'_, T>,
    b: Tensor<'_, T>,
) -> Result<(), NnError> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa != sb {
        return Err(NnError::mismatch(op, what, &sa, &sb));
    }
    if a.is_empty() {
        return Err(NnError::invalid(
            op,
            "the input is empty: the mean is undefined",
        ));
    }
    Ok(())
}

/// Mean squared error `mean((pred − target)²)`; gradient `2(pred − target)/n` for `pred` (and
/// its negative for `target`, which may also be a tensor input).
///
/// The shapes must be equal: unlike an arithmetic op, a loss does not broadcast, because a
/// target of shape `[B]` against predictions `[B, 1]` would silently broadcast to `[B, B]`.
///
/// # Errors
/// [`NnError::ShapeMismatch`] if the shapes differ; [`NnError::InvalidArgument`] if empty.
///
/// ```
/// use nn::loss::mse_loss;
/// let tape = tape::Tape::<f64>::new();
/// let pred = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let target = tape.tensor_constant(tape::Array::from_vec(vec![0.0, 4.0], &[2]).unwrap());
/// let loss = mse_loss(pred, target).unwrap();
/// assert_eq!(loss.value(), 2.5); // (1 + 4)/2
/// assert_eq!(loss.backward().wrt(pred).data(), &[1.0, -2.0]);
/// assert!(mse_loss(pred, tape.zeros(&[2, 1])).is_err());
/// ```
#[track_caller]
pub fn mse_loss<'t, T: Element>(
    pred: Tensor<'t, T>,
    target: Tensor<'t, T>,
) -> Result<Scalar<'t, T>, NnError> {
    check_same_shape(
        "mse_loss",
        "prediction and target shapes differ",
        pred,
        target,
    )?;
    Ok((pred - target).powi(2).mean())
}

/// Binary cross-entropy from logits `z` and targets `y ∈ [0, 1]` (soft targets allowed), the
/// mean over all elements of `−y·ln σ(z) − (1 − y)·ln(1 − σ(z))`. Gradient `(σ(z) − y)/n`
/// for `z`.
///
/// Computed in the stable form `max(z, 0) − z·y + ln(1 + e^(−|z|))`, i.e.
/// [`softplus`]`(z) − z·y`: finite for logits of any size, with
/// the exact gradient `σ(0) − y` at `z = 0` (where zero-initialised models start).
///
/// # Errors
/// [`NnError::ShapeMismatch`] if the shapes differ; [`NnError::InvalidArgument`] if empty.
///
/// ```
/// use nn::loss::bce_with_logits;
/// let tape = tape::Tape::<f64>::new();
/// let z = tape.tensor_from_vec(vec![0.0, 1e4], &[2]).unwrap();
/// let y = tape.tensor_constant(tape::Array::from_vec(vec![1.0, 0.0], &[2]).unwrap());
/// let loss = bce_with_logits(z, y).unwrap();
/// // ln 2 for the first element, 1e4 for the second (confidently wrong), halved.
/// assert!((loss.value() - (2f64.ln() + 1e4) / 2.0).abs() < 1e-12);
/// // (σ(z) − y)/2 = ((0.5 − 1)/2, (1 − 0)/2)
/// assert_eq!(loss.backward().wrt(z).data(), &[-0.25, 0.5]);
/// ```
#[track_caller]
pub fn bce_with_logits<'t, T: Element>(
    logits: Tensor<'t, T>,
    targets: Tensor<'t, T>,
) -> Result<Scalar<'t, T>, NnError> {
    check_same_shape(
        "bce_with_logits",
        "logit and target shapes differ",
        logits,
        targets,
    )?;
    Ok((softplus(logits) - logits * targets).mean())
}
