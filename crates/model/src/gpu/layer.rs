//! One layer on the device: weights, biases, packed gradient and optimiser slots, and the index
//! lists of its active weights.

use ndarray::{Array1, Array2};
use wgpu::Buffer;

use super::buffers::{storage, zeros};
use super::context::GpuContext;
use crate::{AUTO_GATHER_BELOW, GpuError, KernelPolicy, Layer, LayerSlots};

/// Index lists of a mask's active weights (as the CPU's gathered kernel keeps them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IndexLists {
    /// `[out + 1]` offsets into `cols`.
    pub(crate) row_ptr: Vec<u32>,
    /// `[nnz]` input of each active weight, row-major.
    pub(crate) cols: Vec<u32>,
    /// `[nnz]` output (row) of each active weight, row-major.
    pub(crate) row_of: Vec<u32>,
    /// `[in + 1]` offsets into `rows`.
    pub(crate) col_ptr: Vec<u32>,
    /// `[nnz]` neurons reading each input, by column, increasing.
    pub(crate) rows: Vec<u32>,
}

impl IndexLists {
    /// Lists of `layer`'s active weights.
    ///
    /// # Errors
    /// [`GpuError::Limit`] if the layer has `2³²` or more weights.
    pub(crate) fn new(layer: &Layer) -> Result<Self, GpuError> {
        let (d_out, d_in) = layer.mask.dim();
        if u32::try_from(d_out * d_in).is_err() {
            return Err(GpuError::Limit(format!(
                "a {d_out}×{d_in} layer has 2^32 or more weights"
            )));
        }
        let mut lists = IndexLists {
            row_ptr: Vec::with_capacity(d_out + 1),
            ..Default::default()
        };
        lists.row_ptr.push(0);
        let mut per_col = vec![0u32; d_in];
        for (o, row) in layer.mask.rows().into_iter().enumerate() {
            for (i, _) in row.iter().enumerate().filter(|&(_, &on)| on) {
                lists.cols.push(i as u32);
                lists.row_of.push(o as u32);
                per_col[i] += 1;
            }
            lists.row_ptr.push(lists.cols.len() as u32);
        }
        lists.col_ptr.push(0);
        for c in per_col {
            let last = lists.col_ptr[lists.col_ptr.len() - 1];
            lists.col_ptr.push(last + c);
        }
        let mut next: Vec<u32> = lists.col_ptr[..d_in].to_vec();
        lists.rows = vec![0; lists.cols.len()];
        for (&o, &i) in lists.row_of.iter().zip(&lists.cols) {
            let slot = &mut next[i as usize];
            lists.rows[*slot as usize] = o;
            *slot += 1;
        }
        Ok(lists)
    }

    /// Row-major position `o · in + i` of each active weight.
    pub(crate) fn positions(&self, d_in: usize) -> impl Iterator<Item = usize> + '_ {
        self.row_of
            .iter()
            .zip(&self.cols)
            .map(move |(&o, &i)| o as usize * d_in + i as usize)
    }
}

/// A layer's buffers on the device.
pub(crate) struct GpuLayer {
    pub(crate) d_in: usize,
    pub(crate) d_out: usize,
    pub(crate) nnz: usize,
    /// Gathered (index-list) products instead of dense ones.
    pub(crate) gathered: bool,
    pub(crate) lists: IndexLists,
    /// `[out, in]` row-major weights (inactive entries zero).
    pub(crate) w: Buffer,
    /// `[out]` biases.
    pub(crate) b: Buffer,
    /// `[nnz + out]` packed weight gradient, then bias gradient.
    pub(crate) grad: Buffer,
    /// `[nnz + out]` Adam's first moment or SGD's velocity, packed like `grad`.
    pub(crate) s0: Buffer,
    /// `[nnz + out]` Adam's second moment.
    pub(crate) s1: Buffer,
    pub(crate) row_ptr: Buffer,
    pub(crate) cols: Buffer,
    pub(crate) row_of: Buffer,
    pub(crate) col_ptr: Buffer,
    pub(crate) rows: Buffer,
}

