//! Applying a plan: split incoming rows, copy outgoing columns, prune back to the budget.
//!
//! For a hidden layer `l` with `h` neurons and factor α (SPEC §5):
//! 1. child `j` of parent `i` is neuron `i·α + j` of the new width `αh`;
//! 2. its incoming row is the parent's row restricted to the plan's input group;
//! 3. its bias is the parent's (`copy`) or `b/α` (`split`);
//! 4. every child copies the parent's outgoing column (`copy`) or a `1/α` share (`scale`);
//! 5. the `(α−1)·nnz(W_out)` extra weights are pruned ([`crate::prune`]) so the network's nnz is
//!    exactly what it was before.
//!
//! Steps 1–4 are the structural expansion of module `structure`, layer by layer; this module
//! checks the plan against the model, runs them, prunes and reports.
//!
//! With `carry`, the optimiser's moments are transformed like the weights they belong to
//! (second moments with squared factors); pruned entries are zeroed.

use fpe_model::{Mlp, Optimizer, OptimizerConfig, OptimizerState};
use serde::{Deserialize, Serialize};

use crate::config::{ExpansionConfig, OptimizerStatePolicy, PrunePolicy};
use crate::error::{Error, Result};
use crate::plan::plan;
use crate::prune::prune_to_budget;
use crate::structure::{ExpansionPlan, expand_structure};

/// What an expansion did, for logs and result files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpansionReport {
    /// Expansion factor.
    pub alpha: usize,
    /// Strategy name.
    pub strategy: String,
    /// Widths before.
    pub widths_before: Vec<usize>,
    /// Widths after.
    pub widths_after: Vec<usize>,
    /// Non-zero budget: nnz before expansion (biases excluded).
    pub budget: usize,
    /// nnz after copying, before pruning.
    pub nnz_unpruned: usize,
    /// Weights pruned per layer.
    pub pruned_per_layer: Vec<usize>,
    /// nnz after pruning (equals `budget`).
    pub nnz_after: usize,
}

/// The expanded model, its optimiser state (with `carry`) and the report.
#[derive(Clone, Debug)]
pub struct Expanded {
    /// The wider model at the same nnz.
    pub mlp: Mlp,
    /// The optimiser with its state carried to the new model (same configuration as the one
    /// given), `None` with `reset` (start a fresh optimiser).
    pub optimizer: Option<Optimizer>,
    /// What happened.
    pub report: ExpansionReport,
}

/// Applies `plan` to `mlp`; `optimizer` is needed for the `carry` state policy.
///
/// # Errors
/// [`Error::Plan`] if the plan does not fit the model (widths, group counts, inputs outside the
/// parent's support, overlapping or missing inputs for a disjoint strategy); [`Error::Config`] if
/// `carry` is asked without an optimiser.
pub fn apply(plan: &ExpansionPlan, mlp: &Mlp, optimizer: Option<&Optimizer>) -> Result<Expanded> {
    let cfg = &plan.config;
    cfg.validate()?;
    if plan.widths_before != mlp.widths() {
        return Err(Error::plan(
            plan.layers.first().map_or(0, |l| l.layer),
            format!(
                "made for widths {:?}, the model has {:?}",
                plan.widths_before,
                mlp.widths()
            ),
        ));
    }
    let budget = mlp.nnz();
    let mut carry: Option<(OptimizerConfig, OptimizerState)> =
        match (cfg.optimizer_state, optimizer) {
            (OptimizerStatePolicy::Reset, _) => None,
            (OptimizerStatePolicy::Carry, Some(o)) => Some((*o.config(), o.state().clone())),
            (OptimizerStatePolicy::Carry, None) => {
                return Err(Error::config(
                    "optimizer_state",
                    "carry",
                    "needs the optimiser whose state to carry",
                ));
            }
        };
    let mut cur = mlp.clone();
    for lp in &plan.layers {
        let (next, state) = expand_structure(&cur, lp, cfg, carry.as_ref().map(|(c, s)| (c, s)))?;
        cur = next;
        if let (Some((_, s)), Some(new)) = (carry.as_mut(), state) {
            *s = new;
        }
    }
    let nnz_unpruned = cur.nnz();
    let candidates: Vec<usize> = match cfg.prune {
        PrunePolicy::Global => {
            let mut c: Vec<usize> = plan
                .layers
                .iter()
                .flat_map(|lp| [lp.layer, lp.layer + 1])
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        }
        PrunePolicy::OutOnly => plan.layers.iter().map(|lp| lp.layer + 1).collect(),
    };
    let pruned_per_layer = prune_to_budget(&mut cur, budget, &candidates)?;
    let optimizer = match carry {
        Some((c, mut s)) => {
            s.zero_inactive(&cur);
            Some(Optimizer::with_state(c, s, &cur)?)
        }
        None => None,
    };
    let report = ExpansionReport {
        alpha: cfg.alpha,
        strategy: cfg.strategy.name().to_string(),
        widths_before: mlp.widths(),
        widths_after: cur.widths(),
        budget,
        nnz_unpruned,
        pruned_per_layer,
        nnz_after: cur.nnz(),
    };
    Ok(Expanded {
        mlp: cur,
        optimizer,
        report,
    })
}

/// Plans and applies in one call.
///
/// # Shapes
/// `clauses`: `[m]` lists of input column indices `< d_in`, as for [`crate::plan()`].
///
/// # Errors
/// As [`crate::plan()`] and [`apply`].
pub fn expand(
    mlp: &Mlp,
    cfg: &ExpansionConfig,
    clauses: Option<&[Vec<usize>]>,
    optimizer: Option<&Optimizer>,
    rng: &mut dyn rand::RngCore,
) -> Result<Expanded> {
    let plan = plan(mlp, cfg, clauses, rng)?;
    apply(&plan, mlp, optimizer)
}
