//! Typed errors of the report crate: reading result files and writing the report (through
//! `fpe-experiments`' file errors), and drawing plots.

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the output directory or writing a table, `claims.json` or `REPORT.md` failed.
    #[error(transparent)]
    Files(#[from] fpe_experiments::Error),
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] fpe_io::Error),
    /// A plot could not be drawn (most often: no font installed).
    #[error("{0}")]
    Plot(String),
    /// A JSON file did not parse or could not be written.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
