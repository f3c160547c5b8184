//! The backbone's forward and backward pass over one chunk of samples, into buffers reused from
//! step to step (no allocation in the training step). The training workspace runs it before and
//! after the head's pass of the same chunk; chunks are independent, so the pass is
//! bit-deterministic whatever the number of threads, as the head's.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};
use rayon::prelude::*;

use super::{Backbone, Op};
use crate::activation::relu;
use crate::conv::{self, ConvKernel, ConvPath, ConvScratch};
use crate::gemm::mat_mul;
use crate::kernel::{CHUNK_ROWS, KernelPolicy};
use crate::layer::Layer;

/// Index lists and path of every convolution (`None` for a linear stage), rebuilt when a mask
/// changes.
pub(crate) struct BackboneKernels {
    mask_ids: Vec<u64>,
    convs: Vec<Option<ConvKernel>>,
    /// `Wᵀ` (`[d_in, out]`, row-major) of every linear stage, as of the last
    /// [`BackboneKernels::refresh`]: the forward product then runs on the crate's GEMM without
    /// packing.
    wt: Vec<Option<Array2<f32>>>,
}

impl BackboneKernels {
    /// Kernels for `bb`; `policy` picks each convolution's path as it picks a head layer's
    /// kernel (`dense`, `gathered`, or `auto` by density).
    pub(crate) fn new(bb: &Backbone, policy: KernelPolicy) -> Self {
        let path = match policy {
            KernelPolicy::Auto => ConvPath::Auto,
            KernelPolicy::Dense => ConvPath::Dense,
            KernelPolicy::Gathered => ConvPath::Gathered,
        };
        let mut convs: Vec<Option<ConvKernel>> = bb.layers.iter().map(|_| None).collect();
        for op in bb.ops() {
            if let Op::Conv { geom, layer, .. } = op {
                convs[*layer] = Some(ConvKernel::new(geom, bb.layers[*layer].mask(), path));
            }
        }
        let wt = bb
            .layers
            .iter()
            .zip(&convs)
            .map(|(l, c)| c.is_none().then(|| Array2::zeros(l.weight().t().dim())))
            .collect();
        let mut k = BackboneKernels {
            mask_ids: bb.layers.iter().map(Layer::mask_id).collect(),
            convs,
            wt,
        };
        k.refresh(bb);
        k
    }

    /// Copies the current weights of the linear stages (call before every pass: the weights
    /// change at every step).
    pub(crate) fn refresh(&mut self, bb: &Backbone) {
        for (wt, l) in self.wt.iter_mut().zip(&bb.layers) {
            if let Some(wt) = wt {
                wt.assign(&l.weight().t());
            }
        }
    }

    fn conv(&self, layer: usize) -> &ConvKernel {
        self.convs[layer]
            .as_ref()
            .expect("a convolution's kernel is built")
    }

    /// Whether these were built for `bb`'s current masks.
    pub(crate) fn is_current(&self, bb: &Backbone) -> bool {
        self.mask_ids
            .iter()
            .copied()
            .eq(bb.layers.iter().map(Layer::mask_id))
    }
}

/// One chunk's backbone buffers: outputs and gradients of every op, pooling indices, im2col
/// scratch and the chunk's weight and bias gradients of every backbone layer.
pub(crate) struct BackboneBuf {
    xin: Vec<f32>,
    acts: Vec<Vec<f32>>,
    deltas: Vec<Vec<f32>>,
    argmax: Vec<Vec<u32>>,
    scratch: ConvScratch,
    pub(crate) gw: Vec<Array2<f32>>,
    pub(crate) gb: Vec<Array1<f32>>,
}

impl BackboneBuf {
    pub(crate) fn new(bb: &Backbone) -> Self {
        Self::with_gradients(bb, true)
    }

    /// Buffers for inference only: no gradient buffers (half the memory to clear).
    fn forward_only(bb: &Backbone) -> Self {
        Self::with_gradients(bb, false)
    }

