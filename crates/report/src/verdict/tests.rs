//! The verdict rules on synthetic experiments with known per-seed accuracies.

use std::collections::BTreeMap;

use super::measures::{Reach, dense_equivalent};
use super::row::RowSpec;
use super::*;
use crate::derived::fold_table;
use crate::inference::Interval;
use crate::reference::Direction;
use crate::stats::summarize;
use fpe_experiments::results::CollisionRow;
use fpe_experiments::results::RunRow;

/// `(setting params, arm, accuracies over seeds 0.., nnz)`.
type Cell<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a [f64], usize);

/// A cell whose params and accuracies are built in the test.
type OwnedCell<'a> = (Vec<(&'a str, &'a str)>, &'a str, Vec<f64>);

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
            .and_then(|h| crate::stats::param_num(h))
            .unwrap_or(8.0) as usize;
        for (seed, &acc) in accs.iter().enumerate() {
            rows.push(RunRow {
                setting: setting.clone(),
                setting_index: si,
                params: params.clone(),
                seed: seed as u64,
                arm: (*arm).parse().unwrap(),
                status: fpe_experiments::results::Status::Ok,
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
    a.iter().map(|s| (*s).to_string()).collect()
}

/// `base + offset[i]` for each seed.
fn shifted(base: &[f64], offset: &[f64]) -> Vec<f64> {
    base.iter().zip(offset).map(|(b, o)| b + o).collect()
}

const DENSE: [f64; 10] = [0.78, 0.80, 0.75, 0.82, 0.79, 0.77, 0.81, 0.76, 0.80, 0.78];

fn row_of<'a>(o: &'a Outcome, comparison: &str) -> &'a ClaimRow {
    o.rows
        .iter()
        .find(|r| r.comparison == comparison)
        .unwrap_or_else(|| panic!("no row {comparison} in {:?}", o.rows))
}

#[test]
fn interval_rule() {
    let spec = || RowSpec::new("X", "e", "a-b", Unit::Points, Expect::Greater);
    let iv = |lo: f64, hi: f64| Interval {
        estimate: (lo + hi) / 2.0,
        lo,
        hi,
        se: (hi - lo) / 4.0,
    };
    assert_eq!(spec().judge(iv(0.5, 2.0), 10, true).verdict, Verdict::Held);
    assert_eq!(
        spec().judge(iv(-2.0, -0.5), 10, true).verdict,
        Verdict::Contradicted
    );
    let mid = spec().judge(iv(-1.0, 3.0), 10, true);
    assert_eq!(mid.verdict, Verdict::Inconclusive);
    // 10 · (2.8 · 1 / 1)² = 78.4 → 79 seeds.
    assert_eq!(mid.seeds_to_resolve, Some(79));
    // Too few seeds: inconclusive whatever the interval.
    let few = spec().judge(iv(0.5, 2.0), MIN_SEEDS - 1, true);
    assert_eq!(few.verdict, Verdict::Inconclusive);
    assert!(few.seeds_to_resolve.unwrap() >= MIN_SEEDS);
    // Less and equality claims.
    let less = RowSpec::new("X", "e", "t", Unit::Rho, Expect::Less);
    assert_eq!(
        less.clone().judge(iv(-0.9, -0.1), 10, true).verdict,
        Verdict::Held
    );
    assert_eq!(
        less.judge(iv(0.1, 0.9), 10, true).verdict,
        Verdict::Contradicted
    );
    let eq = RowSpec::new("X", "e", "c", Unit::Rate, Expect::Equal);
    assert_eq!(
        eq.clone().judge(iv(-0.1, 0.1), 3, false).verdict,
        Verdict::Held
    );
    assert_eq!(
        eq.judge(iv(0.1, 0.2), 3, false).verdict,
        Verdict::Contradicted
    );
    // Ratios are tested against 1, and the paper's number against the interval.
    let ratio = RowSpec::new("X", "e", "r", Unit::Ratio, Expect::Greater).paper(Some(2.0));
    let r = ratio.judge(iv(1.1, 1.5), 10, true);
    assert_eq!(
        (r.verdict, r.null_value, r.paper_in_ci),
        (Verdict::Held, 1.0, Some(false))
    );
}

