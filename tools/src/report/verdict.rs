//! Verdicts: each claim of the paper against our numbers, by an explicit rule.
//!
//! Every rule works on means over seeds per (setting, arm); gains are relative,
//! `acc(arm) / acc(dense) − 1` in the same setting. A rule judges each FPE arm it names that is
//! present; arm verdicts combine as: all *held* → held, all *did not hold* → did not hold,
//! otherwise partly. Missing experiments, arms or settings give *not run*. Each rule is stated
//! in [`RULES_MD`], which REPORT.md prints under "How verdicts are decided"; the thresholds live
//! in `data/paper_reference.toml` beside each claim.

use std::fmt;

use super::derived::FoldTable;
use super::load::ExperimentData;
use super::reference::{Claim, Rule};
use super::stats::{find, param_num};
use super::tables::pct;

mod measures;
mod rules;

/// Markdown text of the rules, for REPORT.md.
pub(crate) const RULES_MD: &str = "\
All rules use means over seeds per (setting, arm); gain = acc(arm) / acc(dense) − 1 in the same setting. \
Each FPE arm named by a claim is judged separately; the claim is *held* if every arm held, *did not hold* if none did, \
and *partly* otherwise. A missing experiment, arm or setting gives *not run*.

- **ordering** (E1): held if mean accuracies strictly decrease in the claimed order (clause > random > dense); \
partly if some FPE arm beats dense but the order is not met; did not hold if no FPE arm beats dense.
- **trend** (E2, E3, E8.3): Spearman ρ between the swept quantity and the gain, signed so that positive is the \
claimed direction: ρ ≥ 0.6 held, 0 < ρ < 0.6 partly, ρ ≤ 0 did not hold (≥ 3 settings needed). E2 uses the \
settings with m ≤ 16 (the growth region the paper names); E8.3 uses classes per neuron = classes / h. If no \
setting has a positive gain, the arm is at most partly (a falling loss is not a falling gain).
- **peak** (E4): held if gain(α=4) ≥ gain(α=2) and gain(α=8) < gain(α=4); partly if exactly one holds.
- **collisions** (E5): held if |z| ≤ 3 for every (k, α) (z = (measured − balanced) / standard error of the \
prediction) and the clause split never collides; partly if one of the two.
- **fold_change** (E6): a fit supports the claim if R² ≥ 0.5 and its slope has the expected sign (capacity +, \
mean |cos| −); held if every such (metric, arm) fit supports it, partly if some, did not hold if none. The other \
metrics are shown without entering the verdict.
- **split_timing** (E7): part A is the trend rule on (split time, accuracy), decreasing; part B: accuracy at the \
latest split > dense. Held if A held and B holds; did not hold if A did not hold and B fails; partly otherwise.
- **small_width** (E8.1): at the two smallest widths and every α, FPE > dense. Held if it wins everywhere and \
the largest ratio acc(FPE)/acc(dense) ≥ 1.5 (\"nearly doubles\"); partly if it wins somewhere; did not hold if \
nowhere.
- **param_equivalent** (E8.2): the number of parameters a dense model needs to reach FPE's accuracy at h = 32, \
α = 4 — interpolated linearly in log nnz along the dense and wide-dense models of E8, sorted by nnz — divided by \
FPE's nnz: ≥ 1.1 held, between 1 and 1.1 partly, ≤ 1 did not hold.
- **beats_dense** (E9, E10): held if the arm's mean accuracy beats dense in every setting, partly if in some, \
did not hold if in none.
";

/// The verdict on one claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The claim held by its rule.
    Held,
    /// Part of the claim held.
    Partly,
    /// The claim did not hold.
    DidNotHold,
    /// No (or not enough) results.
    NotRun,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Held => "held",
            Verdict::Partly => "partly",
            Verdict::DidNotHold => "did not hold",
            Verdict::NotRun => "not run",
        })
    }
}