    fn with_gradients(bb: &Backbone, gradients: bool) -> Self {
        let ops = bb.ops();
        BackboneBuf {
            xin: Vec::new(),
            acts: ops
                .iter()
                .map(|op| vec![0.0; op.out_len() * CHUNK_ROWS])
                .collect(),
            deltas: ops
                .iter()
                .map(|op| {
                    vec![
                        0.0;
                        if gradients {
                            op.out_len() * CHUNK_ROWS
                        } else {
                            0
                        }
                    ]
                })
                .collect(),
            argmax: ops
                .iter()
                .map(|op| match op {
                    Op::Pool { .. } => vec![0; op.out_len() * CHUNK_ROWS],
                    _ => Vec::new(),
                })
                .collect(),
            scratch: ConvScratch::new(
                &ops.iter()
                    .filter_map(|op| match op {
                        Op::Conv { geom, .. } => Some(*geom),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            ),
            gw: bb
                .layers
                .iter()
                .filter(|_| gradients)
                .map(|l| Array2::zeros(l.weight().dim()))
                .collect(),
            gb: bb
                .layers
                .iter()
                .filter(|_| gradients)
                .map(|l| Array1::zeros(l.d_out()))
                .collect(),
        }
    }

    /// The features the last [`forward`] wrote: `[rows, out_len]`, row-major.
    pub(crate) fn features(&self, bb: &Backbone, rows: usize) -> ArrayView2<'_, f32> {
        let n = bb.out_len();
        match self.acts.last() {
            Some(a) => ArrayView2::from_shape((rows, n), &a[..rows * n]).expect("sized"),
            None => ArrayView2::from_shape((rows, n), &self.xin[..rows * n]).expect("sized"),
        }
    }

    /// Where the caller writes the gradient of the loss with respect to the features
    /// (`[rows, out_len]`, row-major) before [`backward`].
    pub(crate) fn feature_grad_mut(&mut self, bb: &Backbone, rows: usize) -> &mut [f32] {
        let n = bb.out_len();
        match self.deltas.last_mut() {
            Some(d) => &mut d[..rows * n],
            None => &mut [],
        }
    }
}

/// Runs the backbone on one chunk `x` (`[rows, in_len]`, rows ≤ [`CHUNK_ROWS`]).
pub(crate) fn chunk_forward(
    bb: &Backbone,
    kernels: &BackboneKernels,
    x: ArrayView2<'_, f32>,
    buf: &mut BackboneBuf,
) {
    let rows = x.nrows();
    let BackboneBuf {
        xin,
        acts,
        argmax,
        scratch,
        ..
    } = buf;
    let xs = contiguous(x, xin);
    let mut in_len = bb.in_len();
    for (i, op) in bb.ops().iter().enumerate() {
        let (done, rest) = acts.split_at_mut(i);
        let input: &[f32] = if i == 0 {
            xs
        } else {
            &done[i - 1][..rows * in_len]
        };
        let out = &mut rest[0][..rows * op.out_len()];
        match *op {
            Op::Conv {
                layer, relu: act, ..
            } => {
                let l = &bb.layers[layer];
                conv::conv2d_forward(
                    kernels.conv(layer),
                    input,
                    rows,
                    l.weight(),
                    l.bias(),
                    out,
                    act,
                    scratch,
                );
            }
            Op::Linear {
                d_in,
                out: n_out,
                layer,
                relu: act,
            } => {
                let wt = kernels.wt[layer]
                    .as_ref()
                    .expect("a linear stage's Wᵀ is kept");
                let l = &bb.layers[layer];
                linear_forward(wt.view(), l.bias(), input, rows, (d_in, n_out), out, act);
            }
            Op::Relu { .. } => out.iter_mut().zip(input).for_each(|(o, &v)| *o = relu(v)),
            Op::Pool { c, h, w } => {
                let n = out.len();
                conv::maxpool2_forward(c, h, w, input, rows, out, &mut argmax[i][..n]);
            }
            Op::AvgPool { c, h, w } => conv::avgpool2_forward(c, h, w, input, rows, out),
        }
        in_len = op.out_len();
    }
}

/// The backward pass of the chunk [`chunk_forward`] last ran on (the same `x`), from the
/// feature gradient in [`BackboneBuf::feature_grad_mut`]; writes the chunk's weight and bias
/// gradients into `buf.gw`/`buf.gb` (inactive weights exactly 0).
pub(crate) fn chunk_backward(
    bb: &Backbone,
    kernels: &BackboneKernels,
    x: ArrayView2<'_, f32>,
    buf: &mut BackboneBuf,
) {
    let rows = x.nrows();
    let BackboneBuf {
        xin,
        acts,
        deltas,
        argmax,
        scratch,
        gw,
        gb,
    } = buf;
    let xs: &[f32] = match x.as_slice() {
        Some(s) => s,
        None => &xin[..],
    };
    let ops = bb.ops();
    for i in (0..ops.len()).rev() {
        let in_len = if i == 0 {
            bb.in_len()
        } else {
            ops[i - 1].out_len()
        };
        let input: &[f32] = if i == 0 {
            xs
        } else {
            &acts[i - 1][..rows * in_len]
        };
        let (below, here) = deltas.split_at_mut(i);
        let dy = &mut here[0][..rows * ops[i].out_len()];
        let dx = below.last_mut().map(|d| &mut d[..rows * in_len]);
        match ops[i] {
            Op::Conv {
                layer, relu: act, ..
            } => {
                if act {
                    conv::relu_backward(&acts[i][..dy.len()], dy);
                }
                let l = &bb.layers[layer];
                conv::conv2d_backward(
                    kernels.conv(layer),
                    input,
                    rows,
                    l.weight(),
                    l.mask(),
                    dy,
                    gw[layer].view_mut(),
                    gb[layer].view_mut(),
                    dx,
                    scratch,
                );
            }
            Op::Linear {
                d_in,
                out,
                layer,
                relu: act,
            } => {
                if act {
                    conv::relu_backward(&acts[i][..dy.len()], dy);
                }
                let grads = (gw[layer].view_mut(), gb[layer].view_mut());
                linear_backward(&bb.layers[layer], input, rows, (d_in, out), dy, grads, dx);
            }
            Op::Relu { .. } => {
                if let Some(dx) = dx {
                    dx.copy_from_slice(dy);
                    conv::relu_backward(&acts[i][..dx.len()], dx);
                }
            }
            Op::Pool { c, h, w } => {
                if let Some(dx) = dx {
                    conv::maxpool2_backward(c, h, w, dy, &argmax[i][..dy.len()], rows, dx);
                }
            }
            Op::AvgPool { c, h, w } => {
                if let Some(dx) = dx {
                    conv::avgpool2_backward(c, h, w, dy, rows, dx);
                }
            }
        }
    }
}

/// `y = x Wᵀ + b` (ReLU if `act`) for a chunk: `x` `[rows, d_in]`, `wt` = `Wᵀ` `[d_in, out]`,
/// `y` `[rows, out]`.
fn linear_forward(
    wt: ArrayView2<'_, f32>,
    bias: ArrayView1<'_, f32>,
    x: &[f32],
    rows: usize,
    (d_in, out): (usize, usize),
    y: &mut [f32],
    act: bool,
) {
    let xv = ArrayView2::from_shape((rows, d_in), x).expect("sized");
    let mut yv = ArrayViewMut2::from_shape((rows, out), y).expect("sized");
    mat_mul(xv, wt, yv.view_mut());
    for mut row in yv.rows_mut() {
        Zip::from(&mut row).and(bias).for_each(|v, &b| {
            *v = if act { relu(*v + b) } else { *v + b };
        });
    }
}

/// Gradients of a linear stage from `dy` (`[rows, out]`, pre-activation): `gw = dyᵀ x` masked,
/// `gb = Σ_rows dy` in row order, `dx = dy W` if wanted.
fn linear_backward(
    l: &Layer,
    x: &[f32],
    rows: usize,
    (d_in, out): (usize, usize),
    dy: &[f32],
    (mut gw, mut gb): (ArrayViewMut2<'_, f32>, ArrayViewMut1<'_, f32>),
    dx: Option<&mut [f32]>,
) {
    let xv = ArrayView2::from_shape((rows, d_in), x).expect("sized");
    let dyv = ArrayView2::from_shape((rows, out), dy).expect("sized");
    mat_mul(dyv.t(), xv, gw.view_mut());
    Zip::from(&mut gw).and(l.mask()).for_each(|g, &on| {
        if !on {
            *g = 0.0;
        }
    });
    gb.fill(0.0);
    for row in dyv.rows() {
        gb += &row;
    }
    if let Some(dx) = dx {
        let dxv = ArrayViewMut2::from_shape((rows, d_in), dx).expect("sized");
        mat_mul(dyv, l.weight(), dxv);
    }
}

/// `x` as one row-major slice: itself when it is one, else copied into `buf`.
fn contiguous<'a>(x: ArrayView2<'a, f32>, buf: &'a mut Vec<f32>) -> &'a [f32] {
    match x.to_slice() {
        Some(s) => s,
        None => {
            buf.clear();
            buf.extend(x.iter().copied());
            &buf[..]
        }
    }
}

/// Features of a whole batch (inference): chunks of [`CHUNK_ROWS`] in parallel.
pub(super) fn forward(bb: &Backbone, x: ArrayView2<'_, f32>) -> Array2<f32> {
    assert_eq!(
        x.ncols(),
        bb.in_len(),
        "Backbone::forward: input has {} columns, the backbone reads {}",
        x.ncols(),
        bb.in_len()
    );
    let kernels = BackboneKernels::new(bb, KernelPolicy::Auto);
    let chunks: Vec<ArrayView2<'_, f32>> = x.axis_chunks_iter(Axis(0), CHUNK_ROWS).collect();
    let parts: Vec<Array2<f32>> = chunks
        .par_iter()
        .map_init(
            || BackboneBuf::forward_only(bb),
            |buf, xc| {
                chunk_forward(bb, &kernels, *xc, buf);
                buf.features(bb, xc.nrows()).to_owned()
            },
        )
        .collect();
    let views: Vec<ArrayView2<'_, f32>> = parts.iter().map(|p| p.view()).collect();
    if views.is_empty() {
        return Array2::zeros((0, bb.out_len()));
    }
    ndarray::concatenate(Axis(0), &views).expect("chunks share their width")
}
