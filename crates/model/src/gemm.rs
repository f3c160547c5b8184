//! `c = a · b` for the small matrices of a training step, without packing, and bit-identical to
//! matrixmultiply.
//!
//! ndarray multiplies `f32` matrices with matrixmultiply, which copies both operands into
//! freshly allocated, packed panels on every call. At the paper's sizes (a 64-row chunk times a
//! 64 × 8 weight matrix) packing and allocating cost about as much as the arithmetic. [`mat_mul`]
//! multiplies in place instead, whenever the output and one operand are contiguous along the
//! same axis, and gives *exactly* matrixmultiply's result there:
//!
//! * matrixmultiply 0.3 (its `avx512` feature is off in this workspace) runs its AVX2 + FMA
//!   kernel on every CPU that has both. That kernel accumulates each output element as one
//!   chain of fused multiply-adds over `k` in order, starting from zero, restarting for each
//!   block of [`KC`] = 256 values of `k`, and adds each block's sum to the output: `c = 1·acc + 0`
//!   for the first block (so `−0` becomes `+0`), `c = 1·acc + c` after.
//! * [`mat_mul`] does the same chain per element (eight or sixteen elements at a time, in vector
//!   lanes), the same blocking and the same final adds.
//!
//! Measured on the development machine (Intel Xeon, Sapphire Rapids class, one core) at the
//! shapes of a training chunk (64 rows; k = 64 to 384; 8 to 256 outputs): about 100 GFLOP/s for
//! the forward and weight-gradient products, against matrixmultiply's 70–100 on the same calls
//! (the FMA peak is about 105). A whole dense training step, with Adam and the element-wise
//! work, runs at 74–90 GFLOP/s there (`fpe bench`, README "Speed").
//!
//! Without AVX2 and FMA, with `FPE_SIMD=baseline`, or for layouts it does not cover, [`mat_mul`]
//! calls matrixmultiply itself. Either way the results are those of matrixmultiply; a test
//! compares the two on shapes, strides and blocks of every kind.
//!
//! A leaf module: it imports nothing from the crate.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// matrixmultiply's `k` block for `f32` (`S_KC`; its build-time override
/// `MATMUL_SGEMM_KC` is not set in this workspace).
pub(crate) const KC: usize = 256;

/// `c = a · b` (`a` `[m, k]`, `b` `[k, n]`, `c` `[m, n]` overwritten), bit-identical to
/// `general_mat_mul(1.0, a, b, 0.0, c)`.
///
/// # Panics
/// If the shapes do not fit.
pub(crate) fn mat_mul(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    assert_eq!(b.nrows(), k, "mat_mul: inner dimensions");
    assert_eq!(c.dim(), (m, n), "mat_mul: output shape");
    #[cfg(target_arch = "x86_64")]
    if m > 0 && n > 0 && k > 0 && fused() {
        if c.strides()[1] == 1 && b.strides()[1] == 1 {
            rows(a, b, c);
            return;
        }
        if c.strides()[0] == 1 && a.strides()[0] == 1 {
            // cᵀ = bᵀ aᵀ, with cᵀ and aᵀ contiguous along their rows.
            rows(b.reversed_axes(), a.reversed_axes(), c.reversed_axes());
            return;
        }
    }
    general_mat_mul(1.0, &a, &b, 0.0, &mut c);
}

/// Whether the fused path runs: AVX2 and FMA, unless `FPE_SIMD=baseline` ([`crate::cpu`]).
#[cfg(target_arch = "x86_64")]
fn fused() -> bool {
    let f = crate::cpu::features();
    f.avx2 && f.fma
}

/// The fused path for `c` and `b` contiguous along their rows (column stride 1).
#[cfg(target_arch = "x86_64")]
fn rows(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>, mut c: ArrayViewMut2<'_, f32>) {
    let (m, k) = a.dim();
    let n = b.ncols();
    debug_assert!(c.strides()[1] == 1 && b.strides()[1] == 1);
    let p = Panels {
        k,
        a: a.as_ptr(),
        rsa: a.strides()[0],
        csa: a.strides()[1],
        b: b.as_ptr(),
        rsb: b.strides()[0],
        c: c.as_mut_ptr(),
        rsc: c.strides()[0],
    };
    // SAFETY: `fused()` checked AVX2 and FMA. Every pointer the kernel forms is an element
    // `a[i, kk]`, `b[kk, j]` or `c[i, j]` with `i < m`, `kk < k`, `j < n`, reached through the
    // views' own strides, so it lies inside the views.
    #[allow(unsafe_code)]
    unsafe {
        rows_fma(&p, m, n)
    };
}

