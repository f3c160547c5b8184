//! E0 task calibration: E1's setting under every reading of the Boolean task that SPEC §2
//! allows, each reading's accuracies with 95 % intervals and its distance to the paper's E1
//! numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::inference::{Interval, bootstrap_groups, bootstrap_mean, mean, rng_for};
use super::load::ExperimentData;
use super::paired::{accuracies, diff_points, join};
use super::stats::settings;

/// The arms compared with the paper, in its order.
const ARMS: [&str; 3] = ["dense", "random", "clause"];

/// The reading the defaults use (SPEC §2).
const DEFAULT_READING: [(&str, &str); 4] = [
    ("task.encoding", "raw"),
    ("task.n_vars", "64"),
    ("task.output", "or"),
    ("task.sampling", "balanced"),
];

/// One reading's row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reading {
    /// `encoding=raw, n=64, output=or, sampling=balanced`.
    pub label: String,
    /// Whether this is the default reading.
    pub default: bool,
    /// Per arm: mean accuracy (%) with interval and n.
    pub arms: Vec<Option<(f64, f64, f64, usize)>>,
    /// Paired random − dense and clause − dense (pp) with intervals.
    pub gains: [Option<(f64, f64, f64)>; 2],
    /// Root mean square distance (pp) of the three means to the paper's numbers, with a seed
    /// bootstrap interval (seeds resampled jointly over the three arms).
    pub distance: Option<Interval>,
}

/// The readings of an E0 experiment, nearest to the paper first.
pub(crate) fn readings(exp: &ExperimentData, paper: &BTreeMap<String, f64>) -> Vec<Reading> {
    let mut out: Vec<Reading> = settings(&exp.summary)
        .into_iter()
        .map(|(si, params)| {
            let label = params
                .iter()
                .map(|(k, v)| {
                    let k = k.rsplit('.').next().unwrap_or(k);
                    format!("{}={v}", if k == "n_vars" { "n" } else { k })
                })
                .collect::<Vec<_>>()
                .join(", ");
            let default = DEFAULT_READING
                .iter()
                .all(|(k, v)| params.get(*k).is_none_or(|p| p.trim_matches('"') == *v));
            let key = |what: &str| format!("E0|{}|{si}|{what}", exp.name);
            let arms: Vec<Option<(f64, f64, f64, usize)>> = ARMS
                .iter()
                .map(|a| {
                    let v: Vec<f64> = accuracies(exp, si, a)
                        .into_values()
                        .map(|x| 100.0 * x)
                        .collect();
                    bootstrap_mean(&v, &mut rng_for(&key(a)))
                        .map(|iv| (iv.estimate, iv.lo, iv.hi, v.len()))
                })
                .collect();
            let gain = |arm: &str| {
                bootstrap_mean(
                    &diff_points(exp, si, arm, "dense"),
                    &mut rng_for(&key(&format!("{arm}-dense"))),
                )
                .map(|iv| (iv.estimate, iv.lo, iv.hi))
            };
            Reading {
                label,
                default,
                gains: [gain("random"), gain("clause")],
                distance: distance(exp, si, paper, &key("distance")),
                arms,
            }
        })
        .collect();
    let d = |r: &Reading| r.distance.map_or(f64::INFINITY, |i| i.estimate);
    out.sort_by(|a, b| d(a).total_cmp(&d(b)));
    out
}

/// RMS distance (pp) of the three arms' means to the paper's numbers over the seeds all three
/// arms share, with its bootstrap interval.
fn distance(
    exp: &ExperimentData,
    si: usize,
    paper: &BTreeMap<String, f64>,
    key: &str,
) -> Option<Interval> {
    let target: Vec<f64> = ARMS
        .iter()
        .map(|a| paper.get(*a).map(|p| 100.0 * p))
        .collect::<Option<_>>()?;
    let rd = join(
        &accuracies(exp, si, "random"),
        &accuracies(exp, si, "dense"),
    );
    let clause = accuracies(exp, si, "clause");
    let seeds: Vec<[f64; 3]> = rd
        .into_iter()
        .filter_map(|(s, r, d)| clause.get(&s).map(|c| [100.0 * d, 100.0 * r, 100.0 * c]))
        .collect();
    let stat = move |g: &[Vec<[f64; 3]>]| {
        let sq: f64 = (0..3)
            .map(|a| {
                let v: Vec<f64> = g[0].iter().map(|s| s[a]).collect();
                (mean(&v) - target[a]).powi(2)
            })
            .sum();
        (sq / 3.0).sqrt()
    };
    bootstrap_groups(&[seeds], &mut rng_for(key), stat)
}

/// Whether the evidence clearly favours another reading than the default: the nearest reading's
/// distance interval lies wholly below the default's. Returns that reading.
pub(crate) fn clearly_better(rows: &[Reading]) -> Option<&Reading> {
    let def = rows.iter().find(|r| r.default)?.distance?;
    rows.iter()
        .filter(|r| !r.default)
        .find(|r| r.distance.is_some_and(|d| d.hi < def.lo))
}

