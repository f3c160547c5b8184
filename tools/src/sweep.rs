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
//! shard of them (see [`crate::shard`]; shards share the output directory, each under its own
//! lock, and write no `results.csv`), and [`collect`] builds `results.csv` from the unit files
//! exactly as [`run_experiment`] does, naming the units still missing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fpe_datasets::{Dataset, EmbeddingConfig};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{ExperimentConfig, ExperimentKind, TaskConfig, apply_overrides, set_path};
use crate::progress::Progress;
use crate::results::{RunRow, UnitResult, read_units, sorted_rows, write_csv};
use crate::runner::{UnitInput, run_unit};
use crate::shard::{Shard, assign};

/// One point of the grid.
#[derive(Clone, Debug)]
pub struct Setting {
    /// Position in the grid.
    pub index: usize,
    /// `a=1,b=2` label.
    pub label: String,
    /// Grid values.
    pub params: BTreeMap<String, String>,
    /// Config with the grid point applied.
    pub cfg: ExperimentConfig,
}

/// A loaded experiment: its resolved base table and settings.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Base config (without grid) as TOML, after overrides.
    pub table: toml::Table,
    /// The config (grid still listed).
    pub cfg: ExperimentConfig,
    /// Every setting.
    pub settings: Vec<Setting>,
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Output root.
    pub out: PathBuf,
    /// Keep a checkpoint per arm and seed.
    pub checkpoints: bool,
    /// Progress bar / log lines.
    pub progress: bool,
    /// Where units train (checked by the caller with [`fpe_model::Device::check`]).
    pub device: fpe_model::Device,
}

/// What a finished experiment produced.
#[derive(Clone, Debug)]
pub struct ExperimentOutcome {
    /// Experiment directory.
    pub dir: PathBuf,
    /// Units run now.
    pub ran: usize,
    /// Units found finished and skipped.
    pub skipped: usize,
    /// All rows.
    pub rows: Vec<RunRow>,
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The directory relative data paths of the config at `path` resolve against: the directory of
/// the file it really is (a symbolic link to a config resolves against the link's target).
pub fn config_dir(path: &Path) -> PathBuf {
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    real.parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

impl Experiment {
    /// Loads `path`, applies `--quick` overrides and command-line overrides, expands the grid.
    ///
    /// # Errors
    /// Any config error, naming the file and field.
    pub fn load(path: &Path, quick: bool, overrides: &toml::Table) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("{}: invalid TOML", path.display()))?;
        Self::from_table(table, quick, overrides, &config_dir(path))
            .with_context(|| format!("in {}", path.display()))
    }

    /// As [`Experiment::load`], from a table; relative data paths resolve against `base_dir` when
    /// they do not exist relative to the working directory.
    ///
    /// # Errors
    /// Any config error.
    pub fn from_table(
        mut table: toml::Table,
        quick: bool,
        overrides: &toml::Table,
        base_dir: &Path,
    ) -> Result<Self> {
        if quick {
            if let Some(q) = table.get("quick").and_then(|q| q.as_table()).cloned() {
                apply_overrides(&mut table, &q)?;
            }
        }
        apply_overrides(&mut table, overrides)?;
        dedupe_lists(&mut table);
        if let Some(p) = table
            .get("task")
            .and_then(|t| t.get("path"))
            .and_then(|p| p.as_str())
        {
            let path = PathBuf::from(p);
            if path.is_relative() && !path.exists() && base_dir.join(&path).exists() {
                let resolved = base_dir.join(&path).display().to_string();
                set_path(&mut table, "task.path", toml::Value::String(resolved))?;
            }
        }
        let cfg = ExperimentConfig::from_table(table.clone())?;
        let grid: Vec<(String, Vec<toml::Value>)> = cfg
            .grid
            .iter()
            .map(|(k, v)| (k.clone(), v.as_array().cloned().unwrap_or_default()))
            .collect();
        let mut base = table.clone();
        base.remove("grid");
        base.remove("quick");
        let mut settings = Vec::new();
        let n: usize = grid.iter().map(|(_, v)| v.len()).product();
        for index in 0..n {
            if n >= PLAN_PROGRESS_EVERY && index % PLAN_PROGRESS_EVERY == 0 {
                eprintln!("[{}] planning: setting {index} of {n}", cfg.name);
            }
            let mut t = base.clone();
            let mut params = BTreeMap::new();
            let mut rem = index;
            for (k, values) in grid.iter().rev() {
                let v = &values[rem % values.len()];
                rem /= values.len();
                set_path(&mut t, k, v.clone())?;
                params.insert(k.clone(), value_text(v));
            }
            let cfg = ExperimentConfig::from_table(t)
                .with_context(|| format!("grid setting {params:?}"))?;
            let label = params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            settings.push(Setting {
                index,
                label,
                params,
                cfg,
            });
        }
        Ok(Experiment {
            table: base,
            cfg,
            settings,
        })
    }

