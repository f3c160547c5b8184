//! The training loop: seeded shuffled mini-batches, hooks, and a clean error on divergence.
//!
//! [`Trainer`] owns the model, the optimiser and the step/epoch counters, which is everything a
//! checkpoint needs (plus the caller's batch RNG) to resume bit-identically. [`TrainHooks`] lets
//! callers act around every step (DropConnect, dynamic sparsity) and after every epoch
//! (evaluation, progress, per-epoch metrics) without copying the loop.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::backprop::{Grads, Workspace};
use crate::error::{Error, Result};
use crate::kernel::KernelPolicy;
use crate::loss::TargetsRef;
use crate::mlp::Mlp;
use crate::optim::{Optimizer, OptimizerConfig};

/// What one step's hooks see.
pub struct StepContext<'a> {
    /// Epoch (0-based, counted over the trainer's whole life).
    pub epoch: usize,
    /// Global optimiser step (0-based) about to be taken.
    pub step: u64,
    /// Steps in this call of [`Trainer::fit`].
    pub steps_in_fit: u64,
    /// Step index within this call of [`Trainer::fit`].
    pub step_in_fit: u64,
    /// The batch inputs `[batch, d_in]`.
    pub x: ArrayView2<'a, f32>,
    /// The batch targets.
    pub y: TargetsRef<'a>,
}

/// Summary of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// Epoch index (0-based, over the trainer's life).
    pub epoch: usize,
    /// Global steps taken after this epoch.
    pub step: u64,
    /// Mean of the batch losses of this epoch.
    pub train_loss: f64,
}

/// Callbacks around training steps; every method has a no-op default.
pub trait TrainHooks {
    /// Before the forward pass (may change weights temporarily, e.g. DropConnect).
    ///
    /// # Errors
    /// Any error stops training and is returned by [`Trainer::fit`].
    fn before_step(&mut self, _ctx: &StepContext<'_>, _mlp: &mut Mlp) -> Result<()> {
        Ok(())
    }

    /// After gradients are computed, before the optimiser uses them.
    ///
    /// # Errors
    /// Any error stops training.
    fn after_backward(
        &mut self,
        _ctx: &StepContext<'_>,
        _mlp: &mut Mlp,
        _grads: &mut Grads,
    ) -> Result<()> {
        Ok(())
    }

    /// After the optimiser step. Return `true` if masks changed (the trainer then rebuilds its
    /// kernels).
    ///
    /// # Errors
    /// Any error stops training.
    fn after_step(
        &mut self,
        _ctx: &StepContext<'_>,
        _mlp: &mut Mlp,
        _opt: &mut Optimizer,
    ) -> Result<bool> {
        Ok(false)
    }

    /// After every epoch: evaluation, progress, logging.
    ///
    /// # Errors
    /// Any error stops training.
    fn on_epoch(&mut self, _mlp: &Mlp, _report: &EpochReport) -> Result<()> {
        Ok(())
    }
}

/// Which epochs of a [`Trainer::fit`] compute the training loss.
///
/// Gradients, weights and every later result are bit-identical either way: the loss is only
/// reported. Skipping it saves the BCE loss terms (one `ln_1p` per output bit, about 10 % of an
/// E1 step); non-finite logits still stop training with [`Error::NonFinite`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EpochLoss {
    /// Every epoch (the default): [`EpochReport::train_loss`] is always the mean batch loss.
    #[default]
    Every,
    /// Only the last epoch of each call of [`Trainer::fit`]; earlier epochs report NaN.
    Last,
}

/// Hooks that do nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl TrainHooks for NoHooks {}

/// A model, its optimiser and the training counters.
pub struct Trainer {
    /// The model being trained.
    pub mlp: Mlp,
    /// Its optimiser.
    pub opt: Optimizer,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: u64,
    /// Which epochs compute the training loss (default: every epoch).
    pub epoch_loss: EpochLoss,
    workspace: Workspace,
    grads: Grads,
}

