//! The verdict rules on synthetic summaries.

use std::collections::BTreeMap;

use super::measures::{Reach, dense_equivalent};
use super::*;
use crate::collisions::CollisionRow;
use crate::report::derived::fold_table;
use crate::report::reference::Direction;
use crate::report::stats::summarize;
use crate::results::RunRow;

/// `(setting params, arm, accuracies over seeds, nnz)`.
type Cell<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a [f64], usize);

/// An experiment from cells.
fn exp(name: &str, cells: &[Cell<'_>]) -> ExperimentData {
    let mut index: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for (params, arm, accs, nnz) in cells {
        let params: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let setting = params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let si = index.iter().position(|s| *s == setting).unwrap_or_else(|| {
            index.push(setting.clone());
            index.len() - 1
        });
        let hidden = params
            .get("model.hidden")
            .and_then(|h| crate::report::stats::param_num(h))
            .unwrap_or(8.0) as usize;
        for (seed, &acc) in accs.iter().enumerate() {
            rows.push(RunRow {
                setting: setting.clone(),
                setting_index: si,
                params: params.clone(),
                seed: seed as u64,
                arm: (*arm).into(),
                status: "ok".into(),
                test_accuracy: acc,
                nnz: *nnz,
                hidden,
                ..Default::default()
            });
        }
    }
    ExperimentData {
        name: name.into(),
        summary: summarize(&rows),
        rows,
        ..Default::default()
    }
}

fn arms(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).into()).collect()
}

#[test]
fn combine_and_rho() {
    use Verdict::*;
    assert_eq!(combine(&[Held, Held, NotRun]), Held);
    assert_eq!(combine(&[DidNotHold, DidNotHold]), DidNotHold);
    assert_eq!(combine(&[Held, DidNotHold]), Partly);
    assert_eq!(combine(&[NotRun]), NotRun);
    assert_eq!(combine(&[]), NotRun);
    assert_eq!(from_rho(Some(0.6)), Held);
    assert_eq!(from_rho(Some(0.3)), Partly);
    assert_eq!(from_rho(Some(0.0)), DidNotHold);
    assert_eq!(from_rho(None), NotRun);
}

#[test]
fn ordering_rule() {
    let order = arms(&["clause", "random", "dense"]);
    let reported = BTreeMap::from([("dense".to_string(), 0.787), ("random".to_string(), 0.887)]);
    let e = exp(
        "e1",
        &[
            (&[], "dense", &[0.78, 0.80], 520),
            (&[], "random", &[0.88, 0.90], 520),
            (&[], "clause", &[0.99, 0.99], 520),
        ],
    );
    let o = rules::ordering(&e, &order, &reported);
    assert_eq!(o.verdict, Verdict::Held);
    assert!(
        o.details.iter().any(|d| d.contains("paper +10.0 pp")),
        "{:?}",
        o.details
    );
    let e = exp(
        "e1",
        &[
            (&[], "dense", &[0.78], 520),
            (&[], "random", &[0.95], 520),
            (&[], "clause", &[0.90], 520),
        ],
    );
    assert_eq!(
        rules::ordering(&e, &order, &reported).verdict,
        Verdict::Partly
    );
    let e = exp(
        "e1",
        &[(&[], "dense", &[0.9], 520), (&[], "random", &[0.8], 520)],
    );
    assert_eq!(
        rules::ordering(&e, &order, &reported).verdict,
        Verdict::DidNotHold
    );
    let e = exp("e1", &[(&[], "random", &[0.8], 520)]);
    assert_eq!(
        rules::ordering(&e, &order, &reported).verdict,
        Verdict::NotRun
    );
}

fn sweep(key: &str, xs: &[&str], dense: &[f64], fpe: &[f64]) -> ExperimentData {
    let params: Vec<[(&str, &str); 1]> = xs.iter().map(|x| [(key, *x)]).collect();
    let mut cells: Vec<Cell<'_>> = Vec::new();
    for (i, p) in params.iter().enumerate() {
        cells.push((p, "dense", std::slice::from_ref(&dense[i]), 100));
        cells.push((p, "random", std::slice::from_ref(&fpe[i]), 100));
    }
    exp("sweep", &cells)
}

