//! One writer per experiment directory, or per shard of it: a lock file naming its owner.
//!
//! A plain `fpe sweep` takes `DIR/.lock`; `fpe sweep --shard I/N` takes `DIR/.lock-shard-I-of-N`,
//! so the shards of one sweep run side by side on one output directory while two processes
//! running the same shard, or a plain sweep and a shard, refuse each other with the holder's PID.
//!
//! The file holds `PID HOST`. A lock whose process is gone is stale and taken over: on the same
//! host that is checked in `/proc`; a lock from another host (shards on a cluster share the
//! directory over a network filesystem) cannot be checked that way, so its owner refreshes the
//! file's modification time every [`HEARTBEAT`] and a lock not refreshed for [`STALE_AFTER`] is
//! stale. The lock is released when the guard drops; a SIGKILLed owner (e.g. a Slurm task past
//! its time limit) leaves a stale lock that the next run takes over. Two processes that find the
//! same stale lock never both take it: the takeover runs under an exclusive guard file and only
//! removes the lock if it still holds the stale content (tested with racing contenders).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::error::{Context, Error, Result};

use crate::shard::Shard;

/// How often the owner refreshes its lock file.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(30);
/// A lock from another host not refreshed for this long is stale.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(180);

/// Holds the lock until dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    path: PathBuf,
    content: String,
    heartbeat: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `localhost`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".into())
}

fn alive(pid: u32) -> bool {
    // Linux: a running process has a /proc entry; elsewhere assume alive (refuse, never clobber).
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// The live owner of the lock file at `path`, other than this process: `(pid, host)`.
fn live_holder(path: &Path) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut words = text.split_whitespace();
    let pid: u32 = words.next()?.parse().ok()?;
    let me = hostname();
    // Files written before hosts were recorded hold the PID alone: this host.
    let host = words.next().map_or_else(|| me.clone(), str::to_string);
    let live = if host == me {
        pid != std::process::id() && alive(pid)
    } else {
        let age = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default();
        age < STALE_AFTER
    };
    live.then_some((pid, host))
}

fn in_use(what: &str, path: &Path, (pid, host): (u32, String)) -> Error {
    Error::Busy(format!(
        "{what} is in use by another fpe process (PID {pid} on {host}); wait for it to finish or \
         stop it. If that process is not fpe, delete {}",
        path.display()
    ))
}

/// The lock file of `shard` in `dir`.
pub(crate) fn shard_lock_path(dir: &Path, shard: Shard) -> PathBuf {
    dir.join(format!(".lock-shard-{}-of-{}", shard.index, shard.count))
}

/// Shards of `dir` whose lock a live process holds, with the holder.
pub(crate) fn live_shards(dir: &Path) -> Vec<(String, u32, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u32, String)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(".lock-shard-")?;
            let (i, n) = rest.split_once("-of-")?;
            let (pid, host) = live_holder(&e.path())?;
            Some((format!("{i}/{n}"), pid, host))
        })
        .collect();
    out.sort();
    out
}

