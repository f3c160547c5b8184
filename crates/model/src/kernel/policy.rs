//! [`KernelPolicy`]: which kernel each layer gets (dense, gathered, or by density).

use serde::{Deserialize, Serialize};

use super::dense::DenseKernel;
use super::gathered::GatheredKernel;
use super::seam::LayerKernel;
use crate::layer::Layer;
use crate::mlp::Mlp;

/// Density (active fraction of a layer's weights) below which [`KernelPolicy::Auto`] picks the
/// gathered kernel.
///
/// Measured on the development machine (2-core AMD EPYC Zen 3, AVX2, one thread, chunks of
/// [`crate::CHUNK_ROWS`] rows): the time of forward + weight gradient + input gradient of one
/// layer with a random mask, gathered over dense, for layers of `[out, in]` = `[256, 64]`,
/// `[16, 1024]`, `[1024, 64]`, `[32, 256]`, `[256, 256]`:
///
/// | density | 1.0 | 0.75 | 0.6 | 0.5 | 0.4 | 0.3 | 0.25 | 0.125 |
/// |---|---|---|---|---|---|---|---|---|
/// | gathered / dense | 1.3–1.8 | 1.1–1.5 | 0.9–1.3 | 0.8–1.1 | 0.6–1.0 | 0.5–0.6 | 0.4–0.5 | 0.2–0.3 |
///
/// The crossover lies between 0.5 and 0.6; in whole training steps an α = 2 expansion
/// (density 0.5) runs about 1.25× faster gathered, so the threshold is 0.55. Small layers
/// (`[10, 128]`) are faster gathered even when dense, but are cheap either way.
pub const AUTO_GATHER_BELOW: f64 = 0.55;

/// How to choose a kernel for each layer.
///
/// Every policy gives the same results up to float rounding (1e-5 relative; the kernels sum
/// in different orders), each deterministic and independent of the thread count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelPolicy {
    /// Dense products for every layer ([`DenseKernel`]).
    Dense,
    /// Gathered products for every layer ([`GatheredKernel`]): cost follows the active weights.
    Gathered,
    /// Per layer by density: gathered below [`AUTO_GATHER_BELOW`], dense otherwise (default).
    #[default]
    Auto,
}

impl KernelPolicy {
    /// One kernel per layer of `mlp`.
    pub fn build(&self, mlp: &Mlp) -> Vec<Box<dyn LayerKernel>> {
        mlp.layers().iter().map(|l| self.build_layer(l)).collect()
    }

    /// The kernel this policy picks for `layer`.
    pub fn build_layer(&self, layer: &Layer) -> Box<dyn LayerKernel> {
        let gathered = match self {
            KernelPolicy::Dense => false,
            KernelPolicy::Gathered => true,
            KernelPolicy::Auto => layer.density() < AUTO_GATHER_BELOW,
        };
        if gathered {
            Box::new(GatheredKernel::new(layer))
        } else {
            Box::new(DenseKernel)
        }
    }

    /// Stable id used in configs and tables (`dense`, `gathered`, `auto`), as serialised.
    pub fn name(&self) -> &'static str {
        match self {
            KernelPolicy::Dense => "dense",
            KernelPolicy::Gathered => "gathered",
            KernelPolicy::Auto => "auto",
        }
    }
}
