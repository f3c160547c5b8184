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
    /// Device to train on: cpu, or gpu (needs a build with `--features gpu` and a Vulkan, Metal
    /// or DX12 adapter; FPE_GPU_ADAPTER=<name part> picks one). Applies to run, sweep,
    /// reproduce and bench; given before or after the subcommand.
    #[arg(long, global = true, default_value = "cpu")]
    device: fpe_model::Device,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one experiment: every arm × seed of one setting, sharing each seed's warm-up.
    ///
    /// Without a config file, the flags describe the run (defaults: the E1 Boolean setting,
    /// m = 8 clauses, h = 8 neurons, α = 2, arms dense,random,clause, seed 0; with
    /// `--task embeddings`: the shipped 40-class WordNet set, rows as stored, 25 + 25 epochs).
    ///
    /// Examples:
    ///   fpe run data/experiments/e1_headline.toml --seeds 0-19 --epochs 200,200
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
    /// Across machines: `--shard I/N` runs shard I of N (counted from 0; a fixed split by unit
    /// hash), side by side with the other shards on one shared --out; `--collect` then builds
    /// results.csv, tables, plots and REPORT.md from all shards' unit files, as a plain sweep
    /// followed by `fpe report` does, and fails listing any units still missing.
    ///
    /// Examples:
    ///   fpe sweep data/experiments/e2_clause_sweep.toml --out results
    ///   fpe sweep data/experiments/e2_clause_sweep.toml --plan > plan.jsonl     # the units, one JSON per line
    ///   fpe sweep data/experiments/e2_clause_sweep.toml --out /shared/r --shard 0/4   # on machine 1 …
    ///   fpe sweep data/experiments/e2_clause_sweep.toml --out /shared/r --shard 3/4   # … on machine 4
    ///   fpe sweep data/experiments/e2_clause_sweep.toml --out /shared/r --collect
    #[command(verbatim_doc_comment)]
    Sweep {
        /// Experiment config with a `[grid]` table.
        config: PathBuf,
        #[command(flatten)]
        knobs: Knobs,
        /// Use the config's `[quick]` overrides.
        #[arg(long)]
        quick: bool,
        /// Print the units instead of running them: one JSON object per line with the unit's
        /// hash, setting, seed and resolved config (with --shard: only that shard's units).
        #[arg(long, conflicts_with = "collect")]
        plan: bool,
        /// Run only shard I of N (0 ≤ I < N), e.g. 0/4; results.csv is left to --collect.
        #[arg(long, value_name = "I/N")]
        shard: Option<fpe_tools::shard::Shard>,
        /// Gather the shards' unit files into results.csv, tables, plots and REPORT.md; exit
        /// nonzero listing missing units.
        #[arg(long, conflicts_with = "shard")]
        collect: bool,
    },
    /// Reproduce the paper's experiments E0–E10 (configs in data/experiments/) and write REPORT.md.
    ///
    /// The full run uses 10 seeds per setting (20 for E1); verdicts are decided on 95 % seed-
    /// bootstrap intervals of paired differences.
    ///
    /// Examples:
    ///   fpe reproduce                  # the full default reproduction into results/
    ///   fpe reproduce --quick          # fewer seeds and epochs, about a minute (a smoke test)
    ///   fpe reproduce --only E1,E5 --out results
    ///   fpe reproduce --only E1 --seeds 40      # seeds 0..39 for every selected experiment
    ///   fpe reproduce --seeds 0-4,10            # exactly these seeds
    #[command(verbatim_doc_comment)]
    Reproduce {
        /// Fewer seeds and epochs (each config's `[quick]` table).
        #[arg(long)]
        quick: bool,
        /// Seeds for every experiment, replacing each config's: a count N (seeds 0..N−1), or a
        /// list of seeds and inclusive ranges such as `0-19` or `0-4,10`.
        #[arg(long, value_name = "N|LIST")]
        seeds: Option<String>,
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
    /// Rebuild tables, plots, claims.json and REPORT.md from the result files in DIR alone.
    ///
    /// Examples:
    ///   fpe report results
    ///   fpe report results --json | jq '.[] | select(.verdict == "held")'
    #[command(verbatim_doc_comment)]
    Report {
        /// Output directory of `fpe reproduce` / `fpe sweep`.
        dir: PathBuf,
        /// Print the claim rows as JSON on stdout (one object per row: id, comparison, estimate,
        /// ci_low, ci_high, n_seeds, p_value, verdict, paper_value, paper_in_ci, …).
        #[arg(long)]
        json: bool,
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
        /// Output .npz file: a new regular file (never the checkpoint itself, a device, a FIFO
        /// or a symbolic link).
        #[arg(long)]
        npz: PathBuf,
        /// Overwrite an existing --npz file.
        #[arg(long)]
        force: bool,
    },
    /// Write (and with --submit, submit) a Slurm job array running a sweep, one shard per task,
    /// and a collect job that runs after it.
    ///
    /// The scripts go to OUT/NAME/slurm/ (array.sbatch, collect.sbatch; logs in logs/). The
    /// binary, the config, its data and --out must be on a filesystem every node shares.
    /// Resubmit failed tasks with `sbatch --array=I,J OUT/NAME/slurm/array.sbatch`: a rerun
    /// shard skips its finished units; then `sbatch OUT/NAME/slurm/collect.sbatch`.
    ///
    /// Examples:
    ///   fpe slurm data/experiments/e2_clause_sweep.toml --out /shared/results --submit
    ///   fpe slurm data/experiments/e2_clause_sweep.toml --out /shared/results \
    ///       --partition cpu --time 2:00:00 --cpus 4 --array-size 16 --submit
    ///   fpe slurm my_sweep.toml --out /shared/results --sbatch-option=--mem=8G   # write only
    #[command(verbatim_doc_comment)]
    Slurm(fpe_tools::slurm::SlurmArgs),
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
        if let Some(text) = &self.seeds {
            let seeds = fpe_tools::seeds::parse_list(text)
                .map_err(|e| anyhow::anyhow!("--seeds {text}: {e}"))?;
            t.insert("seeds".into(), fpe_tools::seeds::to_toml(&seeds));
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

    fn run_options(&self, device: fpe_model::Device) -> RunOptions {
        RunOptions {
            out: self.out.clone(),
            checkpoints: !self.no_checkpoints,
            progress: true,
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

/// The shipped 40-class set `fpe run --task embeddings` uses without `--data`: under the working
/// directory, else in the checkout the `fpe` executable was built in (`target/*/fpe`).
fn default_embeddings() -> Result<PathBuf> {
    let rel = std::path::Path::new("data/wordnet30_supersense40_minilm384_f16.h5");
    let mut looked = vec![std::env::current_dir()?.join(rel)];
    if let Ok(exe) = std::env::current_exe() {
        looked.extend(exe.ancestors().skip(1).take(4).map(|a| a.join(rel)));
    }
    looked.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let list: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
        anyhow::anyhow!(
            "--task embeddings without --data uses the shipped {}, which is not at any of: {}; \
             pass --data FILE (an HDF5 file in the embedding layout)",
            rel.display(),
            list.join(", ")
        )
    })
}

fn load(config: Option<&PathBuf>, knobs: &Knobs, quick: bool) -> Result<Experiment> {
    let mut overrides = knobs.overrides()?;
    match config {
        Some(p) => Experiment::load(p, quick, &overrides),
        None => {
            let task = knobs
                .task
                .as_deref()
                .or(knobs.data.as_ref().map(|_| "embeddings"));
            if task == Some("embeddings") && knobs.data.is_none() {
                let path = default_embeddings()?.display().to_string();
                overrides.insert("task.path".into(), toml::Value::String(path));
            }
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
            "{} {} seed {} {}: {}",
            r.status.to_uppercase(),
            r.setting,
            r.seed,
            r.arm,
            r.error
        );
    }
}

/// The exit status of a finished run or sweep: an error when any run failed or diverged, so
/// scripts and schedulers see it; every row is already written by then.
fn check_rows(rows: &[fpe_tools::results::RunRow]) -> Result<()> {
    let bad = rows.iter().filter(|r| r.status != "ok").count();
    if bad > 0 {
        bail!(
            "{bad} run(s) failed or diverged (listed above and in results.csv with the reason); \
             the other results are kept"
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("configuring threads")?;
    }
    let device = cli.device;
    // Fail early when the device cannot train here (`fpe slurm` only passes it on to the jobs).
    if matches!(
        cli.command,
        Command::Run { .. } | Command::Sweep { .. } | Command::Reproduce { .. } | Command::Bench(_)
    ) {
        device.check()?;
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
            let out = run_experiment(&exp, &knobs.run_options(device), &DataCache::default())?;
            print_summary(&out.rows);
            eprintln!("results: {}", out.dir.join("results.csv").display());
            check_rows(&out.rows)?;
        }
        Command::Sweep {
            config,
            knobs,
            quick,
            plan,
            shard,
            collect,
        } => {
            let exp = load(Some(&config), &knobs, quick)?;
            if plan {
                use std::io::Write as _;
                let mut stdout = std::io::stdout().lock();
                for unit in fpe_tools::sweep::plan(&exp, shard)? {
                    match writeln!(stdout, "{}", serde_json::to_string(&unit)?) {
                        // The reader stopped early (`| head`): not an error.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
                        r => r.context("writing the plan")?,
                    }
                }
                return Ok(());
            }
            if collect {
                let opts = knobs.run_options(device);
                let out = fpe_tools::sweep::collect(&exp, &opts)?;
                print_summary(&out.rows);
                fpe_tools::report::build(&opts.out)?;
                eprintln!(
                    "collected {} of {} units; results: {}; report: {}",
                    out.present,
                    out.units,
                    out.dir.join("results.csv").display(),
                    opts.out.join("REPORT.md").display()
                );
                if !out.missing.is_empty() {
                    bail!("{}", out.missing_report());
                }
                return check_rows(&out.rows);
            }
            if let Some(shard) = shard {
                let opts = knobs.run_options(device);
                let out = fpe_tools::sweep::run_shard(&exp, &opts, &DataCache::default(), shard)?;
                print_summary(&out.rows);
                eprintln!(
                    "shard {shard}: {} units run, {} reused; when every shard is done: \
                     fpe sweep {} --out {} --collect",
                    out.ran,
                    out.skipped,
                    config.display(),
                    opts.out.display()
                );
                return check_rows(&out.rows);
            }
            let out = run_experiment(&exp, &knobs.run_options(device), &DataCache::default())?;
            print_summary(&out.rows);
            eprintln!(
                "{} units run, {} reused; results: {}",
                out.ran,
                out.skipped,
                out.dir.join("results.csv").display()
            );
            check_rows(&out.rows)?;
        }
        Command::Reproduce {
            quick,
            seeds,
            only,
            out,
            no_checkpoints,
        } => {
            let opts = RunOptions {
                out,
                checkpoints: !no_checkpoints,
                progress: true,
                device,
            };
            let seeds = seeds
                .as_deref()
                .map(|t| {
                    fpe_tools::seeds::parse_count_or_list(t)
                        .map_err(|e| anyhow::anyhow!("--seeds {t}: {e}"))
                })
                .transpose()?;
            fpe_tools::reproduce::run(&only, quick, seeds.as_deref(), &opts)?;
        }
        Command::Report { dir, json } => {
            let rows = fpe_tools::report::build(&dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            }
            eprintln!("wrote {}", dir.join("REPORT.md").display());
        }
        Command::Data(cmd) => data_cmd::data(cmd)?,
        Command::Inspect { checkpoint, json } => data_cmd::inspect(&checkpoint, json)?,
        Command::Export {
            checkpoint,
            npz,
            force,
        } => {
            fpe_tools::output::check_output(&npz, "--npz", force, &[&checkpoint])?;
            let ck = Checkpoint::load(&checkpoint)?;
            fpe_model::export_npz(&ck.mlp, &npz)?;
            eprintln!("wrote {} ({} layers)", npz.display(), ck.mlp.depth());
        }
        Command::Slurm(args) => fpe_tools::slurm::run(&args, &device.to_string())?,
        Command::Bench(opts) => {
            bench::run(&opts, device)?;
        }
    }
    Ok(())
}
