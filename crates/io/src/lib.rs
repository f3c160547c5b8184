//! File-system helpers every fpe crate that reads or writes files shares, so that each rule is
//! written once:
//!
//! - [`write_atomic`]: temporary file beside the target, `fsync`, rename. A new file gets the
//!   mode the process umask gives (0644 under umask 022), a replaced file keeps its mode, and only
//!   a regular file (or nothing) is ever replaced.
//! - [`read_regular`] / [`read_regular_to_string`]: read a regular file with a size bound; a FIFO,
//!   device, socket or directory is refused without blocking on it or reading it forever.
//! - [`remove_stale_temp_files`]: delete the temporary files a killed writer left behind, only
//!   those this crate names (`NAME.tmp-XXXXXXXX`), only regular files, never through a symbolic
//!   link and never outside the output tree it is given.
//!
//! The crate depends on no other workspace crate.

#![deny(missing_docs)]

mod error;
mod read;
mod temp;
mod write;

pub use error::{Error, Result};
pub use read::{open_regular, read_regular, read_regular_to_string};
pub use temp::{is_temp_name, remove_stale_temp_files};
pub use write::{non_regular_kind, write_atomic};

/// Marks a temporary file of [`write_atomic`]: `NAME.tmp-` followed by [`TEMP_RANDOM_LEN`]
/// random ASCII letters and digits.
pub const TEMP_MARK: &str = ".tmp-";
/// Random characters after [`TEMP_MARK`].
pub const TEMP_RANDOM_LEN: usize = 8;
