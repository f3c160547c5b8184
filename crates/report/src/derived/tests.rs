//! The E6 fold-change table and fits on synthetic runs.

use super::*;

fn row(si: usize, seed: u64, arm: &str, acc: f64, cap: f64, cos: f64) -> RunRow {
    RunRow {
        setting: format!("task.clauses={si}"),
        setting_index: si,
        seed,
        arm: arm.parse().unwrap(),
        status: fpe_experiments::results::Status::Ok,
        test_accuracy: acc,
        capacity_literals: Some(cap),
        capacity_mean: Some(cap / 2.0),
        cosine_abs: Some(cos),
        collision_rate: Some(if arm == "dense" { 1.0 } else { 0.2 }),
        ..Default::default()
    }
}

fn exp(name: &str, noise: f64) -> ExperimentData {
    // Per run: gain g (points) = 10·i + seed·noise; capacity fold = 1 + 0.02·g exactly;
    // cosine fold = 1 − 0.01·g.
    let mut rows = Vec::new();
    for i in 0..4 {
        for seed in 0..3u64 {
            let g = 10.0 * i as f64 + seed as f64 * noise;
            rows.push(row(i, seed, "dense", 0.5, 0.2, 0.4));
            rows.push(row(
                i,
                seed,
                "random",
                0.5 + g / 100.0,
                0.2 * (1.0 + 0.02 * g),
                0.4 * (1.0 - 0.01 * g),
            ));
        }
    }
    ExperimentData {
        name: name.into(),
        summary: crate::stats::summarize(&rows),
        rows,
        ..Default::default()
    }
}

#[test]
fn fold_change_fits_a_line_per_run() {
    let e = exp("e2", 1.0);
    let t = fold_table(&[&e]);
    let cap = t.fit("e2", "capacity", "random").unwrap();
    assert_eq!((cap.n, cap.seeds), (12, 3));
    let (s, i, r2) = cap.fit.unwrap();
    assert!((s - 0.02).abs() < 1e-9 && (i - 1.0).abs() < 1e-9 && (r2 - 1.0).abs() < 1e-9);
    // An exact line: every resample has the same slope.
    let ci = cap.slope_ci.unwrap();
    assert!(
        (ci.lo - 0.02).abs() < 1e-9 && (ci.hi - 0.02).abs() < 1e-9,
        "{ci:?}"
    );
    let cos = t.fit("e2", "cosine_abs", "random").unwrap().fit.unwrap();
    assert!((cos.0 + 0.01).abs() < 1e-9);
    // All collision folds are 0.2: a flat line.
    let col = t
        .fit("e2", "collision_rate", "random")
        .unwrap()
        .fit
        .unwrap();
    assert!(col.0.abs() < 1e-12);
    assert!(t.fit("e2", "capacity", "clause").is_none());
    assert!(
        t.markdown()
            .contains("| e2 | capacity | `random` | 12 | 3 | 0.02 [0.02, 0.02] | 1 | 1 |"),
        "{}",
        t.markdown()
    );
}

#[test]
fn pooled_counts_the_shared_setting_once() {
    let e = exp("e2", 1.0);
    let mut f = exp("e3", 1.0);
    f.name = "e3".into();
    let t = fold_table(&[&e, &f]);
    assert_eq!(t.fit("e2", "capacity", "random").unwrap().n, 12);
    assert_eq!(t.fit("e3", "capacity", "random").unwrap().n, 12);
    // Identical runs in both sweeps: pooled once.
    assert_eq!(t.fit(POOLED, "capacity", "random").unwrap().n, 12);
    assert_eq!(t.scopes(), vec!["e2", "e3", POOLED]);
}

#[test]
fn zero_dense_metric_gives_no_point() {
    let mut e = exp("e2", 0.0);
    for r in e.rows.iter_mut().filter(|r| r.arm == "dense") {
        r.pr_dimension = Some(0.0);
    }
    for r in e.rows.iter_mut().filter(|r| r.arm != "dense") {
        r.pr_dimension = Some(1.0);
    }
    assert!(
        fold_table(&[&e])
            .points
            .iter()
            .all(|p| p.metric != "pr_dimension")
    );
}
