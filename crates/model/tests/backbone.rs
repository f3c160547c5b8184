//! Networks with a backbone (convolutions, pooling, linear stages) in front of the MLP head:
//! gradients against finite differences of an independent f64 forward, bit-identity across
//! thread counts, the mask invariant under the optimisers, checkpoints and the GPU's refusal.

mod common;

use common::*;
use fpe_model::{
    Backbone, BackboneConfig, Checkpoint, Grads, KernelPolicy, Layer, Mlp, MlpConfig, NoHooks,
    OptimizerConfig, Stage, TargetsRef, Trainer, Workspace,
};
use ndarray::{Array1, Array2, Array4, ArrayView2};
use rand::Rng;

fn stages(text: &[&str]) -> Vec<Stage> {
    text.iter().map(|s| s.parse().unwrap()).collect()
}

/// A network with `cfg`'s backbone and a head `features → hidden → classes`, with a random mask
/// of density `density` on every backbone layer (each row keeps at least one weight).
fn network(cfg: &BackboneConfig, hidden: usize, classes: usize, density: f64, seed: u64) -> Mlp {
    let mut r = rng(seed);
    let mut bb = cfg.init(&mut r).unwrap();
    for l in 0..bb.layers().len() {
        let (o, i) = bb.layers()[l].weight().dim();
        let mask = Array2::from_shape_fn((o, i), |(_, c)| c == 0 || r.random_bool(density));
        bb.layer_mut(l).set_mask(mask).unwrap();
    }
    MlpConfig {
        d_in: bb.out_len(),
        hidden: vec![hidden],
        d_out: classes,
    }
    .init(&mut r)
    .unwrap()
    .with_backbone(bb)
    .unwrap()
}

/// One trainable tensor of the network, perturbed: (trainable index, weight (r, c) or bias r).
#[derive(Clone, Copy)]
enum Param {
    W(usize, usize, usize),
    B(usize, usize),
}

fn weights_f64(l: &Layer, p: Option<Param>, idx: usize, d: f64) -> (Array2<f64>, Array1<f64>) {
    let mut w = l.weight().mapv(f64::from);
    let mut b = l.bias().mapv(f64::from);
    match p {
        Some(Param::W(t, r, c)) if t == idx => w[[r, c]] += d,
        Some(Param::B(t, r)) if t == idx => b[r] += d,
        _ => {}
    }
    (w, b)
}

/// Independent f64 forward of the whole network (direct convolution loops) and its mean
/// softmax cross-entropy, with one parameter moved by `d`.
fn loss_f64(mlp: &Mlp, p: Option<Param>, d: f64, x: ArrayView2<'_, f32>, y: &[u32]) -> f64 {
    let bb = mlp.backbone().unwrap();
    let depth = mlp.depth();
    let [mut c, mut h, mut w] = bb.config().input;
    let n = x.nrows();
    let mut a = Array4::from_shape_fn((n, c, h, w), |(s, ci, i, j)| {
        f64::from(x[[s, (ci * h + i) * w + j]])
    })
    .into_dyn();
    let mut layer = 0;
    for stage in &bb.config().stages {
        match *stage {
            Stage::Conv2d {
                out_ch,
                kh,
                kw,
                pad,
            } => {
                let (wt, bs) = weights_f64(&bb.layers()[layer], p, depth + layer, d);
                let (ho, wo) = (h + 2 * pad + 1 - kh, w + 2 * pad + 1 - kw);
                let mut out = Array4::<f64>::zeros((n, out_ch, ho, wo));
                for s in 0..n {
                    for o in 0..out_ch {
                        for i in 0..ho {
                            for j in 0..wo {
                                let mut acc = bs[o];
                                for ci in 0..c {
                                    for ky in 0..kh {
                                        for kx in 0..kw {
                                            let (yy, xx) = (i + ky, j + kx);
                                            if yy < pad
                                                || xx < pad
                                                || yy - pad >= h
                                                || xx - pad >= w
                                            {
                                                continue;
                                            }
                                            acc += wt[[o, (ci * kh + ky) * kw + kx]]
                                                * a[[s, ci, yy - pad, xx - pad]];
                                        }
                                    }
                                }
                                out[[s, o, i, j]] = acc;
                            }
                        }
                    }
                }
                (c, h, w) = (out_ch, ho, wo);
                a = out.into_dyn();
                layer += 1;
            }
            Stage::Relu => a.mapv_inplace(|v| v.max(0.0)),
            Stage::MaxPool2 => {
                let (ho, wo) = (h / 2, w / 2);
                let out = Array4::from_shape_fn((n, c, ho, wo), |(s, ci, i, j)| {
                    let mut m = f64::NEG_INFINITY;
                    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                        m = m.max(a[[s, ci, 2 * i + dy, 2 * j + dx]]);
                    }
                    m
                });
                (h, w) = (ho, wo);
                a = out.into_dyn();
            }
            Stage::AvgPool2 => {
                let (ho, wo) = (h / 2, w / 2);
                let out = Array4::from_shape_fn((n, c, ho, wo), |(s, ci, i, j)| {
                    [(0, 0), (0, 1), (1, 0), (1, 1)]
                        .iter()
                        .map(|&(dy, dx)| a[[s, ci, 2 * i + dy, 2 * j + dx]])
                        .sum::<f64>()
                        / 4.0
                });
                (h, w) = (ho, wo);
                a = out.into_dyn();
            }
            Stage::Flatten => {
                let len = a.len() / n;
                a = a.into_shape_with_order(vec![n, len]).unwrap();
                (c, h, w) = (len, 1, 1);
            }
            Stage::Linear { out } => {
                let (wt, bs) = weights_f64(&bb.layers()[layer], p, depth + layer, d);
                let x2 = a.clone().into_shape_with_order((n, c)).unwrap();
                a = (x2.dot(&wt.t()) + &bs).into_dyn();
                (c, h, w) = (out, 1, 1);
                layer += 1;
            }
        }
    }
    let mut z = a.into_shape_with_order((n, c * h * w)).unwrap();
    for (l, hl) in mlp.layers().iter().enumerate() {
        let (wt, bs) = weights_f64(hl, p, l, d);
        z = z.dot(&wt.t()) + &bs;
        if l + 1 < depth {
            z.mapv_inplace(|v| v.max(0.0));
        }
    }
    let mut total = 0.0;
    for (row, &t) in z.rows().into_iter().zip(y) {
        let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        total += lse - row[t as usize];
    }
    total / n as f64
}

