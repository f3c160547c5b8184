//! The mask invariant survives optimisers, weight decay, save/load and resume.

mod common;

use common::*;
use fpe_model::{
    Checkpoint, Grads, KernelPolicy, Mlp, NoHooks, Optimizer, OptimizerConfig, TargetsRef, Trainer,
    Workspace,
};
use rand_chacha::ChaCha8Rng;

fn assert_invariant(mlp: &Mlp, opt: &Optimizer) {
    mlp.check_masks().unwrap();
    for (layer, slots) in mlp.layers().iter().zip(&opt.state().layers) {
        for slot in &slots.w {
            for (&on, &v) in layer.mask().iter().zip(slot.iter()) {
                if !on {
                    assert_eq!(v, 0.0, "optimizer state revived an inactive weight");
                }
            }
        }
    }
}

fn configs() -> [OptimizerConfig; 2] {
    [
        OptimizerConfig::Adam {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.1,
        },
        OptimizerConfig::Sgd {
            lr: 5e-2,
            momentum: 0.9,
            weight_decay: 0.1,
        },
    ]
}

#[test]
fn thousand_steps_of_adam_and_momentum_sgd_with_weight_decay_never_revive_a_weight() {
    for cfg in configs() {
        let mut r = rng(1);
        let mut mlp = random_masked(&[10, 12, 8, 3], 0.5, &mut r);
        let nnz = mlp.nnz();
        let mut opt = Optimizer::new(cfg, &mlp).unwrap();
        let mut ws = Workspace::new(&mlp, KernelPolicy::Dense);
        let mut g = Grads::zeros_like(&mlp);
        let x = random_x(100, 10, &mut r);
        let y = random_classes(100, 3, &mut r);
        for step in 0..1000 {
            ws.loss_grad(&mlp, x.view(), TargetsRef::Classes(y.view()), &mut g);
            // Poison the gradient of inactive weights: the optimiser must ignore it.
            if step % 7 == 0 {
                for (gw, layer) in g.w.iter_mut().zip(mlp.layers()) {
                    for (gv, &on) in gw.iter_mut().zip(layer.mask()) {
                        if !on {
                            *gv = 1.0;
                        }
                    }
                }
            }
            opt.step(&mut mlp, &g);
            assert_invariant(&mlp, &opt);
        }
        assert_eq!(mlp.nnz(), nnz);
        // Active weights did move.
        assert!(mlp.layers()[0].weight().iter().any(|&w| w != 0.0));
    }
}

#[test]
fn layer_setters_cannot_write_inactive_weights() {
    let mut r = rng(2);
    let mut mlp = random_masked(&[6, 5, 2], 0.5, &mut r);
    let layer = mlp.layer_mut(0);
    let full = ndarray::Array2::from_elem(layer.weight().dim(), 3.0f32);
    layer.set_weight(full).unwrap();
    let (row, col) = layer
        .mask()
        .indexed_iter()
        .find(|(_, on)| !**on)
        .map(|(i, _)| i)
        .unwrap();
    assert!(!layer.set_weight_at(row, col, 5.0));
    mlp.check_masks().unwrap();
}

fn train(
    trainer: &mut Trainer,
    x: &ndarray::Array2<f32>,
    y: &ndarray::Array1<u32>,
    epochs: usize,
    rng: &mut ChaCha8Rng,
) {
    trainer
        .fit(
            x.view(),
            TargetsRef::Classes(y.view()),
            epochs,
            32,
            rng,
            &mut NoHooks,
        )
        .unwrap();
}

