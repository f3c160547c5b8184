//! `fpe.datasets`: Boolean-code (DNF) tasks generated from a seed, and HDF5 embedding files,
//! as numpy arrays plus the clause structure.

use std::path::PathBuf;

use fpe_datasets::{
    BooleanCodeConfig, ClassRef, ClauseStructure, Dataset, EmbeddingConfig, Split, Targets,
};
use ndarray::Array2;
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString};

use crate::convert::{matrix_out, to_py, to_usize, uint};
use crate::errors::{IntoPyResult, guard};
use crate::expand::option;

/// `[N, m]`: which clauses hold on each sample (variable `v` is input column `v` in both
/// encodings: `literal` appends `1 − x` after `x`).
fn satisfied(x: &Array2<f32>, cs: &ClauseStructure) -> Array2<bool> {
    let n = cs.n_vars.min(x.ncols());
    let mut out = Array2::from_elem((x.nrows(), cs.len()), false);
    let mut bits = vec![false; cs.n_vars];
    for (s, row) in x.rows().into_iter().enumerate() {
        for v in 0..n {
            bits[v] = row[v] == 1.0;
        }
        for (c, holds) in cs.satisfied(&bits).into_iter().enumerate() {
            out[[s, c]] = holds;
        }
    }
    out
}

/// Targets: `[N]` int64 class ids, or `[N, C]` float32 0/1 bits.
fn targets_out<'py>(py: Python<'py>, y: &Targets) -> Bound<'py, PyAny> {
    match y {
        Targets::Classes { labels, .. } => {
            PyArray1::from_owned_array(py, labels.mapv(i64::from)).into_any()
        }
        Targets::Binary(bits) => matrix_out(py, bits.clone()),
    }
}

fn split_into(
    d: &Bound<'_, PyDict>,
    name: &str,
    s: &Split,
    cs: Option<&ClauseStructure>,
) -> PyResult<()> {
    let py = d.py();
    d.set_item(format!("x_{name}"), matrix_out(py, s.x.clone()))?;
    d.set_item(format!("y_{name}"), targets_out(py, &s.y))?;
    if let Some(cs) = cs {
        let sat = PyArray2::from_owned_array(py, satisfied(&s.x, cs));
        d.set_item(format!("satisfied_{name}"), sat)?;
    }
    Ok(())
}

/// A dataset as a dict (see `boolean` and `load_h5` for the keys).
fn dataset_to_py<'py>(py: Python<'py>, data: &Dataset) -> PyResult<Bound<'py, PyAny>> {
    let d = PyDict::new(py);
    let cs = data.clauses.as_ref();
    split_into(&d, "train", &data.train, cs)?;
    split_into(&d, "test", &data.test, cs)?;
    d.set_item("d_in", data.d_in())?;
    d.set_item("n_outputs", data.n_outputs())?;
    d.set_item("class_names", data.class_names.clone())?;
    d.set_item("name", data.name.clone())?;
    d.set_item("provenance", data.provenance.clone())?;
    match cs {
        Some(cs) => {
            d.set_item("clauses", cs.clause_inputs())?;
            d.set_item("literals", to_py(py, &cs.clauses)?)?;
            d.set_item("formula", cs.to_formula())?;
            d.set_item("encoding", to_py(py, &cs.encoding)?)?;
        }
        None => {
            for key in ["clauses", "literals", "formula", "encoding"] {
                d.set_item(key, py.None())?;
            }
        }
    }
    Ok(d.into_any())
}

/// Generates a Boolean-code (DNF) task (SPEC §2) from one seed: ``clauses`` read-once clauses of
/// ``literals`` literals over ``n_vars`` variables; the label is the OR of the clauses
/// (``output="or"``) or one bit per clause (``"per_clause"``). The seed draws the formula, the
/// train data and the test data on separate streams, exactly as ``fpe run`` does.
///
/// Options: ``encoding`` = ``raw`` (d = n_vars) | ``literal`` (d = 2 n_vars, inputs
/// ``[x, 1 - x]``); ``sampling`` = ``balanced`` (half positives) | ``uniform``.
///
/// Returns a dict: ``x_train`` float32 ``[train_size, d]``, ``y_train`` float32
/// ``[train_size, C]`` (C = 1 for ``or``, ``clauses`` for ``per_clause``), ``x_test``,
/// ``y_test``; ``clauses`` (``clauses[c]`` = input columns of clause c's literals, what
/// ``fpe.expand`` and ``fpe.metrics.report`` take); ``satisfied_train`` / ``satisfied_test``
/// (bool ``[N, m]``: which clauses hold); ``literals`` (per clause: var, negated, input, sign);
/// ``formula`` (text); ``encoding``, ``d_in``, ``n_outputs``, ``class_names``, ``name``,
/// ``provenance``.
///
/// Raises ValueError for zero sizes or clauses * literals > n_vars (read-once clauses).
#[pyfunction]
#[pyo3(signature = (
    clauses=8, literals=3, seed=0, *, n_vars=64, train_size=4096, test_size=4096,
    encoding="raw", sampling="balanced", output="or"
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn boolean<'py>(
    py: Python<'py>,
    clauses: i64,
    literals: i64,
    seed: i64,
    n_vars: i64,
    train_size: i64,
    test_size: i64,
    encoding: &str,
    sampling: &str,
    output: &str,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let cfg = BooleanCodeConfig {
            n_vars: to_usize(n_vars, "n_vars")?,
            clauses: to_usize(clauses, "clauses")?,
            literals: to_usize(literals, "literals")?,
            train_size: to_usize(train_size, "train_size")?,
            test_size: to_usize(test_size, "test_size")?,
            encoding: option(encoding, "encoding")?,
            sampling: option(sampling, "sampling")?,
            output: option(output, "output")?,
        };
        let seed = to_usize(seed, "seed")? as u64;
        check_memory(&cfg)?;
        let data = py.detach(|| cfg.generate(seed)).py()?;
        dataset_to_py(py, &data)
    })
}

