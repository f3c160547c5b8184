//! One unit of work: a (setting, seed) pair, every arm, sharing the seed's warm-up (SPEC §4).
//!
//! Random streams, all from the seed: formula / train / test data (Boolean tasks), `Init` for
//! the narrow model (and the wide baselines), `Batches` for the warm-up, a clone of the warm-up's
//! batch stream for every arm after the split (so all arms see the same batches), `Split` for
//! expansion plans (restarted per arm), `Training` for DropConnect masks and regrowth.
//!
//! Training runs on the unit's device ([`UnitInput::device`], a value; default CPU), through
//! [`fpe_model::Device::fit`]. On the GPU (a build with the `gpu` feature) the warm-up and every
//! arm trained without per-step hooks (`dense`, the expansion strategies, `nm`, `overlap`, the
//! wide baselines) run on the device; `dropconnect`, `set` and `rigl` change weights or masks
//! between steps and run on the CPU. Each row's `device` says where its arm ran.
//!
//! The arms that start from the warm-up train together (`train_arms`): on the CPU in lockstep,
//! one shuffle, gather and transpose per step serving them all, bit-identical to training them
//! one after the other.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Context, Error, Result};
use fpe_datasets::{Dataset, Stream, Targets, rng_for};
use fpe_model::{Device, Mlp, Trainer, evaluate};

use crate::train_arms::{ArmResult, last_loss_only, scratch_arm, targets, warm_start_arms};

use crate::arms::Arm;
use crate::config::ExperimentConfig;
use crate::measure::measure;
use crate::network::NetworkSpec;
use crate::results::{RunRow, Status};

/// Everything a unit needs besides its config.
pub struct UnitInput<'a> {
    /// The resolved config of this setting (grid applied).
    pub cfg: &'a ExperimentConfig,
    /// Seed of this unit.
    pub seed: u64,
    /// The dataset (Boolean tasks are generated per seed; embeddings are shared).
    pub data: Arc<Dataset>,
    /// Row template: experiment, setting, hash, params.
    pub template: RunRow,
    /// Where to write one checkpoint per arm (`None` = keep none).
    pub checkpoint_dir: Option<&'a Path>,
    /// Where the arms without per-step hooks train.
    pub device: Device,
}

/// A run whose final mean training loss exceeds this many times the chance-level loss is
/// marked `diverged` (it finished, but did not learn: e.g. a learning rate far too large).
pub const DIVERGENCE_FACTOR: f64 = 2.0;

/// The loss above which a run counts as diverged: [`DIVERGENCE_FACTOR`] × the loss of
/// predicting the uniform distribution, ln C for C classes (softmax cross-entropy) and ln 2 per
/// output bit (binary cross-entropy); at least ln 2 per output, so one class never makes every
/// loss diverged.
pub fn divergence_limit(data: &Dataset) -> f64 {
    let chance = match &data.train.y {
        Targets::Classes { n_classes, .. } => (*n_classes as f64).ln(),
        Targets::Binary(_) => std::f64::consts::LN_2,
    };
    DIVERGENCE_FACTOR * chance.max(std::f64::consts::LN_2)
}

