//! The convolution's forward and backward passes over a chunk of samples: the entry points,
//! the scratch buffers, and the dense path (im2col and the crate's GEMM, one sample at a time).
//!
//! Dense path, per sample (`cols` the sample's column matrix `[k, ld]`, `ld = hw_out` rounded
//! up to a multiple of 8, the extra columns 0):
//! - forward: `y = W · cols` (`[out_ch, k] · [k, ld]`), written straight into the sample's NCHW
//!   output when `hw_out` is a multiple of 8 and through the scratch otherwise, then bias and
//!   ReLU. Computing whole blocks of 8 columns keeps every GEMM tile a vector tile (a scalar
//!   tail of 4 columns cost as much as the other 192 at 14 × 14);
//! - weight gradient: `gwᵀ += cols · dyᵀ` (`[k, hw_out] · [hw_out, out_ch]`, `dy` transposed
//!   into the scratch first), summed over the chunk's samples in order, masked at the end;
//! - input gradient: `dcols = Wᵀ · dy` (`dy` zero-padded to `[out_ch, ld]`), then col2im.
//!
//! Every product goes through [`crate::gemm::mat_mul`], the dense MLP kernel's GEMM, in layouts
//! its unpacked fused path covers (output and right operand contiguous along rows), so on an
//! AVX2 + FMA CPU the GEMMs neither pack nor allocate.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, ShapeBuilder};

use super::gathered;
use super::geom::{ConvGeom, col2im, im2col};
use super::index::ConvKernel;
use super::simd;
use crate::activation::relu;
use crate::gemm::mat_mul;

/// Work buffers of the convolutions of one chunk, made once (per chunk buffer) and reused: the
/// hot functions do not allocate. Its size does not depend on the number of samples (the passes
/// go one sample at a time), only on the largest layer it serves, so one scratch serves every
/// conv layer of a network.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConvScratch {
    /// `[k, ld]` column matrix of one sample.
    cols: Vec<f32>,
    /// `[k, ld]` column-matrix gradient of one sample.
    dcols: Vec<f32>,
    /// One sample's output gradient, transposed `[hw_out, out_ch]` (dense) or zero-padded
    /// `[out_ch, ld]` (gathered).
    dyt: Vec<f32>,
    /// `[out_ch, ld]`: one sample's output (dense forward) or output gradient (dense
    /// backward), zero-padded to whole blocks of 8 columns (GEMM tiles without scalar tails).
    yp: Vec<f32>,
    /// `[k, out_ch]` one sample's `gwᵀ` (dense).
    gwt: Vec<f32>,
    /// `[k, out_ch]` weight gradient `gwᵀ` summed over samples (dense), or `[nnz]` packed
    /// (gathered).
    gacc: Vec<f32>,
    /// Active weights packed by row, then by column (gathered): `2 · nnz`.
    wpack: Vec<f32>,
}

impl ConvScratch {
    /// Buffers large enough for every layer in `geoms`.
    ///
    /// # Panics
    /// If a geometry is invalid ([`ConvGeom::validate`]).
    pub(crate) fn new(geoms: &[ConvGeom]) -> Self {
        let mut s = ConvScratch::default();
        for g in geoms {
            if let Err(e) = g.validate() {
                panic!("ConvScratch::new: {e}");
            }
            let (k, ld, oc) = (g.k(), g.ld(), g.out_ch);
            grow(&mut s.cols, k * ld);
            grow(&mut s.dcols, k * ld);
            grow(&mut s.dyt, oc * ld);
            grow(&mut s.yp, oc * ld);
            grow(&mut s.gwt, k * oc);
            grow(&mut s.gacc, k * oc);
            grow(&mut s.wpack, 2 * k * oc);
        }
        s
    }

    /// Whether the buffers fit `g`.
    fn fits(&self, g: &ConvGeom) -> bool {
        let (k, ld, oc) = (g.k(), g.ld(), g.out_ch);
        self.cols.len() >= k * ld
            && self.dcols.len() >= k * ld
            && self.dyt.len() >= oc * ld
            && self.yp.len() >= oc * ld
            && self.gwt.len() >= k * oc
            && self.gacc.len() >= k * oc
            && self.wpack.len() >= 2 * k * oc
    }
}

fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// `y = conv(x) + b` over `rows` samples, ReLU applied if `relu_on`.
///
/// # Shapes
/// - `x`: `[rows, in_ch·h·w]` (NCHW per sample), `y`: `[rows, out_ch·h_out·w_out]` (overwritten)
/// - `w`: `[out_ch, in_ch·kh·kw]`, inactive entries exactly 0; `b`: `[out_ch]`
///
/// # Panics
/// If a shape does not fit, `kern` was built for another geometry, or `scratch` is too small.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_forward(
    kern: &ConvKernel,
    x: &[f32],
    rows: usize,
    w: ArrayView2<'_, f32>,
    b: ArrayView1<'_, f32>,
    y: &mut [f32],
    relu_on: bool,
    scratch: &mut ConvScratch,
) {
    let g = kern.geom();
    check(g, x, rows, w, scratch);
    assert_eq!(b.len(), g.out_ch, "conv2d_forward: bias length");
    assert_eq!(y.len(), rows * g.out_len(), "conv2d_forward: output length");
    if kern.is_gathered() {
        let wrow = pack_rows(kern, w, &mut scratch.wpack);
        let f = gathered::Forward {
            kern,
            x,
            rows,
            wrow,
            bias: b,
            y,
            relu: relu_on,
            cols: &mut scratch.cols,
        };
        simd::run(f);
        return;
    }
    let (il, ol, hwo, ld, k) = (g.in_len(), g.out_len(), g.hw_out(), g.ld(), g.k());
    for s in 0..rows {
        im2col(g, &x[s * il..(s + 1) * il], 0..k, &mut scratch.cols);
        let ys = &mut y[s * ol..(s + 1) * ol];
        // `[out_ch, ld]` product (the padding columns are 0), so every GEMM tile is a vector
        // tile; written straight into `y` when there is no padding.
        let yp = if hwo == ld {
            &mut *ys
        } else {
            &mut scratch.yp[..g.out_ch * ld]
        };
        mat_mul(
            w,
            view(&scratch.cols, k, ld, ld),
            view_mut(yp, g.out_ch, ld, ld),
        );
        for (o, &bo) in b.iter().enumerate() {
            let (dst, src) = if hwo == ld {
                (&mut ys[o * hwo..(o + 1) * hwo], None)
            } else {
                (
                    &mut ys[o * hwo..(o + 1) * hwo],
                    Some(&scratch.yp[o * ld..o * ld + hwo]),
                )
            };
            bias_act(dst, src, bo, relu_on);
        }
    }
}

/// `dst = act(src + bo)` (`src = dst` when `None`), `act` ReLU if `relu_on`.
fn bias_act(dst: &mut [f32], src: Option<&[f32]>, bo: f32, relu_on: bool) {
    match (src, relu_on) {
        (None, true) => dst.iter_mut().for_each(|v| *v = relu(*v + bo)),
        (None, false) => dst.iter_mut().for_each(|v| *v += bo),
        (Some(src), true) => dst
            .iter_mut()
            .zip(src)
            .for_each(|(d, &v)| *d = relu(v + bo)),
        (Some(src), false) => dst.iter_mut().zip(src).for_each(|(d, &v)| *d = v + bo),
    }
}

/// Gradients of a convolution over `rows` samples, given `dy`, the gradient of the loss w.r.t.
/// its pre-activation output (the caller applies ReLU's derivative first).
///
/// `gw` (masked: exactly 0 at inactive weights), `gb` and `dx` are overwritten with sums over
/// the samples; pass `dx = None` for the first layer to skip the input gradient.
///
/// # Shapes
/// - `x`: `[rows, in_ch·h·w]`, `dy`: `[rows, out_ch·h_out·w_out]`, `dx`: like `x`
/// - `w`, `mask`, `gw`: `[out_ch, in_ch·kh·kw]`; `gb`: `[out_ch]`
///
/// # Panics
/// If a shape does not fit, `kern` was built for another geometry (or, in debug builds, another
/// mask), or `scratch` is too small.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_backward(
    kern: &ConvKernel,
    x: &[f32],
    rows: usize,
    w: ArrayView2<'_, f32>,
    mask: ArrayView2<'_, bool>,
    dy: &[f32],
    mut gw: ArrayViewMut2<'_, f32>,
    mut gb: ArrayViewMut1<'_, f32>,
    mut dx: Option<&mut [f32]>,
    scratch: &mut ConvScratch,
) {
    let g = kern.geom();
    check(g, x, rows, w, scratch);
    let (oc, k) = (g.out_ch, g.k());
    assert_eq!(mask.dim(), (oc, k), "conv2d_backward: mask shape");
    debug_assert!(
        kern.matches(mask),
        "conv2d_backward: kernel built for another mask"
    );
    assert_eq!(dy.len(), rows * g.out_len(), "conv2d_backward: dy length");
    assert_eq!(gw.dim(), (oc, k), "conv2d_backward: gw shape");
    assert_eq!(gb.len(), oc, "conv2d_backward: gb length");
    if let Some(dx) = dx.as_deref() {
        assert_eq!(dx.len(), x.len(), "conv2d_backward: dx length");
    }
    gb.fill(0.0);
    if kern.is_gathered() {
        let nnz = kern.nnz();
        let (wrow, wcol) = scratch.wpack.split_at_mut(nnz);
        pack_rows(kern, w, wrow);
        for (c, &i) in wcol.iter_mut().zip(&kern.col_to_row) {
            *c = wrow[i as usize];
        }
        let b = gathered::Backward {
            kern,
            x,
            rows,
            wcol: &wcol[..nnz],
            dy,
            gb,
            gacc: &mut scratch.gacc[..nnz],
            dx,
            cols: &mut scratch.cols,
            dyp: &mut scratch.dyt,
            dcols: &mut scratch.dcols,
        };
        simd::run(b);
        gw.fill(0.0);
        for o in 0..oc {
            let r = kern.row_ptr[o] as usize..kern.row_ptr[o + 1] as usize;
            for (&j, &v) in kern.row_k[r.clone()].iter().zip(&scratch.gacc[r]) {
                gw[[o, j as usize]] = v;
            }
        }
        return;
    }
    let (il, ol, hwo, ld) = (g.in_len(), g.out_len(), g.hw_out(), g.ld());
    // `gwᵀ` `[k, out_ch]`: the first sample's product lands in `gacc`, later ones in `gwt` and
    // are added (contiguous).
    let gacc = &mut scratch.gacc[..k * oc];
    gacc.fill(0.0);
    for s in 0..rows {
        let dys = &dy[s * ol..(s + 1) * ol];
        bias_grad(dys, hwo, &mut gb);
        im2col(g, &x[s * il..(s + 1) * il], 0..k, &mut scratch.cols);
        let dyt = &mut scratch.dyt[..hwo * oc];
        simd::transpose(dys, hwo, oc, dyt);
        let gwt = if s == 0 {
            &mut *gacc
        } else {
            &mut scratch.gwt[..k * oc]
        };
        mat_mul(
            view(&scratch.cols, k, hwo, ld),
            view(dyt, hwo, oc, oc),
            view_mut(gwt, k, oc, oc),
        );
        if s > 0 {
            gacc.iter_mut()
                .zip(&scratch.gwt)
                .for_each(|(a, &v)| *a += v);
        }
        if let Some(dx) = dx.as_deref_mut() {
            // `dy` zero-padded to `[out_ch, ld]` (see the forward pass).
            let dyp = if hwo == ld {
                dys
            } else {
                let dyp = &mut scratch.yp[..oc * ld];
                for (dst, src) in dyp.chunks_exact_mut(ld).zip(dys.chunks_exact(hwo)) {
                    dst[..hwo].copy_from_slice(src);
                    dst[hwo..].fill(0.0);
                }
                &scratch.yp[..oc * ld]
            };
            mat_mul(
                w.t(),
                view(dyp, oc, ld, ld),
                view_mut(&mut scratch.dcols, k, ld, ld),
            );
            let dxs = &mut dx[s * il..(s + 1) * il];
            dxs.fill(0.0);
            col2im(g, &mut scratch.dcols, 0..k, dxs);
        }
    }
    for ((o, j), gv) in gw.indexed_iter_mut() {
        *gv = if mask[[o, j]] { gacc[j * oc + o] } else { 0.0 };
    }
}

