//! Device buffers: creation from host slices, uniform blocks, and read-back.

use wgpu::util::DeviceExt;
use wgpu::{Buffer, BufferUsages};

use super::context::GpuContext;
use crate::error::GpuError;

/// Usage of every storage buffer: bound in shaders, written from the host, read back.
const STORAGE: BufferUsages = BufferUsages::STORAGE
    .union(BufferUsages::COPY_DST)
    .union(BufferUsages::COPY_SRC);

/// A storage buffer holding `data` (at least one element: zero-sized bindings are invalid).
pub(crate) fn storage<T: bytemuck::Pod + Default>(
    ctx: &GpuContext,
    label: &str,
    data: &[T],
) -> Result<Buffer, GpuError> {
    let one = [T::default()];
    let data = if data.is_empty() { &one[..] } else { data };
    check_size(ctx, label, std::mem::size_of_val(data) as u64)?;
    Ok(ctx
        .inner
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: STORAGE,
        }))
}

/// A zeroed storage buffer of `len` 4-byte values (at least one).
pub(crate) fn zeros(ctx: &GpuContext, label: &str, len: usize) -> Result<Buffer, GpuError> {
    let size = 4 * len.max(1) as u64;
    check_size(ctx, label, size)?;
    Ok(ctx.inner.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: STORAGE,
        mapped_at_creation: false,
    }))
}

/// A uniform block of eight 4-byte words.
pub(crate) fn uniform(ctx: &GpuContext, label: &str, words: [u32; 8]) -> Buffer {
    ctx.inner
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(&words),
            usage: BufferUsages::UNIFORM | BufferUsages::COPY_DST,
        })
}

fn check_size(ctx: &GpuContext, label: &str, bytes: u64) -> Result<(), GpuError> {
    let limits = &ctx.inner.limits;
    let max = limits
        .max_buffer_size
        .min(limits.max_storage_buffer_binding_size);
    if bytes > max {
        return Err(GpuError::Limit(format!(
            "{label} needs {bytes} bytes; the device binds at most {max} bytes per buffer"
        )));
    }
    Ok(())
}

/// Copies the first `len` 4-byte values of each buffer to the host (one staging buffer, one
/// wait for all of them).
///
/// # Errors
/// [`GpuError::Backend`] if mapping fails or the device reported an error.
pub(crate) fn read<T: bytemuck::Pod>(
    ctx: &GpuContext,
    parts: &[(&Buffer, usize)],
) -> Result<Vec<Vec<T>>, GpuError> {
    let device = &ctx.inner.device;
    let mut offsets = Vec::with_capacity(parts.len());
    let mut total = 0u64;
    for &(_, len) in parts {
        offsets.push(total);
        // Copies need 4-byte sizes and offsets; keep every part 8-aligned for mapping.
        total += (4 * len as u64).next_multiple_of(8);
    }
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("fpe read-back"),
        size: total.max(8),
        usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("fpe read-back"),
    });
    for (&(buffer, len), &at) in parts.iter().zip(&offsets) {
        if len > 0 {
            encoder.copy_buffer_to_buffer(buffer, 0, &staging, at, 4 * len as u64);
        }
    }
    ctx.inner.queue.submit([encoder.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    ctx.wait()?;
    rx.recv()
        .map_err(|_| ctx.backend_error("read-back: the map callback never ran"))?
        .map_err(|e| ctx.backend_error(format!("read-back: mapping failed: {e}")))?;
    let out = {
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| ctx.backend_error(format!("read-back: {e}")))?;
        parts
            .iter()
            .zip(&offsets)
            .map(|(&(_, len), &at)| {
                let bytes = &view[at as usize..at as usize + 4 * len];
                bytemuck::pod_collect_to_vec(bytes)
            })
            .collect()
    };
    staging.unmap();
    Ok(out)
}
