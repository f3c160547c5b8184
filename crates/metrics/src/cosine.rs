//! Neuron cosine similarity: how much the incoming weight rows of a layer point the same way.
//!
//! Statistics run over unordered pairs of non-zero rows (zero rows, i.e. dead or fully pruned
//! neurons, are skipped and counted). After an expansion by α, neuron `i` is child `i mod α` of
//! parent `i / α`; children of one parent have disjoint supports and are therefore orthogonal,
//! so the cross-parent mean is the informative one.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Result, check_alpha};
use crate::gram::{lane_sum, padded_map, upper_gram_rows};

/// Cosine statistics of the rows of a weight matrix.
///
/// Every mean is 0 when it runs over no pair (never NaN); the pair counts say when that is so.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosineStats {
    /// Mean `|cos|` over all unordered pairs of non-zero rows.
    pub mean_abs: f64,
    /// Mean signed `cos` over the same pairs.
    pub mean_signed: f64,
    /// Mean `|cos|` over pairs whose rows have different parents.
    pub mean_abs_cross_parent: f64,
    /// Mean `|cos|` over pairs of siblings (same parent); 0 when `alpha = 1`.
    pub mean_abs_siblings: f64,
    /// Number of pairs behind `mean_abs` and `mean_signed`.
    pub pairs: usize,
    /// Number of pairs behind `mean_abs_cross_parent`.
    pub cross_parent_pairs: usize,
    /// Number of all-zero rows that were skipped.
    pub zero_rows: usize,
}

/// Copy of `w` with every non-zero row scaled to unit length (norms in f64).
fn unit_rows(w: ArrayView2<'_, f32>) -> Array2<f32> {
    let mut unit = padded_map(w, |x| x);
    for mut row in unit.axis_iter_mut(Axis(0)) {
        let norm = row
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            let inv = (1.0 / norm) as f32;
            row.mapv_inplace(|x| x * inv);
        }
    }
    unit
}

/// Cosine similarity of every pair of rows, `[h, h]`; entries of zero rows are 0.
///
/// Rows are normalised (norms in f64) and one Gram matrix `Ŵ Ŵᵀ` is formed; entries are
/// clamped into `[-1, 1]` against rounding. [`cosine_stats`] does not build this matrix.
///
/// # Shapes
/// - `w`: `[h, d]` → returns `[h, h]`
pub fn cosine_matrix(w: ArrayView2<'_, f32>) -> Array2<f32> {
    let unit = unit_rows(w);
    let mut g = unit.dot(&unit.t());
    g.mapv_inplace(|c| c.clamp(-1.0, 1.0));
    g
}

