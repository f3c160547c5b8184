//! Training: [`Trainer`] owns a model, its optimiser and the step/epoch counters, which is
//! everything a checkpoint needs (plus the caller's batch RNG) to resume bit-identically.
//!
//! There is one training loop (`fit_loop`): [`Trainer::fit`] is it for one model, and
//! [`fit_lockstep`] for several models on the same batches; the GPU trainer draws its batches
//! from the same [`batch::Schedule`]. [`TrainHooks`] lets callers act around every step
//! (DropConnect, dynamic sparsity) and after every epoch (evaluation, progress, per-epoch
//! metrics) without copying the loop.
//!
//! The model and optimiser are private: they always belong together (the optimiser state has the
//! model's shapes), so a caller reads them ([`Trainer::mlp`], [`Trainer::optimizer`]), changes a
//! mask through [`Trainer::set_mask`], forks a copy ([`Trainer::fork`]) or takes both apart
//! ([`Trainer::into_parts`]), and [`Trainer::from_parts`] checks a pair before training it.

pub(crate) mod batch;
mod fit_loop;
mod hooks;

use ndarray::{Array2, ArrayView2};
use rand::Rng;

use crate::backprop::{Grads, Workspace};
use crate::error::{Error, Result};
use crate::kernel::KernelPolicy;
use crate::loss::TargetsRef;
use crate::mlp::Mlp;
use crate::optim::{Optimizer, OptimizerConfig};

pub use fit_loop::{fit_lockstep, fit_lockstep_with};
pub use hooks::{EpochLoss, EpochReport, NoHooks, StepContext, TrainHooks};

/// A model, its optimiser and the training counters.
pub struct Trainer {
    mlp: Mlp,
    opt: Optimizer,
    epoch: usize,
    step: u64,
    epoch_loss: EpochLoss,
    workspace: Workspace,
    grads: Grads,
}

impl Clone for Trainer {
    /// A copy with the same model, optimiser state, counters and kernel policy (kernels are
    /// rebuilt, not shared).
    fn clone(&self) -> Self {
        let mut t = Trainer::assemble(
            self.mlp.clone(),
            self.opt.clone(),
            self.epoch,
            self.step,
            self.kernel_policy(),
        );
        t.epoch_loss = self.epoch_loss;
        t
    }
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("widths", &self.mlp.widths())
            .field("nnz", &self.mlp.nnz())
            .field("optimizer", self.opt.config())
            .field("epoch", &self.epoch)
            .field("step", &self.step)
            .field("epoch_loss", &self.epoch_loss)
            .finish_non_exhaustive()
    }
}

impl Trainer {
    /// A trainer with a fresh optimiser.
    ///
    /// # Errors
    /// As [`OptimizerConfig::validate`].
    pub fn new(mlp: Mlp, opt: OptimizerConfig, kernel: KernelPolicy) -> Result<Self> {
        let opt = Optimizer::new(opt, &mlp)?;
        Ok(Trainer::assemble(mlp, opt, 0, 0, kernel))
    }

    /// A trainer resuming from saved parts, after checking that the optimiser's state has the
    /// model's shapes (an optimiser of another model would fail at its first step).
    ///
    /// # Errors
    /// As [`Optimizer::with_state`].
    pub fn from_parts(
        mlp: Mlp,
        opt: Optimizer,
        epoch: usize,
        step: u64,
        kernel: KernelPolicy,
    ) -> Result<Self> {
        let opt = Optimizer::with_state(*opt.config(), opt.into_state(), &mlp)?;
        Ok(Trainer::assemble(mlp, opt, epoch, step, kernel))
    }

    /// The trainer of checked parts.
    fn assemble(mlp: Mlp, opt: Optimizer, epoch: usize, step: u64, kernel: KernelPolicy) -> Self {
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

    /// The model being trained.
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// Its optimiser (configuration and state).
    pub fn optimizer(&self) -> &Optimizer {
        &self.opt
    }

    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Optimiser steps taken.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Which epochs compute the training loss.
    pub fn epoch_loss(&self) -> EpochLoss {
        self.epoch_loss
    }

    /// Sets which epochs compute the training loss (default: every epoch); results are
    /// bit-identical either way.
    pub fn set_epoch_loss(&mut self, epoch_loss: EpochLoss) {
        self.epoch_loss = epoch_loss;
    }

    /// Gives layer `layer` a new mask (see [`crate::Layer::set_mask`]: inactive weights become
    /// 0); the optimiser zeroes the state of newly inactive weights at its next step, and the
    /// kernels follow before it.
    ///
    /// # Errors
    /// A layer index out of range or a mask of another shape.
    pub fn set_mask(&mut self, layer: usize, mask: Array2<bool>) -> Result<()> {
        let depth = self.mlp.depth();
        if layer >= depth {
            return Err(Error::config(
                "layer",
                layer,
                format!("the model has {depth} layers (0 to {})", depth - 1),
            ));
        }
        self.mlp.layer_mut(layer).set_mask(mask)
    }

    /// An independent copy of this trainer, e.g. one arm of an experiment starting from a shared
    /// warm-up (the same as `clone`).
    pub fn fork(&self) -> Trainer {
        self.clone()
    }

    /// The model and its optimiser.
    pub fn into_parts(self) -> (Mlp, Optimizer) {
        (self.mlp, self.opt)
    }

    /// A checkpoint of the model, optimiser and counters (the caller adds its RNG state and
    /// metadata).
    pub fn checkpoint(&self) -> crate::Checkpoint {
        let mut ck = crate::Checkpoint::of_model(self.mlp.clone());
        ck.optimizer = Some((*self.opt.config(), self.opt.state().clone()));
        ck.epoch = self.epoch;
        ck.step = self.step;
        ck
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
    /// Each epoch is a fresh permutation of the samples (the last batch may be smaller). This is
    /// the training loop of [`fit_lockstep`] with one model.
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
        fit_lockstep_with(&mut [self], &mut [hooks], x, y, epochs, batch_size, rng)
            .pop()
            .expect("one result per model")
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

    /// Moves the counters past one epoch that ended at `step`.
    pub(crate) fn finish_epoch(&mut self) {
        self.epoch += 1;
    }

    /// The counters, as a GPU trainer writing its state back sets them.
    #[cfg(feature = "gpu")]
    pub(crate) fn set_counters(&mut self, epoch: usize, step: u64) {
        self.epoch = epoch;
        self.step = step;
    }

    /// The model and optimiser, for a GPU trainer writing its state back (shapes unchanged).
    #[cfg(feature = "gpu")]
    pub(crate) fn parts_mut(&mut self) -> (&mut Mlp, &mut Optimizer) {
        (&mut self.mlp, &mut self.opt)
    }

    fn check_finite(&self) -> Result<()> {
        for (l, layer) in self.mlp.trainable().enumerate() {
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
