//! Finite-difference checks of the manual backprop.
//!
//! The reference is an independent f64 forward pass written here; central differences with
//! step 1e-5 in f64 are accurate to ~1e-9, so the comparison measures the f32 analytic gradient.
//! Tolerance: |analytic − numeric| ≤ 1e-4 + 1e-3·|numeric| (f32 accumulation over ≤ 130 samples).

mod common;

use common::*;
use fpe_model::{Grads, KernelPolicy, Mlp, TargetsRef, Workspace};
use ndarray::{Array2, ArrayView2};
use rand::Rng;

/// Reference mean loss in f64.
fn loss_f64(
    mlp: &Mlp,
    wl: usize,
    wi: (usize, usize),
    delta: f64,
    bias: bool,
    x: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
) -> f64 {
    let mut h: Array2<f64> = x.mapv(f64::from);
    for (l, layer) in mlp.layers().iter().enumerate() {
        let mut w = layer.weight().mapv(f64::from);
        let mut b = layer.bias().mapv(f64::from);
        if l == wl {
            if bias {
                b[wi.0] += delta
            } else {
                w[wi] += delta
            }
        }
        let mut z = h.dot(&w.t()) + &b;
        if l + 1 < mlp.depth() {
            z.mapv_inplace(|v| v.max(0.0));
        }
        h = z;
    }
    match y {
        TargetsRef::Classes(labels) => {
            let mut total = 0.0;
            for (row, &c) in h.rows().into_iter().zip(labels) {
                let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
                total += lse - row[c as usize];
            }
            total / h.nrows() as f64
        }
        TargetsRef::Binary(t) => {
            let mut total = 0.0;
            for (&z, &y) in h.iter().zip(t.iter()) {
                let y = f64::from(y);
                total += z.max(0.0) - z * y + (-z.abs()).exp().ln_1p();
            }
            total / h.len() as f64
        }
    }
}

fn check(mlp: &Mlp, x: ArrayView2<'_, f32>, y: TargetsRef<'_>, rng: &mut rand_chacha::ChaCha8Rng) {
    let mut ws = Workspace::new(mlp, KernelPolicy::Dense);
    let mut g = Grads::zeros_like(mlp);
    let loss = ws.loss_grad(mlp, x, y, &mut g);
    let reference = loss_f64(mlp, usize::MAX, (0, 0), 0.0, false, x, y);
    assert!(
        (loss - reference).abs() <= 1e-5 * (1.0 + reference.abs()),
        "loss {loss} vs {reference}"
    );
    let h = 1e-5;
    for (l, layer) in mlp.layers().iter().enumerate() {
        // Inactive weights: exactly zero gradient.
        for (&on, &gv) in layer.mask().iter().zip(g.w[l].iter()) {
            if !on {
                assert_eq!(gv, 0.0);
            }
        }
        let (o, i) = layer.weight().dim();
        for _ in 0..12 {
            let (r, c) = (rng.random_range(0..o), rng.random_range(0..i));
            if !layer.mask()[[r, c]] {
                continue;
            }
            let num = (loss_f64(mlp, l, (r, c), h, false, x, y)
                - loss_f64(mlp, l, (r, c), -h, false, x, y))
                / (2.0 * h);
            let ana = f64::from(g.w[l][[r, c]]);
            assert!(
                (ana - num).abs() <= 1e-4 + 1e-3 * num.abs(),
                "layer {l} w[{r},{c}]: analytic {ana}, numeric {num}"
            );
        }
        for r in 0..o.min(6) {
            let num = (loss_f64(mlp, l, (r, 0), h, true, x, y)
                - loss_f64(mlp, l, (r, 0), -h, true, x, y))
                / (2.0 * h);
            let ana = f64::from(g.b[l][r]);
            assert!(
                (ana - num).abs() <= 1e-4 + 1e-3 * num.abs(),
                "layer {l} b[{r}]: analytic {ana}, numeric {num}"
            );
        }
    }
}

#[test]
fn gradients_match_finite_differences_for_both_losses_and_depths_1_to_4() {
    let mut r = rng(0);
    for depth in 1..=4usize {
        for trial in 0..3 {
            let n = [5usize, 64, 130][trial];
            let mut widths = vec![r.random_range(3..8)];
            for _ in 1..depth {
                widths.push(r.random_range(3..9));
            }
            // Softmax cross-entropy.
            let c = r.random_range(2..5);
            widths.push(c);
            let mlp = random_masked(&widths, 0.7, &mut r);
            let x = random_x(n, widths[0], &mut r);
            let labels = random_classes(n, c, &mut r);
            check(&mlp, x.view(), TargetsRef::Classes(labels.view()), &mut r);
            // BCE with logits, single and multi-label.
            for bits in [1usize, 3] {
                *widths.last_mut().unwrap() = bits;
                let mlp = random_masked(&widths, 0.7, &mut r);
                let t = random_bits(n, bits, &mut r);
                check(&mlp, x.view(), TargetsRef::Binary(t.view()), &mut r);
            }
        }
    }
}

#[test]
fn softmax_is_stable_for_huge_logits() {
    let logits = ndarray::array![[1000.0f32, -1000.0, 0.0], [-5e4, 5e4, 0.0]];
    let labels = ndarray::array![0u32, 0];
    let l = fpe_model::loss(logits.view(), TargetsRef::Classes(labels.view()));
    // Sample 0 is right with margin 1000 (loss ≈ 0); sample 1 is wrong by 1e5 (loss = 1e5).
    assert!(l.is_finite());
    assert!((l - 5e4).abs() < 1.0, "{l}");
    let t = ndarray::array![[1.0f32], [0.0]];
    let z = ndarray::array![[-1e4f32], [1e4]];
    let l = fpe_model::loss(z.view(), TargetsRef::Binary(t.view()));
    assert!((l - 1e4).abs() < 1.0, "{l}");
}
