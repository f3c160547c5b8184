//! What a strategy sees of one layer ([`LayerView`]) and what it returns per parent
//! ([`ParentSplit`]).

use ndarray::ArrayView2;

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
}
