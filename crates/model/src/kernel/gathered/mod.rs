//! The gathered kernel ([`GatheredKernel`]): products whose cost follows the active weights, not
//! the layer's size. The loop nests live in `loops`, built on the portable vector loops of
//! `kernel::lanes`; `simd` runs them with the best instruction set (AVX2 dispatch).

use std::borrow::Cow;

use ndarray::{Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use super::seam::LayerKernel;
use crate::layer::Layer;

mod loops;
mod simd;

use loops::{Forward, InputGrad, WeightGrad};

/// Products over index lists of the active weights: cost `nnz · batch`, not `out · in · batch`.
///
/// # Layout
/// Built from the mask ([`GatheredKernel::new`]), the kernel keeps two index lists of the active
/// weights: by row (for each neuron, its active inputs in increasing order: an ELL layout
/// without padding, since fan-ins differ after a global prune) and by column (for each input,
/// the neurons that read it). Values are always read from the layer's dense `[out, in]` weight
/// array, which stays the source of truth; the optimiser is unchanged. Rebuild the kernel
/// whenever the mask changes ([`crate::KernelPolicy::build`]; debug builds check).
///
/// # Work
/// On feature-major views (each feature's batch vector contiguous; see
/// [`LayerKernel::prefers_feature_major`]), every product is a loop over the active weights
/// whose body is a vector operation over the batch:
/// - forward: `z[:, o] = b[o] + Σ_{i ∈ in(o)} W[o, i] · x[:, i]` (ReLU fused in
///   [`LayerKernel::forward_relu`]);
/// - input gradient: `gx[:, i] = Σ_{o ∈ out(i)} W[o, i] · gz[:, o]` (ReLU mask fused in
///   [`LayerKernel::input_grad_relu`]);
/// - weight gradient: `gw[o, i] = gz[:, o] · x[:, i]` for active `(o, i)` only, packed
///   ([`LayerKernel::weight_grad_packed`]).
///
/// Sums run in a fixed order (weights in index order; dot products in sixteen lanes, added in a
/// fixed tree), so results are deterministic, independent of threads, and bit-identical between
/// the portable and the AVX2 code (chosen at run time; `FPE_SIMD=baseline` forces portable).
/// Views in other layouts are copied to feature-major first (correct, slower).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatheredKernel {
    d_out: usize,
    d_in: usize,
    /// `[out + 1]` offsets into `cols`.
    row_ptr: Vec<u32>,
    /// `[nnz]` active input of each weight, by row.
    cols: Vec<u32>,
    /// `[in + 1]` offsets into `rows`.
    col_ptr: Vec<u32>,
    /// `[nnz]` neuron of each weight, by column.
    rows: Vec<u32>,
}

impl GatheredKernel {
    /// Index lists of `layer`'s active weights (call again when the mask changes).
    ///
    /// # Panics
    /// If the layer has `2³²` or more weights.
    pub fn new(layer: &Layer) -> Self {
        let (d_out, d_in) = layer.mask.dim();
        assert!(
            u32::try_from(d_out * d_in).is_ok(),
            "GatheredKernel: layer too large for u32 indices"
        );
        let mut row_ptr = Vec::with_capacity(d_out + 1);
        let mut cols = Vec::new();
        let mut col_count = vec![0u32; d_in];
        row_ptr.push(0);
        for row in layer.mask.rows() {
            for (i, &on) in row.iter().enumerate() {
                if on {
                    cols.push(i as u32);
                    col_count[i] += 1;
                }
            }
            row_ptr.push(cols.len() as u32);
        }
        let mut col_ptr = Vec::with_capacity(d_in + 1);
        col_ptr.push(0u32);
        for &c in &col_count {
            col_ptr.push(col_ptr[col_ptr.len() - 1] + c);
        }
        let mut next: Vec<u32> = col_ptr[..d_in].to_vec();
        let mut rows = vec![0u32; cols.len()];
        for o in 0..d_out {
            for &i in &cols[row_ptr[o] as usize..row_ptr[o + 1] as usize] {
                let slot = &mut next[i as usize];
                rows[*slot as usize] = o as u32;
                *slot += 1;
            }
        }
        GatheredKernel {
            d_out,
            d_in,
            row_ptr,
            cols,
            col_ptr,
            rows,
        }
    }

