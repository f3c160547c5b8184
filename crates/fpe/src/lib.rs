//! Fixed Parameter Expansion (Kong et al., "Expand Neurons, Not Parameters", arXiv:2510.04500).
//!
//! Split each hidden neuron into α children whose incoming weights partition the parent's, copy
//! the outgoing weights, prune back to the original number of non-zero weights, keep the masks
//! fixed and train on: the network gets wider at the same nnz.
//!
//! - [`ExpansionConfig`]: α, which layers, [`StrategyKind`] (`random`, `clause`,
//!   `clause_by_weight`, `feature`, `contiguous`, `nm`, and the `overlap` control), bias, outgoing,
//!   pruning and optimiser-state policies. Defaults follow SPEC §5.
//! - [`plan()`] computes an inspectable, serialisable [`ExpansionPlan`]; [`apply`] executes it
//!   and returns the [`Expanded`] model with an [`ExpansionReport`]; [`expand`] does both.
//! - Baselines and controls: [`wide_dense`], [`wide_sparse_scratch`], [`DropConnect`].
//! - Dynamic sparsity after expansion: [`DynamicSparsity`] (`set`, `rigl`).
//!
//! ```
//! use fpe::{ExpansionConfig, StrategyKind, expand};
//! use fpe_model::MlpConfig;
//! use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
//!
//! let mut rng = ChaCha8Rng::seed_from_u64(0);
//! let mlp = MlpConfig { d_in: 64, hidden: vec![8], d_out: 1 }.init(&mut rng)?;
//! let cfg = ExpansionConfig { alpha: 4, strategy: StrategyKind::Random, ..Default::default() };
//! let out = expand(&mlp, &cfg, None, None, &mut rng)?;
//! assert_eq!(out.mlp.hidden_widths(), vec![32]);
//! assert_eq!(out.mlp.nnz(), mlp.nnz()); // same non-zero budget
//! # Ok::<(), fpe::Error>(())
//! ```

mod apply;
mod baselines;
mod config;
mod dropconnect;
mod dynamic;
mod error;
mod plan;
mod prune;
mod strategy;

pub use apply::{Expanded, ExpansionReport, apply, expand};
pub use baselines::{balanced_sparse_mask, wide_dense, wide_sparse_scratch};
pub use config::{
    BiasPolicy, ExpansionConfig, OptimizerStatePolicy, OutgoingPolicy, PrunePolicy, StrategyKind,
};
pub use dropconnect::DropConnect;
pub use dynamic::{DynamicConfig, DynamicMethod, DynamicSparsity};
pub use error::{Error, Result};
pub use plan::{ExpansionPlan, LayerPlan, check_layers, plan};
pub use prune::prune_to_budget;
pub use strategy::{LayerView, ParentSplit, plan_layer};
