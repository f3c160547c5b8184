//! The `fpe` command line: the program's flags and subcommands (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::bench;
use crate::data_cmd;
use crate::knobs::Knobs;

/// Fixed Parameter Expansion: expand neurons, not parameters.
///
/// Quick start:
///   fpe run --clauses 8 --neurons 8 --alpha 2 --arms dense,random,clause --seeds 0,1
///   fpe reproduce --quick
///   fpe report results
#[derive(Parser)]
#[command(version, about, long_about, verbatim_doc_comment)]
pub(crate) struct Cli {
    /// Worker threads (default: all cores), given before the subcommand: `fpe --threads 2 sweep …`.
    /// Results do not depend on it. At most 4 per CPU this process may use; more is capped there,
    /// with a warning.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Device to train on: cpu, or gpu (needs a build with `--features gpu` and a Vulkan, Metal
    /// or DX12 adapter; FPE_GPU_ADAPTER=<name part> picks one). Applies to run, sweep,
    /// reproduce and bench; given before or after the subcommand.
    #[arg(long, global = true, default_value = "cpu")]
    pub(crate) device: fpe_model::Device,
    /// The data directory: experiment configs in `experiments/` and the shipped data files.
    /// Default: $FPE_DATA_DIR, else ./data, else the `data/` of the clone the executable is in.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run one experiment: every arm × seed of one setting, sharing each seed's warm-up.
    ///
    /// Without a config file, the flags describe the run (defaults: the E1 Boolean setting,
    /// m = 8 clauses, h = 8 neurons, α = 2, arms dense,random,clause, seed 0; with
    /// `--task embeddings`: the shipped 40-class WordNet set, rows as stored, 25 + 25 epochs; with
    /// `--task images`: raw Fashion-MNIST from /usr/share/datasets/fashion-mnist, the first
    /// 10,000 training images, 10 + 10 epochs).
    ///
    /// Examples:
    ///   fpe run data/experiments/e1_headline.toml --seeds 0-19 --epochs 200,200
    ///   fpe run --clauses 16 --neurons 8 --alpha 4 --arms dense,random,clause
    ///   fpe run --task embeddings --data my_clip.h5 --neurons 32 --alpha 4 --arms dense,random,feature
    ///   fpe run --task images --neurons 16 --alpha 4 --seeds 0-2
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
        shard: Option<fpe_experiments::sweep::Shard>,
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
    Slurm(fpe_experiments::slurm::SlurmArgs),
    /// Measure training throughput (samples/s) of dense and expanded models.
    ///
    /// Examples:
    ///   fpe bench
    ///   fpe bench --json --reference
    #[command(verbatim_doc_comment)]
    Bench(bench::BenchOptions),
}