    /// Number of active weights indexed.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Largest number of active inputs of one neuron.
    pub fn max_fan_in(&self) -> usize {
        self.row_ptr
            .windows(2)
            .map(|w| (w[1] - w[0]) as usize)
            .max()
            .unwrap_or(0)
    }

    /// Whether the index lists are exactly the active weights of `layer`.
    pub fn matches(&self, layer: &Layer) -> bool {
        layer.mask.dim() == (self.d_out, self.d_in)
            && layer.mask.rows().into_iter().enumerate().all(|(o, row)| {
                let list = &self.cols[self.row_ptr[o] as usize..self.row_ptr[o + 1] as usize];
                let mut it = list.iter();
                row.iter()
                    .enumerate()
                    .filter(|&(_, &on)| on)
                    .all(|(i, _)| it.next() == Some(&(i as u32)))
                    && it.next().is_none()
            })
    }

    /// Panics if the layer's shape changed; in debug builds also if its mask did (a kernel
    /// must be rebuilt after every mask change).
    fn check(&self, layer: &Layer) {
        assert_eq!(
            layer.w.dim(),
            (self.d_out, self.d_in),
            "GatheredKernel: layer shape changed; rebuild the kernels"
        );
        debug_assert!(
            self.matches(layer),
            "GatheredKernel: mask changed since the kernel was built; rebuild the kernels"
        );
    }

    /// Forward pass on feature-major storage: `z[o] = b[o] + Σ W[o, i] x[i]`, ReLU if asked.
    fn forward_fm(&self, layer: &Layer, x: &[f32], z: &mut [f32], rows: usize, relu: bool) {
        let w = weights(layer);
        let b = layer.b.as_slice().expect("bias is contiguous");
        simd::run(Forward {
            row_ptr: &self.row_ptr,
            cols: &self.cols,
            d_in: self.d_in,
            w: &w,
            b,
            x,
            z,
            rows,
            relu,
        });
    }

    /// Input gradient on feature-major storage: `gx[i] = Σ W[o, i] gz[o]`, zero where
    /// `act <= 0` when `act` is given.
    fn input_grad_fm(
        &self,
        layer: &Layer,
        gz: &[f32],
        gx: &mut [f32],
        rows: usize,
        act: Option<&[f32]>,
    ) {
        let w = weights(layer);
        simd::run(InputGrad {
            col_ptr: &self.col_ptr,
            neurons: &self.rows,
            d_in: self.d_in,
            w: &w,
            gz,
            gx,
            rows,
            act,
        });
    }

    /// Packed weight gradient and bias gradient on feature-major storage.
    fn weight_grad_fm(&self, x: &[f32], gz: &[f32], rows: usize, gw: &mut [f32], gb: &mut [f32]) {
        simd::run(WeightGrad {
            row_ptr: &self.row_ptr,
            cols: &self.cols,
            x,
            gz,
            rows,
            gw,
            gb,
        });
    }
}

/// The layer's weights as a row-major slice (copied only if stored otherwise).
fn weights(layer: &Layer) -> Cow<'_, [f32]> {
    match layer.w.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(layer.w.as_standard_layout().iter().copied().collect()),
    }
}

/// Storage of a feature-major `[batch, n]` view: feature `j` is `s[j·batch..(j+1)·batch]`.
fn fm(v: ArrayView2<'_, f32>) -> Option<&[f32]> {
    v.reversed_axes().to_slice()
}

