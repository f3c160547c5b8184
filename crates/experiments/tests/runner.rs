//! One unit, every arm (issue #28): the warm-start arms train together on one loop, the wide
//! baselines from initialisation; each arm gives one row saying where it ran, an arm that cannot
//! be built fails alone, and a unit gives the same rows every time. With the `gpu` feature the
//! same unit runs on the GPU (lavapipe in CI): the arms without hooks there, the others on the
//! CPU, each row saying which, and every accuracy close to the CPU's.

use std::sync::Arc;

use fpe_experiments::config::ExperimentConfig;
use fpe_experiments::results::{RunRow, Status};
use fpe_experiments::sweep::DataCache;
use fpe_experiments::sweep::{UnitInput, run_unit};
use fpe_model::Device;

const ARMS: [&str; 11] = [
    "dense",
    "random",
    "clause",
    "feature",
    "overlap",
    "nm",
    "dropconnect",
    "set",
    "rigl",
    "wide_dense",
    "wide_sparse_scratch",
];

fn config(alpha: usize) -> ExperimentConfig {
    let arms: Vec<String> = ARMS.iter().map(|a| format!("{a:?}")).collect();
    let text = format!(
        r#"name = "unit"
seeds = [3]
arms = [{}]
[task]
kind = "boolean"
n_vars = 16
clauses = 4
literals = 2
train_size = 256
test_size = 128
[model]
hidden = [4]
[train]
warmup_epochs = 3
after_epochs = 3
batch_size = 64
[expansion]
alpha = {alpha}
nm_m = {nm_m}
"#,
        arms.join(", "),
        nm_m = 2 * alpha
    );
    ExperimentConfig::from_table(text.parse().unwrap()).unwrap()
}

fn run(cfg: &ExperimentConfig, device: Device) -> Vec<RunRow> {
    let data = DataCache::default().get(cfg, 3).unwrap();
    let input = UnitInput {
        cfg,
        seed: 3,
        data: Arc::clone(&data),
        template: RunRow {
            experiment: "unit".into(),
            device: device.to_string(),
            ..Default::default()
        },
        checkpoint_dir: None,
        device,
    };
    run_unit(&input).unwrap()
}

fn without_wall_time(rows: &[RunRow]) -> Vec<RunRow> {
    rows.iter()
        .cloned()
        .map(|mut r| {
            r.wall_seconds = 0.0;
            r
        })
        .collect()
}

#[test]
fn every_arm_gives_one_row_and_a_unit_repeats_bit_for_bit() {
    let cfg = config(2);
    let rows = run(&cfg, Device::Cpu);
    let arms: Vec<&str> = rows.iter().map(|r| r.arm.name()).collect();
    assert_eq!(arms, ARMS);
    for r in &rows {
        assert_eq!(r.status, Status::Ok, "{}: {}", r.arm, r.error);
        assert_eq!(r.device, "cpu", "{}", r.arm);
        assert!((0.0..=1.0).contains(&r.test_accuracy));
        let alpha = match r.arm.name() {
            "dense" | "dropconnect" | "wide_dense" | "wide_sparse_scratch" => 1,
            _ => 2,
        };
        assert_eq!(r.alpha, alpha, "{}", r.arm);
        let warm = if r.arm.name().starts_with("wide") {
            0
        } else {
            3
        };
        assert_eq!(r.warmup_epochs, warm, "{}", r.arm);
    }
    // The expanded arms keep the narrow model's budget; the wide dense one has more.
    let nnz = |a: &str| rows.iter().find(|r| r.arm == a).unwrap().nnz;
    for a in [
        "random",
        "clause",
        "feature",
        "nm",
        "set",
        "rigl",
        "wide_sparse_scratch",
    ] {
        assert_eq!(nnz(a), nnz("dense"), "{a}");
    }
    assert!(nnz("wide_dense") > nnz("dense"));
    assert_eq!(
        without_wall_time(&run(&cfg, Device::Cpu)),
        without_wall_time(&rows)
    );
}

#[test]
fn an_arm_that_cannot_be_built_fails_alone() {
    // α = 64 is larger than every hidden neuron's fan-in (16): no expansion can be built; the
    // arms that do not split neurons still train.
    let rows = run(&config(64), Device::Cpu);
    for r in &rows {
        let splits = !matches!(
            r.arm.name(),
            "dense" | "dropconnect" | "wide_dense" | "wide_sparse_scratch"
        );
        if splits {
            assert_eq!(r.status, Status::Failed, "{}", r.arm);
            assert!(
                r.error.contains("expanding with strategy"),
                "{}: {}",
                r.arm,
                r.error
            );
        } else {
            assert_eq!(r.status, Status::Ok, "{}: {}", r.arm, r.error);
        }
    }
}

#[cfg(feature = "gpu")]
#[test]
fn on_the_gpu_each_arm_says_where_it_ran_and_agrees_with_the_cpu() {
    if std::env::var("FPE_GPU_TESTS").is_ok_and(|v| v == "skip") {
        eprintln!("FPE_GPU_TESTS=skip: GPU test skipped");
        return;
    }
    Device::Gpu
        .check()
        .expect("no GPU for the GPU tests (install mesa-vulkan-drivers, or FPE_GPU_TESTS=skip)");
    let cfg = config(2);
    let cpu = run(&cfg, Device::Cpu);
    let gpu = run(&cfg, Device::Gpu);
    for (c, g) in cpu.iter().zip(&gpu) {
        assert_eq!(g.arm, c.arm);
        assert_eq!(g.status, Status::Ok, "{}: {}", g.arm, g.error);
        let hooks = matches!(g.arm.name(), "dropconnect" | "set" | "rigl");
        assert_eq!(g.device, if hooks { "cpu" } else { "gpu" }, "{}", g.arm);
        assert_eq!(g.nnz, c.nnz, "{}", g.arm);
        // Float sums in another order: a few samples of 128 may flip.
        assert!(
            (g.test_accuracy - c.test_accuracy).abs() <= 0.05,
            "{}: gpu {} cpu {}",
            g.arm,
            g.test_accuracy,
            c.test_accuracy
        );
    }
}

#[test]
fn an_impossible_expansion_is_refused_before_any_training() {
    for (arms, extra, words) in [
        (
            r#""dense", "nm""#,
            "nm_m = 3",
            "`expansion`, for arm `nm`: invalid config: `nm_m` = 3",
        ),
        (
            r#""dense", "random""#,
            "layers = []",
            "`layers` = []: name at least one hidden layer",
        ),
        (
            r#""dense", "dropconnect""#,
            "layers = []",
            "`expansion.layers` is empty: arm `dropconnect`",
        ),
        (
            r#""dense", "set""#,
            "strategy = \"nm\"\nnm_m = 5",
            "`expansion`, for arm `set`: invalid config: `nm_m` = 5",
        ),
        (r#""random""#, "layers = [1, 0]", "strictly increasing"),
    ] {
        let text = format!(
            "name = \"x\"\nseeds = [0]\narms = [{arms}]\n[task]\nkind = \"boolean\"\n\
             [model]\nhidden = [4, 4]\n[expansion]\n{extra}\n"
        );
        let e = ExperimentConfig::from_table(text.parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains(words), "{extra}: {e}");
    }
}
