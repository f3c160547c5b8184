//! `random` [paper]: a balanced random partition per parent (group sizes differ by at most one),
//! drawn independently for each parent.

use rand::RngCore;
use rand::seq::SliceRandom;

use super::groups::deal;
use super::view::{LayerView, ParentSplit};

pub(super) fn plan(view: &LayerView<'_>, rng: &mut dyn RngCore) -> Vec<ParentSplit> {
    (0..view.mask.nrows())
        .map(|i| {
            let mut inputs = view.active(i);
            inputs.shuffle(rng);
            deal(&inputs, view.alpha)
        })
        .collect()
}
