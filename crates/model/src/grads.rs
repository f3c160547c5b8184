//! Gradients of a model's parameters ([`Grads`]), as backprop writes them and optimisers read them.

use ndarray::{Array1, Array2};

use crate::mlp::Mlp;

/// Gradients of the mean loss with respect to every weight and bias, one entry per trainable
/// layer in [`Mlp::trainable`] order (head layers, then backbone layers).
///
/// Inactive weights have exactly zero gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    /// `[out, in]` weight gradient per layer.
    pub w: Vec<Array2<f32>>,
    /// `[out]` bias gradient per layer.
    pub b: Vec<Array1<f32>>,
}

impl Grads {
    /// Zero gradients shaped like `mlp`.
    pub fn zeros_like(mlp: &Mlp) -> Self {
        Grads {
            w: mlp
                .trainable()
                .map(|l| Array2::zeros(l.weight().dim()))
                .collect(),
            b: mlp.trainable().map(|l| Array1::zeros(l.d_out())).collect(),
        }
    }

    pub(crate) fn matches(&self, mlp: &Mlp) -> bool {
        self.w.len() == mlp.n_trainable()
            && self
                .w
                .iter()
                .zip(mlp.trainable())
                .all(|(g, l)| g.dim() == l.weight().dim())
    }
}
