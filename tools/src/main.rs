//! The `fpe` command-line program. Argument parsing only; the work lives in `fpe_tools`.

mod bench;
mod data_cmd;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use fpe_model::Checkpoint;
use fpe_tools::sweep::{DataCache, Experiment, RunOptions, run_experiment};

/// Fixed Parameter Expansion: expand neurons, not parameters.
///
/// Quick start:
///   fpe run --clauses 8 --neurons 8 --alpha 2 --arms dense,random,clause --seeds 0,1
///   fpe reproduce --quick
///   fpe report results
#[derive(Parser)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Cli {
    /// Worker threads (default: all cores), given before the subcommand: `fpe --threads 2 sweep …`.
    /// Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one experiment: every arm × seed of one setting, sharing each seed's warm-up.
    ///
    /// Without a config file, the flags describe the run (defaults: the E1 Boolean setting,
    /// m = 8 clauses, h = 8 neurons, α = 2, arms dense,random,clause, seed 0).
    ///
    /// Examples:
    ///   fpe run data/experiments/e1_headline.toml --seeds 0 --epochs 200,200
    ///   fpe run --clauses 16 --neurons 8 --alpha 4 --arms dense,random,clause
    ///   fpe run --task embeddings --data my_clip.h5 --neurons 32 --alpha 4 --arms dense,random,feature
    #[command(verbatim_doc_comment)]
    Run {
        /// Experiment config (TOML); omitted = flags only.
        config: Option<PathBuf>,
        #[command(flatten)]
        knobs: Knobs,
        /// Use the config's `[quick]` overrides.
        #[arg(long)]
        quick: bool,
    },
    /// Run a grid of settings (the config's `[grid]`) in parallel; resumable.
    ///
    /// Finished (setting, seed) units are identified by a hash of their resolved config and
    /// skipped, so an interrupted sweep continues where it stopped.
    ///
    /// Example:
    ///   fpe sweep data/experiments/e2_clause_sweep.toml --out results
    #[command(verbatim_doc_comment)]
    Sweep {
        /// Experiment config with a `[grid]` table.
        config: PathBuf,
        #[command(flatten)]
        knobs: Knobs,
        /// Use the config's `[quick]` overrides.
        #[arg(long)]
        quick: bool,
    },
    /// Reproduce the paper's experiments E1–E10 (configs in data/experiments/) and write REPORT.md.
    ///
    /// Examples:
    ///   fpe reproduce                  # the full default reproduction into results/
    ///   fpe reproduce --quick          # fewer seeds and epochs, a few minutes
    ///   fpe reproduce --only E1,E5 --out results
    #[command(verbatim_doc_comment)]
    Reproduce {
        /// Fewer seeds and epochs (each config's `[quick]` table).
        #[arg(long)]
        quick: bool,
        /// Comma-separated experiment ids (E1 … E10).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Output directory.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Do not keep a checkpoint per arm and seed.
        #[arg(long)]
        no_checkpoints: bool,
    },
    /// Rebuild tables, plots and REPORT.md from the result files in DIR alone.
    ///
    /// Example:
    ///   fpe report results
    #[command(verbatim_doc_comment)]
    Report {
        /// Output directory of `fpe reproduce` / `fpe sweep`.
        dir: PathBuf,
    },
    /// Generate or inspect datasets.
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Print a checkpoint's architecture, nnz per layer and weight metrics.
    ///
    /// Example:
    ///   fpe inspect results/e1_headline/checkpoints/HASH_s0_random.ckpt --json
    #[command(verbatim_doc_comment)]
    Inspect {
        /// Checkpoint file.
        checkpoint: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export a checkpoint's weights, biases and masks to .npz (numpy / PyTorch).
    ///
    /// Example:
    ///   fpe export model.ckpt --npz model.npz   # then: np.load("model.npz")["weight_0"]
    #[command(verbatim_doc_comment)]
    Export {
        /// Checkpoint file.
        checkpoint: PathBuf,
        /// Output .npz file.
        #[arg(long)]
        npz: PathBuf,
    },
    /// Measure training throughput (samples/s) of dense and expanded models.
    ///
    /// Examples:
    ///   fpe bench
    ///   fpe bench --json --reference
    #[command(verbatim_doc_comment)]
    Bench(bench::BenchOptions),
}

