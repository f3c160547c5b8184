//! Training the arms of one unit after its shared warm-up (SPEC §4), on one loop.
//!
//! Every arm that starts from the warm-up (`dense`, the expansion strategies, `dropconnect`,
//! `set`, `rigl`) trains in lockstep on the CPU ([`fpe_model::fit_lockstep_with`]): one shuffle,
//! gather and transpose per step serve them all, each arm with its own per-step hooks
//! (DropConnect masks, dynamic sparsity). Results are bit-identical to training them one after
//! the other; each arm's `wall_seconds` is its own set-up time plus an equal share of the time
//! they trained together. On the GPU, each arm without hooks trains on the device from a clone of
//! the warm-up's batch stream, and the arms with hooks on the CPU; every arm reports where it ran.
//! The wide baselines start from initialisation with their own batch stream ([`scratch_arm`]).

use std::time::Instant;

use fpe::{
    DropConnect, DynamicConfig, DynamicMethod, DynamicSparsity, ExpansionConfig, StrategyKind,
};
use fpe_datasets::{Dataset, Stream, Targets, rng_for};
use fpe_model::{
    Device, EpochLoss, EpochReport, NoHooks, Optimizer, TargetsRef, TrainHooks, Trainer,
    fit_lockstep_with,
};
use rand_chacha::ChaCha8Rng;

use crate::arms::Arm;
use crate::config::ExperimentConfig;
use crate::error::{Context, Error, Result};
use crate::network::NetworkSpec;

/// The targets of a split as the trainer reads them.
pub(crate) fn targets(t: &Targets) -> TargetsRef<'_> {
    match t {
        Targets::Classes { labels, .. } => TargetsRef::Classes(labels.view()),
        Targets::Binary(y) => TargetsRef::Binary(y.view()),
    }
}

/// Units use only the last epoch's training loss, so the others skip computing it (results are
/// bit-identical; see [`EpochLoss`]).
pub(crate) fn last_loss_only(mut t: Trainer) -> Trainer {
    t.set_epoch_loss(EpochLoss::Last);
    t
}

/// What training one arm produced.
pub(crate) struct ArmResult {
    /// The trained model, optimiser and counters.
    pub(crate) trainer: Trainer,
    /// The arm's expansion factor (1 for unexpanded arms).
    pub(crate) alpha: usize,
    /// Warm-up epochs it started from (0 for arms trained from initialisation).
    pub(crate) warmup_epochs: usize,
    /// Mean training loss of its last epoch (NaN without epochs).
    pub(crate) loss: f64,
    /// Where it trained.
    pub(crate) device: Device,
}

/// An arm's outcome and its wall seconds.
pub(crate) type Trained = (Result<ArmResult>, f64);

/// A finished fit: its epoch reports, its wall seconds and where it ran.
type FitOutcome = (Result<Vec<EpochReport>>, f64, Device);

/// The per-step hooks of an arm that starts from the warm-up.
enum ArmHooks {
    None(NoHooks),
    DropConnect(Box<DropConnect<ChaCha8Rng>>),
    Dynamic(Box<DynamicSparsity<ChaCha8Rng>>),
}

impl ArmHooks {
    fn get(&mut self) -> &mut dyn TrainHooks {
        match self {
            ArmHooks::None(h) => h,
            ArmHooks::DropConnect(h) => h.as_mut(),
            ArmHooks::Dynamic(h) => h.as_mut(),
        }
    }

    fn is_none(&self) -> bool {
        matches!(self, ArmHooks::None(_))
    }
}

/// An arm built from the warm-up, ready to train.
struct Member {
    slot: usize,
    trainer: Trainer,
    hooks: ArmHooks,
    alpha: usize,
    setup: f64,
}

