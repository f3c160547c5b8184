//! The gathered kernel against the dense one: every product on random masks and shapes, whole
//! training runs, gradient checks, and bit-identical results on 1, 2 and 4 threads.
//!
//! Tolerance: 1e-5 relative to the largest magnitude of the compared array (the two kernels
//! sum the same products in different orders).

mod common;

use common::*;
use fpe_model::{
    DenseKernel, GatheredKernel, Grads, KernelPolicy, Layer, LayerKernel, Mlp, NoHooks,
    OptimizerConfig, TargetsRef, Trainer, Workspace,
};
use ndarray::{Array1, Array2, ArrayView2, Zip};
use rand::Rng;

/// `max |a − b| ≤ 1e-5 · max(1, max |b|)`.
fn assert_close(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>, what: &str) {
    assert_eq!(a.dim(), b.dim(), "{what}: shapes");
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let mut worst = 0.0f32;
    Zip::from(&a)
        .and(&b)
        .for_each(|x, y| worst = worst.max((x - y).abs()));
    assert!(
        worst <= 1e-5 * scale,
        "{what}: max difference {worst} (scale {scale})"
    );
}

fn random_layer(out: usize, inp: usize, density: f64, rng: &mut rand_chacha::ChaCha8Rng) -> Layer {
    let w = Array2::from_shape_simple_fn((out, inp), || rng.random_range(-1.0f32..1.0));
    let b = Array1::from_shape_simple_fn(out, || rng.random_range(-1.0f32..1.0));
    let m = Array2::from_shape_simple_fn((out, inp), || rng.random_bool(density));
    Layer::new(w, b, m).unwrap()
}

/// A `[rows, n]` array in feature-major layout (batch stride 1), or row-major.
fn batch(rows: usize, n: usize, fm: bool, rng: &mut rand_chacha::ChaCha8Rng) -> Array2<f32> {
    let a = Array2::from_shape_simple_fn((rows, n), || rng.random_range(-1.0f32..1.0));
    if fm {
        a.reversed_axes()
            .as_standard_layout()
            .into_owned()
            .reversed_axes()
    } else {
        a
    }
}

fn zeros(rows: usize, n: usize, fm: bool) -> Array2<f32> {
    if fm {
        Array2::zeros((n, rows)).reversed_axes()
    } else {
        Array2::zeros((rows, n))
    }
}

#[test]
fn every_product_matches_dense_on_random_masks_and_layouts() {
    let mut r = rng(11);
    let shapes = [(1, 1), (7, 3), (64, 16), (33, 70), (256, 64), (16, 1024)];
    for &(out, inp) in &shapes {
        for density in [0.05, 0.3, 0.7, 1.0] {
            let layer = random_layer(out, inp, density, &mut r);
            let gathered = GatheredKernel::new(&layer);
            assert_eq!(gathered.nnz(), layer.nnz());
            for rows in [1usize, 5, 64, 100] {
                for fm in [false, true] {
                    let what = format!("{out}x{inp} density {density} rows {rows} fm {fm}");
                    let x = batch(rows, inp, fm, &mut r);
                    let gz = batch(rows, out, fm, &mut r);
                    let act = batch(rows, inp, fm, &mut r);

                    let (mut zd, mut zg) = (zeros(rows, out, fm), zeros(rows, out, fm));
                    DenseKernel.forward(&layer, x.view(), zd.view_mut());
                    gathered.forward(&layer, x.view(), zg.view_mut());
                    assert_close(zg.view(), zd.view(), &format!("forward {what}"));
                    DenseKernel.forward_relu(&layer, x.view(), zd.view_mut());
                    gathered.forward_relu(&layer, x.view(), zg.view_mut());
                    assert_close(zg.view(), zd.view(), &format!("forward_relu {what}"));

                    let (mut gxd, mut gxg) = (zeros(rows, inp, fm), zeros(rows, inp, fm));
                    DenseKernel.input_grad(&layer, gz.view(), gxd.view_mut());
                    gathered.input_grad(&layer, gz.view(), gxg.view_mut());
                    assert_close(gxg.view(), gxd.view(), &format!("input_grad {what}"));
                    DenseKernel.input_grad_relu(&layer, gz.view(), act.view(), gxd.view_mut());
                    gathered.input_grad_relu(&layer, gz.view(), act.view(), gxg.view_mut());
                    assert_close(gxg.view(), gxd.view(), &format!("input_grad_relu {what}"));

                    let (mut gwd, mut gwg) = (Array2::zeros((out, inp)), Array2::zeros((out, inp)));
                    let (mut gbd, mut gbg) = (Array1::zeros(out), Array1::zeros(out));
                    gwg.fill(f32::NAN); // every entry must be overwritten
                    DenseKernel.weight_grad(
                        &layer,
                        x.view(),
                        gz.view(),
                        gwd.view_mut(),
                        gbd.view_mut(),
                    );
                    gathered.weight_grad(
                        &layer,
                        x.view(),
                        gz.view(),
                        gwg.view_mut(),
                        gbg.view_mut(),
                    );
                    assert_close(gwg.view(), gwd.view(), &format!("weight_grad {what}"));
                    assert_close(
                        gbg.view().insert_axis(ndarray::Axis(0)),
                        gbd.view().insert_axis(ndarray::Axis(0)),
                        &format!("bias grad {what}"),
                    );
                    Zip::from(&gwg).and(layer.mask()).for_each(|&g, &on| {
                        assert!(on || g == 0.0, "inactive gradient {g} ({what})");
                    });

                    // Packed gradients: both kernels agree, and unpacking restores the dense one.
                    let mut pd = vec![0.0; layer.nnz()];
                    let mut pg = vec![0.0; layer.nnz()];
                    DenseKernel.weight_grad_packed(
                        &layer,
                        x.view(),
                        gz.view(),
                        &mut pd,
                        gbd.view_mut(),
                    );
                    gathered.weight_grad_packed(
                        &layer,
                        x.view(),
                        gz.view(),
                        &mut pg,
                        gbg.view_mut(),
                    );
                    let mut back = Array2::from_elem((out, inp), f32::NAN);
                    gathered.unpack_weight_grad(&layer, &pg, back.view_mut());
                    assert_eq!(back, gwg, "unpack {what}");
                    DenseKernel.unpack_weight_grad(&layer, &pd, back.view_mut());
                    assert_eq!(back, gwd, "default unpack {what}");
                }
            }
        }
    }
}

