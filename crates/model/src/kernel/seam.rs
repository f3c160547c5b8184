//! The [`LayerKernel`] trait: the forward, input-gradient and weight-gradient products of one
//! layer, with optional fast paths (fused ReLU, feature-major layout, packed weight gradients).

use ndarray::{Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2, Zip};

use crate::activation::{relu, relu_backward};
use crate::layer::Layer;

/// The products of one layer's forward and backward pass.
///
/// Shapes: `x` `[batch, in]`, `z` and `gz` `[batch, out]`, `gx` `[batch, in]`, `gw` `[out, in]`,
/// `gb` `[out]`. Outputs are overwritten, not accumulated. Views may have any strides; a kernel
/// that [prefers feature-major views](LayerKernel::prefers_feature_major) is fastest when every
/// `[batch, n]` view has batch stride 1 and is contiguous.
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

    /// Whether the kernel is fastest on *feature-major* views: `[batch, n]` arrays stored as
    /// `[n, batch]`, so that each feature's batch vector is contiguous. The training workspace
    /// then hands it its layer input in that layout. Every layout stays correct. Default `false`.
    fn prefers_feature_major(&self) -> bool {
        false
    }

    /// Whether [`LayerKernel::weight_grad`] wants its input `x` feature-major too. The training
    /// workspace hands it a row-major copy otherwise (the batch itself for the first layer, a
    /// transposed copy of the activations above it). Every layout stays correct. Default:
    /// [`LayerKernel::prefers_feature_major`].
    fn weight_grad_prefers_feature_major(&self) -> bool {
        self.prefers_feature_major()
    }

    /// `z = relu(x Wᵀ + b)`, with ReLU propagating NaN (`relu(NaN) = NaN`). Default:
    /// [`LayerKernel::forward`], then ReLU in place.
    fn forward_relu(&self, layer: &Layer, x: ArrayView2<'_, f32>, mut z: ArrayViewMut2<'_, f32>) {
        self.forward(layer, x, z.view_mut());
        z.mapv_inplace(relu);
    }

    /// `gx = gz W`, then zero wherever `act <= 0` (the ReLU derivative, given the ReLU outputs
    /// `act` `[batch, in]` of the layer below; a NaN activation passes the gradient on).
    /// Default: [`LayerKernel::input_grad`], then the mask.
    fn input_grad_relu(
        &self,
        layer: &Layer,
        gz: ArrayView2<'_, f32>,
        act: ArrayView2<'_, f32>,
        mut gx: ArrayViewMut2<'_, f32>,
    ) {
        self.input_grad(layer, gz, gx.view_mut());
        relu_backward(gx, act);
    }

    /// Whether [`LayerKernel::weight_grad_packed`] is this kernel's fast path (the training
    /// workspace then keeps and reduces weight gradients packed: `nnz` values instead of
    /// `out × in`). Default `false`.
    fn packs_weight_grad(&self) -> bool {
        false
    }

    /// Like [`LayerKernel::weight_grad`], with the weight gradient *packed*: `gw[k]` is the
    /// gradient of the `k`-th active weight in row-major order, `gw.len() == layer.nnz()`.
    /// Default: a dense gradient in a temporary array, then packed (allocates).
    ///
    /// # Panics
    /// If `gw.len() != layer.nnz()`.
    fn weight_grad_packed(
        &self,
        layer: &Layer,
        x: ArrayView2<'_, f32>,
        gz: ArrayView2<'_, f32>,
        gw: &mut [f32],
        gb: ArrayViewMut1<'_, f32>,
    ) {
        let mut dense = Array2::zeros(layer.w.dim());
        self.weight_grad(layer, x, gz, dense.view_mut(), gb);
        let active = dense.iter().zip(&layer.mask).filter(|&(_, &on)| on);
        let mut n = 0;
        for (slot, (&g, _)) in gw.iter_mut().zip(active) {
            *slot = g;
            n += 1;
        }
        assert_eq!(
            n,
            gw.len(),
            "weight_grad_packed: buffer is not the layer's nnz"
        );
    }

    /// Writes a packed gradient (see [`LayerKernel::weight_grad_packed`]) into the dense
    /// `[out, in]` array `gw`, with zeros at inactive positions.
    ///
    /// # Panics
    /// If `packed.len() != layer.nnz()` or `gw` is not `[out, in]`.
    fn unpack_weight_grad(&self, layer: &Layer, packed: &[f32], mut gw: ArrayViewMut2<'_, f32>) {
        assert_eq!(gw.dim(), layer.w.dim(), "unpack_weight_grad: shape");
        let mut values = packed.iter();
        Zip::from(&mut gw).and(&layer.mask).for_each(|g, &on| {
            *g = if on {
                *values.next().expect("unpack_weight_grad: too few values")
            } else {
                0.0
            };
        });
        assert!(
            values.next().is_none(),
            "unpack_weight_grad: too many values"
        );
    }
}
