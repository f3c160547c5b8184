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
//! between steps and run on the CPU.
//!
//! On the CPU, the arms that start from the warm-up without per-step hooks (`dense` and the
//! expansion strategies) train in lockstep ([`fpe_model::fit_lockstep`]): one shuffle, gather
//! and transpose per step serve them all. Results are bit-identical to training them one after
//! the other; each such arm's `wall_seconds` is its own set-up time plus an equal share of the
//! time they trained together.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Context, Error, Result};
use fpe::{
    DropConnect, DynamicConfig, DynamicMethod, DynamicSparsity, ExpansionConfig, StrategyKind,
};
use fpe_datasets::{Dataset, Stream, Targets, rng_for};
use fpe_model::{
    Checkpoint, Device, EpochLoss, KernelPolicy, Mlp, MlpConfig, Optimizer, TargetsRef, TrainHooks,
    Trainer, evaluate, fit_lockstep,
};
use rand_chacha::ChaCha8Rng;

use crate::arms::Arm;
use crate::config::ExperimentConfig;
use crate::measure::measure;
use crate::results::RunRow;

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

fn targets(t: &Targets) -> TargetsRef<'_> {
    match t {
        Targets::Classes { labels, .. } => TargetsRef::Classes(labels.view()),
        Targets::Binary(y) => TargetsRef::Binary(y.view()),
    }
}

fn clone_trainer(t: &Trainer, kernel: KernelPolicy) -> Trainer {
    last_loss_only(Trainer::from_parts(
        t.mlp.clone(),
        t.opt.clone(),
        t.epoch,
        t.step,
        kernel,
    ))
}

/// Units use only the last epoch's training loss, so the others skip computing it (results are
/// bit-identical; see [`EpochLoss`]).
fn last_loss_only(mut t: Trainer) -> Trainer {
    t.epoch_loss = EpochLoss::Last;
    t
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
    let arms: Vec<Arm> = cfg
        .arms
        .iter()
        .map(|a| Arm::parse(a))
        .collect::<Result<_>>()?;
    let (xtr, ytr) = (data.train.x.view(), targets(&data.train.y));
    let mcfg = MlpConfig {
        d_in: data.d_in(),
        hidden: cfg.model.hidden.clone(),
        d_out: data.n_outputs(),
    };
    let clauses: Option<Vec<Vec<usize>>> = data.clauses.as_ref().map(|c| c.clause_inputs());
    // Shared warm-up.
    let start = Instant::now();
    let mlp = mcfg
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

    let mut together = match (&warm_result, input.device) {
        (Ok(()), Device::Cpu) => lockstep_arms(
            &arms,
            cfg,
            &warm,
            &batch_rng,
            clauses.as_deref(),
            seed,
            data,
        ),
        _ => arms.iter().map(|_| None).collect(),
    };

    let mut rows = Vec::with_capacity(arms.len());
    for (i, arm) in arms.into_iter().enumerate() {
        let t0 = Instant::now();
        let mut row = input.template.clone();
        row.seed = seed;
        row.arm = arm.name().to_string();
        let (outcome, seconds) = match (&warm_result, arm.uses_warmup(), together[i].take()) {
            (Err(e), true, _) => (Err(Error::Training(format!("warm-up failed: {e}"))), None),
            (_, _, Some((outcome, seconds))) => (outcome, Some(seconds)),
            _ => (
                run_arm(
                    arm,
                    input.device,
                    cfg,
                    &warm,
                    &batch_rng,
                    &mcfg,
                    clauses.as_deref(),
                    seed,
                    data,
                    warm_epochs,
                    after_epochs,
                ),
                None,
            ),
        };
        let elapsed = seconds.unwrap_or_else(|| t0.elapsed().as_secs_f64())
            + if arm == Arm::Dense { warm_seconds } else { 0.0 };
        match outcome {
            Ok((trainer, arm_alpha, warm_used, loss)) => {
                fill_row(
                    &mut row,
                    &trainer.mlp,
                    data,
                    cfg,
                    clauses.as_deref(),
                    arm_alpha,
                    loss,
                )?;
                row.status = "ok".into();
                let limit = divergence_limit(data);
                if loss.is_finite() && loss > limit {
                    row.status = "diverged".into();
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
                    save_checkpoint(dir, &row, trainer)?;
                }
            }
            Err(e) => {
                row.status = "failed".into();
                row.error = format!("{e:#}");
            }
        }
        row.wall_seconds = elapsed;
        rows.push(row);
    }
    Ok(rows)
}

