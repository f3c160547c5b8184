//! Flags that override config fields (`--clauses`, `--alpha`, …), the built-in config of a bare
//! `fpe run`, and the summary a finished run prints.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use fpe_experiments::sweep::{Experiment, RunOptions};

use crate::progress;

/// Flags that override config fields.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct Knobs {
    /// Task kind: boolean, embeddings or images.
    #[arg(long)]
    task: Option<String>,
    /// HDF5 embeddings file (implies --task embeddings); with --task images, the directory of
    /// the IDX files (default /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Number of clauses m (Boolean task).
    #[arg(long)]
    clauses: Option<usize>,
    /// Hidden width h (one hidden layer).
    #[arg(long)]
    neurons: Option<usize>,
    /// Expansion factor α.
    #[arg(long)]
    alpha: Option<usize>,
    /// Comma-separated arms, e.g. dense,random,clause.
    #[arg(long, value_delimiter = ',')]
    arms: Vec<String>,
    /// Seeds: a list with inclusive ranges, e.g. 0,1,2 or 0-19 or 0-4,10.
    #[arg(long, value_name = "LIST")]
    seeds: Option<String>,
    /// Warm-up and post-split epochs, e.g. 1000,1000.
    #[arg(long, value_delimiter = ',', num_args = 1)]
    epochs: Vec<usize>,
    /// Output directory.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Do not keep a checkpoint per arm and seed.
    #[arg(long)]
    no_checkpoints: bool,
}

impl Knobs {
    fn overrides(&self) -> Result<toml::Table> {
        use toml::Value as V;
        let mut t = toml::Table::new();
        let task = self
            .task
            .clone()
            .or_else(|| self.data.as_ref().map(|_| "embeddings".to_string()));
        if let Some(kind) = &task {
            if !["boolean", "embeddings", "images"].contains(&kind.as_str()) {
                bail!("--task {kind}: allowed values are boolean, embeddings, images");
            }
        }
        if let Some(d) = &self.data {
            t.insert("task.path".into(), V::String(d.display().to_string()));
        }
        if let Some(m) = self.clauses {
            t.insert("task.clauses".into(), V::Integer(m as i64));
        }
        if let Some(h) = self.neurons {
            t.insert("model.hidden".into(), V::Array(vec![V::Integer(h as i64)]));
        }
        if let Some(a) = self.alpha {
            t.insert("expansion.alpha".into(), V::Integer(a as i64));
        }
        if !self.arms.is_empty() {
            t.insert(
                "arms".into(),
                V::Array(self.arms.iter().cloned().map(V::String).collect()),
            );
        }
        if let Some(text) = &self.seeds {
            let seeds = fpe_experiments::config::parse_list(text)
                .map_err(|e| anyhow::anyhow!("--seeds {text}: {e}"))?;
            t.insert(
                "seeds".into(),
                fpe_experiments::config::seeds_to_toml(&seeds),
            );
        }
        match self.epochs.as_slice() {
            [] => {}
            [w, a] => {
                t.insert("train.warmup_epochs".into(), V::Integer(*w as i64));
                t.insert("train.after_epochs".into(), V::Integer(*a as i64));
            }
            other => bail!("--epochs {other:?}: give WARMUP,AFTER, e.g. --epochs 1000,1000"),
        }
        Ok(t)
    }

    pub(crate) fn run_options(&self, device: fpe_model::Device) -> RunOptions {
        RunOptions {
            out: self.out.clone(),
            checkpoints: !self.no_checkpoints,
            progress: std::sync::Arc::new(progress::Terminal { enabled: true }),
            device,
        }
    }
}

/// The config `fpe run` uses without a file.
fn default_run_table(task: Option<&str>) -> toml::Table {
    let text = if task == Some("embeddings") {
        r#"
name = "run"
seeds = [0]
arms = ["dense", "random", "feature"]
[task]
kind = "embeddings"
path = "data/wordnet30_supersense40_minilm384_f16.h5"
[model]
hidden = [8]
[train]
warmup_epochs = 25
after_epochs = 25
"#
    } else if task == Some("images") {
        r#"
name = "run"
seeds = [0]
arms = ["dense", "random", "feature"]
[task]
kind = "images"
max_train = 10000
[model]
hidden = [8]
[train]
warmup_epochs = 10
after_epochs = 10
"#
    } else {
        r#"
name = "run"
seeds = [0]
arms = ["dense", "random", "clause"]
[task]
kind = "boolean"
[model]
hidden = [8]
"#
    };
    text.parse().expect("built-in config is valid TOML")
}

/// The shipped 40-class set `fpe run --task embeddings` uses without `--data`, in the data
/// directory (`--data-dir`, see [`fpe_experiments::reproduce::data_dir`]).
fn default_embeddings(data_dir: Option<&std::path::Path>) -> Result<PathBuf> {
    let name = "wordnet30_supersense40_minilm384_f16.h5";
    let dir = fpe_experiments::reproduce::data_dir(data_dir)
        .with_context(|| format!("--task embeddings without --data uses the shipped {name}"))?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "--task embeddings without --data uses the shipped {}, which is missing; pass --data \
             FILE (an HDF5 file in the embedding layout)",
            path.display()
        );
    }
    Ok(path)
}

pub(crate) fn load(
    config: Option<&PathBuf>,
    knobs: &Knobs,
    quick: bool,
    data_dir: Option<&std::path::Path>,
) -> Result<Experiment> {
    let mut overrides = knobs.overrides()?;
    match config {
        Some(p) => Ok(Experiment::load(p, quick, &overrides)?),
        None => {
            let task = knobs
                .task
                .as_deref()
                .or(knobs.data.as_ref().map(|_| "embeddings"));
            if task == Some("embeddings") && knobs.data.is_none() {
                let path = default_embeddings(data_dir)?.display().to_string();
                overrides.insert("task.path".into(), toml::Value::String(path));
            }
            Ok(Experiment::from_table(
                default_run_table(task),
                quick,
                &overrides,
                std::path::Path::new("."),
            )?)
        }
    }
}

pub(crate) fn print_summary(rows: &[fpe_experiments::results::RunRow]) {
    let mut groups: std::collections::BTreeMap<(usize, String), Vec<f64>> = Default::default();
    let mut order: Vec<(usize, String)> = Vec::new();
    for r in rows.iter().filter(|r| r.status.is_ok()) {
        let key = (r.setting_index, format!("{:<28} {:<20}", r.setting, r.arm));
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r.test_accuracy);
    }
    println!(
        "{:<28} {:<20} {:>16}  seeds",
        "setting", "arm", "test accuracy %"
    );
    for key in order {
        let v = &groups[&key];
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        println!(
            "{} {:>8.2} ± {:<5.2}  {}",
            key.1,
            100.0 * mean,
            100.0 * sd,
            v.len()
        );
    }
    for r in rows.iter().filter(|r| !r.status.is_ok()) {
        println!(
            "{} {} seed {} {}: {}",
            r.status.name().to_uppercase(),
            r.setting,
            r.seed,
            r.arm,
            r.error
        );
    }
}

/// The exit status of a finished run or sweep: an error when any run failed or diverged, so
/// scripts and schedulers see it; every row is already written by then.
pub(crate) fn check_rows(rows: &[fpe_experiments::results::RunRow]) -> Result<()> {
    let bad = rows.iter().filter(|r| !r.status.is_ok()).count();
    if bad > 0 {
        bail!(
            "{bad} run(s) failed or diverged (listed above and in results.csv with the reason); \
             the other results are kept"
        );
    }
    Ok(())
}
