//! Experiments and sweeps: expand the grid, skip finished units, run the rest in parallel.
//!
//! Output layout of an experiment `NAME` under `OUT`:
//!
//! ```text
//! OUT/NAME/config.toml          resolved config (grid and --quick applied to the base), written first
//! OUT/NAME/units/HASH.json      one file per finished (setting, seed): its rows, written atomically
//! OUT/NAME/checkpoints/*.ckpt   final model of every arm and seed
//! OUT/NAME/results.csv          every row, sorted by setting, seed, arm (rebuilt from units/)
//! OUT/NAME/shards/I-of-N.json   state of shard I of N (sharded sweeps only): host, units, errors
//! ```
//!
//! A unit is identified by a hash of its resolved config and seed, so an interrupted sweep
//! resumes without redoing or losing finished units, and a changed config never reuses stale
//! results. Units run in parallel on the rayon pool; each is deterministic, so the rows do not
//! depend on the number of threads.
//!
//! A sweep can also be split over machines: [`plan`] lists its units, [`run_shard`] runs one
//! shard of them (see [`Shard`]; shards share the output directory, each under its own
//! lock, and write no `results.csv`), and [`collect`] builds `results.csv` from the unit files
//! exactly as [`run_experiment`] does, naming the units still missing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::error::{Context, Error, Result, invalid};
use rayon::prelude::*;

use crate::config::ExperimentKind;
use crate::manifest::{UnitFile, UnitId, read_unit};
use crate::results::{RunRow, UnitResult, scan_units, sorted_rows, write_csv};
use crate::shard::assign;
use crate::shard_record::ShardRecord;
use crate::units::{refuse_unsplittable, remove_stale_temp_files, write_resolved_config};

pub use crate::arms::Arm;
pub use crate::collect::{CollectOutcome, MissingUnit, collect};
pub use crate::data::{DataCache, warn_test_only_classes};
pub use crate::experiment::{Experiment, ExperimentOutcome, RunOptions, Setting};
pub use crate::identity::{unit_config, unit_hash};
pub use crate::lock::hostname;
pub use crate::memory::available_memory;
pub use crate::runner::{DIVERGENCE_FACTOR, UnitInput, divergence_limit, run_unit};
pub use crate::shard::{Shard, ShardError};
pub use crate::units::{PlannedUnit, plan};

/// Says on stderr why pending units run again: a file under their name that is not their result
/// (`invalid`), or a result of the same (setting, seed) on disk under another name, with the part
/// of its identity that changed (see [`UnitInputs`](crate::manifest::UnitInputs)).
fn explain_reruns(exp: &Experiment, dir: &Path, pending: &[&UnitId], invalid: &[(String, String)]) {
    for (hash, why) in invalid {
        eprintln!(
            "[{}] unit {hash} runs again: its file in units/ is not its result: {why}",
            exp.cfg.name
        );
    }
    if pending.is_empty() {
        return;
    }
    let recorded: HashMap<(String, u64), Option<crate::identity::UnitInputs>> =
        scan_units(&dir.join("units"))
            .into_iter()
            .filter_map(|(_, u)| {
                let u = u.ok()?;
                let r = u.rows.first()?;
                Some(((r.setting.clone(), r.seed), u.inputs.clone()))
            })
            .collect();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for id in pending {
        let setting = &exp.settings[id.setting_index];
        if let Some(old) = recorded.get(&(setting.label.clone(), id.seed)) {
            let now = crate::identity::unit_inputs(&setting.cfg, id.seed);
            if now.hash() != old.as_ref().map(|o| o.hash()).unwrap_or_default() {
                *reasons.entry(now.changed_from(old.as_ref())).or_default() += 1;
            }
        }
    }
    for (why, n) in reasons {
        eprintln!(
            "[{}] {n} unit(s) run again although a result is on disk: {why}",
            exp.cfg.name
        );
    }
}

/// The error of a unit skipped because an earlier write failed.
const NOT_STARTED: &str = "not started: an earlier write failed";

