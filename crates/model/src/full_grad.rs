//! The gradient of the loss with respect to every weight of one head layer, active or not: what
//! RigL regrows by. Sequential and allocating, for occasional use.

use ndarray::{Array2, ArrayView2, Zip};

use crate::loss::{TargetsRef, loss_sum_and_grad, loss_terms};
use crate::mlp::Mlp;

/// Gradient of the mean loss with respect to *every* weight of layer `layer`, active or not
/// (what RigL regrows by). Sequential and allocating: meant for occasional use.
///
/// # Shapes
/// `x`: `[batch, d_in]` → `[out, in]` of layer `layer`.
///
/// # Panics
/// If `layer` is out of range or shapes disagree.
pub fn unmasked_weight_grad(
    mlp: &Mlp,
    x: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
    layer: usize,
) -> Array2<f32> {
    // With a backbone, head layer 0 reads its features.
    let features = mlp.backbone().map(|b| b.forward(x));
    let x = features.as_ref().map_or(x, |f| f.view());
    let acts = mlp.forward_hidden_of_features(x);
    let depth = mlp.depth();
    let mut delta = Array2::<f32>::zeros(acts[depth - 1].dim());
    let scale = 1.0 / loss_terms(y) as f32;
    loss_sum_and_grad(acts[depth - 1].view(), y, scale, delta.view_mut());
    for l in (layer..depth).rev() {
        if l == layer {
            let input = if l == 0 { x } else { acts[l - 1].view() };
            return delta.t().dot(&input);
        }
        let mut below = delta.dot(&mlp.layers()[l].weight());
        Zip::from(&mut below).and(&acts[l - 1]).for_each(|g, &a| {
            if a <= 0.0 {
                *g = 0.0;
            }
        });
        delta = below;
    }
    unreachable!("layer {layer} out of range for depth {depth}")
}
