//! Adapter selection and the device context shared by every GPU trainer of a process.

use std::sync::{Arc, Mutex};

use wgpu::{Backend, Backends, DeviceType};

use super::kernels::Kernels;
use crate::error::GpuError;

/// Environment variable naming the adapter to use (a case-insensitive substring of its name),
/// read by [`GpuContext::shared`] and [`GpuOptions::from_env`].
pub const ADAPTER_ENV: &str = "FPE_GPU_ADAPTER";

/// How to choose the GPU adapter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Use the first adapter whose name contains this (case-insensitive). `None`: the best
    /// adapter by type, discrete GPU first, then integrated, virtual, and CPU (lavapipe) last.
    pub adapter: Option<String>,
}

impl GpuOptions {
    /// Options from the environment: the adapter name filter from [`ADAPTER_ENV`] if set and
    /// not empty.
    pub fn from_env() -> Self {
        GpuOptions {
            adapter: std::env::var(ADAPTER_ENV).ok().filter(|s| !s.is_empty()),
        }
    }
}

/// One adapter as the graphics API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Adapter name, e.g. `NVIDIA GeForce RTX 4090` or `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Graphics API: `Vulkan`, `Metal`, `Dx12`, `Gl`.
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` or `Other`.
    pub device_type: String,
    /// Driver name and version, as reported.
    pub driver: String,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.backend, self.device_type)
    }
}

impl AdapterSummary {
    fn of(info: &wgpu::AdapterInfo) -> Self {
        let driver = [info.driver.as_str(), info.driver_info.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver,
        }
    }
}

/// Every adapter the graphics APIs compiled into this build report (usable or not).
pub fn adapters() -> Vec<AdapterSummary> {
    pollster::block_on(instance().enumerate_adapters(Backends::all()))
        .iter()
        .map(|a| AdapterSummary::of(&a.get_info()))
        .collect()
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = Backends::all();
    // No driver validation layers (they may be missing and are slow); wgpu's own API
    // validation stays on.
    desc.flags = wgpu::InstanceFlags::empty();
    wgpu::Instance::new(desc)
}

/// Preference of a device type: lower is better.
fn rank(t: DeviceType) -> u8 {
    match t {
        DeviceType::DiscreteGpu => 0,
        DeviceType::IntegratedGpu => 1,
        DeviceType::VirtualGpu => 2,
        DeviceType::Cpu => 3,
        DeviceType::Other => 4,
    }
}

/// An open GPU device with its queue and compiled pipelines. Cheap to clone (shared).
#[derive(Clone)]
pub struct GpuContext {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) kernels: Kernels,
    pub(crate) limits: wgpu::Limits,
    adapter: AdapterSummary,
    /// Errors the device reported outside any call that could return them (validation, out of
    /// memory, device lost); drained by [`GpuContext::check`].
    errors: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.inner.adapter)
            .finish_non_exhaustive()
    }
}

static SHARED: Mutex<Option<GpuContext>> = Mutex::new(None);

impl GpuContext {
    /// Opens a device on the adapter `opts` picks and compiles the training pipelines.
    ///
    /// Only Vulkan, Metal and DX12 adapters are used (wgpu's compute backends); every adapter
    /// seen is named in the error when none fits.
    ///
    /// # Errors
    /// [`GpuError::NoAdapter`] when no adapter fits, [`GpuError::Backend`] when the device
    /// cannot be opened.
    pub fn new(opts: &GpuOptions) -> Result<Self, GpuError> {
        let instance = instance();
        let all = pollster::block_on(instance.enumerate_adapters(Backends::all()));
        let seen: Vec<String> = all
            .iter()
            .map(|a| AdapterSummary::of(&a.get_info()).to_string())
            .collect();
        let filter = opts.adapter.as_ref().map(|s| s.to_lowercase());
        let chosen = all
            .into_iter()
            .filter(|a| {
                let info = a.get_info();
                matches!(
                    info.backend,
                    Backend::Vulkan | Backend::Metal | Backend::Dx12
                ) && a.get_downlevel_capabilities().is_webgpu_compliant()
                    && filter
                        .as_ref()
                        .is_none_or(|f| info.name.to_lowercase().contains(f))
            })
            .enumerate()
            .min_by_key(|(i, a)| (rank(a.get_info().device_type), *i))
            .map(|(_, a)| a);
        let Some(adapter) = chosen else {
            return Err(GpuError::NoAdapter {
                filter: opts.adapter.clone(),
                seen,
            });
        };
        let summary = AdapterSummary::of(&adapter.get_info());
        let available = adapter.limits();
        // WebGPU's default limits, with the buffer sizes the adapter allows (training sets
        // live on the device).
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: available.max_storage_buffer_binding_size,
            max_buffer_size: available.max_buffer_size,
            ..wgpu::Limits::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("fpe"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        }))
        .map_err(|e| GpuError::Backend {
            adapter: summary.to_string(),
            reason: format!("could not open the device: {e}"),
        })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.to_string());
        }));
        let sink = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("device lost ({reason:?}): {message}"));
        });
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let kernels = Kernels::new(&device);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Backend {
                adapter: summary.to_string(),
                reason: format!("compiling the training shaders failed: {e}"),
            });
        }
        let ctx = GpuContext {
            inner: Arc::new(Inner {
                device,
                queue,
                kernels,
                limits,
                adapter: summary,
                errors,
            }),
        };
        ctx.check()?;
        Ok(ctx)
    }

    /// The process-wide context, opened on first use with [`GpuOptions::from_env`] and kept
    /// while the process runs (a failed attempt is retried on the next call).
    ///
    /// # Errors
    /// As [`GpuContext::new`].
    pub fn shared() -> Result<Self, GpuError> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ctx) = shared.as_ref() {
            return Ok(ctx.clone());
        }
        let ctx = GpuContext::new(&GpuOptions::from_env())?;
        *shared = Some(ctx.clone());
        Ok(ctx)
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.inner.adapter
    }

    /// Returns the first error the device reported since the last check, if any.
    ///
    /// # Errors
    /// [`GpuError::Backend`] with the device's message.
    pub(crate) fn check(&self) -> Result<(), GpuError> {
        let mut errors = self.inner.errors.lock().unwrap_or_else(|p| p.into_inner());
        if errors.is_empty() {
            return Ok(());
        }
        let reason = errors.join("; ");
        errors.clear();
        Err(self.backend_error(reason))
    }

    pub(crate) fn backend_error(&self, reason: impl Into<String>) -> GpuError {
        GpuError::Backend {
            adapter: self.inner.adapter.to_string(),
            reason: reason.into(),
        }
    }

    /// Blocks until every submitted command has finished.
    ///
    /// # Errors
    /// [`GpuError::Backend`] if waiting fails or the device reported an error.
    pub(crate) fn wait(&self) -> Result<(), GpuError> {
        self.inner
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.backend_error(format!("waiting for the device: {e}")))?;
        self.check()
    }
}
