//! Clause collisions and clause coverage, measured from a layer's supports.
//!
//! A neuron's *support* is the set of inputs with a non-zero weight (or a `true` mask entry).
//! A neuron *covers* a clause when its support contains every literal of the clause; two
//! clauses *collide* in a neuron that covers both. After an expansion by α, neuron `i` is a
//! child of parent `i / α`, and the per-parent rates are the ones the closed forms in
//! [`predict_collisions`](crate::predict_collisions) predicts.

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Result, check_alpha, check_clauses};

/// Measured clause collisions and coverage of one layer.
///
/// Rates over no pair or no clause are 0 (never NaN); the counts say when that is so.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollisionStats {
    /// Number of clauses `m`.
    pub clauses: usize,
    /// Number of unordered clause pairs, `m(m−1)/2`.
    pub pairs: usize,
    /// Number of parents, `h / alpha`.
    pub parents: usize,
    /// Number of clause pairs that collide in at least one neuron.
    pub colliding_pairs: usize,
    /// `colliding_pairs / pairs`.
    pub collision_rate: f64,
    /// Mean over parents of the fraction of clause pairs that collide in at least one child of
    /// that parent (every parent counts, dead ones included).
    pub collision_rate_per_parent: f64,
    /// Number of clauses covered by at least one neuron.
    pub covered_clauses: usize,
    /// `covered_clauses / clauses`: fraction of clauses whose literals all lie in one
    /// neuron's support.
    pub coverage: f64,
    /// Mean over parents of the fraction of clauses covered by at least one child of that
    /// parent.
    pub coverage_per_parent: f64,
}

/// Collisions and coverage of the supports of a weight matrix (non-zero entries are active).
///
/// A 0/1 mask stored as `f32` works as well. `clauses[c]` lists the input indices of clause
/// `c`'s literals; neuron `i` has parent `i / alpha`.
///
/// # Shapes
/// - `w`: `[h, d]` (rows = neurons, columns = inputs)
///
/// # Errors
/// [`Error::ZeroAlpha`](crate::Error::ZeroAlpha), [`Error::AlphaDivisor`](crate::Error::AlphaDivisor)
/// if `alpha` is 0 or does not divide `h`; [`Error::EmptyClause`](crate::Error::EmptyClause) and
/// [`Error::ClauseIndex`](crate::Error::ClauseIndex) for a clause without literals or with a
/// literal index `≥ d`.
pub fn collisions(
    w: ArrayView2<'_, f32>,
    clauses: &[Vec<usize>],
    alpha: usize,
) -> Result<CollisionStats> {
    measure(
        "collisions",
        w.nrows(),
        w.ncols(),
        clauses,
        alpha,
        |n, lits| {
            let row = w.index_axis(Axis(0), n);
            lits.iter().all(|&i| row[i] != 0.0)
        },
    )
}

/// Collisions and coverage of a boolean mask (`true` = active).
///
/// # Shapes
/// - `mask`: `[h, d]` (rows = neurons, columns = inputs)
///
/// # Errors
/// As [`collisions`].
pub fn collisions_from_mask(
    mask: ArrayView2<'_, bool>,
    clauses: &[Vec<usize>],
    alpha: usize,
) -> Result<CollisionStats> {
    measure(
        "collisions_from_mask",
        mask.nrows(),
        mask.ncols(),
        clauses,
        alpha,
        |n, lits| {
            let row = mask.index_axis(Axis(0), n);
            lits.iter().all(|&i| row[i])
        },
    )
}

