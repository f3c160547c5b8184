//! Tests of the convolution kernels: a small conv/ReLU/pool network run by the f32 kernels,
//! checked against an independent f64 forward (`naive`) by finite differences (`grad`), the two
//! paths against each other and the reference (`paths`), pooling (`pool`), and a speed test of
//! the E11 backbone (`speed`, ignored by default).

mod grad;
mod naive;
mod paths;
mod pool;
mod speed;

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    ConvGeom, ConvKernel, ConvPath, ConvScratch, avgpool2_backward, avgpool2_forward,
    conv2d_backward, conv2d_forward, maxpool2_backward, maxpool2_forward, relu_backward,
};

/// Pooling after a conv layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pool {
    None,
    Max,
    Avg,
}

/// A conv layer with its parameters, followed by an optional ReLU and pooling.
pub(super) struct Layer {
    pub(super) g: ConvGeom,
    pub(super) w: Array2<f32>,
    pub(super) b: Array1<f32>,
    pub(super) mask: Array2<bool>,
    pub(super) kern: ConvKernel,
    pub(super) relu: bool,
    pub(super) pool: Pool,
}

impl Layer {
    /// Random weights (uniform in ±`1/√fan-in`·2) zeroed where `mask` is off.
    pub(super) fn new(
        rng: &mut ChaCha8Rng,
        g: ConvGeom,
        mask: Array2<bool>,
        path: ConvPath,
        relu: bool,
        pool: Pool,
    ) -> Self {
        let s = 2.0 / (g.k() as f32).sqrt();
        let w = Array2::from_shape_fn((g.out_ch, g.k()), |(o, j)| {
            let v = rng.random_range(-s..s);
            if mask[[o, j]] { v } else { 0.0 }
        });
        let b = Array1::from_shape_fn(g.out_ch, |_| rng.random_range(-0.5f32..0.5));
        let kern = ConvKernel::new(&g, mask.view(), path);
        Layer {
            g,
            w,
            b,
            mask,
            kern,
            relu,
            pool,
        }
    }

    /// Output size per sample after the pooling, and `(c, h, w)` before it.
    fn out_len(&self) -> usize {
        let (c, h, w) = (self.g.out_ch, self.g.h_out(), self.g.w_out());
        match self.pool {
            Pool::None => c * h * w,
            _ => c * (h / 2) * (w / 2),
        }
    }
}

/// Every weight active.
pub(super) fn full_mask(g: &ConvGeom) -> Array2<bool> {
    Array2::from_elem((g.out_ch, g.k()), true)
}

/// Each weight active with probability `p`.
pub(super) fn random_mask(rng: &mut ChaCha8Rng, g: &ConvGeom, p: f64) -> Array2<bool> {
    Array2::from_shape_fn((g.out_ch, g.k()), |_| rng.random_bool(p))
}

/// Channel expansion's "contiguous" pattern: output `o` reads whole input channels, the
/// `in_ch / alpha` channels starting at `(o · in_ch / alpha) mod in_ch`.
pub(super) fn block_mask(g: &ConvGeom, alpha: usize) -> Array2<bool> {
    let per = (g.in_ch / alpha).max(1);
    let kk = g.kh * g.kw;
    Array2::from_shape_fn((g.out_ch, g.k()), |(o, j)| {
        let ci = j / kk;
        let first = (o * per) % g.in_ch;
        (ci + g.in_ch - first) % g.in_ch < per
    })
}

/// Uniform values in `[-1, 1)`.
pub(super) fn random_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Activations of the f32 forward pass, kept for the backward pass.
pub(super) struct Trace {
    /// Input of each layer, then the network's output.
    pub(super) acts: Vec<Vec<f32>>,
    /// Conv output (after ReLU if any) of each layer.
    pub(super) conv: Vec<Vec<f32>>,
    /// Max-pool argmax of each layer (empty if none).
    pub(super) argmax: Vec<Vec<u32>>,
}

/// Gradients of one layer.
pub(super) struct LayerGrad {
    pub(super) gw: Array2<f32>,
    pub(super) gb: Array1<f32>,
}

/// A chain of conv layers; the loss is `Σ c_i o_i + ½ Σ o_i²` of the output `o`.
pub(super) struct Net {
    pub(super) layers: Vec<Layer>,
}

