//! Participation-ratio dimension of hidden activations.
//!
//! With `λ` the eigenvalues of the activation covariance, `PR = (Σλ)² / Σλ²`: 1 when one
//! direction carries all the variance, `h` when the variance is isotropic. No eigendecomposition
//! is needed: `Σλ = trace(Cov)` and `Σλ² = ‖Cov‖_F²`. PR is scale-free, so the `1/(N−1)` of the
//! covariance cancels and the unnormalised scatter `XcᵀXc` is used.

use ndarray::{Array1, ArrayView2, Axis};

use crate::gram::{lane_sum, padded_map, padded_rows, upper_gram_rows};

/// Participation-ratio dimension `(Σλ)² / Σλ²` of the covariance of `acts`.
///
/// Returns 0 when the covariance is zero (no samples, one sample, or constant activations)
/// instead of NaN; otherwise the value lies in `[1, min(N − 1, h)]`.
///
/// # Shapes
/// - `acts`: `[N, h]` (rows = samples, columns = neurons)
pub fn participation_ratio(acts: ArrayView2<'_, f32>) -> f64 {
    let (n, h) = acts.dim();
    if n == 0 || h == 0 {
        return 0.0;
    }
    // Centre each neuron (means summed in f64), store in f32 for the matrix product.
    let mut mean = Array1::<f64>::zeros(h);
    for row in acts.axis_iter(Axis(0)) {
        mean.zip_mut_with(&row, |m, &a| *m += f64::from(a));
    }
    mean /= n as f64;
    let mean = mean.mapv(|m| m as f32);
    // Centred copy, and each neuron's sum of squares (the diagonal of the scatter matrix).
    let mut var = Array1::<f64>::zeros(h);
    let mut xc = padded_rows(n, h, |s, buf| {
        for ((&a, &m), v) in acts.row(s).iter().zip(&mean).zip(&mut var) {
            let c = a - m;
            buf.push(c);
            *v += f64::from(c) * f64::from(c);
        }
    });
    let trace = var.sum();
    if trace == 0.0 {
        return 0.0;
    }
    // Neurons with zero variance (dead or constant) add nothing to either sum: drop them.
    let live: Vec<usize> = (0..h).filter(|&j| var[j] > 0.0).collect();
    if live.len() < h {
        xc = padded_map(xc.select(Axis(1), &live).view(), |x| x);
    }
    // Cov ∝ XcᵀXc ([h, h]) and XcXcᵀ ([N, N]) share their non-zero eigenvalues, so use the
    // smaller one: its columns are those of `a`.
    let a = if live.len() <= n { xc.view() } else { xc.t() };
    let frob = gram_frobenius_sq(a);
    if frob == 0.0 {
        0.0
    } else {
        trace * trace / frob
    }
}

/// `‖AᵀA‖_F²` for `a`: `[rows, cols]`, from the upper triangle of `AᵀA` (entry squares in f64).
fn gram_frobenius_sq(a: ArrayView2<'_, f32>) -> f64 {
    let mut total = 0.0f64;
    upper_gram_rows(a, |_, row| {
        let diag = f64::from(row[0]);
        // Off-diagonal entries appear twice in the symmetric matrix.
        total += diag * diag + 2.0 * lane_sum(&row[1..], |x| x * x);
    });
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::{Array2, array};
    use proptest::prelude::*;
    use rand::Rng;
    use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};

    #[test]
    fn isotropic_data_has_full_dimension() {
        // Rows ±e_i: every neuron has mean 0 and the same variance, and neurons are
        // uncorrelated, so Cov = c·I with h equal eigenvalues: PR = (h c)² / (h c²) = h = 3.
        let x = array![
            [1.0f32, 0.0, 0.0],
            [-1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, -1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, -1.0],
        ];
        assert_abs_diff_eq!(participation_ratio(x.view()), 3.0, epsilon = 1e-12);
        // A dead neuron (constant column) adds a zero eigenvalue: PR stays 3.
        let mut dead = Array2::from_elem((6, 5), 0.25f32);
        dead.slice_axis_mut(Axis(1), (1..4).into()).assign(&x);
        assert_abs_diff_eq!(participation_ratio(dead.view()), 3.0, epsilon = 1e-12);
    }

    #[test]
    fn rank_one_data_has_dimension_one() {
        // Every row is t·(1, -2, 3, 0) + offset: the centred data is rank 1, so Cov has a single
        // non-zero eigenvalue λ and PR = λ² / λ² = 1.
        let x = Array2::from_shape_fn((7, 4), |(t, j)| t as f32 * [1.0, -2.0, 3.0, 0.0][j] + 5.0);
        assert_abs_diff_eq!(participation_ratio(x.view()), 1.0, epsilon = 1e-9);
    }

    #[test]
    fn two_unequal_directions() {
        // Variances 4 and 1 along two uncorrelated neurons: PR = (4 + 1)² / (16 + 1) = 25/17.
        let x = array![[2.0f32, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]];
        assert_abs_diff_eq!(participation_ratio(x.view()), 25.0 / 17.0, epsilon = 1e-12);
    }

    #[test]
    fn zero_covariance_is_zero() {
        assert_eq!(
            participation_ratio(Array2::<f32>::zeros((0, 4)).view()),
            0.0
        );
        assert_eq!(participation_ratio(array![[1.0f32, 2.0]].view()), 0.0);
        assert_eq!(
            participation_ratio(Array2::from_elem((5, 3), 7.0f32).view()),
            0.0
        );
    }

    #[test]
    fn blocked_product_matches_direct() {
        // More than one block in both orientations (h > N and h < N).
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (n, h) in [(300, 200), (150, 290)] {
            let x = Array2::from_shape_fn((n, h), |_| rng.random_range(-1.0f32..1.0));
            let a = x.mapv(f64::from);
            let g = a.t().dot(&a);
            let direct: f64 = g.iter().map(|v| v * v).sum();
            let blocked = gram_frobenius_sq(x.view());
            assert_abs_diff_eq!(blocked / direct, 1.0, epsilon = 1e-5);
        }
        // Isotropic Gaussian-like data of 4096 samples: PR close to h = 32.
        let x = Array2::from_shape_fn((4096, 32), |_| rng.random_range(-1.0f32..1.0));
        let pr = participation_ratio(x.view());
        assert!(pr > 30.0 && pr <= 32.0, "{pr}");
    }

    proptest! {
        #[test]
        fn dimension_between_one_and_width(
            (n, h, v) in (2usize..12, 1usize..8).prop_flat_map(|(n, h)| {
                (Just(n), Just(h), proptest::collection::vec(-3.0f32..3.0, n * h))
            })
        ) {
            let x = Array2::from_shape_vec((n, h), v).unwrap();
            let pr = participation_ratio(x.view());
            // Random continuous data is non-degenerate: PR in [1, h].
            prop_assert!(pr >= 1.0 - 1e-6 && pr <= h as f64 + 1e-6, "PR {pr} for h {h}");
        }
    }
}
