//! The kernel seam: the three matrix products of a training step, per layer.
//!
//! Training code calls these through [`LayerKernel`] and never multiplies matrices itself, so a
//! kernel whose cost follows the non-zeros (a gathered, constant-fan-in layout) or a GPU kernel can
//! replace [`DenseKernel`] without touching the training loop. A kernel may hold data derived from
//! the layer's mask (index lists); [`KernelPolicy::build`] makes one per layer and must be called
//! again when masks change.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

use crate::layer::Layer;
use crate::mlp::Mlp;

/// The products of one layer's forward and backward pass.
///
/// Shapes: `x` `[batch, in]`, `z` and `gz` `[batch, out]`, `gx` `[batch, in]`, `gw` `[out, in]`,
/// `gb` `[out]`. Outputs are overwritten, not accumulated.
pub trait LayerKernel: Send + Sync {
    /// Stable name for logs and benchmark tables.
    fn name(&self) -> &'static str;

    /// `z = x Wᵀ + b`.
    fn forward(&self, layer: &Layer, x: ArrayView2<'_, f32>, z: ArrayViewMut2<'_, f32>);

    /// `gx = gz W` (gradient with respect to the layer's input).
    fn input_grad(&self, layer: &Layer, gz: ArrayView2<'_, f32>, gx: ArrayViewMut2<'_, f32>);

    /// `gw = (gzᵀ x) ⊙ mask` and `gb = Σ_batch gz`: inactive entries of `gw` are exactly zero.
    fn weight_grad(
        &self,
        layer: &Layer,
        x: ArrayView2<'_, f32>,
        gz: ArrayView2<'_, f32>,
        gw: ArrayViewMut2<'_, f32>,
        gb: ArrayViewMut1<'_, f32>,
    );
}

/// Dense products through ndarray's `matrixmultiply` backend; masked entries cost as much as
/// active ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct DenseKernel;

impl LayerKernel for DenseKernel {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn forward(&self, layer: &Layer, x: ArrayView2<'_, f32>, mut z: ArrayViewMut2<'_, f32>) {
        for mut row in z.axis_iter_mut(Axis(0)) {
            row.assign(&layer.b);
        }
        general_mat_mul(1.0, &x, &layer.w.t(), 1.0, &mut z);
    }

    fn input_grad(&self, layer: &Layer, gz: ArrayView2<'_, f32>, mut gx: ArrayViewMut2<'_, f32>) {
        general_mat_mul(1.0, &gz, &layer.w, 0.0, &mut gx);
    }

    fn weight_grad(
        &self,
        layer: &Layer,
        x: ArrayView2<'_, f32>,
        gz: ArrayView2<'_, f32>,
        mut gw: ArrayViewMut2<'_, f32>,
        mut gb: ArrayViewMut1<'_, f32>,
    ) {
        general_mat_mul(1.0, &gz.t(), &x, 0.0, &mut gw);
        Zip::from(&mut gw).and(&layer.mask).for_each(|g, &on| {
            if !on {
                *g = 0.0;
            }
        });
        gb.fill(0.0);
        for row in gz.axis_iter(Axis(0)) {
            gb += &row;
        }
    }
}

/// How to choose a kernel for each layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelPolicy {
    /// Dense products for every layer.
    #[default]
    Dense,
}

impl KernelPolicy {
    /// One kernel per layer of `mlp`.
    pub fn build(&self, mlp: &Mlp) -> Vec<Box<dyn LayerKernel>> {
        match self {
            KernelPolicy::Dense => mlp
                .layers()
                .iter()
                .map(|_| Box::new(DenseKernel) as Box<dyn LayerKernel>)
                .collect(),
        }
    }
}

/// `z = x Wᵀ + b` with the dense kernel (inference helper).
pub(crate) fn forward_layer(layer: &Layer, x: ArrayView2<'_, f32>, z: ArrayViewMut2<'_, f32>) {
    DenseKernel.forward(layer, x, z);
}

/// ReLU that propagates NaN (as PyTorch does), so a NaN input surfaces as a NaN loss instead of
/// being silently zeroed.
#[inline]
pub(crate) fn relu(v: f32) -> f32 {
    if v < 0.0 { 0.0 } else { v }
}
