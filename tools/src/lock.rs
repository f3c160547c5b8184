//! One writer per experiment directory: a lock file holding the owner's PID.
//!
//! A second `fpe sweep` on the same output directory refuses with the holder's PID, unless the
//! lock is stale (its process is gone), in which case it is taken over. The lock is released when
//! the guard drops; a SIGKILLed owner leaves a stale lock that the next run takes over.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
}

fn alive(pid: u32) -> bool {
    // Linux: a running process has a /proc entry; elsewhere assume alive (refuse, never clobber).
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl DirLock {
    /// Takes the lock of `dir` (creating `dir/.lock`).
    ///
    /// # Errors
    /// Another live process holds it (its PID is in the message), or the file cannot be written.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(".lock");
        for _ in 0..3 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    writeln!(f, "{}", std::process::id())
                        .with_context(|| format!("writing {}", path.display()))?;
                    return Ok(DirLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    match holder.trim().parse::<u32>() {
                        Ok(pid) if pid != std::process::id() && alive(pid) => bail!(
                            "{} is in use by another fpe process (PID {pid}); wait for it to finish or stop it. \
                             If that process is not fpe, delete {}",
                            dir.display(),
                            path.display()
                        ),
                        _ => {
                            // Stale (holder gone) or unreadable: take it over.
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        bail!("could not take the lock {}", path.display())
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
