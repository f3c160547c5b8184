//! The metric report (fpe-metrics) of a trained model's first layer, into a result row.

use crate::error::{Context, Result};
use fpe_datasets::Dataset;
use fpe_metrics::{MetricReport, ReportInput};
use fpe_model::Mlp;
use ndarray::Array2;

use crate::results::RunRow;

/// Clause-satisfaction matrix `[N, m]` of a Boolean task's test split (`None` otherwise).
pub(crate) fn test_satisfaction(data: &Dataset) -> Option<Array2<bool>> {
    let s = data.clauses.as_ref()?;
    let x = &data.test.x;
    Some(Array2::from_shape_fn((x.nrows(), s.len()), |(i, c)| {
        s.clauses[c]
            .literals
            .iter()
            .all(|l| (x[[i, l.var]] == 1.0) != l.negated)
    }))
}

/// Computes the metric report of `mlp`'s first layer and copies it into `row`.
///
/// # Errors
/// A metric that rejects its input (a bug, reported with context rather than a panic).
pub(crate) fn measure(
    row: &mut RunRow,
    mlp: &Mlp,
    data: &Dataset,
    clauses: Option<&[Vec<usize>]>,
    alpha: usize,
    tau: f64,
) -> Result<()> {
    let report = report(mlp, data, clauses, alpha, tau)?;
    row.capacity_mean = Some(report.capacity.mean);
    row.capacity_literals = report.capacity.mean_literals;
    row.capacity_sum = Some(report.capacity.sum);
    row.cosine_abs = Some(report.cosine.mean_abs);
    row.cosine_signed = Some(report.cosine.mean_signed);
    row.cosine_cross_parent = Some(report.cosine.mean_abs_cross_parent);
    if let Some(c) = &report.collisions {
        row.collision_rate = Some(c.collision_rate);
        row.coverage = Some(c.coverage);
    }
    if let Some(t) = &report.collision_theory {
        row.collision_theory_balanced = Some(t.collision_balanced);
        row.collision_theory_independent = Some(t.collision_independent);
    }
    row.polysemanticity = report
        .polysemanticity
        .as_ref()
        .map(|p| p.mean_clauses_per_responsive);
    row.pr_dimension = report.dimension;
    Ok(())
}

/// The full metric report of `mlp`'s first layer on the test split.
///
/// # Errors
/// As [`MetricReport::compute`].
pub(crate) fn report(
    mlp: &Mlp,
    data: &Dataset,
    clauses: Option<&[Vec<usize>]>,
    alpha: usize,
    tau: f64,
) -> Result<MetricReport> {
    let w = mlp.layers()[0].weight();
    let acts = if mlp.depth() > 1 {
        Some(mlp.forward_hidden(data.test.x.view()).swap_remove(0))
    } else {
        None
    };
    let sat = test_satisfaction(data);
    let mut input = ReportInput::new(w).alpha(alpha).tau(tau as f32);
    if let Some(c) = clauses {
        input = input.clauses(c);
    }
    if let Some(a) = &acts {
        input = input.activations(a.view());
        if let Some(s) = &sat {
            input = input.satisfied(s.view());
        }
    }
    MetricReport::compute(&input).context("computing the metric report")
}