/// Runs every arm of one unit and returns one row per arm.
///
/// An arm whose loss or weights become non-finite, or that cannot be built (α larger than a
/// neuron's fan-in), becomes a row with `status = "failed"`; one whose final training loss ends
/// above [`divergence_limit`] a row with `status = "diverged"`; each with the reason in `error`.
/// The other arms still run.
///
/// # Errors
/// Only for problems that make the whole unit impossible (bad config for this data).
pub fn run_unit(input: &UnitInput<'_>) -> Result<Vec<RunRow>> {
    let cfg = input.cfg;
    let data = &input.data;
    let seed = input.seed;
    let (warm_epochs, after_epochs) = cfg.train.schedule();
    let kernel = cfg.train.kernel;
    let arms: Vec<Arm> = cfg.arms.clone();
    let (xtr, ytr) = (data.train.x.view(), targets(&data.train.y));
    let net = NetworkSpec::of(cfg, data)?;
    let clauses: Option<Vec<Vec<usize>>> = data.clauses.as_ref().map(|c| c.clause_inputs());
    // Shared warm-up.
    let start = Instant::now();
    let mlp = net
        .init(&mut rng_for(seed, Stream::Init))
        .context("initialising the model")?;
    let mut batch_rng = rng_for(seed, Stream::Batches);
    let mut warm = last_loss_only(Trainer::new(mlp, cfg.train.optimizer, kernel)?);
    let warm_result = if arms.iter().any(Arm::uses_warmup) && warm_epochs > 0 {
        input
            .device
            .fit(
                &mut warm,
                xtr,
                ytr,
                warm_epochs,
                cfg.train.batch_size,
                &mut batch_rng,
            )
            .map(|_| ())
    } else {
        Ok(())
    };
    let warm_seconds = start.elapsed().as_secs_f64();

    let mut trained = match &warm_result {
        Ok(()) => warm_start_arms(
            &arms,
            cfg,
            &warm,
            &batch_rng,
            clauses.as_deref(),
            seed,
            data,
            input.device,
        ),
        Err(_) => arms.iter().map(|_| None).collect(),
    };

    let mut rows = Vec::with_capacity(arms.len());
    for (i, arm) in arms.into_iter().enumerate() {
        let t0 = Instant::now();
        let mut row = input.template.clone();
        row.seed = seed;
        row.arm = arm;
        let (outcome, seconds) = match (&warm_result, arm.uses_warmup(), trained[i].take()) {
            (Err(e), true, _) => (Err(Error::Training(format!("warm-up failed: {e}"))), None),
            (_, _, Some((outcome, seconds))) => (outcome, Some(seconds)),
            _ => (scratch_arm(arm, cfg, &net, seed, data, input.device), None),
        };
        let elapsed = seconds.unwrap_or_else(|| t0.elapsed().as_secs_f64())
            + if arm == Arm::Dense { warm_seconds } else { 0.0 };
        match outcome {
            Ok(ArmResult {
                trainer,
                alpha: arm_alpha,
                warmup_epochs: warm_used,
                loss,
                device,
            }) => {
                row.device = device.to_string();
                fill_row(
                    &mut row,
                    trainer.mlp(),
                    data,
                    cfg,
                    clauses.as_deref(),
                    arm_alpha,
                    loss,
                )?;
                row.status = Status::Ok;
                let limit = divergence_limit(data);
                if loss.is_finite() && loss > limit {
                    row.status = Status::Diverged;
                    row.error = format!(
                        "training loss ended at {loss:.4e}, above {limit:.4} = {DIVERGENCE_FACTOR} × the \
                         chance-level loss: diverged, left out of every mean"
                    );
                }
                row.warmup_epochs = warm_used;
                row.after_epochs = if warm_used == 0 {
                    warm_epochs + after_epochs
                } else {
                    after_epochs
                };
                if let Some(dir) = input.checkpoint_dir {
                    save_checkpoint(dir, &row, &trainer)?;
                }
            }
            Err(e) => {
                row.status = Status::Failed;
                row.error = format!("{e:#}");
            }
        }
        row.wall_seconds = elapsed;
        rows.push(row);
    }
    Ok(rows)
}

fn fill_row(
    row: &mut RunRow,
    mlp: &Mlp,
    data: &Dataset,
    cfg: &ExperimentConfig,
    clauses: Option<&[Vec<usize>]>,
    alpha: usize,
    loss: f64,
) -> Result<()> {
    let (_, test) = evaluate(mlp, data.test.x.view(), targets(&data.test.y));
    let (train_loss, train) = evaluate(mlp, data.train.x.view(), targets(&data.train.y));
    row.test_accuracy = test.accuracy;
    row.test_per_bit = test.per_bit;
    row.train_accuracy = train.accuracy;
    // Mean batch loss of the last epoch; with no epoch after the split (or a non-finite value)
    // the loss of the final model on the whole training set, so every number stays finite.
    row.final_train_loss = if loss.is_finite() { loss } else { train_loss };
    row.nnz = mlp.nnz();
    row.biases = mlp.n_biases();
    row.widths = mlp
        .widths()
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-");
    row.hidden = mlp.widths()[1];
    row.alpha = alpha;
    if cfg.metrics.enabled {
        // The metrics group the head's first-layer neurons into parents of α children; a
        // channel arm widened a backbone layer, not the head.
        let head_alpha = if matches!(row.arm, Arm::Channel(_)) {
            1
        } else {
            alpha
        };
        measure(row, mlp, data, clauses, head_alpha, cfg.metrics.tau)?;
    }
    Ok(())
}

fn save_checkpoint(dir: &Path, row: &RunRow, t: &Trainer) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut ck = t.checkpoint();
    for (k, v) in [
        ("experiment", row.experiment.clone()),
        ("setting", row.setting.clone()),
        ("config_hash", row.config_hash.clone()),
        ("seed", row.seed.to_string()),
        ("arm", row.arm.to_string()),
        ("alpha", row.alpha.to_string()),
    ] {
        ck.meta.insert(k.into(), v);
    }
    let path = dir.join(format!(
        "{}_s{}_{}.ckpt",
        row.config_hash, row.seed, row.arm
    ));
    ck.save(&path).context("saving a checkpoint")
}
