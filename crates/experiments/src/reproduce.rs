//! The reproduction of the paper's experiments (SPEC §8): the configs `e*.toml` of a data
//! directory's `experiments/`, run one after the other with an optional seed override and
//! recorded in `reproduce.json` so that a report can tell a smoke test from a full run.
//!
//! The data directory is found at run time ([`data_dir`]), never from the build directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Context, Error, Result, invalid};

use crate::config::ExperimentKind;
use crate::data::DataCache;
use crate::experiment::{Experiment, ExperimentOutcome, RunOptions};
use crate::sweep::run_experiment;

/// What `fpe reproduce` records at the output root (`reproduce.json`), so the report knows a
/// smoke test from a full run.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// `--quick` was given.
    pub quick: bool,
    /// `--seeds` override, as given.
    pub seeds: Option<String>,
    /// `--only` ids.
    pub only: Vec<String>,
    /// Wall time of the whole reproduction in seconds (absent while it runs).
    pub wall_seconds: Option<f64>,
}

/// File name of the [`RunRecord`] under the output root.
pub const RUN_RECORD: &str = "reproduce.json";

/// Environment variable naming the data directory when `--data-dir` is not given.
pub const DATA_DIR_ENV: &str = "FPE_DATA_DIR";

/// The data directory (experiment configs in `experiments/`, data files beside them): `given`,
/// else `$FPE_DATA_DIR`, else `./data`, else a `data/` folder in one of the four folders above
/// the running executable (a clone's `target/release/fpe`) — the first that holds `experiments/`.
///
/// # Errors
/// `given` or `$FPE_DATA_DIR` lacks `experiments/`, or no default has it.
pub fn data_dir(given: Option<&Path>) -> Result<PathBuf> {
    let explicit = match (given, std::env::var_os(DATA_DIR_ENV)) {
        (Some(d), _) => Some((d.to_path_buf(), "--data-dir")),
        (None, Some(d)) => Some((PathBuf::from(d), DATA_DIR_ENV)),
        (None, None) => None,
    };
    if let Some((dir, from)) = explicit {
        if !dir.join("experiments").is_dir() {
            invalid!("{from} {}: no experiments/ folder in it", dir.display());
        }
        return Ok(dir);
    }
    let mut looked = vec![PathBuf::from("data")];
    if let Ok(exe) = std::env::current_exe() {
        looked.extend(exe.ancestors().skip(1).take(4).map(|a| a.join("data")));
    }
    looked
        .iter()
        .find(|d| d.join("experiments").is_dir())
        .cloned()
        .ok_or_else(|| {
            let list: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
            Error::Invalid(format!(
                "no data directory with an experiments/ folder at any of: {}; pass --data-dir \
                 PATH (the data/ folder of a clone) or set {DATA_DIR_ENV}",
                list.join(", ")
            ))
        })
}

/// Writes `reproduce.json` under `out` atomically.
fn write_record(out: &Path, record: &RunRecord) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(RUN_RECORD);
    let json = serde_json::to_string_pretty(record)? + "\n";
    fpe_io::write_atomic(&path, json.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Config files `e*.toml` in `dir`, sorted, filtered by `only`: an experiment id (`E1`, `e5`,
/// `e8b`) picks every config `ID_*.toml`; a config's full name (`e8_fashion_mnist_raw`) picks
/// that config alone.
///
/// # Errors
/// An unreadable directory, or an `only` id that matches no config.
pub fn select(dir: &Path, only: &[String]) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort_by_key(|p| {
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let digits: String = stem
            .trim_start_matches('e')
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let num: u32 = digits.parse().unwrap_or(u32::MAX);
        (num, stem)
    });
    if only.is_empty() {
        return Ok(files);
    }
    let mut picked = Vec::new();
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    for id in only {
        let id = id.to_lowercase();
        let prefix = format!("{id}_");
        let exact: Vec<&PathBuf> = files.iter().filter(|p| stem(p) == id).collect();
        let matched: Vec<&PathBuf> = if exact.is_empty() {
            files
                .iter()
                .filter(|p| stem(p).starts_with(&prefix))
                .collect()
        } else {
            exact
        };
        if matched.is_empty() {
            invalid!(
                "--only {id}: no config `{prefix}*.toml` or `{id}.toml` in {}",
                dir.display()
            );
        }
        picked.extend(matched.into_iter().cloned());
    }
    Ok(picked)
}

/// What to reproduce.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Experiment ids (`E1`, `e8b`); empty for all.
    pub only: Vec<String>,
    /// The `--quick` overrides of every config.
    pub quick: bool,
    /// Replaces every training experiment's seeds (the collision experiment E5 has none).
    pub seeds: Option<Vec<u64>>,
}

/// Runs the selected experiments of `data_dir` into `opts.out`, one after the other, and
/// returns their outcomes. Writes `reproduce.json` at the output root first and adds the wall
/// time at the end. Runs that failed or diverged are rows with their status, not errors.
///
/// # Errors
/// Config, data or output errors.
pub fn run(data_dir: &Path, sel: &Selection, opts: &RunOptions) -> Result<Vec<ExperimentOutcome>> {
    let files = select(&data_dir.join("experiments"), &sel.only)?;
    let cache = DataCache::default();
    let start = Instant::now();
    let mut record = RunRecord {
        quick: sel.quick,
        seeds: sel.seeds.as_ref().map(|s| format!("{s:?}")),
        only: sel.only.clone(),
        wall_seconds: None,
    };
    write_record(&opts.out, &record)?;
    let mut overrides = toml::Table::new();
    if let Some(s) = &sel.seeds {
        overrides.insert("seeds".into(), crate::seeds::to_toml(s));
    }
    let mut outcomes = Vec::new();
    for f in &files {
        let mut exp = Experiment::load(f, sel.quick, &toml::Table::new())?;
        if exp.cfg.kind == ExperimentKind::Train && !overrides.is_empty() {
            exp = Experiment::load(f, sel.quick, &overrides)?;
        }
        let t0 = Instant::now();
        let out = run_experiment(&exp, opts, &cache)?;
        opts.progress.note(&format!(
            "[{}] done in {:.1}s ({} units run, {} reused) → {}",
            exp.cfg.name,
            t0.elapsed().as_secs_f64(),
            out.ran,
            out.skipped,
            out.dir.display()
        ));
        outcomes.push(out);
    }
    record.wall_seconds = Some(start.elapsed().as_secs_f64());
    write_record(&opts.out, &record)?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_picks_by_experiment_id_or_by_full_config_name() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "e8_embeddings",
            "e8_fashion_mnist",
            "e8_fashion_mnist_raw",
            "e8b_classes",
        ] {
            std::fs::write(dir.path().join(format!("{n}.toml")), "").unwrap();
        }
        let names = |only: &[&str]| -> Vec<String> {
            let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
            select(dir.path(), &only)
                .unwrap()
                .iter()
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(&["E8"]),
            ["e8_embeddings", "e8_fashion_mnist", "e8_fashion_mnist_raw"]
        );
        assert_eq!(names(&["e8_fashion_mnist_raw"]), ["e8_fashion_mnist_raw"]);
        assert_eq!(names(&["E8_Fashion_MNIST"]), ["e8_fashion_mnist"]);
        assert_eq!(names(&["e8b"]), ["e8b_classes"]);
        let err = select(dir.path(), &["e9".into()]).unwrap_err();
        assert!(
            err.to_string().contains("`e9_*.toml` or `e9.toml`"),
            "{err}"
        );
    }
}
