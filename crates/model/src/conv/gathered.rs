//! The gathered convolution: loops over the active weights only, so the cost follows the
//! mask's non-zeros, and im2col / col2im only for the kernel positions some active weight reads
//! (an input channel that no active weight reads is never touched).
//!
//! Per sample, with `cols` the sample's column matrix (`[k, ld]`, only the used rows written)
//! and `dyp` its output gradient copied to `[out_ch, ld]` (zero-padded):
//! - forward: `y[o, :] = b[o] + Σ_{k ∈ in(o)} W[o, k] · cols[k, :]` (ReLU fused);
//! - weight gradient: `gw[o, k] += dyp[o, :] · cols[k, :]` for active `(o, k)` only (packed);
//! - input gradient: `dcols[k, :] = Σ_{o ∈ out(k)} W[o, k] · dyp[o, :]` for used `k`, then
//!   col2im.
//!
//! Sums run in list order (weights) and in sixteen lanes added in a fixed tree (dot products),
//! so results do not depend on threads or on which SIMD copy ([`super::simd`]) runs.

use ndarray::{ArrayView1, ArrayViewMut1};

use super::conv2d::bias_grad;
use super::geom::{col2im, im2col};
use super::index::ConvKernel;
use super::simd::{Loops, accumulate, dots};
use crate::activation::relu;

/// Forward pass of the gathered path over `rows` samples.
pub(super) struct Forward<'a> {
    pub(super) kern: &'a ConvKernel,
    pub(super) x: &'a [f32],
    pub(super) rows: usize,
    /// Active weights packed by row (`row_k` order).
    pub(super) wrow: &'a [f32],
    pub(super) bias: ArrayView1<'a, f32>,
    pub(super) y: &'a mut [f32],
    pub(super) relu: bool,
    pub(super) cols: &'a mut [f32],
}

impl Loops for Forward<'_> {
    #[inline(always)]
    fn run<const WIDE: bool>(self) {
        let k = self.kern;
        let g = k.geom();
        let (il, ol, hwo, ld) = (g.in_len(), g.out_len(), g.hw_out(), g.ld());
        let used = || k.used_k.iter().map(|&j| j as usize);
        for s in 0..self.rows {
            im2col(g, &self.x[s * il..(s + 1) * il], used(), self.cols);
            let ys = &mut self.y[s * ol..(s + 1) * ol];
            for (o, dst) in ys.chunks_exact_mut(hwo).enumerate() {
                let r = k.row_ptr[o] as usize..k.row_ptr[o + 1] as usize;
                let (list, wts) = (&k.row_k[r.clone()], &self.wrow[r]);
                combine_row::<WIDE>(list, wts, self.bias[o], self.cols, ld, dst, self.relu);
            }
        }
    }
}

/// Backward pass of the gathered path over `rows` samples.
pub(super) struct Backward<'a> {
    pub(super) kern: &'a ConvKernel,
    pub(super) x: &'a [f32],
    pub(super) rows: usize,
    /// Active weights packed by column (`col_o` order).
    pub(super) wcol: &'a [f32],
    pub(super) dy: &'a [f32],
    /// `[out_ch]` bias gradient, zeroed by the caller; each sample's sum is added.
    pub(super) gb: ArrayViewMut1<'a, f32>,
    /// `[nnz]` weight gradient packed by row (`row_k` order), overwritten.
    pub(super) gacc: &'a mut [f32],
    pub(super) dx: Option<&'a mut [f32]>,
    pub(super) cols: &'a mut [f32],
    pub(super) dyp: &'a mut [f32],
    pub(super) dcols: &'a mut [f32],
}

