//! Activation-based polysemanticity: how many clauses each neuron responds to.
//!
//! For clause `c`, `S_c` is the set of samples on which `c` and no other clause holds. Neuron
//! `a` *responds* to `c` when its mean activation over `S_c` is positive and at least `τ` times
//! its largest such mean over all clauses. A monosemantic neuron responds to one clause; the
//! report is the mean number of clauses per responsive neuron.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, check_tau};

/// Default response threshold τ (SPEC §7).
pub const DEFAULT_TAU: f32 = 0.5;

/// Activation polysemanticity of one hidden layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Polysemanticity {
    /// The response threshold τ used.
    pub tau: f32,
    /// Mean number of clauses per responsive neuron (0 when no neuron responds).
    pub mean_clauses_per_responsive: f64,
    /// Number of neurons that respond to at least one clause.
    pub responsive_neurons: usize,
    /// Number of clauses each neuron responds to (length `h`).
    pub clauses_per_neuron: Vec<usize>,
    /// `|S_c|` for every clause (length `m`).
    pub exclusive_samples: Vec<usize>,
    /// Number of clauses skipped because `S_c` is empty.
    pub skipped_clauses: usize,
}

/// Mean activation of every neuron over each clause's exclusive samples `S_c`, in f64.
///
/// Returns the means `[m, h]` (rows of clauses with empty `S_c` are 0) and `|S_c|` per clause.
///
/// # Shapes
/// - `acts`: `[N, h]`, `satisfied`: `[N, m]` → returns (`[m, h]`, `[m]`)
///
/// # Errors
/// [`Error::Shape`] if the two arrays have different numbers of samples.
pub fn exclusive_means(
    acts: ArrayView2<'_, f32>,
    satisfied: ArrayView2<'_, bool>,
) -> Result<(Array2<f64>, Vec<usize>)> {
    if acts.nrows() != satisfied.nrows() {
        return Err(Error::Shape {
            op: "exclusive_means",
            what: "satisfied",
            expected: vec![acts.nrows(), satisfied.ncols()],
            got: satisfied.shape().to_vec(),
        });
    }
    let (m, h) = (satisfied.ncols(), acts.ncols());
    let mut sums = Array2::<f64>::zeros((m, h));
    let mut counts = vec![0usize; m];
    for (row, sat) in acts.axis_iter(Axis(0)).zip(satisfied.axis_iter(Axis(0))) {
        let mut held = sat.iter().enumerate().filter(|&(_, &s)| s).map(|(c, _)| c);
        let (Some(c), None) = (held.next(), held.next()) else {
            continue;
        };
        counts[c] += 1;
        sums.row_mut(c)
            .zip_mut_with(&row, |s, &a| *s += f64::from(a));
    }
    for (mut row, &n) in sums.axis_iter_mut(Axis(0)).zip(&counts) {
        if n > 0 {
            row /= n as f64;
        }
    }
    Ok((sums, counts))
}

/// Activation polysemanticity of hidden activations given which clauses each sample satisfies.
///
/// Clauses with empty `S_c` are skipped (and counted).
///
/// # Shapes
/// - `acts`: `[N, h]` hidden activations (after the nonlinearity)
/// - `satisfied`: `[N, m]`, `satisfied[[s, c]]` = clause `c` holds on sample `s`
///
/// # Errors
/// [`Error::Tau`] if `tau` is not in `(0, 1]`; [`Error::Shape`] if the sample counts differ.
pub fn activation_polysemanticity(
    acts: ArrayView2<'_, f32>,
    satisfied: ArrayView2<'_, bool>,
    tau: f32,
) -> Result<Polysemanticity> {
    check_tau("activation_polysemanticity", tau)?;
    let (means, counts) = exclusive_means(acts, satisfied)?;
    let live: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] > 0).collect();
    let clauses_per_neuron: Vec<usize> = means
        .axis_iter(Axis(1))
        .map(|col| {
            let best = live
                .iter()
                .map(|&c| col[c])
                .fold(f64::NEG_INFINITY, f64::max);
            let bar = f64::from(tau) * best;
            live.iter()
                .filter(|&&c| col[c] > 0.0 && col[c] >= bar)
                .count()
        })
        .collect();
    let responsive_neurons = clauses_per_neuron.iter().filter(|&&n| n > 0).count();
    let total: usize = clauses_per_neuron.iter().sum();
    Ok(Polysemanticity {
        tau,
        mean_clauses_per_responsive: if responsive_neurons == 0 {
            0.0
        } else {
            total as f64 / responsive_neurons as f64
        },
        responsive_neurons,
        clauses_per_neuron,
        skipped_clauses: counts.len() - live.len(),
        exclusive_samples: counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_worked_polysemanticity() {
        // Three clauses, three neurons, six samples.
        //   sample: clauses held → S_c membership
        //   0: {0}    → S_0      1: {0}    → S_0
        //   2: {1}    → S_1      3: {0, 1} → none (two clauses hold)
        //   4: {}     → none     5: {} → none; clause 2 never holds alone → skipped.
        let sat = array![
            [true, false, false],
            [true, false, false],
            [false, true, false],
            [true, true, false],
            [false, false, false],
            [false, false, false],
        ];
        let acts = array![
            [2.0f32, 1.0, 0.0],
            [4.0, 1.0, 0.0],
            [1.0, 0.4, 0.0],
            [9.0, 9.0, 9.0],
            [5.0, 5.0, 5.0],
            [5.0, 5.0, 5.0],
        ];
        // Means over S_0 = {0, 1}: (3, 1, 0); over S_1 = {2}: (1, 0.4, 0).
        // Neuron 0: max 3, bar 1.5 → responds to clause 0 only (1 < 1.5).
        // Neuron 1: max 1, bar 0.5 → clause 0 only (0.4 < 0.5).
        // Neuron 2: all means 0 → not responsive.
        let p = activation_polysemanticity(acts.view(), sat.view(), 0.5).unwrap();
        assert_eq!(p.clauses_per_neuron, vec![1, 1, 0]);
        assert_eq!((p.responsive_neurons, p.skipped_clauses), (2, 1));
        assert_eq!(p.exclusive_samples, vec![2, 1, 0]);
        assert_eq!(p.mean_clauses_per_responsive, 1.0);
        // τ = 0.3: neuron 0 bar 0.9 → clauses 0 and 1; neuron 1 bar 0.3 → clauses 0 and 1.
        // Mean = (2 + 2) / 2 = 2.
        let p = activation_polysemanticity(acts.view(), sat.view(), 0.3).unwrap();
        assert_eq!(p.clauses_per_neuron, vec![2, 2, 0]);
        assert_eq!(p.mean_clauses_per_responsive, 2.0);
    }

    #[test]
    fn errors_and_empty() {
        let acts = array![[1.0f32], [2.0]];
        let sat = array![[true], [false], [true]];
        let e = activation_polysemanticity(acts.view(), sat.view(), 0.5).unwrap_err();
        assert_eq!(
            e,
            Error::Shape {
                op: "exclusive_means",
                what: "satisfied",
                expected: vec![2, 1],
                got: vec![3, 1]
            }
        );
        let sat = array![[false], [false]];
        assert!(matches!(
            activation_polysemanticity(acts.view(), sat.view(), 0.0),
            Err(Error::Tau { .. })
        ));
        let p = activation_polysemanticity(acts.view(), sat.view(), 1.0).unwrap();
        assert_eq!((p.responsive_neurons, p.skipped_clauses), (0, 1));
        assert_eq!(p.mean_clauses_per_responsive, 0.0);
    }
}
