//! The `dropconnect` control [paper control; choice: details]: width h, dense, and at every
//! training step each active weight of one layer is kept with probability `keep` (1/α by
//! default) and scaled by `1/keep` (inverted DropConnect), so the expected pre-activation is
//! unchanged; the full weights are used at test time. One mask per step (shared by the whole
//! batch), drawn from the hook's own RNG stream.

use fpe_model::{Grads, Mlp, Result, StepContext, TrainHooks};
use ndarray::{Array2, Zip};
use rand::Rng;

/// Training hook applying DropConnect to the incoming weights of `layer`.
pub struct DropConnect<R> {
    layer: usize,
    keep: f32,
    rng: R,
    saved: Option<Array2<f32>>,
    scale: Array2<f32>,
}

impl<R: Rng> DropConnect<R> {
    /// DropConnect on `layer` keeping each weight with probability `keep` ∈ (0, 1].
    ///
    /// # Panics
    /// If `keep` is not in (0, 1].
    pub fn new(layer: usize, keep: f32, rng: R) -> Self {
        assert!(
            keep > 0.0 && keep <= 1.0,
            "DropConnect keep probability {keep} not in (0, 1]"
        );
        DropConnect {
            layer,
            keep,
            rng,
            saved: None,
            scale: Array2::zeros((0, 0)),
        }
    }
}

impl<R: Rng> TrainHooks for DropConnect<R> {
    fn before_step(&mut self, _ctx: &StepContext<'_>, mlp: &mut Mlp) -> Result<()> {
        let w = mlp.layers()[self.layer].weight().to_owned();
        let (keep, inv) = (f64::from(self.keep), 1.0 / self.keep);
        let rng = &mut self.rng;
        self.scale =
            Array2::from_shape_simple_fn(w.dim(), || if rng.random_bool(keep) { inv } else { 0.0 });
        mlp.layer_mut(self.layer).set_weight(&w * &self.scale)?;
        self.saved = Some(w);
        Ok(())
    }

    fn after_backward(
        &mut self,
        _ctx: &StepContext<'_>,
        mlp: &mut Mlp,
        grads: &mut Grads,
    ) -> Result<()> {
        if let Some(w) = self.saved.take() {
            mlp.layer_mut(self.layer).set_weight(w)?;
        }
        // ∂L/∂W = ∂L/∂W_eff ⊙ (m / keep).
        Zip::from(&mut grads.w[self.layer])
            .and(&self.scale)
            .for_each(|g, &s| *g *= s);
        Ok(())
    }
}