/// Raw operands: `a` `[m, k]` with strides `(rsa, csa)`, `b` `[k, n]` with row stride `rsb` and
/// column stride 1, `c` `[m, n]` with row stride `rsc` and column stride 1.
#[cfg(target_arch = "x86_64")]
struct Panels {
    k: usize,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    c: *mut f32,
    rsc: isize,
}

/// Tiles of up to 4 rows × 16, 8 or 1 columns.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_fma(p: &Panels, m: usize, n: usize) {
    let mut i = 0;
    while i < m {
        let r = (m - i).min(4);
        let mut j = 0;
        while j + 16 <= n {
            // SAFETY: rows i..i+r and columns j..j+16 are inside the matrices.
            unsafe { tile_rows(p, i, j, r, 2) };
            j += 16;
        }
        while j + 8 <= n {
            // SAFETY: as above, columns j..j+8.
            unsafe { tile_rows(p, i, j, r, 1) };
            j += 8;
        }
        while j < n {
            for ii in i..i + r {
                // SAFETY: element (ii, j) is inside the matrices.
                unsafe { scalar(p, ii, j) };
            }
            j += 1;
        }
        i += r;
    }
}

/// Dispatches a tile of `r` rows and `nv` vectors to its monomorphised copy.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn tile_rows(p: &Panels, i: usize, j: usize, r: usize, nv: usize) {
    // SAFETY: forwarded; the caller keeps the tile inside the matrices.
    unsafe {
        match (r, nv) {
            (4, 2) => tile::<4, 2>(p, i, j),
            (3, 2) => tile::<3, 2>(p, i, j),
            (2, 2) => tile::<2, 2>(p, i, j),
            (1, 2) => tile::<1, 2>(p, i, j),
            (4, _) => tile::<4, 1>(p, i, j),
            (3, _) => tile::<3, 1>(p, i, j),
            (2, _) => tile::<2, 1>(p, i, j),
            _ => tile::<1, 1>(p, i, j),
        }
    }
}

/// `MR` rows × `NV` vectors of 8 columns from (`i`, `j`), one FMA chain per element and
/// [`KC`] block.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn tile<const MR: usize, const NV: usize>(p: &Panels, i: usize, j: usize) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller guarantees rows i..i+MR and columns j..j+8·NV exist;
    // every offset below stays in those rows, those columns and k.
    unsafe {
        let a = p.a.offset(i as isize * p.rsa);
        let b = p.b.add(j);
        let c = p.c.offset(i as isize * p.rsc).add(j);
        let mut k0 = 0;
        while k0 < p.k {
            let k1 = (k0 + KC).min(p.k);
            let mut acc = [[_mm256_setzero_ps(); NV]; MR];
            for kk in k0..k1 {
                let brow = b.offset(kk as isize * p.rsb);
                let mut bv = [_mm256_setzero_ps(); NV];
                for (v, slot) in bv.iter_mut().enumerate() {
                    *slot = _mm256_loadu_ps(brow.add(8 * v));
                }
                let acol = a.offset(kk as isize * p.csa);
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm256_set1_ps(*acol.offset(r as isize * p.rsa));
                    for (slot, &bvv) in row.iter_mut().zip(&bv) {
                        *slot = _mm256_fmadd_ps(av, bvv, *slot);
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                let crow = c.offset(r as isize * p.rsc);
                for (v, &s) in row.iter().enumerate() {
                    let at = crow.add(8 * v);
                    let base = if k0 == 0 {
                        _mm256_setzero_ps()
                    } else {
                        _mm256_loadu_ps(at)
                    };
                    _mm256_storeu_ps(at, _mm256_add_ps(s, base));
                }
            }
            k0 = k1;
        }
    }
}