/// The E0 table in markdown, with the paper's row first.
pub(crate) fn markdown(rows: &[Reading], paper: &BTreeMap<String, f64>) -> String {
    let mut o = String::from(
        "| reading | n | dense % [95 % CI] | random % [95 % CI] | clause % [95 % CI] | random − dense (pp) | clause − dense (pp) | distance to paper (pp, RMS) [95 % CI] |\n|---|---|---|---|---|---|---|---|\n",
    );
    let p = |a: &str| {
        paper
            .get(a)
            .map_or("–".into(), |v| format!("{:.1}", 100.0 * v))
    };
    let pd = |a: &str| match (paper.get(a), paper.get("dense")) {
        (Some(x), Some(d)) => format!("{:+.1}", 100.0 * (x - d)),
        _ => "–".into(),
    };
    let _ = writeln!(
        o,
        "| **paper** | | {} | {} | {} | {} | {} | |",
        p("dense"),
        p("random"),
        p("clause"),
        pd("random"),
        pd("clause")
    );
    for r in rows {
        let acc = |m: &Option<(f64, f64, f64, usize)>| {
            m.map_or("–".into(), |(e, lo, hi, _)| {
                format!("{e:.1} [{lo:.1}, {hi:.1}]")
            })
        };
        let g = |m: &Option<(f64, f64, f64)>| {
            m.map_or("–".into(), |(e, lo, hi)| {
                format!("{e:+.1} [{lo:+.1}, {hi:+.1}]")
            })
        };
        let n = r.arms.iter().flatten().map(|a| a.3).min().unwrap_or(0);
        let label = if r.default {
            format!("{} (**default**)", r.label)
        } else {
            r.label.clone()
        };
        let _ = writeln!(
            o,
            "| {label} | {n} | {} | {} | {} | {} | {} | {} |",
            acc(&r.arms[0]),
            acc(&r.arms[1]),
            acc(&r.arms[2]),
            g(&r.gains[0]),
            g(&r.gains[1]),
            r.distance.map_or("–".into(), |d| format!(
                "{:.1} [{:.1}, {:.1}]",
                d.estimate, d.lo, d.hi
            ))
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use fpe_experiments::results::RunRow;

    #[test]
    fn readings_are_sorted_by_distance_and_the_default_is_marked() {
        let mut rows = Vec::new();
        let settings = [("raw", 0.78, 0.89, 0.99), ("literal", 0.60, 0.62, 0.70)];
        for (si, (enc, d, r, c)) in settings.iter().enumerate() {
            let params: BTreeMap<String, String> = [
                ("task.encoding", *enc),
                ("task.n_vars", "64"),
                ("task.output", "or"),
                ("task.sampling", "balanced"),
            ]
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
            for seed in 0..4u64 {
                for (arm, acc) in [("dense", d), ("random", r), ("clause", c)] {
                    rows.push(RunRow {
                        setting: format!("task.encoding={enc}"),
                        setting_index: 1 - si,
                        params: params.clone(),
                        seed,
                        arm: arm.parse().unwrap(),
                        status: fpe_experiments::results::Status::Ok,
                        test_accuracy: acc + seed as f64 * 0.001,
                        ..Default::default()
                    });
                }
            }
        }
        let exp = ExperimentData {
            name: "e0_calibration".into(),
            summary: crate::stats::summarize(&rows),
            rows,
            ..Default::default()
        };
        let paper: BTreeMap<String, f64> = [("dense", 0.787), ("random", 0.887), ("clause", 0.994)]
            .iter()
            .map(|(k, v)| ((*k).into(), *v))
            .collect();
        let r = readings(&exp, &paper);
        assert_eq!(r.len(), 2);
        assert!(r[0].label.contains("encoding=raw") && r[0].default);
        assert!(!r[1].default);
        let (d0, d1) = (r[0].distance.unwrap(), r[1].distance.unwrap());
        assert!(d0.estimate < 1.0 && d1.estimate > 20.0);
        assert!(d0.lo <= d0.estimate && d0.estimate <= d0.hi);
        // The default is the nearest here: nothing is clearly better.
        assert!(clearly_better(&r).is_none());
        let swapped: Vec<Reading> = r
            .iter()
            .cloned()
            .map(|mut x| {
                x.default = !x.default;
                x
            })
            .collect();
        assert!(clearly_better(&swapped).is_some_and(|b| b.label.contains("raw")));
        let (g, lo, hi) = r[0].gains[0].unwrap();
        assert!((g - 11.0).abs() < 1e-9 && lo <= g && g <= hi);
        let md = markdown(&r, &paper);
        assert!(
            md.contains("| **paper** | | 78.7 | 88.7 | 99.4 | +10.0 | +20.7 | |"),
            "{md}"
        );
        assert!(md.contains("(**default**)"));
    }
}
