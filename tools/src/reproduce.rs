//! `fpe reproduce`: the experiments of SPEC §8 from the configs in `data/experiments/`, with an
//! optional seed override, recorded in `reproduce.json` for the report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::config::ExperimentKind;
use crate::report::{RUN_RECORD, RunRecord};
use crate::sweep::{DataCache, Experiment, RunOptions, run_experiment};

/// Writes `reproduce.json` under `out` atomically.
fn write_record(out: &Path, record: &RunRecord) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(RUN_RECORD);
    let json = serde_json::to_string_pretty(record)? + "\n";
    fpe_model::write_atomic(&path, json.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The directory holding the experiment configs: `data/experiments` under the working directory,
/// else under the source tree this binary was built from.
pub fn experiments_dir() -> PathBuf {
    let local = PathBuf::from("data/experiments");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/experiments")
}

/// Config files `e*.toml` in `dir`, sorted, filtered by `only` (ids like `E1`, `e5`).
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
    for id in only {
        let prefix = format!("{}_", id.to_lowercase());
        let matched: Vec<&PathBuf> = files
            .iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
            })
            .collect();
        if matched.is_empty() {
            bail!(
                "--only {id}: no config `{prefix}*.toml` in {}",
                dir.display()
            );
        }
        picked.extend(matched.into_iter().cloned());
    }
    Ok(picked)
}

/// Runs the selected experiments into `opts.out`, then rebuilds the report. `seeds` replaces
/// every training experiment's seeds (the collision experiment E5 has none to replace).
///
/// Writes `reproduce.json` at the output root first (quick or full, the seed override) and adds
/// the wall time at the end, so the report can tell a smoke test from a full run.
///
/// # Errors
/// Config, data or output errors; after the report is written, runs that failed or diverged.
pub fn run(only: &[String], quick: bool, seeds: Option<&[u64]>, opts: &RunOptions) -> Result<()> {
    let dir = experiments_dir();
    let files = select(&dir, only)?;
    let cache = DataCache::default();
    let start = Instant::now();
    let mut record = RunRecord {
        quick,
        seeds: seeds.map(|s| format!("{s:?}")),
        only: only.to_vec(),
        wall_seconds: None,
    };
    write_record(&opts.out, &record)?;
    let mut overrides = toml::Table::new();
    if let Some(s) = seeds {
        overrides.insert("seeds".into(), crate::seeds::to_toml(s));
    }
    let mut bad = 0;
    for f in &files {
        let mut exp = Experiment::load(f, quick, &toml::Table::new())?;
        if exp.cfg.kind == ExperimentKind::Train && !overrides.is_empty() {
            exp = Experiment::load(f, quick, &overrides)?;
        }
        let t0 = Instant::now();
        let out = run_experiment(&exp, opts, &cache)?;
        bad += out.rows.iter().filter(|r| r.status != "ok").count();
        eprintln!(
            "[{}] done in {:.1}s ({} units run, {} reused) → {}",
            exp.cfg.name,
            t0.elapsed().as_secs_f64(),
            out.ran,
            out.skipped,
            out.dir.display()
        );
    }
    record.wall_seconds = Some(start.elapsed().as_secs_f64());
    write_record(&opts.out, &record)?;
    crate::report::build(&opts.out)?;
    eprintln!(
        "reproduce: {} experiment(s) in {:.1}s; report: {}",
        files.len(),
        start.elapsed().as_secs_f64(),
        opts.out.join("REPORT.md").display()
    );
    if bad > 0 {
        bail!(
            "{bad} run(s) failed or diverged (REPORT.md lists each with its reason); every other \
             result and the report are written"
        );
    }
    Ok(())
}
