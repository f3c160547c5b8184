//! Rust errors → Python exceptions, and the guard that keeps panics out of Python.
//!
//! Every error keeps the Rust message (its `Display`, with the experiment runner's context
//! chain). The exception type follows what went wrong:
//!
//! | cause | exception |
//! |---|---|
//! | a missing file | `FileNotFoundError` |
//! | other OS errors | `PermissionError`, `IsADirectoryError`, …, `OSError` |
//! | bad shapes, values, configs, file contents | `ValueError` |
//! | anything else (a run that failed as a whole) | `RuntimeError` |
//!
//! [`guard`] wraps every entry point: should a panic happen anyway, it becomes a
//! `RuntimeError` instead of PyO3's `PanicException` (which derives from `BaseException`).

use pyo3::PyErr;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyIsADirectoryError, PyMemoryError,
    PyNotADirectoryError, PyOSError, PyPermissionError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;

/// Which Python exception a Rust error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exc {
    /// `ValueError`: bad input values, shapes, configs or file contents.
    Value,
    /// `RuntimeError`: everything else.
    Runtime,
    /// `OSError` or the subclass of its kind.
    Io(std::io::ErrorKind),
    /// `MemoryError`: a file declares more data than there is memory to read it into.
    Memory,
}

impl Exc {
    /// The exception with `msg`.
    pub(crate) fn err(self, msg: impl Into<String>) -> PyErr {
        use std::io::ErrorKind as K;
        let msg = msg.into();
        match self {
            Exc::Value => PyValueError::new_err(msg),
            Exc::Runtime => PyRuntimeError::new_err(msg),
            Exc::Io(K::NotFound) => PyFileNotFoundError::new_err(msg),
            Exc::Io(K::PermissionDenied) => PyPermissionError::new_err(msg),
            Exc::Io(K::AlreadyExists) => PyFileExistsError::new_err(msg),
            Exc::Io(K::IsADirectory) => PyIsADirectoryError::new_err(msg),
            Exc::Io(K::NotADirectory) => PyNotADirectoryError::new_err(msg),
            Exc::Io(_) => PyOSError::new_err(msg),
            Exc::Memory => PyMemoryError::new_err(msg),
        }
    }
}

/// The exception kind of a file error of `fpe-io` (reached through the experiments crate).
fn file_kind(e: &fpe_experiments::FileError) -> Exc {
    use fpe_experiments::FileError as F;
    match e {
        F::Io { cause, .. } => Exc::Io(cause.kind()),
        _ => Exc::Io(std::io::ErrorKind::Other),
    }
}

/// The exception kind of a model error.
pub(crate) fn model_kind(e: &fpe_model::Error) -> Exc {
    use fpe_model::Error as E;
    match e {
        E::Io { cause, .. } => Exc::Io(cause.kind()),
        E::NotReadable {
            kind: "directory", ..
        } => Exc::Io(std::io::ErrorKind::IsADirectory),
        E::NotRegularFile { .. } | E::NotReadable { .. } => Exc::Io(std::io::ErrorKind::Other),
        E::NonFinite { .. } => Exc::Runtime,
        // Shapes, configs, masks, targets and unreadable checkpoint contents.
        _ => Exc::Value,
    }
}

/// The exception kind of an expansion error.
pub(crate) fn fpe_kind(e: &fpe::Error) -> Exc {
    match e {
        fpe::Error::Model(m) => model_kind(m),
        // Configs, fan-in smaller than alpha, plans that do not fit.
        _ => Exc::Value,
    }
}

/// The exception kind of a dataset error.
pub(crate) fn datasets_kind(e: &fpe_datasets::Error) -> Exc {
    use fpe_datasets::Error as E;
    match e {
        E::FileNotFound { .. } => Exc::Io(std::io::ErrorKind::NotFound),
        E::Hdf5 { .. } | E::Write { .. } => Exc::Io(std::io::ErrorKind::Other),
        E::Hdf5NotCompiled { .. } => Exc::Runtime,
        E::TooLarge { .. } => Exc::Memory,
        // Configs, missing or malformed datasets, non-finite values, bad labels.
        _ => Exc::Value,
    }
}

/// `Result<T, E>` → `PyResult<T>` for the crates' error types.
pub(crate) trait IntoPyResult<T> {
    /// Converts the error, keeping its message.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, fpe::Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| fpe_kind(&e).err(e.to_string()))
    }
}

impl<T> IntoPyResult<T> for Result<T, fpe_model::Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| model_kind(&e).err(e.to_string()))
    }
}

impl<T> IntoPyResult<T> for Result<T, fpe_metrics::Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| Exc::Value.err(e.to_string()))
    }
}

impl<T> IntoPyResult<T> for Result<T, fpe_datasets::Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| datasets_kind(&e).err(e.to_string()))
    }
}

/// An error of the experiment runner, with its whole context chain as the message; the type
/// comes from the typed cause under the context layers.
pub(crate) fn experiments_err(e: &fpe_experiments::error::Error) -> PyErr {
    use fpe_experiments::error::Error as E;
    let kind = match e.root() {
        E::Invalid(_) | E::Toml(_) | E::Json(_) | E::Metrics(_) => Exc::Value,
        E::Io(io) => Exc::Io(io.kind()),
        E::File(fpe_io_error) => file_kind(fpe_io_error),
        E::Dataset(d) => datasets_kind(d),
        E::Model(m) => model_kind(m),
        E::Expansion(f) => fpe_kind(f),
        // A lock held by another process, failed units, training, the GPU, writing TOML.
        _ => Exc::Runtime,
    };
    kind.err(e.to_string())
}

/// Runs `f`; a panic inside becomes a `RuntimeError` naming it (none is expected: inputs are
/// checked before the crates see them).
pub(crate) fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            Err(PyRuntimeError::new_err(format!(
                "internal error in fpe (please report it): {what}"
            )))
        }
    }
}