/// One element (`i`, `j`) with scalar fused multiply-adds, blocked like [`tile`].
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn scalar(p: &Panels, i: usize, j: usize) {
    // SAFETY: the caller guarantees (i, j) exists; kk < k.
    unsafe {
        let a = p.a.offset(i as isize * p.rsa);
        let b = p.b.add(j);
        let c = p.c.offset(i as isize * p.rsc).add(j);
        let mut k0 = 0;
        while k0 < p.k {
            let k1 = (k0 + KC).min(p.k);
            let mut acc = 0.0f32;
            for kk in k0..k1 {
                let av = *a.offset(kk as isize * p.csa);
                let bv = *b.offset(kk as isize * p.rsb);
                acc = av.mul_add(bv, acc);
            }
            *c = acc + if k0 == 0 { 0.0 } else { *c };
            k0 = k1;
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ShapeBuilder, s};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn random(rng: &mut ChaCha8Rng, shape: (usize, usize), f_order: bool) -> Array2<f32> {
        let mut a = Array2::zeros(shape.set_f(f_order));
        a.mapv_inplace(|_: f32| {
            // Wide dynamic range and exact zeros of both signs: rounding differences show.
            match rng.random_range(0..10) {
                0 => 0.0,
                1 => -0.0,
                _ => rng.random_range(-1.0f32..1.0) * 2f32.powi(rng.random_range(-8..8)),
            }
        });
        a
    }

    /// Every layout the kernels hand over (row- and column-major operands and outputs,
    /// transposed and sliced views), ragged tile edges, `k` across one and two [`KC`] blocks:
    /// equal bit for bit to matrixmultiply, zeros' signs included.
    #[test]
    fn equals_matrixmultiply_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let shapes = [
            (1, 1, 1),
            (64, 64, 8),
            (8, 64, 64),
            (64, 16, 1),
            (1, 16, 64),
            (5, 3, 17),
            (13, 300, 9),
            (64, 384, 16),
            (40, 16, 64),
            (7, 513, 23),
            (3, 256, 8),
            (3, 257, 8),
        ];
        for &(m, k, n) in &shapes {
            for layout in 0..8 {
                let a = random(&mut rng, (m, k), layout & 1 == 1);
                let b = random(&mut rng, (k, n), layout & 2 == 2);
                let f_out = layout & 4 == 4;
                let mut want = Array2::from_elem((m, n).set_f(f_out), f32::NAN);
                general_mat_mul(1.0, &a, &b, 0.0, &mut want);
                let mut got = Array2::from_elem((m, n).set_f(f_out), f32::NAN);
                mat_mul(a.view(), b.view(), got.view_mut());
                let same = want
                    .iter()
                    .zip(&got)
                    .all(|(w, g)| w.to_bits() == g.to_bits());
                assert!(same, "m {m} k {k} n {n} layout {layout}");
            }
        }
        // A strided view (every other row and column) and a transposed one.
        let a = random(&mut rng, (20, 30), false);
        let b = random(&mut rng, (15, 40), false);
        let (av, bv) = (a.slice(s![..;2, ..;2]), b.slice(s![.., ..;2]));
        let mut want = Array2::zeros((10, 20));
        general_mat_mul(1.0, &av, &bv, 0.0, &mut want);
        let mut got = Array2::from_elem((10, 20), 1.0);
        mat_mul(av, bv, got.view_mut());
        assert!(
            want.iter()
                .zip(&got)
                .all(|(w, g)| w.to_bits() == g.to_bits())
        );
    }

    /// The test above proves something only where the fused path runs.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn fused_path_runs_on_this_cpu() {
        if crate::cpu::forced_baseline() {
            return;
        }
        let cpu = crate::cpu::detected();
        assert_eq!(fused(), cpu.avx2 && cpu.fma);
    }

    /// `k = 0` gives zeros, as matrixmultiply does.
    #[test]
    fn empty_inner_dimension_gives_zeros() {
        let a = Array2::<f32>::zeros((3, 0));
        let b = Array2::<f32>::zeros((0, 4));
        let mut c = Array2::from_elem((3, 4), 5.0);
        mat_mul(a.view(), b.view(), c.view_mut());
        assert!(c.iter().all(|&v| v == 0.0));
    }
}
