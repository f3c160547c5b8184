//! Planning an expansion: which child of which parent receives which inputs.
//!
//! Planning (random draws, clustering) is separate from applying (copying, pruning): a plan is
//! plain data ([`ExpansionPlan`]) that serialises to JSON, can be saved, read, edited and applied
//! later with [`crate::apply()`]. For deep networks a later layer is planned on the weights the
//! earlier layers' expansion produces (its input columns are then the earlier layer's children).

use fpe_model::Mlp;
use rand::RngCore;

use crate::config::ExpansionConfig;
use crate::error::{Error, Result};
use crate::strategy::{LayerView, plan_layer};
use crate::structure::{ExpansionPlan, LayerPlan, check_layers, expand_structure};

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
