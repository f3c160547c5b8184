//! The `fpe` command-line program: argument parsing, progress display and glue. The work lives in
//! `fpe-experiments` (runs, sweeps, reproduction) and `fpe-report` (statistics, REPORT.md).

mod bench;
mod cli;
mod data_cmd;
mod knobs;
mod limits;
mod progress;
mod reproduce;
mod workload;

use anyhow::{Context, Result, bail};
use clap::Parser;
use fpe_experiments::sweep::{DataCache, RunOptions, run_experiment};
use fpe_model::Checkpoint;

use crate::cli::{Cli, Command};
use crate::knobs::{check_rows, load, print_summary};

fn main() -> Result<()> {
    limits::ignore_file_size_signal();
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(limits::capped_threads(n))
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
    let data_dir = cli.data_dir;
    match cli.command {
        Command::Run {
            config,
            knobs,
            quick,
        } => {
            let exp = load(config.as_ref(), &knobs, quick, data_dir.as_deref())?;
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
            let exp = load(Some(&config), &knobs, quick, data_dir.as_deref())?;
            if plan {
                use std::io::Write as _;
                let mut stdout = std::io::stdout().lock();
                for unit in fpe_experiments::sweep::plan(&exp, shard)? {
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
                let out = fpe_experiments::sweep::collect(&exp, &opts)?;
                print_summary(&out.rows);
                fpe_report::build(&opts.out)?;
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
                let out =
                    fpe_experiments::sweep::run_shard(&exp, &opts, &DataCache::default(), shard)?;
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
                progress: std::sync::Arc::new(progress::Terminal { enabled: true }),
                device,
            };
            let seeds = seeds
                .as_deref()
                .map(|t| {
                    fpe_experiments::config::parse_count_or_list(t)
                        .map_err(|e| anyhow::anyhow!("--seeds {t}: {e}"))
                })
                .transpose()?;
            let data_dir = fpe_experiments::reproduce::data_dir(data_dir.as_deref())?;
            let sel = fpe_experiments::reproduce::Selection { only, quick, seeds };
            reproduce::run(&data_dir, &sel, &opts)?;
        }
        Command::Report { dir, json } => {
            let rows = fpe_report::build(&dir)?;
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
            fpe_experiments::results::check_output(&npz, "--npz", force, &[&checkpoint])?;
            let ck = Checkpoint::load(&checkpoint)?;
            fpe_model::export_npz(&ck.mlp, &npz)?;
            eprintln!("wrote {} ({} layers)", npz.display(), ck.mlp.depth());
        }
        Command::Slurm(args) => fpe_experiments::slurm::run(&args, &device.to_string())?,
        Command::Bench(opts) => {
            bench::run(&opts, device, data_dir.as_deref())?;
        }
    }
    Ok(())
}
