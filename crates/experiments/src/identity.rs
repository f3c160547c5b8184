//! What identifies a unit's result: everything that decides it.
//!
//! A unit (one setting × one seed) is named by the first 64 bits of a SHA-256 over
//! - its resolved config (the setting's config with that seed, as JSON),
//! - the SHA-256 of the content of every data file it reads (an embeddings task's HDF5 file; an
//!   images task's four IDX files, as one SHA-256 over their names and SHA-256s; Boolean tasks
//!   are generated from the config), and
//! - [`RESULTS_SEMANTICS`], a version bumped whenever a change to the code changes results.
//!
//! Change any of them and the unit gets a new name, so a resumed sweep reruns it instead of
//! reusing a stale result; the unit file records the parts ([`UnitInputs`]) so the sweep can say
//! which one changed. Data-file digests are cached per process by (path, size, mtime).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{ExperimentConfig, TaskConfig};

/// Version of what a unit's numbers mean. Bump it with any change that alters results for the
/// same config and data (numerics, statuses, metrics); every unit is then rerun.
///
/// History: 1 — until issue #20 (FNV-1a of the config alone); 2 — runs whose loss ends above
/// twice the chance level are `diverged`, and the data content enters the identity.
pub const RESULTS_SEMANTICS: u32 = 2;

/// The parts of a unit's identity, stored in its unit file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitInputs {
    /// SHA-256 (hex) of the resolved config as JSON.
    pub config: String,
    /// Path and SHA-256 (hex) of the data: the file of an embeddings task; the directory of an
    /// images task with the SHA-256 of one line `NAME SHA256` per IDX file.
    pub data: Option<(String, String)>,
    /// [`RESULTS_SEMANTICS`] when the unit ran.
    pub semantics: u32,
    /// [`code_version`] when the unit ran (recorded, not part of the identity).
    pub code: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

type FileKey = (PathBuf, u64, Option<SystemTime>);

static DIGESTS: Mutex<Option<HashMap<FileKey, String>>> = Mutex::new(None);

/// SHA-256 (hex) of the file at `path`, cached by path, size and modification time; `None` if
/// it cannot be read (the unit will fail when it loads the data, naming the file).
pub(crate) fn file_digest(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let key = (
        path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        meta.len(),
        meta.modified().ok(),
    );
    if let Some(d) = DIGESTS
        .lock()
        .expect("digest cache")
        .as_ref()
        .and_then(|m| m.get(&key))
    {
        return Some(d.clone());
    }
    let mut hasher = Sha256::new();
    let mut f = std::fs::File::open(path).ok()?;
    std::io::copy(&mut f, &mut hasher).ok()?;
    let digest = hex(&hasher.finalize());
    DIGESTS
        .lock()
        .expect("digest cache")
        .get_or_insert_with(HashMap::new)
        .insert(key, digest.clone());
    Some(digest)
}

/// SHA-256 (hex) of the data `cfg` reads: the embeddings file's own; for an images task, the
/// SHA-256 of one line `NAME SHA256` per IDX file, in train-images, train-labels, test-images,
/// test-labels order. A file that cannot be read counts as `unreadable` (the unit then fails when
/// it loads the data, naming the file).
pub(crate) fn data_digest(cfg: &ExperimentConfig) -> String {
    let unreadable = || "unreadable".to_string();
    match &cfg.task {
        TaskConfig::Images(i) => {
            let mut h = Sha256::new();
            for f in i.files() {
                let name = f.file_name().unwrap_or_default().to_string_lossy();
                let digest = file_digest(&f).unwrap_or_else(unreadable);
                h.update(format!("{name} {digest}\n").as_bytes());
            }
            hex(&h.finalize())
        }
        _ => cfg
            .data_path()
            .and_then(|p| file_digest(&p))
            .unwrap_or_else(unreadable),
    }
}

