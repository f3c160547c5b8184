//! One training step (forward + backward + Adam) at batch 256 for the configurations of
//! `fpe bench` ([`fpe_model::fixtures::step_cases`]): Boolean 64→256→16 dense and its FPE shapes at
//! α ∈ {2, 4, 8, 16} (same nnz), embedding 256→32→10 dense and α = 4, and a 5-layer embedding
//! MLP. Expanded configurations run with the automatic kernel choice (`auto`) and, for
//! comparison, with masked dense products (`dense`).
//!
//! `RAYON_NUM_THREADS=1 cargo bench -p fpe-benches --bench train_step` for one core;
//! `-- auto/` or `-- boolean` filters.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fpe_model::fixtures::StepCase;
use fpe_model::{Grads, KernelPolicy, Optimizer, OptimizerConfig, Workspace};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

const BATCH: usize = 256;

fn bench_case(c: &mut Criterion, case: &StepCase, policy: KernelPolicy) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut mlp = case.build(&mut rng).expect("benchmark model");
    let (x, y) = case.batch(BATCH, &mut rng);
    let mut ws = Workspace::new(&mlp, policy);
    let mut g = Grads::zeros_like(&mlp);
    let mut opt = Optimizer::new(OptimizerConfig::default(), &mlp).expect("Adam");
    let mut group = c.benchmark_group("train_step");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function(BenchmarkId::new(policy.name(), &case.name), |b| {
        b.iter(|| {
            let loss = ws.loss_grad(&mlp, x.view(), y.view(), &mut g);
            opt.step(&mut mlp, &g);
            loss
        })
    });
    group.finish();
}

fn step(c: &mut Criterion) {
    for case in fpe_model::fixtures::step_cases() {
        if case.alpha == 1 {
            bench_case(c, &case, KernelPolicy::Dense);
        } else {
            bench_case(c, &case, KernelPolicy::Auto);
            bench_case(c, &case, KernelPolicy::Dense);
        }
    }
}

criterion_group!(benches, step);
criterion_main!(benches);
