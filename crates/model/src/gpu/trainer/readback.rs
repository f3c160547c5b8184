//! Reading results back to the host: gradients ([`GpuTrainer::loss_grad`]), the trained model,
//! the optimiser state, and both into a CPU [`Trainer`].

use ndarray::{Array1, Array2, ArrayView2};
use wgpu::Buffer;

use super::GpuTrainer;
use super::step::StepPlan;
use crate::gpu::buffers::read;
use crate::{
    Error, GpuError, Grads, KernelPolicy, Layer, LayerSlots, Mlp, Optimizer, OptimizerState,
    TargetsRef, Trainer,
};

impl GpuTrainer {
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
        let same = trainer.mlp().depth() == self.mlp.depth()
            && trainer
                .mlp()
                .layers()
                .iter()
                .zip(self.mlp.layers())
                .all(|(a, b)| a.mask == b.mask);
        if !same {
            return Err(Error::shape(
                "GpuTrainer::write_back: trainer model",
                &self.mlp.widths(),
                &trainer.mlp().widths(),
            )
            .into());
        }
        let (mlp, opt) = trainer.parts_mut();
        *mlp = self.mlp()?;
        *opt = self.optimizer()?;
        trainer.set_counters(self.epoch, self.step);
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
        )?)
    }
}