#[test]
fn trend_rule_directions_cutoff_and_no_gain() {
    let e = sweep(
        "task.clauses",
        &["2", "4", "8", "32"],
        &[0.9, 0.8, 0.7, 0.6],
        &[0.91, 0.84, 0.77, 0.6],
    );
    let a = arms(&["random", "clause"]);
    let up = rules::trend(
        &e,
        &a,
        "task.clauses",
        Direction::Increasing,
        Some(16.0),
        None,
    );
    assert_eq!(up.verdict, Verdict::Held, "{:?}", up.details);
    // Including m = 32 (gain 0) breaks the rise: ρ = −0.2.
    let all = rules::trend(&e, &a, "task.clauses", Direction::Increasing, None, None);
    assert_eq!(all.verdict, Verdict::DidNotHold);
    let down = rules::trend(
        &e,
        &a,
        "task.clauses",
        Direction::Decreasing,
        Some(16.0),
        None,
    );
    assert_eq!(down.verdict, Verdict::DidNotHold);
    // Falling but never positive: at most partly.
    let e = sweep(
        "model.hidden",
        &["[4]", "[8]", "[16]"],
        &[0.8, 0.8, 0.8],
        &[0.79, 0.78, 0.77],
    );
    assert_eq!(
        rules::trend(&e, &a, "model.hidden", Direction::Decreasing, None, None).verdict,
        Verdict::Partly
    );
    // Two settings are too few.
    let e = sweep("model.hidden", &["[4]", "[8]"], &[0.8, 0.8], &[0.9, 0.85]);
    assert_eq!(
        rules::trend(&e, &a, "model.hidden", Direction::Decreasing, None, None).verdict,
        Verdict::NotRun
    );
    // Classes per neuron: 2/4, 5/4, 10/4 with growing gains.
    let e = sweep(
        "task.classes",
        &[
            "[0, 1]",
            "[0, 1, 2, 3, 4]",
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
        ],
        &[0.9, 0.6, 0.3],
        &[0.91, 0.66, 0.4],
    );
    let o = rules::trend(
        &e,
        &a,
        "task.classes",
        Direction::Increasing,
        None,
        Some("classes_per_neuron"),
    );
    assert_eq!(o.verdict, Verdict::Held);
}

#[test]
fn peak_rule() {
    let a = arms(&["random"]);
    let e = sweep(
        "expansion.alpha",
        &["2", "4", "8"],
        &[0.8; 3],
        &[0.85, 0.9, 0.82],
    );
    assert_eq!(
        rules::peak(&e, &a, "expansion.alpha", [2.0, 4.0, 8.0]).verdict,
        Verdict::Held
    );
    let e = sweep(
        "expansion.alpha",
        &["2", "4", "8"],
        &[0.8; 3],
        &[0.85, 0.9, 0.95],
    );
    assert_eq!(
        rules::peak(&e, &a, "expansion.alpha", [2.0, 4.0, 8.0]).verdict,
        Verdict::Partly
    );
    let e = sweep(
        "expansion.alpha",
        &["2", "4", "8"],
        &[0.8; 3],
        &[0.9, 0.85, 0.95],
    );
    assert_eq!(
        rules::peak(&e, &a, "expansion.alpha", [2.0, 4.0, 8.0]).verdict,
        Verdict::DidNotHold
    );
}

#[test]
fn collisions_rule() {
    let row = |z: f64, clause: f64| CollisionRow {
        k: 2,
        alpha: 2,
        inputs: 64,
        trials: 100,
        measured: 0.1,
        stderr: 0.01,
        theory_balanced: 0.1,
        theory_independent: 0.125,
        z,
        clause_measured: clause,
    };
    let with = |rows: Vec<CollisionRow>| ExperimentData {
        name: "e5".into(),
        collisions: Some(rows),
        ..Default::default()
    };
    assert_eq!(
        measures::collisions(&with(vec![row(0.5, 0.0), row(2.9, 0.0)]), 3.0).verdict,
        Verdict::Held
    );
    assert_eq!(
        measures::collisions(&with(vec![row(0.5, 0.0), row(3.5, 0.0)]), 3.0).verdict,
        Verdict::Partly
    );
    assert_eq!(
        measures::collisions(&with(vec![row(4.0, 0.01)]), 3.0).verdict,
        Verdict::DidNotHold
    );
    assert_eq!(
        measures::collisions(&with(vec![]), 3.0).verdict,
        Verdict::NotRun
    );
}

#[test]
fn split_timing_rule() {
    let a = arms(&["random"]);
    let key = "train.split_fraction";
    let e = sweep(
        key,
        &["0.0", "0.25", "0.5", "0.75"],
        &[0.8; 4],
        &[0.9, 0.88, 0.85, 0.82],
    );
    assert_eq!(rules::split_timing(&e, &a, key).verdict, Verdict::Held);
    let e = sweep(
        key,
        &["0.0", "0.25", "0.5", "0.75"],
        &[0.8; 4],
        &[0.9, 0.88, 0.85, 0.79],
    );
    assert_eq!(rules::split_timing(&e, &a, key).verdict, Verdict::Partly);
    let e = sweep(
        key,
        &["0.0", "0.25", "0.5", "0.75"],
        &[0.8; 4],
        &[0.7, 0.72, 0.75, 0.79],
    );
    assert_eq!(
        rules::split_timing(&e, &a, key).verdict,
        Verdict::DidNotHold
    );
}

