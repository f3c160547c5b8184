//! One row of a verdict: the estimate, its interval and test, the verdict by the rules, and how
//! REPORT.md prints it. Leaf of the verdict module: the rule and measure modules build rows.

use std::fmt;

use serde::Serialize;

use crate::inference::{Interval, RESAMPLES, rng_for, seeds_needed, sign_flip_p};

/// Seeds a seed-based row needs before it can be held or contradicted: the fewest with which
/// the exact sign-flip test can reach p < 0.05 (2/2⁶ = 0.031).
pub(crate) const MIN_SEEDS: usize = 6;

/// Markdown text of the rules, for REPORT.md.
pub(crate) fn rules_md() -> String {
    format!(
        "\
Each claim is judged in rows, one comparison per row. A row's **estimate** comes with a two-sided 95 % \
**interval** from a seed bootstrap ({RESAMPLES} resamples, percentile interval, seeded so the report is \
deterministic). Arms of one seed share their warm-up, data and batch order, so comparisons are **paired by seed**: \
a difference is computed seed by seed (in accuracy points, pp) and the seeds are resampled. Trends resample \
the seeds within each setting independently and recompute the trend on every resample. Where a paired \
difference is the estimate, the row also gives the wins (seeds where the arm is ahead) and the two-sided \
p-value of the exact sign-flip permutation test (all 2ⁿ sign patterns; Monte Carlo with 200,000 patterns \
above 22 seeds).

- **held**: the interval excludes the null value (0 for differences, trends and slopes; 1 for ratios) in the \
claimed direction;
- **contradicted**: it excludes the null value in the opposite direction;
- **inconclusive**: otherwise, and always when a seed-based row has fewer than {MIN_SEEDS} seeds (with fewer, \
the exact paired test cannot reach p < 0.05). An inconclusive row states roughly how many seeds would \
resolve it: n · ((1.96 + 0.84) · s.e. / |estimate − null|)², the count at which an interval that shrinks as \
1/√n would exclude the null with 80 % power if the estimate stayed where it is.
- For an **equality** claim (E5: measured collision rate = theory), the interval is the measured rate ± 1.96 \
binomial standard errors minus the prediction: held if it contains 0, contradicted otherwise.
- **Matches the paper** is separate from the verdict: whether the paper's number lies inside our interval \
(only where the paper gives a number).
- A claim with several rows is summarised by counting its rows' verdicts.

The rows of each claim:

- **E1** ordering: the paired differences clause − random, clause − dense and random − dense, each claimed > 0; \
the paper's differences (99.4 − 88.7, 99.4 − 78.7, 88.7 − 78.7 pp) are checked against our intervals.
- **E2, E3, E8.3** trend: Spearman ρ between the swept quantity and the mean paired gain (acc(arm) − acc(dense), \
pp) of each setting, claimed > 0 (E2, E8.3) or < 0 (E3). E2 uses m ≤ 16, the growth region the paper names; \
E8.3 uses classes per neuron = classes / h.
- **E4** peak, two paired contrasts per arm: gain(α = 4) − gain(α = 2) claimed > 0, gain(α = 8) − gain(α = 4) \
claimed < 0.
- **E5** collisions: one equality row per (k, α) against the balanced (hypergeometric) prediction, and one for \
the clause split, claimed 0 collisions.
- **E6** fold change: per sweep (E2, E3) and pooled, per arm, the least-squares slope of metric(FPE)/metric(dense) \
against the paired gain (pp), one point per run (seed × setting); capacity claimed > 0, mean |cos| claimed < 0. \
The interval resamples seeds within each setting; R² and the number of points are shown beside it.
- **E7** split timing, two rows per arm: Spearman ρ(split time, gain) claimed < 0; the paired gain at the \
latest split claimed > 0.
- **E8.1** small widths: per arm, α and each of the two smallest widths, the ratio acc(FPE)/acc(dense) of \
seed means, claimed > 1; the paper's ≈ 2 (\"nearly doubles\") is checked against the interval.
- **E8.2** parameter equivalence: the parameters a dense model needs to reach FPE's accuracy at h = 32, \
α = 4 (interpolated in log nnz along the dense and wide_dense models of E8), over FPE's, claimed > 1; the \
paper's 1.2 is checked against the interval. Accuracies beyond the dense curve count as its end.
- **E9, E10** beats dense: the paired difference to dense in every setting, claimed > 0.
"
    )
}

