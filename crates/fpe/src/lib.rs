//! Fixed Parameter Expansion (Kong et al., "Expand Neurons, Not Parameters", arXiv:2510.04500),
//! applied to any [`fpe_model::Mlp`], for instance one you trained.
//!
//! Split each hidden neuron into α children whose incoming weights partition the parent's, copy
//! the outgoing weights, prune back to the original number of non-zero weights, keep the masks
//! fixed and train on: the network gets wider at the same nnz. After an expansion by α, hidden
//! neuron `i` is child `i mod α` of parent `i / α`; weights stay `[out, in]` ndarray arrays
//! ([`fpe_model::Layer::weight`], [`fpe_model::Layer::mask`]).
//!
//! # Main types
//!
//! - [`ExpansionConfig`]: α, which layers, [`StrategyKind`] (`random`, `clause`,
//!   `clause_by_weight`, `feature`, `contiguous`, `nm`, and the `overlap` control), bias
//!   ([`BiasPolicy`]), outgoing ([`OutgoingPolicy`]), pruning ([`PrunePolicy`]) and
//!   optimiser-state ([`OptimizerStatePolicy`]) policies. Defaults follow SPEC §5.
//! - [`plan()`] computes an inspectable, serialisable [`ExpansionPlan`] (one [`LayerPlan`] per
//!   expanded layer); [`apply()`] executes it and returns the [`Expanded`] model with an
//!   [`ExpansionReport`]; [`expand`] does both. [`plan_layer`] and [`LayerView`] expose one
//!   strategy on one layer; [`prune_to_budget`] the budget pruning.
//! - [`expand_channels`]: the same expansion on a convolution's output channels (or a linear
//!   backbone stage's outputs) of a network with a backbone, the consumer's column groups
//!   copied to the children.
//! - Baselines and controls: [`wide_dense`], [`wide_sparse_scratch`], [`DropConnect`].
//! - Dynamic sparsity after expansion: [`DynamicSparsity`] (`set`, `rigl`; [`DynamicConfig`]), a
//!   [`fpe_model::TrainHooks`] for [`fpe_model::Trainer::fit`].
//! - [`Error`]: what went wrong, naming the layer, neuron or config field.
//!
//! Of the workspace crates it depends only on `fpe-model`. `cargo run -p fpe --example
//! expand_strategies` trains a small model, expands it with every strategy and prints nnz and
//! widths.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use fpe::{ExpansionConfig, StrategyKind, expand};
//! use fpe_model::MlpConfig;
//! use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
//!
//! let mut rng = ChaCha8Rng::seed_from_u64(0);
//! // Any fpe_model::Mlp works, e.g. one you trained; here 64 → 8 → 1 at initialisation.
//! let mlp = MlpConfig { d_in: 64, hidden: vec![8], d_out: 1 }.init(&mut rng)?;
//! // Split every hidden neuron into 4 children; each clause's literals go to one child.
//! let clauses = vec![vec![0, 1, 2], vec![3, 4, 5]]; // input columns of each clause
//! let cfg = ExpansionConfig { alpha: 4, strategy: StrategyKind::Clause, ..Default::default() };
//! let out = expand(&mlp, &cfg, Some(&clauses), None, &mut rng)?;
//! assert_eq!(out.mlp.hidden_widths(), vec![32]);
//! assert_eq!(out.mlp.nnz(), mlp.nnz()); // same non-zero budget
//! assert_eq!(out.mlp.layers()[0].weight().dim(), (32, 64)); // [out, in]
//! println!("{:?}", out.report);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

mod apply;
mod baselines;
mod channels;
mod config;
mod dropconnect;
mod dynamic;
mod error;
mod plan;
mod prune;
mod strategy;
mod structure;

pub use apply::{Expanded, ExpansionReport, apply, expand};
pub use baselines::{balanced_sparse_mask, wide_dense, wide_sparse_scratch};
pub use channels::expand_channels;
pub use config::{
    BiasPolicy, ExpansionConfig, OptimizerStatePolicy, OutgoingPolicy, PrunePolicy, StrategyKind,
};
pub use dropconnect::DropConnect;
pub use dynamic::{DynamicConfig, DynamicMethod, DynamicSparsity};
pub use error::{Error, Result};
pub use plan::plan;
pub use prune::prune_to_budget;
pub use strategy::{LayerView, ParentSplit, plan_layer};
pub use structure::{ExpansionPlan, LayerPlan, check_layers};