#[test]
fn ordering_pairs_by_seed_and_a_noisy_mean_gain_is_not_held() {
    // random − dense: +0.8 pp on average but with both signs: the old "means ordered" rule
    // would have said held.
    let noisy = [
        0.10, -0.08, 0.09, -0.07, 0.06, -0.05, 0.08, -0.06, 0.04, -0.03,
    ];
    let clean = [0.20, 0.21, 0.19, 0.22, 0.20, 0.18, 0.21, 0.20, 0.19, 0.20];
    let random = shifted(&DENSE, &noisy);
    let clause = shifted(&DENSE, &clean);
    let e = exp(
        "e1",
        &[
            (&[], "dense", &DENSE, 100),
            (&[], "random", &random, 100),
            (&[], "clause", &clause, 100),
        ],
    );
    let reported = BTreeMap::from([
        ("dense".to_string(), 0.787),
        ("random".to_string(), 0.887),
        ("clause".to_string(), 0.994),
    ]);
    let o = rules::ordering("E1", &e, &arms(&["clause", "random", "dense"]), &reported);
    assert_eq!(o.rows.len(), 3);
    let rd = row_of(&o, "random-dense");
    assert_eq!(rd.verdict, Verdict::Inconclusive, "{rd:?}");
    assert!((rd.estimate - 0.8).abs() < 1e-9);
    assert_eq!((rd.wins, rd.n_seeds), (Some(5), 10));
    assert!(rd.p_value.unwrap() > 0.5);
    assert!(rd.seeds_to_resolve.is_some());
    // The paper's +10 pp lies far above our interval.
    assert_eq!(rd.paper_in_ci, Some(false));
    let cd = row_of(&o, "clause-dense");
    assert_eq!(cd.verdict, Verdict::Held);
    assert_eq!(cd.wins, Some(10));
    // Exact sign-flip: all ten positive → 2/1024.
    assert!((cd.p_value.unwrap() - 2.0 / 1024.0).abs() < 1e-12);
    assert_eq!(row_of(&o, "clause-random").verdict, Verdict::Held);
    assert_eq!(o.verdict_text(), "2 held, 1 inconclusive");
    // A worse arm in every seed is contradicted.
    let worse = shifted(&DENSE, &[-0.05; 10]);
    let e = exp(
        "e1",
        &[(&[], "dense", &DENSE, 100), (&[], "random", &worse, 100)],
    );
    let o = rules::ordering("E1", &e, &arms(&["random", "dense"]), &reported);
    assert_eq!(o.rows[0].verdict, Verdict::Contradicted);
    assert_eq!(o.verdict_text(), "contradicted");
    // A single arm cannot be ordered.
    let e = exp("e1", &[(&[], "dense", &DENSE, 100)]);
    assert!(
        rules::ordering("E1", &e, &arms(&["random", "dense"]), &reported)
            .rows
            .is_empty()
    );
}

/// A sweep over `key` with dense at DENSE and the FPE arm at DENSE + gain(x) + noise.
fn sweep(key: &str, xs: &[&str], gain: impl Fn(usize) -> f64, noise: &[f64]) -> ExperimentData {
    let mut owned: Vec<OwnedCell<'_>> = Vec::new();
    for (i, x) in xs.iter().enumerate() {
        let fpe: Vec<f64> = DENSE
            .iter()
            .zip(noise)
            .map(|(d, n)| d + gain(i) + n)
            .collect();
        owned.push((vec![(key, *x)], "dense", DENSE.to_vec()));
        owned.push((vec![(key, *x)], "random", fpe));
    }
    let cells: Vec<Cell<'_>> = owned
        .iter()
        .map(|(p, a, v)| (p.as_slice(), *a, v.as_slice(), 100))
        .collect();
    exp("e2", &cells)
}

