//! One training step (forward + backward + Adam) at batch 256, dense kernels.
//!
//! `RAYON_NUM_THREADS=1 cargo bench -p fpe-benches --bench train_step` for one core.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fpe_model::{
    Grads, KernelPolicy, MlpConfig, Optimizer, OptimizerConfig, TargetsRef, Workspace,
};
use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    for (name, widths) in [
        ("boolean_64_256_16", vec![64usize, 256, 16]),
        ("embed_256_32_10", vec![256, 32, 10]),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let cfg = MlpConfig {
            d_in: widths[0],
            hidden: vec![widths[1]],
            d_out: widths[2],
        };
        let mut mlp = cfg.init(&mut rng).unwrap();
        let x = Array2::from_shape_simple_fn((256, widths[0]), || rng.random_range(0.0f32..1.0));
        let y = Array2::from_shape_simple_fn((256, widths[2]), || {
            f32::from(u8::from(rng.random_bool(0.5)))
        });
        let mut ws = Workspace::new(&mlp, KernelPolicy::Dense);
        let mut g = Grads::zeros_like(&mlp);
        let mut opt = Optimizer::new(OptimizerConfig::default(), &mlp).unwrap();
        group.throughput(Throughput::Elements(256));
        group.bench_function(BenchmarkId::new("dense", name), |b| {
            b.iter(|| {
                ws.loss_grad(&mlp, x.view(), TargetsRef::Binary(y.view()), &mut g);
                opt.step(&mut mlp, &g);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, step);
criterion_main!(benches);
