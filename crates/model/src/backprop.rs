//! Manual backpropagation, parallel over fixed-size sample chunks and bit-deterministic.
//!
//! A batch is cut into chunks of [`CHUNK_ROWS`] samples. Each chunk's forward and backward pass
//! runs on its own (in parallel with rayon, or one after the other when the work is too small
//! to pay for waking threads) into its own buffers; the chunk gradients and losses are then
//! summed in chunk order. The chunking depends only on the batch size, never on the number of
//! threads or on whether chunks ran in parallel, so 1, 2 or 8 threads give bit-identical
//! gradients. Buffers live in a [`Workspace`] and are reused from step to step: no allocation
//! in the inner loop.
//!
//! Activations and deltas are stored feature-major (each neuron's batch vector contiguous), the
//! layout the gathered kernel vectorises over. Weight gradients of kernels that
//! [pack](LayerKernel::packs_weight_grad) them are reduced over chunks packed (one value per
//! active weight) and unpacked once.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, s};
use rayon::prelude::*;

use crate::backbone::pass::{BackboneBuf, BackboneKernels, chunk_backward, chunk_forward};
use crate::kernel::{CHUNK_ROWS, KernelPolicy, LayerKernel};
use crate::loss::{TargetsRef, loss_sum_and_grad_if, loss_terms};
use crate::mlp::Mlp;

pub use crate::full_grad::unmasked_weight_grad;
pub use crate::grads::Grads;

/// A chunk's weight gradient of one layer: dense `[out, in]`, or packed (one value per active
/// weight) when the layer's kernel [packs](LayerKernel::packs_weight_grad).
enum GradBuf {
    Dense(Array2<f32>),
    Packed(Vec<f32>),
}

/// Per-chunk scratch: post-activation outputs, deltas and gradients of every layer.
///
/// Activations and deltas are stored *feature-major*: buffer `l` holds `[width_l, rows]` and
/// kernels see it as a `[rows, width_l]` view with batch stride 1 (see [`fm_view`]). Dense
/// kernels do not care; gathered kernels run their vector loops over the batch. `xt` holds a
/// feature-major copy of the chunk's inputs when the first layer's kernel prefers it.
struct ChunkBuf {
    loss: f64,
    xt: Vec<f32>,
    /// Row-major copy of a hidden layer's input, for kernels whose weight gradient wants it.
    rm: Vec<f32>,
    acts: Vec<Vec<f32>>,
    deltas: Vec<Vec<f32>>,
    gw: Vec<GradBuf>,
    gb: Vec<Array1<f32>>,
    /// The backbone's buffers.
    bb: Option<BackboneBuf>,
    /// The head's input gradient (feature-major), where the backbone's backward pass starts.
    fg: Vec<f32>,
}

impl ChunkBuf {
    fn new(mlp: &Mlp, kernels: &[Box<dyn LayerKernel>]) -> Self {
        let widths: Vec<usize> = mlp.layers().iter().map(|l| l.d_out()).collect();
        let head_in = mlp.layers()[0].d_in();
        let xt_len = if kernels[0].prefers_feature_major() {
            head_in * CHUNK_ROWS
        } else {
            0
        };
        let rm_len = mlp
            .layers()
            .iter()
            .zip(kernels)
            .skip(1)
            .filter(|(_, k)| !k.weight_grad_prefers_feature_major())
            .map(|(l, _)| l.d_in() * CHUNK_ROWS)
            .max()
            .unwrap_or(0);
        ChunkBuf {
            loss: 0.0,
            xt: vec![0.0; xt_len],
            rm: vec![0.0; rm_len],
            acts: widths.iter().map(|&w| vec![0.0; w * CHUNK_ROWS]).collect(),
            deltas: widths.iter().map(|&w| vec![0.0; w * CHUNK_ROWS]).collect(),
            gw: mlp
                .layers()
                .iter()
                .zip(kernels)
                .map(|(l, k)| {
                    if k.packs_weight_grad() {
                        GradBuf::Packed(vec![0.0; l.nnz()])
                    } else {
                        GradBuf::Dense(Array2::zeros(l.weight().dim()))
                    }
                })
                .collect(),
            gb: widths.iter().map(|&w| Array1::zeros(w)).collect(),
            bb: mlp.backbone().map(BackboneBuf::new),
            fg: if mlp.backbone().is_some() {
                vec![0.0; head_in * CHUNK_ROWS]
            } else {
                Vec::new()
            },
        }
    }
}

/// A `[rows, width]` view with batch stride 1 of the feature-major buffer `buf`.
fn fm_view(buf: &[f32], rows: usize, width: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((width, rows), &buf[..width * rows])
        .expect("buffer sized for CHUNK_ROWS")
        .reversed_axes()
}

