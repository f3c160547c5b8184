//! Mask-aware optimisers: Adam and momentum SGD, both with decoupled weight decay.
//!
//! For an inactive weight the gradient, the first and second moments (Adam), the momentum (SGD)
//! and the weight decay are all zero and stay zero, and the weight itself stays exactly `0.0`:
//! an inactive weight can never be revived. Weight decay is decoupled (AdamW style:
//! `w ← w − lr·λ·w` before the gradient update) and applies to weights only, not biases [choice].

use ndarray::{Array1, Array2, Zip};
use serde::{Deserialize, Serialize};

use crate::backprop::Grads;
use crate::error::{Error, Result};
use crate::mlp::Mlp;

mod active;

use active::{ActiveCache, ActiveIndex, update_sparse};

/// Optimiser and its hyper-parameters. Defaults: Adam, lr 1e-3, β = (0.9, 0.999), ε = 1e-8,
/// no weight decay (SPEC §4); SGD: lr 1e-2, momentum 0.9, no weight decay.
///
/// Deserialisation fills every field a config leaves out with these defaults (a missing `kind`
/// is Adam) and refuses fields of the other optimiser (`momentum` for Adam, `beta1`, `beta2`,
/// `eps` for SGD) and unknown fields.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    deny_unknown_fields,
    try_from = "RawOptimizerConfig"
)]
pub enum OptimizerConfig {
    /// Adam (Kingma & Ba) with bias correction.
    Adam {
        /// Learning rate.
        lr: f32,
        /// First-moment decay β₁.
        beta1: f32,
        /// Second-moment decay β₂.
        beta2: f32,
        /// Denominator guard ε.
        eps: f32,
        /// Decoupled weight decay λ.
        weight_decay: f32,
    },
    /// SGD with heavy-ball momentum: `v ← μv + g`, `w ← w − lr·v`.
    Sgd {
        /// Learning rate.
        lr: f32,
        /// Momentum μ (0 for plain SGD).
        momentum: f32,
        /// Decoupled weight decay λ.
        weight_decay: f32,
    },
}

/// What a config may write for an optimiser: every field optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptimizerConfig {
    kind: Option<String>,
    lr: Option<f32>,
    beta1: Option<f32>,
    beta2: Option<f32>,
    eps: Option<f32>,
    weight_decay: Option<f32>,
    momentum: Option<f32>,
}

impl TryFrom<RawOptimizerConfig> for OptimizerConfig {
    type Error = String;

