//! The same seed gives bit-identical weights on 1, 2 and 4 threads, with the batch really split
//! across the threads (the network is large enough for the parallel path), for dense and for
//! gathered kernels.
//!
//! What is guaranteed: bit-identical results for any thread count on one machine. Across
//! machines, the gathered kernels are bit-identical too (their portable and AVX2 code sum in the
//! same order); the dense kernel uses `matrixmultiply`, which picks its SIMD kernel (e.g. FMA or
//! not) at run time, so on another CPU dense products agree to float rounding, not bit for bit.

mod common;

use common::*;
use fpe_model::{KernelPolicy, Mlp, NoHooks, OptimizerConfig, TargetsRef, Trainer, Workspace};

fn train_on(threads: usize, policy: KernelPolicy, density: f64) -> Mlp {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut r = rng(7);
        let mlp = random_masked(&[64, 256, 16], density, &mut r);
        let x = random_x(768, 64, &mut r);
        let y = random_classes(768, 16, &mut r);
        // The parallel path is taken for every thread count above one.
        let ws = Workspace::new(&mlp, policy);
        assert_eq!(
            ws.runs_parallel(256),
            threads > 1,
            "{threads} threads, {policy:?}"
        );
        let mut t = Trainer::new(mlp, OptimizerConfig::default(), policy).unwrap();
        t.fit(
            x.view(),
            TargetsRef::Classes(y.view()),
            2,
            256,
            &mut r,
            &mut NoHooks,
        )
        .unwrap();
        t.into_parts().0
    })
}

fn same_bits(a: &Mlp, b: &Mlp) -> bool {
    a.layers().iter().zip(b.layers()).all(|(x, y)| {
        x.weight()
            .iter()
            .zip(y.weight().iter())
            .all(|(p, q)| p.to_bits() == q.to_bits())
            && x.bias()
                .iter()
                .zip(y.bias().iter())
                .all(|(p, q)| p.to_bits() == q.to_bits())
    })
}

#[test]
fn one_two_and_four_threads_agree_bit_for_bit_on_the_parallel_path() {
    for (policy, density) in [(KernelPolicy::Dense, 1.0), (KernelPolicy::Gathered, 0.5)] {
        let one = train_on(1, policy, density);
        for threads in [2, 4] {
            let other = train_on(threads, policy, density);
            assert!(
                same_bits(&one, &other),
                "{policy:?}: {threads} threads differ from 1 thread"
            );
        }
    }
}
