//! Closed-form predictions for collisions and coverage after splitting a parent into α children.
//!
//! A parent's active inputs are divided among its α children, and we ask for the probability
//! that `n` given distinct inputs all land in the **same** child (any one of the α):
//!
//! - **Independent assignment** (each input picks one of α children uniformly and
//!   independently): `P = α · α^−n = α^−(n−1)`.
//! - **Balanced partition** (the parent's `d` active inputs are split into α groups whose sizes
//!   differ by at most one, uniformly at random, as the `random` strategy does): with group
//!   sizes `s_g` (`d mod α` groups of `⌈d/α⌉`, the rest `⌊d/α⌋`), the hypergeometric
//!   `P = Σ_g C(s_g, n) / C(d, n) = Σ_g Π_{t=0}^{n−1} (s_g − t)/(d − t)`. It is below the
//!   independent value and approaches it as `d → ∞`.
//!
//! Two literal-disjoint `k`-literal clauses *collide* in a child when all `n = 2k` literals land
//! in it: `α^−(2k−1)` independently. One clause is *covered* by a child when its `n = k`
//! literals land in it: `α^−(k−1)`. These hold for a parent whose support contains the
//! literals (e.g. a dense parent), and compare with the per-parent rates of
//! [`CollisionStats`](crate::CollisionStats).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, check_clauses};

/// Probability that `literals` given inputs land in the same child when each input is
/// assigned to one of `alpha` children independently and uniformly: `alpha^−(literals−1)`.
///
/// `literals = 0` returns 1 (vacuous).
///
/// # Errors
/// [`Error::ZeroAlpha`] if `alpha = 0`.
pub fn same_child_prob_independent(alpha: usize, literals: usize) -> Result<f64> {
    if alpha == 0 {
        return Err(Error::ZeroAlpha {
            op: "same_child_prob_independent",
        });
    }
    if literals == 0 {
        return Ok(1.0);
    }
    Ok((alpha as f64).powi(-((literals - 1) as i32)))
}

/// Probability that `literals` given distinct inputs land in the same group of a uniformly
/// random balanced partition of `inputs` inputs into `alpha` groups (sizes differ by at most
/// one): `Σ_g Π_{t=0}^{literals−1} (s_g − t)/(inputs − t)`.
///
/// `literals = 0` returns 1 (vacuous).
///
/// # Errors
/// [`Error::ZeroAlpha`] if `alpha = 0`; [`Error::TooManyLiterals`] if `literals > inputs`.
pub fn same_child_prob_balanced(inputs: usize, alpha: usize, literals: usize) -> Result<f64> {
    let op = "same_child_prob_balanced";
    if alpha == 0 {
        return Err(Error::ZeroAlpha { op });
    }
    if literals > inputs {
        return Err(Error::TooManyLiterals {
            op,
            literals,
            inputs,
        });
    }
    if literals == 0 {
        return Ok(1.0);
    }
    let (q, r) = (inputs / alpha, inputs % alpha);
    // Probability that all `literals` inputs fall into one given group of size `s`.
    let in_group = |s: usize| -> f64 {
        (0..literals)
            .map(|t| s.saturating_sub(t) as f64 / (inputs - t) as f64)
            .product()
    };
    Ok(r as f64 * in_group(q + 1) + (alpha - r) as f64 * in_group(q))
}

/// Independent-assignment probability that two literal-disjoint `k`-literal clauses land in the
/// same child: `alpha^−(2k−1)`.
///
/// # Errors
/// As [`same_child_prob_independent`].
pub fn collision_prob_independent(alpha: usize, k: usize) -> Result<f64> {
    same_child_prob_independent(alpha, 2 * k)
}

/// Balanced-partition probability that two literal-disjoint `k`-literal clauses land in the
/// same child of a parent with `inputs` active inputs (hypergeometric, `n = 2k`).
///
/// # Errors
/// As [`same_child_prob_balanced`] (`2k > inputs` is an error).
pub fn collision_prob_balanced(inputs: usize, alpha: usize, k: usize) -> Result<f64> {
    same_child_prob_balanced(inputs, alpha, 2 * k)
}

/// Independent-assignment probability that one `k`-literal clause lies wholly in one child:
/// `alpha^−(k−1)`.
///
/// # Errors
/// As [`same_child_prob_independent`].
pub fn coverage_prob_independent(alpha: usize, k: usize) -> Result<f64> {
    same_child_prob_independent(alpha, k)
}

