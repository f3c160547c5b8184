//! Manual backpropagation, parallel over fixed-size sample chunks and bit-deterministic.
//!
//! A batch is cut into chunks of [`CHUNK_ROWS`] samples. Each chunk's forward and backward pass
//! runs on its own (in parallel with rayon) into its own buffers; the chunk gradients and losses
//! are then summed in chunk order. The chunking depends only on the batch size, never on the
//! number of threads, so 1, 2 or 8 threads give bit-identical gradients. Buffers live in a
//! [`Workspace`] and are reused from step to step: no allocation in the inner loop.

use ndarray::{Array1, Array2, ArrayView2, Zip, s};
use rayon::prelude::*;

use crate::kernel::{KernelPolicy, LayerKernel, relu};
use crate::loss::{TargetsRef, loss_sum_and_grad, loss_terms};
use crate::mlp::Mlp;

/// Samples per chunk: the unit of parallel work and of the fixed-order reduction.
pub const CHUNK_ROWS: usize = 64;

/// Gradients of the mean loss with respect to every weight and bias.
///
/// Inactive weights have exactly zero gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    /// `[out, in]` weight gradient per layer.
    pub w: Vec<Array2<f32>>,
    /// `[out]` bias gradient per layer.
    pub b: Vec<Array1<f32>>,
}

impl Grads {
    /// Zero gradients shaped like `mlp`.
    pub fn zeros_like(mlp: &Mlp) -> Self {
        Grads {
            w: mlp
                .layers()
                .iter()
                .map(|l| Array2::zeros(l.weight().dim()))
                .collect(),
            b: mlp
                .layers()
                .iter()
                .map(|l| Array1::zeros(l.d_out()))
                .collect(),
        }
    }

    fn matches(&self, mlp: &Mlp) -> bool {
        self.w.len() == mlp.depth()
            && self
                .w
                .iter()
                .zip(mlp.layers())
                .all(|(g, l)| g.dim() == l.weight().dim())
    }
}

/// Per-chunk scratch: post-activation outputs, deltas and gradients of every layer.
struct ChunkBuf {
    acts: Vec<Array2<f32>>,
    deltas: Vec<Array2<f32>>,
    gw: Vec<Array2<f32>>,
    gb: Vec<Array1<f32>>,
}

impl ChunkBuf {
    fn new(mlp: &Mlp) -> Self {
        let widths: Vec<usize> = mlp.layers().iter().map(|l| l.d_out()).collect();
        ChunkBuf {
            acts: widths
                .iter()
                .map(|&w| Array2::zeros((CHUNK_ROWS, w)))
                .collect(),
            deltas: widths
                .iter()
                .map(|&w| Array2::zeros((CHUNK_ROWS, w)))
                .collect(),
            gw: mlp
                .layers()
                .iter()
                .map(|l| Array2::zeros(l.weight().dim()))
                .collect(),
            gb: widths.iter().map(|&w| Array1::zeros(w)).collect(),
        }
    }
}

/// Reusable buffers and per-layer kernels for [`Workspace::loss_grad`].
pub struct Workspace {
    policy: KernelPolicy,
    widths: Vec<usize>,
    kernels: Vec<Box<dyn LayerKernel>>,
    bufs: Vec<ChunkBuf>,
}

impl Workspace {
    /// Buffers for `mlp` with kernels chosen by `policy`.
    pub fn new(mlp: &Mlp, policy: KernelPolicy) -> Self {
        Workspace {
            policy,
            widths: mlp.widths(),
            kernels: policy.build(mlp),
            bufs: Vec::new(),
        }
    }

    /// Rebuilds kernels and buffers for `mlp` (call after masks or widths change).
    pub fn rebuild(&mut self, mlp: &Mlp) {
        *self = Workspace::new(mlp, self.policy);
    }