/// Mutable [`fm_view`].
fn fm_view_mut(buf: &mut [f32], rows: usize, width: usize) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((width, rows), &mut buf[..width * rows])
        .expect("buffer sized for CHUNK_ROWS")
        .reversed_axes()
}

/// Copies `x` `[rows, d]` into `out` feature-major (`out[i·rows + b] = x[b, i]`).
fn transpose_into(x: ArrayView2<'_, f32>, out: &mut [f32]) {
    let (rows, d) = x.dim();
    let out = &mut out[..rows * d];
    match x.as_slice() {
        Some(s) => crate::layout::transpose(s, rows, d, out),
        None => {
            for ((b, i), &v) in x.indexed_iter() {
                out[i * rows + b] = v;
            }
        }
    }
}

/// Writes `x` `[batch, d]` feature-major chunk by chunk, as [`Workspace::pass`] takes it:
/// chunk `c` (rows `c·CHUNK_ROWS..`, `r` of them) is `[d, r]` at offset `c·CHUNK_ROWS·d` of `out`.
///
/// # Panics
/// If `out` is shorter than `batch · d`.
pub(crate) fn transpose_chunks(x: ArrayView2<'_, f32>, out: &mut [f32]) {
    let (n, d) = x.dim();
    for a in (0..n).step_by(CHUNK_ROWS) {
        let b = (a + CHUNK_ROWS).min(n);
        transpose_into(x.slice(s![a..b, ..]), &mut out[a * d..b * d]);
    }
}

/// Multiply-adds per chunk below which [`Workspace::loss_grad`] runs its chunks on the calling
/// thread: waking rayon's workers costs about as much as the work. Measured on the 2-core
/// development machine at batch 256: two threads gained nothing up to 64→128→16 (2M per chunk)
/// and 1.4× at 64→256→16 (4M). Results are identical either way.
const PARALLEL_MIN_CHUNK_WORK: usize = 1 << 20;

/// Reusable buffers and per-layer kernels for [`Workspace::loss_grad`].
pub struct Workspace {
    policy: KernelPolicy,
    widths: Vec<usize>,
    /// [`crate::Layer::mask_id`] of every layer the kernels were built for.
    mask_ids: Vec<u64>,
    kernels: Vec<Box<dyn LayerKernel>>,
    /// The backbone's sparse-path index lists, if the model has a backbone.
    bb_kernels: Option<BackboneKernels>,
    bufs: Vec<ChunkBuf>,
    /// Multiply-adds of one chunk's forward and backward pass (an estimate).
    chunk_work: usize,
}

impl Workspace {
    /// Buffers for `mlp` with kernels chosen by `policy`.
    pub fn new(mlp: &Mlp, policy: KernelPolicy) -> Self {
        let kernels = policy.build(mlp);
        let per_sample: usize = mlp
            .layers()
            .iter()
            .zip(&kernels)
            .map(|(l, k)| {
                if k.packs_weight_grad() {
                    l.nnz()
                } else {
                    l.d_out() * l.d_in()
                }
            })
            .sum::<usize>()
            + mlp.backbone().map_or(0, crate::Backbone::macs_per_sample);
        Workspace {
            policy,
            widths: mlp.widths(),
            mask_ids: mlp.layers().iter().map(crate::Layer::mask_id).collect(),
            kernels,
            bb_kernels: mlp.backbone().map(|b| BackboneKernels::new(b, policy)),
            bufs: Vec::new(),
            chunk_work: 3 * per_sample * CHUNK_ROWS,
        }
    }

    /// Rebuilds kernels and buffers for `mlp`. [`Workspace::loss_grad`] does this by itself
    /// whenever a width or a mask ([`crate::Layer::mask_id`]) differs from the ones the kernels
    /// were built for.
    pub fn rebuild(&mut self, mlp: &Mlp) {
        *self = Workspace::new(mlp, self.policy);
    }

    /// Whether a batch of `batch` samples is split across the threads of the current rayon pool
    /// (more than one chunk, more than one thread and enough work per chunk). The chunks and the
    /// order of the reduction are the same either way, so the results are too.
    pub fn runs_parallel(&self, batch: usize) -> bool {
        batch.div_ceil(CHUNK_ROWS) > 1
            && self.chunk_work >= PARALLEL_MIN_CHUNK_WORK
            && rayon::current_num_threads() > 1
    }

    /// Whether the kernels were built for `mlp`'s current widths and masks.
    pub fn is_current(&self, mlp: &Mlp) -> bool {
        // Compared in place: `Mlp::widths` allocates, and this runs every step.
        let backbone_current = match (mlp.backbone(), &self.bb_kernels) {
            (None, None) => true,
            (Some(b), Some(k)) => k.is_current(b),
            _ => false,
        };
        backbone_current
            && self.widths.first() == Some(&mlp.layers()[0].d_in())
            && self.widths[1..]
                .iter()
                .copied()
                .eq(mlp.layers().iter().map(crate::Layer::d_out))
            && self
                .mask_ids
                .iter()
                .copied()
                .eq(mlp.layers().iter().map(crate::Layer::mask_id))
    }

