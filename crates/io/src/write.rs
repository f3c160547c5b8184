//! Atomic writes: temporary file beside the target, `fsync`, rename.

use std::fs::FileType;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::{TEMP_MARK, TEMP_RANDOM_LEN};

/// What a file type is, in words, for anything but a regular file.
pub(crate) fn kind_of(t: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_symlink() {
        "symbolic link"
    } else if t.is_dir() {
        "directory"
    } else if t.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

/// What is at `path` when it is not a regular file (`None` for a regular file or nothing).
/// Symbolic links are not followed: a link is reported as one.
pub fn non_regular_kind(path: &Path) -> Option<&'static str> {
    let t = std::fs::symlink_metadata(path).ok()?.file_type();
    (!t.is_file()).then(|| kind_of(t))
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// (`NAME.tmp-XXXXXXXX`), `fsync`ed, then renamed over `path`.
///
/// A new file gets mode `0666` less the process umask, as `File::create` would give it; a file
/// that is replaced keeps its mode, so collaborators who could read it still can.
///
/// Only a regular file (or nothing) is ever replaced: a device, FIFO, socket, directory or
/// symbolic link at `path` is refused and left as it is (a link is not written through, so a
/// write can never land outside the directory it names).
///
/// # Errors
/// [`Error::NotRegularFile`] for such a target; [`Error::Io`] naming the path (disk full, file
/// size limit, unwritable directory). The temporary file is removed on every error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(kind) = non_regular_kind(path) {
        return Err(Error::NotRegularFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!(
        "{}{TEMP_MARK}",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
    let result = (|| {
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).rand_bytes(TEMP_RANDOM_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Created with 0666: the kernel applies the umask, as for any new file.
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder.tempfile_in(dir)?;
        if let Some(perms) = existing {
            tmp.as_file().set_permissions(perms)?;
        }
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        // Persist the rename itself; not every platform can open a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| Error::io(path, e))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_follow_the_umask_and_replaced_files_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        // What the umask gives a plainly created file is what an atomic write must give.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let new = dir.path().join("results.csv");
        write_atomic(&new, b"a").unwrap();
        assert_eq!(mode(&new), mode(&plain));
        assert_ne!(
            mode(&new),
            0o600,
            "a umask of 077 is not what tests run under"
        );
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&new, b"b").unwrap();
        assert_eq!(mode(&new), 0o640);
        assert_eq!(std::fs::read(&new).unwrap(), b"b");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file is left behind");
    }
}
