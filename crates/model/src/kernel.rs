//! The kernel seam: the three matrix products of a training step, per layer.
//!
//! Training code calls these through [`LayerKernel`] and never multiplies matrices itself, so a
//! kernel whose cost follows the non-zeros ([`GatheredKernel`]) or a GPU kernel can replace
//! [`DenseKernel`] without touching the training loop. A kernel may hold data derived from the
//! layer's mask (index lists); [`KernelPolicy::build`] makes one per layer and must be called
//! again when masks change ([`crate::Workspace::rebuild`], [`crate::Trainer::model_changed`]).
//!
//! Beyond the three required products, the trait has optional fast paths with default
//! implementations: fused ReLU ([`LayerKernel::forward_relu`], [`LayerKernel::input_grad_relu`]),
//! a preferred memory layout ([`LayerKernel::prefers_feature_major`]) and packed weight
//! gradients ([`LayerKernel::packs_weight_grad`]).
//!
//! [`GatheredKernel`]: crate::GatheredKernel

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

use crate::gathered::GatheredKernel;
use crate::layer::Layer;
use crate::mlp::Mlp;

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

/// Dense products through ndarray's `matrixmultiply` backend; masked entries cost as much as
/// active ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct DenseKernel;

impl LayerKernel for DenseKernel {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn forward(&self, layer: &Layer, x: ArrayView2<'_, f32>, mut z: ArrayViewMut2<'_, f32>) {
        general_mat_mul(1.0, &x, &layer.w.t(), 0.0, &mut z);
        add_bias(z, layer, |v| v);
    }

    fn forward_relu(&self, layer: &Layer, x: ArrayView2<'_, f32>, mut z: ArrayViewMut2<'_, f32>) {
        general_mat_mul(1.0, &x, &layer.w.t(), 0.0, &mut z);
        add_bias(z, layer, relu);
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

/// `z ← act(z + b)` in one pass, along contiguous lanes when there are.
fn add_bias(mut z: ArrayViewMut2<'_, f32>, layer: &Layer, act: impl Fn(f32) -> f32) {
    if z.strides()[0] == 1 {
        // Feature-major: each output's batch vector is contiguous.
        Zip::from(z.axis_iter_mut(Axis(1)))
            .and(&layer.b)
            .for_each(|mut col, &b| col.mapv_inplace(|v| act(v + b)));
    } else {
        for mut row in z.axis_iter_mut(Axis(0)) {
            Zip::from(&mut row)
                .and(&layer.b)
                .for_each(|v, &b| *v = act(*v + b));
        }
    }
}

/// `gb = Σ_batch gz`, summed per output in a fixed order that does not depend on the layout
/// (contiguous batch vectors use [`crate::lanes::sum`]).
pub(crate) fn bias_grad(gz: ArrayView2<'_, f32>, mut gb: ArrayViewMut1<'_, f32>) {
    Zip::from(&mut gb)
        .and(gz.axis_iter(Axis(1)))
        .for_each(|b, col| {
            *b = match col.as_slice() {
                Some(s) => crate::lanes::sum(s),
                None => crate::lanes::sum(&col.to_vec()),
            }
        });
}

/// Zeroes `g` wherever `act <= 0` (ReLU derivative; NaN activations pass).
pub(crate) fn relu_backward(mut g: ArrayViewMut2<'_, f32>, act: ArrayView2<'_, f32>) {
    // A select, not a branch: it vectorises, and ReLU patterns are unpredictable.
    Zip::from(&mut g)
        .and(&act)
        .for_each(|g, &a| *g = if a <= 0.0 { 0.0 } else { *g });
}

/// Density (active fraction of a layer's weights) below which [`KernelPolicy::Auto`] picks the
/// gathered kernel.
///
/// Measured on the development machine (2-core AMD EPYC Zen 3, AVX2, one thread, chunks of
/// [`crate::CHUNK_ROWS`] rows): the time of forward + weight gradient + input gradient of one
/// layer with a random mask, gathered over dense, for layers of `[out, in]` = `[256, 64]`,
/// `[16, 1024]`, `[1024, 64]`, `[32, 256]`, `[256, 256]`:
///
/// | density | 1.0 | 0.75 | 0.6 | 0.5 | 0.4 | 0.3 | 0.25 | 0.125 |
/// |---|---|---|---|---|---|---|---|---|
/// | gathered / dense | 1.3–1.8 | 1.1–1.5 | 0.9–1.3 | 0.8–1.1 | 0.6–1.0 | 0.5–0.6 | 0.4–0.5 | 0.2–0.3 |
///
/// The crossover lies between 0.5 and 0.6; in whole training steps an α = 2 expansion
/// (density 0.5) runs about 1.25× faster gathered, so the threshold is 0.55. Small layers
/// (`[10, 128]`) are faster gathered even when dense, but are cheap either way.
pub const AUTO_GATHER_BELOW: f64 = 0.55;

/// How to choose a kernel for each layer.
///
/// Every policy gives the same results up to float rounding (1e-5 relative; the kernels sum
/// in different orders), each deterministic and independent of the thread count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelPolicy {
    /// Dense products for every layer ([`DenseKernel`]).
    Dense,
    /// Gathered products for every layer ([`GatheredKernel`]): cost follows the active weights.
    Gathered,
    /// Per layer by density: gathered below [`AUTO_GATHER_BELOW`], dense otherwise (default).
    #[default]
    Auto,
}

impl KernelPolicy {
    /// One kernel per layer of `mlp`.
    pub fn build(&self, mlp: &Mlp) -> Vec<Box<dyn LayerKernel>> {
        mlp.layers().iter().map(|l| self.build_layer(l)).collect()
    }

    /// The kernel this policy picks for `layer`.
    pub fn build_layer(&self, layer: &Layer) -> Box<dyn LayerKernel> {
        let gathered = match self {
            KernelPolicy::Dense => false,
            KernelPolicy::Gathered => true,
            KernelPolicy::Auto => layer.density() < AUTO_GATHER_BELOW,
        };
        if gathered {
            Box::new(GatheredKernel::new(layer))
        } else {
            Box::new(DenseKernel)
        }
    }

    /// Stable id used in configs and tables (`dense`, `gathered`, `auto`), as serialised.
    pub fn name(&self) -> &'static str {
        match self {
            KernelPolicy::Dense => "dense",
            KernelPolicy::Gathered => "gathered",
            KernelPolicy::Auto => "auto",
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