/// Balanced-partition probability that one `k`-literal clause lies wholly in one child of a
/// parent with `inputs` active inputs.
///
/// # Errors
/// As [`same_child_prob_balanced`].
pub fn coverage_prob_balanced(inputs: usize, alpha: usize, k: usize) -> Result<f64> {
    same_child_prob_balanced(inputs, alpha, k)
}

/// Predicted per-parent collision and coverage rates for a concrete clause list.
///
/// Each clause pair uses `n = |literals of a ∪ literals of b|` (so clauses sharing literals are
/// handled), each clause `n = |its distinct literals|`; the values are means over pairs and
/// over clauses (0 when there is no pair or no clause), for parents whose support holds all
/// `inputs` inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollisionPrediction {
    /// Number of active inputs per parent assumed by the balanced model.
    pub inputs: usize,
    /// Expansion factor α.
    pub alpha: usize,
    /// Mean pair collision probability, independent assignment.
    pub collision_independent: f64,
    /// Mean pair collision probability, balanced partition.
    pub collision_balanced: f64,
    /// Mean clause coverage probability, independent assignment.
    pub coverage_independent: f64,
    /// Mean clause coverage probability, balanced partition.
    pub coverage_balanced: f64,
}

/// Predicted collision and coverage rates of `clauses` for parents of `inputs` active inputs
/// split into `alpha` children. Compare with
/// [`CollisionStats::collision_rate_per_parent`](crate::CollisionStats::collision_rate_per_parent)
/// and [`CollisionStats::coverage_per_parent`](crate::CollisionStats::coverage_per_parent).
///
/// # Shapes
/// - `clauses`: `[m]` lists of input indices, each `< inputs`.
///
/// # Errors
/// [`Error::ZeroAlpha`] if `alpha = 0`; [`Error::EmptyClause`] and [`Error::ClauseIndex`] for a
/// clause without literals or with a literal index `≥ inputs`.
pub fn predict_collisions(
    clauses: &[Vec<usize>],
    inputs: usize,
    alpha: usize,
) -> Result<CollisionPrediction> {
    let op = "predict_collisions";
    if alpha == 0 {
        return Err(Error::ZeroAlpha { op });
    }
    check_clauses(op, clauses, inputs)?;
    let sets: Vec<Vec<usize>> = clauses
        .iter()
        .map(|c| {
            let mut s = c.clone();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    let (mut ind, mut bal, mut pairs) = (0.0f64, 0.0f64, 0usize);
    for (a, sa) in sets.iter().enumerate() {
        for sb in &sets[a + 1..] {
            let n = sa.len() + sb.iter().filter(|i| sa.binary_search(i).is_err()).count();
            ind += same_child_prob_independent(alpha, n)?;
            bal += same_child_prob_balanced(inputs, alpha, n)?;
            pairs += 1;
        }
    }
    let (mut cov_ind, mut cov_bal) = (0.0f64, 0.0f64);
    for s in &sets {
        cov_ind += same_child_prob_independent(alpha, s.len())?;
        cov_bal += same_child_prob_balanced(inputs, alpha, s.len())?;
    }
    let mean = |x: f64, n: usize| if n == 0 { 0.0 } else { x / n as f64 };
    Ok(CollisionPrediction {
        inputs,
        alpha,
        collision_independent: mean(ind, pairs),
        collision_balanced: mean(bal, pairs),
        coverage_independent: mean(cov_ind, sets.len()),
        coverage_balanced: mean(cov_bal, sets.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::{assert_abs_diff_eq, assert_relative_eq};
    use rand::seq::SliceRandom;
    use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};

    #[test]
    fn hand_worked_values() {
        // alpha = 2, k = 2: independent 2^-(4-1) = 1/8.
        assert_eq!(collision_prob_independent(2, 2).unwrap(), 0.125);
        assert_eq!(coverage_prob_independent(4, 3).unwrap(), 1.0 / 16.0);
        // d = 4 inputs into 2 groups of 2, n = 2: P(second lands with first) = 1/3.
        // Formula: 2 · (2·1)/(4·3) = 1/3.
        assert_abs_diff_eq!(
            same_child_prob_balanced(4, 2, 2).unwrap(),
            1.0 / 3.0,
            epsilon = 1e-15
        );
        // d = 5 into groups {3, 2}, n = 2: (3·2 + 2·1) / (5·4) = 8/20 = 2/5.
        assert_abs_diff_eq!(
            same_child_prob_balanced(5, 2, 2).unwrap(),
            0.4,
            epsilon = 1e-15
        );
        // d = 8, alpha = 2, k = 2 (n = 4): 2 · C(4,4)/C(8,4) = 2/70.
        assert_abs_diff_eq!(
            collision_prob_balanced(8, 2, 2).unwrap(),
            2.0 / 70.0,
            epsilon = 1e-15
        );
        // One input always lands with itself; alpha = 1 keeps everything together.
        assert_eq!(same_child_prob_balanced(7, 3, 1).unwrap(), 1.0);
        assert_abs_diff_eq!(
            same_child_prob_balanced(7, 1, 5).unwrap(),
            1.0,
            epsilon = 1e-15
        );
        assert_eq!(same_child_prob_independent(1, 6).unwrap(), 1.0);
        assert_eq!(same_child_prob_independent(3, 0).unwrap(), 1.0);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            collision_prob_independent(0, 2),
            Err(Error::ZeroAlpha { .. })
        ));
        assert!(matches!(
            collision_prob_balanced(8, 0, 2),
            Err(Error::ZeroAlpha { .. })
        ));
        assert!(matches!(
            collision_prob_balanced(5, 2, 3),
            Err(Error::TooManyLiterals {
                literals: 6,
                inputs: 5,
                ..
            })
        ));
        assert!(matches!(
            predict_collisions(&[vec![]], 4, 2),
            Err(Error::EmptyClause { .. })
        ));
    }

    #[test]
    fn balanced_tends_to_independent() {
        for alpha in [2, 4, 8] {
            for k in [2, 3, 4] {
                let ind = collision_prob_independent(alpha, k).unwrap();
                let mut gap = f64::INFINITY;
                for d in [64, 1_024, 1 << 16, 1 << 22] {
                    let bal = collision_prob_balanced(d, alpha, k).unwrap();
                    assert!(bal < ind, "balanced {bal} ≥ independent {ind}");
                    assert!(ind - bal < gap, "gap must shrink as d grows");
                    gap = ind - bal;
                }
                assert_relative_eq!(gap / ind, 0.0, epsilon = 1e-4);
            }
        }
    }

    #[test]
    fn prediction_for_a_clause_list() {
        // Two disjoint 2-literal clauses and one sharing a literal with the first:
        // pairs have unions of size 4, 3, 4; alpha = 2 independent: (1/8 + 1/4 + 1/8) / 3 = 1/6.
        // Coverage: every clause has 2 literals: 1/2.
        let clauses = vec![vec![0, 1], vec![2, 3], vec![1, 4, 4]];
        let p = predict_collisions(&clauses, 64, 2).unwrap();
        assert_abs_diff_eq!(p.collision_independent, 1.0 / 6.0, epsilon = 1e-15);
        assert_abs_diff_eq!(p.coverage_independent, 0.5, epsilon = 1e-15);
        assert!(p.collision_balanced < p.collision_independent);
        let none = predict_collisions(&[], 64, 2).unwrap();
        assert_eq!(
            (none.collision_balanced, none.coverage_balanced),
            (0.0, 0.0)
        );
    }

    #[test]
    fn balanced_formula_matches_monte_carlo() {
        // Simulate the `random` strategy: shuffle d = 64 group labels (sizes differ by at most
        // one) and ask whether the fixed inputs 0..2k all share a label.
        const D: usize = 64;
        const TRIALS: usize = 20_000;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for alpha in [2usize, 4, 8] {
            let mut labels: Vec<usize> = (0..D).map(|i| i % alpha).collect();
            for k in [2usize, 3, 4] {
                let n = 2 * k;
                let hits = (0..TRIALS)
                    .filter(|_| {
                        labels.shuffle(&mut rng);
                        labels[1..n].iter().all(|&g| g == labels[0])
                    })
                    .count();
                let p = collision_prob_balanced(D, alpha, k).unwrap();
                let freq = hits as f64 / TRIALS as f64;
                // Standard error of the frequency, floored at one count so that tiny p (alpha = 8,
                // k = 4: p ≈ 1e-7) does not demand zero hits.
                let se = (p * (1.0 - p) / TRIALS as f64)
                    .sqrt()
                    .max(1.0 / TRIALS as f64);
                assert!(
                    (freq - p).abs() <= 3.0 * se,
                    "alpha {alpha}, k {k}: empirical {freq} vs formula {p} (se {se})"
                );
            }
        }
    }
}
