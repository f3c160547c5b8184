//! Feature capacity per input (Scherlis et al. 2022, "Polysemanticity and Capacity in Neural
//! Networks").
//!
//! With `w_i` the column of the first-layer weight that reads input `i`, the capacity of input
//! `i` is `C_i = (w_i·w_i)² / Σ_j (w_i·w_j)²` (the sum includes `j = i`). `C_i = 1` means the
//! input has a direction of its own; `C_i → 0` means it shares its direction with many others.
//! `0 ≤ C_i ≤ 1` and `Σ_i C_i ≤ rank(W) ≤ min(h, d)`. A zero column has capacity 0, never NaN.
//!
//! All dot products come from one Gram matrix `G = WᵀW` (`[d, d]`, computed in f64 in
//! `O(d²·h)`, upper triangle only), so no per-feature matrix is ever built.

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gram::{padded_map, upper_gram_rows};

/// Capacity of every input and its summaries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityStats {
    /// `C_i` for every input `i` (length `d`), each in `[0, 1]`.
    pub per_input: Vec<f32>,
    /// Mean of `C_i` over all `d` inputs (0 when `d = 0`).
    pub mean: f64,
    /// Mean of `C_i` over the distinct inputs of the given subset (usually the clause
    /// literals); `None` when no subset, or an empty one, was given.
    pub mean_literals: Option<f64>,
    /// `Σ_i C_i`, at most `rank(W) ≤ min(h, d)`.
    pub sum: f64,
}

/// Capacity `C_i` of every input of the (masked) first-layer weight `w`.
///
/// Zero columns get capacity 0. Values are clamped into `[0, 1]` against rounding. The Gram
/// matrix is formed in f64, upper triangle only, one strip at a time.
///
/// # Shapes
/// - `w`: `[h, d]` (rows = neurons, columns = inputs) → returns `[d]`
pub fn feature_capacity(w: ArrayView2<'_, f32>) -> Array1<f32> {
    let d = w.ncols();
    let w64 = padded_map(w, f64::from);
    // own[i] = (w_i·w_i)², total[i] = Σ_j (w_i·w_j)².
    let mut own = vec![0.0f64; d];
    let mut total = vec![0.0f64; d];
    upper_gram_rows(w64.view(), |i, row| {
        own[i] = row[0] * row[0];
        let (head, later) = total.split_at_mut(i + 1);
        let mut sum_i = own[i];
        for (t, &g) in later.iter_mut().zip(&row[1..]) {
            let sq = g * g;
            sum_i += sq;
            *t += sq;
        }
        head[i] += sum_i;
    });
    own.iter()
        .zip(&total)
        .map(|(&o, &t)| {
            if o == 0.0 {
                0.0
            } else {
                (o / t).clamp(0.0, 1.0) as f32
            }
        })
        .collect()
}

/// Capacity of every input with its mean, sum and mean over `literals`.
///
/// `literals` is a set of input indices (usually every input that is a literal of some clause,
/// see [`literal_inputs`]); duplicates count once.
///
/// # Shapes
/// - `w`: `[h, d]`
///
/// # Errors
/// [`Error::InputIndex`] if an index in `literals` is `≥ d`.
pub fn capacity_stats(w: ArrayView2<'_, f32>, literals: Option<&[usize]>) -> Result<CapacityStats> {
    let d = w.ncols();
    let subset = match literals {
        Some(lits) => {
            if let Some(&index) = lits.iter().find(|&&i| i >= d) {
                return Err(Error::InputIndex {
                    op: "capacity_stats",
                    index,
                    n_inputs: d,
                });
            }
            let mut s = lits.to_vec();
            s.sort_unstable();
            s.dedup();
            Some(s)
        }
        None => None,
    };
    let c = feature_capacity(w);
    let sum: f64 = c.iter().map(|&x| f64::from(x)).sum();
    let mean = if d == 0 { 0.0 } else { sum / d as f64 };
    let mean_literals = subset
        .filter(|s| !s.is_empty())
        .map(|s| s.iter().map(|&i| f64::from(c[i])).sum::<f64>() / s.len() as f64);
    Ok(CapacityStats {
        per_input: c.to_vec(),
        mean,
        mean_literals,
        sum,
    })
}

