//! Synthetic networks with the shapes and masks of Fixed Parameter Expansion, for benchmarks and
//! kernel tests (no expansion is run; the `fpe` crate does real ones). Not part of the modelling
//! API: `fpe bench` and the criterion benches use it.
//!
//! [`expanded_like`] builds what a random-split FPE of a dense `d → h → C` network looks like: a
//! hidden layer of `α·h` neurons where the `α` children of each parent split the parent's `d`
//! inputs into a balanced random partition (fan-in `d/α`, sizes differing by at most one), and
//! an output layer where, for every output and every parent, one of the parent's `α` children
//! (uniformly at random) keeps the connection. Both layers keep the dense network's
//! active-weight count: `α·h·(d/α) = h·d` and `C·h`, so the total is the same as dense.
//!
//! [`step_cases`] lists the training-step configurations that `fpe bench` and the criterion
//! benches measure.

use ndarray::{Array1, Array2};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::loss::TargetsRef;
use crate::mlp::{Mlp, MlpConfig};

/// A dense `d → h → C` network (`α = 1`) or its FPE-shaped expansion by `α` (see the module
/// docs), with PyTorch-default initial values.
///
/// # Errors
/// [`Error::Config`] if `α = 0`, `α > d` or a width is zero.
pub fn expanded_like<R: Rng + ?Sized>(
    d: usize,
    h: usize,
    c: usize,
    alpha: usize,
    rng: &mut R,
) -> Result<Mlp> {
    if alpha == 0 || alpha > d {
        return Err(Error::config(
            "alpha",
            alpha,
            format!("must be in 1..={d} (the input width)"),
        ));
    }
    let wide = MlpConfig {
        d_in: d,
        hidden: vec![h * alpha],
        d_out: c,
    }
    .init(rng)?;
    if alpha == 1 {
        return Ok(wide);
    }
    let (l0, l1) = (&wide.layers()[0], &wide.layers()[1]);
    let mut m0 = Array2::from_elem((h * alpha, d), false);
    let mut inputs: Vec<usize> = (0..d).collect();
    for parent in 0..h {
        inputs.shuffle(rng);
        for (k, &i) in inputs.iter().enumerate() {
            m0[[parent * alpha + k % alpha, i]] = true;
        }
    }
    let mut m1 = Array2::from_elem((c, h * alpha), false);
    for o in 0..c {
        for parent in 0..h {
            m1[[o, parent * alpha + rng.random_range(0..alpha)]] = true;
        }
    }
    Mlp::from_layers(vec![
        Layer::new(l0.weight().to_owned(), l0.bias().to_owned(), m0)?,
        Layer::new(l1.weight().to_owned(), l1.bias().to_owned(), m1)?,
    ])
}

/// Owned targets for a benchmark batch.
#[derive(Clone, Debug)]
pub enum Targets {
    /// `[batch]` class ids (softmax cross-entropy).
    Classes(Array1<u32>),
    /// `[batch, C]` 0/1 targets (BCE with logits).
    Binary(Array2<f32>),
}

impl Targets {
    /// Borrowed view for [`crate::Workspace::loss_grad`].
    pub fn view(&self) -> TargetsRef<'_> {
        match self {
            Targets::Classes(y) => TargetsRef::Classes(y.view()),
            Targets::Binary(y) => TargetsRef::Binary(y.view()),
        }
    }
}

/// One benchmarked training-step configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepCase {
    /// Stable id, e.g. `boolean_64_256_16_a4`.
    pub name: String,
    /// The dense base this case is compared with (same family), e.g. `boolean_64_256_16`.
    pub family: String,
    /// Dense widths `[d, h_1, …, C]` before expansion.
    pub widths: Vec<usize>,
    /// Expansion factor (1 = the dense base).
    pub alpha: usize,
    /// Softmax over classes (embeddings) instead of multi-label BCE (Boolean codes).
    pub classes: bool,
}

impl StepCase {
    fn new(family: &str, widths: &[usize], alpha: usize, classes: bool) -> Self {
        let name = if alpha == 1 {
            family.to_string()
        } else {
            format!("{family}_a{alpha}")
        };
        StepCase {
            name,
            family: family.to_string(),
            widths: widths.to_vec(),
            alpha,
            classes,
        }
    }

    /// The network: dense for `α = 1` (any depth), else [`expanded_like`] (one hidden layer).
    ///
    /// # Errors
    /// As [`expanded_like`] and [`MlpConfig::init`]; [`Error::Config`] for `α > 1` on a network
    /// that does not have exactly one hidden layer.
    pub fn build<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Mlp> {
        let w = &self.widths;
        if self.alpha == 1 {
            return MlpConfig {
                d_in: w[0],
                hidden: w[1..w.len() - 1].to_vec(),
                d_out: w[w.len() - 1],
            }
            .init(rng);
        }
        if w.len() != 3 {
            return Err(Error::config(
                "widths",
                format!("{w:?}"),
                "expanded cases need exactly one hidden layer",
            ));
        }
        expanded_like(w[0], w[1], w[2], self.alpha, rng)
    }

    /// A random batch: inputs uniform in `[0, 1)` (Boolean: 0/1 bits), targets uniform.
    pub fn batch<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (Array2<f32>, Targets) {
        let (d, c) = (self.widths[0], self.widths[self.widths.len() - 1]);
        let x = if self.classes {
            Array2::from_shape_simple_fn((n, d), || rng.random_range(-1.0f32..1.0))
        } else {
            Array2::from_shape_simple_fn((n, d), || f32::from(u8::from(rng.random_bool(0.5))))
        };
        let y = if self.classes {
            Targets::Classes(Array1::from_shape_simple_fn(n, || {
                rng.random_range(0..c as u32)
            }))
        } else {
            Targets::Binary(Array2::from_shape_simple_fn((n, c), || {
                f32::from(u8::from(rng.random_bool(0.5)))
            }))
        };
        (x, y)
    }
}

/// The configurations of `fpe bench` (issue #7): Boolean 64→256→16 dense and its FPE shapes
/// at α ∈ {2, 4, 8, 16}; embedding 256→32→10 dense and α = 4; a 5-layer embedding MLP
/// 256→16→16→16→16→10 dense.
pub fn step_cases() -> Vec<StepCase> {
    let mut cases = Vec::new();
    for alpha in [1, 2, 4, 8, 16] {
        cases.push(StepCase::new(
            "boolean_64_256_16",
            &[64, 256, 16],
            alpha,
            false,
        ));
    }
    for alpha in [1, 4] {
        cases.push(StepCase::new(
            "embed_256_32_10",
            &[256, 32, 10],
            alpha,
            true,
        ));
    }
    cases.push(StepCase::new(
        "embed5_256_16x4_10",
        &[256, 16, 16, 16, 16, 10],
        1,
        true,
    ));
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn expanded_keeps_the_dense_nnz_and_constant_fan_in() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for alpha in [1, 2, 4, 8, 16] {
            let mlp = expanded_like(64, 256, 16, alpha, &mut rng).unwrap();
            assert_eq!(mlp.nnz(), 64 * 256 + 256 * 16);
            assert_eq!(mlp.hidden_widths(), vec![256 * alpha]);
            assert!(mlp.layers()[0].fan_in().iter().all(|&f| f == 64 / alpha));
        }
    }
}