#[test]
fn trend_rule_uses_bootstrap_intervals() {
    let key = "task.clauses";
    let xs = ["2", "4", "8", "16", "32"];
    let small = [
        0.001, -0.001, 0.002, -0.002, 0.0, 0.001, -0.001, 0.0, 0.002, -0.002,
    ];
    let axis = |direction, x_max| rules::TrendAxis {
        param: key,
        direction,
        x_max,
        x: None,
    };
    let up = sweep(key, &xs, |i| 0.02 * i as f64, &small);
    let o = rules::trend(
        "E2",
        &up,
        &arms(&["random", "clause"]),
        &axis(Direction::Increasing, None),
    );
    assert_eq!(o.rows.len(), 1, "clause is absent");
    assert_eq!(o.rows[0].verdict, Verdict::Held, "{:?}", o.rows[0]);
    assert_eq!(o.rows[0].unit, Unit::Rho);
    assert_eq!(o.rows[0].estimate, 1.0);
    // The same data against a decreasing claim is contradicted.
    let o = rules::trend(
        "E3",
        &up,
        &arms(&["random"]),
        &axis(Direction::Decreasing, None),
    );
    assert_eq!(o.rows[0].verdict, Verdict::Contradicted);
    // Noise far larger than the trend: inconclusive.
    let loud = [0.2, -0.2, 0.15, -0.15, 0.1, -0.1, 0.2, -0.2, 0.05, -0.05];
    let flat = sweep(key, &xs, |i| 0.002 * i as f64, &loud);
    let o = rules::trend(
        "E2",
        &flat,
        &arms(&["random"]),
        &axis(Direction::Increasing, None),
    );
    assert_eq!(o.rows[0].verdict, Verdict::Inconclusive, "{:?}", o.rows[0]);
    // x_max leaves out settings: two settings are too few for a trend.
    let o = rules::trend(
        "E2",
        &up,
        &arms(&["random"]),
        &axis(Direction::Increasing, Some(4.0)),
    );
    assert!(o.rows.is_empty());
}

#[test]
fn peak_rule_is_two_paired_contrasts() {
    let key = "expansion.alpha";
    let small = [
        0.001, -0.001, 0.002, -0.002, 0.0, 0.001, -0.001, 0.0, 0.002, -0.002,
    ];
    let g = [0.05, 0.10, 0.02];
    let e = sweep(key, &["2", "4", "8"], |i| g[i], &small);
    let o = rules::peak("E4", &e, &arms(&["random"]), key, [2.0, 4.0, 8.0]);
    assert_eq!(o.rows.len(), 2);
    let rise = row_of(&o, "random: gain(α=4) - gain(α=2)");
    assert_eq!(rise.verdict, Verdict::Held);
    assert!((rise.estimate - 5.0).abs() < 1e-9);
    let fall = row_of(&o, "random: gain(α=8) - gain(α=4)");
    assert_eq!(fall.verdict, Verdict::Held);
    // A monotone rise contradicts the fall.
    let e = sweep(key, &["2", "4", "8"], |i| 0.05 * i as f64, &small);
    let o = rules::peak("E4", &e, &arms(&["random"]), key, [2.0, 4.0, 8.0]);
    assert_eq!(o.verdict_text(), "1 held, 1 contradicted");
}

#[test]
fn collisions_rule_is_an_equality_test() {
    let row = |measured: f64, clause: f64| CollisionRow {
        k: 2,
        alpha: 2,
        inputs: 64,
        trials: 10_000,
        measured,
        stderr: 0.003,
        theory_balanced: 0.1,
        theory_independent: 0.125,
        z: (measured - 0.1) / 0.003,
        clause_measured: clause,
    };
    let with = |rows: Vec<CollisionRow>| ExperimentData {
        name: "e5".into(),
        collisions: Some(rows),
        ..Default::default()
    };
    let o = measures::collisions("E5", &with(vec![row(0.102, 0.0)]));
    assert_eq!(o.verdict_text(), "held");
    let o = measures::collisions("E5", &with(vec![row(0.12, 0.0)]));
    assert_eq!(o.rows[0].verdict, Verdict::Contradicted);
    let o = measures::collisions("E5", &with(vec![row(0.1, 0.01)]));
    assert_eq!(o.rows[1].verdict, Verdict::Contradicted);
    assert!(
        measures::collisions("E5", &ExperimentData::default())
            .rows
            .is_empty()
    );
}

