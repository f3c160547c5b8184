//! Fixed-order reductions and the vector loops of the gathered kernel.
//!
//! A sum of `n` values is accumulated in [`LANES`] independent lanes (value `b` goes to lane
//! `b % LANES`, in increasing `b`) and the lanes are then added in a fixed tree (lane `j` with
//! `j + 8`, then `j + 4`, `j + 2`, `j + 1`). The order depends only on `n`, never on threads,
//! instruction sets or call sites, and the independent lanes let LLVM vectorise the loop.
//!
//! Every function here is `#[inline(always)]` so that it is compiled into its caller, which may
//! be an AVX2 copy (see `kernel::gathered::simd`); each computes the same values, in the same order, in
//! every copy.

/// Number of independent accumulators of a reduction.
pub(crate) const LANES: usize = 16;

/// Batch length that [`combine`] specialises for (a full training chunk).
const CONST_ROWS: usize = super::consts::CHUNK_ROWS;

/// Adds the lanes in the fixed tree.
#[inline(always)]
fn reduce(acc: &[f32; LANES]) -> f32 {
    let mut h = [0.0f32; 8];
    for j in 0..8 {
        h[j] = acc[j] + acc[j + 8];
    }
    let mut q = [0.0f32; 4];
    for j in 0..4 {
        q[j] = h[j] + h[j + 4];
    }
    (q[0] + q[2]) + (q[1] + q[3])
}

/// `Σ a[b]` in the fixed lane order.
#[inline(always)]
pub(crate) fn sum(a: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let blocks = a.chunks_exact(LANES);
    let rest = blocks.remainder();
    for blk in blocks {
        let blk: &[f32; LANES] = blk.try_into().expect("exact chunk");
        for j in 0..LANES {
            acc[j] += blk[j];
        }
    }
    if !rest.is_empty() {
        // A zero-padded block keeps `acc` in registers (constant indices only).
        let mut pad = [0.0f32; LANES];
        pad[..rest.len()].copy_from_slice(rest);
        for j in 0..LANES {
            acc[j] += pad[j];
        }
    }
    reduce(&acc)
}

/// `out[k] = Σ_b g[b]·xs[k][b]` for `G` vectors at once (sharing the loads of `g`; `G`
/// independent dot products keep the adders busy), each in the fixed lane order.
///
/// # Panics
/// If a vector's length differs from `g`'s.
#[inline(always)]
pub(crate) fn dots<const G: usize>(g: &[f32], xs: [&[f32]; G], out: &mut [f32]) {
    let n = g.len();
    for x in &xs {
        assert_eq!(x.len(), n, "dots: lengths differ");
    }
    let full = n - n % LANES;
    let mut acc = [[0.0f32; LANES]; G];
    let mut c = 0;
    while c < full {
        let gv: &[f32; LANES] = g[c..c + LANES].try_into().expect("block");
        for k in 0..G {
            let xv: &[f32; LANES] = xs[k][c..c + LANES].try_into().expect("block");
            for j in 0..LANES {
                acc[k][j] += gv[j] * xv[j];
            }
        }
        c += LANES;
    }
    if full < n {
        // Zero-padded tail block (adds exact zeros to the other lanes).
        let mut gp = [0.0f32; LANES];
        gp[..n - full].copy_from_slice(&g[full..]);
        for k in 0..G {
            let mut xp = [0.0f32; LANES];
            xp[..n - full].copy_from_slice(&xs[k][full..]);
            for j in 0..LANES {
                acc[k][j] += gp[j] * xp[j];
            }
        }
    }
    for k in 0..G {
        out[k] = reduce(&acc[k]);
    }
}

/// `Σ a[b]·x[b]` in the fixed lane order.
#[cfg(test)]
pub(crate) fn dot(a: &[f32], x: &[f32]) -> f32 {
    let mut out = [0.0];
    dots::<1>(a, [x], &mut out);
    out[0]
}

