//! Reading an output directory: the experiments under it, their rows and collision tables.
//!
//! Rows come from `NAME/units/*.json` (full precision, present even for an interrupted
//! experiment); without a `units/` folder, from `NAME/results.csv`. Stale unit files (left by an
//! earlier config of the same experiment) are dropped: when `results.csv` is at least as new as
//! every unit file it lists the current units, otherwise two units of the same (setting, seed)
//! keep the newer one.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use fpe_experiments::error::Context;

use crate::error::{Error, Result};

use fpe_experiments::collisions::CollisionRow;
use fpe_experiments::results::{CSV_COLUMNS, RunRow, UnitResult};

use super::stats::{SummaryRow, summarize};

/// Everything the report knows about one experiment directory.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExperimentData {
    /// Directory name (the experiment's `name`).
    pub name: String,
    /// The directory.
    pub dir: PathBuf,
    /// `title` of the resolved config, if any.
    pub title: String,
    /// `task.kind` of the resolved config (`boolean`, `embeddings`), if known.
    pub task_kind: String,
    /// `task.path` of an embeddings config (the data file), if known.
    pub data_path: String,
    /// Rows of every unit, sorted by setting, seed, arm order.
    pub rows: Vec<RunRow>,
    /// Per (setting, arm) summaries of `rows`.
    pub summary: Vec<SummaryRow>,
    /// E5 measurements, if this is a collisions experiment.
    pub collisions: Option<Vec<CollisionRow>>,
    /// Remarks about the files (stale units ignored, unreadable files).
    pub notes: Vec<String>,
}

impl ExperimentData {
    /// True for embedding tasks (the data substitution applies).
    pub(crate) fn is_embeddings(&self) -> bool {
        self.task_kind == "embeddings"
    }

    /// What the embeddings are, in a few words, for titles and captions: the two shipped sets
    /// by name (neither is CLIP), any other file by its name.
    pub(crate) fn data_label(&self) -> String {
        let file = std::path::Path::new(&self.data_path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file.starts_with("wordnet30_supersense40") {
            "WordNet supersense-40 text embeddings, not CLIP".into()
        } else if file.starts_with("fashion_mnist") {
            "Fashion-MNIST image embeddings, not CLIP".into()
        } else if file.is_empty() {
            "embeddings".into()
        } else {
            format!("embeddings from {file}")
        }
    }

    /// Rows that failed.
    pub(crate) fn failed(&self) -> Vec<&RunRow> {
        self.rows.iter().filter(|r| r.status != "ok").collect()
    }
}

/// Numeric part of `e12b_x` (12) for sorting; names without one sort last.
fn order_key(name: &str) -> (u32, String) {
    let digits: String = name
        .trim_start_matches('e')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.parse().unwrap_or(u32::MAX), name.to_string())
}

