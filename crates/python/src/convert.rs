//! Python ↔ Rust values.
//!
//! In: anything numpy can read as an array (numpy arrays of any float dtype, nested lists, CPU
//! torch tensors without grad) becomes an owned `f32` ndarray, checked for its number of
//! dimensions and for NaN/Inf, with errors that name the argument and the index
//! (`weights[0][3, 5] = nan is not finite`). Masks are booleans or 0/1 numbers. Clause lists are
//! sequences of sequences of non-negative integers.
//!
//! Out: `f32` / `bool` / `int64` numpy arrays, and any serde value (reports, configs, rows) as
//! plain Python dicts, lists, ints, floats, strings and `None` (floats unchanged: an `f32` field
//! becomes the `float` holding exactly the same value).

use ndarray::{Array1, Array2, ArrayD, ArrayView2, Dimension, Ix1, Ix2};
use numpy::{PyArray1, PyArray2, PyArrayDyn, PyArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::Serialize;

/// `[i, j]` for an error message.
fn fmt_index(idx: &[usize]) -> String {
    let parts: Vec<String> = idx.iter().map(usize::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// `(a, b)` as numpy prints a shape.
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// A non-negative integer as `usize`.
pub(crate) fn to_usize(v: i64, what: &str) -> PyResult<usize> {
    usize::try_from(v)
        .map_err(|_| PyValueError::new_err(format!("{what} = {v}: must be a non-negative integer")))
}

/// A non-negative integer argument (a Python int or anything with `__index__`, such as a numpy
/// integer) as `usize`; the errors name the argument.
pub(crate) fn uint(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<usize> {
    if obj.is_instance_of::<PyFloat>()
        || obj.is_instance_of::<PyString>()
        || !obj.hasattr("__index__")?
    {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an integer, got {}",
            obj.get_type().name()?
        )));
    }
    let v: i64 = obj
        .extract()
        .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
    to_usize(v, what)
}

/// A float as Python prints it (`nan`, `inf`, `-inf`, `0.5`).
fn fmt_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        v.to_string()
    }
}

/// Calls `numpy.<func>(obj, dtype=dtype)`, naming `what` in a conversion error.
fn np_convert<'py>(
    obj: &Bound<'py, PyAny>,
    func: &str,
    dtype: &str,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let np = py.import("numpy")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", dtype)?;
    np.getattr(func)?.call((obj,), Some(&kwargs)).map_err(|e| {
        let msg = format!("{what}: cannot be read as a {dtype} array: {e}");
        if e.is_instance_of::<PyTypeError>(py) {
            PyTypeError::new_err(msg)
        } else {
            PyValueError::new_err(msg)
        }
    })
}

/// Any array-like as an owned `f32` array, NaN/Inf refused.
pub(crate) fn f32_array(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<ArrayD<f32>> {
    let arr = np_convert(obj, "ascontiguousarray", "float32", what)?;
    let arr = arr
        .cast::<PyArrayDyn<f32>>()
        .map_err(|e| PyTypeError::new_err(format!("{what}: {e}")))?;
    let owned = arr
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?
        .as_array()
        .to_owned();
    if let Some((idx, v)) = owned.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "{what}{} = {} is not finite",
            fmt_index(idx.slice()),
            fmt_float(f64::from(*v))
        )));
    }
    Ok(owned)
}

/// A 2-D `f32` array (`[rows, cols]`, named in the error).
pub(crate) fn f32_matrix(obj: &Bound<'_, PyAny>, what: &str, dims: &str) -> PyResult<Array2<f32>> {
    let a = f32_array(obj, what)?;
    let shape = a.shape().to_vec();
    a.into_dimensionality::<Ix2>().map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be 2-D {dims}, got shape {}",
            fmt_shape(&shape)
        ))
    })
}

/// A 1-D `f32` array.
pub(crate) fn f32_vector(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Array1<f32>> {
    let a = f32_array(obj, what)?;
    let shape = a.shape().to_vec();
    a.into_dimensionality::<Ix1>().map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be 1-D, got shape {}",
            fmt_shape(&shape)
        ))
    })
}

/// A 2-D boolean array from booleans or 0/1 numbers.
pub(crate) fn bool_matrix(
    obj: &Bound<'_, PyAny>,
    what: &str,
    dims: &str,
) -> PyResult<Array2<bool>> {
    let py = obj.py();
    let arr = py.import("numpy")?.getattr("asarray")?.call1((obj,))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    let owned: ArrayD<bool> = if kind == "b" {
        let a = np_convert(&arr, "ascontiguousarray", "bool", what)?;
        let a = a
            .cast::<PyArrayDyn<bool>>()
            .map_err(|e| PyTypeError::new_err(format!("{what}: {e}")))?;
        a.try_readonly()
            .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?
            .as_array()
            .to_owned()
    } else {
        let a = np_convert(&arr, "ascontiguousarray", "float64", what)?;
        let a = a
            .cast::<PyArrayDyn<f64>>()
            .map_err(|e| PyTypeError::new_err(format!("{what}: {e}")))?;
        let view = a
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
        let view = view.as_array();
        if let Some((idx, v)) = view.indexed_iter().find(|(_, v)| **v != 0.0 && **v != 1.0) {
            return Err(PyValueError::new_err(format!(
                "{what}{} = {}: a mask holds booleans or 0/1",
                fmt_index(idx.slice()),
                fmt_float(*v)
            )));
        }
        view.mapv(|v| v == 1.0)
    };
    let shape = owned.shape().to_vec();
    owned.into_dimensionality::<Ix2>().map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be 2-D {dims}, got shape {}",
            fmt_shape(&shape)
        ))
    })
}

