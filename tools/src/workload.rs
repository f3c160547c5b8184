//! `fpe bench --workload e1,e8`: the paper's training runs end to end, in µs per model-step.
//!
//! A *model-step* is one optimiser step of one model: forward, backward and Adam on a batch of
//! 256. Each workload is measured twice, through the same library call `fpe run` makes for every
//! unit ([`fpe_experiments::sweep::run_unit`]), so the time includes initialisation, the
//! shared warm-up, expansion, training, evaluation and the metrics of every arm:
//!
//! * `1 model`: one seed, one arm at a time (the warm-up model, then that arm's model).
//! * `population`: `--seeds` seeds × every arm, units spread over the rayon pool as a sweep
//!   spreads them.
//!
//! µs per model-step = wall time / model-steps, where a unit with W warm-up and A post-split
//! epochs of S steps takes (W + arms · A) · S model-steps. Data are made (Boolean) or loaded
//! (embeddings) before the clock starts; no checkpoints are written. Each measurement runs
//! `--rounds` times and the fastest counts (robust to other load on a shared machine).
//!
//! | workload | task | model | α | arms | epochs (warm-up, after) |
//! |---|---|---|---|---|---|
//! | `e1` | Boolean, m = 8 clauses, 4,096 training samples | 64 → 8 → 1 | 2 | dense, random, clause | 100, 100 |
//! | `e8` | WordNet supersense-40 (shipped), 384-d | 384 → 16 → 40 | 4 | dense, random, feature | 5, 5 |
//! | `e11` | raw Fashion-MNIST, first 2,048 training images | E11 CNN: conv3×3(1→16) ReLU pool2 → conv3×3(16→32) ReLU pool2 → linear(1,568→256) ReLU → 8 → 10 | 2 | dense, random, channel_random | 2, 2 |

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fpe_experiments::results::RunRow;
use fpe_experiments::sweep::DataCache;
use fpe_experiments::sweep::Experiment;
use fpe_experiments::sweep::{UnitInput, run_unit};
use fpe_model::Device;
use rayon::prelude::*;
use serde::Serialize;

/// One measured workload run.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct WorkloadRow {
    /// `e1` or `e8`.
    pub(crate) workload: String,
    /// `1 model` or `population`.
    pub(crate) mode: String,
    /// Arms trained (after the shared warm-up).
    pub(crate) arms: Vec<String>,
    /// Seeds (units).
    pub(crate) seeds: usize,
    /// Rayon threads.
    pub(crate) threads: usize,
    /// Warm-up and post-split epochs.
    pub(crate) epochs: (usize, usize),
    /// Optimiser steps of all models together.
    pub(crate) model_steps: u64,
    /// Wall seconds of the fastest round.
    pub(crate) seconds: f64,
    /// `seconds · 10⁶ / model_steps`.
    pub(crate) us_per_model_step: f64,
}

/// The config of workload `name` (see the module table).
fn workload_toml(name: &str) -> Result<&'static str> {
    Ok(match name {
        "e1" => {
            r#"
name = "bench_e1"
seeds = [0]
arms = ["dense", "random", "clause"]
[task]
kind = "boolean"
clauses = 8
[model]
hidden = [8]
[train]
warmup_epochs = 100
after_epochs = 100
[expansion]
alpha = 2
"#
        }
        "e8" => {
            r#"
name = "bench_e8"
seeds = [0]
arms = ["dense", "random", "feature"]
[task]
kind = "embeddings"
path = "wordnet30_supersense40_minilm384_f16.h5"
[model]
hidden = [16]
[train]
warmup_epochs = 5
after_epochs = 5
[expansion]
alpha = 4
"#
        }
        "e11" => {
            r#"
name = "bench_e11"
seeds = [0]
arms = ["dense", "random", "channel_random"]
[task]
kind = "images"
max_train = 2048
max_test = 1024
[model]
hidden = [8]
backbone = ["conv 16 3x3 pad 1", "relu", "maxpool2", "conv 32 3x3 pad 1", "relu", "maxpool2",
            "flatten", "linear 256", "relu"]
channel_layer = 1
[train]
warmup_epochs = 2
after_epochs = 2
[expansion]
alpha = 2
[metrics]
enabled = false
"#
        }
        other => bail!("--workload {other}: known workloads are e1, e8 and e11"),
    })
}

