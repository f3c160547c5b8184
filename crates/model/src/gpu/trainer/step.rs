//! Encoding and dispatch of training steps: one [`StepPlan`] per step, many steps per
//! submission.

use super::GpuTrainer;
use super::upload::MAX_STEPS_PER_SUBMIT;
use crate::gpu::kernels::{STEP_BYTES, grid_1d, grid_rows};
use crate::{GpuError, OptimizerConfig};

/// One step to encode.
#[derive(Clone, Copy)]
pub(super) struct StepPlan {
    /// Samples in the batch.
    pub(super) rows: usize,
    /// Position of the batch in `perm` / `losses`.
    pub(super) offset: usize,
    /// Step index within the current `fit` (for the non-finite flags).
    pub(super) t: u32,
    /// Optimiser step number, 1-based (Adam's bias correction).
    pub(super) opt_t: u64,
}

impl GpuTrainer {
    /// Encodes and submits `plans` (in submissions of at most [`MAX_STEPS_PER_SUBMIT`] steps);
    /// with `update == false` the optimiser kernels are left out. Does not wait.
    pub(super) fn run(&self, plans: &[StepPlan], update: bool) -> Result<(), GpuError> {
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
