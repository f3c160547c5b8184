//! [`GpuTrainer`]: the whole training step on the device.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rand::seq::SliceRandom;
use wgpu::{BindGroup, Buffer};

use super::buffers::{read, storage, uniform, zeros};
use super::context::{AdapterSummary, GpuContext};
use super::kernels::{Kernel, STEP_BYTES, grid_1d, grid_rows};
use super::layer::GpuLayer;
use crate::{
    EpochReport, Error, GpuError, Grads, KernelPolicy, Layer, LayerSlots, Mlp, Optimizer,
    OptimizerConfig, OptimizerState, TargetsRef, Trainer,
};

/// Steps encoded into one submission at most (their parameter blocks share one buffer).
const MAX_STEPS_PER_SUBMIT: usize = 256;

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

/// Buffers and bind groups for one resident training set and batch capacity.
struct Work {
    /// Batch capacity: the row stride of activations and deltas.
    stride: usize,
    /// Rows of the resident training set.
    n: usize,
    /// Softmax cross-entropy (class ids) rather than BCE (0/1 targets).
    classes: bool,
    perm: Buffer,
    losses: Buffer,
    steps: Buffer,
    step_stride: u64,
    step_bind: BindGroup,
    gather: BindGroup,
    forward: Vec<BindGroup>,
    loss: BindGroup,
    /// `None` for layer 0 (no input gradient needed).
    input_grad: Vec<Option<BindGroup>>,
    weight_grad: Vec<BindGroup>,
    optimize: Vec<BindGroup>,
    /// Kept alive for the bind groups.
    _buffers: Vec<Buffer>,
}

/// One step to encode.
#[derive(Clone, Copy)]
struct StepPlan {
    /// Samples in the batch.
    rows: usize,
    /// Position of the batch in `perm` / `losses`.
    offset: usize,
    /// Step index within the current `fit` (for the non-finite flags).
    t: u32,
    /// Optimiser step number, 1-based (Adam's bias correction).
    opt_t: u64,
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
        let mut t = GpuTrainer::new(ctx, trainer.mlp.clone(), &trainer.opt, policy)?;
        t.epoch = trainer.epoch;
        t.step = trainer.step;
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

