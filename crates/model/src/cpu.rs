//! What the CPU offers the kernels, decided once per process, in one place.
//!
//! The kernels have portable code and AVX / AVX2 / AVX2 + FMA copies that give the same bits
//! (see `gemm`, `layout` and the gathered kernel's `simd`); which copy runs is read here. Setting
//! the environment variable `FPE_SIMD=baseline` forces the portable code everywhere.

use std::sync::OnceLock;

/// The instruction-set extensions the kernels use, as detected (all off with
/// `FPE_SIMD=baseline` or on a CPU other than x86-64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Features {
    /// AVX (256-bit float vectors).
    pub(crate) avx: bool,
    /// AVX2.
    pub(crate) avx2: bool,
    /// Fused multiply-add.
    pub(crate) fma: bool,
}

/// Whether `FPE_SIMD=baseline` asks for the portable code.
fn baseline_forced() -> bool {
    std::env::var("FPE_SIMD").is_ok_and(|v| v == "baseline")
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    Features {
        avx: std::arch::is_x86_feature_detected!("avx"),
        avx2: std::arch::is_x86_feature_detected!("avx2"),
        fma: std::arch::is_x86_feature_detected!("fma"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Features {
    Features::default()
}

/// The features the kernels may use in this process.
pub(crate) fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    *FEATURES.get_or_init(|| {
        if baseline_forced() {
            Features::default()
        } else {
            detect()
        }
    })
}

/// The features the CPU has, whatever `FPE_SIMD` says (for tests that check what runs).
#[cfg(test)]
pub(crate) fn detected() -> Features {
    detect()
}

/// Whether `FPE_SIMD=baseline` is set (for tests that check what runs).
#[cfg(test)]
pub(crate) fn forced_baseline() -> bool {
    baseline_forced()
}
