//! Rules on accuracy across arms and settings: ordering, trend, peak, split timing, beats dense
//! (see [`super::RULES_MD`]).

use std::collections::BTreeMap;

use super::{Outcome, Verdict, acc_text, combine, from_rho, numeric_settings};
use crate::report::load::ExperimentData;
use crate::report::reference::Direction;
use crate::report::stats::{find, gain, param_count, settings, spearman};
use crate::report::tables::{num, signed_pct};

/// Arms of `want` present in `exp`.
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

/// E1: strict ordering of mean accuracies.
pub(super) fn ordering(
    exp: &ExperimentData,
    arms: &[String],
    reported: &BTreeMap<String, f64>,
) -> Outcome {
    let si = settings(&exp.summary)[0].0;
    let accs: Vec<(&str, f64)> = arms
        .iter()
        .filter_map(|a| find(&exp.summary, si, a)?.acc.map(|v| (a.as_str(), v)))
        .collect();
    let Some(base) = arms.last().filter(|b| accs.iter().any(|(a, _)| a == b)) else {
        return missing_arms(exp, arms);
    };
    if accs.len() < 2 {
        return missing_arms(exp, arms);
    }
    let base_acc = accs.iter().find(|(a, _)| a == base).map_or(0.0, |x| x.1);
    let ordered = accs.len() == arms.len() && accs.windows(2).all(|w| w[0].1 > w[1].1);
    let beats = accs.iter().any(|(a, v)| a != base && *v > base_acc);
    let verdict = if ordered {
        Verdict::Held
    } else if beats {
        Verdict::Partly
    } else {
        Verdict::DidNotHold
    };
    let ours = accs
        .iter()
        .rev()
        .map(|(a, _)| format!("{a} {}", acc_text(exp, si, a)))
        .collect::<Vec<_>>()
        .join(" · ");
    let mut details = vec![format!("Ours: {ours}.")];
    for (a, v) in accs.iter().filter(|(a, _)| a != base) {
        let paper = match (reported.get(*a), reported.get(base.as_str())) {
            (Some(p), Some(d)) => format!(" (paper {:+.1} pp)", 100.0 * (p - d)),
            _ => String::new(),
        };
        details.push(format!(
            "`{a}` − `{base}`: {:+.1} pp{paper}.",
            100.0 * (v - base_acc)
        ));
    }
    if accs.len() < arms.len() {
        details.push(format!(
            "Arms not run: {}.",
            arms.iter()
                .filter(|a| !accs.iter().any(|(b, _)| b == a))
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let std_of = |a: &str| {
        find(&exp.summary, si, a)
            .and_then(|r| r.acc_std)
            .unwrap_or(0.0)
    };
    let noisy: Vec<String> = accs
        .windows(2)
        .filter(|w| (w[0].1 - w[1].1).abs() < std_of(w[0].0).max(std_of(w[1].0)))
        .map(|w| format!("{} vs {}", w[0].0, w[1].0))
        .collect();
    let noise = if noisy.is_empty() {
        String::new()
    } else {
        format!(" (within one seed std: {})", noisy.join(", "))
    };
    details.push(format!(
        "Order {} {}{noise}.",
        arms.join(" > "),
        if ordered { "met" } else { "not met" }
    ));
    Outcome {
        verdict,
        ours,
        details,
    }
}

/// x of a setting for a trend: the parameter, or classes per neuron.
fn trend_x(exp: &ExperimentData, si: usize, param: &str, x: Option<&str>) -> Option<f64> {
    let p = exp.summary.iter().find(|r| r.setting_index == si)?;
    let text = p.params.get(param)?;
    match x {
        Some("classes_per_neuron") => {
            let h = p.hidden.max(1) as f64;
            let dense_h = find(&exp.summary, si, "dense").map_or(h, |d| d.hidden.max(1) as f64);
            param_count(text).map(|c| c / dense_h)
        }
        _ => crate::report::stats::param_x(param, text),
    }
}

/// E2, E3, E8.3: Spearman ρ of (x, gain).
pub(super) fn trend(
    exp: &ExperimentData,
    arms: &[String],
    param: &str,
    dir: Direction,
    x_max: Option<f64>,
    x: Option<&str>,
) -> Outcome {
    let arms_here = present(exp, arms);
    if arms_here.is_empty() || !exp.summary.iter().any(|r| r.arm == "dense") {
        return missing_arms(exp, arms);
    }
    let sign = if dir == Direction::Increasing {
        1.0
    } else {
        -1.0
    };
    let xs: Vec<(usize, f64)> = settings(&exp.summary)
        .into_iter()
        .filter_map(|(si, _)| trend_x(exp, si, param, x).map(|v| (si, v)))
        .filter(|(_, v)| x_max.is_none_or(|m| *v <= m))
        .collect();
    let xname = if x == Some("classes_per_neuron") {
        "classes/neuron".to_string()
    } else {
        param.rsplit('.').next().unwrap_or(param).to_string()
    };
    let (mut verdicts, mut ours, mut details) = (Vec::new(), Vec::new(), Vec::new());
    for arm in arms_here {
        let mut pts: Vec<(f64, f64)> = xs
            .iter()
            .filter_map(|&(si, v)| gain(&exp.summary, si, arm).map(|g| (v, g)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (gx, gy): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
        let rho = spearman(&gx, &gy);
        let mut v = from_rho(rho.map(|r| sign * r));
        let no_gain = !gy.is_empty() && gy.iter().all(|g| *g <= 0.0);
        if v == Verdict::Held && no_gain {
            v = Verdict::Partly;
        }
        verdicts.push(v);
        let best = pts
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|p| format!("; largest at {xname} = {}", num(Some(p.0))))
            .unwrap_or_default();
        let series = pts
            .iter()
            .map(|(x, g)| format!("{} → {}", num(Some(*x)), signed_pct(Some(*g))))
            .collect::<Vec<_>>()
            .join(", ");
        ours.push(format!(
            "{arm}: ρ = {}",
            rho.map_or("–".into(), |r| format!("{r:.2}"))
        ));
        let caveat = if no_gain {
            " (no setting has a positive gain, so at most partly)"
        } else {
            ""
        };
        details.push(format!(
            "`{arm}` gain by {xname}: {series}{best}; Spearman ρ = {}{caveat} → {v}.",
            rho.map_or("– (fewer than 3 settings)".into(), |r| format!("{r:.2}"))
        ));
    }
    if let Some(m) = x_max {
        details.push(format!(
            "Only settings with {xname} ≤ {} enter ρ.",
            num(Some(m))
        ));
    }
    Outcome {
        verdict: combine(&verdicts),
        ours: ours.join("; "),
        details,
    }
}

/// E4: gain(peak) ≥ gain(low) and gain(high) < gain(peak).
pub(super) fn peak(
    exp: &ExperimentData,
    arms: &[String],
    param: &str,
    [low, top, high]: [f64; 3],
) -> Outcome {
    let arms_here = present(exp, arms);
    if arms_here.is_empty() {
        return missing_arms(exp, arms);
    }
    let xs = numeric_settings(exp, param);
    let at = |arm: &str, v: f64| {
        xs.iter()
            .find(|(_, x)| *x == v)
            .and_then(|(si, _)| gain(&exp.summary, *si, arm))
    };
    let (mut verdicts, mut ours, mut details) = (Vec::new(), Vec::new(), Vec::new());
    for arm in arms_here {
        let (gl, gp, gh) = (at(arm, low), at(arm, top), at(arm, high));
        let rise = gl.zip(gp).map(|(l, p)| p >= l);
        let fall = gh.zip(gp).map(|(h, p)| h < p);
        let v = match (rise, fall) {
            (Some(true), Some(true)) => Verdict::Held,
            (Some(false), Some(false)) => Verdict::DidNotHold,
            (Some(_), Some(_)) | (Some(true), None) | (None, Some(true)) => Verdict::Partly,
            (Some(false), None) | (None, Some(false)) => Verdict::DidNotHold,
            (None, None) => Verdict::NotRun,
        };
        verdicts.push(v);
        let g = |x: Option<f64>| signed_pct(x);
        ours.push(format!(
            "{arm}: α {}→{}→{}: {} / {} / {}",
            num(Some(low)),
            num(Some(top)),
            num(Some(high)),
            g(gl),
            g(gp),
            g(gh)
        ));
        let yn = |b: Option<bool>| b.map_or("not measured", |b| if b { "yes" } else { "no" });
        details.push(format!(
            "`{arm}`: gain {} at α={}, {} at α={}, {} at α={}; rises to α={}: {}; falls after: {} → {v}.",
            g(gl),
            num(Some(low)),
            g(gp),
            num(Some(top)),
            g(gh),
            num(Some(high)),
            num(Some(top)),
            yn(rise),
            yn(fall)
        ));
    }
    Outcome {
        verdict: combine(&verdicts),
        ours: ours.join("; "),
        details,
    }
}

/// E7: earlier split better; latest split beats dense.
pub(super) fn split_timing(exp: &ExperimentData, arms: &[String], param: &str) -> Outcome {
    let arms_here = present(exp, arms);
    if arms_here.is_empty() {
        return missing_arms(exp, arms);
    }
    let xs = numeric_settings(exp, param);
    let (mut verdicts, mut ours, mut details) = (Vec::new(), Vec::new(), Vec::new());
    for arm in arms_here {
        let pts: Vec<(usize, f64, f64)> = xs
            .iter()
            .filter_map(|&(si, x)| Some((si, x, find(&exp.summary, si, arm)?.acc?)))
            .collect();
        let (x, y): (Vec<f64>, Vec<f64>) = pts.iter().map(|p| (p.1, p.2)).unzip();
        let rho = spearman(&x, &y);
        let a = from_rho(rho.map(|r| -r));
        let last = pts.last();
        let dense = last.and_then(|p| find(&exp.summary, p.0, "dense")?.acc);
        let b = last.zip(dense).map(|(p, d)| p.2 > d);
        let v = match (a, b) {
            (_, None) => Verdict::NotRun,
            (Verdict::Held, Some(true)) => Verdict::Held,
            (Verdict::DidNotHold, Some(false)) | (Verdict::NotRun, Some(false)) => {
                Verdict::DidNotHold
            }
            _ => Verdict::Partly,
        };
        verdicts.push(v);
        let series = pts
            .iter()
            .map(|p| format!("{} % → {:.2} %", num(Some(100.0 * p.1)), 100.0 * p.2))
            .collect::<Vec<_>>()
            .join(", ");
        ours.push(format!(
            "{arm}: ρ = {}; latest split {} dense",
            rho.map_or("–".into(), |r| format!("{r:.2}")),
            match b {
                Some(true) => ">",
                Some(false) => "≤",
                None => "?",
            }
        ));
        details.push(format!(
            "`{arm}` accuracy by split time: {series}; Spearman ρ(split time, accuracy) = {} (earlier better: {a}); latest split {} vs dense {} → {v}.",
            rho.map_or("–".into(), |r| format!("{r:.2}")),
            last.map_or("–".into(), |p| acc_text(exp, p.0, arm)),
            last.map_or("–".into(), |p| acc_text(exp, p.0, "dense")),
        ));
    }
    Outcome {
        verdict: combine(&verdicts),
        ours: ours.join("; "),
        details,
    }
}

/// E9, E10: each arm > dense in every setting of every named experiment.
pub(super) fn beats_dense(exps: &[&ExperimentData], arms: &[String]) -> Outcome {
    let (mut verdicts, mut ours, mut details) = (Vec::new(), Vec::new(), Vec::new());
    for exp in exps {
        for arm in present(exp, arms) {
            let (mut wins, mut total, mut gains) = (0, 0, Vec::new());
            for (si, _) in settings(&exp.summary) {
                let Some(g) = gain(&exp.summary, si, arm) else {
                    continue;
                };
                total += 1;
                wins += usize::from(g > 0.0);
                gains.push(g);
                let vs_random = if arm != "random" && find(&exp.summary, si, "random").is_some() {
                    format!(", random {}", acc_text(exp, si, "random"))
                } else {
                    String::new()
                };
                let setting = exp
                    .summary
                    .iter()
                    .find(|r| r.setting_index == si)
                    .map(|r| r.setting.clone())
                    .unwrap_or_default();
                let at = if setting.is_empty() {
                    String::new()
                } else {
                    format!(" at {setting}")
                };
                details.push(format!(
                    "{}: `{arm}` {} vs dense {}{vs_random} ({}){at}.",
                    exp.name,
                    acc_text(exp, si, arm),
                    acc_text(exp, si, "dense"),
                    signed_pct(Some(g))
                ));
            }
            let v = match (wins, total) {
                (_, 0) => Verdict::NotRun,
                (w, t) if w == t => Verdict::Held,
                (0, _) => Verdict::DidNotHold,
                _ => Verdict::Partly,
            };
            verdicts.push(v);
            if total > 0 {
                let mean = gains.iter().sum::<f64>() / gains.len() as f64;
                let on = if exps.len() > 1 {
                    format!("{}: ", exp.name)
                } else {
                    String::new()
                };
                ours.push(format!(
                    "{on}{arm} {} ({wins}/{total} settings > dense)",
                    signed_pct(Some(mean))
                ));
            }
        }
    }
    if verdicts.is_empty() {
        return Outcome::not_run(format!(
            "none of the arms {} ran beside dense",
            arms.join(", ")
        ));
    }
    Outcome {
        verdict: combine(&verdicts),
        ours: ours.join("; "),
        details,
    }
}
