//! Experiments and sweeps: expand the grid, skip finished units, run the rest in parallel.
//!
//! Output layout of an experiment `NAME` under `OUT`:
//!
//! ```text
//! OUT/NAME/config.toml          resolved config (grid and --quick applied to the base), written first
//! OUT/NAME/units/HASH.json      one file per finished (setting, seed): its rows, written atomically
//! OUT/NAME/checkpoints/*.ckpt   final model of every arm and seed
//! OUT/NAME/results.csv          every row, sorted by setting, seed, arm (rebuilt from units/)
//! ```
//!
//! A unit is identified by a hash of its resolved config and seed, so an interrupted sweep
//! resumes without redoing or losing finished units, and a changed config never reuses stale
//! results. Units run in parallel on the rayon pool; each is deterministic, so the rows do not
//! depend on the number of threads.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fpe_datasets::{Dataset, EmbeddingConfig};
use rayon::prelude::*;

use crate::config::{ExperimentConfig, ExperimentKind, TaskConfig, apply_overrides, set_path};
use crate::progress::Progress;
use crate::results::{RunRow, UnitResult, read_units, sorted_rows, write_csv};
use crate::runner::{UnitInput, run_unit};

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
        Self::from_table(
            table,
            quick,
            overrides,
            path.parent().unwrap_or(Path::new(".")),
        )
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

/// Stable hash of a unit: FNV-1a 64 of the resolved config as JSON with one seed.
pub fn unit_hash(cfg: &ExperimentConfig, seed: u64) -> String {
    let mut c = cfg.clone();
    c.seeds = vec![seed];
    c.grid.clear();
    c.quick.clear();
    c.title.clear();
    let json = serde_json::to_string(&c).expect("configs serialise");
    let h = json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{h:016x}")
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
            TaskConfig::Embeddings(e) => self.embeddings(e),
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
    let dir = opts.out.join(&exp.cfg.name);
    std::fs::create_dir_all(dir.join("units"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let _lock = crate::lock::DirLock::acquire(&dir)?;
    remove_stale_temp_files(&dir.join("units"));
    // The typed config with every default written out; `[quick]` is already applied.
    let mut resolved = exp.cfg.clone();
    resolved.quick.clear();
    let resolved = toml::to_string_pretty(&resolved).context("serialising the resolved config")?;
    fpe_model::write_atomic(&dir.join("config.toml"), resolved.as_bytes())
        .with_context(|| format!("writing {}/config.toml", dir.display()))?;
    if exp.cfg.kind == ExperimentKind::Collisions {
        return crate::collisions::run(exp, &dir);
    }
    let units = exp.units();
    let unit_path = |h: &str| dir.join("units").join(format!("{h}.json"));
    let pending: Vec<&(usize, u64, String)> = units
        .iter()
        .filter(|(_, _, h)| !unit_done(&unit_path(h)))
        .collect();
    let skipped = units.len() - pending.len();
    let progress = Progress::new(
        &exp.cfg.name,
        units.len() as u64,
        skipped as u64,
        opts.progress,
    );
    let ckpt_dir = opts.checkpoints.then(|| dir.join("checkpoints"));
    let start = Instant::now();
    let results: Vec<Result<()>> = pending
        .par_iter()
        .map(|(si, seed, hash)| {
            let setting = &exp.settings[*si];
            let t0 = Instant::now();
            let data = cache.get(&setting.cfg, *seed)?;
            let template = RunRow {
                experiment: exp.cfg.name.clone(),
                setting: setting.label.clone(),
                setting_index: setting.index,
                config_hash: hash.clone(),
                params: setting.params.clone(),
                ..Default::default()
            };
            let input = UnitInput {
                cfg: &setting.cfg,
                seed: *seed,
                data,
                template,
                checkpoint_dir: ckpt_dir.as_deref(),
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
            };
            let json = serde_json::to_string_pretty(&unit)?;
            fpe_model::write_atomic(&unit_path(hash), json.as_bytes())?;
            progress.unit_done(&setting.label, *seed, best);
            Ok(())
        })
        .collect();
    progress.finish(start.elapsed().as_secs_f64());
    let errors: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.err().map(|e| format!("{e:#}")))
        .collect();
    if !errors.is_empty() {
        bail!(
            "{} unit(s) of `{}` failed:\n  {}",
            errors.len(),
            exp.cfg.name,
            errors.join("\n  ")
        );
    }
    let wanted: std::collections::HashSet<&str> =
        units.iter().map(|(_, _, h)| h.as_str()).collect();
    let all: Vec<UnitResult> = read_units(&dir.join("units"))?
        .into_iter()
        .filter(|u| wanted.contains(u.config_hash.as_str()))
        .collect();
    let rows = sorted_rows(&all);
    write_csv(&dir.join("results.csv"), &rows)?;
    Ok(ExperimentOutcome {
        dir,
        ran: pending.len(),
        skipped,
        rows,
    })
}

/// Removes temporary files a killed run left behind (`*.tmp-PID`); we hold the lock, so no live
/// writer owns them.
fn remove_stale_temp_files(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().contains(".tmp-") {
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
