//! One serialisable report gathering every metric of a trained model's first hidden layer.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::capacity::{CapacityStats, capacity_stats, literal_inputs};
use crate::collisions::{CollisionStats, collisions};
use crate::cosine::{CosineStats, cosine_stats};
use crate::dimension::participation_ratio;
use crate::error::{Error, Result, check_alpha, check_clauses, check_tau};
use crate::polysemanticity::{DEFAULT_TAU, Polysemanticity, activation_polysemanticity};
use crate::theory::{CollisionPrediction, predict_collisions};

/// What [`MetricReport::compute`] reads; build it with [`ReportInput::new`] and the setters.
#[derive(Clone, Copy, Debug)]
pub struct ReportInput<'a> {
    /// First-layer weight, already masked: `[h, d]` (rows = neurons, columns = inputs).
    pub weights: ArrayView2<'a, f32>,
    /// Input indices of each clause's literals, if the task has clauses.
    pub clauses: Option<&'a [Vec<usize>]>,
    /// Expansion factor α (neuron `i` has parent `i / α`); 1 if the layer was not expanded.
    pub alpha: usize,
    /// Hidden activations after the nonlinearity: `[N, h]`.
    pub activations: Option<ArrayView2<'a, f32>>,
    /// Which clauses hold on each sample: `[N, m]`; needs `activations`.
    pub satisfied: Option<ArrayView2<'a, bool>>,
    /// Response threshold τ of the activation polysemanticity, in `(0, 1]`.
    pub tau: f32,
}

impl<'a> ReportInput<'a> {
    /// Weights only, `alpha = 1`, `tau = `[`DEFAULT_TAU`].
    ///
    /// # Shapes
    /// - `weights`: `[h, d]`
    pub fn new(weights: ArrayView2<'a, f32>) -> Self {
        Self {
            weights,
            clauses: None,
            alpha: 1,
            activations: None,
            satisfied: None,
            tau: DEFAULT_TAU,
        }
    }

    /// Sets the clause list (`clauses[c]` = input indices of clause `c`'s literals).
    pub fn clauses(mut self, clauses: &'a [Vec<usize>]) -> Self {
        self.clauses = Some(clauses);
        self
    }

    /// Sets the expansion factor α.
    pub fn alpha(mut self, alpha: usize) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets the hidden activations, `[N, h]`.
    pub fn activations(mut self, activations: ArrayView2<'a, f32>) -> Self {
        self.activations = Some(activations);
        self
    }

    /// Sets the clause-satisfaction matrix, `[N, m]`.
    pub fn satisfied(mut self, satisfied: ArrayView2<'a, bool>) -> Self {
        self.satisfied = Some(satisfied);
        self
    }

    /// Sets the response threshold τ.
    pub fn tau(mut self, tau: f32) -> Self {
        self.tau = tau;
        self
    }
}

/// Every metric of SPEC §7 for one layer. Parts whose inputs were not given are `None`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricReport {
    /// Number of neurons `h`.
    pub neurons: usize,
    /// Number of inputs `d`.
    pub inputs: usize,
    /// Expansion factor α used for parents.
    pub alpha: usize,
    /// Feature capacity; `mean_literals` is over the clause literals when clauses are given.
    pub capacity: CapacityStats,
    /// Neuron cosine similarity.
    pub cosine: CosineStats,
    /// Measured collisions and coverage (needs clauses).
    pub collisions: Option<CollisionStats>,
    /// Closed-form per-parent predictions for the same clauses, for parents whose support holds
    /// all `d` inputs (needs clauses).
    pub collision_theory: Option<CollisionPrediction>,
    /// Activation polysemanticity (needs activations and the satisfaction matrix).
    pub polysemanticity: Option<Polysemanticity>,
    /// Participation-ratio dimension of the activations (needs activations).
    pub dimension: Option<f64>,
}