/// Training for whole epochs without per-step hooks: one interface for every device. The CPU
/// [`Trainer`] and the GPU trainer (`fpe_model::gpu::GpuTrainer`, `gpu` feature) both implement
/// it; [`crate::Device::fit`] picks one from a device value.
pub trait Fit {
    /// The error of a failed fit.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Trains `epochs` epochs on `(x, y)` with batches of `batch_size`, shuffled from `rng`.
    ///
    /// # Shapes
    /// `x`: `[N, d_in]`; `y`: `N` targets.
    ///
    /// # Errors
    /// As the implementation's `fit` ([`Trainer::fit`]).
    fn fit_epochs(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        epochs: usize,
        batch_size: usize,
        rng: &mut dyn RngCore,
    ) -> std::result::Result<Vec<EpochReport>, Self::Error>;
}

impl Fit for Trainer {
    type Error = Error;

    fn fit_epochs(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        epochs: usize,
        batch_size: usize,
        rng: &mut dyn RngCore,
    ) -> Result<Vec<EpochReport>> {
        self.fit(x, y, epochs, batch_size, rng, &mut NoHooks)
    }
}

impl Trainer {
    /// A trainer with a fresh optimiser.
    ///
    /// # Errors
    /// As [`OptimizerConfig::validate`].
    pub fn new(mlp: Mlp, opt: OptimizerConfig, kernel: KernelPolicy) -> Result<Self> {
        let opt = Optimizer::new(opt, &mlp)?;
        Ok(Trainer::from_parts(mlp, opt, 0, 0, kernel))
    }

    /// A trainer resuming from saved parts.
    pub fn from_parts(
        mlp: Mlp,
        opt: Optimizer,
        epoch: usize,
        step: u64,
        kernel: KernelPolicy,
    ) -> Self {
        let workspace = Workspace::new(&mlp, kernel);
        let grads = Grads::zeros_like(&mlp);
        Trainer {
            mlp,
            opt,
            epoch,
            step,
            epoch_loss: EpochLoss::Every,
            workspace,
            grads,
        }
    }

    /// Rebuilds the kernels and gradient buffers for the model's current masks and widths. The
    /// optimiser is left as it is. [`Trainer::fit`] calls it by itself before any step where a
    /// mask ([`crate::Layer::mask_id`]) or width changed, so calling it by hand is optional.
    pub fn model_changed(&mut self) {
        self.workspace.rebuild(&self.mlp);
        self.grads = Grads::zeros_like(&self.mlp);
    }

    /// The policy the trainer's kernels are chosen by.
    pub fn kernel_policy(&self) -> KernelPolicy {
        self.workspace.policy()
    }

