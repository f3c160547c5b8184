//! Splitting strategies: for every parent neuron, which of its active inputs each child gets.
//!
//! One file per strategy. Every strategy returns, per parent, α groups of input indices; the
//! disjoint strategies partition the parent's active inputs exactly (disjoint, union = support),
//! `overlap` draws independent subsets of the same sizes.

mod clause;
mod contiguous;
mod feature;
mod groups;
mod nm;
mod overlap;
mod random;
mod view;

use rand::RngCore;

pub use view::{LayerView, ParentSplit};

use crate::config::StrategyKind;
use crate::error::{Error, Result};

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
