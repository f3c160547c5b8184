//! `fpe.expand`: Fixed Parameter Expansion of a model given as numpy arrays, with every option of
//! [`fpe::ExpansionConfig`]; the seed draws the plan from the same stream `fpe run` uses
//! (`fpe_datasets::rng_for(seed, Stream::Split)`), so a seed gives the Rust crate's arrays.

use fpe::{ExpansionConfig, StrategyKind};
use fpe_datasets::{Stream, rng_for};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use serde::de::DeserializeOwned;

use crate::convert::{clause_lists, to_py, to_usize, uint};
use crate::errors::{IntoPyResult, guard};
use crate::model::{mlp_from_py, mlp_to_py, optimizer_from_py, optimizer_to_py};

/// A snake_case option parsed like a config file field (`prune = "out_only"`).
pub(crate) fn option<T: DeserializeOwned>(value: &str, field: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|e| PyValueError::new_err(format!("{field} = {value:?}: {e}")))
}

/// `layers`: `None` (the first hidden layer), `"all"`, or a list of hidden-layer indices.
fn hidden_layers(obj: Option<&Bound<'_, PyAny>>, n_hidden: usize) -> PyResult<Vec<usize>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(vec![0]);
    };
    if let Ok(s) = obj.cast::<PyString>() {
        let s: String = s.extract()?;
        return if s == "all" {
            Ok((0..n_hidden).collect())
        } else {
            Err(PyValueError::new_err(format!(
                "layers = {s:?}: give \"all\" or a list of hidden-layer indices"
            )))
        };
    }
    let raw: Vec<i64> = obj.extract().map_err(|_| {
        PyTypeError::new_err("layers must be \"all\" or a list of hidden-layer indices (ints)")
    })?;
    raw.iter()
        .enumerate()
        .map(|(i, &l)| to_usize(l, &format!("layers[{i}]")))
        .collect()
}

/// Expands hidden layers of an MLP at the same number of non-zero weights (SPEC §5): every
/// hidden neuron becomes ``alpha`` children whose incoming weights partition the parent's
/// active inputs, each child copies the parent's outgoing column, and the extra weights are
/// pruned back to the original non-zero budget.
///
/// Arrays use torch.nn.Linear's layout. For ``L`` layers (``L - 1`` hidden):
///   weights[l]: ``[out_l, in_l]`` (any float dtype; computed in float32), with
///   ``in_{l+1} == out_l``; biases[l]: ``[out_l]``; masks[l]: ``[out_l, in_l]`` bool or 0/1, or
///   ``None`` (dense). Weights outside a mask count as 0. NaN/Inf are refused.
///
/// Options (defaults follow SPEC §5, as in the Rust ``fpe::ExpansionConfig``):
///   alpha: children per parent, >= 2 and at most every parent's fan-in.
///   strategy: ``random`` | ``clause`` | ``clause_by_weight`` | ``feature`` | ``contiguous``
///     | ``nm`` | ``overlap`` (control).
///   clauses: ``clauses[c]`` = input columns of clause ``c``'s literals (needed by ``clause``
///     and ``clause_by_weight``; ``fpe.datasets.boolean`` returns them).
///   seed: draws the plan (the ``Split`` stream of the seed, as ``fpe run`` does).
///   prune: ``global`` (smallest |w| over incoming and outgoing weights) | ``out_only``.
///   layers: hidden layers to expand: ``None`` = ``[0]``, ``"all"``, or a list of indices.
///   bias: ``copy`` | ``split`` (b / alpha). outgoing: ``copy`` | ``scale`` (1 / alpha).
///   nm_m: M of the N:M pattern of ``nm`` (N = M / alpha). feature_iters: k-means iterations.
///   optimizer_state: ``reset`` | ``carry``; ``carry`` needs ``optimizer`` (the dict
///     ``load_checkpoint`` returns) and splits its state like the weights.
///
/// Returns ``(weights, biases, masks, report)``: lists of numpy arrays (float32, float32,
/// bool) of the wider model, whose expanded layers have ``alpha`` times the rows (child ``j``
/// of parent ``i`` is row ``i * alpha + j``), and a dict with ``alpha``, ``strategy``,
/// ``widths_before``, ``widths_after``, ``budget`` (non-zero weights before), ``nnz_unpruned``,
/// ``pruned_per_layer``, ``nnz_after`` (== budget), ``config`` (every option), ``seed`` and
/// ``optimizer`` (the carried state, or None).
///
/// Raises ValueError for bad shapes, NaN/Inf, unknown options, alpha < 2 or larger than a
/// neuron's fan-in, a clause strategy without clauses, or clause indices out of range.
#[pyfunction]
#[pyo3(signature = (
    weights, biases, masks=None, *, alpha, strategy="random", clauses=None, seed=0,
    prune="global", layers=None, bias="copy", outgoing="copy", nm_m=4, feature_iters=25,
    optimizer_state="reset", optimizer=None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn expand<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyAny>,
    biases: &Bound<'py, PyAny>,
    masks: Option<&Bound<'py, PyAny>>,
    alpha: &Bound<'py, PyAny>,
    strategy: &str,
    clauses: Option<&Bound<'py, PyAny>>,
    seed: i64,
    prune: &str,
    layers: Option<&Bound<'py, PyAny>>,
    bias: &str,
    outgoing: &str,
    nm_m: i64,
    feature_iters: i64,
    optimizer_state: &str,
    optimizer: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    guard(|| {
        let mlp = mlp_from_py(weights, biases, masks)?;
        let cfg = ExpansionConfig {
            alpha: uint(alpha, "alpha")?,
            layers: hidden_layers(layers, mlp.depth() - 1)?,
            strategy: StrategyKind::parse(strategy).py()?,
            nm_m: to_usize(nm_m, "nm_m")?,
            feature_iters: to_usize(feature_iters, "feature_iters")?,
            bias: option(bias, "bias")?,
            outgoing: option(outgoing, "outgoing")?,
            prune: option(prune, "prune")?,
            optimizer_state: option(optimizer_state, "optimizer_state")?,
        };
        let seed = to_usize(seed, "seed")? as u64;
        let clauses = clauses
            .filter(|c| !c.is_none())
            .map(|c| clause_lists(c, "clauses"))
            .transpose()?;
        let optimizer = optimizer.filter(|o| !o.is_none());
        if optimizer.is_some() && cfg.optimizer_state == fpe::OptimizerStatePolicy::Reset {
            return Err(PyValueError::new_err(
                "optimizer was given but optimizer_state = \"reset\": pass \
                 optimizer_state=\"carry\" \
                 to split its state with the weights, or leave optimizer out",
            ));
        }
        let opt = optimizer.map(|o| optimizer_from_py(o, &mlp)).transpose()?;
        let out = py
            .detach(|| {
                let mut rng = rng_for(seed, Stream::Split);
                fpe::expand(&mlp, &cfg, clauses.as_deref(), opt.as_ref(), &mut rng)
            })
            .py()?;
        let (w, b, m) = mlp_to_py(py, &out.mlp)?;
        let report = to_py(py, &out.report)?;
        let report = report.cast_into::<PyDict>()?;
        report.set_item("config", to_py(py, &cfg)?)?;
        report.set_item("seed", seed)?;
        match (&out.optimizer, &opt) {
            (Some(carried), Some(o)) => report.set_item(
                "optimizer",
                optimizer_to_py(py, o.config(), carried.state())?,
            )?,
            _ => report.set_item("optimizer", py.None())?,
        }
        PyTuple::new(py, [w, b, m, report.into_any()])
    })
}
