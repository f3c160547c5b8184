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
            Some(b) => b
                .out_len()
                .map_err(|e| Error::Invalid(format!("`model.backbone`: {e}")))?,
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
