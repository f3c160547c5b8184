//! The `random` strategy's collision rate matches the balanced (hypergeometric) closed form, and
//! approaches α^−(2k−1) as the fan-in grows; `clause` never collides when a parent holds at most
//! α clauses.

use fpe::{ExpansionConfig, StrategyKind, plan};
use fpe_metrics::{collision_prob_balanced, collision_prob_independent};
use fpe_model::MlpConfig;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// Fraction of parents in which two literal-disjoint k-literal clauses (inputs 0..k, k..2k) land
/// in one child, over `trials` parents with `d` active inputs each.
fn measured(
    strategy: StrategyKind,
    d: usize,
    alpha: usize,
    k: usize,
    trials: usize,
    seed: u64,
) -> f64 {
    let parents = 2000;
    let mlp = MlpConfig {
        d_in: d,
        hidden: vec![parents],
        d_out: 1,
    }
    .init(&mut ChaCha8Rng::seed_from_u64(seed))
    .unwrap();
    let clauses = vec![(0..k).collect::<Vec<_>>(), (k..2 * k).collect()];
    let cfg = ExpansionConfig {
        alpha,
        strategy,
        ..Default::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
    let (mut hits, mut n) = (0usize, 0usize);
    while n < trials {
        let p = plan(&mlp, &cfg, Some(&clauses), &mut rng).unwrap();
        for groups in p.layers[0].splits.iter().take(trials - n) {
            n += 1;
            hits += usize::from(groups.iter().any(|g| (0..2 * k).all(|j| g.contains(&j))));
        }
    }
    hits as f64 / n as f64
}

#[test]
fn random_split_matches_the_hypergeometric_form_within_three_standard_errors() {
    let trials = 20_000;
    for k in [2usize, 3, 4] {
        for alpha in [2usize, 4, 8] {
            let p = collision_prob_balanced(64, alpha, k).unwrap();
            let m = measured(
                StrategyKind::Random,
                64,
                alpha,
                k,
                trials,
                (k * 10 + alpha) as u64,
            );
            // Floor the standard error at one event in `trials` for the rarest cases (p ≈ 1e-7).
            let se = (p * (1.0 - p) / trials as f64)
                .sqrt()
                .max(1.0 / trials as f64);
            assert!(
                (m - p).abs() <= 3.0 * se,
                "k={k} α={alpha}: measured {m}, balanced theory {p} (se {se})"
            );
        }
    }
}

#[test]
fn balanced_form_approaches_the_independent_form_as_fan_in_grows() {
    for k in [2usize, 3] {
        for alpha in [2usize, 4] {
            let ind = collision_prob_independent(alpha, k).unwrap();
            let gaps: Vec<f64> = [16usize, 64, 256, 4096, 65536]
                .iter()
                .map(|&d| (collision_prob_balanced(d, alpha, k).unwrap() - ind).abs() / ind)
                .collect();
            assert!(
                gaps.windows(2).all(|w| w[1] < w[0]),
                "k={k} α={alpha}: gaps {gaps:?}"
            );
            assert!(gaps[4] < 0.01, "k={k} α={alpha}: {gaps:?}");
        }
    }
    // Measured: with a large fan-in the random split's rate is near α^−(2k−1).
    let m = measured(StrategyKind::Random, 1024, 2, 2, 20_000, 7);
    let ind = collision_prob_independent(2, 2).unwrap();
    assert!(
        (m - ind).abs() < 4.0 * (ind * (1.0 - ind) / 20_000.0).sqrt(),
        "measured {m} vs {ind}"
    );
}

#[test]
fn clause_split_never_collides_with_at_most_alpha_clauses() {
    for (k, alpha) in [(2usize, 2usize), (3, 4), (4, 8)] {
        assert_eq!(measured(StrategyKind::Clause, 64, alpha, k, 4000, 3), 0.0);
    }
}
