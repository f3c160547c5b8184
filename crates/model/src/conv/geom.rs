//! [`ConvGeom`]: the shape of a stride-1, zero-padded 2-D convolution, and the im2col / col2im
//! copies between a sample's image and its column matrix.
//!
//! The column matrix of one sample is `[k, ld]` row-major: row `(ci·kh + ky)·kw + kx` holds,
//! for every output pixel `p = oy·w_out + ox`, the input pixel the weight `(ci, ky, kx)` meets
//! there (`x[ci, oy + ky − pad, ox + kx − pad]`, or 0 in the padding). The row stride `ld` is
//! `h_out·w_out` rounded up to a multiple of 8; the extra columns are 0, so vector loops can run
//! over whole blocks of eight.

use crate::error::{Error, Result};

/// Shape of a convolution: stride 1, zero padding `pad` on all four sides, kernel `kh × kw`.
///
/// Images are `[in_ch, h, w]` in, `[out_ch, h_out, w_out]` out (one sample's slice of an NCHW
/// batch); the weight is `[out_ch, k]` with `k = in_ch·kh·kw` (PyTorch's `[out, in, kh, kw]`
/// flattened).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConvGeom {
    /// Input channels.
    pub(crate) in_ch: usize,
    /// Output channels.
    pub(crate) out_ch: usize,
    /// Input height.
    pub(crate) h: usize,
    /// Input width.
    pub(crate) w: usize,
    /// Kernel height.
    pub(crate) kh: usize,
    /// Kernel width.
    pub(crate) kw: usize,
    /// Zero padding on each side.
    pub(crate) pad: usize,
}

impl ConvGeom {
    /// Output height, `h + 2·pad − kh + 1`.
    ///
    /// # Panics
    /// If the kernel is taller than the padded input (see [`ConvGeom::validate`]).
    pub(crate) fn h_out(&self) -> usize {
        self.h + 2 * self.pad + 1 - self.kh
    }

    /// Output width, `w + 2·pad − kw + 1`.
    ///
    /// # Panics
    /// If the kernel is wider than the padded input (see [`ConvGeom::validate`]).
    pub(crate) fn w_out(&self) -> usize {
        self.w + 2 * self.pad + 1 - self.kw
    }

    /// Output pixels per channel, `h_out·w_out`.
    pub(crate) fn hw_out(&self) -> usize {
        self.h_out() * self.w_out()
    }

    /// Floats per input sample, `in_ch·h·w`.
    pub(crate) fn in_len(&self) -> usize {
        self.in_ch * self.h * self.w
    }

    /// Floats per output sample, `out_ch·h_out·w_out`.
    pub(crate) fn out_len(&self) -> usize {
        self.out_ch * self.hw_out()
    }

    /// Fan-in of an output channel (columns of the weight matrix), `in_ch·kh·kw`.
    pub(crate) fn k(&self) -> usize {
        self.in_ch * self.kh * self.kw
    }

    /// Row stride of a column matrix: [`ConvGeom::hw_out`] rounded up to a multiple of 8.
    pub(crate) fn ld(&self) -> usize {
        self.hw_out().div_ceil(8) * 8
    }

    /// Checks that every size is positive, the kernel fits the padded input and every index
    /// fits in 32 bits.
    ///
    /// # Errors
    /// [`Error::Config`] (field `conv`) saying what is wrong.
    pub(crate) fn validate(&self) -> Result<()> {
        let fail = |reason: String| {
            Err(Error::Config {
                field: "conv",
                value: format!("{self:?}"),
                reason,
            })
        };
        let sizes = [
            ("in_ch", self.in_ch),
            ("out_ch", self.out_ch),
            ("h", self.h),
            ("w", self.w),
            ("kh", self.kh),
            ("kw", self.kw),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return fail(format!("{name} must be at least 1"));
        }
        let (ph, pw) = (self.h + 2 * self.pad, self.w + 2 * self.pad);
        if self.kh > ph || self.kw > pw {
            return fail(format!(
                "kernel {}×{} is larger than the padded input {ph}×{pw} ({}×{} plus padding {} \
                 on each side)",
                self.kh, self.kw, self.h, self.w, self.pad
            ));
        }
        let largest = [
            self.in_len(),
            self.out_len(),
            self.out_ch * self.k(),
            self.k() * self.ld(),
        ];
        if largest.iter().any(|&n| u32::try_from(n).is_err()) {
            return fail("sizes must stay below 2³² elements per sample and weight".into());
        }
        Ok(())
    }
}

