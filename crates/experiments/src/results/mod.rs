//! Result rows: one per (setting, seed, arm), written as JSON per unit and gathered into CSV.

use std::collections::BTreeMap;
use std::path::Path;

pub use crate::output::check_output;
use serde::{Deserialize, Serialize};

pub use crate::arms::Arm;
mod csv_schema;

pub use csv_schema::{csv_columns, read_csv, to_csv, write_csv};

/// What became of one arm of one unit. Written and read as `ok`, `failed`, `diverged`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Trained to the end; its numbers enter means.
    #[default]
    Ok,
    /// No result: a non-finite loss or weight, or an arm that could not be built; the reason is
    /// in [`RunRow::error`].
    Failed,
    /// Finished with a training loss above the divergence limit
    /// ([`crate::sweep::divergence_limit`]); left out of every mean.
    Diverged,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 3] = [Status::Ok, Status::Failed, Status::Diverged];

    /// `ok`, `failed` or `diverged`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Diverged => "diverged",
        }
    }

    /// Whether the row's numbers enter means.
    pub fn is_ok(&self) -> bool {
        *self == Status::Ok
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| format!("status `{s}` is none of ok, failed, diverged"))
    }
}

/// Everything measured for one arm of one seed of one setting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Experiment name.
    pub experiment: String,
    /// Setting label, e.g. `task.clauses=8` (empty without a grid).
    pub setting: String,
    /// Index of the setting in the grid.
    pub setting_index: usize,
    /// Hash of the resolved (setting, seed) config: the unit of resumption.
    pub config_hash: String,
    /// Grid values of this setting (dotted path → value as text).
    pub params: BTreeMap<String, String>,
    /// Seed.
    pub seed: u64,
    /// The arm.
    pub arm: Arm,
    /// What became of the arm; only [`Status::Ok`] rows enter means.
    pub status: Status,
    /// Failure reason (epoch, step) when the status is [`Status::Failed`] or `Diverged`.
    pub error: String,
    /// Test accuracy (exact match for multi-label).
    pub test_accuracy: f64,
    /// Test per-bit accuracy (equals accuracy for classes).
    pub test_per_bit: f64,
    /// Training accuracy at the end.
    pub train_accuracy: f64,
    /// Mean training loss of the last epoch.
    pub final_train_loss: f64,
    /// Active weights.
    pub nnz: usize,
    /// Biases.
    pub biases: usize,
    /// Widths `d-h-…-C`.
    pub widths: String,
    /// First hidden width.
    pub hidden: usize,
    /// Expansion factor of this arm (1 for dense and dropconnect).
    pub alpha: usize,
    /// Epochs before the split (0 for arms trained from scratch).
    pub warmup_epochs: usize,
    /// Epochs after the split.
    pub after_epochs: usize,
    /// Mean feature capacity over all inputs.
    pub capacity_mean: Option<f64>,
    /// Mean feature capacity over clause literals.
    pub capacity_literals: Option<f64>,
    /// Σ capacity.
    pub capacity_sum: Option<f64>,
    /// Mean |cos| between neurons.
    pub cosine_abs: Option<f64>,
    /// Mean signed cos.
    pub cosine_signed: Option<f64>,
    /// Mean |cos| between neurons of different parents.
    pub cosine_cross_parent: Option<f64>,
    /// Fraction of clause pairs colliding in some neuron.
    pub collision_rate: Option<f64>,
    /// Fraction of clauses whose literals lie in one neuron's support.
    pub coverage: Option<f64>,
    /// Closed-form collision probability, balanced partition.
    pub collision_theory_balanced: Option<f64>,
    /// Closed-form collision probability, independent assignment.
    pub collision_theory_independent: Option<f64>,
    /// Mean clauses per responsive neuron.
    pub polysemanticity: Option<f64>,
    /// Participation-ratio dimension of first-layer activations on the test set.
    pub pr_dimension: Option<f64>,
    /// The code that produced the row ([`crate::identity::code_version`]).
    #[serde(default)]
    pub code_version: String,
    /// Device the unit trained on (`cpu` or `gpu`).
    #[serde(default)]
    pub device: String,
    /// Wall time of this arm in seconds (the shared warm-up counted once, in `dense`).
    pub wall_seconds: f64,
}

