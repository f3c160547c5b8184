//! Reading an output directory: the experiments under it, their rows and collision tables.
//!
//! Rows come from exactly the units of the experiment's current config: those `NAME/plan.json`
//! names, read from `NAME/units/*.json` (full precision, present even for an interrupted
//! experiment) and each checked against the plan ([`fpe_experiments::manifest::read_unit`]).
//! Unit files of other configs are never counted, only listed by number. Without a plan
//! (directories written before plans existed) rows come from `results.csv`, which lists only the
//! current units; without either, from every unit file, newest per (setting, seed), with a note
//! that configs cannot be told apart.
//!
//! Whatever the source, every row is checked before it enters a mean ([`validate`]): a known
//! status, accuracies in [0, 1], a finite loss, and one row per (setting, seed, arm). Rows that
//! fail are excluded with a note on stderr and in `REPORT.md`, so the summary and the claims
//! count the same rows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fpe_experiments::error::Context;

use crate::error::{Error, Result};

use fpe_experiments::manifest::UnitPlan;
use fpe_experiments::results::CollisionRow;
use fpe_experiments::results::RunRow;

use super::rows::{newest_units, planned_rows, validate};

use super::stats::{SummaryRow, summarize};

/// The most bytes a config, collisions table or run record may have.
const TEXT_LIMIT: u64 = 64 << 20;

/// Everything the report knows about one experiment directory.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExperimentData {
    /// Directory name (the experiment's `name`).
    pub name: String,
    /// The directory.
    pub dir: PathBuf,
    /// `title` of the resolved config, if any.
    pub title: String,
    /// `task.kind` of the resolved config (`boolean`, `embeddings`, `images`), if known.
    pub task_kind: String,
    /// `task.path` of an embeddings config (the data file) or an images config (the directory
    /// of IDX files), if known.
    pub data_path: String,
    /// Rows of every unit, sorted by setting, seed, arm order.
    pub rows: Vec<RunRow>,
    /// Per (setting, arm) summaries of `rows`.
    pub summary: Vec<SummaryRow>,
    /// E5 measurements, if this is a collisions experiment.
    pub collisions: Option<Vec<CollisionRow>>,
    /// Remarks about the files (stale units ignored, unreadable files).
    pub notes: Vec<String>,
    /// Positions in `rows` per (setting index, arm), built on first use: the report looks rows
    /// up by setting and arm thousands of times, and a scan each time made a 100,000-row sweep
    /// quadratic.
    pub(crate) index: OnceLock<HashMap<(usize, String), Vec<usize>>>,
    /// Accuracy and paired-gain intervals per (setting index, arm) of the summary, computed once,
    /// in parallel, on first use (see [`crate::paired`]).
    pub(crate) intervals: OnceLock<HashMap<(usize, String), SummaryIntervals>>,
}

/// The intervals of one summary row: mean accuracy and paired gain over dense, in points, each
/// with its seed count.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SummaryIntervals {
    /// Mean accuracy (percent) and its 95 % seed-bootstrap interval.
    pub acc: Option<(crate::inference::Interval, usize)>,
    /// Mean paired gain over dense (points) and its interval; `None` for dense itself.
    pub gain: Option<(crate::inference::Interval, usize)>,
}

impl ExperimentData {
    /// True for embedding tasks (the data substitution applies).
    pub(crate) fn is_embeddings(&self) -> bool {
        self.task_kind == "embeddings"
    }

    /// True for tasks read from data files (embeddings, raw images), whose data is named in
    /// titles and captions ([`ExperimentData::data_label`]).
    pub(crate) fn has_data_file(&self) -> bool {
        self.is_embeddings() || self.task_kind == "images"
    }

    /// What the data is, in a few words, for titles and captions: the two shipped embedding sets
    /// by name (neither is CLIP), raw Fashion-MNIST images by name, any other file by its name.
    pub(crate) fn data_label(&self) -> String {
        let file = std::path::Path::new(&self.data_path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.task_kind == "images" {
            return if file.to_lowercase().contains("fashion") {
                "raw Fashion-MNIST pixels, no encoder, not CLIP".into()
            } else {
                format!("raw images from {}", self.data_path)
            };
        }
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

    /// The rows of `arm` in setting `si`, in row order.
    pub(crate) fn rows_of<'a>(&'a self, si: usize, arm: &str) -> impl Iterator<Item = &'a RunRow> {
        let index = self.index.get_or_init(|| {
            let mut m: HashMap<(usize, String), Vec<usize>> = HashMap::new();
            for (i, r) in self.rows.iter().enumerate() {
                m.entry((r.setting_index, r.arm.name().to_string()))
                    .or_default()
                    .push(i);
            }
            m
        });
        index
            .get(&(si, arm.to_string()))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| &self.rows[i])
    }

    /// Rows that failed.
    pub(crate) fn failed(&self) -> Vec<&RunRow> {
        self.rows.iter().filter(|r| !r.status.is_ok()).collect()
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
    if let Some(cfg) =
        fpe_io::read_regular_to_string(&dir.join("config.toml"), TEXT_LIMIT, "config")
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
    let plan = if units_dir.is_dir() {
        UnitPlan::read(dir).unwrap_or_else(|e| {
            data.notes
                .push(format!("`plan.json` unreadable ({e}); ignored"));
            None
        })
    } else {
        None
    };
    let rows = match plan {
        Some(plan) => planned_rows(&units_dir, &plan, &mut data.notes),
        None if csv_path.is_file() => read_csv(&csv_path, &mut data.notes),
        None if units_dir.is_dir() => newest_units(&units_dir, &mut data.notes),
        None => Vec::new(),
    };
    data.rows = validate(rows, &mut data.notes);
    // Without a config: capacity measured but no clause literals means an embedding task.
    if data.task_kind.is_empty()
        && data
            .rows
            .iter()
            .any(|r| r.status.is_ok() && r.capacity_mean.is_some() && r.capacity_literals.is_none())
    {
        data.task_kind = "embeddings".into();
    }
    let coll = dir.join("collisions.json");
    if coll.is_file() {
        match fpe_io::read_regular_to_string(&coll, TEXT_LIMIT, "collisions table")
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

/// Reads `results.csv` ([`fpe_experiments::results::read_csv`]), adding its notes.
pub(crate) fn read_csv(path: &Path, notes: &mut Vec<String>) -> Vec<RunRow> {
    let (rows, more) = fpe_experiments::results::read_csv(path);
    notes.extend(more);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_images_are_named_as_such_without_the_embedding_substitution() {
        let images = |path: &str| ExperimentData {
            task_kind: "images".into(),
            data_path: path.into(),
            ..Default::default()
        };
        let fashion = images("/usr/share/datasets/fashion-mnist");
        assert!(fashion.has_data_file() && !fashion.is_embeddings());
        assert_eq!(
            fashion.data_label(),
            "raw Fashion-MNIST pixels, no encoder, not CLIP"
        );
        assert_eq!(images("/d/mnist").data_label(), "raw images from /d/mnist");
    }

    #[test]
    fn order_puts_e10_after_e9() {
        let mut v = vec!["e10_x", "e9_y", "e1_z", "e8b_c", "e8_a", "misc"];
        v.sort_by_key(|n| order_key(n));
        assert_eq!(v, ["e1_z", "e8_a", "e8b_c", "e9_y", "e10_x", "misc"]);
    }
}