    /// The policy the kernels are chosen by.
    pub fn policy(&self) -> KernelPolicy {
        self.policy
    }

    /// Names of the kernels in use, one per layer.
    pub fn kernel_names(&self) -> Vec<&'static str> {
        self.kernels.iter().map(|k| k.name()).collect()
    }

    /// Mean loss of the batch and its gradients, written into `grads`.
    ///
    /// Chunks run in parallel on the current rayon pool when there is more than one chunk,
    /// more than one thread and enough work per chunk; otherwise one after the other. The
    /// chunking and the reduction order are the same either way, so the results are too.
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
        self.pass(mlp, x, None, y, grads, true)
    }

    /// The gradients of [`Workspace::loss_grad`], bit for bit, without computing the loss where
    /// it costs extra (the BCE loss terms). Returns `true` if every logit was finite (when the
    /// loss would have been).
    ///
    /// # Shapes and panics
    /// As [`Workspace::loss_grad`].
    pub fn grad(
        &mut self,
        mlp: &Mlp,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        grads: &mut Grads,
    ) -> bool {
        self.pass(mlp, x, None, y, grads, false).is_finite()
    }

    /// [`Workspace::loss_grad`] (`want_loss`) or [`Workspace::grad`] (returning `0.0`, or NaN
    /// for a non-finite logit). `x_fm`: `x` already transposed by [`transpose_chunks`], used
    /// where the first layer's kernel wants feature-major inputs (the same values as the
    /// workspace's own transposes, so the results are the same).
    pub(crate) fn pass(
        &mut self,
        mlp: &Mlp,
        x: ArrayView2<'_, f32>,
        x_fm: Option<&[f32]>,
        y: TargetsRef<'_>,
        grads: &mut Grads,
        want_loss: bool,
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
        if !self.is_current(mlp) {
            self.rebuild(mlp);
        }
        let n = x.nrows();
        let n_chunks = n.div_ceil(CHUNK_ROWS);
        while self.bufs.len() < n_chunks {
            self.bufs.push(ChunkBuf::new(mlp, &self.kernels));
        }
        let scale = 1.0 / loss_terms(y) as f32;
        if let (Some(k), Some(b)) = (self.bb_kernels.as_mut(), mlp.backbone()) {
            k.refresh(b);
        }
        let kernels = &self.kernels;
        let bb_kernels = self.bb_kernels.as_ref();
        let d = x.ncols();
        let run = |(c, buf): (usize, &mut ChunkBuf)| {
            let (a, b) = (c * CHUNK_ROWS, ((c + 1) * CHUNK_ROWS).min(n));
            let chunk = Chunk {
                x: x.slice(s![a..b, ..]),
                x_fm: x_fm.map(|f| &f[a * d..b * d]),
                y: y.slice(a, b),
            };
            buf.loss = chunk_pass(mlp, (kernels, bb_kernels), chunk, scale, want_loss, buf);
        };
        let parallel = self.runs_parallel(n);
        let bufs = &mut self.bufs[..n_chunks];
        if parallel {
            bufs.par_iter_mut().enumerate().for_each(run);
        } else {
            bufs.iter_mut().enumerate().for_each(run);
        }
        let loss: f64 = bufs.iter().map(|b| b.loss).sum();
        // Fixed-order reduction: chunk 0, then 1, … whatever the thread count.
        let (first, rest) = bufs.split_at_mut(1);
        let first = &mut first[0];
        for (l, layer) in mlp.layers().iter().enumerate() {
            grads.b[l].assign(&first.gb[l]);
            for buf in rest.iter() {
                grads.b[l] += &buf.gb[l];
            }
            match &mut first.gw[l] {
                GradBuf::Dense(g0) => {
                    grads.w[l].assign(g0);
                    for buf in rest.iter() {
                        if let GradBuf::Dense(g) = &buf.gw[l] {
                            grads.w[l] += g;
                        }
                    }
                }
                GradBuf::Packed(p0) => {
                    for buf in rest.iter() {
                        if let GradBuf::Packed(p) = &buf.gw[l] {
                            p0.iter_mut().zip(p).for_each(|(a, &b)| *a += b);
                        }
                    }
                    kernels[l].unpack_weight_grad(layer, p0, grads.w[l].view_mut());
                }
            }
        }
        if let Some(b0) = &first.bb {
            let depth = mlp.depth();
            for j in 0..b0.gw.len() {
                grads.w[depth + j].assign(&b0.gw[j]);
                grads.b[depth + j].assign(&b0.gb[j]);
                for buf in rest.iter() {
                    let b = buf
                        .bb
                        .as_ref()
                        .expect("every chunk has the backbone's buffers");
                    grads.w[depth + j] += &b.gw[j];
                    grads.b[depth + j] += &b.gb[j];
                }
            }
        }
        loss / loss_terms(y) as f64
    }
}

