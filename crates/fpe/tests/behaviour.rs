//! Exact behaviour of the expansion steps, errors, controls and dynamic sparsity.

use fpe::{
    BiasPolicy, DynamicConfig, DynamicMethod, DynamicSparsity, ExpansionConfig,
    OptimizerStatePolicy, OutgoingPolicy, PrunePolicy, StrategyKind, apply, expand, plan,
    wide_dense, wide_sparse_scratch,
};
use fpe_model::{
    KernelPolicy, Mlp, MlpConfig, NoHooks, Optimizer, OptimizerConfig, TargetsRef, Trainer,
};
use ndarray::{Array1, Array2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn dense(d: usize, h: usize, c: usize, seed: u64) -> Mlp {
    MlpConfig {
        d_in: d,
        hidden: vec![h],
        d_out: c,
    }
    .init(&mut rng(seed))
    .unwrap()
}

fn data(n: usize, d: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut r = rng(seed);
    let x = Array2::from_shape_simple_fn((n, d), || f32::from(u8::from(r.random_bool(0.5))));
    let y = Array2::from_shape_fn((n, 1), |(i, _)| {
        f32::from(u8::from(x[[i, 0]] == 1.0 && x[[i, 1]] == 0.0))
    });
    (x, y)
}

#[test]
fn children_copy_parent_rows_and_columns_and_biases() {
    let mlp = dense(12, 3, 2, 0);
    for (bias, outgoing) in [
        (BiasPolicy::Copy, OutgoingPolicy::Copy),
        (BiasPolicy::Split, OutgoingPolicy::Scale),
    ] {
        let cfg = ExpansionConfig {
            alpha: 3,
            prune: PrunePolicy::OutOnly,
            bias,
            outgoing,
            ..Default::default()
        };
        let p = plan(&mlp, &cfg, None, &mut rng(1)).unwrap();
        let out = apply(&p, &mlp, None).unwrap().mlp;
        let (w0, w1) = (mlp.layers()[0].weight(), mlp.layers()[1].weight());
        let (n0, n1) = (out.layers()[0].weight(), out.layers()[1].weight());
        let (bf, of) = match bias {
            BiasPolicy::Copy => (1.0, 1.0),
            BiasPolicy::Split => (1.0 / 3.0, 1.0 / 3.0),
        };
        for i in 0..3 {
            for j in 0..3 {
                let child = i * 3 + j;
                for k in 0..12 {
                    let expected = if p.layers[0].splits[i][j].contains(&k) {
                        w0[[i, k]]
                    } else {
                        0.0
                    };
                    assert_eq!(n0[[child, k]], expected);
                }
                assert_eq!(
                    out.layers()[0].bias()[child],
                    mlp.layers()[0].bias()[i] * bf
                );
                for r in 0..2 {
                    // out_only pruning removed some copies; surviving ones equal the parent's.
                    if out.layers()[1].mask()[[r, child]] {
                        assert_eq!(n1[[r, child]], w1[[r, i]] * of);
                    }
                }
            }
        }
        assert_eq!(out.nnz(), mlp.nnz());
    }
}

#[test]
fn global_pruning_removes_the_smallest_magnitudes_with_index_tie_breaks() {
    let mlp = dense(8, 4, 1, 3);
    let cfg = ExpansionConfig {
        alpha: 2,
        ..Default::default()
    };
    let a = expand(&mlp, &cfg, None, None, &mut rng(4)).unwrap();
    let b = expand(&mlp, &cfg, None, None, &mut rng(4)).unwrap();
    assert_eq!(a.mlp, b.mlp);
    // Every surviving weight is at least as large as every pruned one.
    let out = &a.mlp;
    let p = plan(&mlp, &cfg, None, &mut rng(4)).unwrap();
    let mut unpruned_in = Array2::<f32>::zeros((8, 8));
    for (i, g) in p.layers[0].splits.iter().enumerate() {
        for (j, grp) in g.iter().enumerate() {
            for &k in grp {
                unpruned_in[[i * 2 + j, k]] = mlp.layers()[0].weight()[[i, k]];
            }
        }
    }
    let min_kept = out.layers()[0]
        .weight()
        .iter()
        .chain(out.layers()[1].weight().iter())
        .filter(|w| **w != 0.0)
        .map(|w| w.abs())
        .fold(f32::INFINITY, f32::min);
    let pruned_in_max = unpruned_in
        .iter()
        .zip(out.layers()[0].mask())
        .filter(|(w, on)| !**on && **w != 0.0)
        .map(|(w, _)| w.abs())
        .fold(0.0f32, f32::max);
    assert!(
        pruned_in_max <= min_kept,
        "pruned {pruned_in_max} > kept {min_kept}"
    );
    assert_eq!(a.report.pruned_per_layer.iter().sum::<usize>(), 4); // (α−1)·nnz(W_out) = 1·4
}

#[test]
fn impossible_requests_are_clear_errors() {
    let mlp = dense(6, 4, 2, 0);
    let err = |cfg: ExpansionConfig| {
        expand(&mlp, &cfg, None, None, &mut rng(0))
            .unwrap_err()
            .to_string()
    };
    assert!(
        err(ExpansionConfig {
            alpha: 1,
            ..Default::default()
        })
        .contains("`alpha` = 1")
    );
    let e = err(ExpansionConfig {
        alpha: 7,
        ..Default::default()
    });
    assert!(
        e.contains("layer 0")
            && e.contains("neuron 0")
            && e.contains("fan-in 6")
            && e.contains("alpha = 7"),
        "{e}"
    );
    let e = err(ExpansionConfig {
        alpha: 3,
        strategy: StrategyKind::Nm,
        nm_m: 4,
        ..Default::default()
    });
    assert!(e.contains("nm_m") && e.contains('4'), "{e}");
    let e = err(ExpansionConfig {
        layers: vec![1],
        ..Default::default()
    });
    assert!(e.contains("output layer"), "{e}");
    let e = err(ExpansionConfig {
        layers: vec![5],
        ..Default::default()
    });
    assert!(e.contains("out of range"), "{e}");
    let e = err(ExpansionConfig {
        strategy: StrategyKind::Clause,
        ..Default::default()
    });
    assert!(e.contains("clause structure"), "{e}");
}

#[test]
fn clause_strategy_keeps_clauses_whole_and_apart_when_a_parent_has_at_most_alpha_clauses() {
    let mlp = dense(16, 5, 1, 2);
    let clauses = vec![vec![0, 5, 9], vec![2, 3, 14], vec![7, 11, 12]];
    for (strategy, alpha) in [
        (StrategyKind::Clause, 3),
        (StrategyKind::Clause, 4),
        (StrategyKind::ClauseByWeight, 3),
    ] {
        let cfg = ExpansionConfig {
            alpha,
            strategy,
            ..Default::default()
        };
        let p = plan(&mlp, &cfg, Some(&clauses), &mut rng(5)).unwrap();
        for groups in &p.layers[0].splits {
            let owner = |k: usize| groups.iter().position(|g| g.contains(&k)).unwrap();
            let homes: Vec<usize> = clauses
                .iter()
                .map(|c| {
                    let h = owner(c[0]);
                    assert!(
                        c.iter().all(|&k| owner(k) == h),
                        "clause split across children"
                    );
                    h
                })
                .collect();
            let mut distinct = homes.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(
                distinct.len(),
                clauses.len(),
                "two clauses share a child: zero collisions expected"
            );
        }
    }
}

#[test]
fn nm_children_are_n_of_m() {
    let mlp = dense(16, 3, 1, 6);
    let cfg = ExpansionConfig {
        alpha: 2,
        strategy: StrategyKind::Nm,
        nm_m: 4,
        ..Default::default()
    };
    let p = plan(&mlp, &cfg, None, &mut rng(6)).unwrap();
    for groups in &p.layers[0].splits {
        for g in groups {
            for block in 0..4 {
                assert_eq!(
                    g.iter().filter(|&&k| k / 4 == block).count(),
                    2,
                    "child is not 2:4"
                );
            }
        }
    }
}

#[test]
fn expansion_mid_training_then_training_continues_with_carried_state() {
    let (x, y) = data(512, 16, 7);
    let mut t = Trainer::new(
        dense(16, 8, 1, 7),
        OptimizerConfig::default(),
        KernelPolicy::Dense,
    )
    .unwrap();
    let mut r = rng(8);
    t.fit(
        x.view(),
        TargetsRef::Binary(y.view()),
        5,
        64,
        &mut r,
        &mut NoHooks,
    )
    .unwrap();
    for policy in [OptimizerStatePolicy::Reset, OptimizerStatePolicy::Carry] {
        let cfg = ExpansionConfig {
            alpha: 4,
            optimizer_state: policy,
            ..Default::default()
        };
        let out = expand(t.mlp(), &cfg, None, Some(t.optimizer()), &mut rng(9)).unwrap();
        assert_eq!(
            out.optimizer.is_some(),
            policy == OptimizerStatePolicy::Carry
        );
        let opt = match out.optimizer {
            Some(carried) => {
                assert_eq!(carried.config(), t.optimizer().config());
                carried
            }
            None => Optimizer::new(OptimizerConfig::default(), &out.mlp).unwrap(),
        };
        let mut t2 =
            Trainer::from_parts(out.mlp, opt, t.epoch(), t.step(), KernelPolicy::Dense).unwrap();
        let reports = t2
            .fit(
                x.view(),
                TargetsRef::Binary(y.view()),
                5,
                64,
                &mut r,
                &mut NoHooks,
            )
            .unwrap();
        assert!(reports.iter().all(|r| r.train_loss.is_finite()));
        assert_eq!(t2.mlp().nnz(), t.mlp().nnz());
        t2.mlp().check_masks().unwrap();
    }
}

#[test]
fn dynamic_sparsity_keeps_nnz_constant_over_1000_steps() {
    let (x, y) = data(256, 16, 10);
    for (method, keep_disjoint) in [
        (DynamicMethod::Set, false),
        (DynamicMethod::Rigl, false),
        (DynamicMethod::Set, true),
        (DynamicMethod::Rigl, true),
    ] {
        let base = dense(16, 4, 1, 11);
        let out = expand(
            &base,
            &ExpansionConfig {
                alpha: 4,
                ..Default::default()
            },
            None,
            None,
            &mut rng(12),
        )
        .unwrap();
        let nnz = out.mlp.nnz();
        let mut t = Trainer::new(out.mlp, OptimizerConfig::default(), KernelPolicy::Dense).unwrap();
        let cfg = DynamicConfig {
            method,
            every: 10,
            zeta: 0.3,
            layers: vec![0, 1],
            keep_disjoint,
            alpha: 4,
        };
        let mut hook = DynamicSparsity::new(cfg, rng(13));
        // 256 samples / batch 16 = 16 steps per epoch; 63 epochs ≈ 1000 steps.
        t.fit(
            x.view(),
            TargetsRef::Binary(y.view()),
            63,
            16,
            &mut rng(14),
            &mut hook,
        )
        .unwrap();
        assert!(t.step() >= 1000);
        assert_eq!(t.mlp().nnz(), nnz, "{method:?}");
        t.mlp().check_masks().unwrap();
        assert!(
            hook.moved.iter().map(|m| m.1).sum::<usize>() > 0,
            "no weight ever moved"
        );
        if keep_disjoint {
            let m = t.mlp().layers()[0].mask();
            for p in 0..4 {
                for k in 0..16 {
                    let users = (0..4).filter(|&j| m[[p * 4 + j, k]]).count();
                    assert!(users <= 1, "siblings share input {k}");
                }
            }
        }
    }
}

#[test]
fn baselines_have_the_documented_widths_and_nnz() {
    let cfg = MlpConfig {
        d_in: 64,
        hidden: vec![8],
        d_out: 1,
    };
    let wd = wide_dense(&cfg, 4, &mut rng(0)).unwrap();
    assert_eq!(wd.hidden_widths(), vec![32]);
    assert_eq!(wd.nnz(), 64 * 32 + 32);
    let ws = wide_sparse_scratch(&cfg, 4, &mut rng(0)).unwrap();
    assert_eq!(ws.hidden_widths(), vec![32]);
    assert_eq!(ws.nnz(), 64 * 8 + 8);
    assert!(ws.layers()[0].fan_in().iter().all(|&f| f == 16));
    ws.check_masks().unwrap();
}

#[test]
fn dropconnect_trains_and_leaves_weights_whole() {
    let (x, y) = data(256, 16, 15);
    let mut t = Trainer::new(
        dense(16, 8, 1, 15),
        OptimizerConfig::default(),
        KernelPolicy::Dense,
    )
    .unwrap();
    let mut hook = fpe::DropConnect::new(0, 0.5, rng(16));
    t.fit(
        x.view(),
        TargetsRef::Binary(y.view()),
        3,
        32,
        &mut rng(17),
        &mut hook,
    )
    .unwrap();
    // After training the layer is dense again (no weight left at a dropped zero).
    assert!(t.mlp().layers()[0].weight().iter().all(|&w| w != 0.0));
    let _ = Array1::<f32>::zeros(1);
}

#[test]
fn an_out_of_range_layer_names_the_valid_indices() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mlp = fpe_model::MlpConfig {
        d_in: 6,
        hidden: vec![4],
        d_out: 2,
    }
    .init(&mut rng)
    .unwrap();
    let cfg = fpe::ExpansionConfig {
        layers: vec![5],
        ..Default::default()
    };
    let e = fpe::expand(&mlp, &cfg, None, None, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("valid indices: only 0"), "{e}");
    assert!(!e.contains("0..1"), "{e}");
}
