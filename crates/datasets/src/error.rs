//! Typed errors of the datasets crate.
//!
//! Every variant names the thing at fault (file, dataset path or config field) and the offending
//! value, so a user can fix the input without reading the source.

use std::path::PathBuf;

/// Everything that can go wrong while generating or loading a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field holds a value outside its allowed range.
    #[error("invalid config: `{field}` = {value}: {reason}")]
    Config {
        /// Name of the config field, as written in config files.
        field: &'static str,
        /// The offending value, formatted.
        value: String,
        /// What the allowed values are.
        reason: String,
    },
    /// The HDF5 file does not exist.
    #[error("{}: file not found", path.display())]
    FileNotFound {
        /// Path that was asked for.
        path: PathBuf,
    },
    /// This build has no HDF5 support (the `hdf5` feature, on by default, is off).
    #[error(
        "{}: HDF5 support not compiled in: rebuild fpe-datasets with its `hdf5` feature (on by default; needs libhdf5)",
        path.display()
    )]
    Hdf5NotCompiled {
        /// The file that was to be read or written.
        path: PathBuf,
    },
    /// The file exists but could not be opened or read as HDF5.
    #[error("{}: cannot read as HDF5: {message}", path.display())]
    Hdf5 {
        /// Path of the file.
        path: PathBuf,
        /// The HDF5 library's message.
        message: String,
    },
    /// A dataset path inside the file is missing.
    #[error("{}: dataset `{dataset}` not found", path.display())]
    MissingDataset {
        /// Path of the file.
        path: PathBuf,
        /// Dataset path inside the file, e.g. `train/x`.
        dataset: String,
    },
    /// A dataset has the wrong number of dimensions or the wrong element type.
    #[error("{}: dataset `{dataset}`: {message}", path.display())]
    BadDataset {
        /// Path of the file.
        path: PathBuf,
        /// Dataset path inside the file.
        dataset: String,
        /// What is wrong, with the value found.
        message: String,
    },
    /// A feature value is NaN or infinite.
    #[error(
        "{}: dataset `{dataset}`: non-finite value {value} at row {row}, column {col}",
        path.display()
    )]
    NonFinite {
        /// Path of the file.
        path: PathBuf,
        /// Dataset path inside the file.
        dataset: String,
        /// Row of the first non-finite value.
        row: usize,
        /// Column of the first non-finite value.
        col: usize,
        /// The value itself (NaN, inf or -inf).
        value: f32,
    },
    /// A dataset the loader reads is not stored in the opened file itself: it is reached through
    /// an external link, keeps its raw data in external files, or is a virtual dataset. Results
    /// are identified by a hash of the opened file only, so such data could change unnoticed.
    #[error(
        "{}: dataset `{dataset}` {how}; fpe hashes only the file it opens, so results could not \
         notice that data changing: {fix}",
        path.display()
    )]
    StoredElsewhere {
        /// Path of the file.
        path: PathBuf,
        /// Dataset path inside the file, as the loader was asked for it.
        dataset: String,
        /// Where the data is, e.g. `is stored in another file (external link `train/x` to
        /// target.h5:/x)`.
        how: String,
        /// How to bring the data into the file.
        fix: String,
    },
    /// Reading a dataset would need more memory than this machine has available: refused before
    /// anything is allocated.
    #[error(
        "{}: dataset `{dataset}` declares shape {shape:?}: reading {rows} of its rows needs {}, \
         more than the {} of memory available ({limit_source}); read fewer rows (max_train / max_test) or use \
         a machine with more memory",
        path.display(),
        describe_bytes(*bytes),
        describe_bytes(Some(*limit))
    )]
    TooLarge {
        /// Path of the file.
        path: PathBuf,
        /// Dataset path inside the file.
        dataset: String,
        /// The dataset's declared shape.
        shape: Vec<usize>,
        /// Rows that would be read (all, or those a row cap keeps), as 4-byte values.
        rows: usize,
        /// Bytes that reading needs; `None` if the count overflows 64 bits.
        bytes: Option<u64>,
        /// Bytes of memory still available to this load.
        limit: u64,
        /// Where the limit comes from, e.g. `MemAvailable in /proc/meminfo`.
        limit_source: &'static str,
    },
    /// The path exists but is not a regular file; it is refused without being read (a FIFO or
    /// device could block or never end).
    #[error("{}: is a {kind}, not a regular file: only regular files are read", path.display())]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`directory`, `FIFO`, `character device`, …).
        kind: &'static str,
    },
    /// A file could not be opened or read (including a corrupt gzip stream).
    #[error("{}: cannot read: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's (or the decompressor's) error.
        #[source]
        cause: std::io::Error,
    },
    /// An IDX file (the MNIST format) is malformed or holds something this crate does not read.
    #[error("{}: IDX {field}: {message}", path.display())]
    BadIdx {
        /// The file.
        path: PathBuf,
        /// The part at fault: `magic`, `type`, `dims`, `size`, `payload`, `count`, `label`.
        field: &'static str,
        /// What is wrong, with the value found and the value expected.
        message: String,
    },
    /// Writing a dataset failed.
    #[error("{}: cannot write: {message}", path.display())]
    Write {
        /// Destination path.
        path: PathBuf,
        /// Underlying message.
        message: String,
    },
}

/// `bytes` for messages: exact, with a binary-prefixed size beside it (`32000000000 bytes (29.8
/// GiB)`); `None` means more than 64 bits can count.
pub(crate) fn describe_bytes(bytes: Option<u64>) -> String {
    let Some(b) = bytes else {
        return "more than 2^64 bytes".into();
    };
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if b < 1024 {
        return format!("{b} bytes");
    }
    let mut v = b as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{b} bytes ({v:.1} {})", UNITS[unit])
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Config`].
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
}
