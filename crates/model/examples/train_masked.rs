//! Train a masked MLP on a small Boolean task generated inline, print the loss, accuracy and
//! non-zero counts, and optionally export the model as `.npz` (for numpy, PyTorch or the
//! `fpe-metrics` example `metric_report`).
//!
//! ```text
//! cargo run -p fpe-model --example train_masked [-- model.npz]
//! ```
//!
//! The task: 32 random bits, label = OR of 4 clauses of 3 literals on disjoint bits. The network:
//! 32 → 16 → 1 whose first layer keeps a random half of its weights (a fixed mask).

use fpe_model::{
    EpochReport, KernelPolicy, Mlp, MlpConfig, OptimizerConfig, Result, TargetsRef, TrainHooks,
    Trainer, evaluate, export_npz,
};
use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// Inputs `[n, 32]` (0/1) and OR-of-clauses targets `[n, 1]`.
fn task(n: usize, rng: &mut ChaCha8Rng) -> (Array2<f32>, Array2<f32>) {
    // Clause c reads bits 3c, 3c+1, 3c+2; the literal on bit 3c+1 is negated.
    let x = Array2::from_shape_simple_fn((n, 32), || f32::from(u8::from(rng.random_bool(0.5))));
    let y = Array2::from_shape_fn((n, 1), |(i, _)| {
        let holds =
            |c: usize| x[[i, 3 * c]] == 1.0 && x[[i, 3 * c + 1]] == 0.0 && x[[i, 3 * c + 2]] == 1.0;
        f32::from(u8::from((0..4).any(holds)))
    });
    (x, y)
}

/// Prints the training loss every 10 epochs.
struct Progress;

impl TrainHooks for Progress {
    fn on_epoch(&mut self, _mlp: &Mlp, report: &EpochReport) -> Result<()> {
        if (report.epoch + 1).is_multiple_of(10) {
            println!(
                "  epoch {:3}: train loss {:.4}",
                report.epoch + 1,
                report.train_loss
            );
        }
        Ok(())
    }
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (x_train, y_train) = task(2048, &mut rng);
    let (x_test, y_test) = task(1024, &mut rng);

    // A dense 32 → 16 → 1 network, then a fixed random mask [16, 32] on the first layer.
    let mut mlp = MlpConfig {
        d_in: 32,
        hidden: vec![16],
        d_out: 1,
    }
    .init(&mut rng)?;
    let mask = Array2::from_shape_simple_fn((16, 32), || rng.random_bool(0.5));
    mlp.layer_mut(0).set_mask(mask)?;
    println!(
        "widths {:?}, nnz per layer {:?} (total {}), density of layer 0 {:.2}",
        mlp.widths(),
        mlp.nnz_per_layer(),
        mlp.nnz(),
        mlp.layers()[0].density()
    );
    let nnz_before = mlp.nnz();
    let opt = OptimizerConfig::Adam {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let mut trainer = Trainer::new(mlp, opt, KernelPolicy::Auto)?;
    println!("kernels per layer: {:?}", trainer.kernel_names());
    let y = TargetsRef::Binary(y_train.view());
    trainer.fit(x_train.view(), y, 40, 64, &mut rng, &mut Progress)?;

    let (loss, acc) = evaluate(
        trainer.mlp(),
        x_test.view(),
        TargetsRef::Binary(y_test.view()),
    );
    println!(
        "test loss {loss:.4}, test accuracy {:.1} %",
        100.0 * acc.accuracy
    );
    trainer.mlp().check_masks()?;
    assert_eq!(
        trainer.mlp().nnz(),
        nnz_before,
        "masks are fixed during training"
    );
    println!("nnz after training: {} (unchanged)", trainer.mlp().nnz());

    if let Some(path) = std::env::args_os().nth(1) {
        export_npz(trainer.mlp(), &path)?;
        println!(
            "wrote weight_l, bias_l, mask_l to {}",
            path.to_string_lossy()
        );
    }
    Ok(())
}
