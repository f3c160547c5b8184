//! Where training runs: [`Device::Cpu`] (always available) or [`Device::Gpu`] (the wgpu backend of
//! the optional `gpu` cargo feature, module `fpe_model::gpu`). Its errors are [`GpuError`]s.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, GpuError};

/// The device a model trains on.
///
/// Parsed from `cpu` or `gpu` (as in `fpe … --device gpu`). Results on the two devices agree to
/// float rounding (about 1e-6 relative per step; the GPU sums in a different, but fixed, order)
/// and each is bit-deterministic run to run.
///
/// ```
/// use fpe_model::Device;
/// assert_eq!("gpu".parse::<Device>()?, Device::Gpu);
/// assert!("tpu".parse::<Device>().is_err());
/// assert!(Device::Cpu.check().is_ok());
/// # Ok::<(), fpe_model::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// The CPU kernels ([`crate::KernelPolicy`]); the default.
    #[default]
    Cpu,
    /// The wgpu backend (module `fpe_model::gpu`); needs the `gpu` feature and a Vulkan, Metal or DX12
    /// adapter.
    Gpu,
}

impl Device {
    /// Whether this build has the GPU backend (the `gpu` cargo feature).
    pub const GPU_COMPILED: bool = cfg!(feature = "gpu");

    /// Stable id: `cpu` or `gpu`.
    pub fn name(&self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
        }
    }

    /// Checks that the device can be used. Always `Ok` for the CPU; for the GPU this opens the
    /// process-wide GPU context (`gpu::GpuContext::shared`), so the first call takes a moment.
    ///
    /// # Errors
    /// [`GpuError::NotCompiled`] for the GPU in a build without the `gpu` feature;
    /// [`GpuError::NoAdapter`] (naming the adapters seen) or [`GpuError::Backend`] when no GPU
    /// device can be opened.
    pub fn check(&self) -> Result<(), GpuError> {
        match self {
            Device::Cpu => Ok(()),
            #[cfg(feature = "gpu")]
            Device::Gpu => crate::gpu::GpuContext::shared().map(|_| ()),
            #[cfg(not(feature = "gpu"))]
            Device::Gpu => Err(GpuError::NotCompiled),
        }
    }
}

impl Device {
    /// Trains `t` for `epochs` epochs without per-step hooks on this device: on the CPU
    /// [`crate::Trainer::fit`]; on the GPU the trainer is uploaded
    /// (kernels chosen by its [`crate::Trainer::kernel_policy`]), trained there and written back
    /// into `t` (model, optimiser state, counters); the batch order comes from `rng` either way.
    ///
    /// # Errors
    /// As [`crate::Trainer::fit`] (wrapped in [`GpuError::Model`]); for the GPU also those of
    /// [`Device::check`] and of the GPU trainer.
    pub fn fit(
        &self,
        t: &mut crate::Trainer,
        x: ndarray::ArrayView2<'_, f32>,
        y: crate::TargetsRef<'_>,
        epochs: usize,
        batch_size: usize,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Vec<crate::EpochReport>, GpuError> {
        match self {
            Device::Cpu => Ok(t.fit(x, y, epochs, batch_size, rng, &mut crate::NoHooks)?),
            Device::Gpu if t.mlp().backbone().is_some() => Err(unsupported(t.mlp())),
            _ if epochs == 0 => Ok(Vec::new()),
            #[cfg(feature = "gpu")]
            Device::Gpu => {
                let ctx = crate::gpu::GpuContext::shared()?;
                let policy = t.kernel_policy();
                let mut gpu = crate::gpu::GpuTrainer::from_trainer(&ctx, t, policy)?;
                let reports = gpu.fit(x, y, epochs, batch_size, rng)?;
                gpu.write_back(t)?;
                Ok(reports)
            }
            #[cfg(not(feature = "gpu"))]
            Device::Gpu => Err(GpuError::NotCompiled),
        }
    }
}

/// The error for a network the GPU backend cannot train (one with a backbone).
pub(crate) fn unsupported(mlp: &crate::Mlp) -> GpuError {
    let stages = mlp.backbone().map_or(String::new(), |b| {
        b.config()
            .stages
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    });
    GpuError::Unsupported(stages)
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Device {
    type Err = Error;

    /// `cpu` or `gpu` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            _ => Err(Error::config("device", s, "allowed values are cpu, gpu")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for d in [Device::Cpu, Device::Gpu] {
            assert_eq!(d.name().parse::<Device>().unwrap(), d);
            assert_eq!(d.to_string(), d.name());
        }
        assert_eq!("GPU".parse::<Device>().unwrap(), Device::Gpu);
        let err = "tpu".parse::<Device>().unwrap_err().to_string();
        assert!(err.contains("device") && err.contains("cpu, gpu"), "{err}");
    }

    #[cfg(not(feature = "gpu"))]
    #[test]
    fn gpu_without_the_feature_is_a_clear_error() {
        assert!(matches!(Device::Gpu.check(), Err(GpuError::NotCompiled)));
    }
}
