//! Checks on a file a command is about to write (`fpe export --npz`, `fpe data boolean --out`):
//! never one of its own inputs, never a device, FIFO, socket, directory or symbolic link, and
//! an existing file only with `--force`.

use std::path::Path;

use crate::error::{Result, invalid};

/// Whether `a` and `b` name the same existing file (same device and inode on Unix, same
/// canonical path elsewhere).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    matches!(
        (a.canonicalize(), b.canonicalize()),
        (Ok(x), Ok(y)) if x == y
    )
}

/// Refuses to write `path` (given as `flag`) when it is one of `inputs`, when it is not a
/// regular file, or when it exists and `force` is not set.
///
/// # Errors
/// Each refusal names the flag, the path and what to do instead.
pub fn check_output(path: &Path, flag: &str, force: bool, inputs: &[&Path]) -> Result<()> {
    if let Some(input) = inputs.iter().find(|i| same_file(path, i)) {
        invalid!(
            "{flag} {}: this is the input file {}; writing it would destroy the input: choose another path",
            path.display(),
            input.display()
        );
    }
    if let Some(kind) = fpe_io::non_regular_kind(path) {
        invalid!(
            "{flag} {}: refusing to replace a {kind} with a regular file; choose a regular file path",
            path.display()
        );
    }
    if path.exists() && !force {
        invalid!(
            "{flag} {}: the file exists; pass --force to overwrite it",
            path.display()
        );
    }
    Ok(())
}
