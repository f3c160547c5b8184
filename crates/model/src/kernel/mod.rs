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
//! # Modules
//!
//! Dependencies run one way, top to bottom; this file only declares and re-exports.
//!
//! | module | content |
//! |---|---|
//! | `policy` | [`KernelPolicy`], [`AUTO_GATHER_BELOW`]: which kernel each layer gets |
//! | `dense` | [`DenseKernel`] (matrixmultiply) |
//! | `gathered` | [`GatheredKernel`] (index lists of active weights), loops, SIMD dispatch |
//! | `seam` | the [`LayerKernel`] trait |
//! | `lanes` | fixed-order reductions and vector loops (portable) |
//! | `consts` | [`CHUNK_ROWS`] |

mod consts;
mod dense;
mod gathered;
mod lanes;
mod policy;
mod seam;

pub use consts::CHUNK_ROWS;
pub use dense::DenseKernel;
pub use gathered::GatheredKernel;
pub use policy::{AUTO_GATHER_BELOW, KernelPolicy};
pub use seam::LayerKernel;