/// Combines per-arm (or per-part) verdicts; `NotRun` parts are ignored.
pub(crate) fn combine(parts: &[Verdict]) -> Verdict {
    let run: Vec<Verdict> = parts
        .iter()
        .copied()
        .filter(|v| *v != Verdict::NotRun)
        .collect();
    if run.is_empty() {
        Verdict::NotRun
    } else if run.iter().all(|v| *v == Verdict::Held) {
        Verdict::Held
    } else if run.iter().all(|v| *v == Verdict::DidNotHold) {
        Verdict::DidNotHold
    } else {
        Verdict::Partly
    }
}

/// Verdict from a signed rank correlation (positive = the claimed direction).
pub(crate) fn from_rho(rho: Option<f64>) -> Verdict {
    match rho {
        None => Verdict::NotRun,
        Some(r) if r >= 0.6 => Verdict::Held,
        Some(r) if r > 0.0 => Verdict::Partly,
        Some(_) => Verdict::DidNotHold,
    }
}

/// A judged claim.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Our numbers in one line (overview table).
    pub ours: String,
    /// How the verdict came about, one line each.
    pub details: Vec<String>,
}

impl Outcome {
    pub(crate) fn not_run(why: impl Into<String>) -> Self {
        Outcome {
            verdict: Verdict::NotRun,
            ours: "–".into(),
            details: vec![why.into()],
        }
    }
}

/// Accuracy `mean ± std` (%) of `arm` in setting `si`.
pub(crate) fn acc_text(exp: &ExperimentData, si: usize, arm: &str) -> String {
    find(&exp.summary, si, arm)
        .map_or_else(|| "–".into(), |r| format!("{} %", pct(r.acc, r.acc_std)))
}

/// The settings of `exp` whose `key` parses as a number, with that number, sorted by it.
pub(crate) fn numeric_settings(exp: &ExperimentData, key: &str) -> Vec<(usize, f64)> {
    let mut v: Vec<(usize, f64)> = super::stats::settings(&exp.summary)
        .into_iter()
        .filter_map(|(si, p)| p.get(key).and_then(|t| param_num(t)).map(|x| (si, x)))
        .collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    v
}

/// Judges `claim` on the experiments it names (`exps`, already matched) and the E6 table.
pub(crate) fn judge(claim: &Claim, exps: &[&ExperimentData], e6: &FoldTable) -> Outcome {
    if exps.is_empty() {
        return Outcome::not_run(format!("no results for {}", claim.experiments.join(" or ")));
    }
    let with_rows: Vec<&ExperimentData> = exps
        .iter()
        .copied()
        .filter(|e| !e.summary.is_empty() || e.collisions.is_some())
        .collect();
    if with_rows.is_empty() {
        return Outcome::not_run(format!("{} holds no finished runs", exps[0].name));
    }
    match &claim.rule {
        Rule::Ordering { arms } => rules::ordering(with_rows[0], arms, &claim.reported),
        Rule::Trend {
            arms,
            param,
            direction,
            x_max,
            x,
        } => rules::trend(with_rows[0], arms, param, *direction, *x_max, x.as_deref()),
        Rule::Peak {
            arms,
            param,
            low,
            peak,
            high,
        } => rules::peak(with_rows[0], arms, param, [*low, *peak, *high]),
        Rule::Collisions { z_max } => measures::collisions(with_rows[0], *z_max),
        Rule::FoldChange {
            arms,
            r2_min,
            signs,
        } => measures::fold_change(e6, arms, *r2_min, signs),
        Rule::SplitTiming { arms, param } => rules::split_timing(with_rows[0], arms, param),
        Rule::SmallWidth {
            arms,
            param,
            smallest,
        } => measures::small_width(with_rows[0], arms, param, *smallest),
        Rule::ParamEquivalent {
            arms,
            width,
            alpha,
            min_ratio,
        } => measures::param_equivalent(with_rows[0], arms, *width, *alpha, *min_ratio),
        Rule::BeatsDense { arms } => rules::beats_dense(&with_rows, arms),
    }
}

#[cfg(test)]
mod tests;
