//! Runtime choice of instruction set for the gathered kernel's loop nests (SIMD dispatch).
//!
//! The workspace compiles for baseline x86-64 (SSE2), where LLVM vectorises the batch loops four
//! floats wide. On a CPU with AVX2, the same generic loops, compiled a second time inside a
//! `#[target_feature(enable = "avx2")]` function, run instead: eight floats wide, with more
//! register blocking. The weight-gradient dot products use explicit AVX2 intrinsics there
//! ([`dots_avx2`]), because LLVM's vectoriser handles their fixed-order reductions poorly.
//! Every copy does the same multiplies and adds (never fused) in the same order as the portable
//! code in `kernel::lanes`, so results are bit-identical on every CPU and with either copy.
//!
//! This module holds the crate's only `unsafe` code: calling AVX2 code after checking that the
//! CPU has AVX2, and the unaligned vector loads of [`dots_avx2`] (in bounds by construction).
//! Setting the environment variable `FPE_SIMD=baseline` forces the portable copy.

/// A loop nest with a baseline and an AVX2 variant (`WIDE = true`, compiled for AVX2).
pub(crate) trait Vectorised {
    /// Runs the loops. Must be `#[inline(always)]` so it is compiled into the AVX2 copy.
    fn run<const WIDE: bool>(self);
}

/// Whether the AVX2 copy is used (CPU support, unless `FPE_SIMD=baseline`: [`crate::cpu`]).
pub(crate) fn wide() -> bool {
    crate::cpu::features().avx2
}

/// Runs `v` with the best instruction set available.
#[inline]
pub(crate) fn run<V: Vectorised>(v: V) {
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: `wide()` is true only if the CPU supports AVX2, the one requirement of
        // `run_avx2`.
        #[allow(unsafe_code)]
        unsafe {
            run_avx2(v)
        };
        return;
    }
    v.run::<false>();
}

/// Runs `v` with baseline instructions (tests compare both copies).
#[cfg(test)]
pub(crate) fn run_baseline<V: Vectorised>(v: V) {
    v.run::<false>();
}

/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn run_avx2<V: Vectorised>(v: V) {
    v.run::<true>();
}

/// `out[k] = Σ_b g[b] · x[list[k]·n + b]` with `n = g.len()`, for every `k`, in the lane order
/// of `kernel::lanes::dots` (bit-identical to it); four dot products at a time.
///
/// Only call from code that runs when [`wide`] is true (the `WIDE` copy of a [`Vectorised`]).
///
/// # Panics
/// If `out.len() != list.len()` or an index points past the end of `x`.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn dots_avx2(g: &[f32], x: &[f32], list: &[u32], out: &mut [f32]) {
    assert!(wide(), "dots_avx2 needs AVX2");
    assert_eq!(out.len(), list.len(), "dots_avx2: output length");
    let n = g.len();
    // SAFETY: AVX2 is available (asserted above); all slices passed are checked to have
    // length `n`.
    #[allow(unsafe_code)]
    unsafe {
        avx2::dots(g, x, n, list, out)
    };
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::{
        __m256, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps,
        _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_loadu_ps,
        _mm256_mul_ps, _mm256_setzero_ps,
    };

    use crate::kernel::lanes::LANES;

    /// Loads eight floats from `v[at..at + 8]`.
    ///
    /// # Safety
    /// AVX2 must be available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(v: &[f32], at: usize) -> __m256 {
        let block: &[f32; 8] = v[at..at + 8].try_into().expect("eight floats");
        // SAFETY: `block` is eight readable floats; `loadu` has no alignment requirement.
        unsafe { _mm256_loadu_ps(block.as_ptr()) }
    }

    /// `((q0 + q2) + (q1 + q3))` of `q = lo8(h) + hi8(h)`, `h = a + b`: the lane tree of
    /// `lanes::reduce` for lanes `a` = 0..8 and `b` = 8..16.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn reduce(a: __m256, b: __m256) -> f32 {
        let h = _mm256_add_ps(a, b);
        let q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
        let r = _mm_add_ps(q, _mm_movehl_ps(q, q));
        _mm_cvtss_f32(_mm_add_ss(r, _mm_shuffle_ps::<0b01>(r, r)))
    }

    /// Accumulates `G` dot products of `g` with `xs[t]` over `[0, full)`, then the zero-padded
    /// tail, then reduces.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn group<const G: usize>(g: &[f32], xs: [&[f32]; G], out: &mut [f32]) {
        let n = g.len();
        let full = n - n % LANES;
        let mut lo = [_mm256_setzero_ps(); G];
        let mut hi = [_mm256_setzero_ps(); G];
        let mut c = 0;
        while c < full {
            // SAFETY (all loads here and below): AVX2 is available (caller's contract) and
            // `load` bounds-checks.
            let (g0, g1) = unsafe { (load(g, c), load(g, c + 8)) };
            for t in 0..G {
                let (x0, x1) = unsafe { (load(xs[t], c), load(xs[t], c + 8)) };
                lo[t] = _mm256_add_ps(lo[t], _mm256_mul_ps(g0, x0));
                hi[t] = _mm256_add_ps(hi[t], _mm256_mul_ps(g1, x1));
            }
            c += LANES;
        }
        if full < n {
            let mut gp = [0.0f32; LANES];
            gp[..n - full].copy_from_slice(&g[full..]);
            let (g0, g1) = unsafe { (load(&gp, 0), load(&gp, 8)) };
            for t in 0..G {
                let mut xp = [0.0f32; LANES];
                xp[..n - full].copy_from_slice(&xs[t][full..]);
                let (x0, x1) = unsafe { (load(&xp, 0), load(&xp, 8)) };
                lo[t] = _mm256_add_ps(lo[t], _mm256_mul_ps(g0, x0));
                hi[t] = _mm256_add_ps(hi[t], _mm256_mul_ps(g1, x1));
            }
        }
        for t in 0..G {
            out[t] = unsafe { reduce(lo[t], hi[t]) };
        }
    }

    /// See [`super::dots_avx2`].
    ///
    /// # Safety
    /// AVX2 must be available.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dots(g: &[f32], x: &[f32], n: usize, list: &[u32], out: &mut [f32]) {
        let column = |i: u32| &x[i as usize * n..(i as usize + 1) * n];
        let mut k = 0;
        while k + 4 <= list.len() {
            let xs = [
                column(list[k]),
                column(list[k + 1]),
                column(list[k + 2]),
                column(list[k + 3]),
            ];
            // SAFETY: AVX2 is available (caller's contract).
            unsafe { group::<4>(g, xs, &mut out[k..k + 4]) };
            k += 4;
        }
        while k < list.len() {
            // SAFETY: as above.
            unsafe { group::<1>(g, [column(list[k])], &mut out[k..k + 1]) };
            k += 1;
        }
    }
}