/// Whether a row's values are possible: for a row that trained (`ok`, `diverged`), accuracies in
/// [0, 1] and a finite, non-negative training loss.
///
/// # Errors
/// The first impossible value, in words.
pub fn check_row(r: &RunRow) -> std::result::Result<(), String> {
    if r.status == Status::Failed {
        return Ok(());
    }
    for (name, v) in [
        ("test_accuracy", r.test_accuracy),
        ("test_per_bit", r.test_per_bit),
        ("train_accuracy", r.train_accuracy),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("{name} = {v} is not in [0, 1]"));
        }
    }
    let loss = r.final_train_loss;
    if !(loss.is_finite() && loss >= 0.0) {
        return Err(format!(
            "final_train_loss = {loss} is not a finite, non-negative number"
        ));
    }
    Ok(())
}

/// One (k, α) measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollisionRow {
    /// Literals per clause.
    pub k: usize,
    /// Expansion factor.
    pub alpha: usize,
    /// Inputs per parent.
    pub inputs: usize,
    /// Parents sampled.
    pub trials: usize,
    /// Measured collision rate under `random`.
    pub measured: f64,
    /// Its standard error.
    pub stderr: f64,
    /// Balanced-partition prediction.
    pub theory_balanced: f64,
    /// Independent-assignment prediction α^−(2k−1).
    pub theory_independent: f64,
    /// |measured − balanced| in standard errors.
    pub z: f64,
    /// Measured collision rate under `clause` (expected 0).
    pub clause_measured: f64,
}

/// The result file of one unit (setting × seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    /// Hash identifying the unit.
    pub config_hash: String,
    /// Rows, one per arm.
    pub rows: Vec<RunRow>,
    /// Wall time of the whole unit.
    pub wall_seconds: f64,
    /// What the unit's identity was made of (absent in files of older versions).
    #[serde(default)]
    pub inputs: Option<crate::identity::UnitInputs>,
}

/// A text cell of the CSV: a value starting with `=`, `+`, `-` or `@` (which a spreadsheet would
/// run as a formula) gets a leading `'`, as OWASP advises; [`from_text_cell`] removes it.
pub fn text_cell(s: &str) -> String {
    if s.starts_with(crate::names::FORMULA_STARTS) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The value of a [`text_cell`].
pub fn from_text_cell(s: &str) -> String {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(crate::names::FORMULA_STARTS) => rest.to_string(),
        _ => s.to_string(),
    }
}

/// CSV text (RFC 4180, written by the `csv` crate) of a header and records.
pub fn csv_text<R, I>(header: &[&str], records: I) -> String
where
    R: IntoIterator<Item = String>,
    I: IntoIterator<Item = R>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("writing CSV to memory");
    for r in records {
        w.write_record(r.into_iter().collect::<Vec<String>>())
            .expect("writing CSV to memory");
    }
    String::from_utf8(w.into_inner().expect("flushing CSV to memory")).expect("CSV of UTF-8 fields")
}

/// The grid values of a row as one CSV field: a JSON object (dotted path → value text), which
/// round-trips any value; [`params_from_field`] also reads the older `k=v;k=v` form.
pub fn params_field(params: &BTreeMap<String, String>) -> String {
    serde_json::to_string(params).expect("a string map serialises")
}

/// Reads [`params_field`] (or the older `k=v;k=v` form).
pub fn params_from_field(text: &str) -> BTreeMap<String, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).unwrap_or_default();
    }
    text.split(';')
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// The most bytes a unit file may have (a unit of 16 arms is about 30 KB).
pub const MAX_UNIT_FILE_BYTES: u64 = 64 << 20;

/// Every `*.json` file in the units directory `dir`, sorted by name, each parsed or with the
/// reason it could not be (a FIFO or device is refused unread, a file over
/// [`MAX_UNIT_FILE_BYTES`] unread). These are all files, of the current config
/// or not: [`crate::manifest::read_unit`] checks one against the plan.
pub fn scan_units(
    dir: &Path,
) -> Vec<(std::path::PathBuf, std::result::Result<UnitResult, String>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let parsed = fpe_io::read_regular_to_string(&p, MAX_UNIT_FILE_BYTES, "unit file")
                .map_err(|e| e.to_string())
                .and_then(|t| {
                    serde_json::from_str(&t).map_err(|e| format!("{}: {e}", p.display()))
                });
            (p, parsed)
        })
        .collect()
}

/// All rows of `units`, sorted by setting index, seed, then the order the arms were run.
pub fn sorted_rows(units: &[UnitResult]) -> Vec<RunRow> {
    let mut rows: Vec<(usize, u64, usize, RunRow)> = units
        .iter()
        .flat_map(|u| {
            u.rows
                .iter()
                .enumerate()
                .map(|(i, r)| (r.setting_index, r.seed, i, r.clone()))
        })
        .collect();
    rows.sort_by_key(|r| (r.0, r.1, r.2));
    rows.into_iter().map(|r| r.3).collect()
}