type ArmOutcome = (Trainer, usize, usize, f64);

/// The outcome and wall seconds of every arm trained in lockstep (`dense` and the expansion
/// strategies), `None` for the others.
fn lockstep_arms(
    arms: &[Arm],
    cfg: &ExperimentConfig,
    warm: &Trainer,
    warm_batch_rng: &ChaCha8Rng,
    clauses: Option<&[Vec<usize>]>,
    seed: u64,
    data: &Dataset,
) -> Vec<Option<(Result<ArmOutcome>, f64)>> {
    let (warm_epochs, after_epochs) = cfg.train.schedule();
    let mut slots: Vec<Option<(Result<ArmOutcome>, f64)>> = arms.iter().map(|_| None).collect();
    let mut members: Vec<(usize, Trainer, usize, f64)> = Vec::new();
    for (i, arm) in arms.iter().enumerate() {
        let t0 = Instant::now();
        let built = match arm {
            Arm::Dense => Ok((clone_trainer(warm, cfg.train.kernel), 1)),
            Arm::Expand(kind) => {
                expanded(cfg, warm, *kind, clauses, seed).map(|t| (t, cfg.expansion.alpha))
            }
            _ => continue,
        };
        let setup = t0.elapsed().as_secs_f64();
        match built {
            Ok((t, alpha)) => members.push((i, t, alpha, setup)),
            Err(e) => slots[i] = Some((Err(e), setup)),
        }
    }
    let t0 = Instant::now();
    let mut refs: Vec<&mut Trainer> = members.iter_mut().map(|m| &mut m.1).collect();
    let results = fit_lockstep(
        &mut refs,
        data.train.x.view(),
        targets(&data.train.y),
        after_epochs,
        cfg.train.batch_size,
        &mut warm_batch_rng.clone(),
    );
    let share = t0.elapsed().as_secs_f64() / members.len().max(1) as f64;
    for ((i, t, alpha, setup), result) in members.into_iter().zip(results) {
        let outcome = result.map_err(Error::from).map(|reports| {
            let loss = reports.last().map_or(f64::NAN, |r| r.train_loss);
            (t, alpha, warm_epochs, loss)
        });
        slots[i] = Some((outcome, setup + share));
    }
    slots
}