    /// Names of the kernels in use, one per layer.
    pub fn kernel_names(&self) -> Vec<&'static str> {
        self.workspace.kernel_names()
    }

    /// Trains `epochs` epochs on `(x, y)` with batches of `batch_size` drawn from `rng`.
    ///
    /// Each epoch is a fresh permutation of the samples (the last batch may be smaller).
    ///
    /// # Shapes
    /// `x`: `[N, d_in]`; `y`: `N` targets.
    ///
    /// # Errors
    /// [`Error::Shape`]/[`Error::Targets`] for inputs that do not fit the model,
    /// [`Error::Config`] for `batch_size == 0`, [`Error::NonFinite`] (naming epoch, step and
    /// layer) the first time the loss or a parameter becomes NaN or infinite, and any hook error.
    pub fn fit<R: Rng + ?Sized, H: TrainHooks + ?Sized>(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        epochs: usize,
        batch_size: usize,
        rng: &mut R,
        hooks: &mut H,
    ) -> Result<Vec<EpochReport>> {
        self.check_fit_inputs(x, y, batch_size)?;
        let n = x.nrows();
        let steps_per_epoch = n.div_ceil(batch_size) as u64;
        let steps_in_fit = steps_per_epoch * epochs as u64;
        let mut order: Vec<usize> = (0..n).collect();
        let mut batch = BatchBuf::new(batch_size, x.ncols(), y);
        let mut reports = Vec::with_capacity(epochs);
        let mut step_in_fit = 0u64;
        for e in 0..epochs {
            let want_loss = self.wants_loss(e, epochs);
            shuffle_order(&mut order, rng);
            let mut loss_sum = 0.0;
            for idx in order.chunks(batch_size) {
                batch.gather(x, y, idx);
                let (bx, by) = batch.view(idx.len());
                let ctx = StepContext {
                    epoch: self.epoch,
                    step: self.step,
                    steps_in_fit,
                    step_in_fit,
                    x: bx,
                    y: by,
                };
                loss_sum += self.step_on(&ctx, None, want_loss, hooks)?;
                step_in_fit += 1;
            }
            let report = self.end_epoch(want_loss, loss_sum, steps_per_epoch);
            hooks.on_epoch(&self.mlp, &report)?;
            reports.push(report);
        }
        Ok(reports)
    }

    /// The checks of [`Trainer::fit`] on its inputs.
    pub(crate) fn check_fit_inputs(
        &self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        batch_size: usize,
    ) -> Result<()> {
        if batch_size == 0 {
            return Err(Error::config("batch_size", 0, "must be at least 1"));
        }
        if x.ncols() != self.mlp.d_in() {
            return Err(Error::shape(
                "fit: inputs",
                &[x.nrows(), self.mlp.d_in()],
                x.shape(),
            ));
        }
        if x.nrows() != y.len() {
            return Err(Error::shape("fit: targets", &[x.nrows()], &[y.len()]));
        }
        if x.nrows() == 0 {
            return Err(Error::shape(
                "fit: inputs (empty)",
                &[1, x.ncols()],
                x.shape(),
            ));
        }
        y.validate(self.mlp.d_out())
    }

    /// Whether epoch `e` (0-based) of a fit of `epochs` computes the loss.
    pub(crate) fn wants_loss(&self, e: usize, epochs: usize) -> bool {
        self.epoch_loss == EpochLoss::Every || e + 1 == epochs
    }

    /// One optimiser step on the batch of `ctx`, with `hooks` around it; returns the batch loss
    /// (`0.0` when `want_loss` is false). `x_fm`: the batch already transposed chunk by chunk
    /// (see `backprop::transpose_chunks`), shared by models trained in lockstep.
    pub(crate) fn step_on<H: TrainHooks + ?Sized>(
        &mut self,
        ctx: &StepContext<'_>,
        x_fm: Option<&[f32]>,
        want_loss: bool,
        hooks: &mut H,
    ) -> Result<f64> {
        hooks.before_step(ctx, &mut self.mlp)?;
        // A mask or width changed from outside (a hook, or a caller between fits): kernels and
        // gradient buffers follow it before the step.
        if !self.workspace.is_current(&self.mlp) || !self.grads.matches(&self.mlp) {
            self.model_changed();
        }
        let loss = self
            .workspace
            .pass(&self.mlp, ctx.x, x_fm, ctx.y, &mut self.grads, want_loss);
        hooks.after_backward(ctx, &mut self.mlp, &mut self.grads)?;
        if !loss.is_finite() {
            return Err(Error::NonFinite {
                what: "loss",
                epoch: self.epoch,
                step: self.step,
                layer: None,
            });
        }
        self.opt.step(&mut self.mlp, &self.grads);
        self.check_finite()?;
        if hooks.after_step(ctx, &mut self.mlp, &mut self.opt)? {
            self.model_changed();
        }
        self.step += 1;
        Ok(loss)
    }

    /// Closes an epoch: its report, and the epoch counter moved on.
    pub(crate) fn end_epoch(
        &mut self,
        want_loss: bool,
        loss_sum: f64,
        steps_per_epoch: u64,
    ) -> EpochReport {
        let report = EpochReport {
            epoch: self.epoch,
            step: self.step,
            train_loss: if want_loss {
                loss_sum / steps_per_epoch as f64
            } else {
                f64::NAN
            },
        };
        self.epoch += 1;
        report
    }

    fn check_finite(&self) -> Result<()> {
        for (l, layer) in self.mlp.layers().iter().enumerate() {
            let what = if !layer.weight().iter().all(|v| v.is_finite()) {
                "weight"
            } else if !layer.bias().iter().all(|v| v.is_finite()) {
                "bias"
            } else {
                continue;
            };
            return Err(Error::NonFinite {
                what,
                epoch: self.epoch,
                step: self.step,
                layer: Some(l),
            });
        }
        Ok(())
    }
}

