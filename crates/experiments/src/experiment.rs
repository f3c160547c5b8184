//! A loaded experiment: its config, the grid expanded into settings, and its units (setting ×
//! seed, each named by [`crate::identity::unit_hash`]); how to run it ([`RunOptions`]) and what a
//! run produced ([`ExperimentOutcome`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Context, Result};

use crate::config::{ExperimentConfig, apply_overrides, config_dir, set_path};
use crate::identity::unit_hash;
use crate::manifest::{UnitId, UnitPlan};
use crate::progress::Observer;
use crate::results::RunRow;

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
#[derive(Clone)]
pub struct RunOptions {
    /// Output root.
    pub out: PathBuf,
    /// Keep a checkpoint per arm and seed.
    pub checkpoints: bool,
    /// Told about each finished unit ([`crate::progress::Silent`] to say nothing).
    pub progress: Arc<dyn Observer>,
    /// Where units train (checked by the caller with [`fpe_model::Device::check`]).
    pub device: fpe_model::Device,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("out", &self.out)
            .field("checkpoints", &self.checkpoints)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl RunOptions {
    /// Results under `out`, no checkpoints, no progress output, on the CPU.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        RunOptions {
            out: out.into(),
            checkpoints: false,
            progress: Arc::new(crate::progress::Silent),
            device: fpe_model::Device::Cpu,
        }
    }
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
        // The file error names the path.
        let text = fpe_io::read_regular_to_string(path, crate::config::MAX_CONFIG_BYTES, "config")
            .context("reading the config")?;
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("{}: invalid TOML", path.display()))?;
        Self::from_table(table, quick, overrides, &config_dir(path))
            .with_context(|| format!("in {}", path.display()))
    }

    /// As [`Experiment::load`], from a table; a relative data path that does not exist relative
    /// to the working directory resolves against `base_dir` or the nearest directory above it
    /// where it exists.
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
            if let Some(found) = crate::config::resolve_data_path(Path::new(p), base_dir) {
                let resolved = found.display().to_string();
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

    /// The plan of this experiment's units (`plan.json`).
    pub fn unit_plan(&self) -> UnitPlan {
        UnitPlan {
            experiment: self.cfg.name.clone(),
            units: self.units(),
        }
    }

    /// Every (setting, seed) unit with its hash and arms, in grid order.
    pub fn units(&self) -> Vec<UnitId> {
        self.settings
            .iter()
            .flat_map(|s| {
                let arms = s.cfg.arms.clone();
                s.cfg.seeds.iter().map(move |&seed| UnitId {
                    hash: unit_hash(&s.cfg, seed),
                    setting_index: s.index,
                    setting: s.label.clone(),
                    seed,
                    arms: arms.clone(),
                })
            })
            .collect()
    }
}

impl Experiment {
    /// Checks, on the machine that runs the units, that those running at once fit in its
    /// memory (every setting of a Boolean task; an embeddings task is checked when its file is
    /// loaded). Validation does not: `fpe slurm` validates on the submitting machine.
    ///
    /// # Errors
    /// The estimate by part, the memory available and the fields to change, naming the setting.
    pub fn preflight(&self) -> Result<()> {
        let workers = rayon::current_num_threads();
        let available = crate::memory::available_memory();
        for s in &self.settings {
            s.cfg
                .check_task_memory(workers, available)
                .with_context(|| match s.label.as_str() {
                    "" => format!("experiment `{}`", self.cfg.name),
                    label => format!("grid setting `{label}`"),
                })?;
        }
        Ok(())
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
