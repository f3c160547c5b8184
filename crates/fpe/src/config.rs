//! Expansion options (SPEC §5). Every field has the documented default; each one that the paper
//! leaves open is marked \[choice\] in the crate docs and logged by every run.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How each parent's active inputs are divided among its children.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    /// Balanced random partition per parent \[paper\].
    #[default]
    Random,
    /// Literals of a clause go to the same child, clauses round-robin in random order \[paper\].
    Clause,
    /// The parent's α heaviest clauses (Σ|w| over their literals) get one child each \[choice\].
    ClauseByWeight,
    /// Balanced k-means of the inputs on normalised rows of `G = W_inᵀ W_in`; group g → child g
    /// for every parent \[paper: cluster G; choice: the algorithm\].
    Feature,
    /// α contiguous blocks of the parent's active inputs \[choice: structure-blind baseline\].
    Contiguous,
    /// Each child's incoming mask is N:M along the input axis, N = M/α \[paper: structured\].
    Nm,
    /// Control: each child gets an independent random subset of the parent's inputs, of the
    /// sizes `random` would give; supports overlap \[paper control\].
    Overlap,
}

impl StrategyKind {
    /// Every strategy, in a stable order.
    pub const ALL: [StrategyKind; 7] = [
        StrategyKind::Random,
        StrategyKind::Clause,
        StrategyKind::ClauseByWeight,
        StrategyKind::Feature,
        StrategyKind::Contiguous,
        StrategyKind::Nm,
        StrategyKind::Overlap,
    ];

    /// Stable id used in configs and result files.
    pub fn name(&self) -> &'static str {
        match self {
            StrategyKind::Random => "random",
            StrategyKind::Clause => "clause",
            StrategyKind::ClauseByWeight => "clause_by_weight",
            StrategyKind::Feature => "feature",
            StrategyKind::Contiguous => "contiguous",
            StrategyKind::Nm => "nm",
            StrategyKind::Overlap => "overlap",
        }
    }

    /// Parses a stable id.
    ///
    /// # Errors
    /// [`Error::Config`] listing the allowed names.
    pub fn parse(s: &str) -> Result<Self> {
        StrategyKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = StrategyKind::ALL.iter().map(StrategyKind::name).collect();
                Error::config("strategy", s, format!("allowed: {}", names.join(", ")))
            })
    }

    /// True when children's supports must be disjoint (every strategy but `overlap`).
    pub fn disjoint(&self) -> bool {
        *self != StrategyKind::Overlap
    }
}

/// What each child's bias starts as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasPolicy {
    /// Every child copies the parent's bias \[choice\].
    #[default]
    Copy,
    /// Every child gets `b / α`.
    Split,
}

/// What each child's outgoing weights start as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingPolicy {
    /// Every child copies the parent's outgoing column, no rescaling \[paper\].
    #[default]
    Copy,
    /// Every child gets the column divided by α (preserves the function at a dense split).
    Scale,
}

/// Where the extra `(α−1)·nnz(W_out)` weights are pruned from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrunePolicy {
    /// Smallest |w| over all incoming and outgoing weights of the expanded layers \[choice\].
    #[default]
    Global,
    /// Smallest |w| over the outgoing (copied) weights only.
    OutOnly,
}

/// What happens to the optimiser state at expansion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerStatePolicy {
    /// Start from zero moments \[choice\].
    #[default]
    Reset,
    /// Split moments exactly like the weights they belong to.
    Carry,
}

/// All options of one expansion.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpansionConfig {
    /// Expansion factor α ≥ 2: children per parent.
    pub alpha: usize,
    /// Hidden layers to expand (0 = the first hidden layer), expanded first to last.
    pub layers: Vec<usize>,
    /// Splitting strategy.
    pub strategy: StrategyKind,
    /// M of the N:M pattern for `nm` (N = M/α).
    pub nm_m: usize,
    /// Lloyd iterations of the balanced k-means for `feature`.
    pub feature_iters: usize,
    /// Bias policy.
    pub bias: BiasPolicy,
    /// Outgoing-weight policy.
    pub outgoing: OutgoingPolicy,
    /// Pruning policy.
    pub prune: PrunePolicy,
    /// Optimiser-state policy.
    pub optimizer_state: OptimizerStatePolicy,
}

impl Default for ExpansionConfig {
    fn default() -> Self {
        ExpansionConfig {
            alpha: 2,
            layers: vec![0],
            strategy: StrategyKind::Random,
            nm_m: 4,
            feature_iters: 25,
            bias: BiasPolicy::Copy,
            outgoing: OutgoingPolicy::Copy,
            prune: PrunePolicy::Global,
            optimizer_state: OptimizerStatePolicy::Reset,
        }
    }
}

impl ExpansionConfig {
    /// Checks the fields that do not need the model.
    ///
    /// # Errors
    /// [`Error::Config`] for α < 2, no layers, repeated or unsorted layers, `nm_m` not divisible
    /// by α (for `nm`), or zero `feature_iters`.
    pub fn validate(&self) -> Result<()> {
        if self.alpha < 2 {
            return Err(Error::config(
                "alpha",
                self.alpha,
                "the expansion factor must be at least 2",
            ));
        }
        if self.layers.is_empty() {
            return Err(Error::config(
                "layers",
                "[]",
                "name at least one hidden layer to expand",
            ));
        }
        if self.layers.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::config(
                "layers",
                format!("{:?}", self.layers),
                "must be strictly increasing (expanded first to last)",
            ));
        }
        if self.strategy == StrategyKind::Nm
            && (self.nm_m == 0 || !self.nm_m.is_multiple_of(self.alpha))
        {
            return Err(Error::config(
                "nm_m",
                self.nm_m,
                format!(
                    "M must be a positive multiple of alpha = {} so that N = M/alpha is whole",
                    self.alpha
                ),
            ));
        }
        if self.feature_iters == 0 {
            return Err(Error::config("feature_iters", 0, "must be at least 1"));
        }
        Ok(())
    }
}
