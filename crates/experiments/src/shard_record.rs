//! What one shard of a sweep did, kept in `DIR/shards/I-of-N.json`: written when it starts and
//! when it ends, read by `--collect` to say why a unit is missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::shard::Shard;

/// What one shard did, kept in `DIR/shards/I-of-N.json` for
/// [`collect`](crate::collect::collect) to report on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ShardRecord {
    /// `I/N`.
    pub shard: String,
    /// `running` (written at the start: if it stays so, the process was killed), `finished`
    /// or `failed`.
    pub state: String,
    /// Host and PID of the process.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Units of this shard.
    pub units: usize,
    /// Units run by this process.
    pub ran: usize,
    /// Units found finished and skipped.
    pub skipped: usize,
    /// Units that failed as a whole: hash → error.
    pub failed: BTreeMap<String, String>,
}

impl ShardRecord {
    pub(crate) fn start(shard: Shard, units: usize, ran: usize, skipped: usize) -> Self {
        ShardRecord {
            shard: shard.to_string(),
            state: "running".into(),
            host: crate::lock::hostname(),
            pid: std::process::id(),
            units,
            ran,
            skipped,
            failed: BTreeMap::new(),
        }
    }

    pub(crate) fn finish(&mut self, errors: &[(&str, String)]) {
        self.failed = errors
            .iter()
            .map(|(h, e)| (h.to_string(), e.clone()))
            .collect();
        self.state = if errors.is_empty() {
            "finished"
        } else {
            "failed"
        }
        .into();
    }

    fn path(dir: &Path, shard: &str) -> PathBuf {
        dir.join("shards")
            .join(format!("{}.json", shard.replace('/', "-of-")))
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir, &self.shard);
        std::fs::create_dir_all(dir.join("shards"))
            .with_context(|| format!("creating {}/shards", dir.display()))?;
        let json = serde_json::to_string_pretty(self)?;
        fpe_io::write_atomic(&path, json.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Every record in `DIR/shards/`, skipping files that do not parse.
    pub(crate) fn read_all(dir: &Path) -> Vec<ShardRecord> {
        let Ok(entries) = std::fs::read_dir(dir.join("shards")) else {
            return Vec::new();
        };
        let mut out: Vec<ShardRecord> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| fpe_io::read_regular_to_string(&e.path(), 1 << 30, "shard record").ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect();
        out.sort_by(|a, b| a.shard.cmp(&b.shard));
        out
    }
}