/// Whether `e` is a failed file write (disk full, unwritable directory), after which no other
/// unit should start.
fn is_write_error(e: &Error) -> bool {
    matches!(
        e.root(),
        Error::Model(fpe_model::Error::Io { .. })
            | Error::Io(_)
            | Error::File(fpe_io::Error::Io { .. })
    )
}

/// Runs (or resumes) an experiment.
///
/// # Errors
/// Unwritable output, bad data, or a unit that fails as a whole.
pub fn run_experiment(
    exp: &Experiment,
    opts: &RunOptions,
    cache: &DataCache,
) -> Result<ExperimentOutcome> {
    run_units(exp, opts, cache, None)
}

/// Runs (or resumes) shard `shard` of an experiment's units, next to other shards running on the
/// same output directory. Writes unit files and `shards/I-of-N.json`, not `results.csv` (see
/// [`collect`]); the outcome's rows are this shard's.
///
/// # Errors
/// As [`run_experiment`]; also a `collisions` experiment (it has no units to split), or another
/// live process running this shard (or a plain sweep) in the same directory.
pub fn run_shard(
    exp: &Experiment,
    opts: &RunOptions,
    cache: &DataCache,
    shard: Shard,
) -> Result<ExperimentOutcome> {
    run_units(exp, opts, cache, Some(shard))
}

