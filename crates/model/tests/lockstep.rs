//! [`fit_lockstep`] gives every model exactly what its own [`Trainer::fit`] with a clone of the
//! RNG gives: weights, optimiser state, reports and counters, bit for bit, for dense and
//! gathered kernels, both losses, a ragged last batch, and a model that fails on the way.

mod common;

use common::*;
use fpe_model::{
    EpochLoss, KernelPolicy, Mlp, NoHooks, OptimizerConfig, TargetsRef, Trainer, fit_lockstep,
};
use rand::RngCore;

fn trainers(binary: bool) -> Vec<Trainer> {
    let mut r = rng(11);
    let d_out = if binary { 3 } else { 4 };
    let models: Vec<(Mlp, KernelPolicy)> = vec![
        (
            random_masked(&[20, 8, d_out], 1.0, &mut r),
            KernelPolicy::Dense,
        ),
        (
            random_masked(&[20, 16, d_out], 0.5, &mut r),
            KernelPolicy::Auto,
        ),
        (
            random_masked(&[20, 16, d_out], 0.5, &mut r),
            KernelPolicy::Gathered,
        ),
        (
            random_masked(&[20, 32, 7, d_out], 0.3, &mut r),
            KernelPolicy::Auto,
        ),
    ];
    models
        .into_iter()
        .enumerate()
        .map(|(i, (m, p))| {
            let mut t = Trainer::new(m, OptimizerConfig::default(), p).unwrap();
            if i % 2 == 1 {
                t.set_epoch_loss(EpochLoss::Last);
            }
            t
        })
        .collect()
}

#[test]
fn lockstep_equals_one_fit_per_model() {
    for binary in [true, false] {
        let mut r = rng(5);
        // 300 samples at batch 128: two full batches and a ragged one of 44.
        let x = random_x(300, 20, &mut r);
        let bits = random_bits(300, 3, &mut r);
        let classes = random_classes(300, 4, &mut r);
        let y = if binary {
            TargetsRef::Binary(bits.view())
        } else {
            TargetsRef::Classes(classes.view())
        };
        let batch_rng = rng(9);

        let mut alone = trainers(binary);
        let mut alone_reports = Vec::new();
        let mut after_alone = batch_rng.clone();
        for t in &mut alone {
            let mut b = batch_rng.clone();
            alone_reports.push(t.fit(x.view(), y, 3, 128, &mut b, &mut NoHooks).unwrap());
            after_alone = b;
        }

        let mut together = trainers(binary);
        let mut b = batch_rng.clone();
        let mut refs: Vec<&mut Trainer> = together.iter_mut().collect();
        let results = fit_lockstep(&mut refs, x.view(), y, 3, 128, &mut b);
        assert_eq!(
            b.next_u64(),
            after_alone.clone().next_u64(),
            "rng advanced differently"
        );

        for (i, ((a, t), (ra, rt))) in alone
            .iter()
            .zip(&together)
            .zip(alone_reports.iter().zip(results))
            .enumerate()
        {
            let rt = rt.unwrap();
            assert_eq!(a.mlp(), t.mlp(), "model {i}: weights");
            assert_eq!(a.optimizer(), t.optimizer(), "model {i}: optimiser state");
            assert_eq!(
                (a.epoch(), a.step()),
                (t.epoch(), t.step()),
                "model {i}: counters"
            );
            assert_eq!(ra.len(), rt.len());
            for (p, q) in ra.iter().zip(&rt) {
                assert_eq!(p.train_loss.to_bits(), q.train_loss.to_bits(), "model {i}");
                assert_eq!((p.epoch, p.step), (q.epoch, q.step));
            }
        }
    }
}

#[test]
fn a_failing_model_stops_alone() {
    let mut r = rng(6);
    let x = random_x(200, 20, &mut r);
    let y = random_classes(200, 4, &mut r);
    let mut good = trainers(false).remove(0);
    // A huge learning rate makes the second model's weights overflow within a few steps.
    let mut bad = Trainer::new(
        good.mlp().clone(),
        OptimizerConfig::Sgd {
            lr: 1e30,
            momentum: 0.0,
            weight_decay: 0.0,
        },
        KernelPolicy::Dense,
    )
    .unwrap();
    let mut alone = Trainer::from_parts(
        good.mlp().clone(),
        good.optimizer().clone(),
        0,
        0,
        KernelPolicy::Dense,
    )
    .unwrap();
    let mut b = rng(1);
    let want = alone.fit(
        x.view(),
        TargetsRef::Classes(y.view()),
        2,
        64,
        &mut b,
        &mut NoHooks,
    );
    let mut b = rng(1);
    let results = fit_lockstep(
        &mut [&mut good, &mut bad],
        x.view(),
        TargetsRef::Classes(y.view()),
        2,
        64,
        &mut b,
    );
    assert!(
        matches!(results[1], Err(fpe_model::Error::NonFinite { .. })),
        "{:?}",
        results[1]
    );
    assert_eq!(want.unwrap().len(), results[0].as_ref().unwrap().len());
    assert_eq!(alone.mlp(), good.mlp());
}