/// Refuses a task whose arrays cannot fit in the memory available now (an allocation failure
/// would abort the interpreter): inputs, targets and clause flags of both splits, twice (the Rust
/// arrays and their numpy copies).
fn check_memory(cfg: &BooleanCodeConfig) -> PyResult<()> {
    let rows = cfg.train_size as f64 + cfg.test_size as f64;
    let cols = cfg.d_in() as f64 + 2.0 * cfg.clauses as f64;
    let need = 2.0 * rows * cols * 4.0;
    match fpe_experiments::sweep::available_memory() {
        Some(avail) if need > avail as f64 => {
            Err(pyo3::exceptions::PyValueError::new_err(format!(
                "train_size = {}, test_size = {} with {} inputs need about {:.1} GiB, \
                 but only {:.1} GiB of memory is available",
                cfg.train_size,
                cfg.test_size,
                cfg.d_in(),
                need / f64::from(1u32 << 30),
                avail as f64 / f64::from(1u32 << 30)
            )))
        }
        _ => Ok(()),
    }
}

/// `classes`: ids (int) or names (str) of the file's `class_names`.
fn class_refs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<ClassRef>> {
    obj.try_iter()?
        .enumerate()
        .map(|(i, c)| {
            let c = c?;
            if c.is_instance_of::<PyString>() {
                Ok(ClassRef::Name(c.extract()?))
            } else if c.is_instance_of::<PyInt>() || c.hasattr("__index__")? {
                let v: i64 = c.extract()?;
                u32::try_from(v).map(ClassRef::Id).map_err(|_| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "classes[{i}] = {v}: a class id is a non-negative integer"
                    ))
                })
            } else {
                Err(PyTypeError::new_err(format!(
                    "classes[{i}]: a class is an id (int) or a name (str), got {}",
                    c.get_type().name()?
                )))
            }
        })
        .collect()
}

/// Loads an HDF5 embedding dataset (SPEC §3), with the options of the Rust loader
/// (``fpe_datasets::EmbeddingConfig``).
///
/// Layout: ``train/x`` ``[N, D]`` float16/32/64, ``train/y`` ``[N]`` integer class ids,
/// ``test/x``, ``test/y``; optional attribute ``class_names``. Options: dataset paths
/// (``train_x``, ``train_y``, ``test_x``, ``test_y``); ``l2_normalize`` rows (the CLIP
/// convention); ``standardize`` with train statistics; ``classes``: keep these classes (ids or
/// names), relabelled 0..c-1 in the order given; ``max_train`` / ``max_test``: keep the first
/// rows. Order: class subset, row cap, L2 normalisation, standardisation.
///
/// Returns a dict: ``x_train`` float32 ``[N, D]``, ``y_train`` int64 ``[N]`` class ids (or
/// float32 ``[N, C]`` bits for a Boolean task written by ``fpe data boolean``), ``x_test``,
/// ``y_test``, ``class_names``, ``n_outputs``, ``d_in``, ``name``, ``provenance``, and
/// ``clauses`` / ``satisfied_*`` / ``literals`` / ``formula`` / ``encoding`` when the file
/// stores a clause structure (else None).
///
/// Raises FileNotFoundError for a missing file; ValueError for a missing dataset, NaN/Inf
/// features, bad labels, mismatched lengths or widths, empty splits, unknown classes; OSError
/// for a file HDF5 cannot read.
#[pyfunction]
#[pyo3(signature = (
    path, *, train_x="train/x", train_y="train/y", test_x="test/x", test_y="test/y",
    l2_normalize=false, standardize=false, classes=None, max_train=None, max_test=None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn load_h5<'py>(
    py: Python<'py>,
    path: PathBuf,
    train_x: &str,
    train_y: &str,
    test_x: &str,
    test_y: &str,
    l2_normalize: bool,
    standardize: bool,
    classes: Option<&Bound<'py, PyAny>>,
    max_train: Option<&Bound<'py, PyAny>>,
    max_test: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let mut cfg = EmbeddingConfig::new(path.clone());
        cfg.train_x = train_x.to_string();
        cfg.train_y = train_y.to_string();
        cfg.test_x = test_x.to_string();
        cfg.test_y = test_y.to_string();
        cfg.l2_normalize = l2_normalize;
        cfg.standardize = standardize;
        cfg.classes = classes
            .filter(|c| !c.is_none())
            .map(class_refs)
            .transpose()?;
        cfg.max_train = max_train
            .filter(|v| !v.is_none())
            .map(|v| uint(v, "max_train"))
            .transpose()?;
        cfg.max_test = max_test
            .filter(|v| !v.is_none())
            .map(|v| uint(v, "max_test"))
            .transpose()?;
        let data = py.detach(|| cfg.load()).py()?;
        dataset_to_py(py, &data)
    })
}
