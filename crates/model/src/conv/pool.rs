//! 2 × 2 pooling with stride 2 (max and average) and ReLU's derivative, on NCHW chunks.
//!
//! Output sizes round down, as PyTorch's `MaxPool2d(2)` / `AvgPool2d(2)` do: the last row
//! (column) of an odd-sized input is dropped and gets a zero gradient.

/// Output size of a 2 × 2, stride-2 pooling of an `h × w` plane: `(h / 2, w / 2)`.
pub(crate) fn pool2_out(h: usize, w: usize) -> (usize, usize) {
    (h / 2, w / 2)
}

/// Max pooling: `y[b, c, i, j] = max` of the 2 × 2 window at `(2i, 2j)`; `argmax` records, per
/// output, the offset of the chosen input inside its sample (`c·h·w + y·w + x`).
///
/// Ties go to the first maximum in row-major window order, and a NaN wins (the last NaN of the
/// window), as in PyTorch's CPU kernel.
///
/// # Shapes
/// - `x`: `[rows, c·h·w]`; `y`, `argmax`: `[rows, c·(h/2)·(w/2)]` (overwritten)
///
/// # Panics
/// If a length does not fit, or a sample has `2³²` or more inputs.
pub(crate) fn maxpool2_forward(
    c: usize,
    h: usize,
    w: usize,
    x: &[f32],
    rows: usize,
    y: &mut [f32],
    argmax: &mut [u32],
) {
    let (ho, wo) = pool2_out(h, w);
    let (il, ol) = (c * h * w, c * ho * wo);
    assert_eq!(x.len(), rows * il, "maxpool2_forward: input length");
    assert_eq!(y.len(), rows * ol, "maxpool2_forward: output length");
    assert_eq!(argmax.len(), rows * ol, "maxpool2_forward: argmax length");
    assert!(
        u32::try_from(il).is_ok(),
        "maxpool2_forward: sample too large"
    );
    if ol == 0 {
        return;
    }
    for ((xs, ys), am) in x
        .chunks_exact(il)
        .zip(y.chunks_exact_mut(ol))
        .zip(argmax.chunks_exact_mut(ol))
    {
        for (ch, (yc, ac)) in ys
            .chunks_exact_mut(ho * wo)
            .zip(am.chunks_exact_mut(ho * wo))
            .enumerate()
        {
            let plane = &xs[ch * h * w..(ch + 1) * h * w];
            for i in 0..ho {
                let (r0, r1) = (
                    &plane[2 * i * w..][..2 * wo],
                    &plane[(2 * i + 1) * w..][..2 * wo],
                );
                let top = (ch * h * w + 2 * i * w) as u32;
                let (yr, ar) = (&mut yc[i * wo..(i + 1) * wo], &mut ac[i * wo..(i + 1) * wo]);
                window_max(r0, r1, top, w as u32, yr, ar);
            }
        }
    }
}

/// One row of windows: rows `r0`, `r1` (`2·n` long) → `n` maxima and their offsets (`top` the
/// offset of `r0[0]`, `w` the row stride). Branch-free (maxima are unpredictable); a NaN wins.
#[inline(always)]
fn window_max(r0: &[f32], r1: &[f32], top: u32, w: u32, y: &mut [f32], am: &mut [u32]) {
    let n = y.len();
    let (r0, r1, am) = (&r0[..2 * n], &r1[..2 * n], &mut am[..n]);
    for j in 0..n {
        let t = top + 2 * j as u32;
        let (mut v, mut at) = (r0[2 * j], t);
        let b = r0[2 * j + 1];
        let take = b > v || b.is_nan();
        v = if take { b } else { v };
        at = if take { t + 1 } else { at };
        let c = r1[2 * j];
        let take = c > v || c.is_nan();
        v = if take { c } else { v };
        at = if take { t + w } else { at };
        let d = r1[2 * j + 1];
        let take = d > v || d.is_nan();
        v = if take { d } else { v };
        at = if take { t + w + 1 } else { at };
        y[j] = v;
        am[j] = at;
    }
}

