//! Sanity check that training works end to end (not a paper number): a 1-hidden-layer MLP of
//! width 32 learns an 8-clause Boolean task to ≥ 95 % training accuracy.

use fpe_datasets::{BooleanCodeConfig, Stream, rng_for};
use fpe_model::{KernelPolicy, MlpConfig, NoHooks, OptimizerConfig, TargetsRef, Trainer, evaluate};

#[test]
fn width_32_learns_an_8_clause_task() {
    let data = BooleanCodeConfig {
        train_size: 4096,
        test_size: 1024,
        ..Default::default()
    }
    .generate(0)
    .unwrap();
    let y = data.train.y.binary().unwrap();
    let mlp = MlpConfig {
        d_in: 64,
        hidden: vec![32],
        d_out: 1,
    }
    .init(&mut rng_for(0, Stream::Init))
    .unwrap();
    let opt = OptimizerConfig::Adam {
        lr: 3e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let mut t = Trainer::new(mlp, opt, KernelPolicy::Dense).unwrap();
    let mut rng = rng_for(0, Stream::Batches);
    t.fit(
        data.train.x.view(),
        TargetsRef::Binary(y),
        60,
        256,
        &mut rng,
        &mut NoHooks,
    )
    .unwrap();
    let (_, train) = evaluate(t.mlp(), data.train.x.view(), TargetsRef::Binary(y));
    let (_, test) = evaluate(
        t.mlp(),
        data.test.x.view(),
        TargetsRef::Binary(data.test.y.binary().unwrap()),
    );
    eprintln!(
        "train accuracy {:.4}, test accuracy {:.4}",
        train.accuracy, test.accuracy
    );
    assert!(train.accuracy >= 0.95, "train accuracy {}", train.accuracy);
}
