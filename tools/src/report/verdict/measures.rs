//! Rules on collision tables, fold-change fits and embedding widths: collisions, fold change,
//! small width, parameter equivalence (see [`super::RULES_MD`]).

use std::collections::BTreeMap;

use super::rules::{missing_arms, present};
use super::{Outcome, Verdict, acc_text, combine, numeric_settings};
use crate::report::derived::FoldTable;
use crate::report::load::ExperimentData;
use crate::report::stats::{find, settings};
use crate::report::tables::num;

/// E5: |z| ≤ z_max everywhere and no clause collisions.
pub(super) fn collisions(exp: &ExperimentData, z_max: f64) -> Outcome {
    let Some(rows) = exp.collisions.as_ref().filter(|r| !r.is_empty()) else {
        return Outcome::not_run(format!("{} has no collisions.json", exp.name));
    };
    let worst = rows
        .iter()
        .max_by(|a, b| a.z.total_cmp(&b.z))
        .expect("non-empty");
    let over = rows
        .iter()
        .filter(|r| r.z.is_nan() || r.z.abs() > z_max)
        .count();
    let clause_max = rows.iter().map(|r| r.clause_measured).fold(0.0, f64::max);
    let (a, b) = (over == 0, clause_max == 0.0);
    let verdict = match (a, b) {
        (true, true) => Verdict::Held,
        (false, false) => Verdict::DidNotHold,
        _ => Verdict::Partly,
    };
    let ours = format!(
        "max |z| = {:.2} (k={}, α={}); clause split collisions: {}",
        worst.z,
        worst.k,
        worst.alpha,
        num(Some(clause_max))
    );
    let details = vec![
        format!(
            "{} (k, α) pairs; {over} with |z| > {z_max}; the largest |z| is {:.2} at k = {}, α = {} (measured {} vs balanced {}).",
            rows.len(),
            worst.z,
            worst.k,
            worst.alpha,
            num(Some(worst.measured)),
            num(Some(worst.theory_balanced))
        ),
        format!(
            "Largest collision rate of the clause split: {}.",
            num(Some(clause_max))
        ),
    ];
    Outcome {
        verdict,
        ours,
        details,
    }
}

/// E6: R² and slope sign of the fold-change fits.
pub(super) fn fold_change(
    e6: &FoldTable,
    arms: &[String],
    r2_min: f64,
    signs: &BTreeMap<String, String>,
) -> Outcome {
    if e6.fits.is_empty() {
        return Outcome::not_run("no E2/E3 setting with dense, an FPE arm and metrics");
    }
    let (mut verdicts, mut ours, mut details) = (Vec::new(), Vec::new(), Vec::new());
    for f in e6.fits.iter().filter(|f| arms.contains(&f.arm)) {
        let Some(r) = &f.fit else {
            details.push(format!(
                "{} / `{}`: no fit ({} point(s) or no spread in gain).",
                f.metric, f.arm, f.n
            ));
            continue;
        };
        let line = format!(
            "{} / `{}`: slope {}, R² = {:.2}, n = {}",
            f.metric,
            f.arm,
            num(Some(r.slope)),
            r.r2,
            f.n
        );
        match signs.get(f.metric) {
            Some(s) => {
                let want = if s == "-" { -1.0 } else { 1.0 };
                let ok = r.r2 >= r2_min && r.slope * want > 0.0;
                verdicts.push(if ok {
                    Verdict::Held
                } else {
                    Verdict::DidNotHold
                });
                ours.push(format!(
                    "{} {}: R² {:.2}, slope {}",
                    f.metric,
                    f.arm,
                    r.r2,
                    if r.slope > 0.0 { "+" } else { "−" }
                ));
                details.push(format!(
                    "{line}; expected sign {s}, R² ≥ {r2_min} → {}.",
                    if ok { "supports" } else { "does not support" }
                ));
            }
            None => details.push(format!("{line} (no expected sign; not in the verdict).")),
        }
    }
    Outcome {
        verdict: combine(&verdicts),
        ours: if ours.is_empty() {
            "–".into()
        } else {
            ours.join("; ")
        },
        details,
    }
}