/// Experiment directories under `out` (those with `units/`, `results.csv` or
/// `collisions.json`), sorted by experiment number then name; `skip` names are left out.
pub(crate) fn discover(out: &Path, skip: &[&str]) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .with_context(|| format!("listing {}", out.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !skip.contains(&n.to_string_lossy().as_ref()))
        })
        .filter(|p| {
            p.join("units").is_dir()
                || p.join("results.csv").is_file()
                || p.join("collisions.json").is_file()
        })
        .collect();
    dirs.sort_by_key(|p| {
        order_key(
            &p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    });
    Ok(dirs)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Reads one experiment directory. Unparsable unit files are skipped with a note; nothing here
/// panics on partial results.
///
/// # Errors
/// Only for a directory that cannot be listed.
pub(crate) fn load(dir: &Path) -> Result<ExperimentData> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut data = ExperimentData {
        name,
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    if let Some(cfg) = std::fs::read_to_string(dir.join("config.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
    {
        data.title = cfg
            .get("title")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string();
        data.task_kind = cfg
            .get("task")
            .and_then(|t| t.get("kind"))
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        data.data_path = cfg
            .get("task")
            .and_then(|t| t.get("path"))
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
    }
    let csv_path = dir.join("results.csv");
    let units_dir = dir.join("units");
    if units_dir.is_dir() {
        let csv_rows = if csv_path.is_file() {
            read_csv(&csv_path, &mut data.notes)
        } else {
            Vec::new()
        };
        data.rows = read_unit_rows(&units_dir, &csv_path, &csv_rows, &mut data.notes)?;
    } else if csv_path.is_file() {
        data.rows = read_csv(&csv_path, &mut data.notes);
    }
    // Without a config: capacity measured but no clause literals means an embedding task.
    if data.task_kind.is_empty()
        && data
            .rows
            .iter()
            .any(|r| r.status == "ok" && r.capacity_mean.is_some() && r.capacity_literals.is_none())
    {
        data.task_kind = "embeddings".into();
    }
    let coll = dir.join("collisions.json");
    if coll.is_file() {
        match std::fs::read_to_string(&coll)
            .map_err(Error::from)
            .and_then(|t| Ok(serde_json::from_str::<Vec<CollisionRow>>(&t)?))
        {
            Ok(rows) => data.collisions = Some(rows),
            Err(e) => data
                .notes
                .push(format!("`collisions.json` unreadable ({e}); skipped")),
        }
    }
    data.summary = summarize(&data.rows);
    Ok(data)
}

struct Unit {
    unit: UnitResult,
    time: Option<SystemTime>,
}

fn read_unit_rows(
    units_dir: &Path,
    csv_path: &Path,
    csv_rows: &[RunRow],
    notes: &mut Vec<String>,
) -> Result<Vec<RunRow>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(units_dir)
        .with_context(|| format!("listing {}", units_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut units = Vec::new();
    for p in &paths {
        match std::fs::read_to_string(p)
            .map_err(Error::from)
            .and_then(|t| Ok(serde_json::from_str::<UnitResult>(&t)?))
        {
            Ok(unit) => units.push(Unit {
                unit,
                time: mtime(p),
            }),
            Err(e) => notes.push(format!(
                "unit file `{}` unreadable ({e}); skipped",
                p.display()
            )),
        }
    }
    let newest_unit = units.iter().filter_map(|u| u.time).max();
    let csv_current = !csv_rows.is_empty()
        && matches!((mtime(csv_path), newest_unit), (Some(c), Some(u)) if c >= u);
    let before = units.len();
    if csv_current {
        // A unit the CSV does not list is stale only when a listed unit replaces it (same
        // setting and seed): a truncated or older CSV never hides a valid unit.
        let listed: HashSet<&str> = csv_rows.iter().map(|r| r.config_hash.as_str()).collect();
        let key = |u: &Unit| u.unit.rows.first().map(|r| (r.setting.clone(), r.seed));
        let replaced: HashSet<(String, u64)> = units
            .iter()
            .filter(|u| listed.contains(u.unit.config_hash.as_str()))
            .filter_map(key)
            .collect();
        units.retain(|u| {
            listed.contains(u.unit.config_hash.as_str())
                || key(u).is_none_or(|k| !replaced.contains(&k))
        });
    } else {
        // Keep the newest unit per (setting, seed).
        let mut best: BTreeMap<(String, u64), usize> = BTreeMap::new();
        for (i, u) in units.iter().enumerate() {
            let Some(r) = u.unit.rows.first() else {
                continue;
            };
            let key = (r.setting.clone(), r.seed);
            match best.get(&key) {
                Some(&j) if units[j].time >= u.time => {}
                _ => {
                    best.insert(key, i);
                }
            }
        }
        let keep: HashSet<usize> = best.into_values().collect();
        let mut i = 0;
        units.retain(|_| {
            i += 1;
            keep.contains(&(i - 1))
        });
    }
    if units.len() < before {
        notes.push(format!(
            "{} stale unit file(s) from an earlier config ignored",
            before - units.len()
        ));
    }
    let all: Vec<UnitResult> = units.into_iter().map(|u| u.unit).collect();
    Ok(fpe_experiments::results::sorted_rows(&all))
}

/// Reads `results.csv` (columns as [`CSV_COLUMNS`], matched by header name) with the `csv`
/// crate. Malformed or truncated records are skipped with a note.
pub(crate) fn read_csv(path: &Path, notes: &mut Vec<String>) -> Vec<RunRow> {
    let mut reader = match csv::ReaderBuilder::new().flexible(true).from_path(path) {
        Ok(r) => r,
        Err(e) => {
            notes.push(format!("`{}` unreadable ({e}); skipped", path.display()));
            return Vec::new();
        }
    };
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(_) => return Vec::new(),
    };
    let missing: Vec<&str> = CSV_COLUMNS
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "`{}` lacks column(s) {}",
            path.display(),
            missing.join(", ")
        ));
    }
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let parsed = rec.ok().and_then(|rec| {
            let get = |name: &str| {
                header
                    .iter()
                    .position(|h| h == name)
                    .and_then(|j| rec.get(j))
                    .unwrap_or_default()
                    .to_string()
            };
            (rec.len() == header.len()).then(|| csv_row(&get)).flatten()
        });
        match parsed {
            Some(r) => rows.push(r),
            None => notes.push(format!(
                "`{}` record {} malformed or truncated; skipped",
                path.display(),
                i + 1
            )),
        }
    }
    rows
}

