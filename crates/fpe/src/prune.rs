//! Budget pruning: remove the smallest-magnitude active weights until nnz equals the budget.
//!
//! Candidates are the active weights of the given layers. They are ordered by `|w|`, then layer
//! index, then row-major position, a strict total order, so the result is deterministic whatever
//! the ties (copied outgoing weights tie in groups of α).

use fpe_model::Mlp;

use crate::error::{Error, Result};

/// Prunes `mlp.nnz() − budget` weights among the active weights of `layers`; returns the number
/// pruned per layer of the network.
///
/// # Shapes
/// `layers`: layer indices (`< mlp.depth()`) → returns `[mlp.depth()]` counts.
///
/// # Errors
/// [`Error::Config`] if the candidates hold fewer active weights than must be pruned, or the
/// network is already below the budget.
///
/// # Panics
/// If an index in `layers` is `≥ mlp.depth()` and weights must be pruned.
pub fn prune_to_budget(mlp: &mut Mlp, budget: usize, layers: &[usize]) -> Result<Vec<usize>> {
    let nnz = mlp.nnz();
    let mut pruned = vec![0usize; mlp.depth()];
    if nnz < budget {
        return Err(Error::config(
            "budget",
            budget,
            format!("the network has only {nnz} active weights"),
        ));
    }
    let mut layers = layers.to_vec();
    layers.sort_unstable();
    layers.dedup();
    let k = nnz - budget;
    if k == 0 {
        return Ok(pruned);
    }
    let mut cand: Vec<(f32, usize, usize)> = Vec::new();
    for &l in &layers {
        let layer = &mlp.layers()[l];
        let d = layer.d_in();
        for ((r, c), (&w, &on)) in layer
            .weight()
            .indexed_iter()
            .zip(layer.mask())
            .map(|((i, w), m)| (i, (w, m)))
        {
            if on {
                cand.push((w.abs(), l, r * d + c));
            }
        }
    }
    if cand.len() < k {
        return Err(Error::config(
            "prune",
            format!("{layers:?}"),
            format!(
                "must prune {k} weights but these layers hold only {} active weights",
                cand.len()
            ),
        ));
    }
    let order = |a: &(f32, usize, usize), b: &(f32, usize, usize)| {
        a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
    };
    cand.select_nth_unstable_by(k - 1, order);
    let mut masks: Vec<_> = mlp.layers().iter().map(|l| l.mask().to_owned()).collect();
    for &(_, l, flat) in &cand[..k] {
        let d = masks[l].ncols();
        masks[l][[flat / d, flat % d]] = false;
        pruned[l] += 1;
    }
    for &l in &layers {
        mlp.layer_mut(l).set_mask(masks[l].clone())?;
    }
    Ok(pruned)
}