    fn try_from(r: RawOptimizerConfig) -> std::result::Result<Self, String> {
        let refuse = |field: &str, value: Option<f32>, kind: &str, other: &str| {
            value.map_or(Ok(()), |_| {
                Err(format!("`{field}` is a field of {other}, not {kind}"))
            })
        };
        match r.kind.as_deref().unwrap_or("adam") {
            "adam" => {
                refuse("momentum", r.momentum, "adam", "sgd")?;
                let OptimizerConfig::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } = OptimizerConfig::default()
                else {
                    unreachable!("the default optimiser is Adam")
                };
                Ok(OptimizerConfig::Adam {
                    lr: r.lr.unwrap_or(lr),
                    beta1: r.beta1.unwrap_or(beta1),
                    beta2: r.beta2.unwrap_or(beta2),
                    eps: r.eps.unwrap_or(eps),
                    weight_decay: r.weight_decay.unwrap_or(weight_decay),
                })
            }
            "sgd" => {
                refuse("beta1", r.beta1, "sgd", "adam")?;
                refuse("beta2", r.beta2, "sgd", "adam")?;
                refuse("eps", r.eps, "sgd", "adam")?;
                Ok(OptimizerConfig::Sgd {
                    lr: r.lr.unwrap_or(1e-2),
                    momentum: r.momentum.unwrap_or(0.9),
                    weight_decay: r.weight_decay.unwrap_or(0.0),
                })
            }
            other => Err(format!(
                "unknown optimizer kind `{other}`: allowed values are adam, sgd"
            )),
        }
    }
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Adam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl OptimizerConfig {
    /// Checks the hyper-parameters.
    ///
    /// # Errors
    /// [`Error::Config`] for a non-positive or non-finite learning rate, β outside `[0, 1)`,
    /// ε ≤ 0, momentum outside `[0, 1)` or negative weight decay.
    pub fn validate(&self) -> Result<()> {
        let (lr, wd) = match *self {
            OptimizerConfig::Adam {
                lr, weight_decay, ..
            }
            | OptimizerConfig::Sgd {
                lr, weight_decay, ..
            } => (lr, weight_decay),
        };
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::config(
                "lr",
                lr,
                "learning rate must be positive and finite",
            ));
        }
        if !(wd.is_finite() && wd >= 0.0) {
            return Err(Error::config("weight_decay", wd, "must be ≥ 0"));
        }
        // Decoupled decay multiplies each weight by 1 − lr·λ per step: at lr·λ ≥ 1 that factor
        // is ≤ 0 (weights flip sign or vanish every step).
        if f64::from(lr) * f64::from(wd) >= 1.0 {
            return Err(Error::config(
                "weight_decay",
                wd,
                format!(
                    "lr · weight_decay = {} ≥ 1: each step would multiply the weights by 1 − lr·λ ≤ 0; use lr · weight_decay < 1",
                    f64::from(lr) * f64::from(wd)
                ),
            ));
        }
        match *self {
            OptimizerConfig::Adam {
                beta1, beta2, eps, ..
            } => {
                for (name, b) in [("beta1", beta1), ("beta2", beta2)] {
                    if !(0.0..1.0).contains(&b) {
                        return Err(Error::config(
                            if name == "beta1" { "beta1" } else { "beta2" },
                            b,
                            "must be in [0, 1)",
                        ));
                    }
                }
                if eps.is_nan() || eps <= 0.0 {
                    return Err(Error::config("eps", eps, "must be > 0"));
                }
            }
            OptimizerConfig::Sgd { momentum, .. } => {
                if !(0.0..1.0).contains(&momentum) {
                    return Err(Error::config("momentum", momentum, "must be in [0, 1)"));
                }
            }
        }
        Ok(())
    }

    /// Number of state slots per parameter: 2 for Adam (m, v), 1 for SGD (velocity).
    pub fn n_slots(&self) -> usize {
        match self {
            OptimizerConfig::Adam { .. } => 2,
            OptimizerConfig::Sgd { .. } => 1,
        }
    }
}

/// Per-layer optimiser state: `slots` arrays shaped like the weight and the bias.
///
/// Adam: slot 0 is the first moment m, slot 1 the second moment v. SGD: slot 0 is the velocity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSlots {
    /// `[out, in]` arrays, one per slot.
    pub w: Vec<Array2<f32>>,
    /// `[out]` arrays, one per slot.
    pub b: Vec<Array1<f32>>,
}

/// Everything an optimiser remembers; saved in checkpoints and split with the weights when a
/// layer is expanded with the `carry` option.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// Steps taken (Adam's bias correction uses it).
    pub step: u64,
    /// One entry per trainable layer, in [`Mlp::trainable`] order (head, then backbone).
    pub layers: Vec<LayerSlots>,
}

impl OptimizerState {
    /// Zero state for `mlp` with `n_slots` slots.
    pub fn zeros(mlp: &Mlp, n_slots: usize) -> Self {
        OptimizerState {
            step: 0,
            layers: mlp
                .trainable()
                .map(|l| LayerSlots {
                    w: (0..n_slots)
                        .map(|_| Array2::zeros(l.weight().dim()))
                        .collect(),
                    b: (0..n_slots).map(|_| Array1::zeros(l.d_out())).collect(),
                })
                .collect(),
        }
    }

