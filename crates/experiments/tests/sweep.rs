//! Sweeps as a library (issue #28): a grid expands into settings × seeds, a sweep runs them,
//! writes the plan and one unit file per unit, a second run resumes without training, sharded
//! runs collect into the same rows, and `plan` lists the same units.

use fpe_experiments::manifest::{UnitFile, UnitPlan, read_unit};
use fpe_experiments::sweep::{
    DataCache, Experiment, RunOptions, Shard, collect, plan, run_experiment, run_shard,
};

fn experiment() -> Experiment {
    let text = r#"
name = "grid"
seeds = [0, 1, 1]
arms = ["dense", "random"]
[task]
kind = "boolean"
n_vars = 16
literals = 2
train_size = 128
test_size = 64
[model]
hidden = [4]
[train]
warmup_epochs = 2
after_epochs = 2
batch_size = 32
[grid]
"task.clauses" = [2, 4, 4]
"#;
    Experiment::from_table(
        text.parse().unwrap(),
        false,
        &toml::Table::new(),
        std::path::Path::new("."),
    )
    .unwrap()
}

#[test]
fn a_grid_expands_runs_resumes_and_collects() {
    let exp = experiment();
    // Repeated seeds and grid values are merged (with a warning): 2 settings × 2 seeds.
    assert_eq!(exp.settings.len(), 2);
    let units = exp.units();
    assert_eq!(units.len(), 4);
    let labels: Vec<&str> = units.iter().map(|u| u.setting.as_str()).collect();
    assert_eq!(
        labels,
        [
            "task.clauses=2",
            "task.clauses=2",
            "task.clauses=4",
            "task.clauses=4"
        ]
    );
    let planned: Vec<String> = plan(&exp, None)
        .unwrap()
        .into_iter()
        .map(|p| p.hash)
        .collect();
    assert_eq!(
        planned,
        units.iter().map(|u| u.hash.clone()).collect::<Vec<_>>()
    );

    let tmp = tempfile::tempdir().unwrap();
    let opts = RunOptions::new(tmp.path());
    let cache = DataCache::default();
    let first = run_experiment(&exp, &opts, &cache).unwrap();
    assert_eq!((first.ran, first.skipped, first.rows.len()), (4, 0, 8));
    let dir = tmp.path().join("grid");
    let on_disk = UnitPlan::read(&dir).unwrap().unwrap();
    assert_eq!(on_disk, exp.unit_plan());
    for u in &units {
        assert!(matches!(
            read_unit(&dir.join("units"), u, "grid"),
            UnitFile::Valid(_)
        ));
    }
    let again = run_experiment(&exp, &opts, &cache).unwrap();
    assert_eq!((again.ran, again.skipped), (0, 4));
    let strip = |rows: &[fpe_experiments::results::RunRow]| -> Vec<_> {
        rows.iter()
            .cloned()
            .map(|mut r| {
                r.wall_seconds = 0.0;
                r
            })
            .collect()
    };
    assert_eq!(strip(&again.rows), strip(&first.rows));

    // The same grid in two shards, then collected: the same rows.
    let sharded = tempfile::tempdir().unwrap();
    let sopts = RunOptions::new(sharded.path());
    let mut ran = 0;
    for i in 0..2 {
        ran += run_shard(&exp, &sopts, &cache, Shard::new(i, 2).unwrap())
            .unwrap()
            .ran;
    }
    assert_eq!(ran, 4);
    let c = collect(&exp, &sopts).unwrap();
    assert!(c.missing.is_empty());
    assert_eq!(strip(&c.rows), strip(&first.rows));
}

/// A directory of IDX files: `n` training and `n / 2` test images of 4×4, in 3 classes (class c
/// lights up row c), plain, as MNIST's files are named.
fn idx_images(dir: &std::path::Path, n: u32) {
    let idx = |dims: &[u32], payload: Vec<u8>| {
        let mut b = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(payload);
        b
    };
    let split = |n: u32, images: &str, labels: &str| {
        let ys: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        let xs: Vec<u8> = ys
            .iter()
            .enumerate()
            .flat_map(|(i, &y)| {
                (0..16).map(move |p| {
                    if p / 4 == usize::from(y) {
                        200
                    } else {
                        (i * 7 % 50) as u8
                    }
                })
            })
            .collect();
        std::fs::write(dir.join(images), idx(&[n, 4, 4], xs)).unwrap();
        std::fs::write(dir.join(labels), idx(&[n], ys)).unwrap();
    };
    split(n, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    split(n / 2, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
}

#[test]
fn an_images_task_trains_and_reruns_when_its_files_change() {
    let data = tempfile::tempdir().unwrap();
    idx_images(data.path(), 96);
    let text = format!(
        r#"
name = "img"
seeds = [0]
arms = ["dense", "random"]
[task]
kind = "images"
path = {:?}
max_train = 90
class_names = ["top", "middle", "bottom"]
[model]
hidden = [4]
[train]
warmup_epochs = 3
after_epochs = 3
batch_size = 16
"#,
        data.path().display().to_string()
    );
    let load = || {
        Experiment::from_table(
            text.parse().unwrap(),
            false,
            &toml::Table::new(),
            std::path::Path::new("."),
        )
        .unwrap()
    };
    let exp = load();
    let tmp = tempfile::tempdir().unwrap();
    let opts = RunOptions::new(tmp.path());
    let cache = DataCache::default();
    let first = run_experiment(&exp, &opts, &cache).unwrap();
    assert_eq!((first.ran, first.rows.len()), (1, 2));
    for r in &first.rows {
        assert!(r.status.is_ok(), "{}: {:?} {}", r.arm, r.status, r.error);
        assert!(r.test_accuracy > 0.0);
    }
    assert_eq!(run_experiment(&exp, &opts, &cache).unwrap().ran, 0);
    // Other images and labels: another unit identity, so the unit runs again.
    let before = exp.units()[0].hash.clone();
    idx_images(data.path(), 102);
    let changed = load();
    assert_ne!(changed.units()[0].hash, before);
    let again = run_experiment(&changed, &opts, &DataCache::default()).unwrap();
    assert_eq!(again.ran, 1);
}
