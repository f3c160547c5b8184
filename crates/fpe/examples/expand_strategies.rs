//! Train a small dense model on a Boolean task generated inline, expand it with every splitting
//! strategy, and print widths, nnz and test accuracy right after the split and after a short
//! fine-tune at the same non-zero budget.
//!
//! ```text
//! cargo run -p fpe --example expand_strategies
//! ```

use fpe::{ExpansionConfig, StrategyKind, expand};
use fpe_model::{
    KernelPolicy, Mlp, MlpConfig, NoHooks, OptimizerConfig, TargetsRef, Trainer, evaluate,
};
use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// Variables per sample.
const N: usize = 32;

/// A DNF formula: 6 clauses of 3 literals `(variable, negated)` on disjoint variables.
fn formula(rng: &mut ChaCha8Rng) -> Vec<Vec<(usize, bool)>> {
    (0..6)
        .map(|c| (0..3).map(|j| (3 * c + j, rng.random_bool(0.5))).collect())
        .collect()
}

/// Raw 0/1 inputs `[n, N]` and OR-of-clauses targets `[n, 1]`.
fn sample(f: &[Vec<(usize, bool)>], n: usize, rng: &mut ChaCha8Rng) -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_simple_fn((n, N), || f32::from(u8::from(rng.random_bool(0.5))));
    let y = Array2::from_shape_fn((n, 1), |(i, _)| {
        let lit = |&(v, neg): &(usize, bool)| (x[[i, v]] == 1.0) != neg;
        f32::from(u8::from(f.iter().any(|c| c.iter().all(lit))))
    });
    (x, y)
}

fn adam() -> OptimizerConfig {
    OptimizerConfig::Adam {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    }
}

fn test_accuracy(mlp: &Mlp, x: &Array2<f32>, y: &Array2<f32>) -> f64 {
    100.0
        * evaluate(mlp, x.view(), TargetsRef::Binary(y.view()))
            .1
            .accuracy
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let f = formula(&mut rng);
    let (x, y) = sample(&f, 2048, &mut rng);
    let (x_test, y_test) = sample(&f, 1024, &mut rng);
    // Raw encoding: a literal on variable v reads input column v.
    let clauses: Vec<Vec<usize>> = f.iter().map(|c| c.iter().map(|l| l.0).collect()).collect();
    println!("clause input columns: {clauses:?}");

    // Warm-up: a narrow dense 32 → 4 → 1 network.
    let mlp = MlpConfig {
        d_in: N,
        hidden: vec![4],
        d_out: 1,
    }
    .init(&mut rng)?;
    let mut warm = Trainer::new(mlp, adam(), KernelPolicy::Auto)?;
    warm.fit(
        x.view(),
        TargetsRef::Binary(y.view()),
        20,
        64,
        &mut rng,
        &mut NoHooks,
    )?;
    let dense = warm.into_parts().0;
    println!(
        "dense: widths {:?}, nnz {}, test accuracy {:.1} %",
        dense.widths(),
        dense.nnz(),
        test_accuracy(&dense, &x_test, &y_test)
    );

    // Every strategy from the same warm-up, α = 2, then 20 more epochs with the masks fixed.
    let fine_tune_seed = 2;
    println!(
        "{:<17} {:>10} {:>5} {:>13} {:>12} {:>12}",
        "strategy", "widths", "nnz", "pruned/layer", "after split", "fine-tuned"
    );
    for strategy in StrategyKind::ALL {
        let cfg = ExpansionConfig {
            alpha: 2,
            strategy,
            ..Default::default()
        };
        let out = expand(&dense, &cfg, Some(&clauses), None, &mut rng)?;
        assert_eq!(out.mlp.nnz(), dense.nnz(), "FPE keeps the non-zero budget");
        let after_split = test_accuracy(&out.mlp, &x_test, &y_test);
        let mut trainer = Trainer::new(out.mlp, adam(), KernelPolicy::Auto)?;
        let mut batch_rng = ChaCha8Rng::seed_from_u64(fine_tune_seed);
        let y_train = TargetsRef::Binary(y.view());
        trainer.fit(x.view(), y_train, 20, 64, &mut batch_rng, &mut NoHooks)?;
        println!(
            "{:<17} {:>10} {:>5} {:>13} {:>10.1} % {:>10.1} %",
            strategy.name(),
            format!("{:?}", out.report.widths_after),
            trainer.mlp().nnz(),
            format!("{:?}", out.report.pruned_per_layer),
            after_split,
            test_accuracy(trainer.mlp(), &x_test, &y_test)
        );
    }

    // The dense baseline trained for the same extra epochs.
    let mut trainer = Trainer::new(dense, adam(), KernelPolicy::Auto)?;
    let mut batch_rng = ChaCha8Rng::seed_from_u64(fine_tune_seed);
    trainer.fit(
        x.view(),
        TargetsRef::Binary(y.view()),
        20,
        64,
        &mut batch_rng,
        &mut NoHooks,
    )?;
    println!(
        "dense, 20 more epochs: test accuracy {:.1} %",
        test_accuracy(trainer.mlp(), &x_test, &y_test)
    );
    Ok(())
}