    /// Trains `epochs` epochs on `(x, y)` with batches of `batch_size` drawn from `rng`, exactly
    /// as [`Trainer::fit`] draws them (a fresh permutation per epoch; the last batch may be
    /// smaller). The training set is uploaded once per call; the host waits for the device once
    /// per epoch, to read the batch losses.
    ///
    /// # Shapes
    /// `x`: `[N, d_in]`; `y`: `N` targets.
    ///
    /// # Errors
    /// As [`Trainer::fit`] ([`Error::Shape`], [`Error::Targets`], [`Error::Config`] for
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
        let steps_per_epoch = n.div_ceil(batch_size);
        let mut order: Vec<usize> = (0..n).collect();
        let mut reports = Vec::with_capacity(epochs);
        let mut step_in_fit = 0usize;
        for _ in 0..epochs {
            order.sort_unstable();
            order.shuffle(rng);
            let perm: Vec<u32> = order.iter().map(|&i| i as u32).collect();
            let work = self.work.as_ref().expect("prepared");
            self.ctx
                .inner
                .queue
                .write_buffer(&work.perm, 0, bytemuck::cast_slice(&perm));
            let plans: Vec<StepPlan> = order
                .chunks(batch_size)
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
            let report = EpochReport {
                epoch: self.epoch,
                step: self.step,
                train_loss: batch_losses.iter().sum::<f64>() / steps_per_epoch as f64,
            };
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

    /// Mean loss of the batch and its gradients (inactive weights exactly zero), computed on
    /// the device without changing the model: the GPU counterpart of
    /// [`crate::Workspace::loss_grad`].
    ///
    /// # Errors
    /// As [`GpuTrainer::set_batch`]; [`GpuError::Backend`] if the device fails.
    pub fn loss_grad(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
    ) -> Result<(f64, Grads), GpuError> {
        self.set_batch(x, y)?;
        let rows = x.nrows();
        self.run(
            &[StepPlan {
                rows,
                offset: 0,
                t: 0,
                opt_t: self.opt_step + 1,
            }],
            false,
        )?;
        let work = self.work.as_ref().expect("prepared");
        let mut parts: Vec<(&Buffer, usize)> = vec![(&work.losses, rows)];
        parts.extend(self.layers.iter().map(|l| (&l.grad, l.nnz + l.d_out)));
        let back = read::<f32>(&self.ctx, &parts)?;
        let loss: f64 = back[0].iter().map(|&v| f64::from(v)).sum::<f64>();
        let grads = Grads {
            w: self
                .layers
                .iter()
                .zip(&back[1..])
                .map(|(l, g)| l.unpack(&g[..l.nnz]))
                .collect(),
            b: self
                .layers
                .iter()
                .zip(&back[1..])
                .map(|(l, g)| l.bias_part(g))
                .collect(),
        };
        Ok((loss / self.loss_terms(rows) as f64, grads))
    }

    /// The trained model, read back from the device (masks as uploaded; inactive weights are
    /// exactly zero).
    ///
    /// # Errors
    /// [`GpuError::Backend`] if the read-back fails.
    pub fn mlp(&self) -> Result<Mlp, GpuError> {
        let parts: Vec<(&Buffer, usize)> = self
            .layers
            .iter()
            .flat_map(|l| [(&l.w, l.d_out * l.d_in), (&l.b, l.d_out)])
            .collect();
        let back = read::<f32>(&self.ctx, &parts)?;
        let layers = self
            .layers
            .iter()
            .zip(back.chunks(2))
            .zip(self.mlp.layers())
            .map(|((l, wb), host)| {
                let w = Array2::from_shape_vec((l.d_out, l.d_in), wb[0].clone())
                    .expect("shape matches");
                Layer::new(w, Array1::from(wb[1].clone()), host.mask.clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Mlp::from_layers(layers)?)
    }

    /// The optimiser with its state read back from the device (moments or velocities, step
    /// count), ready for a checkpoint or for [`Trainer::from_parts`].
    ///
    /// # Errors
    /// [`GpuError::Backend`] if the read-back fails.
    pub fn optimizer(&self) -> Result<Optimizer, GpuError> {
        let n_slots = self.config.n_slots();
        let parts: Vec<(&Buffer, usize)> = self
            .layers
            .iter()
            .flat_map(|l| [(&l.s0, l.nnz + l.d_out), (&l.s1, l.nnz + l.d_out)])
            .collect();
        let back = read::<f32>(&self.ctx, &parts)?;
        let layers = self
            .layers
            .iter()
            .zip(back.chunks(2))
            .map(|(l, s)| LayerSlots {
                w: s[..n_slots].iter().map(|p| l.unpack(&p[..l.nnz])).collect(),
                b: s[..n_slots].iter().map(|p| l.bias_part(p)).collect(),
            })
            .collect();
        let state = OptimizerState {
            step: self.opt_step,
            layers,
        };
        Ok(Optimizer::with_state(self.config, state, &self.mlp)?)
    }

    /// Copies the trained model, optimiser state and counters into `trainer` (whose masks must
    /// be the ones this trainer was built from, e.g. the trainer of
    /// [`GpuTrainer::from_trainer`]).
    ///
    /// # Errors
    /// [`Error::Shape`] (wrapped) if `trainer`'s model has other shapes or masks;
    /// [`GpuError::Backend`] if the read-back fails.
    pub fn write_back(&self, trainer: &mut Trainer) -> Result<(), GpuError> {
        let same = trainer.mlp.depth() == self.mlp.depth()
            && trainer
                .mlp
                .layers()
                .iter()
                .zip(self.mlp.layers())
                .all(|(a, b)| a.mask == b.mask);
        if !same {
            return Err(Error::shape(
                "GpuTrainer::write_back: trainer model",
                &self.mlp.widths(),
                &trainer.mlp.widths(),
            )
            .into());
        }
        trainer.mlp = self.mlp()?;
        trainer.opt = self.optimizer()?;
        trainer.epoch = self.epoch;
        trainer.step = self.step;
        trainer.model_changed();
        Ok(())
    }

    /// A CPU trainer with the trained model, optimiser state and counters, using `policy`.
    ///
    /// # Errors
    /// [`GpuError::Backend`] if the read-back fails.
    pub fn into_trainer(self, policy: KernelPolicy) -> Result<Trainer, GpuError> {
        Ok(Trainer::from_parts(
            self.mlp()?,
            self.optimizer()?,
            self.epoch,
            self.step,
            policy,
        ))
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
        let ctx = &self.ctx;
        let device = &ctx.inner.device;
        let k = &ctx.inner.kernels;
        let n = x.nrows();
        let depth = self.layers.len();
        let xs = x.as_standard_layout();
        let data_x = storage(
            ctx,
            "training inputs",
            xs.as_slice().expect("standard layout"),
        )?;
        let (classes, data_y) = match y {
            TargetsRef::Classes(l) => (true, storage(ctx, "class ids", &l.to_vec())?),
            TargetsRef::Binary(t) => {
                let t = t.as_standard_layout();
                (
                    false,
                    storage(ctx, "binary targets", t.as_slice().expect("standard"))?,
                )
            }
        };
        let perm = zeros(ctx, "batch order", n)?;
        let losses = zeros(ctx, "loss terms", n)?;
        let xb = zeros(ctx, "batch inputs", self.mlp.d_in() * stride)?;
        let acts = self
            .layers
            .iter()
            .map(|l| zeros(ctx, "activations", l.d_out * stride))
            .collect::<Result<Vec<_>, _>>()?;
        let deltas = self
            .layers
            .iter()
            .map(|l| zeros(ctx, "deltas", l.d_out * stride))
            .collect::<Result<Vec<_>, _>>()?;
        let dims: Vec<Buffer> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let relu = usize::from(i + 1 < depth);
                let words = [l.d_in, l.d_out, stride, l.nnz, i, relu, 0, 0].map(|v| v as u32);
                uniform(ctx, "layer dims", words)
            })
            .collect();
        let gather_dims = uniform(
            ctx,
            "input dims",
            [self.mlp.d_in() as u32, 0, stride as u32, 0, 0, 0, 0, 0],
        );
        let align = u64::from(ctx.inner.limits.min_uniform_buffer_offset_alignment);
        let step_stride = STEP_BYTES.next_multiple_of(align.max(1));
        let steps = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step parameters"),
            size: step_stride * MAX_STEPS_PER_SUBMIT as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let step_bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("step parameters"),
            layout: &k.step_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &steps,
                    offset: 0,
                    size: wgpu::BufferSize::new(STEP_BYTES),
                }),
            }],
        });
        let input = |l: usize| if l == 0 { &xb } else { &acts[l - 1] };
        let layers = &self.layers;
        let forward = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let kern = if l.gathered {
                    &k.forward_gathered
                } else {
                    &k.forward_dense
                };
                kern.bind(
                    device,
                    &[
                        &dims[i],
                        &l.w,
                        &l.b,
                        input(i),
                        &acts[i],
                        &l.row_ptr,
                        &l.cols,
                    ],
                )
            })
            .collect();
        let last = depth - 1;
        let loss_kernel: &Kernel = if classes { &k.loss_ce } else { &k.loss_bce };
        let loss = loss_kernel.bind(
            device,
            &[
                &dims[last],
                &acts[last],
                &perm,
                &data_y,
                &deltas[last],
                &losses,
            ],
        );
        let input_grad = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                (i > 0).then(|| {
                    let kern = if l.gathered {
                        &k.input_grad_gathered
                    } else {
                        &k.input_grad_dense
                    };
                    kern.bind(
                        device,
                        &[
                            &dims[i],
                            &l.w,
                            &deltas[i],
                            &acts[i - 1],
                            &deltas[i - 1],
                            &l.col_ptr,
                            &l.rows,
                        ],
                    )
                })
            })
            .collect();
        let weight_grad = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                k.weight_grad.bind(
                    device,
                    &[&dims[i], input(i), &deltas[i], &l.grad, &l.row_of, &l.cols],
                )
            })
            .collect();
        let optimize = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                k.optimize.bind(
                    device,
                    &[
                        &dims[i],
                        &self.hyper,
                        &l.w,
                        &l.b,
                        &l.grad,
                        &l.s0,
                        &l.s1,
                        &l.row_of,
                        &l.cols,
                        &self.flags,
                    ],
                )
            })
            .collect();
        let gather = k.gather.bind(device, &[&gather_dims, &data_x, &perm, &xb]);
        let mut keep = vec![data_x, data_y, xb, gather_dims];
        keep.extend(acts);
        keep.extend(deltas);
        keep.extend(dims);
        self.work = Some(Work {
            stride,
            n,
            classes,
            perm,
            losses,
            steps,
            step_stride,
            step_bind,
            gather,
            forward,
            loss,
            input_grad,
            weight_grad,
            optimize,
            _buffers: keep,
        });
        self.ctx.check()
    }

    /// Encodes and submits `plans` (in submissions of at most [`MAX_STEPS_PER_SUBMIT`] steps);
    /// with `update == false` the optimiser kernels are left out. Does not wait.
    fn run(&self, plans: &[StepPlan], update: bool) -> Result<(), GpuError> {
        let work = self.work.as_ref().expect("prepared");
        let ctx = &self.ctx.inner;
        let k = &ctx.kernels;
        let d_out = self.mlp.d_out();
        for group in plans.chunks(MAX_STEPS_PER_SUBMIT) {
            let mut params = vec![0u8; group.len() * work.step_stride as usize];
            for (p, slot) in group
                .iter()
                .zip(params.chunks_mut(work.step_stride as usize))
            {
                debug_assert!(p.rows <= work.stride && p.offset + p.rows <= work.n);
                let terms = if work.classes { p.rows } else { p.rows * d_out };
                let (bc1, bc2) = match self.config {
                    OptimizerConfig::Adam { beta1, beta2, .. } => (
                        (1.0 - f64::from(beta1).powf(p.opt_t as f64)) as f32,
                        (1.0 - f64::from(beta2).powf(p.opt_t as f64)) as f32,
                    ),
                    OptimizerConfig::Sgd { .. } => (1.0, 1.0),
                };
                let words: [u32; 8] = [
                    p.rows as u32,
                    p.offset as u32,
                    (1.0 / terms as f32).to_bits(),
                    p.t,
                    bc1.to_bits(),
                    bc2.to_bits(),
                    0,
                    0,
                ];
                slot[..STEP_BYTES as usize].copy_from_slice(bytemuck::cast_slice(&words));
            }
            ctx.queue.write_buffer(&work.steps, 0, &params);
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("fpe training steps"),
                });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("fpe training steps"),
                    timestamp_writes: None,
                });
                for (j, p) in group.iter().enumerate() {
                    pass.set_bind_group(
                        0,
                        &work.step_bind,
                        &[(j as u64 * work.step_stride) as u32],
                    );
                    let rows = p.rows;
                    k.gather
                        .dispatch(&mut pass, &work.gather, grid_rows(rows, self.mlp.d_in()));
                    for (i, l) in self.layers.iter().enumerate() {
                        let kern = if l.gathered {
                            &k.forward_gathered
                        } else {
                            &k.forward_dense
                        };
                        kern.dispatch(&mut pass, &work.forward[i], grid_rows(rows, l.d_out));
                    }
                    let loss = if work.classes {
                        &k.loss_ce
                    } else {
                        &k.loss_bce
                    };
                    loss.dispatch(&mut pass, &work.loss, grid_rows(rows, 1));
                    for (i, l) in self.layers.iter().enumerate().rev() {
                        if let Some(bind) = &work.input_grad[i] {
                            let kern = if l.gathered {
                                &k.input_grad_gathered
                            } else {
                                &k.input_grad_dense
                            };
                            kern.dispatch(&mut pass, bind, grid_rows(rows, l.d_in));
                        }
                        let all = grid_1d(l.nnz + l.d_out);
                        k.weight_grad.dispatch(&mut pass, &work.weight_grad[i], all);
                        if update {
                            k.optimize.dispatch(&mut pass, &work.optimize[i], all);
                        }
                    }
                }
            }
            ctx.queue.submit([encoder.finish()]);
        }
        self.ctx.check()
    }
}

impl crate::Fit for GpuTrainer {
    type Error = GpuError;

    fn fit_epochs(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        epochs: usize,
        batch_size: usize,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Vec<EpochReport>, GpuError> {
        self.fit(x, y, epochs, batch_size, rng)
    }
}