/// The crate version and, when the build saw a git checkout, its commit: `0.1.0+6468a4f…`.
pub fn code_version() -> String {
    match option_env!("FPE_GIT_COMMIT").filter(|c| !c.is_empty()) {
        Some(c) => format!("{}+{c}", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The identity parts of the unit (`cfg` resolved for one setting) with `seed`.
pub(crate) fn unit_inputs(cfg: &ExperimentConfig, seed: u64) -> UnitInputs {
    let json = serde_json::to_string(&unit_config(cfg, seed)).expect("configs serialise");
    let data = cfg
        .data_path()
        .map(|p| (p.display().to_string(), data_digest(cfg)));
    UnitInputs {
        config: hex(&Sha256::digest(json.as_bytes())),
        data,
        semantics: RESULTS_SEMANTICS,
        code: code_version(),
    }
}

impl UnitInputs {
    /// The unit's name: 16 hex digits of SHA-256 over config, data digest and semantics.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.config.as_bytes());
        h.update(b"\ndata=");
        if let Some((_, d)) = &self.data {
            h.update(d.as_bytes());
        }
        h.update(format!("\nsemantics={}", self.semantics).as_bytes());
        hex(&h.finalize()[..8])
    }

    /// Why a unit recorded with `old` must run again under `self`, in words.
    pub fn changed_from(&self, old: Option<&UnitInputs>) -> String {
        let Some(old) = old else {
            return "its result was written by an older fpe that recorded no inputs".into();
        };
        let mut why = Vec::new();
        if old.semantics != self.semantics {
            why.push(format!(
                "results semantics {} → {}",
                old.semantics, self.semantics
            ));
        }
        match (&old.data, &self.data) {
            (Some((_, a)), Some((p, b))) if a != b => why.push(format!(
                "data file {p} changed (sha256 {} → {})",
                &a[..a.len().min(12)],
                &b[..b.len().min(12)]
            )),
            _ => {}
        }
        if old.config != self.config {
            why.push("its config changed".into());
        }
        if why.is_empty() {
            "its identity scheme changed".into()
        } else {
            why.join("; ")
        }
    }
}

/// The resolved config of one unit: the setting's config with one seed, without grid, quick
/// table or title. Its JSON is what [`unit_hash`] hashes.
pub fn unit_config(cfg: &ExperimentConfig, seed: u64) -> ExperimentConfig {
    let mut c = cfg.clone();
    c.seeds = vec![seed];
    c.grid.clear();
    c.quick.clear();
    c.title.clear();
    c
}

/// Stable name of a unit: everything that decides its result (see [`UnitInputs`](crate::manifest::UnitInputs)).
pub fn unit_hash(cfg: &ExperimentConfig, seed: u64) -> String {
    unit_inputs(cfg, seed).hash()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_follow_content_and_hashes_follow_every_part() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.bin");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            file_digest(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let base = UnitInputs {
            config: "c".into(),
            data: Some(("d.bin".into(), "x".into())),
            semantics: 2,
            code: "v".into(),
        };
        let other_data = UnitInputs {
            data: Some(("d.bin".into(), "y".into())),
            ..base.clone()
        };
        let other_sem = UnitInputs {
            semantics: 3,
            ..base.clone()
        };
        let other_code = UnitInputs {
            code: "w".into(),
            ..base.clone()
        };
        assert_ne!(base.hash(), other_data.hash());
        assert_ne!(base.hash(), other_sem.hash());
        assert_eq!(
            base.hash(),
            other_code.hash(),
            "the code version is recorded only"
        );
        assert_eq!(base.hash().len(), 16);
        assert!(
            other_data
                .changed_from(Some(&base))
                .contains("data file d.bin changed")
        );
        assert!(
            other_sem
                .changed_from(Some(&base))
                .contains("semantics 2 → 3")
        );
        assert!(base.changed_from(None).contains("older fpe"));
    }

    #[test]
    fn an_images_task_is_identified_by_the_content_of_its_four_idx_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = fpe_datasets::IDX_FILES.map(|n| dir.path().join(format!("{n}.gz")));
        for (i, f) in files.iter().enumerate() {
            std::fs::write(f, [i as u8]).unwrap();
        }
        let table: toml::Table = format!(
            "name = \"t\"\nseeds = [0]\n[task]\nkind = \"images\"\npath = {:?}\n",
            dir.path().display().to_string()
        )
        .parse()
        .unwrap();
        let cfg = ExperimentConfig::from_table(table).unwrap();
        let before = unit_inputs(&cfg, 0);
        let (path, digest) = before.data.clone().unwrap();
        assert_eq!(path, dir.path().display().to_string());
        assert_eq!(digest, data_digest(&cfg));
        assert_eq!(digest.len(), 64);
        // Other content in the test labels gives another unit name (of another length too: the
        // digest cache keys on path, size and modification time).
        std::fs::write(&files[3], [9, 9]).unwrap();
        let after = unit_inputs(&cfg, 0);
        assert_ne!(before.hash(), after.hash());
        assert!(
            after
                .changed_from(Some(&before))
                .contains("changed (sha256")
        );
        std::fs::remove_file(&files[0]).unwrap();
        assert_ne!(unit_inputs(&cfg, 0).hash(), after.hash());
    }
}
