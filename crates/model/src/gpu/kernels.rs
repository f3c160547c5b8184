//! The compute pipelines: WGSL sources (`shaders/*.wgsl`, each prefixed with `common.wgsl`),
//! their bind group layouts, and helpers to bind buffers and dispatch.

use wgpu::{
    BindGroup, BindGroupLayout, BindGroupLayoutEntry, BindingType, Buffer, BufferBindingType,
    ComputePass, ComputePipeline, ShaderStages,
};

const COMMON: &str = include_str!("shaders/common.wgsl");
const GATHER: &str = include_str!("shaders/gather.wgsl");
const FORWARD: &str = include_str!("shaders/forward.wgsl");
const LOSS_CE: &str = include_str!("shaders/loss_ce.wgsl");
const LOSS_BCE: &str = include_str!("shaders/loss_bce.wgsl");
const INPUT_GRAD: &str = include_str!("shaders/input_grad.wgsl");
const WEIGHT_GRAD: &str = include_str!("shaders/weight_grad.wgsl");
const OPTIMIZE: &str = include_str!("shaders/optimize.wgsl");

/// Invocations per workgroup along x (`WG` in `common.wgsl`).
pub(crate) const WORKGROUP: u32 = 64;

/// Bytes of the per-step parameter block (`Step` in `common.wgsl`).
pub(crate) const STEP_BYTES: u64 = 32;

/// How a kernel binds one buffer of its group 1.
#[derive(Clone, Copy)]
enum Slot {
    Uniform,
    Read,
    Write,
}

use Slot::{Read, Uniform, Write};

/// One entry point with the layout of its group 1 (group 0 is the shared step block).
pub(crate) struct Kernel {
    pipeline: ComputePipeline,
    layout: BindGroupLayout,
    label: &'static str,
}

impl Kernel {
    /// A bind group for group 1: `buffers[i]` at binding `i`, whole.
    pub(crate) fn bind(&self, device: &wgpu::Device, buffers: &[&Buffer]) -> BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.label),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// Sets the pipeline and group 1, then dispatches `groups` workgroups.
    pub(crate) fn dispatch(&self, pass: &mut ComputePass<'_>, bind: &BindGroup, groups: [u32; 2]) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(1, bind, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], 1);
    }
}

/// Every pipeline of the training step, compiled once per device.
pub(crate) struct Kernels {
    /// Group 0: the per-step uniform block, bound with a dynamic offset.
    pub(crate) step_layout: BindGroupLayout,
    pub(crate) gather: Kernel,
    pub(crate) forward_dense: Kernel,
    pub(crate) forward_gathered: Kernel,
    pub(crate) loss_ce: Kernel,
    pub(crate) loss_bce: Kernel,
    pub(crate) input_grad_dense: Kernel,
    pub(crate) input_grad_gathered: Kernel,
    pub(crate) weight_grad: Kernel,
    pub(crate) optimize: Kernel,
}

impl Kernels {
    /// Compiles every shader for `device`.
    pub(crate) fn new(device: &wgpu::Device) -> Self {
        let step_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("fpe step"),
            entries: &[BindGroupLayoutEntry {
                binding: 0,
                visibility: ShaderStages::COMPUTE,
                ty: BindingType::Buffer {
                    ty: BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: wgpu::BufferSize::new(STEP_BYTES),
                },
                count: None,
            }],
        });
        let module = |label: &str, src: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(format!("{COMMON}\n{src}").into()),
            })
        };
        let forward = module("forward.wgsl", FORWARD);
        let input_grad = module("input_grad.wgsl", INPUT_GRAD);
        let build = |module: &wgpu::ShaderModule, entry: &'static str, slots: &[Slot]| {
            kernel(device, &step_layout, module, entry, slots)
        };
        let fwd = [Uniform, Read, Read, Read, Write, Read, Read];
        let igrad = [Uniform, Read, Read, Read, Write, Read, Read];
        let loss = [Uniform, Read, Read, Read, Write, Write];
        Kernels {
            gather: build(
                &module("gather.wgsl", GATHER),
                "gather",
                &[Uniform, Read, Read, Write],
            ),
            forward_dense: build(&forward, "forward_dense", &fwd),
            forward_gathered: build(&forward, "forward_gathered", &fwd),
            loss_ce: build(&module("loss_ce.wgsl", LOSS_CE), "loss_ce", &loss),
            loss_bce: build(&module("loss_bce.wgsl", LOSS_BCE), "loss_bce", &loss),
            input_grad_dense: build(&input_grad, "input_grad_dense", &igrad),
            input_grad_gathered: build(&input_grad, "input_grad_gathered", &igrad),
            weight_grad: build(
                &module("weight_grad.wgsl", WEIGHT_GRAD),
                "weight_grad",
                &[Uniform, Read, Read, Write, Read, Read],
            ),
            optimize: build(
                &module("optimize.wgsl", OPTIMIZE),
                "optimize",
                &[
                    Uniform, Uniform, Write, Write, Read, Write, Write, Read, Read, Write,
                ],
            ),
            step_layout,
        }
    }
}

fn kernel(
    device: &wgpu::Device,
    step_layout: &BindGroupLayout,
    module: &wgpu::ShaderModule,
    entry: &'static str,
    slots: &[Slot],
) -> Kernel {
    let entries: Vec<BindGroupLayoutEntry> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| BindGroupLayoutEntry {
            binding: i as u32,
            visibility: ShaderStages::COMPUTE,
            ty: BindingType::Buffer {
                ty: match slot {
                    Uniform => BufferBindingType::Uniform,
                    Read => BufferBindingType::Storage { read_only: true },
                    Write => BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(entry),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry),
        bind_group_layouts: &[Some(step_layout), Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(&pipeline_layout),
        module,
        entry_point: Some(entry),
        compilation_options: wgpu::PipelineCompilationOptions::default(),
        cache: None,
    });
    Kernel {
        pipeline,
        layout,
        label: entry,
    }
}

/// Workgroups for a 1-D range of `n` invocations, as a 2-D grid when one dimension would pass
/// the 65535-workgroup limit (the shaders rebuild the index with `linear_id`).
pub(crate) fn grid_1d(n: usize) -> [u32; 2] {
    let groups = n.div_ceil(WORKGROUP as usize).max(1);
    let max = 65_535usize;
    if groups <= max {
        [groups as u32, 1]
    } else {
        [max as u32, groups.div_ceil(max) as u32]
    }
}

/// Workgroups for `rows` samples (x) by `n` features (y).
pub(crate) fn grid_rows(rows: usize, n: usize) -> [u32; 2] {
    [rows.div_ceil(WORKGROUP as usize).max(1) as u32, n as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_cover_the_range() {
        assert_eq!(grid_1d(1), [1, 1]);
        assert_eq!(grid_1d(64), [1, 1]);
        assert_eq!(grid_1d(65), [2, 1]);
        let [x, y] = grid_1d(65_535 * 64 + 1);
        assert!((x as usize) * (y as usize) * 64 > 65_535 * 64);
        assert_eq!(grid_rows(256, 10), [4, 10]);
    }
}
