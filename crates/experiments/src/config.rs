//! Experiment configs (TOML): one setting × seeds × arms, plus an optional grid of settings.
//!
//! ```toml
//! name = "e1_headline"
//! title = "E1 headline"
//! seeds = [0, 1, 2, 3, 4]
//! arms = ["dense", "random", "clause"]
//! [task]
//! kind = "boolean"          # or "embeddings" (with `path`, see fpe_datasets::EmbeddingConfig),
//!                           # or "images" (IDX files, see fpe_datasets::ImageConfig)
//! clauses = 8
//! [model]
//! hidden = [8]
//! [train]
//! warmup_epochs = 1000
//! after_epochs = 1000
//! [expansion]
//! alpha = 2
//! [grid]                    # optional: every combination is one setting
//! "task.clauses" = [2, 4, 8]
//! [quick]                   # optional: overrides applied by `--quick`
//! seeds = [0, 1]
//! "train.warmup_epochs" = 100
//! ```
//!
//! Unknown fields are errors; every error names the field and the allowed values.

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result, invalid};
pub use crate::names::{FORMULA_STARTS, validate_name};
pub use crate::paths::{config_dir, resolve_data_path};
pub use crate::seeds::{MAX_SEEDS, parse_count_or_list, parse_list, to_toml as seeds_to_toml};
use fpe::{DynamicConfig, ExpansionConfig};
use fpe_datasets::{
    BooleanCodeConfig, EmbeddingConfig, Encoding, ImageConfig, OutputKind, Sampling,
};
use fpe_model::{KernelPolicy, OptimizerConfig, Stage};
use serde::{Deserialize, Serialize};

use crate::arms::Arm;
pub use crate::overrides::{apply_overrides, set_path};

/// What one experiment config describes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Short id, used for the output directory.
    pub name: String,
    /// Human title for reports.
    #[serde(default)]
    pub title: String,
    /// `train` (default): train arms; `collisions`: measure plan collisions against theory.
    #[serde(default)]
    pub kind: ExperimentKind,
    /// Seeds; each seed draws data (Boolean tasks), init, batches and plans.
    pub seeds: Vec<u64>,
    /// Arms compared in every setting (see `fpe run --help`).
    #[serde(default = "default_arms")]
    pub arms: Vec<Arm>,
    /// The task.
    pub task: TaskConfig,
    /// Architecture.
    #[serde(default)]
    pub model: ModelConfig,
    /// Schedule and optimiser.
    #[serde(default)]
    pub train: TrainConfig,
    /// Expansion options (strategy is set per arm).
    #[serde(default)]
    pub expansion: ExpansionConfig,
    /// Dynamic sparsity options for the `set` and `rigl` arms.
    #[serde(default)]
    pub dynamic: DynamicConfig,
    /// Metric options.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Settings grid: dotted field path → list of values.
    #[serde(default)]
    pub grid: toml::Table,
    /// Overrides applied by `--quick`.
    #[serde(default)]
    pub quick: toml::Table,
    /// Parameters of a `collisions` experiment.
    #[serde(default)]
    pub collisions: CollisionsConfig,
}

fn default_arms() -> Vec<Arm> {
    vec![Arm::Dense, Arm::Expand(fpe::StrategyKind::Random)]
}

/// Experiment kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentKind {
    /// Train every arm.
    #[default]
    Train,
    /// Monte-Carlo collision rates of `random` plans against the closed forms (E5).
    Collisions,
}

/// The task: a generated Boolean code, an HDF5 embedding file or a directory of IDX images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskConfig {
    /// Boolean-code (DNF) task, SPEC §2.
    Boolean(BooleanTask),
    /// Embedding dataset from HDF5, SPEC §3.
    Embeddings(EmbeddingConfig),
    /// Raw images from IDX files (Fashion-MNIST by default), one flattened image per row.
    Images(ImageConfig),
}