/// A workload's resolved config, with `arms` replaced.
fn experiment(
    name: &str,
    arms: &[String],
    data_dir: Option<&std::path::Path>,
) -> Result<Experiment> {
    let mut table: toml::Table = workload_toml(name)?.parse()?;
    let arms_value = toml::Value::Array(arms.iter().cloned().map(toml::Value::String).collect());
    table.insert("arms".into(), arms_value);
    let dir = fpe_experiments::reproduce::data_dir(data_dir)
        .context("the workloads read their data from the data directory (--data-dir)")?;
    Ok(Experiment::from_table(
        table,
        false,
        &toml::Table::new(),
        &dir,
    )?)
}

/// Runs `seeds` units of `exp` on the current rayon pool; returns (wall seconds, model-steps).
fn time_units(exp: &Experiment, seeds: usize, device: Device) -> Result<(f64, u64)> {
    let cfg = &exp.settings[0].cfg;
    let cache = DataCache::default();
    let data = (0..seeds as u64)
        .map(|s| Ok((s, cache.get(cfg, s)?)))
        .collect::<Result<Vec<_>>>()?;
    let (warm, after) = cfg.train.schedule();
    let steps_per_epoch = data[0].1.train.x.nrows().div_ceil(cfg.train.batch_size) as u64;
    let per_unit = (warm + cfg.arms.len() * after) as u64 * steps_per_epoch;
    let start = Instant::now();
    data.par_iter()
        .map(|(seed, d)| -> Result<()> {
            let input = UnitInput {
                cfg,
                seed: *seed,
                data: Arc::clone(d),
                template: RunRow::default(),
                checkpoint_dir: None,
                device,
            };
            let rows = run_unit(&input)?;
            if let Some(bad) = rows.iter().find(|r| !r.status.is_ok()) {
                bail!("arm {} ended {}: {}", bad.arm, bad.status, bad.error);
            }
            Ok(())
        })
        .collect::<Result<Vec<()>>>()?;
    Ok((start.elapsed().as_secs_f64(), per_unit * seeds as u64))
}

/// Measures `workloads` for every thread count: each arm alone, then `seeds` seeds × all arms.
///
/// # Errors
/// An unknown workload, a missing data file, or a unit that fails.
pub(crate) fn run(
    workloads: &[String],
    threads: &[usize],
    seeds: usize,
    rounds: usize,
    device: Device,
    data_dir: Option<&std::path::Path>,
) -> Result<Vec<WorkloadRow>> {
    let mut rows = Vec::new();
    for name in workloads {
        let arms: Vec<String> = toml::from_str::<toml::Table>(workload_toml(name)?)?["arms"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let mut plans: Vec<(String, Vec<String>, usize)> = arms
            .iter()
            .map(|a| ("1 model".to_string(), vec![a.clone()], 1))
            .collect();
        plans.push(("population".to_string(), arms.clone(), seeds));
        for &n in threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .context("building the rayon pool")?;
            for (mode, plan_arms, plan_seeds) in &plans {
                let exp = experiment(name, plan_arms, data_dir)?;
                let mut best: Option<(f64, u64)> = None;
                for _ in 0..rounds {
                    let (s, steps) = pool.install(|| time_units(&exp, *plan_seeds, device))?;
                    if best.is_none_or(|(b, _)| s < b) {
                        best = Some((s, steps));
                    }
                }
                let (seconds, model_steps) = best.expect("rounds >= 1");
                rows.push(WorkloadRow {
                    workload: name.clone(),
                    mode: mode.clone(),
                    arms: plan_arms.clone(),
                    seeds: *plan_seeds,
                    threads: n,
                    epochs: exp.settings[0].cfg.train.schedule(),
                    model_steps,
                    seconds,
                    us_per_model_step: seconds * 1e6 / model_steps as f64,
                });
            }
        }
    }
    Ok(rows)
}

/// The rows as an aligned text table.
pub(crate) fn table(rows: &[WorkloadRow]) -> String {
    let mut out = format!(
        "{:<8} {:<10} {:<22} {:>5} {:>7} {:>9} {:>11} {:>9} {:>17}\n",
        "workload",
        "mode",
        "arms",
        "seeds",
        "threads",
        "epochs",
        "model_steps",
        "seconds",
        "us_per_model_step"
    );
    for r in rows {
        out += &format!(
            "{:<8} {:<10} {:<22} {:>5} {:>7} {:>9} {:>11} {:>9.3} {:>17.2}\n",
            r.workload,
            r.mode,
            r.arms.join(","),
            r.seeds,
            r.threads,
            format!("{}+{}", r.epochs.0, r.epochs.1),
            r.model_steps,
            r.seconds,
            r.us_per_model_step
        );
    }
    out
}
