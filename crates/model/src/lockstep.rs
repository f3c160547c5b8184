//! Several models trained on the same batches at once ([`fit_lockstep`]).
//!
//! After the split, every arm of a seed trains on the same batch order (SPEC §4: each arm starts
//! from a copy of the warm-up's batch RNG). Trained one after the other, each arm shuffles,
//! gathers and transposes every batch itself. In lockstep, one shuffle per epoch, one gather
//! and one feature-major transpose per step serve all of them, and each model then runs its own
//! forward, backward and optimiser step. Every model's arithmetic is unchanged, so the results
//! are bit-identical to [`Trainer::fit`] with a clone of the RNG (tests/lockstep.rs).

use ndarray::ArrayView2;
use rand::Rng;

use crate::backprop::transpose_chunks;
use crate::error::Result;
use crate::loss::TargetsRef;
use crate::train::{BatchBuf, EpochReport, NoHooks, StepContext, Trainer, shuffle_order};

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
    let mut failed: Vec<Option<crate::Error>> = trainers
        .iter()
        .map(|t| t.check_fit_inputs(x, y, batch_size).err())
        .collect();
    let mut reports: Vec<Vec<EpochReport>> = trainers
        .iter()
        .map(|_| Vec::with_capacity(epochs))
        .collect();
    if failed.iter().any(Option::is_none) {
        let n = x.nrows();
        let steps_per_epoch = n.div_ceil(batch_size) as u64;
        let steps_in_fit = steps_per_epoch * epochs as u64;
        let mut order: Vec<usize> = (0..n).collect();
        let mut batch = BatchBuf::new(batch_size, x.ncols(), y);
        let mut x_fm = vec![0.0f32; batch_size * x.ncols()];
        let mut step_in_fit = 0u64;
        let mut loss_sums = vec![0.0f64; trainers.len()];
        for e in 0..epochs {
            shuffle_order(&mut order, rng);
            loss_sums.iter_mut().for_each(|s| *s = 0.0);
            for idx in order.chunks(batch_size) {
                batch.gather(x, y, idx);
                let (bx, by) = batch.view(idx.len());
                transpose_chunks(bx, &mut x_fm);
                for ((t, fail), sum) in trainers.iter_mut().zip(&mut failed).zip(&mut loss_sums) {
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
                    match t.step_on(&ctx, Some(&x_fm), want_loss, &mut NoHooks) {
                        Ok(loss) => *sum += loss,
                        Err(err) => *fail = Some(err),
                    }
                }
                step_in_fit += 1;
            }
            for (((t, fail), sum), out) in trainers
                .iter_mut()
                .zip(&failed)
                .zip(&loss_sums)
                .zip(&mut reports)
            {
                if fail.is_none() {
                    out.push(t.end_epoch(t.wants_loss(e, epochs), *sum, steps_per_epoch));
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
