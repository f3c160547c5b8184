//! An independent f64 reference: direct loops for convolution and pooling, written from the
//! definitions (no im2col, no index lists), used by the gradient and agreement tests.

use crate::conv::ConvGeom;

/// Direct convolution: `y[b, o, oy, ox] = b[o] + Σ_{ci, ky, kx} w[o, ci, ky, kx] ·
/// x[b, ci, oy + ky − pad, ox + kx − pad]` (0 outside the image).
pub(super) fn conv(g: &ConvGeom, x: &[f64], rows: usize, w: &[f64], b: &[f64]) -> Vec<f64> {
    let (ho, wo) = (g.h_out(), g.w_out());
    let mut y = vec![0.0; rows * g.out_ch * ho * wo];
    for n in 0..rows {
        for o in 0..g.out_ch {
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut s = b[o];
                    for ci in 0..g.in_ch {
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let iy = (oy + ky) as isize - g.pad as isize;
                                let ix = (ox + kx) as isize - g.pad as isize;
                                if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                    continue;
                                }
                                let (iy, ix) = (iy as usize, ix as usize);
                                let wv = w[((o * g.in_ch + ci) * g.kh + ky) * g.kw + kx];
                                let xv = x[((n * g.in_ch + ci) * g.h + iy) * g.w + ix];
                                s += wv * xv;
                            }
                        }
                    }
                    y[((n * g.out_ch + o) * ho + oy) * wo + ox] = s;
                }
            }
        }
    }
    y
}

/// `max(v, 0)`.
pub(super) fn relu(v: &mut [f64]) {
    v.iter_mut().for_each(|a| *a = a.max(0.0));
}

/// 2 × 2, stride-2 pooling (max if `max`, else mean), sizes rounded down.
pub(super) fn pool(c: usize, h: usize, w: usize, x: &[f64], rows: usize, max: bool) -> Vec<f64> {
    let (ho, wo) = (h / 2, w / 2);
    let mut y = vec![0.0; rows * c * ho * wo];
    for n in 0..rows {
        for ch in 0..c {
            for i in 0..ho {
                for j in 0..wo {
                    let at =
                        |dy: usize, dx: usize| x[((n * c + ch) * h + 2 * i + dy) * w + 2 * j + dx];
                    let v = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
                    y[((n * c + ch) * ho + i) * wo + j] = if max {
                        v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    } else {
                        v.iter().sum::<f64>() / 4.0
                    };
                }
            }
        }
    }
    y
}
