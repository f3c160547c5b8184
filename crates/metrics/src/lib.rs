//! Polysemanticity and interference metrics for Fixed Parameter Expansion (SPEC §7), for any
//! weight matrix: yours, one exported by `fpe export`, or one from numpy or PyTorch.
//!
//! The crate reads plain arrays: a layer's (masked) incoming weight `[h, d]` (rows = neurons,
//! columns = inputs), hidden activations `[N, h]` (rows = samples), a clause-satisfaction
//! matrix `[N, m]`, and clauses as lists of input indices. It depends on no other workspace
//! crate. Storage is `f32`; sums that need it run in `f64`. No metric returns NaN: degenerate
//! cases (zero columns, zero rows, no pairs, zero covariance) give documented values.
//!
//! After an expansion by α, neuron `i` is child `i mod α` of parent `i / α`.
//!
//! | metric | function |
//! |---|---|
//! | feature capacity `C_i` (Scherlis et al. 2022) | [`feature_capacity`], [`capacity_stats`] |
//! | neuron cosine (absolute, signed, cross-parent) | [`cosine_stats`], [`cosine_matrix`] |
//! | clause collisions and coverage, measured | [`collisions`], [`collisions_from_mask`] |
//! | collisions and coverage, closed form | [`collision_prob_independent`], [`collision_prob_balanced`], [`predict_collisions`] |
//! | activation polysemanticity (clauses per responsive neuron) | [`activation_polysemanticity`] |
//! | participation-ratio dimension | [`participation_ratio`] |
//! | fold-change regression | [`linear_regression`] |
//! | everything at once, serialisable | [`MetricReport::compute`] |
//!
//! The main types are the input builder [`ReportInput`], the serialisable [`MetricReport`] and
//! its parts ([`CapacityStats`], [`CosineStats`], [`CollisionStats`], [`CollisionPrediction`],
//! [`Polysemanticity`], [`Regression`]), and [`Error`], which names the function, argument and
//! offending value. `cargo run -p fpe-metrics --example metric_report [-- model.npz]` prints the
//! report of an exported model or of a random FPE-shaped layer.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use fpe_metrics::{MetricReport, ReportInput, collision_prob_independent};
//! use ndarray::array;
//!
//! // Weights [h, d] = [4, 4]: two parents of α = 2 children; siblings read disjoint inputs.
//! let w = array![
//!     [1.0f32, 1.0, 0.0, 0.0],
//!     [0.0, 0.0, 1.0, 1.0],
//!     [1.0, 0.0, 1.0, 0.0],
//!     [0.0, 1.0, 0.0, 1.0],
//! ];
//! let clauses = vec![vec![0, 1], vec![2, 3]]; // input indices of each clause's literals
//! let report = MetricReport::compute(&ReportInput::new(w.view()).clauses(&clauses).alpha(2))?;
//! assert_eq!(report.cosine.mean_abs_siblings, 0.0);
//! assert_eq!(report.collisions.as_ref().map(|c| c.coverage), Some(1.0));
//! assert_eq!(collision_prob_independent(2, 2)?, 0.125); // 2^-(2·2−1)
//! println!("mean capacity {:.3}", report.capacity.mean);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

mod capacity;
mod collisions;
mod cosine;
mod dimension;
mod error;
mod gram;
mod polysemanticity;
mod regression;
mod report;
mod theory;

pub use capacity::{CapacityStats, capacity_stats, feature_capacity, literal_inputs};
pub use collisions::{CollisionStats, collisions, collisions_from_mask};
pub use cosine::{CosineStats, cosine_matrix, cosine_stats};
pub use dimension::participation_ratio;
pub use error::{Error, Result};
pub use polysemanticity::{
    DEFAULT_TAU, Polysemanticity, activation_polysemanticity, exclusive_means,
};
pub use regression::{Regression, linear_regression};
pub use report::{MetricReport, ReportInput};
pub use theory::{
    CollisionPrediction, collision_prob_balanced, collision_prob_independent,
    coverage_prob_balanced, coverage_prob_independent, predict_collisions,
    same_child_prob_balanced, same_child_prob_independent,
};
