//! The errors of file access, each naming the path.

use std::path::PathBuf;

/// What can go wrong reading or writing a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A write would replace something that is not a regular file (a device, a FIFO, a socket,
    /// a directory or a symbolic link): refused, the target left as it is.
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
    /// A read of something that is not a regular file: refused before reading a byte (a FIFO
    /// would block, a device could never end).
    #[error("{}: is a {kind}, not a regular file; refusing to read it", path.display())]
    NotReadable {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: &'static str,
    },
    /// A file larger than the reader accepts for its kind.
    #[error(
        "{}: {size} bytes, more than the {limit} bytes a {what} may have; not read",
        path.display()
    )]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size in bytes (at least; a growing file is cut off at `limit + 1`).
        size: u64,
        /// The bound.
        limit: u64,
        /// What the file was read as (`checkpoint`, `unit file`, …).
        what: &'static str,
    },
    /// The operating system refused. The message carries the OS error; it is not also chained as
    /// a `source`, so error reports do not repeat it.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
}

impl Error {
    /// An OS error at `path`.
    pub fn io(path: &std::path::Path, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