fn mean_grads(
    mlp: &Mlp,
    policy: KernelPolicy,
    x: ArrayView2<'_, f32>,
    y: TargetsRef<'_>,
) -> (f64, Grads) {
    let mut ws = Workspace::new(mlp, policy);
    let mut g = Grads::zeros_like(mlp);
    let loss = ws.loss_grad(mlp, x, y, &mut g);
    (loss, g)
}

#[test]
fn workspace_gradients_match_dense_for_every_policy() {
    let mut r = rng(3);
    for (widths, density) in [
        (vec![20, 40, 5], 0.3),
        (vec![64, 32, 16, 3], 0.6),
        (vec![9, 4], 1.0),
    ] {
        let mlp = random_masked(&widths, density, &mut r);
        for n in [1usize, 63, 64, 65, 200] {
            let x = random_x(n, widths[0], &mut r);
            let y = random_classes(n, *widths.last().unwrap(), &mut r);
            let y = TargetsRef::Classes(y.view());
            let (ld, gd) = mean_grads(&mlp, KernelPolicy::Dense, x.view(), y);
            for policy in [KernelPolicy::Gathered, KernelPolicy::Auto] {
                let (lp, gp) = mean_grads(&mlp, policy, x.view(), y);
                assert!(
                    (lp - ld).abs() <= 1e-5 * ld.abs().max(1.0),
                    "{policy:?} loss {lp} vs {ld}"
                );
                for l in 0..mlp.depth() {
                    assert_close(
                        gp.w[l].view(),
                        gd.w[l].view(),
                        &format!("{policy:?} w{l} n={n}"),
                    );
                    assert_close(
                        gp.b[l].view().insert_axis(ndarray::Axis(0)),
                        gd.b[l].view().insert_axis(ndarray::Axis(0)),
                        &format!("{policy:?} b{l} n={n}"),
                    );
                }
            }
        }
    }
}

/// Trains `steps` steps on an FPE-shaped `d → h → 4` network (expanded by `alpha`) with
/// `policy` on `threads` threads.
fn train(
    policy: KernelPolicy,
    (d, h, alpha): (usize, usize, usize),
    (steps, batch): (usize, usize),
    threads: usize,
) -> Mlp {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut r = rng(5);
        let mlp = fpe_model::fixtures::expanded_like(d, h, 4, alpha, &mut r).unwrap();
        let n = 1024;
        let x = random_x(n, d, &mut r);
        let y = random_bits(n, 4, &mut r);
        let mut t = Trainer::new(mlp, OptimizerConfig::default(), policy).unwrap();
        let epochs = steps * batch / n;
        t.fit(
            x.view(),
            TargetsRef::Binary(y.view()),
            epochs,
            batch,
            &mut r,
            &mut NoHooks,
        )
        .unwrap();
        assert_eq!(t.step() as usize, steps);
        t.into_parts().0
    })
}

#[test]
fn a_training_run_matches_dense_to_1e_5() {
    for alpha in [1, 4] {
        let dense = train(KernelPolicy::Dense, (32, 16, alpha), (320, 64), 1);
        for policy in [KernelPolicy::Gathered, KernelPolicy::Auto] {
            let other = train(policy, (32, 16, alpha), (320, 64), 1);
            for (l, (a, b)) in other.layers().iter().zip(dense.layers()).enumerate() {
                assert_close(
                    a.weight(),
                    b.weight(),
                    &format!("α={alpha} {policy:?} weight {l}"),
                );
                assert_close(
                    a.bias().insert_axis(ndarray::Axis(0)),
                    b.bias().insert_axis(ndarray::Axis(0)),
                    &format!("α={alpha} {policy:?} bias {l}"),
                );
            }
            other.check_masks().unwrap();
        }
    }
}

