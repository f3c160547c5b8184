//! The training loop, written once: one or several models trained on the same batches.
//!
//! [`Trainer::fit`] is this loop with one model; [`fit_lockstep`] runs it for several (the arms
//! of a seed after the split: SPEC §4, every arm starts from a copy of the warm-up's batch RNG).
//! One shuffle per epoch, one gather and one feature-major transpose per step serve all models;
//! each then runs its own hooks, forward, backward and optimiser step. Every model's arithmetic
//! is what it would be alone, so models trained together are bit-identical to each trained by its
//! own `fit` with a clone of the RNG (tests/lockstep.rs).

use ndarray::ArrayView2;
use rand::Rng;

use super::batch::{BatchBuf, Schedule};
use super::{EpochReport, NoHooks, StepContext, TrainHooks, Trainer};
use crate::backprop::transpose_chunks;
use crate::error::{Error, Result};
use crate::loss::TargetsRef;

/// Trains every model of `trainers` for `epochs` epochs on the same shuffled batches of `(x, y)`,
/// as [`Trainer::fit`] would train each with its own clone of `rng` (and no hooks). `rng`
/// advances as one such fit would advance it.
///
/// Returns one result per model, in order. A model whose inputs do not fit, or whose loss or
/// weights become non-finite, stops with that error (as its own `fit` would have), and the
/// others train on.
///
/// # Shapes
/// `x`: `[N, d_in]`; `y`: `N` targets.
pub fn fit_lockstep<R: Rng + ?Sized>(
    trainers: &mut [&mut Trainer],
    x: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
    epochs: usize,
    batch_size: usize,
    rng: &mut R,
) -> Vec<Result<Vec<EpochReport>>> {
    let mut none = vec![NoHooks; trainers.len()];
    let mut hooks: Vec<&mut NoHooks> = none.iter_mut().collect();
    fit_lockstep_with(trainers, &mut hooks, x, y, epochs, batch_size, rng)
}

/// As [`fit_lockstep`], with per-step hooks: model `i` trains with `hooks[i]` exactly as its own
/// [`Trainer::fit`] with those hooks and a clone of `rng` would train it.
///
/// # Panics
/// If `hooks` and `trainers` differ in length.
pub fn fit_lockstep_with<R: Rng + ?Sized, H: TrainHooks + ?Sized>(
    trainers: &mut [&mut Trainer],
    hooks: &mut [&mut H],
    x: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
    epochs: usize,
    batch_size: usize,
    rng: &mut R,
) -> Vec<Result<Vec<EpochReport>>> {
    assert_eq!(trainers.len(), hooks.len(), "one hook set per model");
    let mut failed: Vec<Option<Error>> = trainers
        .iter()
        .map(|t| t.check_fit_inputs(x, y, batch_size).err())
        .collect();
    let mut reports: Vec<Vec<EpochReport>> = trainers
        .iter()
        .map(|_| Vec::with_capacity(epochs))
        .collect();
    if failed.iter().any(Option::is_none) {
        let mut schedule = Schedule::new(x.nrows(), batch_size, epochs);
        let steps_in_fit = schedule.steps_in_fit();
        let mut batch = BatchBuf::new(batch_size, x.ncols(), y);
        // A network with a backbone never reads the batch's transposes (its head reads features).
        let need_fm = trainers.iter().any(|t| t.mlp.backbone().is_none());
        let mut x_fm = vec![0.0f32; if need_fm { batch_size * x.ncols() } else { 0 }];
        let mut step_in_fit = 0u64;
        let mut loss_sums = vec![0.0f64; trainers.len()];
        for e in 0..epochs {
            loss_sums.iter_mut().for_each(|s| *s = 0.0);
            schedule.shuffle(rng);
            for idx in schedule.batches() {
                batch.gather(x, y, idx);
                let (bx, by) = batch.view(idx.len());
                if need_fm {
                    transpose_chunks(bx, &mut x_fm);
                }
                for (((t, h), fail), sum) in trainers
                    .iter_mut()
                    .zip(hooks.iter_mut())
                    .zip(&mut failed)
                    .zip(&mut loss_sums)
                {
                    if fail.is_some() {
                        continue;
                    }
                    let ctx = StepContext {
                        epoch: t.epoch,
                        step: t.step,
                        steps_in_fit,
                        step_in_fit,
                        x: bx,
                        y: by,
                    };
                    let want_loss = t.wants_loss(e, epochs);
                    match t.step_on(&ctx, need_fm.then_some(&x_fm[..]), want_loss, &mut **h) {
                        Ok(loss) => *sum += loss,
                        Err(err) => *fail = Some(err),
                    }
                }
                step_in_fit += 1;
            }
            for ((((t, h), fail), sum), out) in trainers
                .iter_mut()
                .zip(hooks.iter_mut())
                .zip(&mut failed)
                .zip(&loss_sums)
                .zip(&mut reports)
            {
                if fail.is_some() {
                    continue;
                }
                let want_loss = t.wants_loss(e, epochs);
                let report = schedule.report(t.epoch, t.step, want_loss.then_some(*sum));
                t.finish_epoch();
                match h.on_epoch(&t.mlp, &report) {
                    Ok(()) => out.push(report),
                    Err(err) => *fail = Some(err),
                }
            }
        }
    }
    failed
        .into_iter()
        .zip(reports)
        .map(|(fail, r)| match fail {
            Some(err) => Err(err),
            None => Ok(r),
        })
        .collect()
}