/// Cosine statistics of the rows (neurons) of `w`, grouped into parents of `alpha` children.
///
/// Neuron `i` has parent `i / alpha`; `alpha = 1` makes every neuron its own parent, so the
/// cross-parent mean equals the overall one.
///
/// # Shapes
/// - `w`: `[h, d]` (rows = neurons)
///
/// # Errors
/// [`Error::ZeroAlpha`](crate::Error::ZeroAlpha) if `alpha = 0`;
/// [`Error::AlphaDivisor`](crate::Error::AlphaDivisor) if `h` is not a multiple of `alpha`.
pub fn cosine_stats(w: ArrayView2<'_, f32>, alpha: usize) -> Result<CosineStats> {
    check_alpha("cosine_stats", w.nrows(), alpha)?;
    let nonzero: Vec<usize> = w
        .axis_iter(Axis(0))
        .enumerate()
        .filter(|(_, row)| row.iter().any(|&x| x != 0.0))
        .map(|(i, _)| i)
        .collect();
    let zero_rows = w.nrows() - nonzero.len();
    // Only the non-zero rows enter the Gram matrix, which is visited one upper strip at a time.
    let unit = unit_rows(w.select(Axis(0), &nonzero).view());
    // Sums of |cos| over sibling and cross-parent pairs and of signed cos, each in f64.
    let (mut signed, mut cross, mut sib) = (0.0f64, 0.0f64, 0.0f64);
    let (mut n_cross, mut n_sib) = (0usize, 0usize);
    // Parents of the non-zero rows, ascending, so the siblings after a row are contiguous.
    let parents: Vec<usize> = nonzero.iter().map(|&i| i / alpha).collect();
    upper_gram_rows(unit.t(), |a, row| {
        // row = cos(a, a..): row[1..=n_sib_a] are the later siblings of a, the rest other parents.
        let n_sib_a = parents[a + 1..].partition_point(|&p| p == parents[a]);
        let (sibs, others) = row[1..].split_at(n_sib_a);
        let clamp = |c: f64| c.clamp(-1.0, 1.0);
        signed += lane_sum(sibs, clamp) + lane_sum(others, clamp);
        sib += lane_sum(sibs, |c| clamp(c).abs());
        cross += lane_sum(others, |c| clamp(c).abs());
        n_sib += sibs.len();
        n_cross += others.len();
    });
    let pairs = n_cross + n_sib;
    let mean = |s: f64, n: usize| if n == 0 { 0.0 } else { s / n as f64 };
    Ok(CosineStats {
        mean_abs: mean(sib + cross, pairs),
        mean_signed: mean(signed, pairs),
        mean_abs_cross_parent: mean(cross, n_cross),
        mean_abs_siblings: mean(sib, n_sib),
        pairs,
        cross_parent_pairs: n_cross,
        zero_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use approx::assert_abs_diff_eq;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn siblings_with_disjoint_supports_are_orthogonal() {
        // Parent 0 = rows 0, 1; parent 1 = rows 2, 3 (alpha = 2). Each parent's children read
        // disjoint inputs, so sibling cosines are 0. Across parents:
        //   cos(r0, r2) = 1 (same row),  cos(r0, r3) = 0,  cos(r1, r2) = 0,
        //   cos(r1, r3) = (1·(-1)) / (1·1) = -1  (r1 = (0,0,1,0), r3 = (0,0,-1,0)).
        // Rows 4 and 5 (parent 2) are zero and skipped, so there are C(4,2) = 6 pairs:
        //   mean |cos| = (0 + 0 + 1 + 0 + 0 + 1) / 6 = 1/3,  signed = (1 - 1) / 6 = 0,
        //   cross-parent pairs = 4: mean |cos| = 2/4 = 1/2.
        let w = array![
            [1.0f32, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [2.0, 2.0, 0.0, 0.0],
            [0.0, 0.0, -3.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ];
        let s = cosine_stats(w.view(), 2).unwrap();
        assert_eq!((s.pairs, s.cross_parent_pairs, s.zero_rows), (6, 4, 2));
        assert_abs_diff_eq!(s.mean_abs, 1.0 / 3.0, epsilon = 1e-7);
        assert_abs_diff_eq!(s.mean_signed, 0.0, epsilon = 1e-7);
        assert_abs_diff_eq!(s.mean_abs_cross_parent, 0.5, epsilon = 1e-7);
        assert_eq!(s.mean_abs_siblings, 0.0);
        // alpha = 1: every neuron is its own parent, so cross-parent = all pairs.
        let s1 = cosine_stats(w.view(), 1).unwrap();
        assert_eq!(s1.cross_parent_pairs, 6);
        assert_abs_diff_eq!(s1.mean_abs_cross_parent, 1.0 / 3.0, epsilon = 1e-7);
    }

    #[test]
    fn forty_five_degrees() {
        // (1, 0) and (1, 1): cos = 1/√2. One pair.
        let s = cosine_stats(array![[1.0f32, 0.0], [1.0, 1.0]].view(), 1).unwrap();
        assert_abs_diff_eq!(
            s.mean_signed,
            std::f64::consts::FRAC_1_SQRT_2,
            epsilon = 1e-6
        );
    }

    #[test]
    fn degenerate_inputs() {
        let one = array![[1.0f32, 2.0], [0.0, 0.0]];
        let s = cosine_stats(one.view(), 1).unwrap();
        assert_eq!((s.pairs, s.mean_abs, s.zero_rows), (0, 0.0, 1));
        assert!(matches!(
            cosine_stats(one.view(), 0),
            Err(Error::ZeroAlpha { .. })
        ));
        assert!(matches!(
            cosine_stats(one.view(), 3),
            Err(Error::AlphaDivisor { .. })
        ));
    }

    proptest! {
        #[test]
        fn cosine_is_within_unit_interval(
            (h, d, v) in (1usize..10, 1usize..10).prop_flat_map(|(h, d)| {
                let value = prop_oneof![Just(0.0f32), -5.0f32..5.0];
                (Just(h), Just(d), proptest::collection::vec(value, h * d))
            })
        ) {
            let w = Array2::from_shape_vec((h, d), v).unwrap();
            let g = cosine_matrix(w.view());
            prop_assert!(g.iter().all(|c| (-1.0..=1.0).contains(c)));
            let s = cosine_stats(w.view(), 1).unwrap();
            prop_assert!((0.0..=1.0).contains(&s.mean_abs));
            prop_assert!((-1.0..=1.0).contains(&s.mean_signed));
            prop_assert!(s.mean_signed.abs() <= s.mean_abs + 1e-12);
        }
    }
}
