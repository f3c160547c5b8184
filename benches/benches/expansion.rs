//! Expansion itself (plan + apply + budget prune) of a dense 64→256→16 model, the `fpe bench`
//! Boolean base, for each splitting strategy at α = 4 and for the `random` strategy at
//! α ∈ {2, 4, 8, 16}. Expansion runs once per run, so it only has to stay small next to training
//! (one epoch of 20,000 samples is ~80 training steps, tens of milliseconds).
//!
//! `RAYON_NUM_THREADS=1 cargo bench -p fpe-benches --bench expansion`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fpe::{ExpansionConfig, StrategyKind};
use fpe_model::{Mlp, MlpConfig};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// A dense model and a read-once clause structure over its 64 inputs (16 clauses of 4).
fn base() -> (Mlp, Vec<Vec<usize>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mlp = MlpConfig {
        d_in: 64,
        hidden: vec![256],
        d_out: 16,
    }
    .init(&mut rng)
    .expect("benchmark model");
    let clauses = (0..16).map(|c| (4 * c..4 * c + 4).collect()).collect();
    (mlp, clauses)
}

fn expand(c: &mut Criterion) {
    let (mlp, clauses) = base();
    let mut group = c.benchmark_group("expand_64_256_16");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let strategies = [
        ("random", StrategyKind::Random),
        ("clause", StrategyKind::Clause),
        ("clause_by_weight", StrategyKind::ClauseByWeight),
        ("feature", StrategyKind::Feature),
        ("contiguous", StrategyKind::Contiguous),
        ("nm", StrategyKind::Nm),
        ("overlap", StrategyKind::Overlap),
    ];
    let runs = strategies
        .iter()
        .map(|&(name, s)| (name, s, 4))
        .chain([2, 8, 16].map(|a| ("random", StrategyKind::Random, a)));
    for (name, strategy, alpha) in runs {
        let cfg = ExpansionConfig {
            alpha,
            strategy,
            ..Default::default()
        };
        group.bench_function(BenchmarkId::new(name, format!("a{alpha}")), |b| {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            b.iter(|| fpe::expand(&mlp, &cfg, Some(&clauses), None, &mut rng).expect("expansion"))
        });
    }
    group.finish();
}

criterion_group!(benches, expand);
criterion_main!(benches);
