//! Splitting strategies: for every parent neuron, which of its active inputs each child gets.
//!
//! One file per strategy. Every strategy returns, per parent, α groups of input indices; the
//! disjoint strategies partition the parent's active inputs exactly (disjoint, union = support),
//! `overlap` draws independent subsets of the same sizes.

mod clause;
mod contiguous;
mod feature;
mod nm;
mod overlap;
mod random;

use ndarray::ArrayView2;
use rand::RngCore;

use crate::config::StrategyKind;
use crate::error::{Error, Result};

/// α groups of input indices for one parent (group j → child `parent·α + j`).
pub type ParentSplit = Vec<Vec<usize>>;

/// What a strategy sees of one layer.
#[derive(Clone, Copy, Debug)]
pub struct LayerView<'a> {
    /// Layer index in the network.
    pub layer: usize,
    /// `[h, d]` incoming weights of the layer being expanded.
    pub weight: ArrayView2<'a, f32>,
    /// `[h, d]` incoming mask.
    pub mask: ArrayView2<'a, bool>,
    /// Expansion factor.
    pub alpha: usize,
    /// Input columns of each clause's literals (Boolean tasks; layer 0 only).
    pub clauses: Option<&'a [Vec<usize>]>,
    /// M of the N:M pattern.
    pub nm_m: usize,
    /// k-means iterations for `feature`.
    pub feature_iters: usize,
}

impl LayerView<'_> {
    /// Active inputs of parent `i`, ascending.
    ///
    /// # Panics
    /// If `i` is not a row of `mask` (`i ≥ h`).
    pub fn active(&self, i: usize) -> Vec<usize> {
        self.mask
            .row(i)
            .iter()
            .enumerate()
            .filter(|(_, on)| **on)
            .map(|(j, _)| j)
            .collect()
    }

    /// Clause literals, or an error naming the strategy when the layer has none.
    fn clauses_for(&self, strategy: StrategyKind) -> Result<&[Vec<usize>]> {
        if self.layer != 0 {
            return Err(Error::config(
                "strategy",
                strategy.name(),
                format!(
                    "clause strategies need input-level clause structure, but layer {} reads hidden neurons",
                    self.layer
                ),
            ));
        }
        self.clauses.ok_or_else(|| {
            Error::config(
                "strategy",
                strategy.name(),
                "needs the dataset's clause structure (a Boolean-code task); this dataset has none",
            )
        })
    }
}

/// Plans every parent of one layer with `kind`.
///
/// # Errors
/// [`Error::FanInTooSmall`] for a parent with fewer than α active inputs; [`Error::Config`] for
/// a clause strategy without clauses, or `nm` with M not divisible by α.
pub fn plan_layer(
    kind: StrategyKind,
    view: &LayerView<'_>,
    rng: &mut dyn RngCore,
) -> Result<Vec<ParentSplit>> {
    for i in 0..view.mask.nrows() {
        let fan_in = view.mask.row(i).iter().filter(|&&on| on).count();
        if fan_in < view.alpha {
            return Err(Error::FanInTooSmall {
                layer: view.layer,
                neuron: i,
                fan_in,
                alpha: view.alpha,
            });
        }
    }
    match kind {
        StrategyKind::Random => Ok(random::plan(view, rng)),
        StrategyKind::Clause => clause::plan(view, false, rng),
        StrategyKind::ClauseByWeight => clause::plan(view, true, rng),
        StrategyKind::Feature => Ok(feature::plan(view, rng)),
        StrategyKind::Contiguous => Ok(contiguous::plan(view)),
        StrategyKind::Nm => nm::plan(view, rng),
        StrategyKind::Overlap => Ok(overlap::plan(view, rng)),
    }
}

/// Deals `items` to α groups: position p → group p mod α (sizes differ by at most one).
pub(crate) fn deal(items: &[usize], alpha: usize) -> ParentSplit {
    let mut groups = vec![Vec::new(); alpha];
    for (p, &it) in items.iter().enumerate() {
        groups[p % alpha].push(it);
    }
    groups
}

/// Adds `items` one at a time to the currently smallest group (lowest index on ties).
pub(crate) fn fill_smallest(groups: &mut ParentSplit, items: &[usize]) {
    for &it in items {
        let g = (0..groups.len())
            .min_by_key(|&g| (groups[g].len(), g))
            .expect("alpha ≥ 2");
        groups[g].push(it);
    }
}

/// Moves inputs from the largest group into empty ones, so every child has at least one input
/// (possible because fan-in ≥ α).
pub(crate) fn ensure_nonempty(groups: &mut ParentSplit) {
    while let Some(empty) = groups.iter().position(Vec::is_empty) {
        let largest = (0..groups.len())
            .max_by_key(|&g| (groups[g].len(), usize::MAX - g))
            .expect("alpha ≥ 2");
        let moved = groups[largest].pop().expect("fan-in ≥ alpha");
        groups[empty].push(moved);
    }
}