/// Max pooling's input gradient: `dx` (overwritten) is zero except at each window's chosen
/// input, which gets that window's `dy`.
///
/// # Shapes
/// - `dy`, `argmax`: `[rows, c·(h/2)·(w/2)]`; `dx`: `[rows, c·h·w]` (overwritten)
///
/// # Panics
/// If a length does not fit or an `argmax` entry lies outside its sample.
pub(crate) fn maxpool2_backward(
    c: usize,
    h: usize,
    w: usize,
    dy: &[f32],
    argmax: &[u32],
    rows: usize,
    dx: &mut [f32],
) {
    let (ho, wo) = pool2_out(h, w);
    let (il, ol) = (c * h * w, c * ho * wo);
    assert_eq!(dx.len(), rows * il, "maxpool2_backward: dx length");
    assert_eq!(dy.len(), rows * ol, "maxpool2_backward: dy length");
    assert_eq!(argmax.len(), rows * ol, "maxpool2_backward: argmax length");
    dx.fill(0.0);
    if ol == 0 {
        return;
    }
    for ((dxs, dys), am) in dx
        .chunks_exact_mut(il)
        .zip(dy.chunks_exact(ol))
        .zip(argmax.chunks_exact(ol))
    {
        // Windows do not overlap: every input receives at most one gradient.
        for (&g, &at) in dys.iter().zip(am) {
            dxs[at as usize] = g;
        }
    }
}

/// Average pooling: `y[b, c, i, j]` = mean of the 2 × 2 window at `(2i, 2j)`, summed in
/// row-major window order.
///
/// # Shapes
/// - `x`: `[rows, c·h·w]`; `y`: `[rows, c·(h/2)·(w/2)]` (overwritten)
///
/// # Panics
/// If a length does not fit.
pub(crate) fn avgpool2_forward(
    c: usize,
    h: usize,
    w: usize,
    x: &[f32],
    rows: usize,
    y: &mut [f32],
) {
    let (ho, wo) = pool2_out(h, w);
    let (il, ol) = (c * h * w, c * ho * wo);
    assert_eq!(x.len(), rows * il, "avgpool2_forward: input length");
    assert_eq!(y.len(), rows * ol, "avgpool2_forward: output length");
    if ol == 0 {
        return;
    }
    for (xs, ys) in x.chunks_exact(il).zip(y.chunks_exact_mut(ol)) {
        for (ch, yc) in ys.chunks_exact_mut(ho * wo).enumerate() {
            let plane = &xs[ch * h * w..(ch + 1) * h * w];
            for i in 0..ho {
                let (r0, r1) = (&plane[2 * i * w..], &plane[(2 * i + 1) * w..]);
                for j in 0..wo {
                    let s = ((r0[2 * j] + r0[2 * j + 1]) + r1[2 * j]) + r1[2 * j + 1];
                    yc[i * wo + j] = 0.25 * s;
                }
            }
        }
    }
}

/// Average pooling's input gradient: each input of a window gets `dy / 4`; dropped rows and
/// columns of odd sizes get 0.
///
/// # Shapes
/// - `dy`: `[rows, c·(h/2)·(w/2)]`; `dx`: `[rows, c·h·w]` (overwritten)
///
/// # Panics
/// If a length does not fit.
pub(crate) fn avgpool2_backward(
    c: usize,
    h: usize,
    w: usize,
    dy: &[f32],
    rows: usize,
    dx: &mut [f32],
) {
    let (ho, wo) = pool2_out(h, w);
    let (il, ol) = (c * h * w, c * ho * wo);
    assert_eq!(dx.len(), rows * il, "avgpool2_backward: dx length");
    assert_eq!(dy.len(), rows * ol, "avgpool2_backward: dy length");
    dx.fill(0.0);
    if ol == 0 {
        return;
    }
    for (dxs, dys) in dx.chunks_exact_mut(il).zip(dy.chunks_exact(ol)) {
        for (ch, dyc) in dys.chunks_exact(ho * wo).enumerate() {
            let plane = &mut dxs[ch * h * w..(ch + 1) * h * w];
            for i in 0..ho {
                for j in 0..wo {
                    let g = 0.25 * dyc[i * wo + j];
                    let top = 2 * i * w + 2 * j;
                    for at in [top, top + 1, top + w, top + w + 1] {
                        plane[at] = g;
                    }
                }
            }
        }
    }
}

/// ReLU's derivative in place: `dy = 0` wherever the ReLU's output `y_post ≤ 0` (NaN outputs
/// pass the gradient, as in [`crate::activation::relu_backward`]).
///
/// # Panics
/// If the lengths differ.
pub(crate) fn relu_backward(y_post: &[f32], dy: &mut [f32]) {
    assert_eq!(y_post.len(), dy.len(), "relu_backward: lengths differ");
    for (g, &a) in dy.iter_mut().zip(y_post) {
        *g = if a <= 0.0 { 0.0 } else { *g };
    }
}
