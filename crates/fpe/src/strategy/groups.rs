//! Helpers shared by the strategies: dealing a parent's inputs to its α children and keeping
//! every child non-empty.

use super::view::ParentSplit;

/// Deals `items` to α groups: position p → group p mod α (sizes differ by at most one).
pub(super) fn deal(items: &[usize], alpha: usize) -> ParentSplit {
    let mut groups = vec![Vec::new(); alpha];
    for (p, &it) in items.iter().enumerate() {
        groups[p % alpha].push(it);
    }
    groups
}

/// Adds `items` one at a time to the currently smallest group (lowest index on ties).
pub(super) fn fill_smallest(groups: &mut ParentSplit, items: &[usize]) {
    for &it in items {
        let g = (0..groups.len())
            .min_by_key(|&g| (groups[g].len(), g))
            .expect("alpha ≥ 2");
        groups[g].push(it);
    }
}

/// Moves inputs from the largest group into empty ones, so every child has at least one input
/// (possible because fan-in ≥ α).
pub(super) fn ensure_nonempty(groups: &mut ParentSplit) {
    while let Some(empty) = groups.iter().position(Vec::is_empty) {
        let largest = (0..groups.len())
            .max_by_key(|&g| (groups[g].len(), usize::MAX - g))
            .expect("alpha ≥ 2");
        let moved = groups[largest].pop().expect("fan-in ≥ alpha");
        groups[empty].push(moved);
    }
}