/// Checks shapes shared by both passes.
fn check(g: &ConvGeom, x: &[f32], rows: usize, w: ArrayView2<'_, f32>, s: &ConvScratch) {
    assert_eq!(x.len(), rows * g.in_len(), "conv: input length");
    assert_eq!(w.dim(), (g.out_ch, g.k()), "conv: weight shape");
    assert!(s.fits(g), "conv: scratch built for smaller layers");
}

/// Packs the active weights by row (`row_k` order) into the front of `buf`.
fn pack_rows<'b>(kern: &ConvKernel, w: ArrayView2<'_, f32>, buf: &'b mut [f32]) -> &'b [f32] {
    let out = &mut buf[..kern.nnz()];
    for o in 0..kern.geom().out_ch {
        let r = kern.row_ptr[o] as usize..kern.row_ptr[o + 1] as usize;
        for (d, &j) in out[r.clone()].iter_mut().zip(&kern.row_k[r]) {
            *d = w[[o, j as usize]];
        }
    }
    out
}

/// `gb[o] += Σ_pixels dys[o, :]` for one sample (`dys` `[out_ch, hwo]`), each sum in sixteen
/// lanes added in a fixed tree; called for the samples in order.
pub(super) fn bias_grad(dys: &[f32], hwo: usize, gb: &mut ArrayViewMut1<'_, f32>) {
    for (g, row) in gb.iter_mut().zip(dys.chunks_exact(hwo)) {
        *g += lane_sum(row);
    }
}

/// `Σ a` in sixteen lanes (element `i` to lane `i % 16`), added in a fixed tree.
fn lane_sum(a: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let blocks = a.chunks_exact(16);
    let rest = blocks.remainder();
    for blk in blocks {
        for (s, &v) in acc.iter_mut().zip(blk) {
            *s += v;
        }
    }
    for (s, &v) in acc.iter_mut().zip(rest) {
        *s += v;
    }
    simd::tree_sum(&acc)
}

/// `[rows, cols]` view of `buf` with row stride `ld`.
fn view(buf: &[f32], rows: usize, cols: usize, ld: usize) -> ArrayView2<'_, f32> {
    let len = if rows == 0 { 0 } else { (rows - 1) * ld + cols };
    ArrayView2::from_shape((rows, cols).strides((ld, 1)), &buf[..len]).expect("view fits")
}

/// Mutable `[rows, cols]` view of `buf` with row stride `ld`.
fn view_mut(buf: &mut [f32], rows: usize, cols: usize, ld: usize) -> ArrayViewMut2<'_, f32> {
    let len = if rows == 0 { 0 } else { (rows - 1) * ld + cols };
    ArrayViewMut2::from_shape((rows, cols).strides((ld, 1)), &mut buf[..len]).expect("view fits")
}
