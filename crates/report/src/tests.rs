//! End to end: a synthetic output directory as the runner writes it, then [`super::build`].

use std::collections::BTreeMap;
use std::path::Path;

use fpe_experiments::results::CollisionRow;
use fpe_experiments::results::{RunRow, UnitResult, params_from_field, write_csv};

fn row(exp: &str, params: &[(&str, &str)], si: usize, seed: u64, arm: &str, acc: f64) -> RunRow {
    let params: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let setting = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let fpe = arm != "dense";
    RunRow {
        experiment: exp.into(),
        setting,
        setting_index: si,
        config_hash: format!("{exp}-{si}-{seed}"),
        params,
        seed,
        arm: arm.parse().unwrap(),
        status: fpe_experiments::results::Status::Ok,
        test_accuracy: acc,
        nnz: 520,
        widths: if fpe {
            "64-16-1".into()
        } else {
            "64-8-1".into()
        },
        hidden: if fpe { 16 } else { 8 },
        alpha: if fpe { 2 } else { 1 },
        capacity_literals: Some(if fpe { 0.3 + acc / 10.0 } else { 0.2 }),
        capacity_mean: Some(0.1),
        cosine_abs: Some(if fpe { 0.5 - acc / 5.0 } else { 0.5 }),
        collision_rate: Some(if fpe { 0.2 } else { 1.0 }),
        polysemanticity: Some(if fpe { 3.0 } else { 6.0 }),
        pr_dimension: Some(if fpe { 4.0 + acc } else { 3.0 }),
        wall_seconds: 0.5,
        ..Default::default()
    }
}

/// Writes one unit file per (setting, seed) and the CSV, as `sweep::run_experiment` does.
fn write_experiment(out: &Path, name: &str, rows: &[RunRow], kind: &str) {
    let dir = out.join(name);
    std::fs::create_dir_all(dir.join("units")).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!("name = \"{name}\"\ntitle = \"{name} test\"\n[task]\nkind = \"{kind}\"\n"),
    )
    .unwrap();
    let mut by_unit: BTreeMap<String, Vec<RunRow>> = BTreeMap::new();
    for r in rows {
        by_unit
            .entry(r.config_hash.clone())
            .or_default()
            .push(r.clone());
    }
    for (hash, rows) in by_unit {
        let u = UnitResult {
            config_hash: hash.clone(),
            rows,
            wall_seconds: 1.0,
            inputs: None,
        };
        std::fs::write(
            dir.join("units").join(format!("{hash}.json")),
            serde_json::to_string(&u).unwrap(),
        )
        .unwrap();
    }
    write_csv(&dir.join("results.csv"), rows).unwrap();
}