impl Loops for Backward<'_> {
    #[inline(always)]
    fn run<const WIDE: bool>(mut self) {
        let k = self.kern;
        let g = k.geom();
        let (il, ol, hwo, ld) = (g.in_len(), g.out_len(), g.hw_out(), g.ld());
        let used = || k.used_k.iter().map(|&j| j as usize);
        self.gacc.fill(0.0);
        let dyp = &mut self.dyp[..g.out_ch * ld];
        for s in 0..self.rows {
            im2col(g, &self.x[s * il..(s + 1) * il], used(), self.cols);
            let dys = &self.dy[s * ol..(s + 1) * ol];
            bias_grad(dys, hwo, &mut self.gb);
            for (dst, src) in dyp.chunks_exact_mut(ld).zip(dys.chunks_exact(hwo)) {
                dst[..hwo].copy_from_slice(src);
                dst[hwo..].fill(0.0);
            }
            weight_grad::<WIDE>(k, dyp, self.cols, ld, self.gacc);
            if let Some(dx) = self.dx.as_deref_mut() {
                for &j in &k.used_k {
                    let j = j as usize;
                    let r = k.col_ptr[j] as usize..k.col_ptr[j + 1] as usize;
                    let (list, wts) = (&k.col_o[r.clone()], &self.wcol[r]);
                    let dst = &mut self.dcols[j * ld..(j + 1) * ld];
                    combine_row::<WIDE>(list, wts, 0.0, dyp, ld, dst, false);
                }
                let dxs = &mut dx[s * il..(s + 1) * il];
                dxs.fill(0.0);
                col2im(g, self.dcols, used(), dxs);
            }
        }
    }
}

/// `gacc[i] += dyp[o, :] · cols[row_k[i], :]` for every active weight `i` (of output `o`),
/// four dot products at a time.
#[inline(always)]
fn weight_grad<const WIDE: bool>(
    k: &ConvKernel,
    dyp: &[f32],
    cols: &[f32],
    ld: usize,
    gacc: &mut [f32],
) {
    let col = |j: u32| &cols[j as usize * ld..(j as usize + 1) * ld];
    for (o, gv) in dyp.chunks_exact(ld).enumerate() {
        let (lo, hi) = (k.row_ptr[o] as usize, k.row_ptr[o + 1] as usize);
        let (list, acc) = (&k.row_k[lo..hi], &mut gacc[lo..hi]);
        let mut i = 0;
        while i + 4 <= list.len() {
            let xs = [
                col(list[i]),
                col(list[i + 1]),
                col(list[i + 2]),
                col(list[i + 3]),
            ];
            let d = dots::<WIDE, 4>(gv, xs);
            for t in 0..4 {
                acc[i + t] += d[t];
            }
            i += 4;
        }
        while i < list.len() {
            acc[i] += dots::<WIDE, 1>(gv, [col(list[i])])[0];
            i += 1;
        }
    }
}

/// `dst[p] = act(base + Σ_t wts[t] · src[list[t]·ld + p])` for `p < dst.len() ≤ ld`, the sum in
/// list order; `act` is ReLU if `relu`. Rows of `src` are `ld` long, `ld` a multiple of 8.
#[inline(always)]
fn combine_row<const WIDE: bool>(
    list: &[u32],
    wts: &[f32],
    base: f32,
    src: &[f32],
    ld: usize,
    dst: &mut [f32],
    relu_on: bool,
) {
    debug_assert!(ld.is_multiple_of(8) && dst.len() <= ld && wts.len() == list.len());
    let n = dst.len();
    let mut p0 = 0;
    while p0 + 64 <= ld && p0 < n {
        let mut acc = [[0.0; 8]; 8];
        accumulate::<WIDE, 8>(list, wts, base, src, ld, p0, &mut acc);
        store(acc.as_flattened(), p0, dst, relu_on);
        p0 += 64;
    }
    while p0 < n {
        let mut acc = [[0.0; 8]; 1];
        accumulate::<WIDE, 1>(list, wts, base, src, ld, p0, &mut acc);
        store(acc.as_flattened(), p0, dst, relu_on);
        p0 += 8;
    }
}

/// Stores the accumulated block at `dst[p0..]`, cut at the end of `dst`.
#[inline(always)]
fn store(acc: &[f32], p0: usize, dst: &mut [f32], relu_on: bool) {
    let end = (p0 + acc.len()).min(dst.len());
    let out = &mut dst[p0..end];
    if relu_on {
        for (d, &a) in out.iter_mut().zip(acc) {
            *d = relu(a);
        }
    } else {
        out.copy_from_slice(&acc[..end - p0]);
    }
}