impl Net {
    pub(super) fn forward(&self, x: &[f32], rows: usize, s: &mut ConvScratch) -> Trace {
        let mut t = Trace {
            acts: vec![x.to_vec()],
            conv: Vec::new(),
            argmax: Vec::new(),
        };
        for l in &self.layers {
            let g = &l.g;
            let (c, h, w) = (g.out_ch, g.h_out(), g.w_out());
            let mut y = vec![f32::NAN; rows * g.out_len()];
            let input = t.acts.last().expect("input");
            assert_eq!(input.len(), rows * g.in_len(), "layer input size");
            conv2d_forward(
                &l.kern,
                input,
                rows,
                l.w.view(),
                l.b.view(),
                &mut y,
                l.relu,
                s,
            );
            let mut p = vec![f32::NAN; rows * l.out_len()];
            let mut am = Vec::new();
            match l.pool {
                Pool::None => p.copy_from_slice(&y),
                Pool::Max => {
                    am = vec![u32::MAX; p.len()];
                    maxpool2_forward(c, h, w, &y, rows, &mut p, &mut am);
                }
                Pool::Avg => avgpool2_forward(c, h, w, &y, rows, &mut p),
            }
            t.conv.push(y);
            t.argmax.push(am);
            t.acts.push(p);
        }
        t
    }

    /// Gradients of every layer and of the input, for output gradient `dout`.
    pub(super) fn backward(
        &self,
        t: &Trace,
        rows: usize,
        dout: &[f32],
        s: &mut ConvScratch,
    ) -> (Vec<LayerGrad>, Vec<f32>) {
        let mut grads = Vec::new();
        let mut d = dout.to_vec();
        for (i, l) in self.layers.iter().enumerate().rev() {
            let g = &l.g;
            let (c, h, w) = (g.out_ch, g.h_out(), g.w_out());
            let mut dy = vec![f32::NAN; rows * g.out_len()];
            match l.pool {
                Pool::None => dy.copy_from_slice(&d),
                Pool::Max => maxpool2_backward(c, h, w, &d, &t.argmax[i], rows, &mut dy),
                Pool::Avg => avgpool2_backward(c, h, w, &d, rows, &mut dy),
            }
            if l.relu {
                relu_backward(&t.conv[i], &mut dy);
            }
            let mut gw = Array2::from_elem(l.w.dim(), f32::NAN);
            let mut gb = Array1::from_elem(g.out_ch, f32::NAN);
            let mut dx = vec![f32::NAN; rows * g.in_len()];
            let x = &t.acts[i];
            let (w, m) = (l.w.view(), l.mask.view());
            let (gwv, gbv) = (gw.view_mut(), gb.view_mut());
            conv2d_backward(&l.kern, x, rows, w, m, &dy, gwv, gbv, Some(&mut dx), s);
            grads.push(LayerGrad { gw, gb });
            d = dx;
        }
        grads.reverse();
        (grads, d)
    }

    /// The loss in f64 from the direct reference, for parameters `(w, b)` per layer.
    pub(super) fn loss_f64(
        &self,
        params: &[(Vec<f64>, Vec<f64>)],
        x: &[f64],
        rows: usize,
        coef: &[f64],
    ) -> f64 {
        let mut a = x.to_vec();
        for (l, (w, b)) in self.layers.iter().zip(params) {
            let g = &l.g;
            let mut y = naive::conv(g, &a, rows, w, b);
            if l.relu {
                naive::relu(&mut y);
            }
            let (c, h, wd) = (g.out_ch, g.h_out(), g.w_out());
            a = match l.pool {
                Pool::None => y,
                Pool::Max => naive::pool(c, h, wd, &y, rows, true),
                Pool::Avg => naive::pool(c, h, wd, &y, rows, false),
            };
        }
        assert_eq!(a.len(), coef.len());
        a.iter().zip(coef).map(|(o, c)| c * o + 0.5 * o * o).sum()
    }

    /// `(w, b)` of every layer in f64.
    pub(super) fn params_f64(&self) -> Vec<(Vec<f64>, Vec<f64>)> {
        self.layers
            .iter()
            .map(|l| {
                let w = l.w.iter().map(|&v| f64::from(v)).collect();
                let b = l.b.iter().map(|&v| f64::from(v)).collect();
                (w, b)
            })
            .collect()
    }

    /// Scratch buffers for every layer.
    pub(super) fn scratch(&self) -> ConvScratch {
        let geoms: Vec<ConvGeom> = self.layers.iter().map(|l| l.g).collect();
        ConvScratch::new(&geoms)
    }
}

/// A `ConvGeom` from its fields in order `(in_ch, out_ch, h, w, kh, kw, pad)`.
pub(super) fn geom(f: (usize, usize, usize, usize, usize, usize, usize)) -> ConvGeom {
    let g = ConvGeom {
        in_ch: f.0,
        out_ch: f.1,
        h: f.2,
        w: f.3,
        kh: f.4,
        kw: f.5,
        pad: f.6,
    };
    g.validate().expect("test geometry");
    g
}

/// A seeded RNG.
pub(super) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
