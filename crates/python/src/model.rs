//! Models as numpy arrays: per-layer weights `[out, in]`, biases `[out]` and masks `[out, in]`
//! (PyTorch's `nn.Linear` layout) ↔ [`fpe_model::Mlp`]; optimiser state ↔ dict; checkpoints.

use std::path::PathBuf;

use fpe_model::{Checkpoint, Layer, LayerSlots, Mlp, OptimizerConfig, OptimizerState};
use ndarray::Array2;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{
    bool_matrix, f32_matrix, f32_vector, fmt_shape, layer_list, list, mask_out, matrix_out,
    py_to_toml, to_py, to_usize, vector_out, view_out,
};
use crate::errors::{IntoPyResult, guard};

/// Builds a model from per-layer arrays, checking counts, shapes (each layer's inputs are the
/// previous layer's outputs) and finiteness. `masks` may be `None`, or hold `None` for a dense
/// layer. Weights outside a mask are set to zero, as [`fpe_model::Layer::new`] does.
pub(crate) fn mlp_from_py(
    weights: &Bound<'_, PyAny>,
    biases: &Bound<'_, PyAny>,
    masks: Option<&Bound<'_, PyAny>>,
) -> PyResult<Mlp> {
    let ws = layer_list(weights, "weights")?;
    let bs = layer_list(biases, "biases")?;
    let ms = masks.map(|m| layer_list(m, "masks")).transpose()?;
    if ws.len() < 2 {
        return Err(PyValueError::new_err(format!(
            "weights: an MLP with a hidden layer needs at least 2 layers, got {}",
            ws.len()
        )));
    }
    if bs.len() != ws.len() {
        return Err(PyValueError::new_err(format!(
            "biases has {} arrays but weights has {} (one per layer)",
            bs.len(),
            ws.len()
        )));
    }
    if let Some(ms) = &ms {
        if ms.len() != ws.len() {
            return Err(PyValueError::new_err(format!(
                "masks has {} arrays but weights has {} (one per layer, None for a dense layer)",
                ms.len(),
                ws.len()
            )));
        }
    }
    let mut layers = Vec::with_capacity(ws.len());
    let mut prev_out: Option<usize> = None;
    for (l, (w, b)) in ws.iter().zip(&bs).enumerate() {
        let w = f32_matrix(w, &format!("weights[{l}]"), "[out, in]")?;
        let (out, inp) = w.dim();
        if let Some(p) = prev_out {
            if inp != p {
                return Err(PyValueError::new_err(format!(
                    "weights[{l}] has shape {} but layer {} has {p} outputs: expected ({}, {p}) \
                     (weights are [out, in], as in torch.nn.Linear)",
                    fmt_shape(&[out, inp]),
                    l - 1,
                    out
                )));
            }
        }
        prev_out = Some(out);
        let b = f32_vector(b, &format!("biases[{l}]"))?;
        if b.len() != out {
            return Err(PyValueError::new_err(format!(
                "biases[{l}] has shape {} but weights[{l}] has {out} rows: expected ({out},)",
                fmt_shape(&[b.len()])
            )));
        }
        let mask = match ms.as_ref().map(|m| &m[l]) {
            Some(m) if !m.is_none() => {
                let m = bool_matrix(m, &format!("masks[{l}]"), "[out, in]")?;
                if m.dim() != w.dim() {
                    return Err(PyValueError::new_err(format!(
                        "masks[{l}] has shape {} but weights[{l}] has shape {}",
                        fmt_shape(m.shape()),
                        fmt_shape(w.shape())
                    )));
                }
                m
            }
            _ => Array2::from_elem(w.dim(), true),
        };
        layers.push(Layer::new(w, b, mask).py()?);
    }
    Mlp::from_layers(layers).py()
}

/// `(weights, biases, masks)` of a model as three lists of numpy arrays.
pub(crate) fn mlp_to_py<'py>(
    py: Python<'py>,
    mlp: &Mlp,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let ls = mlp.layers();
    let w = ls.iter().map(|l| view_out(py, l.weight())).collect();
    let b = ls
        .iter()
        .map(|l| vector_out(py, l.bias().to_owned()))
        .collect();
    let m = ls.iter().map(|l| mask_out(py, l.mask())).collect();
    Ok((list(py, w)?, list(py, b)?, list(py, m)?))
}

/// An optimiser as a dict: `config` (`kind` = `adam` | `sgd` and its hyper-parameters), `step`,
/// and per layer the state arrays shaped like the weight (`weight_slots[l]`) and the bias
/// (`bias_slots[l]`): Adam's first and second moments, or SGD's velocity.
pub(crate) fn optimizer_to_py<'py>(
    py: Python<'py>,
    config: &OptimizerConfig,
    state: &OptimizerState,
) -> PyResult<Bound<'py, PyAny>> {
    let d = PyDict::new(py);
    d.set_item("config", to_py(py, config)?)?;
    d.set_item("step", state.step)?;
    let mut ws = Vec::new();
    let mut bs = Vec::new();
    for slots in &state.layers {
        let w = slots.w.iter().map(|a| matrix_out(py, a.clone())).collect();
        let b = slots.b.iter().map(|a| vector_out(py, a.clone())).collect();
        ws.push(list(py, w)?);
        bs.push(list(py, b)?);
    }
    d.set_item("weight_slots", list(py, ws)?)?;
    d.set_item("bias_slots", list(py, bs)?)?;
    Ok(d.into_any())
}

