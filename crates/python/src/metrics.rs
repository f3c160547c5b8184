//! `fpe.metrics`: the metric report of [`fpe_metrics::MetricReport`] and the single metrics,
//! on numpy weight matrices `[h, d]` (rows = neurons, columns = inputs).

use fpe_metrics::{MetricReport, ReportInput};
use pyo3::prelude::*;

use crate::convert::{bool_matrix, clause_lists, f32_matrix, matrix_out, to_py, uint, vector_out};
use crate::errors::{IntoPyResult, guard};

/// Every metric of SPEC §7 for one (first-layer) weight matrix, as a dict.
///
/// Arguments:
///   weights: ``[h, d]`` incoming weights, already masked (rows = neurons, columns = inputs;
///     torch.nn.Linear's ``weight``).
///   clauses: ``clauses[c]`` = input columns of clause ``c``'s literals (enables the literal
///     capacity, the measured collisions and their closed forms).
///   alpha: expansion factor (neuron ``i`` has parent ``i // alpha``); ``None`` = 1.
///   activations: ``[N, h]`` hidden activations after the ReLU (enables the PR dimension).
///   satisfied: ``[N, m]`` bool, which clauses hold on each sample (with activations: the
///     activation polysemanticity).
///   tau: response threshold of the polysemanticity, in (0, 1].
///
/// Returns a dict: ``neurons``, ``inputs``, ``alpha``; ``capacity`` (``per_input`` float32
/// ``[d]``, ``mean``, ``mean_literals``, ``sum``); ``cosine`` (``mean_abs``, ``mean_signed``,
/// ``mean_abs_cross_parent``, ``mean_abs_siblings``, ``pairs``, ``cross_parent_pairs``,
/// ``zero_rows``); ``collisions`` and ``collision_theory`` (dicts, or None without clauses);
/// ``polysemanticity`` (dict, or None without activations and satisfied); ``dimension`` (the
/// participation-ratio dimension of the activations, or None).
///
/// Raises ValueError for wrong shapes, NaN/Inf, alpha not dividing h, tau outside (0, 1],
/// empty clauses or clause indices >= d.
#[pyfunction]
#[pyo3(signature = (
    weights, clauses=None, alpha=None, *, activations=None, satisfied=None, tau=0.5
))]
pub(crate) fn report<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyAny>,
    clauses: Option<&Bound<'py, PyAny>>,
    alpha: Option<&Bound<'py, PyAny>>,
    activations: Option<&Bound<'py, PyAny>>,
    satisfied: Option<&Bound<'py, PyAny>>,
    tau: f32,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let w = f32_matrix(weights, "weights", "[h, d]")?;
        let clauses = clauses
            .filter(|c| !c.is_none())
            .map(|c| clause_lists(c, "clauses"))
            .transpose()?;
        let acts = activations
            .filter(|a| !a.is_none())
            .map(|a| f32_matrix(a, "activations", "[N, h]"))
            .transpose()?;
        let sat = satisfied
            .filter(|s| !s.is_none())
            .map(|s| bool_matrix(s, "satisfied", "[N, m]"))
            .transpose()?;
        let mut input = ReportInput::new(w.view())
            .alpha(
                alpha
                    .filter(|a| !a.is_none())
                    .map(|a| uint(a, "alpha"))
                    .transpose()?
                    .unwrap_or(1),
            )
            .tau(tau);
        if let Some(c) = &clauses {
            input = input.clauses(c);
        }
        if let Some(a) = &acts {
            input = input.activations(a.view());
        }
        if let Some(s) = &sat {
            input = input.satisfied(s.view());
        }
        let r = py.detach(|| MetricReport::compute(&input)).py()?;
        let d = to_py(py, &r)?;
        let cap = d.get_item("capacity")?;
        let per_input = ndarray::Array1::from(r.capacity.per_input.clone());
        cap.set_item("per_input", vector_out(py, per_input))?;
        Ok(d)
    })
}

/// Feature capacity ``C_i`` of every input (Scherlis et al. 2022) of ``weights`` ``[h, d]``:
/// a float32 array ``[d]`` with values in [0, 1] (0 for an input no neuron reads).
#[pyfunction]
pub(crate) fn feature_capacity<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let w = f32_matrix(weights, "weights", "[h, d]")?;
        Ok(vector_out(py, fpe_metrics::feature_capacity(w.view())))
    })
}

/// Cosine similarity between the neurons (rows) of ``weights`` ``[h, d]``: float32 ``[h, h]``
/// (0 where a row is zero).
#[pyfunction]
pub(crate) fn cosine_matrix<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let w = f32_matrix(weights, "weights", "[h, d]")?;
        Ok(matrix_out(py, fpe_metrics::cosine_matrix(w.view())))
    })
}

/// Participation-ratio dimension of activations ``[N, h]``: (Σλ)² / Σλ² over the eigenvalues of
/// their covariance: between 1 and min(N - 1, h), or 0 when the covariance is zero (fewer than
/// two samples, or constant activations).
#[pyfunction]
pub(crate) fn participation_ratio(activations: &Bound<'_, PyAny>) -> PyResult<f64> {
    guard(|| {
        let a = f32_matrix(activations, "activations", "[N, h]")?;
        Ok(fpe_metrics::participation_ratio(a.view()))
    })
}

/// Closed-form probability that two clauses of ``k`` literals collide (all ``2k`` literals in
/// one child) when each input goes to one of ``alpha`` children independently: ``alpha^-(2k-1)``.
#[pyfunction]
pub(crate) fn collision_prob_independent(
    alpha: &Bound<'_, PyAny>,
    k: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    guard(|| fpe_metrics::collision_prob_independent(uint(alpha, "alpha")?, uint(k, "k")?).py())
}

/// Closed-form collision probability of two clauses of ``k`` literals under a balanced
/// partition of ``inputs`` inputs into ``alpha`` children (group sizes differ by at most one).
#[pyfunction]
pub(crate) fn collision_prob_balanced(
    inputs: &Bound<'_, PyAny>,
    alpha: &Bound<'_, PyAny>,
    k: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    guard(|| {
        fpe_metrics::collision_prob_balanced(
            uint(inputs, "inputs")?,
            uint(alpha, "alpha")?,
            uint(k, "k")?,
        )
        .py()
    })
}

/// Registers the functions of this file on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(report, m)?)?;
    m.add_function(wrap_pyfunction!(feature_capacity, m)?)?;
    m.add_function(wrap_pyfunction!(cosine_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(participation_ratio, m)?)?;
    m.add_function(wrap_pyfunction!(collision_prob_independent, m)?)?;
    m.add_function(wrap_pyfunction!(collision_prob_balanced, m)?)?;
    Ok(())
}
