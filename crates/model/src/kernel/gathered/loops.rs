//! The loop nests of the gathered kernel: forward, input gradient and weight gradient over
//! feature-major storage and index lists, each with a portable and an AVX2 copy ([`Vectorised`]).

use super::simd::{self, Vectorised};
use crate::activation::relu;
use crate::kernel::lanes;

/// Arguments of the forward loops.
pub(super) struct Forward<'a> {
    /// `[out + 1]` offsets into `cols`.
    pub(super) row_ptr: &'a [u32],
    /// `[nnz]` active input of each weight, by row.
    pub(super) cols: &'a [u32],
    /// Inputs of the layer (row length of `w`).
    pub(super) d_in: usize,
    pub(super) w: &'a [f32],
    pub(super) b: &'a [f32],
    pub(super) x: &'a [f32],
    pub(super) z: &'a mut [f32],
    pub(super) rows: usize,
    pub(super) relu: bool,
}

impl Forward<'_> {
    #[inline(always)]
    fn go<const N: usize>(self) {
        let (w, b, d_in) = (self.w, self.b, self.d_in);
        let (ptr, idx) = (self.row_ptr, self.cols);
        let weight = |o: usize, i: usize| w[o * d_in + i];
        let init = |o: usize| b[o];
        let (rows, x, z) = (self.rows, self.x, self.z);
        if self.relu {
            lanes::combine::<N>(rows, ptr, idx, weight, init, x, z, |_, blk| {
                blk.iter_mut().for_each(|v| *v = relu(*v));
            });
        } else {
            lanes::combine::<N>(rows, ptr, idx, weight, init, x, z, |_, _| {});
        }
    }
}

impl Vectorised for Forward<'_> {
    #[inline(always)]
    fn run<const WIDE: bool>(self) {
        if WIDE { self.go::<8>() } else { self.go::<4>() }
    }
}

/// Arguments of the input-gradient loops.
pub(super) struct InputGrad<'a> {
    /// `[in + 1]` offsets into `neurons`.
    pub(super) col_ptr: &'a [u32],
    /// `[nnz]` neuron of each weight, by column.
    pub(super) neurons: &'a [u32],
    /// Inputs of the layer (row length of `w`).
    pub(super) d_in: usize,
    pub(super) w: &'a [f32],
    pub(super) gz: &'a [f32],
    pub(super) gx: &'a mut [f32],
    pub(super) rows: usize,
    pub(super) act: Option<&'a [f32]>,
}

impl InputGrad<'_> {
    #[inline(always)]
    fn go<const N: usize>(self) {
        let (w, d_in) = (self.w, self.d_in);
        let (ptr, idx) = (self.col_ptr, self.neurons);
        let weight = |i: usize, o: usize| w[o * d_in + i];
        let zero = |_: usize| 0.0;
        let (rows, gz, gx) = (self.rows, self.gz, self.gx);
        match self.act {
            Some(a) => lanes::combine::<N>(rows, ptr, idx, weight, zero, gz, gx, |at, blk| {
                let n = blk.len();
                for (g, &a) in blk.iter_mut().zip(&a[at..at + n]) {
                    // A select, not a branch: vectorises, and ReLU patterns are unpredictable.
                    *g = if a <= 0.0 { 0.0 } else { *g };
                }
            }),
            None => lanes::combine::<N>(rows, ptr, idx, weight, zero, gz, gx, |_, _| {}),
        }
    }
}

impl Vectorised for InputGrad<'_> {
    #[inline(always)]
    fn run<const WIDE: bool>(self) {
        if WIDE { self.go::<8>() } else { self.go::<4>() }
    }
}

/// Arguments of the weight-gradient loops.
pub(super) struct WeightGrad<'a> {
    /// `[out + 1]` offsets into `cols`.
    pub(super) row_ptr: &'a [u32],
    /// `[nnz]` active input of each weight, by row.
    pub(super) cols: &'a [u32],
    pub(super) x: &'a [f32],
    pub(super) gz: &'a [f32],
    pub(super) rows: usize,
    pub(super) gw: &'a mut [f32],
    pub(super) gb: &'a mut [f32],
}

impl WeightGrad<'_> {
    #[inline(always)]
    fn go<const WIDE: bool>(self) {
        let (x, rows) = (self.x, self.rows);
        for (o, (g, gb)) in self
            .gz
            .chunks_exact(rows)
            .zip(self.gb.iter_mut())
            .enumerate()
        {
            *gb = lanes::sum(g);
            let (lo, hi) = (self.row_ptr[o] as usize, self.row_ptr[o + 1] as usize);
            let (list, out) = (&self.cols[lo..hi], &mut self.gw[lo..hi]);
            #[cfg(target_arch = "x86_64")]
            if WIDE {
                simd::dots_avx2(g, x, list, out);
                continue;
            }
            for (slot, &i) in out.iter_mut().zip(list) {
                let i = i as usize;
                lanes::dots::<1>(
                    g,
                    [&x[i * rows..(i + 1) * rows]],
                    std::slice::from_mut(slot),
                );
            }
        }
    }
}

impl Vectorised for WeightGrad<'_> {
    #[inline(always)]
    fn run<const WIDE: bool>(self) {
        self.go::<WIDE>()
    }
}