/// E8.1: FPE > dense at the smallest widths; max ratio ≥ 1.5.
pub(super) fn small_width(
    exp: &ExperimentData,
    arms: &[String],
    param: &str,
    smallest: usize,
) -> Outcome {
    let arms_here = present(exp, arms);
    let xs = numeric_settings(exp, param);
    let mut widths: Vec<f64> = xs.iter().map(|p| p.1).collect();
    widths.dedup();
    let small: Vec<f64> = widths.into_iter().take(smallest.max(1)).collect();
    if arms_here.is_empty() || small.is_empty() {
        return missing_arms(exp, arms);
    }
    let (mut verdicts, mut details) = (Vec::new(), Vec::new());
    let mut best: Option<(f64, String)> = None;
    for arm in arms_here {
        let (mut wins, mut total, mut max_ratio) = (0, 0, 0.0f64);
        for &(si, _) in xs.iter().filter(|(_, x)| small.contains(x)) {
            let (Some(a), Some(d)) = (
                find(&exp.summary, si, arm).and_then(|r| r.acc),
                find(&exp.summary, si, "dense").and_then(|r| r.acc),
            ) else {
                continue;
            };
            total += 1;
            wins += usize::from(a > d);
            if d > 0.0 {
                let ratio = a / d;
                max_ratio = max_ratio.max(ratio);
                let setting = exp
                    .summary
                    .iter()
                    .find(|r| r.setting_index == si)
                    .map(|r| r.setting.clone())
                    .unwrap_or_default();
                if best.as_ref().is_none_or(|b| ratio > b.0) {
                    best = Some((
                        ratio,
                        format!(
                            "{arm} at {setting}: {:.2} % vs dense {:.2} % (ceiling for this dense: {:.2}×)",
                            100.0 * a,
                            100.0 * d,
                            1.0 / d
                        ),
                    ));
                }
            }
        }
        let v = if total == 0 {
            Verdict::NotRun
        } else if wins == total && max_ratio >= 1.5 {
            Verdict::Held
        } else if wins > 0 {
            Verdict::Partly
        } else {
            Verdict::DidNotHold
        };
        verdicts.push(v);
        details.push(format!("`{arm}` beats dense in {wins} of {total} small-width settings; largest ratio {max_ratio:.2}× → {v}."));
    }
    let widths_text = small
        .iter()
        .map(|w| num(Some(*w)))
        .collect::<Vec<_>>()
        .join(", ");
    details.insert(0, format!("Small widths: h ∈ {{{widths_text}}}."));
    let ours = best
        .as_ref()
        .map_or("–".into(), |b| format!("best {:.2}× dense", b.0));
    if let Some(b) = best {
        details.push(format!("Largest ratio: {}.", b.1));
    }
    Outcome {
        verdict: combine(&verdicts),
        ours,
        details,
    }
}

/// Where along the dense curve an accuracy is reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Reach {
    /// Interpolated nnz.
    Exact(f64),
    /// Above every dense model: at least this nnz.
    AtLeast(f64),
    /// Below the smallest dense model: at most this nnz.
    AtMost(f64),
}

/// The nnz at which the dense curve `(nnz, acc)` first reaches `acc`, interpolated in log nnz.
pub(crate) fn dense_equivalent(curve: &[(f64, f64)], acc: f64) -> Option<Reach> {
    let first = curve.first()?;
    if acc <= first.1 {
        return Some(Reach::AtMost(first.0));
    }
    let i = match curve.iter().position(|p| p.1 >= acc) {
        Some(i) => i,
        None => return Some(Reach::AtLeast(curve.last()?.0)),
    };
    let (a, b) = (curve[i - 1], curve[i]);
    let t = (acc - a.1) / (b.1 - a.1);
    Some(Reach::Exact((a.0.ln() + t * (b.0.ln() - a.0.ln())).exp()))
}

