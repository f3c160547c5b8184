//! Row-major to feature-major copies (`out[i·rows + b] = src[b·d + i]`), eight by eight.
//!
//! The training workspace turns each chunk's inputs feature-major for the kernels that vectorise
//! over the batch. At the paper's sizes (64 × 64 per chunk) an element-by-element copy was a
//! quarter of a training step; on CPUs with AVX2, [`transpose`] moves 8 × 8 blocks through
//! registers instead (eight loads, 24 shuffles, eight stores). It only moves values, so every
//! path gives the same bits. `FPE_SIMD=baseline` forces the portable loop.
//!
//! A leaf module: it imports nothing from the crate.

/// Writes the `[rows, d]` row-major matrix `src` into `out` feature-major:
/// `out[i·rows + b] = src[b·d + i]`.
///
/// # Panics
/// If `src` or `out` is shorter than `rows · d`.
pub(crate) fn transpose(src: &[f32], rows: usize, d: usize, out: &mut [f32]) {
    let (src, out) = (&src[..rows * d], &mut out[..rows * d]);
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: `wide()` checked AVX; the kernel stays inside `src` and `out`, whose lengths
        // were just checked to be `rows · d`.
        #[allow(unsafe_code)]
        unsafe {
            blocks_avx(src, rows, d, out)
        };
        return;
    }
    portable(src, rows, d, out);
}

/// Element by element, eight rows at a time (their rows stay in cache while each feature's
/// eight values are written contiguously).
fn portable(src: &[f32], rows: usize, d: usize, out: &mut [f32]) {
    for b0 in (0..rows).step_by(8) {
        let b1 = (b0 + 8).min(rows);
        for i in 0..d {
            for b in b0..b1 {
                out[i * rows + b] = src[b * d + i];
            }
        }
    }
}

/// Whether the AVX copy runs (CPU support, unless `FPE_SIMD=baseline`: [`crate::cpu`]).
#[cfg(target_arch = "x86_64")]
fn wide() -> bool {
    crate::cpu::features().avx
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx")]
unsafe fn blocks_avx(src: &[f32], rows: usize, d: usize, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let (full_b, full_i) = (rows / 8 * 8, d / 8 * 8);
    for b0 in (0..full_b).step_by(8) {
        for i0 in (0..full_i).step_by(8) {
            // SAFETY: rows b0..b0+8 and features i0..i0+8 exist, so every load reads
            // src[(b0+k)·d + i0 .. +8] and every store writes out[(i0+k)·rows + b0 .. +8], in bounds.
            unsafe {
                let p = src.as_ptr().add(b0 * d + i0);
                let r: [__m256; 8] = std::array::from_fn(|k| _mm256_loadu_ps(p.add(k * d)));
                let cols = transpose8x8(r);
                let q = out.as_mut_ptr().add(i0 * rows + b0);
                for (k, &c) in cols.iter().enumerate() {
                    _mm256_storeu_ps(q.add(k * rows), c);
                }
            }
        }
    }
    // Ragged edges: features full_i.. of the full rows, and every feature of rows full_b...
    for b in 0..full_b {
        for i in full_i..d {
            out[i * rows + b] = src[b * d + i];
        }
    }
    for b in full_b..rows {
        for i in 0..d {
            out[i * rows + b] = src[b * d + i];
        }
    }
}

/// The 8 × 8 transpose of eight row registers: lane `j` of output `i` is lane `i` of input `j`
/// (eight unpacks, eight shuffles, eight lane permutes; values are only moved).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[inline]
#[target_feature(enable = "avx")]
pub(crate) fn transpose8x8(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_definition_for_ragged_shapes() {
        for &(rows, d) in &[
            (64, 64),
            (64, 8),
            (8, 8),
            (13, 21),
            (1, 9),
            (9, 1),
            (0, 5),
            (64, 384),
        ] {
            let src: Vec<f32> = (0..rows * d).map(|v| v as f32 * 0.5 - 3.0).collect();
            let mut out = vec![f32::NAN; rows * d + 3];
            transpose(&src, rows, d, &mut out);
            for b in 0..rows {
                for i in 0..d {
                    assert_eq!(
                        out[i * rows + b],
                        src[b * d + i],
                        "{rows}x{d} at ({b}, {i})"
                    );
                }
            }
            assert!(
                out[rows * d..].iter().all(|v| v.is_nan()),
                "wrote past rows·d"
            );
            let mut port = vec![f32::NAN; rows * d];
            portable(&src, rows, d, &mut port);
            assert_eq!(port, out[..rows * d]);
        }
    }
}
