//! The inspectable expansion plan: which child of which parent receives which inputs.
//!
//! Planning (random draws, clustering) is separate from applying (copying, pruning): a plan is
//! plain data that serialises to JSON, can be saved, read, edited and applied later with
//! [`crate::apply`]. For deep networks a later layer is planned on the weights the earlier
//! layers' expansion produces (its input columns are then the earlier layer's children).

use fpe_model::Mlp;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::apply::expand_structure;
use crate::config::ExpansionConfig;
use crate::error::{Error, Result};
use crate::strategy::{LayerView, ParentSplit, plan_layer};

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
    /// The options the plan was made with; [`crate::apply`] follows them.
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
    for &l in &cfg.layers {
        if l == hidden {
            return Err(Error::config(
                "layers",
                l,
                format!(
                    "layer {l} is the output layer; only hidden layers 0..{hidden} can be expanded"
                ),
            ));
        }
        if l > hidden {
            return Err(Error::config(
                "layers",
                l,
                format!(
                    "out of range: the network has {hidden} hidden layer(s), indices 0..{hidden}"
                ),
            ));
        }
    }
    Ok(())
}

/// Plans the expansion of `mlp` with `cfg`.
///
/// `clauses` gives the input columns of each clause's literals (Boolean tasks), needed by the
/// clause strategies.
///
/// # Shapes
/// `clauses`: `[m]` lists of column indices `< d_in` (what
/// `fpe_datasets::ClauseStructure::clause_inputs` returns).
///
/// # Errors
/// As [`ExpansionConfig::validate`] and [`check_layers`]; [`Error::FanInTooSmall`] for a parent
/// with fewer than α active inputs; [`Error::Config`] for a clause strategy without clauses, or a
/// clause literal outside the input range.
pub fn plan(
    mlp: &Mlp,
    cfg: &ExpansionConfig,
    clauses: Option<&[Vec<usize>]>,
    rng: &mut dyn RngCore,
) -> Result<ExpansionPlan> {
    cfg.validate()?;
    check_layers(mlp, cfg)?;
    if let Some(cl) = clauses {
        if let Some((c, &j)) = cl
            .iter()
            .enumerate()
            .flat_map(|(c, lits)| lits.iter().map(move |j| (c, j)))
            .find(|(_, j)| **j >= mlp.d_in())
        {
            return Err(Error::config(
                "clauses",
                j,
                format!(
                    "clause {c} names input {j}, but the model has {} inputs",
                    mlp.d_in()
                ),
            ));
        }
    }
    let mut scratch = mlp.clone();
    let mut layers = Vec::with_capacity(cfg.layers.len());
    for &l in &cfg.layers {
        let layer = &scratch.layers()[l];
        let view = LayerView {
            layer: l,
            weight: layer.weight(),
            mask: layer.mask(),
            alpha: cfg.alpha,
            clauses,
            nm_m: cfg.nm_m,
            feature_iters: cfg.feature_iters,
        };
        let splits = plan_layer(cfg.strategy, &view, rng)?;
        let lp = LayerPlan { layer: l, splits };
        scratch = expand_structure(&scratch, &lp, cfg, None)?.0;
        layers.push(lp);
    }
    Ok(ExpansionPlan {
        config: cfg.clone(),
        widths_before: mlp.widths(),
        layers,
    })
}