#[test]
fn report_from_a_synthetic_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    // E1: one setting, eight seeds; clause > random > dense in every seed; one failed run.
    let mut e1 = Vec::new();
    for seed in 0..8 {
        let d = 0.01 * seed as f64;
        e1.push(row("e1_headline", &[], 0, seed, "dense", 0.78 + d));
        e1.push(row("e1_headline", &[], 0, seed, "random", 0.88 + d));
        e1.push(row("e1_headline", &[], 0, seed, "clause", 0.99 - d));
    }
    let mut bad = row("e1_headline", &[], 0, 8, "random", 0.0);
    bad.status = fpe_experiments::results::Status::Failed;
    bad.error = "NaN loss at epoch 3".into();
    e1.push(bad);
    write_experiment(out, "e1_headline", &e1, "boolean");
    // E2: gain grows with clauses; a single seed (std shown as "–"); the last setting lacks units.
    let mut e2 = Vec::new();
    for (si, m) in [2, 4, 8, 16].into_iter().enumerate() {
        let p = [("task.clauses", &*m.to_string())];
        e2.push(row(
            "e2_clause_sweep",
            &p,
            si,
            0,
            "dense",
            0.95 - 0.05 * si as f64,
        ));
        e2.push(row(
            "e2_clause_sweep",
            &p,
            si,
            0,
            "random",
            0.96 - 0.02 * si as f64,
        ));
        if si < 3 {
            e2.push(row("e2_clause_sweep", &p, si, 0, "clause", 0.97));
        }
    }
    write_experiment(out, "e2_clause_sweep", &e2, "boolean");
    // E8: embeddings, width × α.
    let mut e8 = Vec::new();
    for (si, (h, a)) in [(2, 2), (2, 4), (4, 2), (4, 4)].into_iter().enumerate() {
        let p = [
            ("model.hidden", &*format!("[{h}]")),
            ("expansion.alpha", &*a.to_string()),
        ];
        for seed in 0..2 {
            let mut d = row("e8_embeddings", &p, si, seed, "dense", 0.3 + 0.1 * h as f64);
            d.capacity_literals = None;
            let mut r = row(
                "e8_embeddings",
                &p,
                si,
                seed,
                "random",
                0.35 + 0.1 * h as f64 + 0.02 * a as f64,
            );
            r.capacity_literals = None;
            e8.extend([d, r]);
        }
    }
    write_experiment(out, "e8_embeddings", &e8, "embeddings");
    // An interrupted experiment has unit files but no results.csv yet.
    std::fs::remove_file(out.join("e8_embeddings/results.csv")).unwrap();
    // E5: collisions only.
    let dir = out.join("e5_collisions");
    std::fs::create_dir_all(&dir).unwrap();
    let coll: Vec<CollisionRow> = [(2, 2, 0.11, 0.113), (3, 4, 0.0, 0.0004)]
        .into_iter()
        .map(|(k, alpha, measured, theory_balanced)| CollisionRow {
            k,
            alpha,
            inputs: 64,
            trials: 1000,
            measured,
            stderr: 0.01,
            theory_balanced,
            theory_independent: theory_balanced * 1.2,
            z: 0.3,
            clause_measured: 0.0,
        })
        .collect();
    std::fs::write(
        dir.join("collisions.json"),
        serde_json::to_string(&coll).unwrap(),
    )
    .unwrap();

    super::build(out).unwrap();

    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    for id in ["E1", "E2", "E5", "E6", "E8.1", "E9"] {
        assert!(
            report.contains(&format!("### {id} — ")),
            "claim {id} missing from REPORT.md"
        );
    }
    assert!(report.contains("**Verdict: held**"), "{report}");
    assert!(report.contains("**Verdict: not run**"));
    assert!(report.contains("EfficientNet-Lite0 (ImageNet) embeddings of Fashion-MNIST images"));
    assert!(report.contains("WordNet 3.0 synsets"));
    assert!(report.contains("NaN loss at epoch 3"), "failed run listed");
    assert!(report.contains("## Deviations and choices"));
    assert!(report.contains("## How verdicts are decided"));
    assert!(report.contains("### Every claim row"));
    // E2 and E8 rest on fewer than 6 seeds: the banner says so.
    assert!(report.contains("rest on fewer than 6 seeds"), "{report}");
    // E1 held (clause > random > dense in all 8 seeds), E5 held (measured = theory within 95 %,
    // no clause collisions), E2 inconclusive (one seed).
    let verdict_of = |id: &str| {
        let start = report.find(&format!("### {id} — ")).unwrap();
        let rest = &report[start..];
        let v = rest.find("**Verdict: ").unwrap();
        rest[v + 11..].split("**").next().unwrap().to_string()
    };
    assert_eq!(verdict_of("E1"), "held");
    assert_eq!(verdict_of("E5"), "held");
    assert_eq!(verdict_of("E2"), "inconclusive");
    assert_eq!(verdict_of("E7"), "not run");
    // claims.json: one object per row, the same verdicts.
    let claims: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("claims.json")).unwrap()).unwrap();
    let rows = claims.as_array().unwrap();
    let e1: Vec<&serde_json::Value> = rows.iter().filter(|r| r["id"] == "E1").collect();
    assert_eq!(e1.len(), 3);
    assert!(
        e1.iter()
            .all(|r| r["verdict"] == "held" && r["n_seeds"] == 8)
    );
    let rd = e1
        .iter()
        .find(|r| r["comparison"] == "random-dense")
        .unwrap();
    assert!((rd["estimate"].as_f64().unwrap() - 10.0).abs() < 1e-9);
    assert!(rd["paper_value"].as_f64().is_some() && rd["paper_in_ci"].is_boolean());
    assert!(
        report.contains("| E1 | random-dense | +10.0 pp [+10.0, +10.0] | 8 | 8/8 |"),
        "{report}"
    );
    for p in [
        "e1_headline/summary.csv",
        "e1_headline/summary.md",
        "e1_headline/plots/accuracy_per_seed.png",
        "e2_clause_sweep/plots/accuracy_vs_clauses.svg",
        "e2_clause_sweep/plots/accuracy_vs_clauses.png",
        "e8_embeddings/plots/accuracy_vs_neurons.png",
        "e5_collisions/plots/collisions_vs_theory.svg",
        "e5_collisions/plots/collisions_vs_theory.png",
        "e6_metrics_vs_gain/summary.csv",
        "e6_metrics_vs_gain/plots/fold_capacity.png",
    ] {
        let f = out.join(p);
        assert!(
            f.is_file() && std::fs::metadata(&f).unwrap().len() > 100,
            "{p} missing"
        );
    }
    let png = std::fs::read(out.join("e2_clause_sweep/plots/accuracy_vs_clauses.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Rebuilding from a copy of the directory works from the files alone.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(out, copy.path());
    super::build(copy.path()).unwrap();
    assert!(copy.path().join("REPORT.md").is_file());
}

#[test]
fn empty_output_directory_reports_not_run() {
    let tmp = tempfile::tempdir().unwrap();
    super::build(tmp.path()).unwrap();
    let report = std::fs::read_to_string(tmp.path().join("REPORT.md")).unwrap();
    assert!(report.contains("**Verdict: not run**"));
    assert!(!report.contains("**Verdict: held**"));
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn rows_round_trip_through_csv_whatever_their_text() {
    let params: BTreeMap<String, String> = [
        ("task.classes".to_string(), "[\"a;b\", \"c=d\"]".to_string()),
        ("model.hidden".to_string(), "[8]".to_string()),
    ]
    .into_iter()
    .collect();
    let row = RunRow {
        experiment: "e,1".into(),
        setting: "task.classes=[\"a;b\", \"c=d\"]".into(),
        params: params.clone(),
        arm: "random".parse().unwrap(),
        status: fpe_experiments::results::Status::Failed,
        error: "line one\nline \"two\", with a comma".into(),
        seed: 3,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.csv");
    write_csv(&path, std::slice::from_ref(&row)).unwrap();
    let mut notes = Vec::new();
    let back = crate::load::read_csv(&path, &mut notes);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].params, params);
    assert_eq!(back[0].error, row.error);
    assert_eq!(back[0].experiment, row.experiment);
    assert!(
        back[0].test_accuracy.is_nan(),
        "a failed run has no accuracy"
    );
    assert_eq!(
        params_from_field("a=1;b=2").get("b").map(String::as_str),
        Some("2")
    );
}
