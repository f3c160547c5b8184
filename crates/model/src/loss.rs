//! Losses, their gradients with respect to the logits, predictions and accuracy.
//!
//! The loss follows from the targets:
//! - [`TargetsRef::Classes`]: softmax cross-entropy, mean over samples, computed with
//!   log-sum-exp so large logits never overflow.
//! - [`TargetsRef::Binary`]: BCE-with-logits, mean over samples *and* output bits (PyTorch's
//!   `BCEWithLogitsLoss` default), in the stable form `max(z,0) − z·y + log(1 + e^{−|z|})`.
//!   A sample is predicted 1 iff its logit is > 0.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Targets of a batch, borrowed.
#[derive(Clone, Copy, Debug)]
pub enum TargetsRef<'a> {
    /// `[batch]` class ids.
    Classes(ArrayView1<'a, u32>),
    /// `[batch, C]` 0/1 targets.
    Binary(ArrayView2<'a, f32>),
}

impl<'a> TargetsRef<'a> {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            TargetsRef::Classes(y) => y.len(),
            TargetsRef::Binary(y) => y.nrows(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows `start..end`.
    pub fn slice(&self, start: usize, end: usize) -> TargetsRef<'a> {
        match *self {
            TargetsRef::Classes(y) => TargetsRef::Classes(y.slice_move(ndarray::s![start..end])),
            TargetsRef::Binary(y) => TargetsRef::Binary(y.slice_move(ndarray::s![start..end, ..])),
        }
    }

    /// Checks the targets against a model with `d_out` outputs.
    ///
    /// # Errors
    /// [`Error::Targets`] for a class id ≥ `d_out`, a binary target that is not 0/1, or a binary
    /// width different from `d_out`.
    pub fn validate(&self, d_out: usize) -> Result<()> {
        match self {
            TargetsRef::Classes(y) => {
                if let Some((i, &c)) = y.indexed_iter().find(|(_, c)| **c as usize >= d_out) {
                    return Err(Error::Targets(format!(
                        "label {c} at row {i} is out of range for {d_out} classes"
                    )));
                }
            }
            TargetsRef::Binary(y) => {
                if y.ncols() != d_out {
                    return Err(Error::Targets(format!(
                        "{} target columns for a model with {d_out} outputs",
                        y.ncols()
                    )));
                }
                if let Some(((r, c), &v)) = y.indexed_iter().find(|(_, v)| **v != 0.0 && **v != 1.0)
                {
                    return Err(Error::Targets(format!(
                        "binary target {v} at row {r}, column {c} is not 0 or 1"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Sum (not mean) of the per-sample losses of `logits` and writes `∂(sum)/∂logits · scale` into
/// `grad`. Callers pass `scale = 1/normaliser` so that chunk sums add up to the batch mean.
///
/// # Shapes
/// `logits`, `grad`: `[batch, C]`.
pub(crate) fn loss_sum_and_grad(
    logits: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
    scale: f32,
    grad: ArrayViewMut2<'_, f32>,
) -> f64 {
    loss_sum_and_grad_if(logits, y, scale, grad, true)
}

/// [`loss_sum_and_grad`], where `want_loss = false` skips the BCE loss terms (their `ln_1p` was
/// 10 % of an E1 step) and returns `0.0`, or NaN if a logit is not finite (where the loss would
/// not be). The gradient is the same either way.
pub(crate) fn loss_sum_and_grad_if(
    logits: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
    scale: f32,
    mut grad: ArrayViewMut2<'_, f32>,
    want_loss: bool,
) -> f64 {
    match y {
        TargetsRef::Classes(labels) => {
            let mut total = 0.0f64;
            for ((z, mut g), &c) in logits
                .axis_iter(Axis(0))
                .zip(grad.axis_iter_mut(Axis(0)))
                .zip(labels)
            {
                let max = z.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
                let lse = max + sum.ln();
                total += f64::from(lse - z[c as usize]);
                Zip::from(&mut g)
                    .and(&z)
                    .for_each(|g, &v| *g = (v - lse).exp() * scale);
                g[c as usize] -= scale;
            }
            total
        }
        TargetsRef::Binary(t) if !want_loss => {
            let mut finite = true;
            Zip::from(&mut grad)
                .and(&logits)
                .and(&t)
                .for_each(|g, &z, &y| {
                    finite &= z.is_finite();
                    *g = (sigmoid_from(z, (-z.abs()).exp()) - y) * scale;
                });
            if finite { 0.0 } else { f64::NAN }
        }
        TargetsRef::Binary(t) => {
            let mut total = 0.0f64;
            Zip::from(&mut grad)
                .and(&logits)
                .and(&t)
                .for_each(|g, &z, &y| {
                    // exp(−|z|) serves both the loss term and the sigmoid (`sigmoid` computes
                    // exactly this value inside), so each logit costs one `exp`.
                    let e = (-z.abs()).exp();
                    total += f64::from(z.max(0.0) - z * y + e.ln_1p());
                    *g = (sigmoid_from(z, e) - y) * scale;
                });
            total
        }
    }
}

/// Number of terms the loss is averaged over: samples for softmax, samples × bits for BCE.
pub(crate) fn loss_terms(y: TargetsRef<'_>) -> usize {
    match y {
        TargetsRef::Classes(l) => l.len(),
        TargetsRef::Binary(t) => t.len(),
    }
}

/// `sigmoid(z)` given `e = exp(−|z|)`: `1/(1+e)` for `z ≥ 0`, `e/(1+e)` below (the two forms
/// that never overflow).
fn sigmoid_from(z: f32, e: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// Mean loss of `logits` against `y` (see the module docs for which loss).
///
/// # Shapes
/// `logits`: `[batch, d_out]`; `y`: `[batch]` class ids or `[batch, d_out]` 0/1 targets.
///
/// # Panics
/// If the batch sizes differ.
pub fn loss(logits: ArrayView2<'_, f32>, y: TargetsRef<'_>) -> f64 {
    assert_eq!(
        logits.nrows(),
        y.len(),
        "loss: logits and targets have different batch sizes"
    );
    let mut scratch = Array2::<f32>::zeros(logits.dim());
    let n = loss_terms(y).max(1);
    loss_sum_and_grad(logits, y, 1.0, scratch.view_mut()) / n as f64
}

/// Predicted class per sample (argmax; the first maximum wins).
///
/// # Shapes
/// `logits`: `[batch, C]` → `[batch]`.
pub fn predict_classes(logits: ArrayView2<'_, f32>) -> Array1<u32> {
    logits
        .axis_iter(Axis(0))
        .map(|z| {
            let mut best = 0;
            for (i, &v) in z.iter().enumerate() {
                if v > z[best] {
                    best = i;
                }
            }
            best as u32
        })
        .collect()
}

/// Accuracy of a batch of predictions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Fraction of samples whose prediction is right: argmax for classes; all bits right for
    /// binary targets (exact match; for one output this is the usual accuracy).
    pub accuracy: f64,
    /// Fraction of individual output bits predicted right (binary targets; equals `accuracy`
    /// for class targets).
    pub per_bit: f64,
}

/// Accuracy of `logits` against `y`.
///
/// # Shapes
/// `logits`: `[batch, d_out]`; `y`: `[batch]` class ids or `[batch, d_out]` 0/1 targets.
///
/// # Panics
/// If the batch sizes differ.
pub fn accuracy(logits: ArrayView2<'_, f32>, y: TargetsRef<'_>) -> Accuracy {
    assert_eq!(
        logits.nrows(),
        y.len(),
        "accuracy: logits and targets have different batch sizes"
    );
    let n = y.len().max(1) as f64;
    match y {
        TargetsRef::Classes(labels) => {
            let pred = predict_classes(logits);
            let right = pred.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / n;
            Accuracy {
                accuracy: right,
                per_bit: right,
            }
        }
        TargetsRef::Binary(t) => {
            let mut exact = 0usize;
            let mut bits = 0usize;
            for (z, y) in logits.axis_iter(Axis(0)).zip(t.axis_iter(Axis(0))) {
                let ok = z
                    .iter()
                    .zip(y)
                    .filter(|&(&z, &y)| (z > 0.0) == (y > 0.5))
                    .count();
                bits += ok;
                exact += usize::from(ok == z.len());
            }
            Accuracy {
                accuracy: exact as f64 / n,
                per_bit: bits as f64 / (t.len().max(1) as f64),
            }
        }
    }
}
