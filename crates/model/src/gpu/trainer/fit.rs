//! Training on the device: [`GpuTrainer::fit`] by epochs (the host shuffles, the device runs
//! whole steps), divergence checks, and the benchmark entry points.

use ndarray::ArrayView2;
use rand::Rng;

use super::GpuTrainer;
use super::step::StepPlan;
use crate::gpu::buffers::read;
use crate::train::batch::Schedule;
use crate::{EpochReport, Error, GpuError, TargetsRef};

impl GpuTrainer {
    /// Trains `epochs` epochs on `(x, y)` with batches of `batch_size` drawn from `rng`, exactly
    /// as [`crate::Trainer::fit`] draws them (a fresh permutation per epoch; the last batch may
    /// be smaller). The training set is uploaded once per call; the host waits for the device
    /// once per epoch, to read the batch losses.
    ///
    /// # Shapes
    /// `x`: `[N, d_in]`; `y`: `N` targets.
    ///
    /// # Errors
    /// As [`crate::Trainer::fit`] ([`Error::Shape`], [`Error::Targets`], [`Error::Config`] for
    /// `batch_size == 0`, [`Error::NonFinite`] naming epoch, step and layer, all wrapped in
    /// [`GpuError::Model`]). Divergence is detected at the end of the epoch it happens in: the
    /// error names the same step and layer as the CPU would, but the trainer then holds the
    /// parameters of the epoch's end. [`GpuError::Limit`] if the training set does not fit in one
    /// device buffer; [`GpuError::Backend`] if the device fails.
    pub fn fit<R: Rng + ?Sized>(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        epochs: usize,
        batch_size: usize,
        rng: &mut R,
    ) -> Result<Vec<EpochReport>, GpuError> {
        if batch_size == 0 {
            return Err(Error::config("batch_size", 0, "must be at least 1").into());
        }
        self.check_data(x, y, "fit")?;
        let n = x.nrows();
        self.prepare(x, y, batch_size.min(n))?;
        let depth = self.layers.len();
        self.ctx.inner.queue.write_buffer(
            &self.flags,
            0,
            bytemuck::cast_slice(&vec![u32::MAX; 2 * depth]),
        );
        // The batch order of the CPU loop, from the same schedule.
        let mut schedule = Schedule::new(n, batch_size, epochs);
        let mut reports = Vec::with_capacity(schedule.epochs());
        let mut step_in_fit = 0usize;
        for _ in 0..schedule.epochs() {
            schedule.shuffle(rng);
            let perm: Vec<u32> = schedule.order().iter().map(|&i| i as u32).collect();
            let work = self.work.as_ref().expect("prepared");
            self.ctx
                .inner
                .queue
                .write_buffer(&work.perm, 0, bytemuck::cast_slice(&perm));
            let plans: Vec<StepPlan> = schedule
                .batches()
                .enumerate()
                .map(|(s, idx)| StepPlan {
                    rows: idx.len(),
                    offset: s * batch_size,
                    t: u32::try_from(step_in_fit + s).unwrap_or(u32::MAX - 1),
                    opt_t: self.opt_step + s as u64 + 1,
                })
                .collect();
            self.run(&plans, true)?;
            let work = self.work.as_ref().expect("prepared");
            let mut back = read::<u32>(&self.ctx, &[(&work.losses, n), (&self.flags, 2 * depth)])?;
            let flags = back.pop().expect("two parts");
            let terms: Vec<f32> = back
                .pop()
                .expect("two parts")
                .into_iter()
                .map(f32::from_bits)
                .collect();
            let batch_losses: Vec<f64> = plans
                .iter()
                .map(|p| {
                    let sum: f64 = terms[p.offset..p.offset + p.rows]
                        .iter()
                        .map(|&v| f64::from(v))
                        .sum();
                    sum / self.loss_terms(p.rows) as f64
                })
                .collect();
            self.check_finite(&batch_losses, &flags, step_in_fit)?;
            self.opt_step += plans.len() as u64;
            self.step += plans.len() as u64;
            step_in_fit += plans.len();
            let report = schedule.report(self.epoch, self.step, Some(batch_losses.iter().sum()));
            self.epoch += 1;
            reports.push(report);
        }
        Ok(reports)
    }

    /// Turns the epoch's batch losses and the non-finite flags into the error the CPU trainer
    /// would have returned first, if any (loss before parameters within a step; parameters by
    /// layer, weight before bias). `epoch_start` is the epoch's first step within the `fit`.
    fn check_finite(
        &mut self,
        batch_losses: &[f64],
        flags: &[u32],
        epoch_start: usize,
    ) -> Result<(), GpuError> {
        let bad_loss = batch_losses
            .iter()
            .position(|l| !l.is_finite())
            .map(|s| epoch_start + s);
        let bad_param = flags
            .iter()
            .enumerate()
            .filter(|&(_, &f)| f != u32::MAX)
            .min_by_key(|&(j, &f)| (f, j))
            .map(|(j, &f)| {
                (
                    f as usize,
                    j / 2,
                    if j % 2 == 0 { "weight" } else { "bias" },
                )
            });
        let (at, what, layer) = match (bad_loss, bad_param) {
            (None, None) => return Ok(()),
            (Some(s), None) => (s, "loss", None),
            (Some(s), Some((p, _, _))) if s <= p => (s, "loss", None),
            (_, Some((p, l, what))) => (p, what, Some(l)),
        };
        self.step += (at - epoch_start) as u64;
        Err(Error::NonFinite {
            what,
            epoch: self.epoch,
            step: self.step,
            layer,
        }
        .into())
    }

    /// Uploads one batch `(x, y)` as the resident training set, for [`GpuTrainer::train_steps`]
    /// (benchmarks: the same batch every step).
    ///
    /// # Errors
    /// As [`GpuTrainer::fit`]'s checks of `x` and `y`.
    pub fn set_batch(&mut self, x: ArrayView2<'_, f32>, y: TargetsRef<'_>) -> Result<(), GpuError> {
        self.check_data(x, y, "set_batch")?;
        self.prepare(x, y, x.nrows())?;
        let identity: Vec<u32> = (0..x.nrows() as u32).collect();
        let work = self.work.as_ref().expect("prepared");
        self.ctx
            .inner
            .queue
            .write_buffer(&work.perm, 0, bytemuck::cast_slice(&identity));
        Ok(())
    }

    /// `n` training steps on the batch of [`GpuTrainer::set_batch`], then waits for the device.
    /// No divergence check (benchmarks).
    ///
    /// # Errors
    /// [`Error::Config`] (wrapped) without a batch; [`GpuError::Backend`] if the device fails.
    pub fn train_steps(&mut self, n: usize) -> Result<(), GpuError> {
        let Some(work) = self.work.as_ref() else {
            return Err(Error::config("batch", "none", "call set_batch first").into());
        };
        let rows = work.n;
        let plans: Vec<StepPlan> = (0..n)
            .map(|s| StepPlan {
                rows,
                offset: 0,
                t: 0,
                opt_t: self.opt_step + s as u64 + 1,
            })
            .collect();
        self.run(&plans, true)?;
        self.ctx.wait()?;
        self.opt_step += n as u64;
        self.step += n as u64;
        Ok(())
    }
}