/// One chunk's inputs: row-major `x`, optionally the same values feature-major, and targets.
struct Chunk<'x, 'f, 'y> {
    x: ArrayView2<'x, f32>,
    x_fm: Option<&'f [f32]>,
    y: TargetsRef<'y>,
}

/// Forward and backward pass of one chunk; returns the chunk's summed loss.
fn chunk_pass(
    mlp: &Mlp,
    (kernels, bb_kernels): (&[Box<dyn LayerKernel>], Option<&BackboneKernels>),
    chunk: Chunk<'_, '_, '_>,
    scale: f32,
    want_loss: bool,
    buf: &mut ChunkBuf,
) -> f64 {
    let Chunk { x, x_fm, y } = chunk;
    let ChunkBuf {
        loss: _,
        xt,
        rm,
        acts,
        deltas,
        gw,
        gb,
        bb,
        fg,
    } = buf;
    let rows = x.nrows();
    let depth = mlp.depth();
    let layers = mlp.layers();
    let head_in = layers[0].d_in();
    let x_net = x;
    // With a backbone, the head reads its features (row-major; never the caller's transposes).
    if let (Some(b), Some(bbuf), Some(k)) = (mlp.backbone(), bb.as_mut(), bb_kernels) {
        chunk_forward(b, k, x, bbuf);
    }
    let (x, x_fm) = match (mlp.backbone(), bb.as_ref()) {
        (Some(b), Some(bbuf)) => (bbuf.features(b, rows), None),
        _ => (x, x_fm),
    };
    let x_rows = x;
    let x = match (xt.is_empty(), x_fm) {
        (true, _) => x,
        (false, Some(fm)) => fm_view(fm, rows, head_in),
        (false, None) => {
            transpose_into(x, xt);
            fm_view(xt, rows, head_in)
        }
    };
    for l in 0..depth {
        let (done, rest) = acts.split_at_mut(l);
        let input = if l == 0 {
            x
        } else {
            fm_view(&done[l - 1], rows, layers[l].d_in())
        };
        let z = fm_view_mut(&mut rest[0], rows, layers[l].d_out());
        if l + 1 < depth {
            kernels[l].forward_relu(&layers[l], input, z);
        } else {
            kernels[l].forward(&layers[l], input, z);
        }
    }
    let d_out = mlp.d_out();
    let loss = loss_sum_and_grad_if(
        fm_view(&acts[depth - 1], rows, d_out),
        y,
        scale,
        fm_view_mut(&mut deltas[depth - 1], rows, d_out),
        want_loss,
    );
    for l in (0..depth).rev() {
        let layer = &layers[l];
        let input = if l == 0 {
            x
        } else {
            fm_view(&acts[l - 1], rows, layer.d_in())
        };
        let (below, here) = deltas.split_at_mut(l);
        let delta = fm_view(&here[0], rows, layer.d_out());
        let wg_input = if kernels[l].weight_grad_prefers_feature_major() {
            input
        } else if l == 0 {
            x_rows
        } else {
            let d = layer.d_in();
            let fm = ArrayView2::from_shape((d, rows), &acts[l - 1][..d * rows])
                .expect("buffer sized for CHUNK_ROWS");
            transpose_into(fm, rm);
            ArrayView2::from_shape((rows, d), &rm[..d * rows]).expect("buffer sized for CHUNK_ROWS")
        };
        match &mut gw[l] {
            GradBuf::Dense(g) => {
                kernels[l].weight_grad(layer, wg_input, delta, g.view_mut(), gb[l].view_mut());
            }
            GradBuf::Packed(g) => {
                kernels[l].weight_grad_packed(layer, wg_input, delta, g, gb[l].view_mut());
            }
        }
        if l > 0 {
            let gin = fm_view_mut(&mut below[l - 1], rows, layer.d_in());
            kernels[l].input_grad_relu(layer, delta, input, gin);
        } else if bb.is_some() {
            kernels[0].input_grad(layer, delta, fm_view_mut(fg, rows, head_in));
        }
    }
    if let (Some(b), Some(bbuf), Some(k)) = (mlp.backbone(), bb.as_mut(), bb_kernels) {
        crate::layout::transpose(
            &fg[..head_in * rows],
            head_in,
            rows,
            bbuf.feature_grad_mut(b, rows),
        );
        chunk_backward(b, k, x_net, bbuf);
    }
    loss
}