#[test]
fn save_load_and_resume_are_bit_identical_and_keep_masks() {
    let dir = tempfile::tempdir().unwrap();
    for cfg in configs() {
        let mut r = rng(3);
        let mlp = random_masked(&[8, 16, 4], 0.4, &mut r);
        let x = random_x(200, 8, &mut r);
        let y = random_classes(200, 4, &mut r);

        // Uninterrupted: 6 epochs.
        let mut batch_rng = rng(99);
        let mut full = Trainer::new(mlp.clone(), cfg, KernelPolicy::Dense).unwrap();
        train(&mut full, &x, &y, 6, &mut batch_rng);

        // Interrupted after 3 epochs: checkpoint, load, resume for 3 more.
        let mut batch_rng = rng(99);
        let mut first = Trainer::new(mlp, cfg, KernelPolicy::Dense).unwrap();
        train(&mut first, &x, &y, 3, &mut batch_rng);
        let ck = Checkpoint {
            mlp: first.mlp().clone(),
            optimizer: Some((
                *first.optimizer().config(),
                first.optimizer().state().clone(),
            )),
            epoch: first.epoch(),
            step: first.step(),
            rng: Some(bincode::serialize(&batch_rng).unwrap()),
            meta: Default::default(),
        };
        let path = dir.path().join("run.ckpt");
        ck.save(&path).unwrap();
        let loaded = Checkpoint::load(&path).unwrap();
        assert_eq!(loaded, ck);
        loaded.mlp.check_masks().unwrap();
        let mut batch_rng: ChaCha8Rng = bincode::deserialize(loaded.rng.as_ref().unwrap()).unwrap();
        let opt = loaded.optimizer().unwrap().unwrap();
        let mut resumed = Trainer::from_parts(
            loaded.mlp,
            opt,
            loaded.epoch,
            loaded.step,
            KernelPolicy::Dense,
        )
        .unwrap();
        train(&mut resumed, &x, &y, 3, &mut batch_rng);

        assert_eq!(
            resumed.mlp(),
            full.mlp(),
            "resumed weights differ from an uninterrupted run"
        );
        assert_eq!(resumed.optimizer().state(), full.optimizer().state());
        assert_eq!((resumed.epoch(), resumed.step()), (6, full.step()));
        assert_invariant(resumed.mlp(), resumed.optimizer());
    }
}

#[test]
fn divergence_is_a_clean_error_naming_epoch_and_step() {
    let mut r = rng(4);
    let mlp = random_masked(&[4, 8, 2], 0.8, &mut r);
    let mut x = random_x(64, 4, &mut r);
    x[[10, 2]] = f32::NAN;
    let y = random_classes(64, 2, &mut r);
    let mut t = Trainer::new(mlp, OptimizerConfig::default(), KernelPolicy::Dense).unwrap();
    let e = t
        .fit(
            x.view(),
            TargetsRef::Classes(y.view()),
            2,
            64,
            &mut r,
            &mut NoHooks,
        )
        .unwrap_err();
    match e {
        fpe_model::Error::NonFinite {
            what, epoch, step, ..
        } => assert_eq!((what, epoch, step), ("loss", 0, 0)),
        other => panic!("{other}"),
    }
    // A learning rate so large that weights overflow: reported with the layer.
    let mlp = random_masked(&[4, 8, 2], 0.8, &mut r);
    let x = random_x(64, 4, &mut r).mapv(|v| v * 1e30);
    let cfg = OptimizerConfig::Sgd {
        lr: 1e30,
        momentum: 0.0,
        weight_decay: 0.0,
    };
    let mut t = Trainer::new(mlp, cfg, KernelPolicy::Dense).unwrap();
    let e = t
        .fit(
            x.view(),
            TargetsRef::Classes(y.view()),
            5,
            16,
            &mut r,
            &mut NoHooks,
        )
        .unwrap_err();
    assert!(matches!(e, fpe_model::Error::NonFinite { .. }), "{e}");
    assert!(
        e.to_string().contains("epoch") && e.to_string().contains("step"),
        "{e}"
    );
}

#[test]
fn targets_out_of_range_are_errors() {
    let mut r = rng(6);
    let mlp = random_masked(&[4, 8, 3], 0.8, &mut r);
    let x = random_x(10, 4, &mut r);
    let mut y = random_classes(10, 3, &mut r);
    y[4] = 3;
    let mut t = Trainer::new(mlp, OptimizerConfig::default(), KernelPolicy::Dense).unwrap();
    let e = t
        .fit(
            x.view(),
            TargetsRef::Classes(y.view()),
            1,
            4,
            &mut r,
            &mut NoHooks,
        )
        .unwrap_err();
    assert!(e.to_string().contains("label 3 at row 4"), "{e}");
}