    /// Names of the kernels in use, one per layer.
    pub fn kernel_names(&self) -> Vec<&'static str> {
        self.kernels.iter().map(|k| k.name()).collect()
    }

    /// Mean loss of the batch and its gradients, written into `grads`.
    ///
    /// # Shapes
    /// `x`: `[batch, d_in]`; `y`: `batch` targets.
    ///
    /// # Panics
    /// If the batch is empty, sizes disagree with the model, or `grads` has the wrong shapes.
    pub fn loss_grad(
        &mut self,
        mlp: &Mlp,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        grads: &mut Grads,
    ) -> f64 {
        assert!(x.nrows() > 0, "loss_grad: empty batch");
        assert_eq!(
            x.nrows(),
            y.len(),
            "loss_grad: {} inputs but {} targets",
            x.nrows(),
            y.len()
        );
        assert_eq!(x.ncols(), mlp.d_in(), "loss_grad: input width");
        assert!(
            grads.matches(mlp),
            "loss_grad: gradient buffers do not match the model"
        );
        if self.widths != mlp.widths() {
            self.rebuild(mlp);
        }
        let n = x.nrows();
        let n_chunks = n.div_ceil(CHUNK_ROWS);
        while self.bufs.len() < n_chunks {
            self.bufs.push(ChunkBuf::new(mlp));
        }
        let scale = 1.0 / loss_terms(y) as f32;
        let kernels = &self.kernels;
        let run = |(c, buf): (usize, &mut ChunkBuf)| {
            let (a, b) = (c * CHUNK_ROWS, ((c + 1) * CHUNK_ROWS).min(n));
            chunk_pass(
                mlp,
                kernels,
                x.slice(s![a..b, ..]),
                y.slice(a, b),
                scale,
                buf,
            )
        };
        let losses: Vec<f64> = if n_chunks == 1 {
            vec![run((0, &mut self.bufs[0]))]
        } else {
            self.bufs[..n_chunks]
                .par_iter_mut()
                .enumerate()
                .map(run)
                .collect()
        };
        // Fixed-order reduction: chunk 0, then 1, … whatever the thread count.
        for l in 0..mlp.depth() {
            grads.w[l].assign(&self.bufs[0].gw[l]);
            grads.b[l].assign(&self.bufs[0].gb[l]);
            for buf in &self.bufs[1..n_chunks] {
                grads.w[l] += &buf.gw[l];
                grads.b[l] += &buf.gb[l];
            }
        }
        losses.iter().sum::<f64>() / loss_terms(y) as f64
    }
}

/// Forward and backward pass of one chunk; returns the chunk's summed loss.
fn chunk_pass(
    mlp: &Mlp,
    kernels: &[Box<dyn LayerKernel>],
    x: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
    scale: f32,
    buf: &mut ChunkBuf,
) -> f64 {
    let rows = x.nrows();
    let depth = mlp.depth();
    let layers = mlp.layers();
    for l in 0..depth {
        let (done, rest) = buf.acts.split_at_mut(l);
        let input = if l == 0 {
            x
        } else {
            done[l - 1].slice(s![..rows, ..])
        };
        let mut z = rest[0].slice_mut(s![..rows, ..]);
        kernels[l].forward(&layers[l], input, z.view_mut());
        if l + 1 < depth {
            z.mapv_inplace(relu);
        }
    }
    let loss = loss_sum_and_grad(
        buf.acts[depth - 1].slice(s![..rows, ..]),
        y,
        scale,
        buf.deltas[depth - 1].slice_mut(s![..rows, ..]),
    );
    for l in (0..depth).rev() {
        let input = if l == 0 {
            x
        } else {
            buf.acts[l - 1].slice(s![..rows, ..])
        };
        let (below, here) = buf.deltas.split_at_mut(l);
        let delta = here[0].slice(s![..rows, ..]);
        kernels[l].weight_grad(
            &layers[l],
            input,
            delta,
            buf.gw[l].view_mut(),
            buf.gb[l].view_mut(),
        );
        if l > 0 {
            let mut gin = below[l - 1].slice_mut(s![..rows, ..]);
            kernels[l].input_grad(&layers[l], delta, gin.view_mut());
            // ReLU derivative: pass the gradient where the activation was positive.
            Zip::from(&mut gin)
                .and(buf.acts[l - 1].slice(s![..rows, ..]))
                .for_each(|g, &a| {
                    if a <= 0.0 {
                        *g = 0.0;
                    }
                });
        }
    }
    loss
}

/// Gradient of the mean loss with respect to *every* weight of layer `layer`, active or not
/// (what RigL regrows by). Sequential and allocating: meant for occasional use.
///
/// # Shapes
/// `x`: `[batch, d_in]` → `[out, in]` of layer `layer`.
///
/// # Panics
/// If `layer` is out of range or shapes disagree.
pub fn unmasked_weight_grad(
    mlp: &Mlp,
    x: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
    layer: usize,
) -> Array2<f32> {
    let acts = mlp.forward_hidden(x);
    let depth = mlp.depth();
    let mut delta = Array2::<f32>::zeros(acts[depth - 1].dim());
    let scale = 1.0 / loss_terms(y) as f32;
    loss_sum_and_grad(acts[depth - 1].view(), y, scale, delta.view_mut());
    for l in (layer..depth).rev() {
        if l == layer {
            let input = if l == 0 { x } else { acts[l - 1].view() };
            return delta.t().dot(&input);
        }
        let mut below = delta.dot(&mlp.layers()[l].weight());
        Zip::from(&mut below).and(&acts[l - 1]).for_each(|g, &a| {
            if a <= 0.0 {
                *g = 0.0;
            }
        });
        delta = below;
    }
    unreachable!("layer {layer} out of range for depth {depth}")
}
