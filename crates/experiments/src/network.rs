//! The network a unit trains: the config's backbone (if any) in front of the MLP head, built from
//! the unit's `Init` stream, backbone first. The wide baselines get a backbone drawn the same way,
//! so every arm of a seed starts its backbone from the same weights.

use fpe_datasets::Dataset;
use fpe_model::{BackboneConfig, Mlp, MlpConfig};
use rand_chacha::rand_core::RngCore;

use crate::arms::Arm;
use crate::config::{ExperimentConfig, TaskConfig};
use crate::error::{Error, Result, invalid};

/// What a unit builds: the head's shape and the backbone's description.
#[derive(Clone, Debug)]
pub(crate) struct NetworkSpec {
    /// The MLP head (its input is the backbone's feature width when there is a backbone).
    pub(crate) head: MlpConfig,
    /// The backbone, reading the dataset's images.
    pub(crate) backbone: Option<BackboneConfig>,
}

impl NetworkSpec {
    /// The network of `cfg` on `data`.
    ///
    /// # Errors
    /// A backbone on data that are not images, or one whose stages do not fit the images.
    pub(crate) fn of(cfg: &ExperimentConfig, data: &Dataset) -> Result<Self> {
        let backbone = match (&cfg.model.backbone[..], data.image_shape) {
            ([], _) => None,
            (stages, Some(shape)) => Some(BackboneConfig {
                input: [shape.channels, shape.height, shape.width],
                stages: stages.to_vec(),
            }),
            (_, None) => {
                return Err(Error::Invalid(
                    "`model.backbone` needs an image task (`task.kind = \"images\"`): this \
                     dataset's rows are not images"
                        .into(),
                ));
            }
        };
        let d_in = match &backbone {
            Some(b) => {
                check_backbone_memory(cfg, b, crate::memory::available_memory())?;
                b.out_len()
                    .map_err(|e| Error::Invalid(format!("`model.backbone`: {e}")))?
            }
            None => data.d_in(),
        };
        Ok(NetworkSpec {
            head: MlpConfig {
                d_in,
                hidden: cfg.model.hidden.clone(),
                d_out: data.n_outputs(),
            },
            backbone,
        })
    }

    /// The narrow network at initialisation: backbone, then head, from `rng`.
    ///
    /// # Errors
    /// As the model's constructors.
    pub(crate) fn init(&self, rng: &mut dyn RngCore) -> Result<Mlp> {
        self.build(rng, |head, rng| Ok(head.init(rng)?))
    }

    /// The network of a baseline that starts from initialisation (`wide_dense`,
    /// `wide_sparse_scratch`): the same backbone draw, then the wide head.
    ///
    /// # Errors
    /// As [`fpe::wide_dense`] and [`fpe::wide_sparse_scratch`]; another arm.
    pub(crate) fn init_wide(&self, arm: Arm, alpha: usize, rng: &mut dyn RngCore) -> Result<Mlp> {
        self.build(rng, |head, rng| match arm {
            Arm::WideDense => Ok(fpe::wide_dense(head, alpha, rng)?),
            Arm::WideSparseScratch => Ok(fpe::wide_sparse_scratch(head, alpha, rng)?),
            other => Err(Error::Training(format!(
                "arm `{}` starts from the warm-up, not from initialisation",
                other.name()
            ))),
        })
    }

    fn build(
        &self,
        rng: &mut dyn RngCore,
        head: impl FnOnce(&MlpConfig, &mut dyn RngCore) -> Result<Mlp>,
    ) -> Result<Mlp> {
        let backbone = self.backbone.as_ref().map(|b| b.init(rng)).transpose()?;
        let mlp = head(&self.head, rng)?;
        Ok(match backbone {
            Some(b) => mlp.with_backbone(b)?,
            None => mlp,
        })
    }
}