    /// Every (setting, seed) unit with its hash.
    pub fn units(&self) -> Vec<(usize, u64, String)> {
        self.settings
            .iter()
            .flat_map(|s| {
                s.cfg
                    .seeds
                    .iter()
                    .map(move |&seed| (s.index, seed, unit_hash(&s.cfg, seed)))
            })
            .collect()
    }
}

/// Settings between two progress lines while a large grid is expanded.
const PLAN_PROGRESS_EVERY: usize = 10_000;

/// Merges repeated seeds and repeated values of a grid axis (keeping the first of each, in
/// order), with a warning: a repeat would otherwise train the same unit twice or be counted
/// as an extra seed.
fn dedupe_lists(table: &mut toml::Table) {
    fn dedupe(values: &mut Vec<toml::Value>, what: &str) {
        let mut kept: Vec<toml::Value> = Vec::with_capacity(values.len());
        for v in values.drain(..) {
            if kept.contains(&v) {
                eprintln!("warning: {what} lists {v} more than once; it is used once");
            } else {
                kept.push(v);
            }
        }
        *values = kept;
    }
    if let Some(toml::Value::Array(seeds)) = table.get_mut("seeds") {
        dedupe(seeds, "`seeds`");
    }
    if let Some(toml::Value::Table(grid)) = table.get_mut("grid") {
        for (axis, values) in grid.iter_mut() {
            if let toml::Value::Array(v) = values {
                dedupe(v, &format!("`grid.\"{axis}\"`"));
            }
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

/// Stable name of a unit: everything that decides its result (see [`crate::identity`]).
pub fn unit_hash(cfg: &ExperimentConfig, seed: u64) -> String {
    crate::identity::unit_inputs(cfg, seed).hash()
}

/// Says on stderr why pending units whose (setting, seed) already has a result on disk under
/// another name run again: which part of their identity changed (see [`crate::identity`]).
fn explain_reruns(exp: &Experiment, dir: &Path, pending: &[&(usize, u64, String)]) {
    if pending.is_empty() {
        return;
    }
    let Ok(old) = read_units(&dir.join("units")) else {
        return;
    };
    let recorded: HashMap<(String, u64), Option<crate::identity::UnitInputs>> = old
        .into_iter()
        .filter_map(|u| {
            let r = u.rows.first()?;
            Some(((r.setting.clone(), r.seed), u.inputs.clone()))
        })
        .collect();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (si, seed, _) in pending {
        let setting = &exp.settings[*si];
        if let Some(old) = recorded.get(&(setting.label.clone(), *seed)) {
            let now = crate::identity::unit_inputs(&setting.cfg, *seed);
            *reasons.entry(now.changed_from(old.as_ref())).or_default() += 1;
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
fn is_write_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<fpe_model::Error>(),
            Some(fpe_model::Error::Io { .. })
        )
    })
}

/// Loads embedding datasets once per distinct loader config.
#[derive(Default)]
pub struct DataCache(Mutex<HashMap<String, Arc<Dataset>>>);

impl DataCache {
    fn embeddings(&self, e: &EmbeddingConfig) -> Result<Arc<Dataset>> {
        let key = serde_json::to_string(e)?;
        if let Some(d) = self.0.lock().expect("cache lock").get(&key) {
            return Ok(d.clone());
        }
        let d = Arc::new(
            e.load()
                .with_context(|| format!("loading {}", e.path.display()))?,
        );
        crate::warn_test_only_classes(&d, &e.path);
        self.0.lock().expect("cache lock").insert(key, d.clone());
        Ok(d)
    }

    /// The dataset of `cfg` for `seed`.
    ///
    /// # Errors
    /// Generation or loading errors.
    pub fn get(&self, cfg: &ExperimentConfig, seed: u64) -> Result<Arc<Dataset>> {
        match &cfg.task {
            TaskConfig::Boolean(b) => Ok(Arc::new(b.generator().generate(seed)?)),
            TaskConfig::Embeddings(e) => {
                let d = self.embeddings(e)?;
                // The file's sizes are known only now; refuse before training allocates more.
                let samples = d.train.x.nrows() + d.test.x.nrows();
                cfg.check_memory(d.d_in(), d.n_outputs(), samples)
                    .with_context(|| format!("with {}", e.path.display()))?;
                Ok(d)
            }
        }
    }
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
    let dir = opts.out.join(&exp.cfg.name);
    std::fs::create_dir_all(dir.join("units"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let _lock = match shard {
        None => crate::lock::DirLock::acquire(&dir)?,
        Some(s) => crate::lock::DirLock::acquire_shard(&dir, s)?,
    };
    let all_units = exp.units();
    let units: Vec<&(usize, u64, String)> = match shard {
        None => all_units.iter().collect(),
        Some(s) => {
            let hashes: Vec<&str> = all_units.iter().map(|(_, _, h)| h.as_str()).collect();
            let owner = assign(&hashes, s.count);
            all_units
                .iter()
                .zip(owner)
                .filter(|(_, o)| *o == s.index)
                .map(|(u, _)| u)
                .collect()
        }
    };
    // Stale temporary files: a plain sweep owns them all; a shard only those of its own units
    // (another shard may be writing the rest right now).
    let own_prefixes: Vec<String> = units.iter().map(|(_, _, h)| format!("{h}.json")).collect();
    remove_stale_temp_files(&dir.join("units"), |name| {
        shard.is_none() || own_prefixes.iter().any(|p| name.starts_with(p.as_str()))
    });
    write_resolved_config(exp, &dir)?;
    if exp.cfg.kind == ExperimentKind::Collisions {
        return crate::collisions::run(exp, &dir);
    }
    let unit_path = |h: &str| dir.join("units").join(format!("{h}.json"));
    let pending: Vec<&(usize, u64, String)> = units
        .iter()
        .copied()
        .filter(|(_, _, h)| !unit_done(&unit_path(h)))
        .collect();
    let skipped = units.len() - pending.len();
    explain_reruns(exp, &dir, &pending);
    let label = match shard {
        None => exp.cfg.name.clone(),
        Some(s) => format!("{} shard {s}", exp.cfg.name),
    };
    let mut record = shard.map(|s| ShardRecord::start(s, units.len(), pending.len(), skipped));
    if let Some(r) = &record {
        r.write(&dir)?;
    }
    let progress = Progress::new(&label, units.len() as u64, skipped as u64, opts.progress);
    let ckpt_dir = opts.checkpoints.then(|| dir.join("checkpoints"));
    let run_one = |si: &usize, seed: &u64, hash: &String| -> Result<()> {
        let setting = &exp.settings[*si];
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
            .filter(|r| r.status == "ok")
            .map(|r| r.test_accuracy)
            .fold(f64::NAN, f64::max);
        let unit = UnitResult {
            config_hash: hash.clone(),
            rows,
            wall_seconds: t0.elapsed().as_secs_f64(),
            inputs: Some(crate::identity::unit_inputs(&setting.cfg, *seed)),
        };
        let json = serde_json::to_string_pretty(&unit)?;
        fpe_model::write_atomic(&unit_path(hash), json.as_bytes())?;
        progress.unit_done(&setting.label, *seed, best);
        Ok(())
    };
    let start = Instant::now();
    // After a failed write (disk full, directory gone) no further unit starts: its result could
    // not be kept either. Finished units stay on disk; rerunning the command resumes.
    let write_failed = AtomicBool::new(false);
    let results: Vec<Result<()>> = pending
        .par_iter()
        .map(|(si, seed, hash)| {
            if write_failed.load(Ordering::SeqCst) {
                bail!(NOT_STARTED);
            }
            let outcome = run_one(si, seed, hash);
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
        .filter_map(|((_, _, h), r)| r.err().map(|e| (h.as_str(), format!("{e:#}"))))
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
        bail!(msg);
    }
    let wanted: std::collections::HashSet<&str> =
        units.iter().map(|(_, _, h)| h.as_str()).collect();
    let all: Vec<UnitResult> = read_units(&dir.join("units"))?
        .into_iter()
        .filter(|u| wanted.contains(u.config_hash.as_str()))
        .collect();
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

/// Writes `DIR/config.toml`: the typed config with every default written out, `[quick]`
/// already applied. Left alone when it already holds exactly that (shards write it concurrently).
fn write_resolved_config(exp: &Experiment, dir: &Path) -> Result<()> {
    let mut resolved = exp.cfg.clone();
    resolved.quick.clear();
    let resolved = toml::to_string_pretty(&resolved).context("serialising the resolved config")?;
    let path = dir.join("config.toml");
    if std::fs::read_to_string(&path).is_ok_and(|t| t == resolved) {
        return Ok(());
    }
    fpe_model::write_atomic(&path, resolved.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Sharding needs units; a `collisions` experiment is one computation without them.
fn refuse_unsplittable(exp: &Experiment, flag: &str) -> Result<()> {
    if exp.cfg.kind == ExperimentKind::Collisions {
        bail!(
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
    /// The unit's name (see [`crate::identity`]: config, data digest, results semantics); its
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
    let hashes: Vec<&str> = units.iter().map(|(_, _, h)| h.as_str()).collect();
    let owner = shard.map(|s| assign(&hashes, s.count));
    Ok(units
        .iter()
        .enumerate()
        .filter(|(i, _)| match (shard, &owner) {
            (Some(s), Some(o)) => o[*i] == s.index,
            _ => true,
        })
        .map(|(_, (si, seed, hash))| {
            let setting = &exp.settings[*si];
            PlannedUnit {
                hash: hash.clone(),
                shard: shard.map(|s| s.to_string()),
                setting_index: setting.index,
                setting: setting.label.clone(),
                seed: *seed,
                config: unit_config(&setting.cfg, *seed),
            }
        })
        .collect())
}

/// What one shard did, kept in `DIR/shards/I-of-N.json` for [`collect`] to report on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
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
    fn start(shard: Shard, units: usize, ran: usize, skipped: usize) -> Self {
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

    fn finish(&mut self, errors: &[(&str, String)]) {
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

    fn write(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir, &self.shard);
        std::fs::create_dir_all(dir.join("shards"))
            .with_context(|| format!("creating {}/shards", dir.display()))?;
        let json = serde_json::to_string_pretty(self)?;
        fpe_model::write_atomic(&path, json.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Every record in `DIR/shards/`, skipping files that do not parse.
    fn read_all(dir: &Path) -> Vec<ShardRecord> {
        let Ok(entries) = std::fs::read_dir(dir.join("shards")) else {
            return Vec::new();
        };
        let mut out: Vec<ShardRecord> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect();
        out.sort_by(|a, b| a.shard.cmp(&b.shard));
        out
    }
}

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

/// Gathers the unit files of a (sharded) sweep into `results.csv`, exactly as [`run_experiment`]
/// builds it, and lists the units still missing with what the shard records say about them.
/// `results.csv` holds the present units even when some are missing.
///
/// # Errors
/// A `collisions` experiment, a missing experiment directory, unreadable unit files or
/// unwritable output.
pub fn collect(exp: &Experiment, opts: &RunOptions) -> Result<CollectOutcome> {
    refuse_unsplittable(exp, "--collect")?;
    let dir = opts.out.join(&exp.cfg.name);
    if !dir.join("units").is_dir() {
        bail!(
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
    let units = exp.units();
    let unit_path = |h: &str| dir.join("units").join(format!("{h}.json"));
    let hashes: Vec<&str> = units.iter().map(|(_, _, h)| h.as_str()).collect();
    let records = ShardRecord::read_all(&dir);
    let counts: std::collections::BTreeSet<usize> = records
        .iter()
        .filter_map(|r| r.shard.parse::<Shard>().ok().map(|s| s.count))
        .collect();
    let owners: Vec<(usize, Vec<usize>)> =
        counts.iter().map(|&n| (n, assign(&hashes, n))).collect();
    let mut missing = Vec::new();
    let mut rerun: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, (si, seed, hash)) in units.iter().enumerate() {
        if unit_done(&unit_path(hash)) {
            continue;
        }
        let mut why = Vec::new();
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
            setting: exp.settings[*si].label.clone(),
            seed: *seed,
            why,
        });
    }
    for shards in rerun.values_mut() {
        shards.sort_unstable();
    }
    let wanted: std::collections::HashSet<&str> = hashes.iter().copied().collect();
    let all: Vec<UnitResult> = read_units(&dir.join("units"))?
        .into_iter()
        .filter(|u| wanted.contains(u.config_hash.as_str()))
        .collect();
    let rows = sorted_rows(&all);
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

/// Removes temporary files a killed run left behind (`*.tmp-XXXXXXXX`) whose name `owned` accepts; we
/// hold the lock over those, so no live writer owns them.
fn remove_stale_temp_files(dir: &Path, owned: impl Fn(&str) -> bool) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains(".tmp-") && owned(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A unit is done when its result file exists and parses.
fn unit_done(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<UnitResult>(&t).ok())
        .is_some()
}