/// The verdict of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval excludes the null in the claimed direction.
    Held,
    /// The interval excludes the null in the opposite direction.
    Contradicted,
    /// Neither.
    Inconclusive,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Held => "held",
            Verdict::Contradicted => "contradicted",
            Verdict::Inconclusive => "inconclusive",
        })
    }
}

/// What the claim says about the estimate relative to the null value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Estimate > null.
    Greater,
    /// Estimate < null.
    Less,
    /// Estimate = null.
    Equal,
}

/// The unit of a row's estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Accuracy points (percent).
    Points,
    /// Spearman ρ.
    Rho,
    /// A ratio (null 1).
    Ratio,
    /// Least-squares slope (fold change per accuracy point).
    Slope,
    /// Rate difference (collisions).
    Rate,
}

/// One judged comparison: the machine-readable unit of a verdict (`fpe report --json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimRow {
    /// Claim id (`E1`, `E8.2`, …).
    pub id: String,
    /// What is compared (`random-dense`, `random: rho(clauses, gain)`, …).
    pub comparison: String,
    /// Experiment directory the row is computed from.
    pub experiment: String,
    /// Unit of `estimate`.
    pub unit: Unit,
    /// The estimate on the data as observed.
    pub estimate: f64,
    /// Lower end of the 95 % interval.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
    /// The value the claim is tested against.
    pub null_value: f64,
    /// Claimed direction.
    pub expected: Expect,
    /// Seeds behind the estimate (the smallest count of any setting it uses); for E5, parents.
    pub n_seeds: usize,
    /// Two-sided p-value of the paired sign-flip test, where the estimate is a paired difference.
    pub p_value: Option<f64>,
    /// Seeds where the arm is ahead, for paired differences.
    pub wins: Option<usize>,
    /// The verdict.
    pub verdict: Verdict,
    /// The paper's number, where it gives one (same unit).
    pub paper_value: Option<f64>,
    /// Whether the paper's number lies inside our interval.
    pub paper_in_ci: Option<bool>,
    /// Rough seed count that would resolve an inconclusive row.
    pub seeds_to_resolve: Option<usize>,
    /// R² of a fitted line (E6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r2: Option<f64>,
    /// Points of a fit (E6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_points: Option<usize>,
}

/// How a row is set up before its numbers are known.
#[derive(Clone, Debug)]
pub(crate) struct RowSpec {
    /// Claim id.
    pub id: String,
    /// Comparison label.
    pub comparison: String,
    /// Experiment name.
    pub experiment: String,
    /// Unit.
    pub unit: Unit,
    /// Claimed direction.
    pub expect: Expect,
    /// Null value.
    pub null: f64,
    /// The paper's number.
    pub paper: Option<f64>,
}

impl RowSpec {
    /// A row of `unit` claimed `expect` against `null` (0 for differences, 1 for ratios).
    pub(crate) fn new(
        id: &str,
        experiment: &str,
        comparison: impl Into<String>,
        unit: Unit,
        expect: Expect,
    ) -> Self {
        RowSpec {
            id: id.into(),
            comparison: comparison.into(),
            experiment: experiment.into(),
            unit,
            expect,
            null: if unit == Unit::Ratio { 1.0 } else { 0.0 },
            paper: None,
        }
    }

    /// With the paper's number.
    pub(crate) fn paper(mut self, v: Option<f64>) -> Self {
        self.paper = v;
        self
    }

    /// The bootstrap generator of this row (deterministic per claim, experiment and comparison).
    pub(crate) fn rng(&self) -> rand_chacha::ChaCha8Rng {
        rng_for(&format!(
            "{}|{}|{}",
            self.id, self.experiment, self.comparison
        ))
    }

    /// The judged row from an interval over `n` seeds (`seed_based`: the minimum seed count
    /// applies).
    pub(crate) fn judge(self, iv: Interval, n: usize, seed_based: bool) -> ClaimRow {
        let null = self.null;
        let excludes_above = iv.lo > null;
        let excludes_below = iv.hi < null;
        let enough = !seed_based || n >= MIN_SEEDS;
        let verdict = match self.expect {
            _ if !enough => Verdict::Inconclusive,
            Expect::Equal if iv.contains(null) => Verdict::Held,
            Expect::Equal => Verdict::Contradicted,
            Expect::Greater if excludes_above => Verdict::Held,
            Expect::Greater if excludes_below => Verdict::Contradicted,
            Expect::Less if excludes_below => Verdict::Held,
            Expect::Less if excludes_above => Verdict::Contradicted,
            _ => Verdict::Inconclusive,
        };
        let seeds_to_resolve = (verdict == Verdict::Inconclusive && seed_based)
            .then(|| seeds_needed(n, &iv, null).map(|s| s.max(MIN_SEEDS)))
            .flatten();
        ClaimRow {
            id: self.id,
            comparison: self.comparison,
            experiment: self.experiment,
            unit: self.unit,
            estimate: iv.estimate,
            ci_low: iv.lo,
            ci_high: iv.hi,
            null_value: null,
            expected: self.expect,
            n_seeds: n,
            p_value: None,
            wins: None,
            verdict,
            paper_value: self.paper,
            paper_in_ci: self.paper.map(|p| iv.contains(p)),
            seeds_to_resolve,
            r2: None,
            n_points: None,
        }
    }