/// The model and hooks of warm-start arm `arm`.
fn build(
    arm: Arm,
    cfg: &ExperimentConfig,
    warm: &Trainer,
    clauses: Option<&[Vec<usize>]>,
    seed: u64,
) -> Result<(Trainer, ArmHooks, usize)> {
    let alpha = cfg.expansion.alpha;
    Ok(match arm {
        Arm::Dense => (warm.fork(), ArmHooks::None(NoHooks), 1),
        Arm::Expand(kind) => (
            expanded(cfg, warm, kind, clauses, seed)?,
            ArmHooks::None(NoHooks),
            alpha,
        ),
        Arm::DropConnect => {
            let layer = cfg.expansion.layers.first().copied().unwrap_or(0);
            let hook = DropConnect::new(layer, 1.0 / alpha as f32, rng_for(seed, Stream::Training));
            (warm.fork(), ArmHooks::DropConnect(Box::new(hook)), 1)
        }
        Arm::Set | Arm::Rigl => {
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
            let hook = DynamicSparsity::new(dcfg, rng_for(seed, Stream::Training));
            let t = expanded(cfg, warm, cfg.expansion.strategy, clauses, seed)?;
            (t, ArmHooks::Dynamic(Box::new(hook)), alpha)
        }
        Arm::Channel(kind) => (
            channel_expanded(cfg, warm, kind, seed)?,
            ArmHooks::None(NoHooks),
            alpha,
        ),
        Arm::WideDense | Arm::WideSparseScratch => {
            return Err(Error::Training(format!(
                "arm `{}` starts from initialisation, not from the warm-up",
                arm.name()
            )));
        }
    })
}

/// Trains every arm of `arms` that starts from the warm-up `warm` (whose batch stream is now at
/// `warm_batch_rng`) for the after-split epochs; `None` in the slots of the other arms.
#[allow(clippy::too_many_arguments)]
pub(crate) fn warm_start_arms(
    arms: &[Arm],
    cfg: &ExperimentConfig,
    warm: &Trainer,
    warm_batch_rng: &ChaCha8Rng,
    clauses: Option<&[Vec<usize>]>,
    seed: u64,
    data: &Dataset,
    device: Device,
) -> Vec<Option<Trained>> {
    let (warm_epochs, after_epochs) = cfg.train.schedule();
    let mut slots: Vec<Option<Trained>> = arms.iter().map(|_| None).collect();
    let mut members: Vec<Member> = Vec::new();
    for (slot, arm) in arms.iter().enumerate() {
        if !arm.uses_warmup() {
            continue;
        }
        let t0 = Instant::now();
        let built = build(*arm, cfg, warm, clauses, seed);
        let setup = t0.elapsed().as_secs_f64();
        match built {
            Ok((trainer, hooks, alpha)) => members.push(Member {
                slot,
                trainer,
                hooks,
                alpha,
                setup,
            }),
            Err(e) => slots[slot] = Some((Err(e), setup)),
        }
    }
    let (x, y, bs) = (
        data.train.x.view(),
        targets(&data.train.y),
        cfg.train.batch_size,
    );
    // On the GPU, the arms without hooks train there one by one; the rest train in lockstep on
    // the CPU (all of them on a CPU run).
    let on_gpu = |m: &Member| device == Device::Gpu && m.hooks.is_none();
    let mut fits: Vec<Option<FitOutcome>> = members.iter().map(|_| None).collect();
    for (m, fit) in members.iter_mut().zip(&mut fits).filter(|(m, _)| on_gpu(m)) {
        let t0 = Instant::now();
        let mut rng = warm_batch_rng.clone();
        let result = device
            .fit(&mut m.trainer, x, y, after_epochs, bs, &mut rng)
            .map_err(Error::from);
        *fit = Some((result, m.setup + t0.elapsed().as_secs_f64(), Device::Gpu));
    }
    let t0 = Instant::now();
    let (mut trainers, mut hooks): (Vec<&mut Trainer>, Vec<&mut dyn TrainHooks>) = members
        .iter_mut()
        .filter(|m| !on_gpu(m))
        .map(|m| (&mut m.trainer, m.hooks.get()))
        .unzip();
    let together = trainers.len();
    let results = fit_lockstep_with(
        &mut trainers,
        &mut hooks,
        x,
        y,
        after_epochs,
        bs,
        &mut warm_batch_rng.clone(),
    );
    let share = t0.elapsed().as_secs_f64() / together.max(1) as f64;
    let mut results = results.into_iter();
    for (m, fit) in members.iter().zip(&mut fits).filter(|(m, _)| !on_gpu(m)) {
        if let Some(r) = results.next() {
            *fit = Some((r.map_err(Error::from), m.setup + share, Device::Cpu));
        }
    }
    for (m, fit) in members.into_iter().zip(fits) {
        let Some((result, seconds, ran_on)) = fit else {
            continue;
        };
        let outcome = result.map(|reports| ArmResult {
            trainer: m.trainer,
            alpha: m.alpha,
            warmup_epochs: warm_epochs,
            loss: reports.last().map_or(f64::NAN, |r| r.train_loss),
            device: ran_on,
        });
        slots[m.slot] = Some((outcome, seconds));
    }
    slots
}

