//! `clause` [paper] and `clause_by_weight` [choice]: keep each clause's literals together.
//!
//! Per parent, only the literals among the parent's active inputs count.
//! - `clause`: clauses in random order; clause r → child `r mod α` with all its literals.
//! - `clause_by_weight`: clauses ranked by Σ|w| of the parent over their literals (heaviest
//!   first, ties by clause index); rank r → child `r mod α`, so the α heaviest get one child each.
//!
//! The remaining (non-literal) inputs are shuffled and each goes to the currently smallest child
//! [choice], which balances child sizes and reduces to `random` when there are no clauses.

use rand::RngCore;
use rand::seq::SliceRandom;

use super::groups::{ensure_nonempty, fill_smallest};
use super::view::{LayerView, ParentSplit};
use crate::config::StrategyKind;
use crate::error::{Error, Result};

pub(super) fn plan(
    view: &LayerView<'_>,
    by_weight: bool,
    rng: &mut dyn RngCore,
) -> Result<Vec<ParentSplit>> {
    let kind = if by_weight {
        StrategyKind::ClauseByWeight
    } else {
        StrategyKind::Clause
    };
    let clauses = clauses_for(view, kind)?;
    let a = view.alpha;
    let mut is_literal = vec![false; view.mask.ncols()];
    for c in clauses {
        for &j in c {
            if j < is_literal.len() {
                is_literal[j] = true;
            }
        }
    }
    Ok((0..view.mask.nrows())
        .map(|i| {
            let mut order: Vec<usize> = (0..clauses.len()).collect();
            if by_weight {
                let weight = |c: usize| -> f32 {
                    clauses[c].iter().map(|&j| view.weight[[i, j]].abs()).sum()
                };
                order.sort_by(|&x, &y| weight(y).total_cmp(&weight(x)).then(x.cmp(&y)));
            } else {
                order.shuffle(rng);
            }
            let mut groups: ParentSplit = vec![Vec::new(); a];
            for (r, &c) in order.iter().enumerate() {
                groups[r % a].extend(clauses[c].iter().copied().filter(|&j| view.mask[[i, j]]));
            }
            let mut rest: Vec<usize> = view
                .active(i)
                .into_iter()
                .filter(|&j| !is_literal[j])
                .collect();
            rest.shuffle(rng);
            fill_smallest(&mut groups, &rest);
            ensure_nonempty(&mut groups);
            for g in &mut groups {
                g.sort_unstable();
            }
            groups
        })
        .collect())
}

/// The view's clause literals, or an error naming the strategy when the layer has none.
fn clauses_for<'v>(view: &'v LayerView<'_>, strategy: StrategyKind) -> Result<&'v [Vec<usize>]> {
    if view.layer != 0 {
        return Err(Error::config(
            "strategy",
            strategy.name(),
            format!(
                "clause strategies need input-level clause structure, but layer {} reads hidden neurons",
                view.layer
            ),
        ));
    }
    view.clauses.ok_or_else(|| {
        Error::config(
            "strategy",
            strategy.name(),
            "needs the dataset's clause structure (a Boolean-code task); this dataset has none",
        )
    })
}