/// The distinct input indices that are a literal of at least one clause, sorted.
///
/// # Shapes
/// - `clauses`: `[m]` lists of input indices → returns the sorted union.
pub fn literal_inputs(clauses: &[Vec<usize>]) -> Vec<usize> {
    let mut all: Vec<usize> = clauses.iter().flatten().copied().collect();
    all.sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::{Array2, array};
    use proptest::prelude::*;

    #[test]
    fn orthogonal_features_have_capacity_one() {
        // Columns e0·2, e1·(-3), e2 are mutually orthogonal: (w_i·w_j) = 0 for i ≠ j, so each
        // C_i = (w_i·w_i)² / (w_i·w_i)² = 1 and Σ C = 3 = rank.
        let w = array![
            [2.0f32, 0.0, 0.0],
            [0.0, -3.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 0.0]
        ];
        let s = capacity_stats(w.view(), Some(&[0, 2, 2])).unwrap();
        assert_eq!(s.per_input, vec![1.0, 1.0, 1.0]);
        assert_abs_diff_eq!(s.sum, 3.0);
        assert_abs_diff_eq!(s.mean, 1.0);
        assert_eq!(s.mean_literals, Some(1.0));
    }

    #[test]
    fn identical_features_share_capacity() {
        // Inputs 0 and 1 read the same column v = (1, 1): w0·w0 = w0·w1 = w1·w1 = 2, so
        // C_0 = C_1 = 2² / (2² + 2²) = 1/2. Input 2 reads (1, -1), orthogonal to v: C_2 = 1.
        // Input 3 is a zero column: C_3 = 0 (not NaN). Σ C = 2 = rank.
        let w = array![[1.0f32, 1.0, 1.0, 0.0], [1.0, 1.0, -1.0, 0.0]];
        let s = capacity_stats(w.view(), Some(&[0, 3])).unwrap();
        assert_eq!(s.per_input, vec![0.5, 0.5, 1.0, 0.0]);
        assert_abs_diff_eq!(s.sum, 2.0);
        assert_abs_diff_eq!(s.mean, 0.5);
        assert_eq!(s.mean_literals, Some(0.25));
    }

    #[test]
    fn three_features_in_two_dimensions() {
        // Columns at 0°, 60°, 120° (unit vectors): w_i·w_j = cos(60°) = 1/2 or cos(120°) = -1/2,
        // so each C_i = 1 / (1 + 1/4 + 1/4) = 2/3 and Σ C = 2 = rank (a tight frame).
        let (s3, h) = (3f32.sqrt() / 2.0, 0.5f32);
        let w = array![[1.0f32, h, -h], [0.0, s3, s3]];
        let c = feature_capacity(w.view());
        for &ci in &c {
            assert_abs_diff_eq!(ci, 2.0 / 3.0, epsilon = 1e-6);
        }
    }

    #[test]
    fn bad_literal_and_empty_cases() {
        let w = Array2::<f32>::zeros((2, 3));
        let e = capacity_stats(w.view(), Some(&[1, 3])).unwrap_err();
        assert_eq!(
            e,
            Error::InputIndex {
                op: "capacity_stats",
                index: 3,
                n_inputs: 3
            }
        );
        let s = capacity_stats(w.view(), Some(&[])).unwrap();
        assert_eq!((s.sum, s.mean, s.mean_literals), (0.0, 0.0, None));
        let empty = Array2::<f32>::zeros((2, 0));
        assert_eq!(capacity_stats(empty.view(), None).unwrap().mean, 0.0);
        assert_eq!(literal_inputs(&[vec![3, 1], vec![1, 0]]), vec![0, 1, 3]);
    }

    fn matrix(max_rows: usize, max_cols: usize) -> impl Strategy<Value = Array2<f32>> {
        (1..=max_rows, 1..=max_cols).prop_flat_map(|(h, d)| {
            // Mix of exact zeros (masked weights) and values over several magnitudes.
            let value = prop_oneof![Just(0.0f32), -10.0f32..10.0, -1e-3f32..1e-3];
            proptest::collection::vec(value, h * d)
                .prop_map(move |v| Array2::from_shape_vec((h, d), v).unwrap())
        })
    }

    proptest! {
        #[test]
        fn capacity_is_bounded_by_one_and_rank(w in matrix(12, 12)) {
            let s = capacity_stats(w.view(), None).unwrap();
            for &c in &s.per_input {
                prop_assert!((0.0..=1.0).contains(&c), "C_i = {c}");
            }
            let (h, d) = w.dim();
            prop_assert!(s.sum <= h.min(d) as f64 + 1e-4, "sum {} > min({h}, {d})", s.sum);
            // A rank-r factorisation bounds the sum tighter: repeat one column everywhere.
            let rank1 = Array2::from_shape_fn((h, d), |(r, _)| w[[r, 0]] + 1.0);
            let s1 = capacity_stats(rank1.view(), None).unwrap();
            prop_assert!(s1.sum <= 1.0 + 1e-4, "rank-1 sum {}", s1.sum);
        }
    }
}