    /// Zeroes every slot entry of an inactive weight of `mlp`.
    ///
    /// # Panics
    /// If the state does not match the model's shapes.
    pub fn zero_inactive(&mut self, mlp: &Mlp) {
        for (layer, slots) in mlp.trainable().zip(&mut self.layers) {
            for slot in &mut slots.w {
                Zip::from(slot).and(layer.mask()).for_each(|v, &on| {
                    if !on {
                        *v = 0.0;
                    }
                });
            }
        }
    }

    /// Checks that the state fits `mlp` and that inactive entries are zero.
    ///
    /// # Errors
    /// [`Error::Shape`] for a layer or slot of the wrong shape, [`Error::MaskViolation`] for a
    /// non-zero slot entry of an inactive weight.
    pub fn check(&self, mlp: &Mlp, n_slots: usize) -> Result<()> {
        if self.layers.len() != mlp.n_trainable() {
            return Err(Error::shape(
                "optimizer state layers",
                &[mlp.n_trainable()],
                &[self.layers.len()],
            ));
        }
        for (l, (slots, layer)) in self.layers.iter().zip(mlp.trainable()).enumerate() {
            if slots.w.len() != n_slots || slots.b.len() != n_slots {
                return Err(Error::shape(
                    format!("optimizer state layer {l} slots"),
                    &[n_slots],
                    &[slots.w.len()],
                ));
            }
            for (sw, sb) in slots.w.iter().zip(&slots.b) {
                if sw.dim() != layer.weight().dim() {
                    return Err(Error::shape(
                        format!("optimizer state layer {l} weight slot"),
                        layer.weight().shape(),
                        sw.shape(),
                    ));
                }
                if sb.len() != layer.d_out() {
                    return Err(Error::shape(
                        format!("optimizer state layer {l} bias slot"),
                        &[layer.d_out()],
                        sb.shape(),
                    ));
                }
                for (((row, col), &v), &on) in sw.indexed_iter().zip(layer.mask()) {
                    if !on && v != 0.0 {
                        return Err(Error::MaskViolation {
                            layer: l,
                            row,
                            col,
                            value: v,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// A configured optimiser with its state.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    config: OptimizerConfig,
    state: OptimizerState,
    /// Active-weight lists per layer (derived from the masks; not part of equality).
    active: ActiveCache,
}

impl Optimizer {
    /// Fresh optimiser for `mlp`.
    ///
    /// # Errors
    /// As [`OptimizerConfig::validate`].
    pub fn new(config: OptimizerConfig, mlp: &Mlp) -> Result<Self> {
        config.validate()?;
        Ok(Optimizer {
            config,
            state: OptimizerState::zeros(mlp, config.n_slots()),
            active: ActiveCache::default(),
        })
    }

    /// Optimiser resuming from `state`.
    ///
    /// # Errors
    /// As [`OptimizerConfig::validate`] and [`OptimizerState::check`].
    pub fn with_state(config: OptimizerConfig, state: OptimizerState, mlp: &Mlp) -> Result<Self> {
        config.validate()?;
        state.check(mlp, config.n_slots())?;
        Ok(Optimizer {
            config,
            state,
            active: ActiveCache::default(),
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The state (moments, velocity, step count).
    pub fn state(&self) -> &OptimizerState {
        &self.state
    }

    /// Consumes the optimiser, returning its state.
    pub fn into_state(self) -> OptimizerState {
        self.state
    }

    /// Zeroes the state for `mlp` (whose shapes may have changed).
    pub fn reset(&mut self, mlp: &Mlp) {
        self.state = OptimizerState::zeros(mlp, self.config.n_slots());
    }

    /// Zeroes the state of every inactive weight of `mlp` (call after masks change, e.g. when
    /// dynamic sparsity drops weights), so a later regrowth starts from zero moments.
    ///
    /// # Panics
    /// If the state does not match the model's shapes.
    pub fn zero_inactive(&mut self, mlp: &Mlp) {
        self.state.zero_inactive(mlp);
    }

    /// One update of every parameter of `mlp` from `grads`.
    ///
    /// # Panics
    /// If the state or gradients do not match the model's shapes.
    pub fn step(&mut self, mlp: &mut Mlp, grads: &Grads) {
        assert_eq!(
            self.state.layers.len(),
            mlp.n_trainable(),
            "optimizer state does not match the model"
        );
        self.state.step += 1;
        let t = self.state.step;
        self.active
            .0
            .resize_with(mlp.n_trainable(), ActiveIndex::default);
        for (l, layer) in mlp.trainable_mut().enumerate() {
            let mask_id = layer.mask_id();
            let slots = &mut self.state.layers[l];
            let cache = &mut self.active.0[l];
            let (gw, gb) = (&grads.w[l], &grads.b[l]);
            match self.config {
                OptimizerConfig::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => {
                    let bc1 = (1.0 - f64::from(beta1).powf(t as f64)) as f32;
                    let bc2 = (1.0 - f64::from(beta2).powf(t as f64)) as f32;
                    let decay = 1.0 - lr * weight_decay;
                    let adam = move |w: &mut f32, g: f32, m: &mut f32, v: &mut f32| {
                        *m = beta1 * *m + (1.0 - beta1) * g;
                        *v = beta2 * *v + (1.0 - beta2) * g * g;
                        *w -= lr * (*m / bc1) / ((*v / bc2).sqrt() + eps);
                    };
                    let [m, v] = &mut slots.w[..] else {
                        panic!("Adam state has two slots")
                    };
                    let rule = move |w: &mut f32, g: f32, m: &mut f32, v: &mut f32| {
                        *w *= decay;
                        adam(w, g, m, v);
                    };
                    let sparse = update_sparse(
                        &mut layer.w,
                        gw,
                        [m, v],
                        &layer.mask,
                        mask_id,
                        cache,
                        |w, g, [m, v]| rule(w, g, m, v),
                    );
                    if !sparse {
                        Zip::from(&mut layer.w)
                            .and(gw)
                            .and(m)
                            .and(v)
                            .and(&layer.mask)
                            .for_each(|w, &g, m, v, &on| {
                                if on {
                                    rule(w, g, m, v);
                                } else {
                                    (*w, *m, *v) = (0.0, 0.0, 0.0);
                                }
                            });
                    }
                    let (m, v) = slots.b.split_at_mut(1);
                    Zip::from(&mut layer.b)
                        .and(gb)
                        .and(&mut m[0])
                        .and(&mut v[0])
                        .for_each(|b, &g, m, v| adam(b, g, m, v));
                }
                OptimizerConfig::Sgd {
                    lr,
                    momentum,
                    weight_decay,
                } => {
                    let decay = 1.0 - lr * weight_decay;
                    let rule = move |w: &mut f32, g: f32, vel: &mut f32| {
                        *w *= decay;
                        *vel = momentum * *vel + g;
                        *w -= lr * *vel;
                    };
                    let vel = &mut slots.w[0];
                    let sparse = update_sparse(
                        &mut layer.w,
                        gw,
                        [vel],
                        &layer.mask,
                        mask_id,
                        cache,
                        |w, g, [vel]| rule(w, g, vel),
                    );
                    if !sparse {
                        Zip::from(&mut layer.w)
                            .and(gw)
                            .and(&mut slots.w[0])
                            .and(&layer.mask)
                            .for_each(|w, &g, vel, &on| {
                                if on {
                                    rule(w, g, vel);
                                } else {
                                    (*w, *vel) = (0.0, 0.0);
                                }
                            });
                    }
                    Zip::from(&mut layer.b)
                        .and(gb)
                        .and(&mut slots.b[0])
                        .for_each(|b, &g, vel| {
                            *vel = momentum * *vel + g;
                            *b -= lr * *vel;
                        });
                }
            }
        }
    }
}
