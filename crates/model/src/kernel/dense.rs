//! [`DenseKernel`]: the three products as dense matrix multiplications (matrixmultiply), the mask
//! applied afterwards.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use super::lanes;
use super::seam::LayerKernel;
use crate::activation::relu;
use crate::layer::Layer;

/// Dense products through ndarray's `matrixmultiply` backend; masked entries cost as much as
/// active ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct DenseKernel;

impl LayerKernel for DenseKernel {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn forward(&self, layer: &Layer, x: ArrayView2<'_, f32>, z: ArrayViewMut2<'_, f32>) {
        layer.affine(x, z, |v| v);
    }

    fn forward_relu(&self, layer: &Layer, x: ArrayView2<'_, f32>, z: ArrayViewMut2<'_, f32>) {
        layer.affine(x, z, relu);
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
        gb: ArrayViewMut1<'_, f32>,
    ) {
        general_mat_mul(1.0, &gz.t(), &x, 0.0, &mut gw);
        Zip::from(&mut gw)
            .and(&layer.mask)
            .for_each(|g, &on| *g = if on { *g } else { 0.0 });
        bias_grad(gz, gb);
    }
}

/// `gb = Σ_batch gz`, summed per output in a fixed order that does not depend on the layout
/// (contiguous batch vectors use [`lanes::sum`]).
fn bias_grad(gz: ArrayView2<'_, f32>, mut gb: ArrayViewMut1<'_, f32>) {
    Zip::from(&mut gb)
        .and(gz.axis_iter(Axis(1)))
        .for_each(|b, col| {
            *b = match col.as_slice() {
                Some(s) => lanes::sum(s),
                None => lanes::sum(&col.to_vec()),
            }
        });
}