/// E8.2: dense parameters needed to match FPE at (width, α).
pub(super) fn param_equivalent(
    exp: &ExperimentData,
    arms: &[String],
    width: f64,
    alpha: f64,
    min_ratio: f64,
) -> Outcome {
    let arms_here = present(exp, arms);
    if arms_here.is_empty() {
        return missing_arms(exp, arms);
    }
    let num_of = |p: &BTreeMap<String, String>, k: &str| {
        p.get(k).and_then(|t| crate::report::stats::param_num(t))
    };
    let all = settings(&exp.summary);
    let target = all.iter().min_by(|a, b| {
        let d = |p: &BTreeMap<String, String>| {
            let h = num_of(p, "model.hidden").unwrap_or(width).max(1e-9);
            (
                (h / width).ln().abs(),
                (num_of(p, "expansion.alpha").unwrap_or(alpha) - alpha).abs(),
            )
        };
        d(&a.1)
            .partial_cmp(&d(&b.1))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let Some((si, params)) = target else {
        return missing_arms(exp, arms);
    };
    let mut details = Vec::new();
    let (h, al) = (
        num_of(params, "model.hidden"),
        num_of(params, "expansion.alpha"),
    );
    if h != Some(width) || al != Some(alpha) {
        details.push(format!(
            "h = {}, α = {} was not run; the nearest setting `{}` is used.",
            num(Some(width)),
            num(Some(alpha)),
            exp.summary
                .iter()
                .find(|r| r.setting_index == *si)
                .map(|r| r.setting.as_str())
                .unwrap_or("")
        ));
    }
    // The dense curve: every dense and wide_dense model of the experiment, one point per nnz.
    let mut by_nnz: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for r in exp
        .summary
        .iter()
        .filter(|r| r.arm == "dense" || r.arm == "wide_dense")
    {
        if let (Some(n), Some(a)) = (r.nnz, r.acc) {
            by_nnz.entry(n.round() as u64).or_default().push(a);
        }
    }
    let curve: Vec<(f64, f64)> = by_nnz
        .into_iter()
        .map(|(n, a)| (n as f64, a.iter().sum::<f64>() / a.len() as f64))
        .collect();
    details.push(format!(
        "Dense curve: {} models ({}).",
        curve.len(),
        curve
            .iter()
            .map(|(n, a)| format!("{n:.0} → {:.2} %", 100.0 * a))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let (mut verdicts, mut ours) = (Vec::new(), Vec::new());
    for arm in arms_here {
        let Some(r) = find(&exp.summary, *si, arm) else {
            continue;
        };
        let (Some(acc), Some(nnz)) = (r.acc, r.nnz) else {
            continue;
        };
        let reach = dense_equivalent(&curve, acc);
        let (v, text) = match reach {
            None => (Verdict::NotRun, "no dense models".to_string()),
            Some(Reach::Exact(n)) | Some(Reach::AtLeast(n)) if n / nnz >= min_ratio => {
                (Verdict::Held, ratio_text(reach, nnz))
            }
            Some(Reach::Exact(n)) | Some(Reach::AtLeast(n)) if n / nnz > 1.0 => {
                (Verdict::Partly, ratio_text(reach, nnz))
            }
            Some(Reach::AtMost(n)) if n / nnz > 1.0 => (Verdict::Partly, ratio_text(reach, nnz)),
            Some(_) => (Verdict::DidNotHold, ratio_text(reach, nnz)),
        };
        verdicts.push(v);
        ours.push(format!("{arm}: {text}"));
        let wide = find(&exp.summary, *si, "wide_dense").and_then(|w| w.acc);
        let dense = find(&exp.summary, *si, "dense").and_then(|d| d.acc);
        let recovered = match (wide, dense) {
            (Some(w), Some(d)) if w > d => format!(
                "; it recovers {:.0} % of the gap from dense to wide_dense ({:.2} %)",
                100.0 * (acc - d) / (w - d),
                100.0 * w
            ),
            (Some(w), _) => format!("; wide_dense {:.2} %", 100.0 * w),
            _ => String::new(),
        };
        details.push(format!("`{arm}`: {} with nnz {nnz:.0}; a dense model needs {text} the parameters{recovered} → {v}.", acc_text(exp, *si, arm)));
    }
    Outcome {
        verdict: combine(&verdicts),
        ours: ours.join("; "),
        details,
    }
}

fn ratio_text(reach: Option<Reach>, nnz: f64) -> String {
    match reach {
        Some(Reach::Exact(n)) => format!("{:.2}×", n / nnz),
        Some(Reach::AtLeast(n)) => format!("≥ {:.2}×", n / nnz),
        Some(Reach::AtMost(n)) => format!("≤ {:.2}×", n / nnz),
        None => "–".into(),
    }
}