/// Writes rows `ks` of the column matrix of one sample `x` (`[in_ch, h, w]`) into `cols`
/// (`[k, ld]`, see the module docs); other rows are left as they are.
///
/// When the output is as wide as the input (`kw = 2·pad + 1`, e.g. 3 × 3 with padding 1), a row
/// of the column matrix is the input plane shifted by a constant offset: it is copied in one
/// piece and the entries that fall into the padding are zeroed after.
///
/// # Panics
/// If `x` or `cols` is too short, or a row index is `≥ k`.
pub(crate) fn im2col(g: &ConvGeom, x: &[f32], ks: impl Iterator<Item = usize>, cols: &mut [f32]) {
    let (h, w, wo, ho, ld) = (g.h, g.w, g.w_out(), g.h_out(), g.ld());
    let hwo = ho * wo;
    for k in ks {
        let (ci, ky, kx) = split(g, k);
        let plane = &x[ci * h * w..(ci + 1) * h * w];
        let row = &mut cols[k * ld..(k + 1) * ld];
        let (lo, hi) = span(kx, g.pad, w, wo);
        if let Some(sh) = Shifted::new(g, ky, kx, lo, hi) {
            row[..sh.first].fill(0.0);
            row[sh.first..sh.last].copy_from_slice(&plane[sh.from..sh.from + sh.last - sh.first]);
            row[sh.last..].fill(0.0);
            for dst in row[sh.oy_lo * wo..sh.oy_hi * wo].chunks_exact_mut(wo) {
                dst[..lo].fill(0.0);
                dst[hi..].fill(0.0);
            }
            continue;
        }
        for (oy, dst) in row[..hwo].chunks_exact_mut(wo).enumerate() {
            match source_row(oy, ky, g.pad, h) {
                Some(iy) if lo < hi => {
                    let src = &plane[iy * w..(iy + 1) * w];
                    dst[..lo].fill(0.0);
                    dst[lo..hi].copy_from_slice(&src[lo + kx - g.pad..hi + kx - g.pad]);
                    dst[hi..].fill(0.0);
                }
                _ => dst.fill(0.0),
            }
        }
        row[hwo..].fill(0.0);
    }
}

/// Adds rows `ks` of the column matrix `cols` (`[k, ld]`) back onto one sample's image
/// gradient `dx` (`[in_ch, h, w]`): the adjoint of [`im2col`]. Rows are added in the order of
/// `ks`, so the result is deterministic. Entries of `cols` that [`im2col`] would read from the
/// padding are ignored (for output as wide as the input they are set to 0 in `cols`, so that
/// each row is added in one piece).
///
/// # Panics
/// If `dx` or `cols` is too short, or a row index is `≥ k`.
pub(crate) fn col2im(
    g: &ConvGeom,
    cols: &mut [f32],
    ks: impl Iterator<Item = usize>,
    dx: &mut [f32],
) {
    let (h, w, wo, ho, ld) = (g.h, g.w, g.w_out(), g.h_out(), g.ld());
    for k in ks {
        let (ci, ky, kx) = split(g, k);
        let plane = &mut dx[ci * h * w..(ci + 1) * h * w];
        let row = &mut cols[k * ld..k * ld + ho * wo];
        let (lo, hi) = span(kx, g.pad, w, wo);
        if lo >= hi {
            continue;
        }
        if let Some(sh) = Shifted::new(g, ky, kx, lo, hi) {
            for src in row[sh.oy_lo * wo..sh.oy_hi * wo].chunks_exact_mut(wo) {
                src[..lo].fill(0.0);
                src[hi..].fill(0.0);
            }
            let dst = &mut plane[sh.from..sh.from + sh.last - sh.first];
            for (d, &s) in dst.iter_mut().zip(&row[sh.first..sh.last]) {
                *d += s;
            }
            continue;
        }
        for (oy, src) in row.chunks_exact(wo).enumerate() {
            if let Some(iy) = source_row(oy, ky, g.pad, h) {
                let dst = &mut plane[iy * w + lo + kx - g.pad..iy * w + hi + kx - g.pad];
                for (d, &s) in dst.iter_mut().zip(&src[lo..hi]) {
                    *d += s;
                }
            }
        }
    }
}

/// A column-matrix row that is the input plane shifted by a constant (output as wide as the
/// input): `row[first + i] = plane[from + i]` for `first + i < last` wherever `(oy, ox)` reads
/// inside the image, rows `[oy_lo, oy_hi)` of the output reading inside the image.
struct Shifted {
    oy_lo: usize,
    oy_hi: usize,
    first: usize,
    last: usize,
    from: usize,
}

impl Shifted {
    /// `None` unless `w_out = w` and some output reads inside the image.
    fn new(g: &ConvGeom, ky: usize, kx: usize, lo: usize, hi: usize) -> Option<Self> {
        let (w, wo) = (g.w, g.w_out());
        let oy_lo = g.pad.saturating_sub(ky).min(g.h_out());
        let oy_hi = (g.h + g.pad).saturating_sub(ky).min(g.h_out());
        if wo != w || lo >= hi || oy_lo >= oy_hi {
            return None;
        }
        let (first, last) = (oy_lo * wo + lo, (oy_hi - 1) * wo + hi);
        // Output (oy, ox) reads (oy + ky − pad)·w + ox + kx − pad, ≥ 0 for the first valid one.
        let from = (ky * w + kx + first) - (g.pad * w + g.pad);
        Some(Shifted {
            oy_lo,
            oy_hi,
            first,
            last,
            from,
        })
    }
}

/// `(ci, ky, kx)` of column-matrix row `k`.
#[inline]
fn split(g: &ConvGeom, k: usize) -> (usize, usize, usize) {
    (k / (g.kh * g.kw), (k / g.kw) % g.kh, k % g.kw)
}

/// Input row read by output row `oy` through kernel row `ky`, if inside the image.
#[inline]
fn source_row(oy: usize, ky: usize, pad: usize, h: usize) -> Option<usize> {
    (oy + ky).checked_sub(pad).filter(|&iy| iy < h)
}

/// Output columns `[lo, hi)` whose input column `ox + kx − pad` lies inside `[0, w)`
/// (`lo ≥ hi` when none does).
#[inline]
fn span(kx: usize, pad: usize, w: usize, wo: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(kx).min(wo);
    let hi = (w + pad).saturating_sub(kx).min(wo);
    (lo, hi)
}