/// A feature-major copy of `v` (`[n, batch]`, standard layout).
fn fm_copy(v: ArrayView2<'_, f32>) -> Array2<f32> {
    v.t().as_standard_layout().into_owned()
}

/// Runs `f` on feature-major storage of `out`, copying through a temporary if `out` is laid out
/// otherwise.
fn with_fm_out(mut out: ArrayViewMut2<'_, f32>, f: impl FnOnce(&mut [f32])) {
    let rows = out.nrows();
    if let Some(s) = out.view_mut().reversed_axes().into_slice() {
        f(s);
        return;
    }
    let mut tmp = Array2::<f32>::zeros((out.ncols(), rows));
    f(tmp.as_slice_mut().expect("standard layout"));
    out.assign(&tmp.t());
}

/// Feature-major storage of `v`, borrowed or copied.
fn fm_in(v: ArrayView2<'_, f32>) -> Cow<'_, [f32]> {
    match fm(v) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(fm_copy(v).into_raw_vec_and_offset().0),
    }
}

impl LayerKernel for GatheredKernel {
    fn name(&self) -> &'static str {
        "gathered"
    }

    fn prefers_feature_major(&self) -> bool {
        true
    }

    fn forward(&self, layer: &Layer, x: ArrayView2<'_, f32>, z: ArrayViewMut2<'_, f32>) {
        self.check(layer);
        let rows = x.nrows();
        let x = fm_in(x);
        with_fm_out(z, |z| self.forward_fm(layer, &x, z, rows, false));
    }

    fn forward_relu(&self, layer: &Layer, x: ArrayView2<'_, f32>, z: ArrayViewMut2<'_, f32>) {
        self.check(layer);
        let rows = x.nrows();
        let x = fm_in(x);
        with_fm_out(z, |z| self.forward_fm(layer, &x, z, rows, true));
    }

    fn input_grad(&self, layer: &Layer, gz: ArrayView2<'_, f32>, gx: ArrayViewMut2<'_, f32>) {
        self.check(layer);
        let rows = gz.nrows();
        let gz = fm_in(gz);
        with_fm_out(gx, |gx| self.input_grad_fm(layer, &gz, gx, rows, None));
    }

    fn input_grad_relu(
        &self,
        layer: &Layer,
        gz: ArrayView2<'_, f32>,
        act: ArrayView2<'_, f32>,
        gx: ArrayViewMut2<'_, f32>,
    ) {
        self.check(layer);
        let rows = gz.nrows();
        let gz = fm_in(gz);
        let act = fm_in(act);
        with_fm_out(gx, |gx| {
            self.input_grad_fm(layer, &gz, gx, rows, Some(&act));
        });
    }

    fn weight_grad(
        &self,
        layer: &Layer,
        x: ArrayView2<'_, f32>,
        gz: ArrayView2<'_, f32>,
        mut gw: ArrayViewMut2<'_, f32>,
        gb: ArrayViewMut1<'_, f32>,
    ) {
        let mut packed = vec![0.0; self.nnz()];
        self.weight_grad_packed(layer, x, gz, &mut packed, gb);
        self.unpack_weight_grad(layer, &packed, gw.view_mut());
    }

    fn packs_weight_grad(&self) -> bool {
        true
    }

    fn weight_grad_packed(
        &self,
        layer: &Layer,
        x: ArrayView2<'_, f32>,
        gz: ArrayView2<'_, f32>,
        gw: &mut [f32],
        mut gb: ArrayViewMut1<'_, f32>,
    ) {
        self.check(layer);
        assert_eq!(gw.len(), self.nnz(), "weight_grad_packed: buffer length");
        let rows = x.nrows();
        let (x, gz) = (fm_in(x), fm_in(gz));
        match gb.as_slice_mut() {
            Some(gb) => self.weight_grad_fm(&x, &gz, rows, gw, gb),
            None => {
                let mut tmp = vec![0.0; self.d_out];
                self.weight_grad_fm(&x, &gz, rows, gw, &mut tmp);
                gb.iter_mut().zip(tmp).for_each(|(d, v)| *d = v);
            }
        }
    }

    fn unpack_weight_grad(&self, layer: &Layer, packed: &[f32], mut gw: ArrayViewMut2<'_, f32>) {
        self.check(layer);
        assert_eq!(
            gw.dim(),
            (self.d_out, self.d_in),
            "unpack_weight_grad: shape"
        );
        assert_eq!(packed.len(), self.nnz(), "unpack_weight_grad: length");
        // Row by row (zero, then scatter) so that each row is touched while it is in cache.
        for (o, mut row) in gw.rows_mut().into_iter().enumerate() {
            let (lo, hi) = (self.row_ptr[o] as usize, self.row_ptr[o + 1] as usize);
            let (cols, values) = (&self.cols[lo..hi], &packed[lo..hi]);
            match row.as_slice_mut() {
                Some(row) => {
                    row.fill(0.0);
                    for (&i, &g) in cols.iter().zip(values) {
                        row[i as usize] = g;
                    }
                }
                None => {
                    row.fill(0.0);
                    for (&i, &g) in cols.iter().zip(values) {
                        row[i as usize] = g;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The baseline and AVX2 copies of every loop give the same bits.
    #[test]
    fn both_instruction_set_copies_agree_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (out, inp, rows) in [(40, 70, 64), (9, 33, 37), (128, 16, 3)] {
            let w = Array2::from_shape_simple_fn((out, inp), || rng.random_range(-1.0f32..1.0));
            let b = Array1::from_shape_simple_fn(out, || rng.random_range(-1.0f32..1.0));
            let m = Array2::from_shape_simple_fn((out, inp), || rng.random_bool(0.4));
            let layer = Layer::new(w, b, m).unwrap();
            let k = GatheredKernel::new(&layer);
            let x: Vec<f32> = (0..inp * rows)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let gz: Vec<f32> = (0..out * rows)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let wv = weights(&layer);
            let bv = layer.b.as_slice().unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let mut z = [vec![0.0; out * rows], vec![0.0; out * rows]];
            let mut gx = [vec![0.0; inp * rows], vec![0.0; inp * rows]];
            let mut gw = [vec![0.0; k.nnz()], vec![0.0; k.nnz()]];
            let mut gb = [vec![0.0; out], vec![0.0; out]];
            for (copy, wide) in [(0, false), (1, true)] {
                let fwd = Forward {
                    row_ptr: &k.row_ptr,
                    cols: &k.cols,
                    d_in: k.d_in,
                    w: &wv,
                    b: bv,
                    x: &x,
                    z: &mut z[copy],
                    rows,
                    relu: true,
                };
                let ig = InputGrad {
                    col_ptr: &k.col_ptr,
                    neurons: &k.rows,
                    d_in: k.d_in,
                    w: &wv,
                    gz: &gz,
                    gx: &mut gx[copy],
                    rows,
                    act: Some(&x),
                };
                let wg = WeightGrad {
                    row_ptr: &k.row_ptr,
                    cols: &k.cols,
                    x: &x,
                    gz: &gz,
                    rows,
                    gw: &mut gw[copy],
                    gb: &mut gb[copy],
                };
                if wide {
                    simd::run(fwd);
                    simd::run(ig);
                    simd::run(wg);
                } else {
                    simd::run_baseline(fwd);
                    simd::run_baseline(ig);
                    simd::run_baseline(wg);
                }
            }
            assert_eq!(bits(&z[0]), bits(&z[1]), "forward");
            assert_eq!(bits(&gx[0]), bits(&gx[1]), "input grad");
            assert_eq!(bits(&gw[0]), bits(&gw[1]), "weight grad");
            assert_eq!(bits(&gb[0]), bits(&gb[1]), "bias grad");
        }
    }
}
