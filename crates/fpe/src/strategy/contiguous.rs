//! `contiguous` [choice]: the parent's active inputs in index order, cut into α contiguous
//! blocks whose sizes differ by at most one (larger blocks first). Deterministic and blind to the
//! task's structure: a cheap baseline.

use super::view::{LayerView, ParentSplit};

pub(super) fn plan(view: &LayerView<'_>) -> Vec<ParentSplit> {
    let a = view.alpha;
    (0..view.mask.nrows())
        .map(|i| {
            let inputs = view.active(i);
            let n = inputs.len();
            let mut start = 0;
            (0..a)
                .map(|j| {
                    let size = n / a + usize::from(j < n % a);
                    let block = inputs[start..start + size].to_vec();
                    start += size;
                    block
                })
                .collect()
        })
        .collect()
}
