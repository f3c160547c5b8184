//! Masked multi-layer perceptrons for Fixed Parameter Expansion.
//!
//! This crate will own (issue #3): the `Mlp` of any depth with per-layer weight, bias and binary
//! mask; manual forward and backward passes for BCE-with-logits and softmax cross-entropy;
//! mask-aware Adam and momentum SGD with decoupled weight decay; a deterministic parallel training
//! loop; a kernel seam for nnz-proportional and GPU kernels; checkpoints and `.npz` export.
