//! Which units belong to the current config, and whether a unit file really is one of them.
//!
//! Every sweep, shard and `--collect` writes `OUT/NAME/plan.json` beside the resolved
//! `config.toml`, before any unit runs: the experiment's units, each with its hash, setting,
//! seed and arms ([`UnitPlan`]). `results.csv`, the report's summaries, claims and `REPORT.md`
//! are computed from exactly those units; files in `units/` that the plan does not name (left by
//! an earlier config of the same experiment) are left alone and only counted.
//!
//! A unit file is not trusted by its name: [`read_unit`] accepts it only when the identity it
//! records (its hash and the hash of its recorded inputs) is the one its name and the plan give,
//! and when it holds exactly one row per planned arm, each of that setting, seed, experiment and
//! hash, with a known status and measured values in range ([`crate::results::check_row`]).
//! Anything else runs again, with the reason printed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Context, Result};
use crate::results::{Arm, MAX_UNIT_FILE_BYTES, UnitResult, check_row};

pub use crate::identity::{RESULTS_SEMANTICS, UnitInputs, code_version};

/// File name of the plan, beside `config.toml`.
pub const PLAN_FILE: &str = "plan.json";

/// One unit of an experiment: one setting × one seed, with the arms it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitId {
    /// The unit's name (see [`UnitInputs`]); its result is `units/HASH.json`.
    pub hash: String,
    /// Index of the setting in the grid.
    pub setting_index: usize,
    /// Setting label, e.g. `task.clauses=8` (empty without a grid).
    pub setting: String,
    /// Seed.
    pub seed: u64,
    /// The arms it runs, in the order their rows are written.
    pub arms: Vec<Arm>,
}

/// The units of the current config of an experiment (`plan.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitPlan {
    /// Experiment name.
    pub experiment: String,
    /// Every unit, in grid order.
    pub units: Vec<UnitId>,
}

impl UnitPlan {
    /// Writes `DIR/plan.json` atomically; left alone when it already holds exactly this plan
    /// (shards write it concurrently).
    ///
    /// # Errors
    /// Unwritable directory.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        let path = dir.join(PLAN_FILE);
        if fpe_io::read_regular_to_string(&path, MAX_UNIT_FILE_BYTES << 4, "plan")
            .is_ok_and(|t| t == text)
        {
            return Ok(());
        }
        fpe_io::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Reads `DIR/plan.json`; `Ok(None)` when there is none (directories written before plans
    /// existed).
    ///
    /// # Errors
    /// A plan that exists but cannot be read or parsed, naming it.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(PLAN_FILE);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        let text = fpe_io::read_regular_to_string(&path, MAX_UNIT_FILE_BYTES << 4, "plan")?;
        let plan =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        Ok(Some(plan))
    }
}

/// What is on disk for a planned unit.
#[derive(Clone, Debug, PartialEq)]
pub enum UnitFile {
    /// No file.
    Missing,
    /// A file that is not this unit's result; the reason in words.
    Invalid(String),
    /// The unit's result.
    Valid(UnitResult),
}

/// Reads and checks the result file of `id` in `units_dir` (see the module docs).
pub fn read_unit(units_dir: &Path, id: &UnitId, experiment: &str) -> UnitFile {
    let path = units_dir.join(format!("{}.json", id.hash));
    if std::fs::symlink_metadata(&path).is_err() {
        return UnitFile::Missing;
    }
    let text = match fpe_io::read_regular_to_string(&path, MAX_UNIT_FILE_BYTES, "unit file") {
        Ok(t) => t,
        Err(e) => return UnitFile::Invalid(e.to_string()),
    };
    let unit: UnitResult = match serde_json::from_str(&text) {
        Ok(u) => u,
        Err(e) => return UnitFile::Invalid(format!("it does not parse ({e})")),
    };
    match check_unit(&unit, id, experiment) {
        Ok(()) => UnitFile::Valid(unit),
        Err(why) => UnitFile::Invalid(why),
    }
}

/// Whether `unit` is the result of `id` in experiment `experiment`; the reason when not.
///
/// # Errors
/// The first mismatch, in words.
pub fn check_unit(unit: &UnitResult, id: &UnitId, experiment: &str) -> Result<(), String> {
    if unit.config_hash != id.hash {
        return Err(format!(
            "it records unit {}, not {}",
            unit.config_hash, id.hash
        ));
    }
    match &unit.inputs {
        None => return Err("it records no identity (written by an older fpe)".into()),
        Some(inputs) if inputs.hash() != id.hash => {
            return Err(format!(
                "its recorded config, data and semantics hash to {}, not {}",
                inputs.hash(),
                id.hash
            ));
        }
        Some(_) => {}
    }
    let arms: Vec<Arm> = unit.rows.iter().map(|r| r.arm).collect();
    if arms != id.arms {
        let names = |a: &[Arm]| a.iter().map(Arm::name).collect::<Vec<_>>().join(", ");
        return Err(format!(
            "it holds rows for arms [{}], the config runs [{}]",
            names(&arms),
            names(&id.arms)
        ));
    }
    for r in &unit.rows {
        let who = format!("its `{}` row", r.arm);
        if r.experiment != experiment {
            return Err(format!("{who} is of experiment `{}`", r.experiment));
        }
        if r.seed != id.seed {
            return Err(format!("{who} is of seed {}, not {}", r.seed, id.seed));
        }
        if r.setting != id.setting || r.setting_index != id.setting_index {
            return Err(format!(
                "{who} is of setting {} `{}`, not {} `{}`",
                r.setting_index, r.setting, id.setting_index, id.setting
            ));
        }
        if r.config_hash != id.hash {
            return Err(format!("{who} records unit {}", r.config_hash));
        }
        check_row(r).map_err(|e| format!("{who}: {e}"))?;
    }
    Ok(())
}

/// Names of the `*.json` files in `units_dir` that `plan` does not name (units of other
/// configs), sorted.
pub fn foreign_unit_files(units_dir: &Path, plan: &UnitPlan) -> Vec<String> {
    let planned: std::collections::HashSet<String> = plan
        .units
        .iter()
        .map(|u| format!("{}.json", u.hash))
        .collect();
    let mut names: Vec<String> = std::fs::read_dir(units_dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json") && !planned.contains(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