fn check_gradients(cfg: &BackboneConfig, n: usize, density: f64, seed: u64) {
    let mlp = network(cfg, 5, 3, density, seed);
    let mut r = rng(seed + 100);
    let x = random_x(n, cfg.in_len(), &mut r);
    let y = random_classes(n, 3, &mut r);
    let targets = TargetsRef::Classes(y.view());
    let mut ws = Workspace::new(&mlp, KernelPolicy::Auto);
    let mut g = Grads::zeros_like(&mlp);
    let loss = ws.loss_grad(&mlp, x.view(), targets, &mut g);
    let ys = y.as_slice().unwrap();
    let reference = loss_f64(&mlp, None, 0.0, x.view(), ys);
    assert!(
        (loss - reference).abs() <= 1e-5 * (1.0 + reference.abs()),
        "loss {loss} vs {reference}"
    );
    let h = 1e-5;
    let numeric = |p: Param| {
        (loss_f64(&mlp, Some(p), h, x.view(), ys) - loss_f64(&mlp, Some(p), -h, x.view(), ys))
            / (2.0 * h)
    };
    let mut checked = 0;
    for (t, layer) in mlp.trainable().enumerate() {
        for (&on, &gv) in layer.mask().iter().zip(g.w[t].iter()) {
            if !on {
                assert_eq!(
                    gv, 0.0,
                    "trainable layer {t}: gradient of an inactive weight"
                );
            }
        }
        let (o, i) = layer.weight().dim();
        for _ in 0..10 {
            let (rr, cc) = (r.random_range(0..o), r.random_range(0..i));
            if !layer.mask()[[rr, cc]] {
                continue;
            }
            let (num, ana) = (numeric(Param::W(t, rr, cc)), f64::from(g.w[t][[rr, cc]]));
            assert!(
                (ana - num).abs() <= 1e-4 + 1e-3 * num.abs(),
                "trainable layer {t} w[{rr},{cc}]: analytic {ana}, numeric {num}"
            );
            checked += 1;
        }
        for rr in 0..o.min(4) {
            let (num, ana) = (numeric(Param::B(t, rr)), f64::from(g.b[t][rr]));
            assert!(
                (ana - num).abs() <= 1e-4 + 1e-3 * num.abs(),
                "trainable layer {t} b[{rr}]: analytic {ana}, numeric {num}"
            );
        }
    }
    assert!(checked > 10, "only {checked} weights checked");
}

fn e11_like() -> BackboneConfig {
    BackboneConfig {
        input: [1, 8, 8],
        stages: stages(&[
            "conv 4 3x3 pad 1",
            "relu",
            "maxpool2",
            "conv 6 3x3 pad 1",
            "relu",
            "maxpool2",
            "flatten",
            "linear 8",
            "relu",
        ]),
    }
}

#[test]
fn backbone_gradients_match_finite_differences() {
    // The E11 shape in small, over two chunks (70 samples), dense and with sparse masks (the
    // sparse second convolution takes the gathered path).
    check_gradients(&e11_like(), 70, 1.0, 0);
    check_gradients(&e11_like(), 70, 0.3, 1);
    // Two input channels, a 5×3 kernel without padding, odd maps, a ReLU after pooling, no
    // linear stage: the head reads the flattened map.
    let odd = BackboneConfig {
        input: [2, 9, 7],
        stages: stages(&[
            "conv 3 5x3",
            "maxpool2",
            "relu",
            "conv 2 2x2 pad 1",
            "flatten",
        ]),
    };
    check_gradients(&odd, 9, 0.6, 2);
}

