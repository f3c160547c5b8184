//! The structure of an expansion: the plan types ([`ExpansionPlan`], [`LayerPlan`]) and the
//! structural expansion of one layer by a plan (split rows, copy columns; no pruning), shared by
//! planning and applying.
//!
//! For a hidden layer `l` with `h` neurons and factor α (SPEC §5), [`expand_structure`] makes
//! child `j` of parent `i` neuron `i·α + j` of the new width `αh`, with the parent's incoming row
//! restricted to the plan's input group, the parent's bias (`copy`) or `b/α` (`split`), and the
//! parent's outgoing column (`copy`) or a `1/α` share of it (`scale`).

use fpe_model::{Layer, Mlp, OptimizerConfig, OptimizerState};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::config::{BiasPolicy, ExpansionConfig, OutgoingPolicy};
use crate::error::{Error, Result};
use crate::strategy::ParentSplit;

/// The split of one hidden layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerPlan {
    /// Index of the layer whose neurons are split (0 = first hidden layer).
    pub layer: usize,
    /// Per parent neuron, α groups of input columns (group j → child `parent·α + j`). Column
    /// indices refer to the layer's inputs *after* earlier layers of the plan were expanded.
    pub splits: Vec<ParentSplit>,
}

/// A complete, serialisable expansion plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpansionPlan {
    /// The options the plan was made with; [`crate::apply()`] follows them.
    pub config: ExpansionConfig,
    /// Widths `[d_in, h_1, …, d_out]` of the model the plan was made for.
    pub widths_before: Vec<usize>,
    /// One entry per expanded layer, first to last.
    pub layers: Vec<LayerPlan>,
}

impl ExpansionPlan {
    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plans always serialise")
    }

    /// Reads a plan from JSON.
    ///
    /// # Errors
    /// [`Error::Config`] with the parser's message.
    pub fn from_json(s: &str) -> Result<Self> {
        serde_json::from_str(s).map_err(|e| Error::config("plan", "<json>", e.to_string()))
    }
}

/// Checks that every layer of `cfg` is a hidden layer of `mlp`.
///
/// # Errors
/// [`Error::Config`] naming the layer: the output layer, or an index out of range.
pub fn check_layers(mlp: &Mlp, cfg: &ExpansionConfig) -> Result<()> {
    let hidden = mlp.depth() - 1;
    let valid = match hidden {
        0 => "none".to_string(),
        1 => "only 0".to_string(),
        h => format!("0 to {} (inclusive)", h - 1),
    };
    for &l in &cfg.layers {
        if l == hidden {
            return Err(Error::config(
                "layers",
                l,
                format!(
                    "layer {l} is the output layer; only hidden layers can be expanded: {valid}"
                ),
            ));
        }
        if l > hidden {
            return Err(Error::config(
                "layers",
                l,
                format!(
                    "out of range: the network has {hidden} hidden layer(s), valid indices: {valid}"
                ),
            ));
        }
    }
    Ok(())
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
    check_layers(
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
    // `set_layers` keeps a backbone in front of the head.
    let mut new = mlp.clone();
    new.set_layers(layers)?;

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
