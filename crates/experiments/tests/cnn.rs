//! A unit whose network has a convolutional backbone (issue #29), on the raw Fashion-MNIST
//! images that `scripts/setup.sh` installs: every arm trains with its backbone, the expansion
//! arms keep the dense model's non-zero count, the unit is reproducible, and configs that cannot
//! work are refused before training.

use std::sync::Arc;

use fpe_experiments::config::ExperimentConfig;
use fpe_experiments::results::{RunRow, Status};
use fpe_experiments::sweep::DataCache;
use fpe_experiments::sweep::{UnitInput, run_unit};
use fpe_model::Device;

const BACKBONE: &str = r#"["conv 4 3x3 pad 1", "relu", "maxpool2", "conv 8 3x3 pad 1", "relu",
    "maxpool2", "flatten", "linear 16", "relu"]"#;

fn config(arms: &str, extra: &str) -> String {
    format!(
        r#"name = "cnn"
seeds = [1]
arms = {arms}
[task]
kind = "images"
max_train = 512
max_test = 256
[model]
hidden = [8]
backbone = {BACKBONE}
{extra}
[train]
warmup_epochs = 5
after_epochs = 5
batch_size = 64
[expansion]
alpha = 2
"#
    )
}

fn parse(text: &str) -> fpe_experiments::Result<ExperimentConfig> {
    ExperimentConfig::from_table(text.parse().unwrap())
}

fn run(cfg: &ExperimentConfig) -> Vec<RunRow> {
    let data = DataCache::default().get(cfg, 1).unwrap();
    let input = UnitInput {
        cfg,
        seed: 1,
        data: Arc::clone(&data),
        template: RunRow::default(),
        checkpoint_dir: None,
        device: Device::Cpu,
    };
    run_unit(&input).unwrap()
}

#[test]
fn every_arm_trains_with_its_backbone_at_the_budget_it_claims() {
    let arms =
        r#"["dense", "random", "feature", "wide_dense", "channel_random", "channel_contiguous"]"#;
    let cfg = parse(&config(arms, "channel_layer = 1")).unwrap();
    let rows = run(&cfg);
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert_eq!(r.status, Status::Ok, "{}: {}", r.arm, r.error);
        // Ten classes: chance is 10 % and a chance-level loss ln 10 = 2.30; 48 steps on 512
        // images get every arm well away from both.
        assert!(r.test_accuracy > 0.2, "{}: {}", r.arm, r.test_accuracy);
        assert!(
            r.final_train_loss < 2.1,
            "{}: {}",
            r.arm,
            r.final_train_loss
        );
    }
    let by = |a: &str| rows.iter().find(|r| r.arm == a).unwrap();
    let dense = by("dense");
    // The backbone counts: 1·9·4 + 4·9·8 + 392·16 = 6,596 weights, head 16·8 + 8·10 = 208.
    assert_eq!(dense.nnz, 36 + 288 + 6272 + 128 + 80);
    assert_eq!(dense.widths, "16-8-10");
    for arm in ["random", "feature", "channel_random", "channel_contiguous"] {
        assert_eq!(by(arm).nnz, dense.nnz, "{arm} keeps the budget");
        assert_eq!(by(arm).alpha, 2);
    }
    assert_eq!(by("random").widths, "16-16-10");
    // Channel expansion widens the second convolution; the head is unchanged.
    assert_eq!(by("channel_random").widths, "16-8-10");
    assert!(by("wide_dense").nnz > dense.nnz);
    // The same unit again gives the same rows, bit for bit.
    let again = run(&cfg);
    for (a, b) in rows.iter().zip(&again) {
        assert_eq!(
            (a.test_accuracy, a.final_train_loss),
            (b.test_accuracy, b.final_train_loss),
            "{}",
            a.arm
        );
    }
}

#[test]
fn configs_that_cannot_work_are_refused_before_training() {
    let no_layer = parse(&config(r#"["dense", "channel_random"]"#, "")).unwrap_err();
    assert!(
        format!("{no_layer:#}").contains("model.channel_layer"),
        "{no_layer:#}"
    );
    let far = parse(&config(
        r#"["dense", "channel_random"]"#,
        "channel_layer = 3",
    ))
    .unwrap_err();
    assert!(
        format!("{far:#}").contains("3 convolution or linear stage(s)"),
        "{far:#}"
    );
    let boolean = r#"name = "b"
seeds = [0]
arms = ["dense"]
[task]
kind = "boolean"
[model]
hidden = [8]
backbone = ["conv 4 3", "relu"]
"#;
    let e = parse(boolean).unwrap_err();
    assert!(format!("{e:#}").contains("needs an image task"), "{e:#}");
    let bad_stage =
        config(r#"["dense"]"#, "").replace("maxpool2\", \"flatten", "maxpool3\", \"flatten");
    let e = parse(&bad_stage).unwrap_err();
    assert!(format!("{e:#}").contains("maxpool3"), "{e:#}");
}
