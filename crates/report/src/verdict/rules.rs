//! Rules on paired accuracy across arms and settings: ordering, trend, peak, split timing,
//! beats dense (see [`super::row::rules_md`]).

use std::collections::BTreeMap;

use super::row::{ClaimRow, Expect, Outcome, RowSpec, Unit, estimate_text, p_text};
use crate::inference::{bootstrap_groups, bootstrap_mean, mean, spearman};
use crate::load::ExperimentData;
use crate::paired::{acc_interval, contrast_points, diff_points};
use crate::reference::Direction;
use crate::stats::{find, param_count, param_x, settings};
use crate::tables::num;

/// Arms of `want` present in `exp` with finished runs.
pub(super) fn present<'a>(exp: &ExperimentData, want: &'a [String]) -> Vec<&'a str> {
    want.iter()
        .map(String::as_str)
        .filter(|a| exp.summary.iter().any(|r| r.arm == *a && r.acc.is_some()))
        .collect()
}

/// A not-run outcome naming the arms that are missing.
pub(super) fn missing_arms(exp: &ExperimentData, want: &[String]) -> Outcome {
    Outcome::not_run(format!(
        "{} has none of the arms {} (or dense) with finished runs",
        exp.name,
        want.join(", ")
    ))
}

/// `78.70 % [76.9, 80.5] (n = 20)`.
pub(crate) fn acc_text(exp: &ExperimentData, si: usize, arm: &str) -> String {
    acc_interval(exp, si, arm).map_or_else(
        || "–".into(),
        |(iv, n)| {
            format!(
                "{:.2} % [{:.2}, {:.2}] (n = {n})",
                iv.estimate, iv.lo, iv.hi
            )
        },
    )
}

/// The label of setting `si` (`task.clauses=8`), empty without a grid.
pub(super) fn setting_label(exp: &ExperimentData, si: usize) -> String {
    exp.summary
        .iter()
        .find(|r| r.setting_index == si)
        .map(|r| r.setting.clone())
        .unwrap_or_default()
}

/// A detail line for one row.
pub(super) fn row_line(r: &ClaimRow) -> String {
    let mut s = format!("`{}`: {}", r.comparison, estimate_text(r));
    s.push_str(&format!(", n = {}", r.n_seeds));
    if let Some(w) = r.wins {
        s.push_str(&format!(", wins {w}/{}", r.n_seeds));
    }
    if let Some(p) = r.p_value {
        s.push_str(&format!(", sign-flip p = {}", p_text(p)));
    }
    if let Some(p) = r.paper_value {
        let inside = if r.paper_in_ci == Some(true) {
            "inside"
        } else {
            "outside"
        };
        s.push_str(&format!("; paper {} ({inside} our interval)", num(Some(p))));
    }
    s.push_str(&format!(" → **{}**", r.verdict));
    match r.seeds_to_resolve {
        Some(n) if n > 1000 => s.push_str(" (more than 1,000 seeds would be needed to resolve it)"),
        Some(n) => s.push_str(&format!(" (≈ {n} seeds would resolve it)")),
        None => {}
    }
    s.push('.');
    s
}

