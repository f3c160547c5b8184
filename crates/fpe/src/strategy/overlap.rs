//! `overlap` [paper control]: each child gets an independent uniformly random subset of the
//! parent's active inputs, of the size it would get under `random` (⌈n/α⌉ for the first
//! `n mod α` children, ⌊n/α⌋ for the rest). Subsets may overlap, so the children are not a
//! partition: the control isolates the effect of disjointness.

use rand::RngCore;
use rand::seq::index::sample;

use super::view::{LayerView, ParentSplit};

pub(super) fn plan(view: &LayerView<'_>, rng: &mut dyn RngCore) -> Vec<ParentSplit> {
    let a = view.alpha;
    (0..view.mask.nrows())
        .map(|i| {
            let inputs = view.active(i);
            let n = inputs.len();
            (0..a)
                .map(|j| {
                    let size = n / a + usize::from(j < n % a);
                    let mut picked: Vec<usize> = sample(rng, n, size)
                        .into_iter()
                        .map(|p| inputs[p])
                        .collect();
                    picked.sort_unstable();
                    picked
                })
                .collect()
        })
        .collect()
}