/// Shared body: `covers(n, lits)` says whether neuron `n`'s support contains all of `lits`.
fn measure(
    op: &'static str,
    neurons: usize,
    inputs: usize,
    clauses: &[Vec<usize>],
    alpha: usize,
    covers: impl Fn(usize, &[usize]) -> bool,
) -> Result<CollisionStats> {
    let parents = check_alpha(op, neurons, alpha)?;
    check_clauses(op, clauses, inputs)?;
    let m = clauses.len();
    let pairs = m * m.saturating_sub(1) / 2;
    // Pair (a, b), a < b, lives at a·m + b in these flags.
    let mut pair_anywhere = vec![false; m * m];
    let mut clause_anywhere = vec![false; m];
    let mut pair_here = vec![false; m * m];
    let mut clause_here = vec![false; m];
    let mut covered = Vec::with_capacity(m);
    let (mut parent_pairs, mut parent_clauses) = (0usize, 0usize);
    for p in 0..parents {
        pair_here.fill(false);
        clause_here.fill(false);
        for n in p * alpha..(p + 1) * alpha {
            covered.clear();
            covered.extend((0..m).filter(|&c| covers(n, &clauses[c])));
            for (x, &a) in covered.iter().enumerate() {
                clause_here[a] = true;
                for &b in &covered[x + 1..] {
                    pair_here[a * m + b] = true;
                }
            }
        }
        parent_pairs += pair_here.iter().filter(|&&f| f).count();
        parent_clauses += clause_here.iter().filter(|&&f| f).count();
        for (any, &here) in pair_anywhere.iter_mut().zip(&pair_here) {
            *any |= here;
        }
        for (any, &here) in clause_anywhere.iter_mut().zip(&clause_here) {
            *any |= here;
        }
    }
    let colliding_pairs = pair_anywhere.iter().filter(|&&f| f).count();
    let covered_clauses = clause_anywhere.iter().filter(|&&f| f).count();
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    Ok(CollisionStats {
        clauses: m,
        pairs,
        parents,
        colliding_pairs,
        collision_rate: ratio(colliding_pairs, pairs),
        collision_rate_per_parent: ratio(parent_pairs, pairs * parents),
        covered_clauses,
        coverage: ratio(covered_clauses, m),
        coverage_per_parent: ratio(parent_clauses, m * parents),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use ndarray::{Array2, array};

    /// Six inputs, three 2-literal clauses: A = {0, 1}, B = {2, 3}, C = {4, 5}.
    fn clauses() -> Vec<Vec<usize>> {
        vec![vec![0, 1], vec![2, 3], vec![4, 5]]
    }

    #[test]
    fn known_collision_case() {
        // Two parents of alpha = 2 children (rows 0–1 and 2–3):
        //   row 0 support {0,1,2,3}   covers A, B       → A–B collide (parent 0)
        //   row 1 support {4,5}       covers C
        //   row 2 support {0,1,4}     covers A
        //   row 3 support {2,3,4,5}   covers B, C       → B–C collide (parent 1)
        // Pairs: A–B, A–C, B–C (3). Colliding anywhere: A–B, B–C → 2/3.
        // Per parent: parent 0 has 1 of 3 pairs, parent 1 has 1 of 3 → mean 1/3.
        // Coverage: all three clauses covered → 1. Per parent: parent 0 covers A, B, C (3/3);
        // parent 1 covers A, B, C (3/3) → 1.
        let w = array![
            [1.0f32, 1.0, 1.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 1.0, 1.0],
            [1.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
        ];
        let s = collisions(w.view(), &clauses(), 2).unwrap();
        assert_eq!(
            (s.pairs, s.parents, s.colliding_pairs, s.covered_clauses),
            (3, 2, 2, 3)
        );
        assert_eq!(s.collision_rate, 2.0 / 3.0);
        assert_eq!(s.collision_rate_per_parent, 1.0 / 3.0);
        assert_eq!((s.coverage, s.coverage_per_parent), (1.0, 1.0));
        // alpha = 1: four parents; neuron pair counts 1, 0, 0, 1 → mean (1/3 + 1/3) / 4 = 1/6.
        let s1 = collisions(w.view(), &clauses(), 1).unwrap();
        assert_eq!(s1.collision_rate_per_parent, 1.0 / 6.0);
        // The same supports as a boolean mask give the same answer.
        let mask = w.mapv(|x| x != 0.0);
        assert_eq!(collisions_from_mask(mask.view(), &clauses(), 2).unwrap(), s);
    }

    #[test]
    fn known_coverage_case() {
        // One parent, alpha = 2, children split the inputs {0,1,2} | {3,4,5}:
        // child 0 covers A only ({2,3} is split across children), child 1 covers C only.
        // Coverage = 2/3 (B is never whole), no pair collides.
        let w = array![
            [0.5f32, -0.5, 2.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
        ];
        let s = collisions(w.view(), &clauses(), 2).unwrap();
        assert_eq!((s.covered_clauses, s.colliding_pairs), (2, 0));
        assert_eq!((s.coverage, s.coverage_per_parent), (2.0 / 3.0, 2.0 / 3.0));
        assert_eq!((s.collision_rate, s.collision_rate_per_parent), (0.0, 0.0));
        // A dense layer covers everything and every pair collides.
        let dense = Array2::<f32>::ones((3, 6));
        let d = collisions(dense.view(), &clauses(), 1).unwrap();
        assert_eq!(
            (d.collision_rate, d.collision_rate_per_parent, d.coverage),
            (1.0, 1.0, 1.0)
        );
    }

    #[test]
    fn errors_and_degenerate_inputs() {
        let w = Array2::<f32>::ones((4, 6));
        let e = collisions(w.view(), &[vec![0], vec![1, 6]], 2).unwrap_err();
        assert_eq!(
            e,
            Error::ClauseIndex {
                op: "collisions",
                clause: 1,
                index: 6,
                n_inputs: 6
            }
        );
        assert!(matches!(
            collisions(w.view(), &clauses(), 0),
            Err(Error::ZeroAlpha { .. })
        ));
        assert!(matches!(
            collisions(w.view(), &clauses(), 3),
            Err(Error::AlphaDivisor { .. })
        ));
        let none = collisions(w.view(), &[], 2).unwrap();
        assert_eq!(
            (none.pairs, none.collision_rate, none.coverage),
            (0, 0.0, 0.0)
        );
        let one = collisions(w.view(), &[vec![0, 1]], 2).unwrap();
        assert_eq!((one.pairs, one.collision_rate, one.coverage), (0, 0.0, 1.0));
    }
}