impl MetricReport {
    /// Computes every metric whose inputs `input` holds.
    ///
    /// # Shapes
    /// - `weights`: `[h, d]`; `activations`: `[N, h]`; `satisfied`: `[N, m]` with `m` the
    ///   number of clauses when clauses are given.
    ///
    /// # Errors
    /// [`Error::ZeroAlpha`] / [`Error::AlphaDivisor`] for a bad α; [`Error::Tau`] for τ outside
    /// `(0, 1]`; [`Error::EmptyClause`] / [`Error::ClauseIndex`] for a bad clause;
    /// [`Error::Shape`] when activations or the satisfaction matrix do not fit;
    /// [`Error::MissingInput`] for a satisfaction matrix without activations.
    pub fn compute(input: &ReportInput<'_>) -> Result<Self> {
        let op = "MetricReport::compute";
        let w = input.weights;
        let (h, d) = w.dim();
        check_alpha(op, h, input.alpha)?;
        check_tau(op, input.tau)?;
        if let Some(clauses) = input.clauses {
            check_clauses(op, clauses, d)?;
        }
        if let Some(acts) = input.activations {
            if acts.ncols() != h {
                return Err(Error::Shape {
                    op,
                    what: "activations",
                    expected: vec![acts.nrows(), h],
                    got: acts.shape().to_vec(),
                });
            }
        }
        if let (Some(sat), Some(clauses)) = (input.satisfied, input.clauses) {
            if sat.ncols() != clauses.len() {
                return Err(Error::Shape {
                    op,
                    what: "satisfied",
                    expected: vec![sat.nrows(), clauses.len()],
                    got: sat.shape().to_vec(),
                });
            }
        }
        let polysemanticity = match (input.activations, input.satisfied) {
            (Some(acts), Some(sat)) => Some(activation_polysemanticity(acts, sat, input.tau)?),
            (None, Some(_)) => {
                return Err(Error::MissingInput {
                    op,
                    given: "satisfied",
                    missing: "activations",
                });
            }
            _ => None,
        };
        let literals = input.clauses.map(literal_inputs);
        Ok(Self {
            neurons: h,
            inputs: d,
            alpha: input.alpha,
            capacity: capacity_stats(w, literals.as_deref())?,
            cosine: cosine_stats(w, input.alpha)?,
            collisions: input
                .clauses
                .map(|c| collisions(w, c, input.alpha))
                .transpose()?,
            collision_theory: input
                .clauses
                .map(|c| predict_collisions(c, d, input.alpha))
                .transpose()?,
            polysemanticity,
            dimension: input.activations.map(participation_ratio),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn report_gathers_every_part() {
        // Two parents (alpha = 2) over 4 inputs; children split {0,1} | {2,3}.
        // Clauses {0,1} and {2,3}: each covered by one child, never together → no collision.
        let w = array![
            [1.0f32, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 1.0],
            [2.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 1.0, 1.0]
        ];
        let clauses = vec![vec![0, 1], vec![2, 3]];
        let acts = array![
            [1.0f32, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 1.0]
        ];
        let sat = array![[true, false], [false, true], [false, false]];
        let input = ReportInput::new(w.view())
            .clauses(&clauses)
            .alpha(2)
            .activations(acts.view())
            .satisfied(sat.view());
        let r = MetricReport::compute(&input).unwrap();
        assert_eq!((r.neurons, r.inputs, r.alpha), (4, 4, 2));
        let c = r.collisions.as_ref().unwrap();
        assert_eq!((c.colliding_pairs, c.covered_clauses), (0, 2));
        // Neuron 0 responds to clause 0, neuron 1 to clause 1, neurons 2, 3 to none.
        let p = r.polysemanticity.as_ref().unwrap();
        assert_eq!(p.clauses_per_neuron, vec![1, 1, 0, 0]);
        assert!(r.dimension.unwrap() >= 1.0);
        assert_eq!(
            r.collision_theory.as_ref().unwrap().collision_independent,
            0.125
        );
        assert!(r.capacity.mean_literals.is_some());
        // Weights alone: optional parts are None.
        let bare = MetricReport::compute(&ReportInput::new(w.view())).unwrap();
        assert!(bare.collisions.is_none() && bare.polysemanticity.is_none());
        assert!(bare.dimension.is_none() && bare.capacity.mean_literals.is_none());
    }

    #[test]
    fn report_rejects_bad_inputs() {
        let w = Array2::<f32>::ones((4, 3));
        let clauses = vec![vec![0, 3]];
        let base = ReportInput::new(w.view());
        let bad_clause = MetricReport::compute(&base.clauses(&clauses)).unwrap_err();
        assert!(matches!(
            bad_clause,
            Error::ClauseIndex {
                clause: 0,
                index: 3,
                ..
            }
        ));
        assert!(matches!(
            MetricReport::compute(&base.alpha(0)),
            Err(Error::ZeroAlpha { .. })
        ));
        assert!(matches!(
            MetricReport::compute(&base.tau(1.5)),
            Err(Error::Tau { .. })
        ));
        let acts = Array2::<f32>::zeros((5, 2));
        let e = MetricReport::compute(&base.activations(acts.view())).unwrap_err();
        assert_eq!(
            e,
            Error::Shape {
                op: "MetricReport::compute",
                what: "activations",
                expected: vec![5, 4],
                got: vec![5, 2]
            }
        );
        let sat = Array2::from_elem((5, 2), false);
        assert!(matches!(
            MetricReport::compute(&base.satisfied(sat.view())),
            Err(Error::MissingInput { .. })
        ));
    }
}