/// For every output vector `o` (`out[o·rows..(o+1)·rows]`):
/// `out[o] = init(o) + Σ_{s ∈ idx[ptr[o]..ptr[o+1]]} weight(o, s) · src[s]`, element by element
/// over the batch, the sum in list order; `finish(start, values)` post-processes each group of
/// values bound for `out[start..start + values.len()]` before it is stored. `8·N` batch
/// elements are accumulated together in registers; the result does not depend on `N`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn combine<const N: usize>(
    rows: usize,
    ptr: &[u32],
    idx: &[u32],
    weight: impl Fn(usize, usize) -> f32,
    init: impl Fn(usize) -> f32,
    src: &[f32],
    out: &mut [f32],
    finish: impl Fn(usize, &mut [f32]),
) {
    // Full chunks get their own copy with the row count constant-folded (fixed offsets,
    // fewer bounds checks).
    if rows == CONST_ROWS {
        combine_rows::<N>(CONST_ROWS, ptr, idx, weight, init, src, out, finish);
    } else {
        combine_rows::<N>(rows, ptr, idx, weight, init, src, out, finish);
    }
}

/// [`combine`] for a given row count.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn combine_rows<const N: usize>(
    rows: usize,
    ptr: &[u32],
    idx: &[u32],
    weight: impl Fn(usize, usize) -> f32,
    init: impl Fn(usize) -> f32,
    src: &[f32],
    out: &mut [f32],
    finish: impl Fn(usize, &mut [f32]),
) {
    for (o, dst) in out.chunks_exact_mut(rows).enumerate() {
        let list = &idx[ptr[o] as usize..ptr[o + 1] as usize];
        let (base, at) = (init(o), o * rows);
        let wt = |s| weight(o, s);
        let mut b0 = 0;
        while b0 + 8 * N <= rows {
            let acc = accumulate::<N>(list, wt, base, src, rows, b0);
            for (c, mut a) in acc.into_iter().enumerate() {
                finish(at + b0 + 8 * c, &mut a);
                dst[b0 + 8 * c..b0 + 8 * c + 8].copy_from_slice(&a);
            }
            b0 += 8 * N;
        }
        while b0 + 8 <= rows {
            let [mut a] = accumulate::<1>(list, wt, base, src, rows, b0);
            finish(at + b0, &mut a);
            dst[b0..b0 + 8].copy_from_slice(&a);
            b0 += 8;
        }
        if b0 < rows {
            let tail = &mut dst[b0..];
            for (b, d) in (b0..).zip(tail.iter_mut()) {
                let mut acc = base;
                for &s in list {
                    let s = s as usize;
                    acc += wt(s) * src[s * rows + b];
                }
                *d = acc;
            }
            finish(at + b0, tail);
        }
    }
}

/// `base + Σ_{s ∈ list} weight(s) · src[s·rows + b0..][..8N]` in `N` eight-float
/// accumulators, indexed by constants only so that they stay in registers.
#[inline(always)]
fn accumulate<const N: usize>(
    list: &[u32],
    weight: impl Fn(usize) -> f32,
    base: f32,
    src: &[f32],
    rows: usize,
    b0: usize,
) -> [[f32; 8]; N] {
    let mut acc = [[base; 8]; N];
    for &s in list {
        let s = s as usize;
        let w = weight(s);
        let at = s * rows + b0;
        let v = &src[at..at + 8 * N];
        for c in 0..N {
            let vc: &[f32; 8] = v[c * 8..c * 8 + 8].try_into().expect("block");
            for j in 0..8 {
                acc[c][j] += w * vc[j];
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_dots_match_f64_for_every_length() {
        for n in 0..70 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let s: f64 = a.iter().map(|&v| f64::from(v)).sum();
            let d: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum();
            assert!((f64::from(sum(&a)) - s).abs() < 1e-4, "sum n={n}");
            assert!((f64::from(dot(&a, &b)) - d).abs() < 1e-4, "dot n={n}");
            let mut four = [0.0; 4];
            dots::<4>(&a, [&b, &a, &b, &a], &mut four);
            assert_eq!(four[0].to_bits(), dot(&a, &b).to_bits());
            assert_eq!(four[1].to_bits(), dot(&a, &a).to_bits());
        }
    }
}
