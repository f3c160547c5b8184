//! [`GpuTrainer`]: the whole training step on the device.
//!
//! This file holds the trainer, its construction and the checks of its inputs; `upload` builds
//! the device buffers of a training set, `step` encodes and dispatches steps, `fit` trains by
//! epochs, and `readback` brings gradients, model and optimiser back to the host.

mod fit;
mod readback;
mod step;
mod upload;

use ndarray::ArrayView2;
use wgpu::Buffer;

use super::buffers::{storage, uniform};
use super::context::{AdapterSummary, GpuContext};
use super::layer::GpuLayer;
use crate::{Error, GpuError, KernelPolicy, Mlp, Optimizer, OptimizerConfig, TargetsRef, Trainer};
use upload::Work;

/// A model, its optimiser state and a training set, all on the GPU, trained by whole steps
/// (gather, forward, loss gradient, backward, masked update) without host round trips.
///
/// [`GpuTrainer::fit`] takes the same arguments as [`Trainer::fit`] and draws the same batch
/// order from the same RNG (the shuffle runs on the host), so a run is comparable to the CPU's
/// step for step; see the [module docs](super) for what is and is not bit-identical. Read the
/// model back with [`GpuTrainer::mlp`], the optimiser with [`GpuTrainer::optimizer`], or both
/// into a CPU [`Trainer`] with [`GpuTrainer::write_back`] / [`GpuTrainer::into_trainer`].
pub struct GpuTrainer {
    ctx: GpuContext,
    config: OptimizerConfig,
    policy: KernelPolicy,
    /// Shapes and masks; the weights in it are those uploaded, not the trained ones.
    mlp: Mlp,
    layers: Vec<GpuLayer>,
    hyper: Buffer,
    /// `[2 · depth]` first step (within the current `fit`) with a non-finite weight / bias.
    flags: Buffer,
    /// Optimiser steps taken (Adam's bias correction).
    opt_step: u64,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken (as [`Trainer::step`]).
    pub step: u64,
    work: Option<Work>,
}

impl GpuTrainer {
    /// Uploads `mlp` and `opt`'s state; `policy` picks dense or gathered products per layer as
    /// on the CPU ([`KernelPolicy::build_layer`]).
    ///
    /// # Errors
    /// [`GpuError::Model`] if the optimiser state does not fit the model, [`GpuError::Limit`] if
    /// a layer is wider than the device can dispatch (65535) or a buffer too large.
    pub fn new(
        ctx: &GpuContext,
        mlp: Mlp,
        opt: &Optimizer,
        policy: KernelPolicy,
    ) -> Result<Self, GpuError> {
        if mlp.backbone().is_some() {
            return Err(crate::device::unsupported(&mlp));
        }
        let config = *opt.config();
        opt.state().check(&mlp, config.n_slots())?;
        let max_dim = ctx.inner.limits.max_compute_workgroups_per_dimension as usize;
        if let Some(w) = mlp.widths().into_iter().find(|&w| w > max_dim) {
            return Err(GpuError::Limit(format!(
                "a layer of width {w} exceeds the {max_dim} workgroups one dispatch dimension \
                 allows"
            )));
        }
        let layers = mlp
            .layers()
            .iter()
            .zip(&opt.state().layers)
            .map(|(l, s)| GpuLayer::new(ctx, l, s, policy))
            .collect::<Result<Vec<_>, _>>()?;
        let hyper = match config {
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => [
                lr,
                beta1,
                beta2,
                eps,
                1.0 - lr * weight_decay,
                0.0,
                0.0,
                0.0,
            ],
            OptimizerConfig::Sgd {
                lr,
                momentum,
                weight_decay,
            } => [
                lr,
                0.0,
                0.0,
                0.0,
                1.0 - lr * weight_decay,
                momentum,
                0.0,
                0.0,
            ],
        };
        let mut words = hyper.map(f32::to_bits);
        words[6] = u32::from(matches!(config, OptimizerConfig::Sgd { .. }));
        let trainer = GpuTrainer {
            hyper: uniform(ctx, "optimiser", words),
            flags: storage(ctx, "non-finite flags", &vec![u32::MAX; 2 * mlp.depth()])?,
            ctx: ctx.clone(),
            config,
            policy,
            layers,
            opt_step: opt.state().step,
            epoch: 0,
            step: 0,
            mlp,
            work: None,
        };
        trainer.ctx.check()?;
        Ok(trainer)
    }

    /// A GPU copy of a CPU trainer: its model, optimiser state and counters.
    ///
    /// # Errors
    /// As [`GpuTrainer::new`].
    pub fn from_trainer(
        ctx: &GpuContext,
        trainer: &Trainer,
        policy: KernelPolicy,
    ) -> Result<Self, GpuError> {
        let mut t = GpuTrainer::new(ctx, trainer.mlp().clone(), trainer.optimizer(), policy)?;
        t.epoch = trainer.epoch();
        t.step = trainer.step();
        Ok(t)
    }

    /// The adapter this trainer runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        self.ctx.adapter()
    }

    /// Kernel of each layer, input first: `dense` or `gathered`, as [`Trainer::kernel_names`].
    pub fn kernel_names(&self) -> Vec<&'static str> {
        self.layers.iter().map(GpuLayer::kernel_name).collect()
    }

    /// The kernel policy the layers were built with.
    pub fn policy(&self) -> KernelPolicy {
        self.policy
    }

    /// Number of terms a batch of `rows` samples averages over (as `loss.rs`).
    fn loss_terms(&self, rows: usize) -> usize {
        let classes = self.work.as_ref().is_none_or(|w| w.classes);
        if classes {
            rows
        } else {
            rows * self.mlp.d_out()
        }
    }

    fn check_data(
        &self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        op: &str,
    ) -> Result<(), GpuError> {
        let d_in = self.mlp.d_in();
        if x.ncols() != d_in {
            return Err(
                Error::shape(format!("{op}: inputs"), &[x.nrows(), d_in], x.shape()).into(),
            );
        }
        if x.nrows() != y.len() {
            return Err(Error::shape(format!("{op}: targets"), &[x.nrows()], &[y.len()]).into());
        }
        if x.nrows() == 0 {
            return Err(
                Error::shape(format!("{op}: inputs (empty)"), &[1, x.ncols()], x.shape()).into(),
            );
        }
        y.validate(self.mlp.d_out())?;
        Ok(())
    }

    /// Uploads the training set and allocates activations for batches of up to `stride` rows.
    fn prepare(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        stride: usize,
    ) -> Result<(), GpuError> {
        self.work = None;
        self.work = Some(Work::new(
            &self.ctx,
            &self.layers,
            &self.hyper,
            &self.flags,
            x,
            y,
            stride,
        )?);
        self.ctx.check()
    }
}
