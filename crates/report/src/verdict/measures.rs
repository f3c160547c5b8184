//! Rules on collision tables, fold-change fits and embedding widths: collisions, fold change,
//! small width, parameter equivalence (see [`super::row::rules_md`]).

use std::collections::BTreeMap;

use super::row::{Expect, Outcome, RowSpec, Unit};
use super::rules::{acc_text, missing_arms, present, row_line, setting_label};
use crate::derived::{FoldTable, POOLED};
use crate::inference::{Interval, bootstrap_groups, mean};
use crate::load::ExperimentData;
use crate::paired::{accuracies, diff_points, join};
use crate::stats::{param_num, settings};
use crate::tables::num;

/// z of a two-sided 95 % normal interval.
const Z95: f64 = 1.959_964;

/// E5: measured collision rate = the balanced prediction per (k, α); the clause split never
/// collides.
pub(super) fn collisions(id: &str, exp: &ExperimentData) -> Outcome {
    let Some(table) = exp.collisions.as_ref().filter(|r| !r.is_empty()) else {
        return Outcome::not_run(format!("{} has no collisions.json", exp.name));
    };
    let (mut rows, mut details) = (Vec::new(), Vec::new());
    for c in table {
        let spec = RowSpec::new(
            id,
            &exp.name,
            format!("random k={} α={}: measured - balanced theory", c.k, c.alpha),
            Unit::Rate,
            Expect::Equal,
        );
        let d = c.measured - c.theory_balanced;
        let iv = Interval {
            estimate: d,
            lo: d - Z95 * c.stderr,
            hi: d + Z95 * c.stderr,
            se: c.stderr,
        };
        let r = spec.judge(iv, c.trials, false);
        details.push(format!(
            "k = {}, α = {}: measured {} ± {} (s.e., {} parents) vs balanced {} (independent α^−(2k−1) = {}), z = {:.2} → **{}**.",
            c.k,
            c.alpha,
            num(Some(c.measured)),
            num(Some(c.stderr)),
            c.trials,
            num(Some(c.theory_balanced)),
            num(Some(c.theory_independent)),
            c.z,
            r.verdict
        ));
        rows.push(r);
    }
    // The clause split: 0 collisions claimed. Interval: 0 to the rule-of-three bound when none
    // was seen, else the normal interval of the measured rate.
    let trials: usize = table.iter().map(|c| c.trials).sum();
    let worst = table
        .iter()
        .max_by(|a, b| a.clause_measured.total_cmp(&b.clause_measured))
        .expect("non-empty");
    let p = worst.clause_measured;
    let iv = if p == 0.0 {
        Interval {
            estimate: 0.0,
            lo: 0.0,
            hi: 3.0 / worst.trials.max(1) as f64,
            se: 0.0,
        }
    } else {
        let se = (p * (1.0 - p) / worst.trials.max(1) as f64).sqrt();
        Interval {
            estimate: p,
            lo: (p - Z95 * se).max(0.0),
            hi: p + Z95 * se,
            se,
        }
    };
    let spec = RowSpec::new(
        id,
        &exp.name,
        "clause split: collision rate",
        Unit::Rate,
        Expect::Equal,
    );
    let r = spec.judge(iv, trials, false);
    details.push(format!(
        "Clause split: largest collision rate {} over the (k, α) pairs ({trials} parents in all) → **{}**.",
        num(Some(p)),
        r.verdict
    ));
    rows.push(r);
    details.push("Each (k, α) row is a separate 95 % test, so about one in twenty would be contradicted by chance alone if the theory were exact.".into());
    Outcome::from_rows(rows, details)
}

/// E6: the slope of fold change against paired gain, per sweep and pooled, in the expected sign.
pub(super) fn fold_change(
    id: &str,
    e6: &FoldTable,
    arms: &[String],
    signs: &BTreeMap<String, String>,
) -> Outcome {
    let (mut rows, mut details) = (Vec::new(), Vec::new());
    for scope in e6.scopes() {
        for f in e6
            .fits
            .iter()
            .filter(|f| f.scope == scope && arms.contains(&f.arm))
        {
            let Some((slope, _, r2)) = f.fit else {
                continue;
            };
            let Some(sign) = signs.get(f.metric) else {
                details.push(format!(
                    "{scope}: `{}` fold against gain for `{}`: slope {}, R² {r2:.2}, {} points (no direction claimed; not judged).",
                    f.metric,
                    f.arm,
                    num(Some(slope)),
                    f.n
                ));
                continue;
            };
            let expect = if sign == "-" {
                Expect::Less
            } else {
                Expect::Greater
            };
            let label = format!("{} ~ gain, {}, {scope}", f.metric, f.arm);
            let spec = RowSpec::new(id, &scope, label, Unit::Slope, expect);
            let iv = f.slope_ci.unwrap_or_else(|| Interval::point(slope));
            let mut r = spec.judge(iv, f.seeds, true);
            r.r2 = Some(r2);
            r.n_points = Some(f.n);
            details.push(format!("{} R² = {r2:.2} over {} runs.", row_line(&r), f.n));
            rows.push(r);
        }
    }
    if rows.is_empty() {
        return Outcome::not_run("no fold-change fit (E2/E3 missing, or no metrics)");
    }
    details.push(format!(
        "The paper reads a strong correlation (Fig. 3c) across settings; here each run is a point and each sweep is fitted alone and pooled ({POOLED}), so a slope that holds in one sweep only is visible."
    ));
    Outcome::from_rows(rows, details)
}