/// A mask changed between fits (through the public `layer_mut`, without calling
/// `model_changed`) takes effect at the next step: the newly active weights train, and the run
/// is bit-identical to one that calls `model_changed` by hand. Run in release by CI too (a
/// debug-only assertion used to be the only guard).
#[test]
fn a_mask_changed_between_fits_takes_effect_without_model_changed() {
    let mut r = rng(11);
    let x = random_x(96, 16, &mut r);
    let y = random_classes(96, 3, &mut r);
    let mut base = random_masked(&[16, 32, 3], 0.25, &mut r);
    // Every hidden neuron reaches the outputs, so every input weight can get a gradient.
    let out_dim = base.layers()[1].weight().dim();
    base.layer_mut(1)
        .set_mask(ndarray::Array2::from_elem(out_dim, true))
        .unwrap();
    let opt = OptimizerConfig::Adam {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let full = ndarray::Array2::from_elem(base.layers()[0].weight().dim(), true);
    let newly: Vec<(usize, usize)> = base.layers()[0]
        .mask()
        .indexed_iter()
        .filter(|(_, on)| !**on)
        .map(|(p, _)| p)
        .collect();
    assert!(newly.len() > 300, "{} inactive weights", newly.len());
    let train = |explicit: bool| {
        let mut t = Trainer::new(base.clone(), opt, KernelPolicy::Auto).unwrap();
        let mut br = rng(5);
        t.fit(
            x.view(),
            TargetsRef::Classes(y.view()),
            2,
            32,
            &mut br,
            &mut NoHooks,
        )
        .unwrap();
        assert_eq!(
            t.kernel_names()[0],
            "gathered",
            "a sparse layer uses index lists"
        );
        let id = t.mlp().layers()[0].mask_id();
        t.set_mask(0, full.clone()).unwrap();
        assert_ne!(
            t.mlp().layers()[0].mask_id(),
            id,
            "a new mask gets a new id"
        );
        if explicit {
            t.model_changed();
        }
        t.fit(
            x.view(),
            TargetsRef::Classes(y.view()),
            3,
            32,
            &mut br,
            &mut NoHooks,
        )
        .unwrap();
        t
    };
    let auto = train(false);
    let moved = newly
        .iter()
        .filter(|&&(o, i)| auto.mlp().layers()[0].weight()[[o, i]] != 0.0)
        .count();
    // Before the fix none moved (the kernels kept the old index lists); a neuron whose ReLU is
    // off for every sample leaves its weights at 0, so not every one need move.
    assert!(
        moved * 10 >= newly.len() * 9,
        "{moved} of {} newly active weights moved",
        newly.len()
    );
    assert_eq!(
        auto.kernel_names()[0],
        "dense",
        "the kernels follow the new density"
    );
    let explicit = train(true);
    assert_eq!(
        auto.mlp(),
        explicit.mlp(),
        "automatic rebuild = explicit model_changed"
    );
}

#[test]
fn deserialisation_checks_layers_and_networks() {
    let mut r = rng(3);
    let mlp = random_masked(&[6, 4, 2], 0.5, &mut r);
    let json = serde_json::to_string(&mlp).unwrap();
    let back: Mlp = serde_json::from_str(&json).unwrap();
    assert_eq!(back, mlp);
    // A non-zero inactive weight, a mask of the wrong shape, and layers that do not chain.
    let (o, i) = mlp.layers()[0]
        .mask()
        .indexed_iter()
        .find(|(_, on)| !**on)
        .map(|(p, _)| p)
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let w = &mut v["layers"][0]["w"]["data"][o * 6 + i];
    *w = serde_json::json!(0.5);
    let e = serde_json::from_value::<Mlp>(v).unwrap_err().to_string();
    assert!(e.contains("inactive weight at row"), "{e}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["layers"][1] = v["layers"][0].clone();
    let e = serde_json::from_value::<Mlp>(v).unwrap_err().to_string();
    assert!(e.contains("Mlp::from_layers"), "{e}");
}

#[test]
fn lr_times_weight_decay_of_one_or_more_is_refused() {
    let mlp = random_masked(&[4, 3, 2], 1.0, &mut rng(1));
    for (lr, wd, ok) in [(0.5f32, 1.9f32, true), (0.5, 2.0, false), (1.0, 3.0, false)] {
        let cfg = OptimizerConfig::Sgd {
            lr,
            momentum: 0.0,
            weight_decay: wd,
        };
        let r = Trainer::new(mlp.clone(), cfg, KernelPolicy::Dense);
        assert_eq!(r.is_ok(), ok, "lr {lr}, weight decay {wd}");
        if !ok {
            assert!(r.err().unwrap().to_string().contains("lr · weight_decay"));
        }
    }
}