#[test]
fn backbone_networks_train_bit_identically_on_1_and_2_threads_and_keep_masks() {
    let cfg = e11_like();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mlp = network(&cfg, 4, 3, 0.5, 7);
            let mut r = rng(8);
            let x = random_x(200, cfg.in_len(), &mut r);
            let y = random_classes(200, 3, &mut r);
            let opt = OptimizerConfig::Adam {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.1,
            };
            let mut t = Trainer::new(mlp, opt, KernelPolicy::Auto).unwrap();
            t.fit(
                x.view(),
                TargetsRef::Classes(y.view()),
                3,
                64,
                &mut r,
                &mut NoHooks,
            )
            .unwrap();
            t.mlp().clone()
        })
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one, two, "1 and 2 threads differ");
    one.check_masks().unwrap();
    let before = network(&cfg, 4, 3, 0.5, 7);
    for (a, b) in one.trainable().zip(before.trainable()) {
        assert_eq!(a.mask(), b.mask());
        assert_eq!(a.nnz(), b.nnz());
    }
    assert_ne!(
        one.backbone().unwrap().layers()[0].weight(),
        before.backbone().unwrap().layers()[0].weight(),
        "the backbone trained"
    );
}

#[test]
fn checkpoints_round_trip_a_backbone_with_its_optimiser_state() {
    let cfg = e11_like();
    let mlp = network(&cfg, 4, 3, 0.5, 3);
    let mut r = rng(4);
    let x = random_x(64, cfg.in_len(), &mut r);
    let y = random_classes(64, 3, &mut r);
    let opt = OptimizerConfig::Sgd {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 0.0,
    };
    let mut t = Trainer::new(mlp, opt, KernelPolicy::Auto).unwrap();
    t.fit(
        x.view(),
        TargetsRef::Classes(y.view()),
        1,
        32,
        &mut r,
        &mut NoHooks,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cnn.ckpt");
    t.checkpoint().save(&path).unwrap();
    let back = Checkpoint::load(&path).unwrap();
    assert_eq!(back.mlp, *t.mlp());
    assert_eq!(back.optimizer().unwrap().unwrap(), *t.optimizer());
    assert_eq!(back.mlp.forward(x.view()), t.mlp().forward(x.view()));
}

#[test]
fn bad_backbones_are_refused_with_the_stage_named() {
    let cfg = |input: [usize; 3], s: &[&str]| BackboneConfig {
        input,
        stages: stages(s),
    };
    for (c, needle) in [
        (cfg([1, 4, 4], &["linear 3"]), "needs `flatten`"),
        (cfg([1, 4, 4], &["flatten", "conv 2 3"]), "after `flatten`"),
        (
            cfg([1, 2, 2], &["conv 2 5"]),
            "larger than the padded input",
        ),
        (cfg([1, 1, 3], &["maxpool2"]), "too small to pool"),
        (cfg([1, 4, 4], &["flatten"]), "needs a convolution"),
        (cfg([0, 4, 4], &["relu"]), "positive"),
    ] {
        let e = c.out_len().unwrap_err().to_string();
        assert!(e.contains(needle), "{:?}: {e}", c.stages);
    }
    // A head whose input width is not the backbone's feature width.
    let bb = e11_like().init(&mut rng(0)).unwrap();
    let head = MlpConfig {
        d_in: 7,
        hidden: vec![2],
        d_out: 2,
    }
    .init(&mut rng(0))
    .unwrap();
    assert!(head.with_backbone(bb).is_err());
}

#[test]
fn a_layer_of_the_wrong_shape_is_refused() {
    let cfg = e11_like();
    let mut layers = cfg.init(&mut rng(0)).unwrap().layers().to_vec();
    layers[1] = Layer::dense(Array2::zeros((6, 35)), Array1::zeros(6)).unwrap();
    let e = Backbone::new(cfg, layers).unwrap_err().to_string();
    assert!(e.contains("backbone layer 1"), "{e}");
}

#[test]
fn the_gpu_refuses_a_backbone_in_words() {
    let mlp = network(&e11_like(), 4, 3, 1.0, 0);
    let mut t = Trainer::new(mlp, OptimizerConfig::default(), KernelPolicy::Auto).unwrap();
    let x = random_x(8, 64, &mut rng(0));
    let y = random_classes(8, 3, &mut rng(0));
    let e = fpe_model::Device::Gpu
        .fit(
            &mut t,
            x.view(),
            TargetsRef::Classes(y.view()),
            1,
            4,
            &mut rng(1),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("MLPs only") && e.contains("conv 4 3x3 pad 1") && e.contains("--device cpu"),
        "{e}"
    );
}