#[test]
fn small_width_rule() {
    let a = arms(&["random"]);
    let e = sweep(
        "model.hidden",
        &["[2]", "[4]", "[8]"],
        &[0.2, 0.3, 0.6],
        &[0.38, 0.4, 0.5],
    );
    assert_eq!(
        measures::small_width(&e, &a, "model.hidden", 2).verdict,
        Verdict::Held
    );
    let e = sweep(
        "model.hidden",
        &["[2]", "[4]", "[8]"],
        &[0.2, 0.3, 0.6],
        &[0.22, 0.32, 0.5],
    );
    assert_eq!(
        measures::small_width(&e, &a, "model.hidden", 2).verdict,
        Verdict::Partly,
        "wins but ratio < 1.5"
    );
    let e = sweep(
        "model.hidden",
        &["[2]", "[4]", "[8]"],
        &[0.2, 0.3, 0.6],
        &[0.1, 0.2, 0.7],
    );
    assert_eq!(
        measures::small_width(&e, &a, "model.hidden", 2).verdict,
        Verdict::DidNotHold
    );
}

#[test]
fn dense_equivalent_interpolates_in_log_nnz() {
    let curve = [(100.0, 0.5), (400.0, 0.7)];
    let Some(Reach::Exact(n)) = dense_equivalent(&curve, 0.6) else {
        panic!()
    };
    assert!((n - 200.0).abs() < 1e-9);
    assert_eq!(dense_equivalent(&curve, 0.4), Some(Reach::AtMost(100.0)));
    assert_eq!(dense_equivalent(&curve, 0.8), Some(Reach::AtLeast(400.0)));
    assert_eq!(dense_equivalent(&[], 0.8), None);
}

#[test]
fn param_equivalent_rule() {
    let h = |w: &'static str, a: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![("model.hidden", w), ("expansion.alpha", a)]
    };
    let (s16, s32) = (h("[16]", "4"), h("[32]", "4"));
    let e8 = |fpe: f64| {
        exp(
            "e8",
            &[
                (&s16, "dense", &[0.5], 100),
                (&s16, "wide_dense", &[0.7], 400),
                (&s32, "dense", &[0.6], 200),
                (&s32, "random", &[fpe], 200),
                (&s32, "wide_dense", &[0.8], 800),
            ],
        )
    };
    let a = arms(&["random"]);
    // Dense curve: 100 → 0.5, 200 → 0.6, 400 → 0.7, 800 → 0.8; FPE 0.65 at nnz 200 ≈ dense at 283.
    let o = measures::param_equivalent(&e8(0.65), &a, 32.0, 4.0, 1.1);
    assert_eq!(o.verdict, Verdict::Held, "{:?}", o.details);
    assert!(o.ours.contains("1.41×"), "{}", o.ours);
    let o = measures::param_equivalent(&e8(0.605), &a, 32.0, 4.0, 1.1);
    assert_eq!(o.verdict, Verdict::Partly);
    let o = measures::param_equivalent(&e8(0.55), &a, 32.0, 4.0, 1.1);
    assert_eq!(o.verdict, Verdict::DidNotHold);
}

#[test]
fn beats_dense_rule() {
    let a = arms(&["nm", "set"]);
    let e = exp(
        "e10",
        &[
            (&[], "dense", &[0.8], 1),
            (&[], "nm", &[0.85], 1),
            (&[], "set", &[0.75], 1),
        ],
    );
    assert_eq!(rules::beats_dense(&[&e], &a).verdict, Verdict::Partly);
    let e = exp("e10", &[(&[], "dense", &[0.8], 1), (&[], "nm", &[0.85], 1)]);
    assert_eq!(rules::beats_dense(&[&e], &a).verdict, Verdict::Held);
    let e = exp("e10", &[(&[], "dense", &[0.8], 1)]);
    assert_eq!(rules::beats_dense(&[&e], &a).verdict, Verdict::NotRun);
}

#[test]
fn fold_change_rule() {
    let mut rows = Vec::new();
    for i in 0..4 {
        let g = 0.1 * i as f64;
        let mk = |arm: &str, acc: f64, cap: f64, cos: f64| RunRow {
            setting: format!("s{i}"),
            setting_index: i,
            arm: arm.into(),
            status: "ok".into(),
            test_accuracy: acc,
            capacity_literals: Some(cap),
            cosine_abs: Some(cos),
            ..Default::default()
        };
        rows.push(mk("dense", 0.5, 0.2, 0.4));
        rows.push(mk(
            "random",
            0.5 * (1.0 + g),
            0.2 * (1.0 + g),
            0.4 * (1.0 - g),
        ));
    }
    let e = ExperimentData {
        name: "e2".into(),
        summary: summarize(&rows),
        rows,
        ..Default::default()
    };
    let t = fold_table(&[&e]);
    let signs = BTreeMap::from([
        ("capacity".to_string(), "+".to_string()),
        ("cosine_abs".to_string(), "-".to_string()),
    ]);
    assert_eq!(
        measures::fold_change(&t, &arms(&["random"]), 0.5, &signs).verdict,
        Verdict::Held
    );
    let wrong = BTreeMap::from([
        ("capacity".to_string(), "-".to_string()),
        ("cosine_abs".to_string(), "-".to_string()),
    ]);
    assert_eq!(
        measures::fold_change(&t, &arms(&["random"]), 0.5, &wrong).verdict,
        Verdict::Partly
    );
    assert_eq!(
        measures::fold_change(&fold_table(&[]), &arms(&["random"]), 0.5, &signs).verdict,
        Verdict::NotRun
    );
}