/// E1: the paired difference of every pair of `arms` (claimed order, best first).
pub(super) fn ordering(
    id: &str,
    exp: &ExperimentData,
    arms: &[String],
    reported: &BTreeMap<String, f64>,
) -> Outcome {
    let si = settings(&exp.summary).first().map_or(0, |s| s.0);
    let here = present(exp, arms);
    if here.len() < 2 {
        return missing_arms(exp, arms);
    }
    let mut details = Vec::new();
    for a in arms.iter().rev() {
        let paper = reported.get(a).map_or(String::new(), |p| {
            let inside = acc_interval(exp, si, a).is_some_and(|(iv, _)| iv.contains(100.0 * p));
            format!(
                "; paper {:.1} % ({} our interval)",
                100.0 * p,
                if inside { "inside" } else { "outside" }
            )
        });
        details.push(format!("`{a}`: {}{paper}.", acc_text(exp, si, a)));
    }
    let mut rows = Vec::new();
    for (i, hi) in here.iter().enumerate() {
        for lo in &here[i + 1..] {
            let paper = reported
                .get(*hi)
                .zip(reported.get(*lo))
                .map(|(a, b)| 100.0 * (a - b));
            let spec = RowSpec::new(
                id,
                &exp.name,
                format!("{hi}-{lo}"),
                Unit::Points,
                Expect::Greater,
            )
            .paper(paper);
            if let Some(r) = spec.paired(&diff_points(exp, si, hi, lo)) {
                details.push(row_line(&r));
                rows.push(r);
            }
        }
    }
    let missing: Vec<&String> = arms
        .iter()
        .filter(|a| !here.contains(&a.as_str()))
        .collect();
    if !missing.is_empty() {
        details.push(format!(
            "Arms not run: {}.",
            missing
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Outcome::from_rows(rows, details)
}

/// The axis of a trend claim.
pub(crate) struct TrendAxis<'a> {
    /// Grid key.
    pub param: &'a str,
    /// Claimed direction of the gain with x.
    pub direction: Direction,
    /// Only settings with x ≤ this.
    pub x_max: Option<f64>,
    /// `classes_per_neuron`, or the parameter itself.
    pub x: Option<&'a str>,
}

/// x of a setting for a trend: the parameter, or classes per neuron.
fn trend_x(exp: &ExperimentData, si: usize, axis: &TrendAxis<'_>) -> Option<f64> {
    let p = exp.summary.iter().find(|r| r.setting_index == si)?;
    let text = p.params.get(axis.param)?;
    match axis.x {
        Some("classes_per_neuron") => {
            let h = find(&exp.summary, si, "dense").map_or(p.hidden, |d| d.hidden);
            param_count(text).map(|c| c / h.max(1) as f64)
        }
        _ => param_x(axis.param, text),
    }
}

/// Settings with their x, sorted by x, within `x_max`.
fn axis_settings(exp: &ExperimentData, axis: &TrendAxis<'_>) -> Vec<(usize, f64)> {
    let mut xs: Vec<(usize, f64)> = settings(&exp.summary)
        .into_iter()
        .filter_map(|(si, _)| trend_x(exp, si, axis).map(|v| (si, v)))
        .filter(|(_, v)| axis.x_max.is_none_or(|m| *v <= m))
        .collect();
    xs.sort_by(|a, b| a.1.total_cmp(&b.1));
    xs
}

/// A trend row: Spearman ρ of (x, mean of each setting's values), seeds resampled within each
/// setting. `groups[i]` holds the per-seed values at `xs[i]`.
pub(super) fn trend_row(spec: RowSpec, xs: &[f64], groups: &[Vec<f64>]) -> Option<ClaimRow> {
    if xs.len() < 3 {
        return None;
    }
    let n = groups.iter().map(Vec::len).min().unwrap_or(0);
    let xs = xs.to_vec();
    let stat = move |g: &[Vec<f64>]| {
        let means: Vec<f64> = g.iter().map(|v| mean(v)).collect();
        spearman(&xs, &means).unwrap_or(f64::NAN)
    };
    let iv = bootstrap_groups(groups, &mut spec.rng(), stat)?;
    Some(spec.judge(iv, n, true))
}

/// `x → gain [lo, hi]` per setting, for the details.
fn series_text(xname: &str, xs: &[f64], groups: &[Vec<f64>], key: &str) -> String {
    let parts: Vec<String> = xs
        .iter()
        .zip(groups)
        .map(|(x, g)| {
            let iv = bootstrap_mean(g, &mut crate::inference::rng_for(&format!("{key}|{x}")));
            match iv {
                Some(iv) => format!(
                    "{xname} = {} → {:+.1} [{:+.1}, {:+.1}]",
                    num(Some(*x)),
                    iv.estimate,
                    iv.lo,
                    iv.hi
                ),
                None => format!("{xname} = {} → –", num(Some(*x))),
            }
        })
        .collect();
    parts.join(", ")
}

/// E2, E3, E8.3: Spearman ρ of (x, paired gain) per arm.
pub(super) fn trend(
    id: &str,
    exp: &ExperimentData,
    arms: &[String],
    axis: &TrendAxis<'_>,
) -> Outcome {
    let here = present(exp, arms);
    if here.is_empty() || !exp.summary.iter().any(|r| r.arm == "dense") {
        return missing_arms(exp, arms);
    }
    let expect = match axis.direction {
        Direction::Increasing => Expect::Greater,
        Direction::Decreasing => Expect::Less,
    };
    let xname = if axis.x == Some("classes_per_neuron") {
        "classes/neuron".to_string()
    } else {
        axis.param
            .rsplit('.')
            .next()
            .unwrap_or(axis.param)
            .to_string()
    };
    let settings = axis_settings(exp, axis);
    let (mut rows, mut details) = (Vec::new(), Vec::new());
    for arm in here {
        let (xs, groups): (Vec<f64>, Vec<Vec<f64>>) = settings
            .iter()
            .map(|&(si, x)| (x, diff_points(exp, si, arm, "dense")))
            .filter(|(_, d)| !d.is_empty())
            .unzip();
        details.push(format!(
            "`{arm}` paired gain over dense (pp) by {xname}: {}.",
            series_text(&xname, &xs, &groups, &format!("{id}|{}|{arm}", exp.name))
        ));
        let spec = RowSpec::new(
            id,
            &exp.name,
            format!("{arm}: rho({xname}, gain)"),
            Unit::Rho,
            expect,
        );
        match trend_row(spec, &xs, &groups) {
            Some(r) => {
                details.push(row_line(&r));
                rows.push(r);
            }
            None => details.push(format!(
                "`{arm}`: fewer than 3 settings with a dense arm; no trend."
            )),
        }
    }
    if let Some(m) = axis.x_max {
        details.push(format!(
            "Only settings with {xname} ≤ {} enter ρ.",
            num(Some(m))
        ));
    }
    Outcome::from_rows(rows, details)
}

/// The setting of `exp` whose `param` equals `v`.
fn setting_at(exp: &ExperimentData, param: &str, v: f64) -> Option<usize> {
    settings(&exp.summary).into_iter().find_map(|(si, p)| {
        p.get(param)
            .and_then(|t| param_x(param, t))
            .filter(|x| *x == v)
            .map(|_| si)
    })
}

/// E4: gain(peak) − gain(low) > 0 and gain(high) − gain(peak) < 0, paired by seed.
pub(super) fn peak(
    id: &str,
    exp: &ExperimentData,
    arms: &[String],
    param: &str,
    [low, top, high]: [f64; 3],
) -> Outcome {
    let here = present(exp, arms);
    if here.is_empty() {
        return missing_arms(exp, arms);
    }
    let short = param.rsplit('.').next().unwrap_or(param);
    let sym = if short == "alpha" { "α" } else { short };
    let (at_low, at_top, at_high) = (
        setting_at(exp, param, low),
        setting_at(exp, param, top),
        setting_at(exp, param, high),
    );
    let (mut rows, mut details) = (Vec::new(), Vec::new());
    for arm in here {
        let parts = [
            (at_low, at_top, low, top, Expect::Greater),
            (at_top, at_high, top, high, Expect::Less),
        ];
        for (a, b, va, vb, expect) in parts {
            let (Some(a), Some(b)) = (a, b) else {
                details.push(format!(
                    "`{arm}`: {sym} = {} or {} was not run.",
                    num(Some(va)),
                    num(Some(vb))
                ));
                continue;
            };
            let label = format!(
                "{arm}: gain({sym}={}) - gain({sym}={})",
                num(Some(vb)),
                num(Some(va))
            );
            let spec = RowSpec::new(id, &exp.name, label, Unit::Points, expect);
            if let Some(r) = spec.paired(&contrast_points(exp, arm, "dense", a, b)) {
                details.push(row_line(&r));
                rows.push(r);
            }
        }
    }
    Outcome::from_rows(rows, details)
}

/// E7: ρ(split time, gain) < 0 and the gain at the latest split > 0.
pub(super) fn split_timing(
    id: &str,
    exp: &ExperimentData,
    arms: &[String],
    param: &str,
) -> Outcome {
    let here = present(exp, arms);
    if here.is_empty() {
        return missing_arms(exp, arms);
    }
    let axis = TrendAxis {
        param,
        direction: Direction::Decreasing,
        x_max: None,
        x: None,
    };
    let settings = axis_settings(exp, &axis);
    let (mut rows, mut details) = (Vec::new(), Vec::new());
    for arm in here {
        let (xs, groups): (Vec<f64>, Vec<Vec<f64>>) = settings
            .iter()
            .map(|&(si, x)| (100.0 * x, diff_points(exp, si, arm, "dense")))
            .filter(|(_, d)| !d.is_empty())
            .unzip();
        details.push(format!(
            "`{arm}` paired gain over dense (pp) by split time (% of the schedule): {}.",
            series_text("split", &xs, &groups, &format!("{id}|{}|{arm}", exp.name))
        ));
        let spec = RowSpec::new(
            id,
            &exp.name,
            format!("{arm}: rho(split time, gain)"),
            Unit::Rho,
            Expect::Less,
        );
        if let Some(r) = trend_row(spec, &xs, &groups) {
            details.push(row_line(&r));
            rows.push(r);
        }
        if let (Some(&(si, x)), Some(_)) = (settings.last(), groups.last()) {
            let spec = RowSpec::new(
                id,
                &exp.name,
                format!(
                    "{arm}-dense at the latest split ({} %)",
                    num(Some(100.0 * x))
                ),
                Unit::Points,
                Expect::Greater,
            );
            if let Some(r) = spec.paired(&diff_points(exp, si, arm, "dense")) {
                details.push(row_line(&r));
                rows.push(r);
            }
        }
    }
    Outcome::from_rows(rows, details)
}

/// E9, E10: each arm − dense > 0 in every setting of every named experiment.
pub(super) fn beats_dense(id: &str, exps: &[&ExperimentData], arms: &[String]) -> Outcome {
    let (mut rows, mut details) = (Vec::new(), Vec::new());
    for exp in exps {
        for arm in present(exp, arms) {
            for (si, _) in settings(&exp.summary) {
                let d = diff_points(exp, si, arm, "dense");
                if d.is_empty() {
                    continue;
                }
                let setting = setting_label(exp, si);
                let mut label = format!("{arm}-dense");
                if !setting.is_empty() {
                    label.push_str(&format!(" at {setting}"));
                }
                if exps.len() > 1 {
                    label = format!("{}: {label}", exp.name);
                }
                let spec = RowSpec::new(id, &exp.name, label, Unit::Points, Expect::Greater);
                if let Some(r) = spec.paired(&d) {
                    details.push(format!(
                        "{}: `{arm}` {} vs dense {}; {}",
                        exp.name,
                        acc_text(exp, si, arm),
                        acc_text(exp, si, "dense"),
                        row_line(&r)
                    ));
                    rows.push(r);
                }
            }
        }
    }
    if rows.is_empty() {
        return Outcome::not_run(format!(
            "none of the arms {} ran beside dense",
            arms.join(", ")
        ));
    }
    Outcome::from_rows(rows, details)
}