/// Boolean-code task options; `n_vars` defaults to `max(64, clauses·literals)` (SPEC §8 E2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BooleanTask {
    /// Variables n; absent = max(64, m·k).
    #[serde(default)]
    pub n_vars: Option<usize>,
    /// Clauses m.
    #[serde(default = "d_clauses")]
    pub clauses: usize,
    /// Literals per clause k.
    #[serde(default = "d_literals")]
    pub literals: usize,
    /// Training samples.
    #[serde(default = "d_size")]
    pub train_size: usize,
    /// Test samples.
    #[serde(default = "d_size")]
    pub test_size: usize,
    /// `raw` or `literal`.
    #[serde(default)]
    pub encoding: Encoding,
    /// `balanced` or `uniform`.
    #[serde(default)]
    pub sampling: Sampling,
    /// `or` or `per_clause`.
    #[serde(default)]
    pub output: OutputKind,
}

fn d_clauses() -> usize {
    8
}
fn d_literals() -> usize {
    3
}
fn d_size() -> usize {
    4096
}

impl BooleanTask {
    /// The generator config.
    pub fn generator(&self) -> BooleanCodeConfig {
        BooleanCodeConfig {
            n_vars: self
                .n_vars
                .unwrap_or_else(|| self.clauses.saturating_mul(self.literals).max(64)),
            clauses: self.clauses,
            literals: self.literals,
            train_size: self.train_size,
            test_size: self.test_size,
            encoding: self.encoding,
            sampling: self.sampling,
            output: self.output,
        }
    }
}

/// Architecture: hidden widths of the MLP head, and optionally a backbone in front of it (input
/// and output widths come from the data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Hidden widths of the narrow model (the MLP head).
    pub hidden: Vec<usize>,
    /// Backbone stages (`"conv 16 3x3 pad 1"`, `"relu"`, `"maxpool2"`, `"flatten"`,
    /// `"linear 256"`), trained jointly with the head; needs an image task. Empty = an MLP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backbone: Vec<Stage>,
    /// Backbone layer (0 = its first convolution or linear stage) whose output channels the
    /// `channel_*` arms expand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_layer: Option<usize>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            hidden: vec![8],
            backbone: Vec::new(),
            channel_layer: None,
        }
    }
}

/// Schedule, batch and optimiser (SPEC §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Epochs before expansion (E1), shared by every arm of a seed.
    pub warmup_epochs: usize,
    /// Epochs after expansion (E2).
    pub after_epochs: usize,
    /// If set, split after this fraction of `warmup_epochs + after_epochs` (E7).
    pub split_fraction: Option<f64>,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Optimiser.
    pub optimizer: OptimizerConfig,
    /// Kernel choice.
    pub kernel: KernelPolicy,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            warmup_epochs: 1000,
            after_epochs: 1000,
            split_fraction: None,
            batch_size: 256,
            optimizer: OptimizerConfig::default(),
            kernel: KernelPolicy::default(),
        }
    }
}

impl TrainConfig {
    /// `(warm-up, after)` epochs, with `split_fraction` applied.
    pub fn schedule(&self) -> (usize, usize) {
        match self.split_fraction {
            Some(f) => {
                let total = self.warmup_epochs + self.after_epochs;
                let warm = (f * total as f64).round() as usize;
                (warm, total - warm)
            }
            None => (self.warmup_epochs, self.after_epochs),
        }
    }
}

/// Metric options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Responsiveness threshold τ of activation polysemanticity.
    pub tau: f64,
    /// Compute the metric report for every run.
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            tau: 0.5,
            enabled: true,
        }
    }
}

/// Parameters of the E5 collision experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollisionsConfig {
    /// Literals per clause to test.
    pub literals: Vec<usize>,
    /// Expansion factors to test.
    pub alphas: Vec<usize>,
    /// Inputs per parent (d).
    pub inputs: usize,
    /// Random partitions drawn per (k, α).
    pub trials: usize,
}

