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
//! With `carry`, the optimiser's moments are transformed like the weights they belong to
//! (second moments with squared factors); pruned entries are zeroed.

use fpe_model::{Layer, Mlp, Optimizer, OptimizerConfig, OptimizerState};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::config::{BiasPolicy, ExpansionConfig, OptimizerStatePolicy, OutgoingPolicy};
use crate::error::{Error, Result};
use crate::plan::{ExpansionPlan, LayerPlan};
use crate::prune::prune_to_budget;

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
    /// Carried optimiser state, `None` with `reset` (start a fresh optimiser).
    pub optimizer_state: Option<OptimizerState>,
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
        crate::config::PrunePolicy::Global => {
            let mut c: Vec<usize> = plan
                .layers
                .iter()
                .flat_map(|lp| [lp.layer, lp.layer + 1])
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        }
        crate::config::PrunePolicy::OutOnly => plan.layers.iter().map(|lp| lp.layer + 1).collect(),
    };
    let pruned_per_layer = prune_to_budget(&mut cur, budget, &candidates)?;
    let optimizer_state = match carry {
        Some((c, mut s)) => {
            s.zero_inactive(&cur);
            fpe_model::Optimizer::with_state(c, s.clone(), &cur)?;
            Some(s)
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
        optimizer_state,
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
    let plan = crate::plan::plan(mlp, cfg, clauses, rng)?;
    apply(&plan, mlp, optimizer)
}

/// Steps 1–4 for one layer (no pruning). Returns the new model and, when given a state to carry,
/// the transformed state.
pub(crate) fn expand_structure(
    mlp: &Mlp,
    lp: &LayerPlan,
    cfg: &ExpansionConfig,
    carry: Option<(&OptimizerConfig, &OptimizerState)>,
) -> Result<(Mlp, Option<OptimizerState>)> {
    let l = lp.layer;
    crate::plan::check_layers(
        mlp,
        &ExpansionConfig {
            layers: vec![l],
            ..cfg.clone()
        },
    )?;
    let a = cfg.alpha;
    let (inc, out) = (&mlp.layers()[l], &mlp.layers()[l + 1]);
    check_splits(inc, lp, cfg)?;
    let bias_factor = if cfg.bias == BiasPolicy::Split {
        1.0 / a as f32
    } else {
        1.0
    };
    let out_factor = if cfg.outgoing == OutgoingPolicy::Scale {
        1.0 / a as f32
    } else {
        1.0
    };

    let w_in = split_rows(&inc.weight().to_owned(), &lp.splits, a);
    let mask_in = split_rows_mask(inc.d_in(), &lp.splits, a);
    let b_in = copy_entries(&inc.bias().to_owned(), a, bias_factor);
    let w_out = copy_cols(&out.weight().to_owned(), a, out_factor);
    let mask_out = Array2::from_shape_fn((out.d_out(), out.d_in() * a), |(r, c)| {
        out.mask()[[r, c / a]]
    });

    let mut layers = mlp.layers().to_vec();
    layers[l] = Layer::new(w_in, b_in, mask_in)?;
    layers[l + 1] = Layer::new(w_out, out.bias().to_owned(), mask_out)?;
    let new = Mlp::from_layers(layers)?;

    let state = carry.map(|(ocfg, s)| {
        let mut s = s.clone();
        let powers: Vec<i32> = match ocfg {
            OptimizerConfig::Adam { .. } => vec![1, 2],
            _ => vec![1; ocfg.n_slots()],
        };
        for (slot, &p) in powers.iter().enumerate() {
            let (bf, of) = (bias_factor.powi(p), out_factor.powi(p));
            let li = &mut s.layers[l];
            li.w[slot] = split_rows(&li.w[slot], &lp.splits, a);
            li.b[slot] = copy_entries(&li.b[slot], a, bf);
            let lo = &mut s.layers[l + 1];
            lo.w[slot] = copy_cols(&lo.w[slot], a, of);
        }
        s
    });
    Ok((new, state))
}

/// Validates one layer's splits against the layer's mask.
fn check_splits(inc: &Layer, lp: &LayerPlan, cfg: &ExpansionConfig) -> Result<()> {
    let (h, d, a) = (inc.d_out(), inc.d_in(), cfg.alpha);
    let l = lp.layer;
    if lp.splits.len() != h {
        return Err(Error::plan(
            l,
            format!(
                "{} parents planned, the layer has {h} neurons",
                lp.splits.len()
            ),
        ));
    }
    for (i, groups) in lp.splits.iter().enumerate() {
        if groups.len() != a {
            return Err(Error::plan(
                l,
                format!("parent {i} has {} groups, alpha = {a}", groups.len()),
            ));
        }
        let mut seen = vec![0u32; d];
        for (j, g) in groups.iter().enumerate() {
            if g.is_empty() {
                return Err(Error::plan(
                    l,
                    format!("parent {i}, child {j} has no inputs"),
                ));
            }
            for &k in g {
                if k >= d || !inc.mask()[[i, k]] {
                    return Err(Error::plan(
                        l,
                        format!(
                            "parent {i}, child {j}: input {k} is not an active input of the parent"
                        ),
                    ));
                }
                seen[k] += 1;
            }
        }
        if cfg.strategy.disjoint() {
            for (k, &count) in seen.iter().enumerate() {
                let active = inc.mask()[[i, k]];
                if count > 1 {
                    return Err(Error::plan(
                        l,
                        format!(
                            "parent {i}: input {k} is given to {count} children (groups must be disjoint)"
                        ),
                    ));
                }
                if active && count == 0 {
                    return Err(Error::plan(
                        l,
                        format!(
                            "parent {i}: active input {k} is given to no child (groups must cover the support)"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `[h, d]` → `[αh, d]`: child row `iα+j` keeps the parent's values at group `j`, zero elsewhere.
fn split_rows(w: &Array2<f32>, splits: &[Vec<Vec<usize>>], a: usize) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((w.nrows() * a, w.ncols()));
    for (i, groups) in splits.iter().enumerate() {
        for (j, g) in groups.iter().enumerate() {
            for &k in g {
                out[[i * a + j, k]] = w[[i, k]];
            }
        }
    }
    out
}

fn split_rows_mask(d: usize, splits: &[Vec<Vec<usize>>], a: usize) -> Array2<bool> {
    let mut out = Array2::from_elem((splits.len() * a, d), false);
    for (i, groups) in splits.iter().enumerate() {
        for (j, g) in groups.iter().enumerate() {
            for &k in g {
                out[[i * a + j, k]] = true;
            }
        }
    }
    out
}

/// `[h]` → `[αh]`: every child gets `factor ·` its parent's entry.
fn copy_entries(b: &Array1<f32>, a: usize, factor: f32) -> Array1<f32> {
    Array1::from_shape_fn(b.len() * a, |c| b[c / a] * factor)
}

/// `[C, h]` → `[C, αh]`: column `iα+j` is column `i` times `factor`.
fn copy_cols(w: &Array2<f32>, a: usize, factor: f32) -> Array2<f32> {
    Array2::from_shape_fn((w.nrows(), w.ncols() * a), |(r, c)| w[[r, c / a]] * factor)
}
