//! Runtime choice of instruction set for the gathered convolution loops.
//!
//! The workspace compiles for baseline x86-64 (SSE2). On a CPU with AVX2 the same generic loop
//! nests run a second copy (`WIDE = true`), compiled inside a `#[target_feature(enable =
//! "avx2")]` function, whose two hot kernels ([`accumulate`], [`dots`]) use explicit AVX2
//! intrinsics (LLVM spills the portable versions' accumulators). Both copies do the same
//! multiplies and adds (never fused), in the same order, so they give the same bits.
//! `FPE_SIMD=baseline` forces the portable copy ([`crate::cpu`]).

/// A loop nest that runs in either copy.
pub(super) trait Loops {
    /// Runs the loops; `WIDE` is true only in the AVX2 copy. Must be `#[inline(always)]` so it
    /// is compiled into that copy, and so must everything it calls in its hot loops.
    fn run<const WIDE: bool>(self);
}

/// Runs `l` with the best instruction set available.
pub(super) fn run<L: Loops>(l: L) {
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: `wide()` is true only if the CPU supports AVX2, the one requirement of
        // `run_avx2`.
        #[allow(unsafe_code)]
        unsafe {
            run_avx2(l)
        };
        return;
    }
    l.run::<false>();
}

/// Whether the AVX2 copy runs (never while a test has forced the baseline on this thread).
pub(super) fn wide() -> bool {
    #[cfg(test)]
    if BASELINE.with(std::cell::Cell::get) {
        return false;
    }
    crate::cpu::features().avx2
}