/// Flags that override config fields.
#[derive(Args, Clone, Debug, Default)]
struct Knobs {
    /// Task kind: boolean or embeddings.
    #[arg(long)]
    task: Option<String>,
    /// HDF5 embeddings file (implies --task embeddings).
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
    /// Comma-separated seeds, e.g. 0,1,2.
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
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
            if kind != "boolean" && kind != "embeddings" {
                bail!("--task {kind}: allowed values are boolean, embeddings");
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
        if !self.seeds.is_empty() {
            t.insert(
                "seeds".into(),
                V::Array(self.seeds.iter().map(|&s| V::Integer(s as i64)).collect()),
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

    fn run_options(&self) -> RunOptions {
        RunOptions {
            out: self.out.clone(),
            checkpoints: !self.no_checkpoints,
            progress: true,
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
path = "data/fashion_mnist_effnetlite0_pca256_f16.h5"
standardize = true
[model]
hidden = [8]
[train]
warmup_epochs = 25
after_epochs = 25
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

fn load(config: Option<&PathBuf>, knobs: &Knobs, quick: bool) -> Result<Experiment> {
    let overrides = knobs.overrides()?;
    match config {
        Some(p) => Experiment::load(p, quick, &overrides),
        None => {
            let task = knobs
                .task
                .as_deref()
                .or(knobs.data.as_ref().map(|_| "embeddings"));
            Experiment::from_table(
                default_run_table(task),
                quick,
                &overrides,
                std::path::Path::new("."),
            )
        }
    }
}

fn print_summary(rows: &[fpe_tools::results::RunRow]) {
    let mut groups: std::collections::BTreeMap<(usize, String), Vec<f64>> = Default::default();
    let mut order: Vec<(usize, String)> = Vec::new();
    for r in rows.iter().filter(|r| r.status == "ok") {
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
    for r in rows.iter().filter(|r| r.status != "ok") {
        println!(
            "FAILED {} seed {} {}: {}",
            r.setting, r.seed, r.arm, r.error
        );
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("configuring threads")?;
    }
    match cli.command {
        Command::Run {
            config,
            knobs,
            quick,
        } => {
            let exp = load(config.as_ref(), &knobs, quick)?;
            if exp.settings.len() > 1 {
                bail!(
                    "this config has a [grid] of {} settings: use `fpe sweep`",
                    exp.settings.len()
                );
            }
            let out = run_experiment(&exp, &knobs.run_options(), &DataCache::default())?;
            print_summary(&out.rows);
            eprintln!("results: {}", out.dir.join("results.csv").display());
        }
        Command::Sweep {
            config,
            knobs,
            quick,
        } => {
            let exp = load(Some(&config), &knobs, quick)?;
            let out = run_experiment(&exp, &knobs.run_options(), &DataCache::default())?;
            print_summary(&out.rows);
            eprintln!(
                "{} units run, {} reused; results: {}",
                out.ran,
                out.skipped,
                out.dir.join("results.csv").display()
            );
        }
        Command::Reproduce {
            quick,
            only,
            out,
            no_checkpoints,
        } => {
            let opts = RunOptions {
                out,
                checkpoints: !no_checkpoints,
                progress: true,
            };
            fpe_tools::reproduce::run(&only, quick, &opts)?;
        }
        Command::Report { dir } => {
            fpe_tools::report::build(&dir)?;
            eprintln!("wrote {}", dir.join("REPORT.md").display());
        }
        Command::Data(cmd) => data_cmd::data(cmd)?,
        Command::Inspect { checkpoint, json } => data_cmd::inspect(&checkpoint, json)?,
        Command::Export { checkpoint, npz } => {
            let ck = Checkpoint::load(&checkpoint)?;
            fpe_model::export_npz(&ck.mlp, &npz)?;
            eprintln!("wrote {} ({} layers)", npz.display(), ck.mlp.depth());
        }
        Command::Bench(opts) => {
            bench::run(&opts)?;
        }
    }
    Ok(())
}
