//! [`DenseKernel`]: the three products as dense matrix multiplications (`crate::gemm`, equal to
//! matrixmultiply bit for bit), the mask applied afterwards.

use ndarray::{ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use super::lanes;
use super::seam::LayerKernel;
use crate::activation::relu;
use crate::gemm::mat_mul;
use crate::layer::Layer;

/// Dense products (matrixmultiply's arithmetic, without its packing where the layout allows);
/// masked entries cost as much as active ones.
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

    fn input_grad(&self, layer: &Layer, gz: ArrayView2<'_, f32>, gx: ArrayViewMut2<'_, f32>) {
        mat_mul(gz, layer.w.view(), gx);
    }

    /// Feature-major inputs let `crate::gemm::mat_mul` run the forward product without packing.
    fn prefers_feature_major(&self) -> bool {
        true
    }

    /// `gzᵀ x` runs without packing when `x` is row-major.
    fn weight_grad_prefers_feature_major(&self) -> bool {
        false
    }

    fn weight_grad(
        &self,
        layer: &Layer,
        x: ArrayView2<'_, f32>,
        gz: ArrayView2<'_, f32>,
        mut gw: ArrayViewMut2<'_, f32>,
        gb: ArrayViewMut1<'_, f32>,
    ) {
        mat_mul(gz.t(), x, gw.view_mut());
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