#[test]
fn split_timing_rule() {
    let key = "train.split_fraction";
    let small = [
        0.001, -0.001, 0.002, -0.002, 0.0, 0.001, -0.001, 0.0, 0.002, -0.002,
    ];
    let e = sweep(
        key,
        &["0.0", "0.25", "0.5", "0.75"],
        |i| 0.08 - 0.02 * i as f64,
        &small,
    );
    let o = rules::split_timing("E7", &e, &arms(&["random"]), key);
    assert_eq!(o.verdict_text(), "held", "{:?}", o.rows);
    assert!(row_of(&o, "random-dense at the latest split (75 %)").estimate > 0.0);
    // The latest split loses to dense in every seed.
    let e = sweep(
        key,
        &["0.0", "0.25", "0.5", "0.75"],
        |i| 0.04 - 0.02 * i as f64,
        &small,
    );
    let o = rules::split_timing("E7", &e, &arms(&["random"]), key);
    assert_eq!(o.verdict_text(), "1 held, 1 contradicted");
}

#[test]
fn small_width_rule_tests_the_ratio_against_one() {
    let key = "model.hidden";
    let small = [
        0.001, -0.001, 0.002, -0.002, 0.0, 0.001, -0.001, 0.0, 0.002, -0.002,
    ];
    let low = [0.2; 10];
    let mut owned: Vec<OwnedCell<'_>> = Vec::new();
    for (h, g) in [("[2]", 0.18), ("[4]", 0.05), ("[8]", -0.01)] {
        owned.push((vec![(key, h)], "dense", low.to_vec()));
        owned.push((
            vec![(key, h)],
            "random",
            shifted(&shifted(&low, &small), &[g; 10]),
        ));
    }
    let cells: Vec<Cell<'_>> = owned
        .iter()
        .map(|(p, a, v)| (p.as_slice(), *a, v.as_slice(), 100))
        .collect();
    let e = exp("e8", &cells);
    let reported = BTreeMap::from([("ratio".to_string(), 2.0)]);
    let o = measures::small_width("E8.1", &e, &arms(&["random"]), key, 2, &reported);
    assert_eq!(o.rows.len(), 2, "only the two smallest widths");
    let h2 = row_of(&o, "random/dense at model.hidden=[2]");
    assert_eq!((h2.unit, h2.verdict), (Unit::Ratio, Verdict::Held));
    assert!((h2.estimate - 1.9).abs() < 1e-3);
    assert_eq!(h2.paper_in_ci, Some(false));
    assert_eq!(h2.wins, Some(10));
}

#[test]
fn dense_equivalent_interpolates_in_log_nnz() {
    let curve = [(100.0, 0.5), (400.0, 0.7)];
    let Some(Reach::Exact(n)) = dense_equivalent(&curve, 0.6) else {
        panic!("interpolates")
    };
    assert!((n - 200.0).abs() < 1e-9);
    assert_eq!(dense_equivalent(&curve, 0.4), Some(Reach::AtMost(100.0)));
    assert_eq!(dense_equivalent(&curve, 0.8), Some(Reach::AtLeast(400.0)));
    assert_eq!(dense_equivalent(&[], 0.8), None);
}

#[test]
fn param_equivalent_rule() {
    let small = [
        0.001, -0.001, 0.002, -0.002, 0.0, 0.001, -0.001, 0.0, 0.002, -0.002,
    ];
    let at = |v: f64| shifted(&[v; 10], &small);
    let (d16, d32, w128, fpe) = (at(0.50), at(0.60), at(0.70), at(0.65));
    let h16: &[(&str, &str)] = &[("model.hidden", "[16]"), ("expansion.alpha", "4")];
    let h32: &[(&str, &str)] = &[("model.hidden", "[32]"), ("expansion.alpha", "4")];
    let e = exp(
        "e8",
        &[
            (h16, "dense", &d16, 1000),
            (h32, "dense", &d32, 2000),
            (h32, "wide_dense", &w128, 8000),
            (h32, "random", &fpe, 2000),
        ],
    );
    let reported = BTreeMap::from([("param_ratio".to_string(), 1.2)]);
    let o = measures::param_equivalent("E8.2", &e, &arms(&["random"]), 32.0, 4.0, &reported);
    let r = &o.rows[0];
    // Halfway between 2000 and 8000 in log nnz: 4000, a ratio of 2.
    assert!((r.estimate - 2.0).abs() < 0.05, "{r:?}");
    assert_eq!(r.verdict, Verdict::Held);
    assert_eq!(r.paper_in_ci, Some(false));
}