/// The inverse of [`optimizer_to_py`], checked against `mlp`.
pub(crate) fn optimizer_from_py(
    obj: &Bound<'_, PyAny>,
    mlp: &Mlp,
) -> PyResult<fpe_model::Optimizer> {
    let d = obj.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(
            "optimizer must be a dict with config, step, weight_slots and bias_slots \
             (as load_checkpoint returns it)",
        )
    })?;
    let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
        d.get_item(key)?
            .ok_or_else(|| PyValueError::new_err(format!("optimizer has no `{key}` entry")))
    };
    let config: OptimizerConfig = py_to_toml(&get("config")?, "optimizer.config")?
        .try_into()
        .map_err(|e| PyValueError::new_err(format!("optimizer.config: {e}")))?;
    let step: u64 = get("step")?.extract()?;
    let ws = layer_list(&get("weight_slots")?, "optimizer.weight_slots")?;
    let bs = layer_list(&get("bias_slots")?, "optimizer.bias_slots")?;
    if ws.len() != bs.len() {
        return Err(PyValueError::new_err(format!(
            "optimizer: {} weight_slots but {} bias_slots",
            ws.len(),
            bs.len()
        )));
    }
    let mut layers = Vec::with_capacity(ws.len());
    for (l, (w, b)) in ws.iter().zip(&bs).enumerate() {
        let w = layer_list(w, &format!("optimizer.weight_slots[{l}]"))?
            .iter()
            .enumerate()
            .map(|(s, a)| f32_matrix(a, &format!("optimizer.weight_slots[{l}][{s}]"), "[out, in]"))
            .collect::<PyResult<Vec<_>>>()?;
        let b = layer_list(b, &format!("optimizer.bias_slots[{l}]"))?
            .iter()
            .enumerate()
            .map(|(s, a)| f32_vector(a, &format!("optimizer.bias_slots[{l}][{s}]")))
            .collect::<PyResult<Vec<_>>>()?;
        layers.push(LayerSlots { w, b });
    }
    let state = OptimizerState { step, layers };
    fpe_model::Optimizer::with_state(config, state, mlp).py()
}

/// Reads an fpe checkpoint (as `fpe run` writes one per arm and seed).
///
/// Returns a dict: ``weights``, ``biases``, ``masks`` (lists of numpy arrays per layer:
/// ``[out, in]`` float32, ``[out]`` float32, ``[out, in]`` bool), ``widths`` (``[d_in, h…, C]``),
/// ``nnz`` (active weights), ``epoch``, ``step``, ``meta`` (dict of str: arm, seed, config
/// hash, …), ``optimizer`` (``None``, or a dict with ``config``, ``step``, ``weight_slots``,
/// ``bias_slots``; ``fpe.expand(..., optimizer_state="carry", optimizer=...)`` takes it) and
/// ``rng`` (the saved batch-RNG state as bytes, or ``None``).
///
/// Raises FileNotFoundError for a missing file, ValueError for a file that is not a valid
/// checkpoint (wrong magic bytes, other format version, truncated, corrupt, inconsistent).
#[pyfunction]
pub(crate) fn load_checkpoint(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(|| {
        let ck = py.detach(|| Checkpoint::load(&path)).py()?;
        let (w, b, m) = mlp_to_py(py, &ck.mlp)?;
        let d = PyDict::new(py);
        d.set_item("weights", w)?;
        d.set_item("biases", b)?;
        d.set_item("masks", m)?;
        d.set_item("widths", ck.mlp.widths())?;
        d.set_item("nnz", ck.mlp.nnz())?;
        d.set_item("epoch", ck.epoch)?;
        d.set_item("step", ck.step)?;
        d.set_item("meta", ck.meta.clone())?;
        match &ck.optimizer {
            Some((c, s)) => d.set_item("optimizer", optimizer_to_py(py, c, s)?)?,
            None => d.set_item("optimizer", py.None())?,
        }
        match &ck.rng {
            Some(bytes) => d.set_item("rng", pyo3::types::PyBytes::new(py, bytes))?,
            None => d.set_item("rng", py.None())?,
        }
        Ok(d.into_any())
    })
}

/// Writes a model as an fpe checkpoint (atomically), readable by ``load_checkpoint`` and by
/// ``fpe inspect`` / ``fpe export``.
///
/// ``weights``, ``biases``, ``masks``: per-layer arrays as for ``expand`` (``masks`` may be
/// ``None`` or hold ``None`` for dense layers); ``meta``: a dict of str → str stored with it;
/// ``epoch``, ``step``: counters recorded in the file.
#[pyfunction]
#[pyo3(signature = (path, weights, biases, masks=None, *, meta=None, epoch=0, step=0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn save_checkpoint(
    py: Python<'_>,
    path: PathBuf,
    weights: &Bound<'_, PyAny>,
    biases: &Bound<'_, PyAny>,
    masks: Option<&Bound<'_, PyAny>>,
    meta: Option<std::collections::BTreeMap<String, String>>,
    epoch: i64,
    step: i64,
) -> PyResult<()> {
    guard(|| {
        let mlp = mlp_from_py(weights, biases, masks)?;
        let mut ck = Checkpoint::of_model(mlp);
        ck.meta = meta.unwrap_or_default();
        ck.epoch = to_usize(epoch, "epoch")?;
        ck.step = to_usize(step, "step")? as u64;
        py.detach(|| ck.save(&path)).py()
    })
}
