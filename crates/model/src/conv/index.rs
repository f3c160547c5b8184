//! [`ConvKernel`]: which path a masked convolution runs, and the index lists of its active
//! weights that the gathered path walks.

use ndarray::{ArrayView2, Axis};

use super::geom::ConvGeom;

/// Density (active weights / all weights) below which [`ConvPath::Auto`] picks the gathered path.
///
/// Measured with the speed test (`conv::tests::speed`, one core with AVX2 + FMA) on the second
/// conv of the E11 backbone (16 → 32 channels, 3 × 3, 14 × 14, forward + both gradients): the
/// dense path costs the same at every density (about 80 µs per sample there); the gathered
/// one about 90 µs at density 0.5 and 53 µs at 0.25, so they break even near 0.43. (The
/// gathered loops multiply and add separately, to give the same bits in every SIMD copy; the
/// GEMM fuses them.)
pub(crate) const CONV_GATHER_BELOW: f64 = 0.4;

/// Which arithmetic a convolution uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ConvPath {
    /// Gathered below [`CONV_GATHER_BELOW`] density, dense otherwise.
    #[default]
    Auto,
    /// im2col and the crate's GEMM over every weight (masked ones are zeros).
    Dense,
    /// Loops over the active weights only; im2col rows and col2im only for the kernel positions
    /// some active weight reads.
    Gathered,
}

/// A convolution's active weights, indexed for the gathered path, and the path chosen.
///
/// Built once from the mask ([`ConvKernel::new`]) and rebuilt whenever the mask changes; the
/// weight values are always read from the dense `[out_ch, k]` weight matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConvKernel {
    geom: ConvGeom,
    gathered: bool,
    /// `[out_ch + 1]` offsets into `row_k`.
    pub(super) row_ptr: Vec<u32>,
    /// `[nnz]` column (kernel position) of each active weight, by output channel, increasing.
    pub(super) row_k: Vec<u32>,
    /// `[k + 1]` offsets into `col_o`.
    pub(super) col_ptr: Vec<u32>,
    /// `[nnz]` output channel of each active weight, by column, increasing.
    pub(super) col_o: Vec<u32>,
    /// For each entry of `col_o`, the position of the same weight in `row_k`.
    pub(super) col_to_row: Vec<u32>,
    /// Columns that some active weight reads, increasing.
    pub(super) used_k: Vec<u32>,
}

impl ConvKernel {
    /// Indexes `mask` (`[out_ch, k]`, `true` = active) and chooses the path.
    ///
    /// # Panics
    /// If the geometry is invalid ([`ConvGeom::validate`]) or the mask's shape is not
    /// `[out_ch, k]`.
    pub(crate) fn new(g: &ConvGeom, mask: ArrayView2<'_, bool>, path: ConvPath) -> Self {
        if let Err(e) = g.validate() {
            panic!("ConvKernel::new: {e}");
        }
        let (n_out, k) = (g.out_ch, g.k());
        assert_eq!(mask.dim(), (n_out, k), "ConvKernel::new: mask shape");
        let mut row_ptr = Vec::with_capacity(n_out + 1);
        let mut row_k = Vec::new();
        row_ptr.push(0);
        for row in mask.axis_iter(Axis(0)) {
            row_k.extend((0..k).filter(|&j| row[j]).map(|j| j as u32));
            row_ptr.push(row_k.len() as u32);
        }
        let mut col_ptr = Vec::with_capacity(k + 1);
        let mut col_o = Vec::with_capacity(row_k.len());
        let mut col_to_row = Vec::with_capacity(row_k.len());
        let mut used_k = Vec::new();
        col_ptr.push(0);
        for j in 0..k {
            for o in 0..n_out {
                if mask[[o, j]] {
                    col_o.push(o as u32);
                    let at = row_k[row_ptr[o] as usize..row_ptr[o + 1] as usize]
                        .binary_search(&(j as u32))
                        .expect("active weight is in its row list");
                    col_to_row.push(row_ptr[o] + at as u32);
                }
            }
            if col_o.len() > *col_ptr.last().expect("non-empty") as usize {
                used_k.push(j as u32);
            }
            col_ptr.push(col_o.len() as u32);
        }
        let density = row_k.len() as f64 / (n_out * k) as f64;
        let gathered = match path {
            ConvPath::Auto => density < CONV_GATHER_BELOW,
            ConvPath::Dense => false,
            ConvPath::Gathered => true,
        };
        ConvKernel {
            geom: *g,
            gathered,
            row_ptr,
            row_k,
            col_ptr,
            col_o,
            col_to_row,
            used_k,
        }
    }

    /// The geometry the kernel was built for.
    pub(crate) fn geom(&self) -> &ConvGeom {
        &self.geom
    }

    /// Whether the gathered path runs (else the dense one).
    pub(crate) fn is_gathered(&self) -> bool {
        self.gathered
    }

    /// Number of active weights.
    pub(crate) fn nnz(&self) -> usize {
        self.row_k.len()
    }

    /// Number of input channels that some active weight reads (the others are never
    /// im2col'd on the gathered path).
    #[cfg(test)]
    pub(crate) fn used_in_channels(&self) -> usize {
        let per = (self.geom.kh * self.geom.kw) as u32;
        let mut n = 0;
        let mut last = None;
        for &j in &self.used_k {
            if last != Some(j / per) {
                n += 1;
                last = Some(j / per);
            }
        }
        n
    }

    /// Whether the index lists describe exactly the active entries of `mask` (debug checks).
    pub(crate) fn matches(&self, mask: ArrayView2<'_, bool>) -> bool {
        if mask.dim() != (self.geom.out_ch, self.geom.k()) {
            return false;
        }
        let mut at = 0;
        for (o, row) in mask.axis_iter(Axis(0)).enumerate() {
            let list = &self.row_k[self.row_ptr[o] as usize..self.row_ptr[o + 1] as usize];
            let mut it = list.iter();
            for (j, &on) in row.iter().enumerate() {
                if on && it.next() != Some(&(j as u32)) {
                    return false;
                }
            }
            if it.next().is_some() {
                return false;
            }
            at += list.len();
        }
        at == self.nnz()
    }
}