impl DirLock {
    /// Takes the lock of the whole of `dir` (`dir/.lock`), for a plain sweep.
    ///
    /// # Errors
    /// Another live process holds it or runs a shard in `dir` (its PID is in the message), or
    /// the file cannot be written.
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let lock = Self::take(&dir.join(".lock"), &dir.display().to_string())?;
        if let Some((shard, pid, host)) = live_shards(dir).into_iter().next() {
            return Err(Error::Busy(format!(
                "{} is in use by a sharded sweep (shard {shard}: PID {pid} on {host}); wait for \
                 the shards to finish, or run more shards instead of a plain sweep",
                dir.display()
            )));
        }
        Ok(lock)
    }

    /// Takes the lock of one shard of `dir` (`dir/.lock-shard-I-of-N`); other shards may run.
    ///
    /// # Errors
    /// Another live process runs this shard or a plain sweep in `dir`, or the file cannot be
    /// written.
    pub(crate) fn acquire_shard(dir: &Path, shard: Shard) -> Result<Self> {
        let what = format!("shard {shard} of {}", dir.display());
        let lock = Self::take(&shard_lock_path(dir, shard), &what)?;
        let whole = dir.join(".lock");
        if let Some(holder) = live_holder(&whole) {
            return Err(in_use(&dir.display().to_string(), &whole, holder));
        }
        Ok(lock)
    }

    fn take(path: &Path, what: &str) -> Result<Self> {
        let content = format!("{} {}\n", std::process::id(), hostname());
        let mut lock = Self::take_as(path, what, &content)?;
        let stop = Arc::new(AtomicBool::new(false));
        let handle = spawn_heartbeat(path.to_path_buf(), content, stop.clone());
        lock.heartbeat = Some((stop, handle));
        Ok(lock)
    }

    /// Creates the lock file holding `content`, taking over a stale one. Two processes that both
    /// find the same stale lock never both get it: a takeover happens only under a short-lived
    /// guard file (`PATH.takeover`, created exclusively), and only if the lock still holds the
    /// stale content read before — so a lock another process has just taken is never removed.
    /// A guard left by a process killed mid-takeover is removed after [`GUARD_STALE_AFTER`].
    fn take_as(path: &Path, what: &str, content: &str) -> Result<Self> {
        let guard_path = {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".takeover");
            path.with_file_name(name)
        };
        for attempt in 0..200 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut f) => {
                    f.write_all(content.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    return Ok(DirLock {
                        path: path.to_path_buf(),
                        content: content.to_string(),
                        heartbeat: None,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let Ok(stale) = std::fs::read_to_string(path) else {
                        continue; // removed meanwhile: try to create it again
                    };
                    // An empty or partial file is a lock being written right now (created, not
                    // yet filled): not stale, unless a crash left it so for a while.
                    let written = stale
                        .split_whitespace()
                        .next()
                        .is_some_and(|p| p.parse::<u32>().is_ok());
                    if !written && file_age(path).is_none_or(|a| a < GUARD_STALE_AFTER) {
                        std::thread::sleep(Duration::from_millis(1 + attempt % 10));
                        continue;
                    }
                    if let Some(holder) = live_holder(path) {
                        return Err(in_use(what, path, holder));
                    }
                    // Stale: take it over under the guard, if it is still the same stale lock.
                    match std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&guard_path)
                    {
                        Ok(_) => {
                            if std::fs::read_to_string(path).is_ok_and(|now| now == stale)
                                && live_holder(path).is_none()
                            {
                                let _ = std::fs::remove_file(path);
                            }
                            let _ = std::fs::remove_file(&guard_path);
                        }
                        Err(_) => {
                            // Another process is taking over: wait for it, unless its guard
                            // is left over from a crash.
                            if file_age(&guard_path).is_some_and(|a| a > GUARD_STALE_AFTER) {
                                let _ = std::fs::remove_file(&guard_path);
                            }
                            std::thread::sleep(Duration::from_millis(1 + attempt % 10));
                        }
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        Err(Error::Busy(format!(
            "could not take the lock {}",
            path.display()
        )))
    }
}

/// Time since the file at `path` was last modified.
fn file_age(path: &Path) -> Option<Duration> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
}

/// A takeover guard (or an empty lock file) older than this was left by a process killed
/// mid-takeover (or between creating and filling its lock).
const GUARD_STALE_AFTER: Duration = Duration::from_secs(10);

/// Whether the lock file at `path` still holds `content` (nobody took it over).
fn still_ours(path: &Path, content: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t == content)
}