fn csv_row(get: &dyn Fn(&str) -> String) -> Option<RunRow> {
    let f = |n: &str| get(n).parse::<f64>().ok();
    let u = |n: &str| get(n).parse::<usize>().ok();
    let params = fpe_experiments::results::params_from_field(&get("params"));
    Some(RunRow {
        experiment: get("experiment"),
        setting: get("setting"),
        setting_index: u("setting_index")?,
        config_hash: get("config_hash"),
        params,
        seed: get("seed").parse().ok()?,
        arm: get("arm"),
        status: get("status"),
        error: get("error"),
        test_accuracy: f("test_accuracy").unwrap_or(f64::NAN),
        test_per_bit: f("test_per_bit").unwrap_or(f64::NAN),
        train_accuracy: f("train_accuracy").unwrap_or(f64::NAN),
        final_train_loss: f("final_train_loss").unwrap_or(f64::NAN),
        nnz: u("nnz").unwrap_or(0),
        biases: u("biases").unwrap_or(0),
        widths: get("widths"),
        hidden: u("hidden").unwrap_or(0),
        alpha: u("alpha").unwrap_or(1),
        warmup_epochs: u("warmup_epochs").unwrap_or(0),
        after_epochs: u("after_epochs").unwrap_or(0),
        capacity_mean: f("capacity_mean"),
        capacity_literals: f("capacity_literals"),
        capacity_sum: f("capacity_sum"),
        cosine_abs: f("cosine_abs"),
        cosine_signed: f("cosine_signed"),
        cosine_cross_parent: f("cosine_cross_parent"),
        collision_rate: f("collision_rate"),
        coverage: f("coverage"),
        collision_theory_balanced: f("collision_theory_balanced"),
        collision_theory_independent: f("collision_theory_independent"),
        polysemanticity: f("polysemanticity"),
        pr_dimension: f("pr_dimension"),
        code_version: get("code_version"),
        device: get("device"),
        wall_seconds: f("wall_seconds").unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_through_the_writer() {
        let mut r = RunRow {
            experiment: "e".into(),
            setting: "task.classes=[0, 1],model.hidden=[4]".into(),
            params: [("task.classes".to_string(), "[0, 1]".to_string())].into(),
            seed: 3,
            arm: "random".into(),
            status: "failed".into(),
            error: "NaN loss, \"epoch\" 3".into(),
            test_accuracy: 0.5,
            capacity_mean: Some(0.25),
            nnz: 12,
            ..Default::default()
        };
        r.setting_index = 2;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("results.csv");
        fpe_experiments::results::write_csv(&p, std::slice::from_ref(&r)).unwrap();
        let mut notes = Vec::new();
        let back = read_csv(&p, &mut notes);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(back.len(), 1);
        let b = &back[0];
        assert_eq!(
            (b.setting.as_str(), b.setting_index, b.seed, b.arm.as_str()),
            (r.setting.as_str(), 2, 3, "random")
        );
        assert_eq!(b.params, r.params);
        assert_eq!(b.error, r.error);
        assert_eq!(
            (b.capacity_mean, b.capacity_literals, b.nnz),
            (Some(0.25), None, 12)
        );
    }

    fn unit(dir: &Path, hash: &str, seed: u64, acc: f64) {
        let row = RunRow {
            setting: "task.clauses=8".into(),
            config_hash: hash.into(),
            seed,
            arm: "dense".into(),
            status: "ok".into(),
            test_accuracy: acc,
            ..Default::default()
        };
        let u = UnitResult {
            config_hash: hash.into(),
            rows: vec![row],
            wall_seconds: 1.0,
            inputs: None,
        };
        std::fs::write(
            dir.join("units").join(format!("{hash}.json")),
            serde_json::to_string(&u).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn stale_units_are_dropped_and_partial_results_load() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("e2_x");
        std::fs::create_dir_all(dir.join("units")).unwrap();
        unit(&dir, "old", 0, 0.1);
        unit(&dir, "new", 0, 0.9);
        unit(&dir, "other", 1, 0.8);
        std::fs::write(dir.join("units").join("broken.json"), "{").unwrap();
        // results.csv (newest file) lists the current units only.
        let current: Vec<RunRow> = fpe_experiments::results::sorted_rows(
            &fpe_experiments::results::read_units(&dir.join("units")).unwrap_or_default(),
        )
        .into_iter()
        .filter(|r| r.config_hash != "old")
        .collect();
        fpe_experiments::results::write_csv(&dir.join("results.csv"), &current).unwrap();
        let d = load(&dir).unwrap();
        let accs: Vec<f64> = d.rows.iter().map(|r| r.test_accuracy).collect();
        assert_eq!(accs, [0.9, 0.8]);
        assert!(d.notes.iter().any(|n| n.contains("stale")), "{:?}", d.notes);
        assert!(d.notes.iter().any(|n| n.contains("broken.json")));
        // Without results.csv (an interrupted experiment) every unit loads; duplicates keep one.
        std::fs::remove_file(dir.join("results.csv")).unwrap();
        let d = load(&dir).unwrap();
        assert_eq!(d.rows.len(), 2);
        assert_eq!(d.summary.len(), 1);
        assert_eq!(d.summary[0].n, 2);
    }

    #[test]
    fn order_puts_e10_after_e9() {
        let mut v = vec!["e10_x", "e9_y", "e1_z", "e8b_c", "e8_a", "misc"];
        v.sort_by_key(|n| order_key(n));
        assert_eq!(v, ["e1_z", "e8_a", "e8b_c", "e9_y", "e10_x", "misc"]);
    }
}
