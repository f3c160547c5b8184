//! Typed errors of the model crate: [`Error`], and [`GpuError`] for choosing and running a
//! GPU.

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
    /// The checkpoint was written by a format version this build does not read.
    #[error("{}: checkpoint format version {found}, this build reads versions 1 to {supported}", path.display())]
    CheckpointVersion {
        /// File path.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Newest version this build reads, the one it writes ([`crate::FORMAT_VERSION`]); it
        /// also reads every older version down to 1.
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
    /// The file is shorter than a checkpoint header.
    #[error("{}: truncated checkpoint: {found} bytes, shorter than the {header}-byte header", path.display())]
    CheckpointHeaderTruncated {
        /// File path.
        path: PathBuf,
        /// Header length of the file's format version.
        header: u64,
        /// Bytes present.
        found: u64,
    },
    /// The payload's checksum does not match: the file is corrupt.
    #[error("{}: corrupt checkpoint: payload checksum {found} does not match header {expected}", path.display())]
    CheckpointChecksum {
        /// File path.
        path: PathBuf,
        /// Checksum in the header, lowercase hex (SHA-256: 64 digits; format version 1's
        /// FNV-1a 64: 16 digits, bytes as stored).
        expected: String,
        /// Checksum of the payload, in the same form.
        found: String,
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
    /// A read of something that is not a regular file (a FIFO, a device, a directory), refused
    /// before a byte is read.
    #[error("{}: is a {kind}, not a regular file; refusing to read it", path.display())]
    NotReadable {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: &'static str,
    },
    /// Reading or writing a file failed. The message carries the OS error; it is not also
    /// chained as a `source`, so error reports do not repeat it.
    #[error("{}{cause}", if path.as_os_str().is_empty() { String::new() } else { format!("{}: ", path.display()) })]
    Io {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        cause: std::io::Error,
    },
}

/// Why the GPU backend cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// The GPU was requested from a build without the `gpu` cargo feature.
    #[error("GPU support not compiled in: rebuild with --features gpu")]
    NotCompiled,
    /// No usable adapter (none at all, none with a compute backend, or none matching the
    /// requested name).
    #[error("{}", no_adapter_message(filter.as_deref(), seen))]
    NoAdapter {
        /// The adapter name filter in force (`FPE_GPU_ADAPTER` or `gpu::GpuOptions`).
        filter: Option<String>,
        /// Every adapter the graphics API reported, usable or not, as
        /// `name (backend, device type)`.
        seen: Vec<String>,
    },
    /// The device failed: could not be opened, was lost, ran out of memory, or reported an
    /// error while running.
    #[error("GPU adapter {adapter}: {reason}")]
    Backend {
        /// The adapter, as `name (backend, device type)`.
        adapter: String,
        /// What went wrong.
        reason: String,
    },
    /// The model or data exceeds a limit of the device (buffer size, dispatch size).
    #[error("GPU limit: {0}")]
    Limit(String),
    /// The network has parts the GPU backend does not implement.
    #[error(
        "the GPU backend trains MLPs only, and this network has a backbone ({0}); train it with \
         `--device cpu`"
    )]
    Unsupported(String),
    /// An error of the model itself: shapes, targets, configuration, divergence.
    #[error(transparent)]
    Model(#[from] Error),
}

fn no_adapter_message(filter: Option<&str>, seen: &[String]) -> String {
    let seen = if seen.is_empty() {
        "none".to_string()
    } else {
        seen.join("; ")
    };
    match filter {
        Some(f) => {
            format!("no GPU adapter matches FPE_GPU_ADAPTER=\"{f}\" (adapters seen: {seen})")
        }
        None => format!(
            "no usable GPU adapter found (adapters seen: {seen}); install the Vulkan driver of \
             your GPU (NVIDIA proprietary driver, Mesa RADV for AMD, Mesa ANV for Intel; Metal on \
             macOS), or Mesa's CPU driver lavapipe (`apt-get install mesa-vulkan-drivers \
             libvulkan1`) for testing"
        ),
    }
}

impl From<fpe_io::Error> for Error {
    fn from(e: fpe_io::Error) -> Self {
        match e {
            fpe_io::Error::NotRegularFile { path, kind } => Error::NotRegularFile { path, kind },
            fpe_io::Error::NotReadable { path, kind } => Error::NotReadable { path, kind },
            fpe_io::Error::Io { path, cause } => Error::Io { path, cause },
            // Too large (the model crate bounds no read by size) and any later kind: the
            // message names the path itself.
            other => Error::Io {
                path: PathBuf::new(),
                cause: std::io::Error::other(other.to_string()),
            },
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_cause() {
        assert_eq!(
            GpuError::NotCompiled.to_string(),
            "GPU support not compiled in: rebuild with --features gpu"
        );
        let none = GpuError::NoAdapter {
            filter: None,
            seen: vec![],
        }
        .to_string();
        assert!(
            none.contains("adapters seen: none") && none.contains("lavapipe"),
            "{none}"
        );
        let filtered = GpuError::NoAdapter {
            filter: Some("rtx".into()),
            seen: vec!["llvmpipe (Vulkan, Cpu)".into()],
        }
        .to_string();
        assert!(
            filtered.contains("\"rtx\"") && filtered.contains("llvmpipe"),
            "{filtered}"
        );
    }
}