/// Refuses a backbone whose training buffers, for every model of a unit (the warm-up and each
/// arm keep their own: activations and their gradients for a whole batch) in every unit that
/// runs at once, would not fit in `available` bytes.
///
/// # Errors
/// [`Error::Invalid`] with the estimate and what to change.
fn check_backbone_memory(
    cfg: &ExperimentConfig,
    b: &BackboneConfig,
    available: Option<u64>,
) -> Result<()> {
    let per_sample = b
        .activations_per_sample()
        .map_err(|e| Error::Invalid(format!("`model.backbone`: {e}")))?;
    let rows = cfg.train.batch_size.div_ceil(64) * 64;
    let models = cfg.arms.len() + 1;
    let workers = rayon::current_num_threads();
    let need = 2.0 * 4.0 * (per_sample * rows * models * workers) as f64;
    if let Some(avail) = available {
        if need > avail as f64 {
            invalid!(
                "`model.backbone`: training {models} model(s) per unit on {workers} thread(s) \
                 keeps {:.1} GiB of backbone activations ({per_sample} values per sample, batch \
                 {}), more than the {:.1} GiB available: lower `train.batch_size`, the \
                 backbone's channels, or --threads",
                need / (1u64 << 30) as f64,
                cfg.train.batch_size,
                avail as f64 / (1u64 << 30) as f64
            );
        }
    }
    Ok(())
}

/// Checks `[model]` against the task and the arms, before any training: a backbone needs an
/// image task; channel arms need a backbone and `model.channel_layer` naming one of its
/// convolution or linear stages, and a fresh optimiser state.
///
/// # Errors
/// [`Error::Invalid`] saying which field is wrong and why.
pub(crate) fn validate_model(cfg: &ExperimentConfig) -> Result<()> {
    let m = &cfg.model;
    if !m.backbone.is_empty() && !matches!(cfg.task, TaskConfig::Images(_)) {
        invalid!(
            "`model.backbone` needs an image task (`task.kind = \"images\"`); this task's rows \
             are not images"
        );
    }
    let layers = m
        .backbone
        .iter()
        .filter(|s| {
            matches!(
                s,
                fpe_model::Stage::Conv2d { .. } | fpe_model::Stage::Linear { .. }
            )
        })
        .count();
    let channel_arms: Vec<&Arm> = cfg
        .arms
        .iter()
        .filter(|a| matches!(a, Arm::Channel(_)))
        .collect();
    if let Some(a) = channel_arms.first() {
        match m.channel_layer {
            None => invalid!(
                "arm `{a}` expands a backbone layer's channels: set `model.channel_layer` (0 = \
                 the backbone's first convolution or linear stage)"
            ),
            Some(l) if l >= layers => invalid!(
                "`model.channel_layer` = {l}, but `model.backbone` has {layers} convolution or \
                 linear stage(s) (0 to {})",
                layers.saturating_sub(1)
            ),
            Some(_) => {}
        }
        if cfg.expansion.optimizer_state == fpe::OptimizerStatePolicy::Carry {
            invalid!(
                "arm `{a}`: channel expansion starts a fresh optimiser state; \
                 `expansion.optimizer_state = \"carry\"` is not supported with it"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backbone_that_cannot_fit_in_memory_is_refused_with_the_estimate() {
        let text = r#"name = "m"
seeds = [0]
arms = ["dense", "random"]
[task]
kind = "images"
[model]
hidden = [8]
backbone = ["conv 64 3x3 pad 1", "relu", "flatten"]
[train]
batch_size = 256
"#;
        let cfg = ExperimentConfig::from_table(text.parse().unwrap()).unwrap();
        let b = BackboneConfig {
            input: [1, 28, 28],
            stages: cfg.model.backbone.clone(),
        };
        // 64 · 784 values per sample, 256 samples, 3 models, both directions, f32.
        let need = 2 * 4 * 64 * 784 * 256 * 3;
        let workers = rayon::current_num_threads() as u64;
        assert!(check_backbone_memory(&cfg, &b, Some(need as u64 * workers)).is_ok());
        let e = check_backbone_memory(&cfg, &b, Some(need as u64 * workers - 1)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("model.backbone") && msg.contains("50176 values per sample"),
            "{msg}"
        );
    }
}