    /// A row on the mean of paired differences `d` (points), with wins and the sign-flip p.
    /// `None` without differences.
    pub(crate) fn paired(self, d: &[f64]) -> Option<ClaimRow> {
        let iv = crate::inference::bootstrap_mean(d, &mut self.rng())?;
        let mut row = self.judge(iv, d.len(), true);
        row.p_value = sign_flip_p(d);
        row.wins = Some(crate::paired::wins(d).0);
        Some(row)
    }
}

/// A judged claim: its rows, a one-line summary and how the rows came about.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outcome {
    /// The rows, each with its verdict.
    pub rows: Vec<ClaimRow>,
    /// Our numbers in one line (overview table).
    pub ours: String,
    /// Notes: per-setting numbers, what was not run.
    pub details: Vec<String>,
}

impl Outcome {
    pub(crate) fn not_run(why: impl Into<String>) -> Self {
        Outcome {
            rows: Vec::new(),
            ours: "–".into(),
            details: vec![why.into()],
        }
    }

    /// From rows, with the overview line made of their short forms.
    pub(crate) fn from_rows(rows: Vec<ClaimRow>, details: Vec<String>) -> Self {
        if rows.is_empty() {
            let why = details
                .first()
                .cloned()
                .unwrap_or_else(|| "no comparison could be made".into());
            return Outcome::not_run(why);
        }
        // The overview names up to four rows; longer claims point to the row table.
        let mut ours = rows
            .iter()
            .take(4)
            .map(short)
            .collect::<Vec<_>>()
            .join("; ");
        if rows.len() > 4 {
            ours.push_str(&format!(
                "; … {} more rows in the table below",
                rows.len() - 4
            ));
        }
        Outcome {
            rows,
            ours,
            details,
        }
    }

    /// The claim's verdict in words: one verdict when every row agrees, else the counts
    /// (`2 held, 1 inconclusive`); `not run` without rows.
    pub(crate) fn verdict_text(&self) -> String {
        if self.rows.is_empty() {
            return "not run".into();
        }
        let count = |v: Verdict| self.rows.iter().filter(|r| r.verdict == v).count();
        let parts: Vec<String> = [Verdict::Held, Verdict::Inconclusive, Verdict::Contradicted]
            .into_iter()
            .filter(|v| count(*v) > 0)
            .map(|v| (v, count(v)))
            .map(|(v, c)| {
                if c == self.rows.len() {
                    v.to_string()
                } else {
                    format!("{c} {v}")
                }
            })
            .collect();
        parts.join(", ")
    }
}

/// An estimate with its interval in the row's unit: `+3.2 pp [−0.5, +6.9]`.
pub(crate) fn estimate_text(r: &ClaimRow) -> String {
    let f = |v: f64| match r.unit {
        Unit::Points => format!("{v:+.1}"),
        Unit::Rho => format!("{v:+.2}"),
        Unit::Ratio => format!("{v:.2}"),
        Unit::Slope => crate::tables::num(Some(v)),
        Unit::Rate if v == 0.0 => "0".into(),
        Unit::Rate => format!("{v:+.1e}"),
    };
    let unit = match r.unit {
        Unit::Points => " pp",
        Unit::Ratio => "×",
        _ => "",
    };
    format!(
        "{}{unit} [{}, {}]",
        f(r.estimate),
        f(r.ci_low),
        f(r.ci_high)
    )
}

/// A p-value in three decimals, `< 0.001` below.
pub(crate) fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// `comparison estimate [lo, hi] (verdict)` for the overview.
pub(super) fn short(r: &ClaimRow) -> String {
    format!("{} {} ({})", r.comparison, estimate_text(r), r.verdict)
}
