//! Typed errors of the model crate.

use std::path::PathBuf;

/// Everything that can go wrong building, training, saving or loading a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An array has the wrong shape.
    #[error("{op}: expected shape {expected:?}, got {got:?}")]
    Shape {
        /// The operation or field that was checked.
        op: String,
        /// Expected shape.
        expected: Vec<usize>,
        /// Shape found.
        got: Vec<usize>,
    },
    /// A configuration field holds an invalid value.
    #[error("invalid config: `{field}` = {value}: {reason}")]
    Config {
        /// Field name as written in config files.
        field: &'static str,
        /// The offending value.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// An inactive (masked) weight is non-zero: the mask invariant is broken.
    #[error("layer {layer}: inactive weight at row {row}, column {col} is {value}, not 0")]
    MaskViolation {
        /// Layer index.
        layer: usize,
        /// Row (output neuron).
        row: usize,
        /// Column (input).
        col: usize,
        /// The non-zero value.
        value: f32,
    },
    /// A target is out of range (class id ≥ classes, or a binary target not 0/1).
    #[error("targets: {0}")]
    Targets(String),
    /// Training produced a NaN or infinite loss or weight.
    #[error("non-finite {what} at epoch {epoch}, step {step}{}", layer.map(|l| format!(", layer {l}")).unwrap_or_default())]
    NonFinite {
        /// `loss`, `weight` or `bias`.
        what: &'static str,
        /// Epoch (0-based) in which it happened.
        epoch: usize,
        /// Global optimiser step (0-based) at which it happened.
        step: u64,
        /// Layer holding the non-finite parameter, if a parameter.
        layer: Option<usize>,
    },
    /// The file is not a checkpoint (wrong magic bytes or too short for a header).
    #[error("{}: not an fpe checkpoint ({reason})", path.display())]
    NotCheckpoint {
        /// File path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The checkpoint was written by an incompatible format version.
    #[error("{}: checkpoint format version {found}, this build reads version {supported}", path.display())]
    CheckpointVersion {
        /// File path.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The checkpoint is shorter than its header says.
    #[error("{}: truncated checkpoint: header promises {expected} payload bytes, file has {found}", path.display())]
    CheckpointTruncated {
        /// File path.
        path: PathBuf,
        /// Payload bytes promised.
        expected: u64,
        /// Payload bytes present.
        found: u64,
    },
    /// The payload's checksum does not match: the file is corrupt.
    #[error("{}: corrupt checkpoint: checksum {found:016x} does not match header {expected:016x}", path.display())]
    CheckpointChecksum {
        /// File path.
        path: PathBuf,
        /// Checksum in the header.
        expected: u64,
        /// Checksum of the payload.
        found: u64,
    },
    /// The payload passed the checksum but could not be decoded or is inconsistent.
    #[error("{}: invalid checkpoint payload: {reason}", path.display())]
    CheckpointPayload {
        /// File path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An atomic write would replace something that is not a regular file (a device, a FIFO,
    /// a socket, a directory or a symbolic link): refused, the target left as it is.
    #[error(
        "{}: refusing to replace a {kind} with a regular file; write to a regular file path instead",
        path.display()
    )]
    NotRegularFile {
        /// The target path.
        path: PathBuf,
        /// What is there (`character device`, `FIFO`, `symbolic link`, …).
        kind: &'static str,
    },
    /// Reading or writing a file failed. The message carries the OS error; it is not also
    /// chained as a `source`, so error reports do not repeat it.
    #[error("{}: {cause}", path.display())]
    Io {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        cause: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn shape(op: impl Into<String>, expected: &[usize], got: &[usize]) -> Self {
        Error::Shape {
            op: op.into(),
            expected: expected.to_vec(),
            got: got.to_vec(),
        }
    }

    pub(crate) fn config(
        field: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::Config {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}