fn run_units(
    exp: &Experiment,
    opts: &RunOptions,
    cache: &DataCache,
    shard: Option<Shard>,
) -> Result<ExperimentOutcome> {
    if shard.is_some() {
        refuse_unsplittable(exp, "--shard")?;
    }
    exp.preflight()?;
    let dir = opts.out.join(&exp.cfg.name);
    std::fs::create_dir_all(dir.join("units"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let _lock = match shard {
        None => crate::lock::DirLock::acquire(&dir)?,
        Some(s) => crate::lock::DirLock::acquire_shard(&dir, s)?,
    };
    let plan = exp.unit_plan();
    let units: Vec<&UnitId> = match shard {
        None => plan.units.iter().collect(),
        Some(s) => {
            let hashes: Vec<&str> = plan.units.iter().map(|u| u.hash.as_str()).collect();
            let owner = assign(&hashes, s.count);
            plan.units
                .iter()
                .zip(owner)
                .filter(|(_, o)| *o == s.index)
                .map(|(u, _)| u)
                .collect()
        }
    };
    // Stale temporary files: a plain sweep owns them all; a shard only those of its own units
    // (another shard may be writing the rest right now).
    let own: Vec<&str> = units.iter().map(|u| u.hash.as_str()).collect();
    remove_stale_temp_files(&opts.out, &dir, |name| {
        shard.is_none() || own.iter().any(|h| name.starts_with(h))
    });
    write_resolved_config(exp, &dir)?;
    if exp.cfg.kind == ExperimentKind::Collisions {
        return crate::collisions::run(exp, &dir);
    }
    plan.write(&dir)?;
    let units_dir = dir.join("units");
    let mut invalid: Vec<(String, String)> = Vec::new();
    let pending: Vec<&UnitId> = units
        .iter()
        .copied()
        .filter(|u| match read_unit(&units_dir, u, &exp.cfg.name) {
            UnitFile::Valid(_) => false,
            UnitFile::Missing => true,
            UnitFile::Invalid(why) => {
                invalid.push((u.hash.clone(), why));
                true
            }
        })
        .collect();
    let skipped = units.len() - pending.len();
    explain_reruns(exp, &dir, &pending, &invalid);
    let label = match shard {
        None => exp.cfg.name.clone(),
        Some(s) => format!("{} shard {s}", exp.cfg.name),
    };
    let mut record = shard.map(|s| ShardRecord::start(s, units.len(), pending.len(), skipped));
    if let Some(r) = &record {
        r.write(&dir)?;
    }
    let progress = opts
        .progress
        .start(&label, units.len() as u64, skipped as u64);
    let ckpt_dir = opts.checkpoints.then(|| dir.join("checkpoints"));
    let unit_path = |h: &str| units_dir.join(format!("{h}.json"));
    let run_one = |id: &UnitId| -> Result<()> {
        let (seed, hash) = (&id.seed, &id.hash);
        let setting = &exp.settings[id.setting_index];
        let t0 = Instant::now();
        let data = cache.get(&setting.cfg, *seed)?;
        let template = RunRow {
            experiment: exp.cfg.name.clone(),
            setting: setting.label.clone(),
            setting_index: setting.index,
            config_hash: hash.clone(),
            params: setting.params.clone(),
            code_version: crate::identity::code_version(),
            device: opts.device.to_string(),
            ..Default::default()
        };
        let input = UnitInput {
            cfg: &setting.cfg,
            seed: *seed,
            data,
            template,
            checkpoint_dir: ckpt_dir.as_deref(),
            device: opts.device,
        };
        let rows = run_unit(&input)
            .with_context(|| format!("setting `{}`, seed {seed}", setting.label))?;
        let best = rows
            .iter()
            .filter(|r| r.status.is_ok())
            .map(|r| r.test_accuracy)
            .fold(f64::NAN, f64::max);
        let unit = UnitResult {
            config_hash: hash.clone(),
            rows,
            wall_seconds: t0.elapsed().as_secs_f64(),
            inputs: Some(crate::identity::unit_inputs(&setting.cfg, *seed)),
        };
        let json = serde_json::to_string_pretty(&unit)?;
        fpe_io::write_atomic(&unit_path(hash), json.as_bytes())?;
        progress.unit_done(&setting.label, *seed, best);
        Ok(())
    };
    let start = Instant::now();
    // After a failed write (disk full, directory gone) no further unit starts: its result could
    // not be kept either. Finished units stay on disk; rerunning the command resumes.
    let write_failed = AtomicBool::new(false);
    let results: Vec<Result<()>> = pending
        .par_iter()
        .map(|id| {
            if write_failed.load(Ordering::SeqCst) {
                return Err(Error::UnitsFailed(NOT_STARTED.to_string()));
            }
            let outcome = run_one(id);
            if outcome.as_ref().is_err_and(is_write_error) {
                write_failed.store(true, Ordering::SeqCst);
            }
            outcome
        })
        .collect();
    progress.finish(start.elapsed().as_secs_f64());
    let errors: Vec<(&str, String)> = pending
        .iter()
        .zip(results)
        .filter_map(|(u, r)| r.err().map(|e| (u.hash.as_str(), format!("{e:#}"))))
        .collect();
    if let Some(r) = &mut record {
        r.finish(&errors);
        r.write(&dir)?;
    }
    if !errors.is_empty() {
        let what = match shard {
            None => format!("`{}`", exp.cfg.name),
            Some(s) => format!("`{}` shard {s}", exp.cfg.name),
        };
        let not_started = errors.iter().filter(|(_, e)| e == NOT_STARTED).count();
        let list: Vec<&str> = errors
            .iter()
            .map(|(_, e)| e.as_str())
            .filter(|e| *e != NOT_STARTED)
            .collect();
        let mut msg = format!(
            "{} unit(s) of {what} failed:\n  {}",
            list.len(),
            list.join("\n  ")
        );
        if not_started > 0 {
            msg.push_str(&format!(
                "\n{not_started} more unit(s) were not started after the failed write; the {} \
                 finished unit(s) are kept: free space (or fix the directory) and rerun the same \
                 command to resume",
                pending.len() - errors.len() + skipped
            ));
        }
        return Err(Error::UnitsFailed(msg));
    }
    // Exactly the units of this config (and shard), each checked again as it is read back.
    let mut all: Vec<UnitResult> = Vec::with_capacity(units.len());
    for u in &units {
        match read_unit(&units_dir, u, &exp.cfg.name) {
            UnitFile::Valid(r) => all.push(r),
            UnitFile::Missing => invalid!("unit {} vanished from {}", u.hash, units_dir.display()),
            UnitFile::Invalid(why) => invalid!(
                "unit {} in {} is not its result after running it: {why}",
                u.hash,
                units_dir.display()
            ),
        }
    }
    let rows = sorted_rows(&all);
    if shard.is_none() {
        write_csv(&dir.join("results.csv"), &rows)?;
    }
    Ok(ExperimentOutcome {
        dir,
        ran: pending.len(),
        skipped,
        rows,
    })
}