#[test]
fn beats_dense_rule_with_few_seeds_is_inconclusive() {
    let e = exp(
        "e9",
        &[
            (&[], "dense", &[0.5, 0.6, 0.55], 10),
            (&[], "random", &[0.6, 0.7, 0.65], 10),
        ],
    );
    let o = rules::beats_dense("E9", &[&e], &arms(&["random", "feature"]));
    assert_eq!(o.rows.len(), 1);
    assert_eq!(
        o.rows[0].verdict,
        Verdict::Inconclusive,
        "3 seeds < {MIN_SEEDS}"
    );
    let b = shifted(&DENSE, &[0.01; 10]);
    let e = exp("e9", &[(&[], "dense", &DENSE, 10), (&[], "random", &b, 10)]);
    let f = exp(
        "e10b",
        &[(&[], "dense", &DENSE, 10), (&[], "random", &b, 10)],
    );
    let o = rules::beats_dense("E10", &[&e, &f], &arms(&["random"]));
    assert_eq!(o.verdict_text(), "held");
    assert_eq!(o.rows[1].comparison, "e10b: random-dense");
    let none = exp("e9", &[(&[], "dense", &DENSE, 10)]);
    assert!(
        rules::beats_dense("E9", &[&none], &arms(&["random"]))
            .rows
            .is_empty()
    );
}

#[test]
fn fold_change_rule_judges_slopes_per_sweep() {
    let mut rows = Vec::new();
    for i in 0..4 {
        for seed in 0..8u64 {
            let g = 0.02 * i as f64 + 0.001 * seed as f64;
            let mk = |arm: &str, acc: f64, cap: f64, cos: f64| RunRow {
                setting: format!("s{i}"),
                setting_index: i,
                seed,
                arm: arm.parse().unwrap(),
                status: fpe_experiments::results::Status::Ok,
                test_accuracy: acc,
                capacity_literals: Some(cap),
                cosine_abs: Some(cos),
                ..Default::default()
            };
            rows.push(mk("dense", 0.5, 0.2, 0.4));
            rows.push(mk(
                "random",
                0.5 + g,
                0.2 * (1.0 + 5.0 * g),
                0.4 * (1.0 - 2.0 * g),
            ));
        }
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
    let o = measures::fold_change("E6", &t, &arms(&["random"]), &signs);
    assert_eq!(o.rows.len(), 2);
    assert_eq!(o.verdict_text(), "held");
    assert_eq!(o.rows[0].n_points, Some(32));
    assert!((o.rows[0].r2.unwrap() - 1.0).abs() < 1e-9);
    let wrong = BTreeMap::from([("capacity".to_string(), "-".to_string())]);
    let o = measures::fold_change("E6", &t, &arms(&["random"]), &wrong);
    assert_eq!(o.verdict_text(), "contradicted");
    assert!(
        measures::fold_change("E6", &fold_table(&[]), &arms(&["random"]), &signs)
            .rows
            .is_empty()
    );
}

#[test]
fn rows_serialise_with_the_documented_fields() {
    let r = RowSpec::new("E1", "e1", "random-dense", Unit::Points, Expect::Greater)
        .paired(&[1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
        .unwrap();
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
    for k in [
        "id",
        "comparison",
        "estimate",
        "ci_low",
        "ci_high",
        "n_seeds",
        "p_value",
        "verdict",
        "paper_value",
        "paper_in_ci",
    ] {
        assert!(v.get(k).is_some(), "{k} missing in {v}");
    }
    assert_eq!(v["verdict"], "held");
    assert_eq!(v["n_seeds"], 6);
    // The same data give the same interval (seeded bootstrap).
    let again = RowSpec::new("E1", "e1", "random-dense", Unit::Points, Expect::Greater)
        .paired(&[1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
        .unwrap();
    assert_eq!(r, again);
}