fn spawn_heartbeat(path: PathBuf, content: String, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        loop {
            std::thread::park_timeout(HEARTBEAT);
            if stop.load(Ordering::Acquire) {
                return;
            }
            if still_ours(&path, &content) {
                if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&path) {
                    let _ = f.set_modified(SystemTime::now());
                }
            }
        }
    })
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.heartbeat.take() {
            stop.store(true, Ordering::Release);
            handle.thread().unpark();
            let _ = handle.join();
        }
        if still_ours(&self.path, &self.content) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(i: usize, n: usize) -> Shard {
        Shard::new(i, n).unwrap()
    }

    #[test]
    fn shards_of_one_directory_run_side_by_side_but_not_twice() {
        let dir = tempfile::tempdir().unwrap();
        let a = DirLock::acquire_shard(dir.path(), shard(0, 2)).unwrap();
        let b = DirLock::acquire_shard(dir.path(), shard(1, 2)).unwrap();
        // Another live process (PID 1 is always alive) holding a shard: that shard refuses…
        std::fs::write(shard_lock_path(dir.path(), shard(0, 3)), "1\n").unwrap();
        let err = DirLock::acquire_shard(dir.path(), shard(0, 3)).unwrap_err();
        assert!(err.to_string().contains("PID 1 on"), "{err}");
        // …and so does a plain sweep, naming the shard.
        let err = DirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains("sharded sweep (shard 0/3: PID 1 on"), "{err}");
        assert!(!dir.path().join(".lock").exists(), "refused lock released");
        drop((a, b));
        assert!(!shard_lock_path(dir.path(), shard(0, 2)).exists());
        std::fs::remove_file(shard_lock_path(dir.path(), shard(0, 3))).unwrap();
        // A plain sweep held by another live process: shards refuse.
        std::fs::write(dir.path().join(".lock"), "1\n").unwrap();
        let err = DirLock::acquire_shard(dir.path(), shard(1, 2)).unwrap_err();
        assert!(
            err.to_string()
                .contains("in use by another fpe process (PID 1 on"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join(".lock")).unwrap();
        drop(DirLock::acquire(dir.path()).unwrap());
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn a_lock_from_another_host_is_stale_once_its_heartbeat_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = shard_lock_path(dir.path(), shard(1, 4));
        std::fs::write(&path, "12345 some-other-node\n").unwrap();
        let err = DirLock::acquire_shard(dir.path(), shard(1, 4)).unwrap_err();
        assert!(
            err.to_string().contains("PID 12345 on some-other-node"),
            "{err}"
        );
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(1);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let lock = DirLock::acquire_shard(dir.path(), shard(1, 4)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{} {}\n", std::process::id(), hostname()));
        drop(lock);
        assert!(!path.exists());
    }

    /// Many contenders find the same stale lock at once: exactly one takes it over. Each
    /// contender writes a live owner (PID 1, always alive) so the others see a live holder once
    /// it is taken. Before the takeover guard, a contender that had judged the lock stale could
    /// remove the lock another one had just taken, and both held it.
    #[test]
    fn racing_takeovers_of_a_stale_lock_leave_exactly_one_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let live = format!("1 {}\n", hostname());
        for round in 0..300 {
            std::fs::write(&path, format!("4194305 {}\n", hostname())).unwrap();
            let barrier = std::sync::Barrier::new(8);
            let won: usize = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            DirLock::take_as(&path, "test", &live)
                                .map(std::mem::forget)
                                .is_ok()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| usize::from(h.join().unwrap()))
                    .sum()
            });
            assert_eq!(won, 1, "round {round}: {won} contenders hold the lock");
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn a_lock_of_a_dead_process_on_this_host_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // A PID above the kernel's maximum (2^22) is never alive.
        std::fs::write(dir.path().join(".lock"), "4194305\n").unwrap();
        drop(DirLock::acquire(dir.path()).unwrap());
        std::fs::write(
            dir.path().join(".lock"),
            format!("4194305 {}\n", hostname()),
        )
        .unwrap();
        drop(DirLock::acquire(dir.path()).unwrap());
        assert!(!dir.path().join(".lock").exists());
    }
}
