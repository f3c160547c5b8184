//! `fpe sweep --collect`: gathers the unit files of a sharded sweep into `results.csv` and names
//! the units still missing, with what the shard records say about each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Context, Result, invalid};

use crate::experiment::{Experiment, RunOptions};
use crate::manifest::{UnitFile, read_unit};
use crate::results::{RunRow, UnitResult, sorted_rows, write_csv};
use crate::shard::{Shard, assign};
use crate::shard_record::ShardRecord;
use crate::units::{refuse_unsplittable, write_resolved_config};

/// A unit [`collect`] did not find, and what is known about why.
#[derive(Clone, Debug, PartialEq)]
pub struct MissingUnit {
    /// Unit hash.
    pub hash: String,
    /// Setting label.
    pub setting: String,
    /// Seed.
    pub seed: u64,
    /// For each shard count with records in `shards/`: the shard (`I/N`) that owns this unit and
    /// its state, e.g. `shard 2/3 failed: …` or `shard 1/3 has not run`.
    pub why: Vec<String>,
}

/// What [`collect`] found.
#[derive(Clone, Debug)]
pub struct CollectOutcome {
    /// Experiment directory.
    pub dir: PathBuf,
    /// Units of the experiment.
    pub units: usize,
    /// Units whose result file is there.
    pub present: usize,
    /// Units still missing.
    pub missing: Vec<MissingUnit>,
    /// Shards (`I/N`) that own missing units, per shard count seen in `shards/`.
    pub rerun: BTreeMap<usize, Vec<usize>>,
    /// Rows of the present units, as in `results.csv`.
    pub rows: Vec<RunRow>,
}

impl CollectOutcome {
    /// A readable list of the missing units and the shards to rerun (empty when none is missing).
    pub fn missing_report(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        if self.missing.is_empty() {
            return s;
        }
        let _ = writeln!(
            s,
            "{} of {} unit(s) of {} are missing:",
            self.missing.len(),
            self.units,
            self.dir.display()
        );
        for m in &self.missing {
            let setting = if m.setting.is_empty() {
                String::new()
            } else {
                format!("setting `{}`, ", m.setting)
            };
            let _ = writeln!(s, "  {setting}seed {} (unit {})", m.seed, m.hash);
            for w in &m.why {
                let _ = writeln!(s, "      {w}");
            }
        }
        let script = self.dir.join("slurm").join("array.sbatch");
        let script_text = std::fs::read_to_string(&script).unwrap_or_default();
        for (count, shards) in &self.rerun {
            let ids: Vec<String> = shards.iter().map(usize::to_string).collect();
            let slurm = if script_text.contains(&format!("}}/{count}\"")) {
                format!(
                    "; on Slurm: `sbatch --array={} {}`",
                    ids.join(","),
                    script.display()
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "rerun shard(s) {} of {count} (`fpe sweep CONFIG --shard I/{count}` each{slurm}); \
                 finished units are skipped",
                ids.join(", "),
            );
        }
        let _ = write!(
            s,
            "or run the rest on one machine with a plain `fpe sweep CONFIG --out DIR`"
        );
        s
    }
}

/// Gathers the unit files of a (sharded) sweep into `results.csv`, exactly as
/// [`run_experiment`](crate::sweep::run_experiment) builds it, and lists the units still missing
/// with what the shard records say about them.
/// `results.csv` holds the present units even when some are missing.
///
/// # Errors
/// A `collisions` experiment, a missing experiment directory, unreadable unit files or
/// unwritable output.
pub fn collect(exp: &Experiment, opts: &RunOptions) -> Result<CollectOutcome> {
    refuse_unsplittable(exp, "--collect")?;
    let dir = opts.out.join(&exp.cfg.name);
    if !dir.join("units").is_dir() {
        invalid!(
            "--collect: {} holds no units/ directory: run the shards first \
             (`fpe sweep CONFIG --out {} --shard I/N`)",
            dir.display(),
            opts.out.display()
        );
    }
    // Collecting while a sweep or a shard still writes would read half a directory: take the
    // directory's lock, which refuses while any of them runs.
    let _lock = crate::lock::DirLock::acquire(&dir).context("--collect")?;
    write_resolved_config(exp, &dir)?;
    let plan = exp.unit_plan();
    plan.write(&dir)?;
    let units = &plan.units;
    let units_dir = dir.join("units");
    let hashes: Vec<&str> = units.iter().map(|u| u.hash.as_str()).collect();
    let records = ShardRecord::read_all(&dir);
    let counts: std::collections::BTreeSet<usize> = records
        .iter()
        .filter_map(|r| r.shard.parse::<Shard>().ok().map(|s| s.count))
        .collect();
    let owners: Vec<(usize, Vec<usize>)> =
        counts.iter().map(|&n| (n, assign(&hashes, n))).collect();
    let mut missing = Vec::new();
    let mut rerun: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut present: Vec<UnitResult> = Vec::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        let hash = &u.hash;
        let mut why = Vec::new();
        match read_unit(&units_dir, u, &exp.cfg.name) {
            UnitFile::Valid(r) => {
                present.push(r);
                continue;
            }
            UnitFile::Missing => {}
            UnitFile::Invalid(reason) => {
                why.push(format!("its file in units/ is not its result: {reason}"));
            }
        }
        for (count, owner) in &owners {
            let shard = format!("{}/{count}", owner[i]);
            let entry = rerun.entry(*count).or_default();
            if !entry.contains(&owner[i]) {
                entry.push(owner[i]);
            }
            why.push(match records.iter().find(|r| r.shard == shard) {
                None => format!("shard {shard} has not run"),
                Some(r) => match (r.failed.get(hash), r.state.as_str()) {
                    (Some(e), _) => format!("shard {shard} failed on it: {e}"),
                    (None, "running") => format!(
                        "shard {shard} started on {} (PID {}) and has not finished: still \
                         running, or killed (e.g. past its time limit)",
                        r.host, r.pid
                    ),
                    (None, state) => format!("shard {shard} {state} without it"),
                },
            });
        }
        missing.push(MissingUnit {
            hash: hash.clone(),
            setting: u.setting.clone(),
            seed: u.seed,
            why,
        });
    }
    for shards in rerun.values_mut() {
        shards.sort_unstable();
    }
    let rows = sorted_rows(&present);
    write_csv(&dir.join("results.csv"), &rows)?;
    Ok(CollectOutcome {
        dir,
        units: units.len(),
        present: units.len() - missing.len(),
        missing,
        rerun,
        rows,
    })
}
