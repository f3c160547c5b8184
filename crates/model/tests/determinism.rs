//! The same seed gives bit-identical weights on 1, 2 and 4 threads.

mod common;

use common::*;
use fpe_model::{KernelPolicy, Mlp, NoHooks, OptimizerConfig, TargetsRef, Trainer};

fn train_on(threads: usize) -> Mlp {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut r = rng(7);
        let mlp = random_masked(&[32, 64, 10], 0.5, &mut r);
        let x = random_x(1000, 32, &mut r);
        let y = random_classes(1000, 10, &mut r);
        let mut t = Trainer::new(mlp, OptimizerConfig::default(), KernelPolicy::Dense).unwrap();
        t.fit(
            x.view(),
            TargetsRef::Classes(y.view()),
            3,
            256,
            &mut r,
            &mut NoHooks,
        )
        .unwrap();
        t.mlp
    })
}

#[test]
fn one_two_and_four_threads_agree_bit_for_bit() {
    let one = train_on(1);
    for threads in [2, 4] {
        let other = train_on(threads);
        for (a, b) in one.layers().iter().zip(other.layers()) {
            let same = a
                .weight()
                .iter()
                .zip(b.weight().iter())
                .all(|(x, y)| x.to_bits() == y.to_bits())
                && a.bias()
                    .iter()
                    .zip(b.bias().iter())
                    .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{threads} threads differ from 1 thread");
        }
    }
}
