//! Upload of a training set: the device buffers and bind groups of one resident data set and
//! batch capacity ([`Work`]).

use ndarray::ArrayView2;
use wgpu::{BindGroup, Buffer};

use crate::gpu::buffers::{storage, uniform, zeros};
use crate::gpu::context::GpuContext;
use crate::gpu::kernels::{Kernel, STEP_BYTES};
use crate::gpu::layer::GpuLayer;
use crate::{GpuError, TargetsRef};

/// Steps encoded into one submission at most (their parameter blocks share one buffer).
pub(super) const MAX_STEPS_PER_SUBMIT: usize = 256;

/// Buffers and bind groups for one resident training set and batch capacity.
pub(super) struct Work {
    /// Batch capacity: the row stride of activations and deltas.
    pub(super) stride: usize,
    /// Rows of the resident training set.
    pub(super) n: usize,
    /// Softmax cross-entropy (class ids) rather than BCE (0/1 targets).
    pub(super) classes: bool,
    pub(super) perm: Buffer,
    pub(super) losses: Buffer,
    pub(super) steps: Buffer,
    pub(super) step_stride: u64,
    pub(super) step_bind: BindGroup,
    pub(super) gather: BindGroup,
    pub(super) forward: Vec<BindGroup>,
    pub(super) loss: BindGroup,
    /// `None` for layer 0 (no input gradient needed).
    pub(super) input_grad: Vec<Option<BindGroup>>,
    pub(super) weight_grad: Vec<BindGroup>,
    pub(super) optimize: Vec<BindGroup>,
    /// Kept alive for the bind groups.
    _buffers: Vec<Buffer>,
}

impl Work {
    /// Uploads the training set `(x, y)` and allocates activations for batches of up to
    /// `stride` rows of the model `layers`, binding them to the kernels with the optimiser's
    /// hyper-parameters `hyper` and non-finite flags `flags`.
    pub(super) fn new(
        ctx: &GpuContext,
        layers: &[GpuLayer],
        hyper: &Buffer,
        flags: &Buffer,
        x: ArrayView2<'_, f32>,
        y: TargetsRef<'_>,
        stride: usize,
    ) -> Result<Work, GpuError> {
        let device = &ctx.inner.device;
        let k = &ctx.inner.kernels;
        let n = x.nrows();
        let depth = layers.len();
        let d_in = layers[0].d_in;
        let xs = x.as_standard_layout();
        let data_x = storage(
            ctx,
            "training inputs",
            xs.as_slice().expect("standard layout"),
        )?;
        let (classes, data_y) = match y {
            TargetsRef::Classes(l) => (true, storage(ctx, "class ids", &l.to_vec())?),
            TargetsRef::Binary(t) => {
                let t = t.as_standard_layout();
                (
                    false,
                    storage(ctx, "binary targets", t.as_slice().expect("standard"))?,
                )
            }
        };
        let perm = zeros(ctx, "batch order", n)?;
        let losses = zeros(ctx, "loss terms", n)?;
        let xb = zeros(ctx, "batch inputs", d_in * stride)?;
        let acts = layers
            .iter()
            .map(|l| zeros(ctx, "activations", l.d_out * stride))
            .collect::<Result<Vec<_>, _>>()?;
        let deltas = layers
            .iter()
            .map(|l| zeros(ctx, "deltas", l.d_out * stride))
            .collect::<Result<Vec<_>, _>>()?;
        let dims: Vec<Buffer> = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let relu = usize::from(i + 1 < depth);
                let words = [l.d_in, l.d_out, stride, l.nnz, i, relu, 0, 0].map(|v| v as u32);
                uniform(ctx, "layer dims", words)
            })
            .collect();
        let gather_dims = uniform(
            ctx,
            "input dims",
            [d_in as u32, 0, stride as u32, 0, 0, 0, 0, 0],
        );
        let align = u64::from(ctx.inner.limits.min_uniform_buffer_offset_alignment);
        let step_stride = STEP_BYTES.next_multiple_of(align.max(1));
        let steps = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step parameters"),
            size: step_stride * MAX_STEPS_PER_SUBMIT as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let step_bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("step parameters"),
            layout: &k.step_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &steps,
                    offset: 0,
                    size: wgpu::BufferSize::new(STEP_BYTES),
                }),
            }],
        });
        let input = |l: usize| if l == 0 { &xb } else { &acts[l - 1] };
        let forward = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let kern = if l.gathered {
                    &k.forward_gathered
                } else {
                    &k.forward_dense
                };
                kern.bind(
                    device,
                    &[
                        &dims[i],
                        &l.w,
                        &l.b,
                        input(i),
                        &acts[i],
                        &l.row_ptr,
                        &l.cols,
                    ],
                )
            })
            .collect();
        let last = depth - 1;
        let loss_kernel: &Kernel = if classes { &k.loss_ce } else { &k.loss_bce };
        let loss = loss_kernel.bind(
            device,
            &[
                &dims[last],
                &acts[last],
                &perm,
                &data_y,
                &deltas[last],
                &losses,
            ],
        );
        let input_grad = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                (i > 0).then(|| {
                    let kern = if l.gathered {
                        &k.input_grad_gathered
                    } else {
                        &k.input_grad_dense
                    };
                    kern.bind(
                        device,
                        &[
                            &dims[i],
                            &l.w,
                            &deltas[i],
                            &acts[i - 1],
                            &deltas[i - 1],
                            &l.col_ptr,
                            &l.rows,
                        ],
                    )
                })
            })
            .collect();
        let weight_grad = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                k.weight_grad.bind(
                    device,
                    &[&dims[i], input(i), &deltas[i], &l.grad, &l.row_of, &l.cols],
                )
            })
            .collect();
        let optimize = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                k.optimize.bind(
                    device,
                    &[
                        &dims[i], hyper, &l.w, &l.b, &l.grad, &l.s0, &l.s1, &l.row_of, &l.cols,
                        flags,
                    ],
                )
            })
            .collect();
        let gather = k.gather.bind(device, &[&gather_dims, &data_x, &perm, &xb]);
        let mut keep = vec![data_x, data_y, xb, gather_dims];
        keep.extend(acts);
        keep.extend(deltas);
        keep.extend(dims);
        Ok(Work {
            stride,
            n,
            classes,
            perm,
            losses,
            steps,
            step_stride,
            step_bind,
            gather,
            forward,
            loss,
            input_grad,
            weight_grad,
            optimize,
            _buffers: keep,
        })
    }
}