/// Trains a wide baseline (`wide_dense`, `wide_sparse_scratch`) from initialisation for the
/// whole schedule, with the seed's own batch stream, on `device`.
pub(crate) fn scratch_arm(
    arm: Arm,
    cfg: &ExperimentConfig,
    net: &NetworkSpec,
    seed: u64,
    data: &Dataset,
    device: Device,
) -> Result<ArmResult> {
    let (warm_epochs, after_epochs) = cfg.train.schedule();
    let alpha = cfg.expansion.alpha;
    let mlp = net.init_wide(arm, alpha, &mut rng_for(seed, Stream::Init))?;
    let mut t = last_loss_only(Trainer::new(mlp, cfg.train.optimizer, cfg.train.kernel)?);
    let mut rng = rng_for(seed, Stream::Batches);
    let (x, y) = (data.train.x.view(), targets(&data.train.y));
    let reports = device.fit(
        &mut t,
        x,
        y,
        warm_epochs + after_epochs,
        cfg.train.batch_size,
        &mut rng,
    )?;
    Ok(ArmResult {
        trainer: t,
        alpha: 1,
        warmup_epochs: 0,
        loss: reports.last().map_or(f64::NAN, |r| r.train_loss),
        device,
    })
}

/// The warm-up model with backbone layer `model.channel_layer`'s output channels expanded with
/// `kind`, and a fresh optimiser.
fn channel_expanded(
    cfg: &ExperimentConfig,
    warm: &Trainer,
    kind: StrategyKind,
    seed: u64,
) -> Result<Trainer> {
    let layer = cfg.model.channel_layer.ok_or_else(|| {
        Error::Invalid("channel arms need `model.channel_layer` (the backbone layer)".into())
    })?;
    let ecfg = ExpansionConfig {
        strategy: kind,
        ..cfg.expansion.clone()
    };
    let (mlp, _) =
        fpe::expand_channels(warm.mlp(), layer, &ecfg, &mut rng_for(seed, Stream::Split))
            .with_context(|| format!("expanding channels with strategy `{}`", kind.name()))?;
    let opt = Optimizer::new(cfg.train.optimizer, &mlp)?;
    Ok(last_loss_only(Trainer::from_parts(
        mlp,
        opt,
        warm.epoch(),
        warm.step(),
        cfg.train.kernel,
    )?))
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
        warm.mlp(),
        &ecfg,
        clauses,
        Some(warm.optimizer()),
        &mut rng_for(seed, Stream::Split),
    )
    .with_context(|| format!("expanding with strategy `{}`", kind.name()))?;
    let opt = match out.optimizer {
        Some(carried) => carried,
        None => Optimizer::new(cfg.train.optimizer, &out.mlp)?,
    };
    Ok(last_loss_only(Trainer::from_parts(
        out.mlp,
        opt,
        warm.epoch(),
        warm.step(),
        cfg.train.kernel,
    )?))
}
