//! Typed errors of the experiments crate. Every message names the file, field or flag and the
//! value at fault; [`Context`] adds what was being done ("reading config.toml", "setting
//! `task.clauses=8`, seed 3") in front of the cause, and [`Error::root`] recovers the typed cause
//! under those layers (a missing file, a bad value, a lock held elsewhere).

use std::fmt::Display;

/// Why an experiment could not be loaded, run, resumed or collected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A config file, one of its fields, or a flag holds a value that is not allowed.
    #[error("{0}")]
    Invalid(String),
    /// The output directory is held by another live process (its lock names it).
    #[error("{0}")]
    Busy(String),
    /// Units failed as a whole; the message lists each with its reason.
    #[error("{0}")]
    UnitsFailed(String),
    /// `sbatch` failed or printed no job id.
    #[error("{0}")]
    Slurm(String),
    /// A file or directory operation failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A file could not be read or written (a FIFO where a file should be, a file too large
    /// for its kind, the disk full).
    #[error(transparent)]
    File(#[from] fpe_io::Error),
    /// Training failed for an arm (e.g. its shared warm-up failed).
    #[error("{0}")]
    Training(String),
    /// The GPU backend could not train.
    #[error(transparent)]
    Gpu(#[from] fpe_model::GpuError),
    /// The dataset could not be generated or loaded.
    #[error(transparent)]
    Dataset(#[from] fpe_datasets::Error),
    /// Training, a checkpoint or a model file failed.
    #[error(transparent)]
    Model(#[from] fpe_model::Error),
    /// The expansion request was impossible.
    #[error(transparent)]
    Expansion(#[from] fpe::Error),
    /// A metric could not be computed.
    #[error(transparent)]
    Metrics(#[from] fpe_metrics::Error),
    /// A JSON file did not parse or could not be written.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A TOML file did not parse.
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// A config could not be written as TOML.
    #[error(transparent)]
    TomlWrite(#[from] toml::ser::Error),
    /// What was being done when `cause` happened.
    #[error("{context}: {cause}")]
    Context {
        /// What was being done.
        context: String,
        /// The cause, displayed after the context so that one line carries the whole chain. It
        /// is deliberately not the error's `source()`: reporters that print the source chain
        /// (anyhow's "Caused by:") would print every cause twice.
        cause: Box<Error>,
    },
}

impl Error {
    /// The typed cause under any [`Error::Context`] layers.
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { cause, .. } => cause.root(),
            e => e,
        }
    }

    /// Whether the cause is a file that does not exist.
    pub fn is_not_found(&self) -> bool {
        match self.root() {
            Error::Io(e) => e.kind() == std::io::ErrorKind::NotFound,
            Error::Model(fpe_model::Error::Io { cause, .. }) => {
                cause.kind() == std::io::ErrorKind::NotFound
            }
            Error::File(fpe_io::Error::Io { cause, .. }) => {
                cause.kind() == std::io::ErrorKind::NotFound
            }
            Error::Dataset(fpe_datasets::Error::FileNotFound { .. }) => true,
            _ => false,
        }
    }
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what was being done to an error, as `anyhow::Context` does, keeping the typed cause.
pub trait Context<T> {
    /// Wraps the error with `context`.
    ///
    /// # Errors
    /// The wrapped error.
    fn context(self, context: impl Display) -> Result<T>;
    /// Wraps the error with the context `f` makes (only called on error).
    ///
    /// # Errors
    /// The wrapped error.
    fn with_context<S: Display>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Display) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.to_string(),
            cause: Box::new(e.into()),
        })
    }

    fn with_context<S: Display>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: f().to_string(),
            cause: Box::new(e.into()),
        })
    }
}

/// Returns early with [`Error::Invalid`] and a formatted message.
macro_rules! invalid {
    ($($t:tt)*) => {
        return Err($crate::error::Error::Invalid(format!($($t)*)))
    };
}
pub(crate) use invalid;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExperimentConfig;

    #[test]
    fn a_missing_config_is_not_found_and_named() {
        let e = ExperimentConfig::load(std::path::Path::new("/nonexistent/e1.toml")).unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
        assert!(e.to_string().contains("/nonexistent/e1.toml"), "{e}");
    }

    #[test]
    fn the_chain_is_said_once() {
        let e = ExperimentConfig::load(std::path::Path::new("/nonexistent/e1.toml")).unwrap_err();
        let text = e.to_string();
        assert_eq!(text.matches("/nonexistent/e1.toml").count(), 1, "{text}");
        assert!(
            std::error::Error::source(&e).is_none(),
            "the chain is in the message"
        );
    }

    #[test]
    fn a_bad_value_is_invalid_under_its_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(
            &path,
            "name = \"x\"\nseeds = []\n[task]\nkind = \"boolean\"\n",
        )
        .unwrap();
        let e = ExperimentConfig::load(&path).unwrap_err();
        assert!(
            matches!(e.root(), Error::Invalid(m) if m.contains("`seeds` is empty")),
            "{e:?}"
        );
        assert!(!e.is_not_found());
        let text = e.to_string();
        assert!(
            text.contains("bad.toml") && text.contains("`seeds` is empty"),
            "{text}"
        );
    }
}
