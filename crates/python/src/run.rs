//! `fpe.run`: runs an experiment config with the experiment runner (`fpe-experiments`) and
//! returns its result rows. The glue to the runner is this file only:
//! [`fpe_experiments::sweep::Experiment::load`] / [`Experiment::from_table`] (a path, or a
//! TOML string or dict resolved against the working directory), then
//! [`fpe_experiments::sweep::run_experiment`] with [`RunOptions::new`] (silent, CPU) and a fresh
//! [`DataCache`]; the rows are [`fpe_experiments::results::RunRow`]s as plain dicts.

use std::path::{Path, PathBuf};

use fpe_experiments::sweep::{DataCache, Experiment, RunOptions, run_experiment};
use pyo3::exceptions::{PyFileNotFoundError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert::{list, py_to_toml, to_py};
use crate::errors::{Exc, experiments_err, guard};

/// Where a config comes from.
enum Source {
    File(PathBuf),
    Table(toml::Table),
}

/// A path (`os.PathLike`, or a str naming an existing file), a TOML string, or a dict.
fn source(config: &Bound<'_, PyAny>) -> PyResult<Source> {
    if config.cast::<PyDict>().is_ok() {
        return match py_to_toml(config, "")? {
            toml::Value::Table(t) => Ok(Source::Table(t)),
            _ => Err(PyTypeError::new_err(
                "config: a dict must map to a TOML table",
            )),
        };
    }
    if let Ok(s) = config.cast::<PyString>() {
        let text: String = s.extract()?;
        let text = text.as_str();
        if !text.contains('\n') && Path::new(text).is_file() {
            return Ok(Source::File(PathBuf::from(text)));
        }
        return match text.parse::<toml::Table>() {
            Ok(t) => Ok(Source::Table(t)),
            Err(_) if !text.contains('\n') && !text.contains('=') => Err(
                PyFileNotFoundError::new_err(format!("config file {text} not found")),
            ),
            Err(e) => Err(PyValueError::new_err(format!("config: invalid TOML: {e}"))),
        };
    }
    if config.hasattr("__fspath__")? {
        let p: PathBuf = config.extract()?;
        if !p.exists() {
            return Err(PyFileNotFoundError::new_err(format!(
                "config file {} not found",
                p.display()
            )));
        }
        return Ok(Source::File(p));
    }
    Err(PyTypeError::new_err(format!(
        "config must be a TOML string, a path or a dict, got {}",
        config.get_type().name()?
    )))
}

/// Runs an experiment config and returns its result rows as a list of dicts (see ``fpe.run``,
/// which wraps this and returns a pandas DataFrame when pandas is installed).
///
/// ``config``: a TOML string, a path to a TOML file (relative data paths resolve against its
/// directory), or a dict of the same structure. ``out``: results directory (``out/NAME/...``:
/// results.csv, units, checkpoints); ``None`` = a temporary directory, removed afterwards.
/// ``quick``: apply the config's ``[quick]`` overrides. ``checkpoints``: keep one checkpoint per
/// arm and seed (under ``out/NAME/checkpoints``). ``overrides``: dotted paths to values, as the
/// command line sets them (``{"train.warmup_epochs": 5, "seeds": [0, 1]}``).
#[pyfunction]
#[pyo3(signature = (config, *, out=None, quick=false, checkpoints=false, overrides=None))]
pub(crate) fn run<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    out: Option<PathBuf>,
    quick: bool,
    checkpoints: bool,
    overrides: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let src = source(config)?;
        let overrides = match overrides {
            Some(o) => match py_to_toml(o.as_any(), "")? {
                toml::Value::Table(t) => t,
                _ => toml::Table::new(),
            },
            None => toml::Table::new(),
        };
        let exp = match src {
            Source::File(p) => Experiment::load(&p, quick, &overrides),
            Source::Table(t) => Experiment::from_table(t, quick, &overrides, Path::new(".")),
        }
        .map_err(|e| experiments_err(&e))?;
        let tmp = match &out {
            Some(_) => None,
            None => Some(
                tempfile::Builder::new()
                    .prefix("fpe-run-")
                    .tempdir()
                    .map_err(|e| {
                        Exc::Io(e.kind()).err(format!("creating a temporary directory: {e}"))
                    })?,
            ),
        };
        let dir = out.unwrap_or_else(|| {
            tmp.as_ref()
                .map_or_else(PathBuf::new, |t| t.path().to_path_buf())
        });
        let mut opts = RunOptions::new(dir);
        opts.checkpoints = checkpoints;
        let outcome = py
            .detach(|| run_experiment(&exp, &opts, &DataCache::default()))
            .map_err(|e| experiments_err(&e))?;
        let rows = outcome
            .rows
            .iter()
            .map(|r| to_py(py, r))
            .collect::<PyResult<Vec<_>>>()?;
        list(py, rows)
    })
}
