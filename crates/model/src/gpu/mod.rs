//! GPU training through [wgpu](https://wgpu.rs) (the optional `gpu` cargo feature).
//!
//! [`GpuTrainer`] keeps the model's weights, masks (as index lists), optimiser state and the
//! training set on the device and runs whole training steps there: gather the batch, forward
//! (affine + ReLU), loss gradient (softmax cross-entropy or BCE-with-logits with the means of
//! [`crate::TargetsRef`]), input gradients with the ReLU derivative, masked weight gradients
//! and the Adam / momentum-SGD update with decoupled weight decay ([`crate::Optimizer`]'s
//! arithmetic, bias correction computed on the host in `f64` as there). Per layer the products
//! are dense or gathered over index lists of the active weights, chosen by
//! [`crate::KernelPolicy`] as on the CPU. The host only shuffles (with the caller's RNG, as
//! [`crate::Trainer::fit`]), writes each epoch's batch order and per-step constants, and reads
//! the per-sample losses back once per epoch.
//!
//! # Mask invariant
//! Gradients and optimiser slots are packed: one value per *active* weight. The update kernel
//! walks the active weights only, so an inactive weight, its gradient and its moments are never
//! written and stay exactly zero.
//!
//! # Determinism and agreement with the CPU
//! No float atomics: every sum runs inside one invocation, in a fixed order (inputs, outputs or
//! samples in increasing order). The same model, data and seed give bit-identical results run
//! to run on one device (tested). Against the CPU the sums run in other orders (and the GPU's
//! `exp`/`log` round differently), so results agree to float rounding: a full short training
//! run stays within 1e-4 relative of the CPU's weights and losses (tested on lavapipe), but
//! they are not bit-identical, and other GPUs may round differently again.
//!
//! # Devices
//! [`GpuContext::shared`] opens the best adapter of the Vulkan, Metal or DX12 backends
//! (discrete GPU, then integrated, virtual, CPU); `FPE_GPU_ADAPTER=<name part>` picks one by
//! name. On a machine without a GPU, Mesa's lavapipe (`mesa-vulkan-drivers`) runs the same
//! shaders on the CPU, which is how CI tests this module.
//!
//! ```no_run
//! use fpe_model::gpu::{GpuContext, GpuTrainer};
//! use fpe_model::{KernelPolicy, MlpConfig, Optimizer, OptimizerConfig, TargetsRef};
//! use ndarray::{Array1, Array2};
//! use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
//!
//! let mut rng = ChaCha8Rng::seed_from_u64(0);
//! let mlp = MlpConfig { d_in: 4, hidden: vec![8], d_out: 3 }.init(&mut rng)?;
//! let opt = Optimizer::new(OptimizerConfig::default(), &mlp)?;
//! let x = Array2::<f32>::zeros((32, 4));
//! let y = Array1::<u32>::zeros(32);
//! let ctx = GpuContext::shared()?;
//! let mut gpu = GpuTrainer::new(&ctx, mlp, &opt, KernelPolicy::Auto)?;
//! let reports = gpu.fit(x.view(), TargetsRef::Classes(y.view()), 5, 8, &mut rng)?;
//! let trained = gpu.mlp()?; // back on the host, for evaluation or checkpoints
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod buffers;
mod context;
mod kernels;
mod layer;
mod trainer;

pub use context::{ADAPTER_ENV, AdapterSummary, GpuContext, GpuOptions, adapters};
pub use trainer::GpuTrainer;