impl Default for CollisionsConfig {
    fn default() -> Self {
        CollisionsConfig {
            literals: vec![2, 3, 4],
            alphas: vec![2, 4, 8],
            inputs: 64,
            trials: 20_000,
        }
    }
}

/// Most settings one grid may expand to.
pub const MAX_SETTINGS: usize = 100_000;

/// Most units (settings × seeds) one experiment may have.
pub const MAX_UNITS: usize = 1_000_000;

/// Deserialises `table`, naming the failing field in errors: `` `{prefix}path`: message ``.
fn located<T: serde::de::DeserializeOwned>(table: toml::Table, prefix: &str) -> Result<T> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let inner: toml::de::Error = e.into_inner();
        if path == "." {
            Error::Invalid(inner.message().to_string())
        } else {
            Error::Invalid(format!("`{prefix}{path}`: {}", inner.message()))
        }
    })
}

/// The most bytes a config file may have.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

impl ExperimentConfig {
    /// Reads and validates a config file.
    ///
    /// # Errors
    /// Unreadable file, TOML syntax, unknown fields, wrong types or invalid values, each naming
    /// the file and field.
    pub fn load(path: &Path) -> Result<Self> {
        // The file error names the path.
        let text = fpe_io::read_regular_to_string(path, crate::config::MAX_CONFIG_BYTES, "config")
            .context("reading the config")?;
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("{}: invalid TOML", path.display()))?;
        let cfg = Self::from_table(table).with_context(|| format!("in {}", path.display()))?;
        cfg.resolve_paths(&config_dir(path))
    }

    /// Builds from a TOML table and validates.
    ///
    /// # Errors
    /// As [`ExperimentConfig::load`].
    pub fn from_table(table: toml::Table) -> Result<Self> {
        // Internally tagged tables (`[task]` with `kind`) lose the path of a failing field, so
        // the task is first read on its own to name it (`task.train_size`).
        if let Some(task) = table.get("task").and_then(toml::Value::as_table) {
            let mut fields = task.clone();
            match fields.remove("kind").as_ref().and_then(toml::Value::as_str) {
                Some("boolean") => located::<BooleanTask>(fields, "task.").map(drop)?,
                Some("embeddings") => located::<EmbeddingConfig>(fields, "task.").map(drop)?,
                Some("images") => located::<ImageConfig>(fields, "task.").map(drop)?,
                _ => {}
            }
        }
        let cfg: ExperimentConfig = located(table, "")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Makes a relative data path relative to the config file's directory if it does not exist
    /// relative to the working directory.
    fn resolve_paths(mut self, base: &Path) -> Result<Self> {
        let path = match &mut self.task {
            TaskConfig::Embeddings(e) => &mut e.path,
            TaskConfig::Images(i) => &mut i.path,
            TaskConfig::Boolean(_) => return Ok(self),
        };
        if let Some(found) = resolve_data_path(path, base) {
            *path = found;
        }
        Ok(self)
    }

    /// Checks every field that can be checked without data.
    ///
    /// # Errors
    /// The first invalid field, with its value and the allowed values.
    pub fn validate(&self) -> Result<()> {
        crate::names::validate_name(&self.name)?;
        if self.seeds.is_empty() {
            invalid!("`seeds` is empty: give at least one seed, e.g. seeds = [0, 1, 2]");
        }
        if self.kind == ExperimentKind::Train {
            if self.arms.is_empty() {
                invalid!("`arms` is empty: allowed arms are {}", Arm::allowed());
            }
            for (i, a) in self.arms.iter().enumerate() {
                if self.arms[..i].contains(a) {
                    invalid!(
                        "`arms` names `{a}` twice: each arm runs once per seed; remove the duplicate"
                    );
                }
            }
        }
        if self.model.hidden.is_empty() || self.model.hidden.contains(&0) {
            invalid!(
                "`model.hidden` = {:?}: give one or more positive hidden widths",
                self.model.hidden
            );
        }
        if self.train.batch_size == 0 {
            invalid!("`train.batch_size` = 0: must be at least 1");
        }
        if let Some(f) = self.train.split_fraction {
            if !(0.0..=1.0).contains(&f) {
                invalid!("`train.split_fraction` = {f}: must be in [0, 1]");
            }
        }
        self.train
            .optimizer
            .validate()
            .context("`train.optimizer`")?;
        if self.expansion.alpha < 2 {
            invalid!(
                "`expansion.alpha` = {}: the expansion factor must be at least 2",
                self.expansion.alpha
            );
        }
        if let Some(l) = self
            .expansion
            .layers
            .iter()
            .find(|&&l| l >= self.model.hidden.len())
        {
            invalid!(
                "`expansion.layers` names layer {l}, but `model.hidden` has {} hidden layer(s) \
                 (valid indices: 0 to {})",
                self.model.hidden.len(),
                self.model.hidden.len().saturating_sub(1)
            );
        }
        if !(self.metrics.tau > 0.0 && self.metrics.tau <= 1.0) {
            invalid!("`metrics.tau` = {}: must be in (0, 1]", self.metrics.tau);
        }
        match &self.task {
            TaskConfig::Boolean(b) => b.generator().validate().context("`task`")?,
            TaskConfig::Embeddings(e) => e.validate().context("`task`")?,
            TaskConfig::Images(i) => i.validate().context("`task`")?,
        }
        for (key, values) in &self.grid {
            if !values.is_array() || values.as_array().is_some_and(Vec::is_empty) {
                invalid!("`grid.\"{key}\"` must be a non-empty list of values");
            }
        }
        if self.grid_settings().is_none_or(|n| n > MAX_SETTINGS) {
            invalid!(
                "`grid` expands to more than {MAX_SETTINGS} settings: split the sweep into \
                 several configs"
            );
        }
        let units = self
            .grid_settings()
            .and_then(|n| n.checked_mul(self.seeds.len()));
        if units.is_none_or(|n| n > MAX_UNITS) {
            invalid!(
                "`grid` × `seeds` is {} units (settings × seeds), more than {MAX_UNITS}: use fewer \
                 seeds or split the sweep into several configs",
                units.map_or_else(|| "too many".to_string(), |n| n.to_string())
            );
        }
        self.validate_expansions()?;
        Ok(())
    }

    /// The expansion of every arm that expands, checked as `fpe::expand` will check it (a bad
    /// `nm_m`, `layers = []` or unsorted layers), before any unit trains: `set` and `rigl` start
    /// from the `expansion.strategy` split, the strategy arms from their own.
    fn validate_expansions(&self) -> Result<()> {
        if self.kind != ExperimentKind::Train {
            return Ok(());
        }
        for a in &self.arms {
            let strategy = match *a {
                Arm::Expand(kind) => kind,
                Arm::Set | Arm::Rigl => self.expansion.strategy,
                Arm::Channel(kind) => kind,
                Arm::DropConnect if self.expansion.layers.is_empty() => {
                    invalid!(
                        "`expansion.layers` is empty: arm `dropconnect` needs the layer to drop"
                    )
                }
                _ => continue,
            };
            let ecfg = fpe::ExpansionConfig {
                strategy,
                ..self.expansion.clone()
            };
            if let Err(e) = ecfg.validate() {
                invalid!("`expansion`, for arm `{a}`: {e}");
            }
        }
        crate::network::validate_model(self)
    }

    /// Settings the grid expands to (the product of its list lengths); `None` on overflow.
    pub(crate) fn grid_settings(&self) -> Option<usize> {
        self.grid.values().try_fold(1usize, |n, v| {
            n.checked_mul(v.as_array().map_or(1, Vec::len))
        })
    }

    /// The data file of an embeddings task, the directory of an images task.
    pub fn data_path(&self) -> Option<PathBuf> {
        match &self.task {
            TaskConfig::Embeddings(e) => Some(e.path.clone()),
            TaskConfig::Images(i) => Some(i.path.clone()),
            TaskConfig::Boolean(_) => None,
        }
    }
}
