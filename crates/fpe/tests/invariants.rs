//! Property tests of the method's invariants, for every strategy.

use fpe::{ExpansionConfig, PrunePolicy, StrategyKind, apply, plan};

use fpe_model::{Layer, Mlp, MlpConfig};
use ndarray::Array2;
use proptest::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// A network with random masks whose rows all have at least `min_fan_in` active inputs, and
/// random disjoint clauses over its inputs.
fn fixture(
    seed: u64,
    d: usize,
    hidden: &[usize],
    c: usize,
    density: f64,
    min_fan_in: usize,
) -> (Mlp, Vec<Vec<usize>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dense = MlpConfig {
        d_in: d,
        hidden: hidden.to_vec(),
        d_out: c,
    }
    .init(&mut rng)
    .unwrap();
    let layers = dense
        .layers()
        .iter()
        .map(|l| {
            let mut mask =
                Array2::from_shape_simple_fn(l.weight().dim(), || rng.random_bool(density));
            for mut row in mask.rows_mut() {
                let n = row.len();
                let mut k = 0;
                while row.iter().filter(|&&m| m).count() < min_fan_in.min(n) {
                    row[k] = true;
                    k += 1;
                }
            }
            Layer::new(l.weight().to_owned(), l.bias().to_owned(), mask).unwrap()
        })
        .collect();
    let mut vars: Vec<usize> = (0..d).collect();
    use rand::seq::SliceRandom;
    vars.shuffle(&mut rng);
    let k = 2;
    let clauses = vars
        .chunks_exact(k)
        .take(d / 4)
        .map(<[usize]>::to_vec)
        .collect();
    (Mlp::from_layers(layers).unwrap(), clauses)
}

fn check_plan_partitions(
    mlp: &Mlp,
    p: &fpe::ExpansionPlan,
    strategy: StrategyKind,
) -> Result<(), TestCaseError> {
    let a = p.config.alpha;
    for lp in &p.layers {
        // Before pruning, a layer after an expanded one reads α copies of each column.
        let orig = mlp.layers()[lp.layer].mask();
        let copied = p.layers.iter().any(|q| q.layer + 1 == lp.layer);
        let f = if copied { a } else { 1 };
        let mask =
            Array2::from_shape_fn((orig.nrows(), orig.ncols() * f), |(r, c)| orig[[r, c / f]]);
        for (i, groups) in lp.splits.iter().enumerate() {
            let support: Vec<usize> = (0..mask.ncols()).filter(|&k| mask[[i, k]]).collect();
            prop_assert_eq!(groups.len(), a);
            let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
            all.sort_unstable();
            if strategy.disjoint() {
                // Disjoint and covering: the sorted concatenation is exactly the support.
                prop_assert_eq!(&all, &support, "parent {} of layer {}", i, lp.layer);
            } else {
                let n = support.len();
                for (j, g) in groups.iter().enumerate() {
                    prop_assert_eq!(g.len(), n / a + usize::from(j < n % a));
                    prop_assert!(g.iter().all(|k| support.contains(k)));
                }
            }
            prop_assert!(groups.iter().all(|g| !g.is_empty()));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn every_strategy_partitions_prunes_to_budget_and_is_seeded(
        seed in any::<u64>(),
        d in 8usize..40,
        h1 in 1usize..8,
        h2 in 1usize..6,
        c in 1usize..4,
        deep in any::<bool>(),
        alpha in 2usize..5,
        density in 0.5f64..1.0,
        strategy_idx in 0usize..7,
        out_only in any::<bool>(),
    ) {
        let strategy = StrategyKind::ALL[strategy_idx];
        let hidden = if deep { vec![h1, h2] } else { vec![h1] };
        // Deep: the second layer's rows read α·h1 expanded columns, so fan-in ≥ α needs h1 ≥ … ;
        // we require min fan-in α in every layer of the original.
        let (mlp, clauses) = fixture(seed, d, &hidden, c, density, alpha.max(4));
        let layers = if deep && strategy != StrategyKind::Clause && strategy != StrategyKind::ClauseByWeight { vec![0, 1] } else { vec![0] };
        let cfg = ExpansionConfig {
            alpha,
            layers,
            strategy,
            nm_m: alpha * 2,
            prune: if out_only { PrunePolicy::OutOnly } else { PrunePolicy::Global },
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 1);
        let p = match plan(&mlp, &cfg, Some(&clauses), &mut rng) {
            Ok(p) => p,
            Err(fpe::Error::FanInTooSmall { fan_in, alpha: a, .. }) => {
                prop_assert!(fan_in < a);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        // Same seed, same plan; the plan round-trips through JSON.
        let mut rng2 = ChaCha8Rng::seed_from_u64(seed ^ 1);
        prop_assert_eq!(&plan(&mlp, &cfg, Some(&clauses), &mut rng2).unwrap(), &p);
        prop_assert_eq!(&fpe::ExpansionPlan::from_json(&p.to_json()).unwrap(), &p);

        check_plan_partitions(&mlp, &p, strategy)?;

        let out = apply(&p, &mlp, None).unwrap();
        prop_assert_eq!(out.mlp.nnz(), mlp.nnz(), "nnz must equal the budget exactly");
        prop_assert_eq!(out.report.nnz_after, out.report.budget);
        out.mlp.check_masks().unwrap();
        for &l in &cfg.layers {
            prop_assert_eq!(out.mlp.widths()[l + 1], mlp.widths()[l + 1] * alpha);
        }
        if out_only {
            // Incoming weights of the first expanded layer are untouched by pruning.
            let pruned_in = out.report.pruned_per_layer[cfg.layers[0]];
            prop_assert!(cfg.layers.len() > 1 || pruned_in == 0);
        }
    }
}