#[cfg(test)]
thread_local! {
    /// Set by tests to run the portable copy on a CPU with AVX2.
    static BASELINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the portable copy forced on this thread (tests compare both copies).
#[cfg(test)]
pub(super) fn with_baseline<T>(f: impl FnOnce() -> T) -> T {
    BASELINE.with(|b| b.set(true));
    let out = f();
    BASELINE.with(|b| b.set(false));
    out
}

/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn run_avx2<L: Loops>(l: L) {
    l.run::<true>();
}

/// `t[p, o] = a[o, p]` for `a` `[n_o, n_p]` (both row-major): 8 × 8 blocks with AVX2 shuffles
/// in the AVX2 copy, scalar copies otherwise; the result is the same either way.
///
/// # Panics
/// If a slice is shorter than `n_o · n_p`.
pub(super) fn transpose(a: &[f32], n_p: usize, n_o: usize, t: &mut [f32]) {
    let (a, t) = (&a[..n_o * n_p], &mut t[..n_o * n_p]);
    let (p8, o8) = (n_p - n_p % 8, n_o - n_o % 8);
    #[cfg(target_arch = "x86_64")]
    if wide() {
        for o0 in (0..o8).step_by(8) {
            for p0 in (0..p8).step_by(8) {
                // SAFETY: `wide()` checked AVX2.
                #[allow(unsafe_code)]
                unsafe {
                    avx2::transpose8(&a[o0 * n_p + p0..], n_p, &mut t[p0 * n_o + o0..], n_o)
                };
            }
        }
    } else {
        block_transpose(a, n_p, n_o, t, p8, o8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    block_transpose(a, n_p, n_o, t, p8, o8);
    // Ragged edges.
    for o in 0..n_o {
        let ps = if o < o8 { p8..n_p } else { 0..n_p };
        for p in ps {
            t[p * n_o + o] = a[o * n_p + p];
        }
    }
}

/// The 8 × 8 blocks of [`transpose`] with scalar copies.
fn block_transpose(a: &[f32], n_p: usize, n_o: usize, t: &mut [f32], p8: usize, o8: usize) {
    for o0 in (0..o8).step_by(8) {
        for p0 in (0..p8).step_by(8) {
            for j in 0..8 {
                let dst = &mut t[(p0 + j) * n_o + o0..][..8];
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = a[(o0 + i) * n_p + p0 + j];
                }
            }
        }
    }
}

/// `out[c·8 + l] = base + Σ_t wts[t] · src[list[t]·ld + p0 + c·8 + l]` for `8·N` consecutive
/// floats, the sum in list order (one multiply and one add per term).
///
/// # Panics
/// If a row block lies outside `src`.
#[inline(always)]
pub(super) fn accumulate<const WIDE: bool, const N: usize>(
    list: &[u32],
    wts: &[f32],
    base: f32,
    src: &[f32],
    ld: usize,
    p0: usize,
    out: &mut [[f32; 8]; N],
) {
    #[cfg(target_arch = "x86_64")]
    if WIDE {
        // SAFETY: the `WIDE` copy only runs inside `run_avx2`, after checking AVX2.
        #[allow(unsafe_code)]
        unsafe {
            avx2::accumulate(list, wts, base, src, ld, p0, out)
        };
        return;
    }
    *out = [[base; 8]; N];
    for (&j, &w) in list.iter().zip(wts) {
        let at = j as usize * ld + p0;
        let v = &src[at..at + 8 * N];
        for (c, acc) in out.iter_mut().enumerate() {
            let vc: &[f32; 8] = v[c * 8..c * 8 + 8].try_into().expect("block");
            for l in 0..8 {
                acc[l] += w * vc[l];
            }
        }
    }
}

/// `G` dot products `g · xs[t]` (lengths equal, a multiple of 8), each accumulated in sixteen
/// lanes (element `i` to lane `i % 16`) and the lanes added in a fixed tree.
///
/// # Panics
/// If the lengths differ or are not a multiple of 8.
#[inline(always)]
pub(super) fn dots<const WIDE: bool, const G: usize>(g: &[f32], xs: [&[f32]; G]) -> [f32; G] {
    let n = g.len();
    assert!(n.is_multiple_of(8), "dots: length not a multiple of 8");
    for x in &xs {
        assert_eq!(x.len(), n, "dots: lengths differ");
    }
    #[cfg(target_arch = "x86_64")]
    if WIDE {
        // SAFETY: the `WIDE` copy only runs inside `run_avx2`, after checking AVX2; lengths
        // are checked above.
        #[allow(unsafe_code)]
        return unsafe { avx2::dots(g, xs) };
    }
    let mut acc = [[0.0f32; 16]; G];
    let mut c = 0;
    while c + 16 <= n {
        let gv: &[f32; 16] = g[c..c + 16].try_into().expect("block");
        for t in 0..G {
            let xv: &[f32; 16] = xs[t][c..c + 16].try_into().expect("block");
            for l in 0..16 {
                acc[t][l] += gv[l] * xv[l];
            }
        }
        c += 16;
    }
    if c < n {
        for t in 0..G {
            for l in 0..8 {
                acc[t][l] += g[c + l] * xs[t][c + l];
            }
        }
    }
    acc.map(|a| tree_sum(&a))
}

/// `Σ a` in a fixed tree: lane `l` with `l + 8`, then `+ 4`, then `(0 + 2) + (1 + 3)`.
#[inline(always)]
pub(super) fn tree_sum(a: &[f32; 16]) -> f32 {
    let mut h = [0.0f32; 8];
    for l in 0..8 {
        h[l] = a[l] + a[l + 8];
    }
    let mut q = [0.0f32; 4];
    for l in 0..4 {
        q[l] = h[l] + h[l + 4];
    }
    (q[0] + q[2]) + (q[1] + q[3])
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::{
        __m256, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps,
        _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_loadu_ps,
        _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };

    /// Stores eight floats at `v[at..at + 8]` (bounds-checked).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn store(v: &mut [f32], at: usize, x: __m256) {
        let block: &mut [f32; 8] = (&mut v[at..at + 8]).try_into().expect("eight floats");
        // SAFETY: `block` is eight writable floats; `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_ps(block.as_mut_ptr(), x) };
    }

    /// `t[j·rt + i] = a[i·ra + j]` for `i, j < 8`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn transpose8(a: &[f32], ra: usize, t: &mut [f32], rt: usize) {
        let mut r = [_mm256_setzero_ps(); 8];
        for (i, v) in r.iter_mut().enumerate() {
            *v = load(a, i * ra);
        }
        let cols = crate::layout::transpose8x8(r);
        for (j, c) in cols.into_iter().enumerate() {
            store(t, j * rt, c);
        }
    }

    /// Eight floats from `v[at..at + 8]` (bounds-checked).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn load(v: &[f32], at: usize) -> __m256 {
        let block: &[f32; 8] = v[at..at + 8].try_into().expect("eight floats");
        // SAFETY: `block` is eight readable floats; `loadu` has no alignment requirement.
        unsafe { _mm256_loadu_ps(block.as_ptr()) }
    }

    /// See [`super::accumulate`].
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn accumulate<const N: usize>(
        list: &[u32],
        wts: &[f32],
        base: f32,
        src: &[f32],
        ld: usize,
        p0: usize,
        out: &mut [[f32; 8]; N],
    ) {
        let mut acc = [_mm256_set1_ps(base); N];
        for (&j, &w) in list.iter().zip(wts) {
            let at = j as usize * ld + p0;
            let v = &src[at..at + 8 * N];
            let wv = _mm256_set1_ps(w);
            for (c, a) in acc.iter_mut().enumerate() {
                *a = _mm256_add_ps(*a, _mm256_mul_ps(wv, load(v, 8 * c)));
            }
        }
        for (o, a) in out.iter_mut().zip(acc) {
            // SAFETY: `o` is eight writable floats.
            unsafe { _mm256_storeu_ps(o.as_mut_ptr(), a) };
        }
    }

    /// `((q0 + q2) + (q1 + q3))` of `q = lo4(h) + hi4(h)`, `h = a + b`: the tree of
    /// [`super::tree_sum`] for lanes `a` = 0..8 and `b` = 8..16.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn reduce(a: __m256, b: __m256) -> f32 {
        let h = _mm256_add_ps(a, b);
        let q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
        let r = _mm_add_ps(q, _mm_movehl_ps(q, q));
        _mm_cvtss_f32(_mm_add_ss(r, _mm_shuffle_ps::<0b01>(r, r)))
    }

    /// See [`super::dots`] (lengths checked by the caller).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn dots<const G: usize>(g: &[f32], xs: [&[f32]; G]) -> [f32; G] {
        let n = g.len();
        let mut lo = [_mm256_setzero_ps(); G];
        let mut hi = [_mm256_setzero_ps(); G];
        let mut c = 0;
        while c + 16 <= n {
            let (g0, g1) = (load(g, c), load(g, c + 8));
            for t in 0..G {
                lo[t] = _mm256_add_ps(lo[t], _mm256_mul_ps(g0, load(xs[t], c)));
                hi[t] = _mm256_add_ps(hi[t], _mm256_mul_ps(g1, load(xs[t], c + 8)));
            }
            c += 16;
        }
        if c < n {
            let g0 = load(g, c);
            for t in 0..G {
                lo[t] = _mm256_add_ps(lo[t], _mm256_mul_ps(g0, load(xs[t], c)));
            }
        }
        let mut out = [0.0; G];
        for t in 0..G {
            out[t] = reduce(lo[t], hi[t]);
        }
        out
    }
}
