//! Channel expansion on networks with a backbone: the non-zero budget is exact, children's
//! kernel supports are disjoint parts of their parent's, each child copies its parent's column
//! group in the consumer, and bad requests are refused in words.

use fpe::{BiasPolicy, ExpansionConfig, OptimizerStatePolicy, StrategyKind, expand_channels};
use fpe_model::{BackboneConfig, Mlp, MlpConfig, Stage};
use ndarray::Array2;
use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};

fn network(seed: u64) -> Mlp {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cfg = BackboneConfig {
        input: [2, 8, 8],
        stages: [
            "conv 4 3x3 pad 1",
            "relu",
            "maxpool2",
            "conv 6 3x3 pad 1",
            "relu",
            "maxpool2",
            "flatten",
            "linear 8",
            "relu",
        ]
        .iter()
        .map(|s| s.parse::<Stage>().unwrap())
        .collect(),
    };
    let bb = cfg.init(&mut rng).unwrap();
    MlpConfig {
        d_in: 8,
        hidden: vec![3],
        d_out: 2,
    }
    .init(&mut rng)
    .unwrap()
    .with_backbone(bb)
    .unwrap()
}

fn cfg(alpha: usize, strategy: StrategyKind) -> ExpansionConfig {
    ExpansionConfig {
        alpha,
        strategy,
        ..Default::default()
    }
}

/// Checks the invariants of expanding backbone layer `layer` of `before` into `after`, whose
/// consumer reads `group` columns per channel.
fn check(before: &Mlp, after: &Mlp, layer: usize, alpha: usize, group: usize) {
    assert_eq!(after.nnz(), before.nnz(), "the non-zero budget is exact");
    let (pb, pa) = (
        &before.backbone().unwrap().layers()[layer],
        &after.backbone().unwrap().layers()[layer],
    );
    assert_eq!(pa.d_out(), pb.d_out() * alpha);
    for parent in 0..pb.d_out() {
        let mut union = vec![false; pb.d_in()];
        for k in 0..alpha {
            let child = parent * alpha + k;
            for (j, &on) in pa.mask().row(child).iter().enumerate() {
                if on {
                    assert!(!union[j], "parent {parent}: input {j} in two children");
                    assert!(
                        pb.mask()[[parent, j]],
                        "child {child} reads outside its parent"
                    );
                    assert_eq!(pa.weight()[[child, j]], pb.weight()[[parent, j]]);
                    union[j] = true;
                }
            }
            assert_eq!(pa.bias()[child], pb.bias()[parent], "bias copied");
        }
    }
    let bb_b = before.backbone().unwrap();
    let bb_a = after.backbone().unwrap();
    let (cb, ca) = match (bb_b.layers().get(layer + 1), bb_a.layers().get(layer + 1)) {
        (Some(b), Some(a)) => (b, a),
        _ => (&before.layers()[0], &after.layers()[0]),
    };
    assert_eq!(ca.d_in(), cb.d_in() * alpha);
    for o in 0..cb.d_out() {
        for col in 0..ca.d_in() {
            let (child, j) = (col / group, col % group);
            let parent_col = (child / alpha) * group + j;
            if ca.mask()[[o, col]] {
                assert!(cb.mask()[[o, parent_col]]);
                assert_eq!(
                    ca.weight()[[o, col]],
                    cb.weight()[[o, parent_col]],
                    "copied"
                );
            }
        }
    }
    after.check_masks().unwrap();
    let x = Array2::from_shape_fn((3, 128), |(i, j)| ((i * 7 + j) % 5) as f32 / 5.0);
    assert_eq!(
        after.forward(x.view()).dim(),
        (3, 2),
        "the wider network runs"
    );
}

#[test]
fn conv_channels_expand_at_the_same_budget_with_disjoint_children() {
    for (alpha, strategy) in [
        (2, StrategyKind::Random),
        (3, StrategyKind::Random),
        (2, StrategyKind::Feature),
        (2, StrategyKind::Contiguous),
    ] {
        let before = network(1);
        let (after, report) = expand_channels(
            &before,
            0,
            &cfg(alpha, strategy),
            &mut ChaCha8Rng::seed_from_u64(2),
        )
        .unwrap();
        // The consumer is the second convolution: 3×3 kernel entries per input channel.
        check(&before, &after, 0, alpha, 9);
        assert_eq!(report.widths_after, vec![4 * alpha]);
        let stage = &after.backbone().unwrap().config().stages[0];
        assert_eq!(stage.to_string(), format!("conv {} 3x3 pad 1", 4 * alpha));
    }
}

#[test]
fn contiguous_children_take_whole_input_channels() {
    let before = network(3);
    let (after, _) = expand_channels(
        &before,
        0,
        &cfg(2, StrategyKind::Contiguous),
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    let p = &after.backbone().unwrap().layers()[0];
    let mask = p.mask();
    for child in 0..p.d_out() {
        let row = mask.row(child);
        let channels: Vec<bool> = (0..2).map(|c| (0..9).any(|j| row[c * 9 + j])).collect();
        assert_eq!(
            channels.iter().filter(|&&c| c).count(),
            1,
            "child {child} reads one input channel"
        );
    }
}

#[test]
fn the_last_convolution_copies_flattened_column_groups_and_a_linear_stage_feeds_the_head() {
    let before = network(4);
    // Second convolution: its consumer is the linear stage reading 6 channels × 2 × 2 pixels.
    let (after, _) = expand_channels(
        &before,
        1,
        &cfg(2, StrategyKind::Random),
        &mut ChaCha8Rng::seed_from_u64(5),
    )
    .unwrap();
    check(&before, &after, 1, 2, 4);
    // The linear stage: its consumer is head layer 0.
    let (after, _) = expand_channels(
        &before,
        2,
        &ExpansionConfig {
            bias: BiasPolicy::Copy,
            ..cfg(4, StrategyKind::Random)
        },
        &mut ChaCha8Rng::seed_from_u64(6),
    )
    .unwrap();
    check(&before, &after, 2, 4, 1);
    assert_eq!(after.widths()[0], 32);
}

#[test]
fn impossible_channel_expansions_are_refused_in_words() {
    let net = network(0);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let plain = MlpConfig {
        d_in: 4,
        hidden: vec![2],
        d_out: 1,
    }
    .init(&mut rng)
    .unwrap();
    let random = cfg(2, StrategyKind::Random);
    for (mlp, layer, c, needle) in [
        (&plain, 0, random.clone(), "needs a network with a backbone"),
        (&net, 3, random.clone(), "3 convolution or linear layer(s)"),
        (&net, 0, cfg(2, StrategyKind::Clause), "clause strategies"),
        (
            &net,
            0,
            ExpansionConfig {
                optimizer_state: OptimizerStatePolicy::Carry,
                ..random.clone()
            },
            "fresh optimiser state",
        ),
        // The first convolution reads 2 channels × 3 × 3 = 18 kernel entries.
        (&net, 0, cfg(19, StrategyKind::Random), "19"),
    ] {
        let e = expand_channels(mlp, layer, &c, &mut rng)
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    }
}
