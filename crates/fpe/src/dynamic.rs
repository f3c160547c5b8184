//! Dynamic sparsity after expansion [paper: compatible; choice: algorithm] (SPEC §6).
//!
//! Every `every` steps (ΔT), for each chosen layer, drop the fraction ζ_t of its active weights
//! with the smallest |w| and regrow as many inactive ones: `set` picks them uniformly at random,
//! `rigl` where the dense gradient on the current batch is largest in magnitude (ties by index).
//! ζ_t = ζ·(1 + cos(π·t/T))/2 decays to 0 over the `fit` call (t = step in the call, T = its
//! steps). Regrown weights start at 0 with zero optimiser state; dropped weights' state is
//! zeroed. Weights dropped in an update are not regrown in the same update. nnz never changes.
//!
//! `keep_disjoint`: a row may regrow only into inputs that none of its siblings (the other rows of
//! its α-group, i.e. the other children of its parent) uses, so children stay disjoint.

use fpe_model::{Mlp, Optimizer, Result, StepContext, TrainHooks, unmasked_weight_grad};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Regrowth rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DynamicMethod {
    /// Sparse Evolutionary Training: regrow at random.
    #[default]
    Set,
    /// RigL: regrow where |dense gradient| is largest.
    Rigl,
}

/// Options of dynamic sparsity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DynamicConfig {
    /// Regrowth rule.
    pub method: DynamicMethod,
    /// Steps between updates (ΔT).
    pub every: u64,
    /// Initial drop fraction ζ (cosine-decayed to 0).
    pub zeta: f64,
    /// Layers whose masks evolve.
    pub layers: Vec<usize>,
    /// Regrow only into inputs no sibling uses (siblings = rows in the same group of `alpha`).
    pub keep_disjoint: bool,
    /// Children per parent, for `keep_disjoint`.
    pub alpha: usize,
}

impl Default for DynamicConfig {
    fn default() -> Self {
        DynamicConfig {
            method: DynamicMethod::Set,
            every: 100,
            zeta: 0.3,
            layers: vec![0],
            keep_disjoint: false,
            alpha: 1,
        }
    }
}

/// Training hook that evolves masks at constant nnz.
pub struct DynamicSparsity<R> {
    cfg: DynamicConfig,
    rng: R,
    /// Weights moved (dropped = regrown) per update, for logs.
    pub moved: Vec<(u64, usize)>,
}

impl<R: Rng> DynamicSparsity<R> {
    /// A hook with its own RNG stream.
    pub fn new(cfg: DynamicConfig, rng: R) -> Self {
        DynamicSparsity {
            cfg,
            rng,
            moved: Vec::new(),
        }
    }

    fn update_layer(
        &mut self,
        ctx: &StepContext<'_>,
        mlp: &mut Mlp,
        l: usize,
        frac: f64,
    ) -> Result<usize> {
        let layer = &mlp.layers()[l];
        let (rows, cols) = layer.weight().dim();
        let mut mask = layer.mask().to_owned();
        let n_drop = (frac * layer.nnz() as f64).floor() as usize;
        if n_drop == 0 {
            return Ok(0);
        }
        let mut active: Vec<(f32, usize)> = layer
            .weight()
            .iter()
            .zip(layer.mask())
            .enumerate()
            .filter(|(_, (_, on))| **on)
            .map(|(i, (w, _))| (w.abs(), i))
            .collect();
        active.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let dropped: Vec<usize> = active[..n_drop.min(active.len())]
            .iter()
            .map(|&(_, i)| i)
            .collect();
        for &i in &dropped {
            mask[[i / cols, i % cols]] = false;
        }
        let mut was_dropped = vec![false; rows * cols];
        for &i in &dropped {
            was_dropped[i] = true;
        }
        let a = self.cfg.alpha.max(1);
        let mut candidates: Vec<usize> = (0..rows * cols)
            .filter(|&i| {
                let (r, c) = (i / cols, i % cols);
                if mask[[r, c]] || was_dropped[i] {
                    return false;
                }
                if self.cfg.keep_disjoint {
                    let g = r / a * a;
                    return (g..(g + a).min(rows)).all(|s| s == r || !mask[[s, c]]);
                }
                true
            })
            .collect();
        // Candidates in preference order: random for `set`, |dense gradient| for `rigl`.
        match self.cfg.method {
            DynamicMethod::Set => candidates.shuffle(&mut self.rng),
            DynamicMethod::Rigl => {
                let g = unmasked_weight_grad(mlp, ctx.x, ctx.y, l);
                let flat: Vec<f32> = g.iter().map(|v| v.abs()).collect();
                candidates.sort_by(|&x, &y| flat[y].total_cmp(&flat[x]).then(x.cmp(&y)));
            }
        }
        let mut grown = 0usize;
        for &i in &candidates {
            if grown == dropped.len() {
                break;
            }
            let (r, c) = (i / cols, i % cols);
            if self.cfg.keep_disjoint {
                // Re-check against rows grown earlier in this update.
                let g = r / a * a;
                if (g..(g + a).min(rows)).any(|s| s != r && mask[[s, c]]) {
                    continue;
                }
            }
            mask[[r, c]] = true;
            grown += 1;
        }
        // Keep nnz constant: if fewer weights could regrow than were dropped, restore the
        // largest dropped ones.
        for &i in &dropped[grown..] {
            mask[[i / cols, i % cols]] = true;
        }
        let n = grown;
        mlp.layer_mut(l).set_mask(mask)?;
        Ok(n)
    }
}

impl<R: Rng> TrainHooks for DynamicSparsity<R> {
    fn after_step(
        &mut self,
        ctx: &StepContext<'_>,
        mlp: &mut Mlp,
        opt: &mut Optimizer,
    ) -> Result<bool> {
        let t = ctx.step_in_fit + 1;
        if self.cfg.every == 0 || !t.is_multiple_of(self.cfg.every) || t >= ctx.steps_in_fit {
            return Ok(false);
        }
        let frac = self.cfg.zeta
            * 0.5
            * (1.0 + (std::f64::consts::PI * t as f64 / ctx.steps_in_fit as f64).cos());
        let mut moved = 0;
        for l in self.cfg.layers.clone() {
            moved += self.update_layer(ctx, mlp, l, frac)?;
        }
        opt.zero_inactive(mlp);
        self.moved.push((ctx.step, moved));
        Ok(moved > 0)
    }
}