/// Bootstrap of the ratio of seed means acc(arm)/acc(dense), resampling paired seeds.
fn ratio_interval(pairs: &[(f64, f64)], spec: &RowSpec) -> Option<Interval> {
    let stat = |g: &[Vec<(f64, f64)>]| {
        let (a, d): (Vec<f64>, Vec<f64>) = g[0].iter().copied().unzip();
        let md = mean(&d);
        if md > 0.0 { mean(&a) / md } else { f64::NAN }
    };
    bootstrap_groups(&[pairs.to_vec()], &mut spec.rng(), stat)
}

/// E8.1: acc(FPE)/acc(dense) > 1 at the smallest widths, per arm and α.
pub(super) fn small_width(
    id: &str,
    exp: &ExperimentData,
    arms: &[String],
    param: &str,
    smallest: usize,
    reported: &BTreeMap<String, f64>,
) -> Outcome {
    let here = present(exp, arms);
    let mut widths: Vec<f64> = settings(&exp.summary)
        .iter()
        .filter_map(|(_, p)| p.get(param).and_then(|t| param_num(t)))
        .collect();
    widths.sort_by(f64::total_cmp);
    widths.dedup();
    let small: Vec<f64> = widths.into_iter().take(smallest.max(1)).collect();
    if here.is_empty() || small.is_empty() {
        return missing_arms(exp, arms);
    }
    let (mut rows, mut details) = (Vec::new(), Vec::new());
    for arm in here {
        for (si, p) in settings(&exp.summary) {
            if !p
                .get(param)
                .and_then(|t| param_num(t))
                .is_some_and(|h| small.contains(&h))
            {
                continue;
            }
            let pairs: Vec<(f64, f64)> =
                join(&accuracies(exp, si, arm), &accuracies(exp, si, "dense"))
                    .into_iter()
                    .map(|(_, a, d)| (a, d))
                    .collect();
            if pairs.is_empty() {
                continue;
            }
            let setting = setting_label(exp, si);
            let spec = RowSpec::new(
                id,
                &exp.name,
                format!("{arm}/dense at {setting}"),
                Unit::Ratio,
                Expect::Greater,
            )
            .paper(reported.get("ratio").copied());
            let Some(iv) = ratio_interval(&pairs, &spec) else {
                continue;
            };
            let mut r = spec.judge(iv, pairs.len(), true);
            let d = diff_points(exp, si, arm, "dense");
            r.p_value = crate::inference::sign_flip_p(&d);
            r.wins = Some(crate::paired::wins(&d).0);
            let ceiling = pairs.iter().map(|p| p.1).sum::<f64>() / pairs.len() as f64;
            details.push(format!(
                "{} `{arm}` {} vs dense {} (the largest possible ratio over this dense model is {:.2}×).",
                row_line(&r),
                acc_text(exp, si, arm),
                acc_text(exp, si, "dense"),
                1.0 / ceiling
            ));
            rows.push(r);
        }
    }
    details.insert(
        0,
        format!(
            "Small widths: h ∈ {{{}}}.",
            small
                .iter()
                .map(|w| num(Some(*w)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    Outcome::from_rows(rows, details)
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

impl Reach {
    /// The nnz, a bound taken as its value.
    fn value(self) -> f64 {
        match self {
            Reach::Exact(n) | Reach::AtLeast(n) | Reach::AtMost(n) => n,
        }
    }
}

/// The nnz at which the dense curve `(nnz, acc)` (sorted by nnz) first reaches `acc`,
/// interpolated in log nnz.
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

/// The setting nearest to (width, α) in log width, then α.
fn nearest_setting(
    exp: &ExperimentData,
    width: f64,
    alpha: f64,
) -> Option<(usize, BTreeMap<String, String>)> {
    let num_of = |p: &BTreeMap<String, String>, k: &str| p.get(k).and_then(|t| param_num(t));
    settings(&exp.summary).into_iter().min_by(|a, b| {
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
    })
}

/// E8.2: the dense parameters needed to match FPE at (width, α), over FPE's, with a bootstrap
/// interval (seeds resampled within every model of the curve and the FPE arm).
pub(super) fn param_equivalent(
    id: &str,
    exp: &ExperimentData,
    arms: &[String],
    width: f64,
    alpha: f64,
    reported: &BTreeMap<String, f64>,
) -> Outcome {
    let here = present(exp, arms);
    let Some((si, params)) = nearest_setting(exp, width, alpha).filter(|_| !here.is_empty()) else {
        return missing_arms(exp, arms);
    };
    let mut details = Vec::new();
    let num_of = |k: &str| params.get(k).and_then(|t| param_num(t));
    if num_of("model.hidden") != Some(width) || num_of("expansion.alpha") != Some(alpha) {
        details.push(format!(
            "h = {}, α = {} was not run; the nearest setting `{}` is used.",
            num(Some(width)),
            num(Some(alpha)),
            setting_label(exp, si)
        ));
    }
    // The dense curve: every dense and wide_dense model, one per nnz (dense repeats across α).
    let mut curve_groups: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for r in exp
        .summary
        .iter()
        .filter(|r| r.arm == "dense" || r.arm == "wide_dense")
    {
        if let Some(n) = r.nnz {
            let accs: Vec<f64> = accuracies(exp, r.setting_index, &r.arm)
                .into_values()
                .collect();
            if !accs.is_empty() {
                curve_groups.entry(n.round() as u64).or_insert(accs);
            }
        }
    }
    let nnzs: Vec<f64> = curve_groups.keys().map(|n| *n as f64).collect();
    let groups: Vec<Vec<f64>> = curve_groups.into_values().collect();
    details.push(format!(
        "Dense curve: {} models ({}).",
        nnzs.len(),
        nnzs.iter()
            .zip(&groups)
            .map(|(n, g)| format!("{n:.0} → {:.2} %", 100.0 * mean(g)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut rows = Vec::new();
    for arm in here {
        let Some(nnz) = exp
            .summary
            .iter()
            .find(|r| r.setting_index == si && r.arm == arm)
            .and_then(|r| r.nnz)
        else {
            continue;
        };
        let fpe: Vec<f64> = accuracies(exp, si, arm).into_values().collect();
        if fpe.is_empty() || groups.is_empty() {
            continue;
        }
        let mut all = groups.clone();
        all.push(fpe.clone());
        let nn = nnzs.clone();
        let stat = move |g: &[Vec<f64>]| {
            let (fpe, curve) = g.split_last().expect("FPE group last");
            let c: Vec<(f64, f64)> = nn
                .iter()
                .copied()
                .zip(curve.iter().map(|v| mean(v)))
                .collect();
            dense_equivalent(&c, mean(fpe)).map_or(f64::NAN, |r| r.value() / nnz)
        };
        let spec = RowSpec::new(
            id,
            &exp.name,
            format!(
                "{arm}: dense-equivalent parameters / FPE parameters at {}",
                setting_label(exp, si)
            ),
            Unit::Ratio,
            Expect::Greater,
        )
        .paper(reported.get("param_ratio").copied());
        let Some(iv) = bootstrap_groups(&all, &mut spec.rng(), stat) else {
            continue;
        };
        let n = all.iter().map(Vec::len).min().unwrap_or(0);
        let r = spec.judge(iv, n, true);
        let curve: Vec<(f64, f64)> = nnzs
            .iter()
            .copied()
            .zip(groups.iter().map(|v| mean(v)))
            .collect();
        let bound = match dense_equivalent(&curve, mean(&fpe)) {
            Some(Reach::AtLeast(_)) => " (beyond the largest dense model: a lower bound)",
            Some(Reach::AtMost(_)) => " (below the smallest dense model: an upper bound)",
            _ => "",
        };
        let wide = acc_text(exp, si, "wide_dense");
        details.push(format!(
            "`{arm}`: {} with nnz {nnz:.0}; dense {}; wide_dense {wide}. {}{bound}",
            acc_text(exp, si, arm),
            acc_text(exp, si, "dense"),
            row_line(&r)
        ));
        rows.push(r);
    }
    Outcome::from_rows(rows, details)
}
