//! Masked multi-layer perceptrons for Fixed Parameter Expansion: a small, deterministic CPU
//! trainer for sparse MLPs whose masks stay fixed unless you change them.
//!
//! Everything speaks ndarray: inputs are `x: [batch, d_in]` ([`ndarray::ArrayView2<f32>`]),
//! targets are a [`TargetsRef`] (`[batch]` class ids or `[batch, C]` 0/1 bits), and a layer's
//! weight, bias and mask are `[out, in]`, `[out]` and `[out, in]` arrays. The crate depends on
//! no other workspace crate; `cargo run -p fpe-model --example train_masked` trains a masked
//! network on a small Boolean task.
//!
//! # Main types
//!
//! - [`Mlp`] of any depth: [`Layer`]s with weight `[out, in]`, bias `[out]` and a binary mask;
//!   ReLU between layers; PyTorch's default init ([`MlpConfig::init`]). Batch is axis 0,
//!   everything is `f32`.
//! - **Mask invariant**: an inactive weight is exactly `0.0` after construction, every optimiser
//!   step ([`Optimizer`]: Adam, momentum SGD, decoupled weight decay), every load and save.
//! - **Manual backprop** ([`Workspace::loss_grad`]) for BCE-with-logits and softmax
//!   cross-entropy ([`TargetsRef`]), parallel over fixed 64-sample chunks with a fixed-order
//!   reduction, so results are bit-identical on any number of threads.
//! - **Kernel seam** ([`LayerKernel`], [`KernelPolicy`]): the forward, input-gradient and
//!   weight-gradient products of each layer. [`DenseKernel`] uses matrixmultiply; the gathered
//!   kernel walks per-row and per-column index lists of the active weights, so its cost follows
//!   nnz, not width. [`KernelPolicy::Auto`] (the default) picks gathered below density
//!   [`AUTO_GATHER_BELOW`]; both agree to 1e-5 and are bit-deterministic across thread counts.
//! - **Training** ([`Trainer::fit`]; [`fit_lockstep`] for several models on the same batches:
//!   one loop, which the GPU trainer's batch order also comes from) with [`TrainHooks`] and a
//!   clean [`Error::NonFinite`] on divergence; [`evaluate`], [`accuracy`].
//! - **Checkpoints** ([`Checkpoint`]: magic, version, SHA-256 checksum, atomic writes) and `.npz`
//!   export ([`export_npz`]: arrays `weight_l`, `bias_l`, `mask_l`).
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use fpe_model::{KernelPolicy, MlpConfig, NoHooks, OptimizerConfig, TargetsRef, Trainer, evaluate};
//! use ndarray::{Array2, array};
//! use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
//!
//! let mut rng = ChaCha8Rng::seed_from_u64(0);
//! // Learn y = x0 XOR x1 from the four corners: x [4, 2], y [4, 1].
//! let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
//! let y = array![[0.0f32], [1.0], [1.0], [0.0]];
//! let mut mlp = MlpConfig { d_in: 2, hidden: vec![16], d_out: 1 }.init(&mut rng)?;
//! // Keep every other hidden → output weight; the mask [1, 16] stays fixed during training.
//! mlp.layer_mut(1).set_mask(Array2::from_shape_fn((1, 16), |(_, j)| j % 2 == 0))?;
//! assert_eq!(mlp.nnz(), 2 * 16 + 8);
//! let opt = OptimizerConfig::Adam { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
//! let mut trainer = Trainer::new(mlp, opt, KernelPolicy::Auto)?;
//! trainer.fit(x.view(), TargetsRef::Binary(y.view()), 300, 4, &mut rng, &mut NoHooks)?;
//! let (loss, acc) = evaluate(trainer.mlp(), x.view(), TargetsRef::Binary(y.view()));
//! println!("loss {loss:.4}, accuracy {}", acc.accuracy);
//! assert_eq!(acc.accuracy, 1.0);
//! assert_eq!(trainer.mlp().nnz(), 40); // masked weights stayed exactly zero
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

mod activation;
mod backbone;
mod backprop;
mod checkpoint;
mod conv;
mod cpu;
mod device;
mod error;
pub mod fixtures;
mod full_grad;
mod gemm;
#[cfg(feature = "gpu")]
pub mod gpu;
mod grads;
mod kernel;
mod layer;
mod layout;
mod loss;
mod mlp;
mod npz;
mod optim;
mod train;

pub use backbone::{Backbone, BackboneConfig, Stage};
pub use backprop::{Grads, Workspace, unmasked_weight_grad};
pub use checkpoint::{Checkpoint, FORMAT_VERSION, MAGIC};
pub use device::Device;
pub use error::{Error, GpuError, Result};
pub use kernel::{
    AUTO_GATHER_BELOW, CHUNK_ROWS, DenseKernel, GatheredKernel, KernelPolicy, LayerKernel,
};
pub use layer::Layer;
pub use loss::{Accuracy, TargetsRef, accuracy, loss, predict_classes};
pub use mlp::{Mlp, MlpConfig};
pub use npz::export_npz;
pub use optim::{LayerSlots, Optimizer, OptimizerConfig, OptimizerState};
pub use train::{
    EpochLoss, EpochReport, NoHooks, StepContext, TrainHooks, Trainer, evaluate, fit_lockstep,
    fit_lockstep_with,
};
