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
