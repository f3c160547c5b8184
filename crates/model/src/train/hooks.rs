//! What callers plug into the training loop: [`TrainHooks`] around every step and epoch, what a
//! hook sees ([`StepContext`]), and what an epoch reports ([`EpochReport`], [`EpochLoss`]).

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::backprop::Grads;
use crate::error::Result;
use crate::loss::TargetsRef;
use crate::mlp::Mlp;
use crate::optim::Optimizer;

/// What one step's hooks see.
pub struct StepContext<'a> {
    /// Epoch (0-based, counted over the trainer's whole life).
    pub epoch: usize,
    /// Global optimiser step (0-based) about to be taken.
    pub step: u64,
    /// Steps in this call of [`Trainer::fit`](crate::Trainer::fit).
    pub steps_in_fit: u64,
    /// Step index within this call of [`Trainer::fit`](crate::Trainer::fit).
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
    /// Any error stops training and is returned by [`Trainer::fit`](crate::Trainer::fit).
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

/// Which epochs of a [`Trainer::fit`](crate::Trainer::fit) compute the training loss.
///
/// Gradients, weights and every later result are bit-identical either way: the loss is only
/// reported. Skipping it saves the BCE loss terms (one `ln_1p` per output bit, about 10 % of an
/// E1 step); non-finite logits still stop training with [`Error::NonFinite`](crate::Error::NonFinite).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EpochLoss {
    /// Every epoch (the default): [`EpochReport::train_loss`] is always the mean batch loss.
    #[default]
    Every,
    /// Only the last epoch of each call of [`Trainer::fit`](crate::Trainer::fit); earlier epochs report NaN.
    Last,
}

/// Hooks that do nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl TrainHooks for NoHooks {}
