//! Bounded reads of regular files.
//!
//! A path is opened without blocking (`O_NONBLOCK`, which changes nothing for a regular file),
//! then checked with `fstat` on the open descriptor: a FIFO or device is refused before a byte
//! is read, and no race between a check and the open can swap one in. The size bound is checked
//! against the file's length and again while reading, so a file that grows is cut off.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::write::kind_of;

/// Opens `path` for reading when it is (or a symbolic link leads to) a regular file.
///
/// # Errors
/// [`Error::NotReadable`] for anything else; [`Error::Io`] when it cannot be opened.
pub fn open_regular(path: &Path) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotReadable {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    Ok(file)
}

/// The bytes of the regular file at `path`, at most `limit` of them; `what` names the kind of
/// file in the error (`checkpoint`, `unit file`).
///
/// # Errors
/// [`Error::NotReadable`], [`Error::TooLarge`] or [`Error::Io`].
pub fn read_regular(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>> {
    let file = open_regular(path)?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let too_large = |size| Error::TooLarge {
        path: path.to_path_buf(),
        size,
        limit,
        what,
    };
    if len > limit {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// As [`read_regular`], as UTF-8 text.
///
/// # Errors
/// As [`read_regular`]; invalid UTF-8 is an [`Error::Io`] of kind `InvalidData`.
pub fn read_regular_to_string(path: &Path, limit: u64, what: &'static str) -> Result<String> {
    let bytes = read_regular(path, limit, what)?;
    String::from_utf8(bytes).map_err(|e| {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text: {e}"),
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_read_within_their_bound() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(&p, b"{}").unwrap();
        assert_eq!(read_regular(&p, 2, "unit file").unwrap(), b"{}");
        let err = read_regular(&p, 1, "unit file").unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    size: 2,
                    limit: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("a unit file may have"), "{err}");
        let err = read_regular(&dir.path().join("none"), 9, "x").unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_directories_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("zz.json");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        // Without O_NONBLOCK this open would wait for a writer forever.
        let err = read_regular(&fifo, 1 << 20, "unit file").unwrap_err();
        assert!(
            matches!(err, Error::NotReadable { kind: "FIFO", .. }),
            "{err}"
        );
        let err = read_regular(dir.path(), 1 << 20, "unit file").unwrap_err();
        assert!(
            matches!(err, Error::NotReadable { .. } | Error::Io { .. }),
            "{err}"
        );
        let err = read_regular(Path::new("/dev/zero"), 1 << 20, "checkpoint").unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotReadable {
                    kind: "character device",
                    ..
                }
            ),
            "{err}"
        );
    }
}
