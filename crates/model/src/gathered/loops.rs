//! The vector loops of [`GatheredKernel`]: forward, input gradient and weight gradient over
//! feature-major storage, each with a portable and an AVX2 copy ([`Vectorised`]).

use super::GatheredKernel;
use crate::isa::{self, Vectorised};
use crate::kernel::relu;
use crate::lanes;

/// Arguments of the forward loops.
pub(super) struct Forward<'a> {
    pub(super) kernel: &'a GatheredKernel,
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
        let k = self.kernel;
        let (w, b, d_in) = (self.w, self.b, k.d_in);
        let (ptr, idx) = (&k.row_ptr[..], &k.cols[..]);
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
    pub(super) kernel: &'a GatheredKernel,
    pub(super) w: &'a [f32],
    pub(super) gz: &'a [f32],
    pub(super) gx: &'a mut [f32],
    pub(super) rows: usize,
    pub(super) act: Option<&'a [f32]>,
}

impl InputGrad<'_> {
    #[inline(always)]
    fn go<const N: usize>(self) {
        let k = self.kernel;
        let (w, d_in) = (self.w, k.d_in);
        let (ptr, idx) = (&k.col_ptr[..], &k.rows[..]);
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
    pub(super) kernel: &'a GatheredKernel,
    pub(super) x: &'a [f32],
    pub(super) gz: &'a [f32],
    pub(super) rows: usize,
    pub(super) gw: &'a mut [f32],
    pub(super) gb: &'a mut [f32],
}

impl WeightGrad<'_> {
    #[inline(always)]
    fn go<const WIDE: bool>(self) {
        let k = self.kernel;
        let (x, rows) = (self.x, self.rows);
        for (o, (g, gb)) in self
            .gz
            .chunks_exact(rows)
            .zip(self.gb.iter_mut())
            .enumerate()
        {
            *gb = lanes::sum(g);
            let (lo, hi) = (k.row_ptr[o] as usize, k.row_ptr[o + 1] as usize);
            let (list, out) = (&k.cols[lo..hi], &mut self.gw[lo..hi]);
            #[cfg(target_arch = "x86_64")]
            if WIDE {
                isa::dots_avx2(g, x, list, out);
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

#[cfg(test)]
mod tests {
    use super::super::weights;
    use super::*;
    use crate::layer::Layer;
    use ndarray::Array1;
    use ndarray::Array2;
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
                    kernel: &k,
                    w: &wv,
                    b: bv,
                    x: &x,
                    z: &mut z[copy],
                    rows,
                    relu: true,
                };
                let ig = InputGrad {
                    kernel: &k,
                    w: &wv,
                    gz: &gz,
                    gx: &mut gx[copy],
                    rows,
                    act: Some(&x),
                };
                let wg = WeightGrad {
                    kernel: &k,
                    x: &x,
                    gz: &gz,
                    rows,
                    gw: &mut gw[copy],
                    gb: &mut gb[copy],
                };
                if wide {
                    isa::run(fwd);
                    isa::run(ig);
                    isa::run(wg);
                } else {
                    isa::run_baseline(fwd);
                    isa::run_baseline(ig);
                    isa::run_baseline(wg);
                }
            }
            assert_eq!(bits(&z[0]), bits(&z[1]), "forward");
            assert_eq!(bits(&gx[0]), bits(&gx[1]), "input grad");
            assert_eq!(bits(&gw[0]), bits(&gw[1]), "weight grad");
            assert_eq!(bits(&gb[0]), bits(&gb[1]), "bias grad");
        }
    }
}