impl GpuLayer {
    /// Uploads `layer` and its optimiser slots (`slots.w[s]`, `slots.b[s]`, packed).
    ///
    /// # Errors
    /// [`GpuError::Limit`] if a buffer exceeds the device's limits.
    pub(crate) fn new(
        ctx: &GpuContext,
        layer: &Layer,
        slots: &LayerSlots,
        policy: KernelPolicy,
    ) -> Result<Self, GpuError> {
        let (d_out, d_in) = layer.w.dim();
        let lists = IndexLists::new(layer)?;
        let nnz = lists.cols.len();
        let gathered = match policy {
            KernelPolicy::Dense => false,
            KernelPolicy::Gathered => true,
            KernelPolicy::Auto => layer.density() < AUTO_GATHER_BELOW,
        };
        let w: Vec<f32> = layer.w.as_standard_layout().iter().copied().collect();
        let pack = |s: usize| -> Vec<f32> {
            match (slots.w.get(s), slots.b.get(s)) {
                (Some(sw), Some(sb)) => {
                    let dense = sw.as_standard_layout();
                    let dense = dense.as_slice().expect("standard layout");
                    lists
                        .positions(d_in)
                        .map(|p| dense[p])
                        .chain(sb.iter().copied())
                        .collect()
                }
                _ => vec![0.0; nnz + d_out],
            }
        };
        Ok(GpuLayer {
            d_in,
            d_out,
            nnz,
            gathered,
            w: storage(ctx, "weights", &w)?,
            b: storage(
                ctx,
                "biases",
                layer.b.as_slice().expect("bias is contiguous"),
            )?,
            grad: zeros(ctx, "gradient", nnz + d_out)?,
            s0: storage(ctx, "optimiser slot 0", &pack(0))?,
            s1: storage(ctx, "optimiser slot 1", &pack(1))?,
            row_ptr: storage(ctx, "row_ptr", &lists.row_ptr)?,
            cols: storage(ctx, "cols", &lists.cols)?,
            row_of: storage(ctx, "row_of", &lists.row_of)?,
            col_ptr: storage(ctx, "col_ptr", &lists.col_ptr)?,
            rows: storage(ctx, "rows", &lists.rows)?,
            lists,
        })
    }

    /// Kernel name, as the CPU's ([`crate::LayerKernel::name`]).
    pub(crate) fn kernel_name(&self) -> &'static str {
        if self.gathered { "gathered" } else { "dense" }
    }

    /// A packed `[nnz]` array as a dense `[out, in]` one with zeros at inactive positions.
    pub(crate) fn unpack(&self, packed: &[f32]) -> Array2<f32> {
        let mut dense = vec![0.0f32; self.d_out * self.d_in];
        for (p, &v) in self.lists.positions(self.d_in).zip(packed) {
            dense[p] = v;
        }
        Array2::from_shape_vec((self.d_out, self.d_in), dense).expect("shape matches")
    }

    /// The bias part (`[nnz..]`) of a packed `[nnz + out]` array.
    pub(crate) fn bias_part(&self, packed: &[f32]) -> Array1<f32> {
        Array1::from(packed[self.nnz..self.nnz + self.d_out].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lists_match_the_mask() {
        let mask = ndarray::array![[true, false, true], [false, false, true]];
        let layer = Layer::new(Array2::ones((2, 3)), Array1::zeros(2), mask).unwrap();
        let l = IndexLists::new(&layer).unwrap();
        assert_eq!(l.row_ptr, vec![0, 2, 3]);
        assert_eq!(l.cols, vec![0, 2, 2]);
        assert_eq!(l.row_of, vec![0, 0, 1]);
        assert_eq!(l.col_ptr, vec![0, 1, 1, 3]);
        assert_eq!(l.rows, vec![0, 0, 1]);
        assert_eq!(l.positions(3).collect::<Vec<_>>(), vec![0, 2, 5]);
    }
}