/// A fresh permutation of `0..n` (writing it is O(n); sorting was 7 % of an E1 run).
pub(crate) fn shuffle_order<R: Rng + ?Sized>(order: &mut [usize], rng: &mut R) {
    order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
    order.shuffle(rng);
}

/// Preallocated batch buffers, filled by gathering rows.
enum YBuf {
    Classes(Array1<u32>),
    Binary(Array2<f32>),
}

pub(crate) struct BatchBuf {
    x: Array2<f32>,
    y: YBuf,
}

impl BatchBuf {
    pub(crate) fn new(batch: usize, d: usize, y: TargetsRef<'_>) -> Self {
        let y = match y {
            TargetsRef::Classes(_) => YBuf::Classes(Array1::zeros(batch)),
            TargetsRef::Binary(t) => YBuf::Binary(Array2::zeros((batch, t.ncols()))),
        };
        BatchBuf {
            x: Array2::zeros((batch, d)),
            y,
        }
    }

    pub(crate) fn gather(&mut self, x: ArrayView2<'_, f32>, y: TargetsRef<'_>, idx: &[usize]) {
        let d = x.ncols();
        match (x.as_slice(), self.x.as_slice_mut()) {
            // Row-major source and buffer: one slice copy per row.
            (Some(src), Some(dst)) if d > 0 => {
                for (row, &i) in dst.chunks_exact_mut(d).zip(idx) {
                    row.copy_from_slice(&src[i * d..(i + 1) * d]);
                }
            }
            _ => {
                for (r, &i) in idx.iter().enumerate() {
                    self.x.row_mut(r).assign(&x.row(i));
                }
            }
        }
        match (&mut self.y, y) {
            (YBuf::Classes(b), TargetsRef::Classes(l)) => {
                for (r, &i) in idx.iter().enumerate() {
                    b[r] = l[i];
                }
            }
            (YBuf::Binary(b), TargetsRef::Binary(t)) => {
                for (r, &i) in idx.iter().enumerate() {
                    b.row_mut(r).assign(&t.row(i));
                }
            }
            _ => unreachable!("batch buffer built for the same target kind"),
        }
    }

    pub(crate) fn view(&self, rows: usize) -> (ArrayView2<'_, f32>, TargetsRef<'_>) {
        let x = self.x.slice_axis(Axis(0), (0..rows).into());
        let y = match &self.y {
            YBuf::Classes(b) => TargetsRef::Classes(b.slice_axis(Axis(0), (0..rows).into())),
            YBuf::Binary(b) => TargetsRef::Binary(b.slice_axis(Axis(0), (0..rows).into())),
        };
        (x, y)
    }
}

/// Mean loss and accuracy of `mlp` on a whole split (one forward pass).
///
/// # Shapes
/// `x`: `[N, d_in]`; `y`: `[N]` class ids or `[N, d_out]` 0/1 targets.
///
/// # Panics
/// If shapes disagree with the model.
pub fn evaluate(
    mlp: &Mlp,
    x: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
) -> (f64, crate::loss::Accuracy) {
    let logits = mlp.forward(x);
    (
        crate::loss::loss(logits.view(), y),
        crate::loss::accuracy(logits.view(), y),
    )
}
