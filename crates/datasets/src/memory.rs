//! How much memory a load may allocate, checked before anything is allocated.
//!
//! A file can declare any shape: a few kilobytes of HDF5 metadata may describe a chunked,
//! never-written `[1_000_000_000, 8]` dataset, which reads as 32 GB of fill values, and a 16-byte
//! IDX header may claim 2^32 images. The loaders therefore size every read from the declared
//! shape first ([`read_bytes`], overflow-checked) and reserve it from a [`MemoryBudget`], which
//! refuses with [`Error::TooLarge`] instead of letting the allocation abort the process.
//!
//! The budget is the memory available when the load starts: the smaller of `MemAvailable` in
//! `/proc/meminfo` and the cgroup's headroom (`memory.max` less `memory.current` under
//! `/sys/fs/cgroup`, or the cgroup v1 `memory.limit_in_bytes` less `memory.usage_in_bytes`; the
//! usage without its inactive page cache, which the kernel reclaims first). Where neither can be
//! read it is [`UNKNOWN_MEMORY_CAP`] (64 GiB). A load's reads are reserved from it one after the
//! other (labels, then features); the blocks read on the way (about 8 MiB) are not counted.

use std::path::Path;

use crate::error::{Error, Result};

/// Bytes a load may allocate when the available memory cannot be read (64 GiB).
pub(crate) const UNKNOWN_MEMORY_CAP: u64 = 64 << 30;

/// Bytes of `rows × cols` elements of `size` bytes each; `None` on overflow.
pub(crate) fn read_bytes(rows: usize, cols: usize, size: usize) -> Option<u64> {
    let n = (rows as u64).checked_mul(cols as u64)?;
    n.checked_mul(size as u64)
}

/// Memory a load may still allocate.
pub(crate) struct MemoryBudget {
    left: u64,
    source: &'static str,
}

impl MemoryBudget {
    /// The memory available now (see the module docs).
    pub(crate) fn available() -> Self {
        let mut best: Option<(u64, &'static str)> = None;
        let mut offer = |bytes: Option<u64>, source: &'static str| {
            if let Some(b) = bytes {
                if best.is_none_or(|(old, _)| b < old) {
                    best = Some((b, source));
                }
            }
        };
        offer(mem_available(), "MemAvailable in /proc/meminfo");
        offer(
            cgroup_headroom(
                "/sys/fs/cgroup/",
                "memory.max",
                "memory.current",
                "inactive_file",
            ),
            "cgroup limit /sys/fs/cgroup/memory.max less the memory in use",
        );
        offer(
            cgroup_headroom(
                "/sys/fs/cgroup/memory/",
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            ),
            "cgroup v1 limit memory.limit_in_bytes less the memory in use",
        );
        let (left, source) = best.unwrap_or((
            UNKNOWN_MEMORY_CAP,
            "memory available unknown; fixed cap of 64 GiB",
        ));
        MemoryBudget { left, source }
    }

    /// A budget of exactly `bytes`, for tests.
    #[cfg(test)]
    pub(crate) fn fixed(bytes: u64) -> Self {
        MemoryBudget {
            left: bytes,
            source: "fixed for a test",
        }
    }

    /// Refuses unless `bytes` fit in what is left; reserves nothing.
    pub(crate) fn check(&self, read: &Read<'_>) -> Result<()> {
        match read.bytes {
            Some(b) if b <= self.left => Ok(()),
            bytes => Err(Error::TooLarge {
                path: read.file.to_path_buf(),
                dataset: read.dataset.to_string(),
                shape: read.shape.clone(),
                rows: read.rows,
                bytes,
                limit: self.left,
                limit_source: self.source,
            }),
        }
    }

    /// Refuses unless `bytes` fit in what is left, and then takes them from it.
    pub(crate) fn reserve(&mut self, read: &Read<'_>) -> Result<()> {
        self.check(read)?;
        self.left -= read.bytes.unwrap_or(0);
        Ok(())
    }
}

/// One planned read, for [`MemoryBudget::check`] and its error message.
pub(crate) struct Read<'a> {
    /// The HDF5 file.
    pub(crate) file: &'a Path,
    /// Dataset path inside it.
    pub(crate) dataset: &'a str,
    /// Its declared shape.
    pub(crate) shape: Vec<usize>,
    /// Rows read.
    pub(crate) rows: usize,
    /// Bytes it allocates; `None` on overflow.
    pub(crate) bytes: Option<u64>,
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

/// The limit of the cgroup whose files are in `dir`, less its usage without the inactive page
/// cache (`inactive` in `memory.stat`, which the kernel reclaims before it fails an allocation);
/// `None` if unlimited (`max`) or unreadable.
fn cgroup_headroom(dir: &str, limit: &str, usage: &str, inactive: &str) -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(format!("{dir}{name}")).ok();
    let limit: u64 = read(limit)?.trim().parse().ok()?;
    let used: u64 = read(usage).and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let cache: u64 = read("memory.stat")
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(inactive)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0);
    Some(limit.saturating_sub(used.saturating_sub(cache)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_described_exactly_and_readably() {
        assert_eq!(crate::error::describe_bytes(Some(512)), "512 bytes");
        assert_eq!(
            crate::error::describe_bytes(Some(32_000_000_000)),
            "32000000000 bytes (29.8 GiB)"
        );
        assert_eq!(crate::error::describe_bytes(None), "more than 2^64 bytes");
    }

    #[test]
    fn sizes_overflow_to_none_and_budgets_refuse_them() {
        assert_eq!(read_bytes(1_000_000_000, 8, 4), Some(32_000_000_000));
        assert_eq!(read_bytes(usize::MAX, 2, 1), None);
        assert_eq!(read_bytes(1 << 40, 1 << 30, 4), None);
        let mut budget = MemoryBudget::fixed(100);
        let read = |bytes| Read {
            file: Path::new("f.h5"),
            dataset: "train/x",
            shape: vec![10, 10],
            rows: 10,
            bytes,
        };
        budget.reserve(&read(Some(60))).unwrap();
        let e = budget.check(&read(Some(60))).unwrap_err().to_string();
        assert!(
            e.contains("f.h5") && e.contains("train/x") && e.contains("60 bytes"),
            "{e}"
        );
        assert!(
            e.contains("40 bytes") && e.contains("fixed for a test"),
            "{e}"
        );
        assert!(budget.check(&read(None)).is_err());
        assert!(MemoryBudget::available().left > 0);
    }
}
