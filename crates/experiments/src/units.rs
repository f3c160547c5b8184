//! What a sweep, a shard and `--collect` share: the unit files on disk, the resolved config written
//! first, and the plan of units (`fpe sweep --plan`).

use std::path::Path;

use crate::error::{Context, Result, invalid};
use serde::Serialize;

use crate::config::{ExperimentConfig, ExperimentKind};
use crate::experiment::Experiment;
use crate::identity::unit_config;
use crate::shard::{Shard, assign};

/// Writes `DIR/config.toml`: the typed config with every default written out, `[quick]`
/// already applied. Left alone when it already holds exactly that (shards write it concurrently).
pub(crate) fn write_resolved_config(exp: &Experiment, dir: &Path) -> Result<()> {
    let mut resolved = exp.cfg.clone();
    resolved.quick.clear();
    let resolved = toml::to_string_pretty(&resolved).context("serialising the resolved config")?;
    let path = dir.join("config.toml");
    if fpe_io::read_regular_to_string(&path, 64 << 20, "config").is_ok_and(|t| t == resolved) {
        return Ok(());
    }
    fpe_io::write_atomic(&path, resolved.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Sharding needs units; a `collisions` experiment is one computation without them.
pub(crate) fn refuse_unsplittable(exp: &Experiment, flag: &str) -> Result<()> {
    if exp.cfg.kind == ExperimentKind::Collisions {
        invalid!(
            "{flag}: experiment `{}` has `kind = \"collisions\"`, a single computation without \
             units to split; run it with a plain `fpe sweep` (it takes seconds)",
            exp.cfg.name
        );
    }
    Ok(())
}

/// One line of `fpe sweep --plan`: a unit, its hash and its resolved config.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedUnit {
    /// The unit's name (see [`UnitInputs`](crate::manifest::UnitInputs): config, data digest, results semantics); its
    /// result is `units/HASH.json`.
    pub hash: String,
    /// The shard (`I/N`) that runs it, when a shard count was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Index of the setting in the grid.
    pub setting_index: usize,
    /// Setting label, e.g. `task.clauses=8`.
    pub setting: String,
    /// Seed.
    pub seed: u64,
    /// The resolved config of this unit alone (see [`unit_config`]).
    pub config: ExperimentConfig,
}

/// Every unit of `exp` in grid order; with `shard`, only that shard's units, each labelled.
///
/// # Errors
/// A `collisions` experiment (no units).
pub fn plan(exp: &Experiment, shard: Option<Shard>) -> Result<Vec<PlannedUnit>> {
    refuse_unsplittable(exp, "--plan")?;
    let units = exp.units();
    let hashes: Vec<&str> = units.iter().map(|u| u.hash.as_str()).collect();
    let owner = shard.map(|s| assign(&hashes, s.count));
    Ok(units
        .iter()
        .enumerate()
        .filter(|(i, _)| match (shard, &owner) {
            (Some(s), Some(o)) => o[*i] == s.index,
            _ => true,
        })
        .map(|(_, u)| {
            let setting = &exp.settings[u.setting_index];
            PlannedUnit {
                hash: u.hash.clone(),
                shard: shard.map(|s| s.to_string()),
                setting_index: setting.index,
                setting: setting.label.clone(),
                seed: u.seed,
                config: unit_config(&setting.cfg, u.seed),
            }
        })
        .collect())
}

/// Removes the temporary files a killed run left behind in an experiment directory `dir`
/// (itself, `units/`, `checkpoints/`) whose name `owned` accepts; we hold the lock over those, so
/// no live writer owns them. Never follows a symbolic link out of the output tree `root`.
pub(crate) fn remove_stale_temp_files(root: &Path, dir: &Path, owned: impl Fn(&str) -> bool) {
    for sub in [
        dir.to_path_buf(),
        dir.join("units"),
        dir.join("checkpoints"),
    ] {
        fpe_io::remove_stale_temp_files(root, &sub, &owned);
    }
}