/// The items of a list or tuple of per-layer arrays (a single array is refused: it would be
/// read row by row).
pub(crate) fn layer_list<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if obj.hasattr("ndim")? || obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a list with one array per layer, got a single {}",
            obj.get_type().name()?
        )));
    }
    obj.try_iter()
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "{what} must be a list with one array per layer, got {}",
                obj.get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        })?
        .collect()
}

/// Clause lists: `clauses[c]` = the input columns of clause `c`'s literals.
pub(crate) fn clause_lists(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Vec<usize>>> {
    let raw: Vec<Vec<i64>> = obj.extract().map_err(|e| {
        PyTypeError::new_err(format!(
            "{what} must be a list of lists of input indices (ints): {e}"
        ))
    })?;
    raw.iter()
        .enumerate()
        .map(|(c, lits)| {
            lits.iter()
                .enumerate()
                .map(|(j, &i)| to_usize(i, &format!("{what}[{c}][{j}]")))
                .collect()
        })
        .collect()
}

/// An owned `f32` matrix as a numpy array.
pub(crate) fn matrix_out<'py>(py: Python<'py>, a: Array2<f32>) -> Bound<'py, PyAny> {
    PyArray2::from_owned_array(py, a).into_any()
}

/// A `f32` view as a numpy array (copied).
pub(crate) fn view_out<'py>(py: Python<'py>, a: ArrayView2<'_, f32>) -> Bound<'py, PyAny> {
    PyArray2::from_owned_array(py, a.to_owned()).into_any()
}

/// A boolean view as a numpy array (copied).
pub(crate) fn mask_out<'py>(py: Python<'py>, a: ArrayView2<'_, bool>) -> Bound<'py, PyAny> {
    PyArray2::from_owned_array(py, a.to_owned()).into_any()
}

/// A `f32` vector as a numpy array.
pub(crate) fn vector_out<'py>(py: Python<'py>, a: Array1<f32>) -> Bound<'py, PyAny> {
    PyArray1::from_owned_array(py, a).into_any()
}

/// A Python list of the given objects.
pub(crate) fn list<'py>(
    py: Python<'py>,
    items: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyList::new(py, items)?.into_any())
}

/// A JSON value as plain Python objects.
pub(crate) fn json_to_py<'py>(
    py: Python<'py>,
    v: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as V;
    Ok(match v {
        V::Null => py.None().into_bound(py),
        V::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        V::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        V::String(s) => PyString::new(py, s).into_any(),
        V::Array(items) => {
            let items = items
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            list(py, items)?
        }
        V::Object(map) => {
            let d = PyDict::new(py);
            for (k, x) in map {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Any serialisable value as plain Python objects (through `serde_json::Value`, which keeps
/// every float exactly: an `f32` becomes the `f64` of the same value).
pub(crate) fn to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("serialising: {e}")))?;
    json_to_py(py, &v)
}

/// A Python value (dict, list, tuple, str, int, float, bool, path, numpy scalar) as TOML;
/// `what` is its dotted position, named in errors.
pub(crate) fn py_to_toml(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<toml::Value> {
    use toml::Value as V;
    if obj.is_instance_of::<PyBool>() {
        return Ok(V::Boolean(obj.extract()?));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(V::Integer(obj.extract()?));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(V::Float(obj.extract()?));
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(V::String(obj.extract()?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("{what}: keys must be strings, got {k}"))
            })?;
            let path = if what.is_empty() {
                key.clone()
            } else {
                format!("{what}.{key}")
            };
            if v.is_none() {
                // TOML has no null: a None value means "leave the default".
                continue;
            }
            t.insert(key, py_to_toml(&v, &path)?);
        }
        return Ok(V::Table(t));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = obj
            .try_iter()?
            .enumerate()
            .map(|(i, x)| py_to_toml(&x?, &format!("{what}[{i}]")))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(V::Array(items));
    }
    if obj.hasattr("__fspath__")? {
        let p = obj.py().import("os")?.getattr("fspath")?.call1((obj,))?;
        return py_to_toml(&p, what);
    }
    if obj.hasattr("item")? && obj.hasattr("dtype")? {
        // A numpy scalar (or 0-d array): its Python value.
        return py_to_toml(&obj.call_method0("item")?, what);
    }
    Err(PyTypeError::new_err(format!(
        "{}: a config holds dicts, lists, strings, numbers and booleans, got {}",
        if what.is_empty() { "config" } else { what },
        obj.get_type().name()?
    )))
}
