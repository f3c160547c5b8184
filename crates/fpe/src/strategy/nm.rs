//! `nm` [paper: compatible with structured sparsity]: the input axis is cut into blocks of M
//! consecutive inputs; within each block the parent's active positions are shuffled and dealt to
//! the α children, N = M/α each. Every child's incoming mask is then N:M (at most N active in
//! every block of M), the pattern sparse tensor cores accelerate (α = 2, M = 4 gives 2:4).
//! A trailing partial block (d not divisible by M) is dealt the same way.

use rand::RngCore;
use rand::seq::SliceRandom;

use super::groups::ensure_nonempty;
use super::view::{LayerView, ParentSplit};
use crate::error::{Error, Result};

pub(super) fn plan(view: &LayerView<'_>, rng: &mut dyn RngCore) -> Result<Vec<ParentSplit>> {
    let (a, m) = (view.alpha, view.nm_m);
    if m == 0 || m % a != 0 {
        return Err(Error::config(
            "nm_m",
            m,
            format!("M must be a positive multiple of alpha = {a}"),
        ));
    }
    let n_per_child = m / a;
    Ok((0..view.mask.nrows())
        .map(|i| {
            let mut groups: ParentSplit = vec![Vec::new(); a];
            for block_start in (0..view.mask.ncols()).step_by(m) {
                let end = (block_start + m).min(view.mask.ncols());
                let mut active: Vec<usize> =
                    (block_start..end).filter(|&j| view.mask[[i, j]]).collect();
                active.shuffle(rng);
                // Deal block by block, smallest-first within the block keeps ≤ N per child.
                for (p, &j) in active.iter().enumerate() {
                    groups[p % a].push(j);
                }
                debug_assert!(active.len() <= n_per_child * a);
            }
            for g in &mut groups {
                g.sort_unstable();
            }
            ensure_nonempty(&mut groups);
            groups
        })
        .collect())
}