#[test]
fn gathered_and_auto_are_bit_identical_on_one_two_and_four_threads() {
    // Big enough that batches of 256 (four chunks) run in parallel on more than one thread,
    // and small (chunks run one after the other on any number of threads).
    for (shape, steps) in [((64, 128, 4), (24, 256)), ((32, 16, 4), (24, 256))] {
        determinism_case(shape, steps);
    }
}

fn determinism_case(shape: (usize, usize, usize), steps: (usize, usize)) {
    for policy in [
        KernelPolicy::Dense,
        KernelPolicy::Gathered,
        KernelPolicy::Auto,
    ] {
        let one = train(policy, shape, steps, 1);
        for threads in [2, 4] {
            let other = train(policy, shape, steps, threads);
            for (a, b) in one.layers().iter().zip(other.layers()) {
                let bits = |l: &Layer| -> Vec<u32> {
                    l.weight()
                        .iter()
                        .chain(l.bias().iter())
                        .map(|v| v.to_bits())
                        .collect()
                };
                assert_eq!(
                    bits(a),
                    bits(b),
                    "{policy:?}: {threads} threads differ from 1"
                );
            }
        }
    }
}

#[test]
fn auto_picks_by_density_and_rebuilds_when_masks_change() {
    let mut r = rng(9);
    let mlp = fpe_model::fixtures::expanded_like(64, 16, 8, 4, &mut r).unwrap();
    let t = Trainer::new(mlp.clone(), OptimizerConfig::default(), KernelPolicy::Auto).unwrap();
    assert_eq!(t.kernel_names(), vec!["gathered", "gathered"]);
    let dense = fpe_model::fixtures::expanded_like(64, 16, 8, 1, &mut r).unwrap();
    let t = Trainer::new(dense, OptimizerConfig::default(), KernelPolicy::Auto).unwrap();
    assert_eq!(t.kernel_names(), vec!["dense", "dense"]);

    // A mask change followed by `model_changed` re-indexes the gathered kernel.
    let mut t = Trainer::new(mlp, OptimizerConfig::default(), KernelPolicy::Gathered).unwrap();
    let mut mask = t.mlp().layers()[0].mask().to_owned();
    mask.row_mut(0).fill(false);
    t.set_mask(0, mask).unwrap();
    t.model_changed();
    let x = random_x(10, 64, &mut r);
    let y = random_bits(10, 8, &mut r);
    let y = TargetsRef::Binary(y.view());
    let (_, gd) = mean_grads(t.mlp(), KernelPolicy::Dense, x.view(), y);
    let (_, gg) = mean_grads(t.mlp(), KernelPolicy::Gathered, x.view(), y);
    assert!(gg.w[0].row(0).iter().all(|&g| g == 0.0));
    assert_close(gg.w[0].view(), gd.w[0].view(), "after mask change");
}

/// Mean loss in f64 with weight `(l, r, c)` moved by `delta` (independent reference).
fn loss_f64(
    mlp: &Mlp,
    at: (usize, usize, usize),
    delta: f64,
    x: ArrayView2<'_, f32>,
    y: &Array1<u32>,
) -> f64 {
    let mut h = x.mapv(f64::from);
    for (l, layer) in mlp.layers().iter().enumerate() {
        let mut w = layer.weight().mapv(f64::from);
        if l == at.0 {
            w[[at.1, at.2]] += delta;
        }
        let mut z = h.dot(&w.t()) + &layer.bias().mapv(f64::from);
        if l + 1 < mlp.depth() {
            z.mapv_inplace(|v| v.max(0.0));
        }
        h = z;
    }
    let mut total = 0.0;
    for (row, &c) in h.rows().into_iter().zip(y) {
        let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        total += max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() - row[c as usize];
    }
    total / h.nrows() as f64
}

#[test]
fn gathered_gradients_match_finite_differences() {
    let mut r = rng(21);
    for widths in [vec![6, 12, 3], vec![5, 8, 7, 4]] {
        let mlp = random_masked(&widths, 0.4, &mut r);
        let x = random_x(70, widths[0], &mut r);
        let y = random_classes(70, *widths.last().unwrap(), &mut r);
        let (_, g) = mean_grads(
            &mlp,
            KernelPolicy::Gathered,
            x.view(),
            TargetsRef::Classes(y.view()),
        );
        for (l, layer) in mlp.layers().iter().enumerate() {
            for ((row, col), &on) in layer.mask().indexed_iter() {
                if !on {
                    assert_eq!(g.w[l][[row, col]], 0.0);
                    continue;
                }
                let h = 1e-5;
                let num = (loss_f64(&mlp, (l, row, col), h, x.view(), &y)
                    - loss_f64(&mlp, (l, row, col), -h, x.view(), &y))
                    / (2.0 * h);
                let ana = f64::from(g.w[l][[row, col]]);
                assert!(
                    (ana - num).abs() <= 1e-4 + 1e-3 * num.abs(),
                    "layer {l} w[{row},{col}]: analytic {ana}, numeric {num}"
                );
            }
        }
    }
}
