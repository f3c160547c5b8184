//! ReLU and its derivative, shared by the kernels and the inference path. A leaf module: it
//! imports nothing from the crate.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

/// ReLU that propagates NaN (as PyTorch does), so a NaN input surfaces as a NaN loss instead of
/// being silently zeroed.
#[inline]
pub(crate) fn relu(v: f32) -> f32 {
    if v < 0.0 { 0.0 } else { v }
}

/// Zeroes `g` wherever `act <= 0` (ReLU derivative; NaN activations pass).
pub(crate) fn relu_backward(mut g: ArrayViewMut2<'_, f32>, act: ArrayView2<'_, f32>) {
    // A select, not a branch: it vectorises, and ReLU patterns are unpredictable.
    Zip::from(&mut g)
        .and(&act)
        .for_each(|g, &a| *g = if a <= 0.0 { 0.0 } else { *g });
}