#[allow(clippy::too_many_arguments)]
fn run_arm(
    arm: Arm,
    device: Device,
    cfg: &ExperimentConfig,
    warm: &Trainer,
    warm_batch_rng: &ChaCha8Rng,
    mcfg: &MlpConfig,
    clauses: Option<&[Vec<usize>]>,
    seed: u64,
    data: &Dataset,
    warm_epochs: usize,
    after_epochs: usize,
) -> Result<ArmOutcome> {
    let kernel = cfg.train.kernel;
    let (xtr, ytr) = (data.train.x.view(), targets(&data.train.y));
    let bs = cfg.train.batch_size;
    let alpha = cfg.expansion.alpha;
    let mut batch_rng = warm_batch_rng.clone();
    let fit = |t: &mut Trainer,
               epochs: usize,
               rng: &mut ChaCha8Rng,
               hooks: &mut dyn TrainHooks|
     -> Result<f64> {
        let reports = t.fit(xtr, ytr, epochs, bs, rng, hooks)?;
        Ok(reports.last().map_or(f64::NAN, |r| r.train_loss))
    };
    // Arms without per-step hooks: on the unit's device.
    let plain = |t: &mut Trainer, epochs: usize, rng: &mut ChaCha8Rng| -> Result<f64> {
        let reports = device.fit(t, xtr, ytr, epochs, bs, rng)?;
        Ok(reports.last().map_or(f64::NAN, |r| r.train_loss))
    };
    match arm {
        Arm::Dense => {
            let mut t = clone_trainer(warm, kernel);
            let loss = plain(&mut t, after_epochs, &mut batch_rng)?;
            Ok((t, 1, warm_epochs, loss))
        }
        Arm::DropConnect => {
            let mut t = clone_trainer(warm, kernel);
            let layer = cfg.expansion.layers.first().copied().unwrap_or(0);
            let mut hook =
                DropConnect::new(layer, 1.0 / alpha as f32, rng_for(seed, Stream::Training));
            let loss = fit(&mut t, after_epochs, &mut batch_rng, &mut hook)?;
            Ok((t, 1, warm_epochs, loss))
        }
        Arm::Expand(kind) => {
            let mut t = expanded(cfg, warm, kind, clauses, seed)?;
            let loss = plain(&mut t, after_epochs, &mut batch_rng)?;
            Ok((t, alpha, warm_epochs, loss))
        }
        Arm::Set | Arm::Rigl => {
            let mut t = expanded(cfg, warm, StrategyKind::Random, clauses, seed)?;
            let method = if arm == Arm::Set {
                DynamicMethod::Set
            } else {
                DynamicMethod::Rigl
            };
            let dcfg = DynamicConfig {
                method,
                alpha,
                ..cfg.dynamic.clone()
            };
            let mut hook = DynamicSparsity::new(dcfg, rng_for(seed, Stream::Training));
            let loss = fit(&mut t, after_epochs, &mut batch_rng, &mut hook)?;
            Ok((t, alpha, warm_epochs, loss))
        }
        Arm::WideDense | Arm::WideSparseScratch => {
            let mut init = rng_for(seed, Stream::Init);
            let mlp = if arm == Arm::WideDense {
                fpe::wide_dense(mcfg, alpha, &mut init)?
            } else {
                fpe::wide_sparse_scratch(mcfg, alpha, &mut init)?
            };
            let mut t = last_loss_only(Trainer::new(mlp, cfg.train.optimizer, kernel)?);
            let mut rng = rng_for(seed, Stream::Batches);
            let loss = plain(&mut t, warm_epochs + after_epochs, &mut rng)?;
            Ok((t, 1, 0, loss))
        }
    }
}

/// The warm-up model expanded with `kind`, with a fresh or carried optimiser.
fn expanded(
    cfg: &ExperimentConfig,
    warm: &Trainer,
    kind: StrategyKind,
    clauses: Option<&[Vec<usize>]>,
    seed: u64,
) -> Result<Trainer> {
    let ecfg = ExpansionConfig {
        strategy: kind,
        ..cfg.expansion.clone()
    };
    let out = fpe::expand(
        &warm.mlp,
        &ecfg,
        clauses,
        Some(&warm.opt),
        &mut rng_for(seed, Stream::Split),
    )
    .with_context(|| format!("expanding with strategy `{}`", kind.name()))?;
    let opt = match out.optimizer_state {
        Some(s) => Optimizer::with_state(cfg.train.optimizer, s, &out.mlp)?,
        None => Optimizer::new(cfg.train.optimizer, &out.mlp)?,
    };
    Ok(last_loss_only(Trainer::from_parts(
        out.mlp,
        opt,
        warm.epoch,
        warm.step,
        cfg.train.kernel,
    )))
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
        measure(row, mlp, data, clauses, alpha, cfg.metrics.tau)?;
    }
    Ok(())
}

fn save_checkpoint(dir: &Path, row: &RunRow, t: Trainer) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut ck = Checkpoint::of_model(t.mlp);
    ck.optimizer = Some((*t.opt.config(), t.opt.into_state()));
    ck.epoch = t.epoch;
    ck.step = t.step;
    for (k, v) in [
        ("experiment", row.experiment.clone()),
        ("setting", row.setting.clone()),
        ("config_hash", row.config_hash.clone()),
        ("seed", row.seed.to_string()),
        ("arm", row.arm.clone()),
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
