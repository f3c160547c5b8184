//! Verdicts: each claim of the paper against our numbers, decided on 95 % intervals.
//!
//! A claim is judged in *rows*: one comparison each (an arm against dense, a trend of one arm,
//! one part of a two-part claim). Every row carries an estimate, its seed-bootstrap interval,
//! the seeds behind it, a paired test where one applies and a verdict by [`RULES_MD`]:
//! **held** when the interval excludes the null value in the claimed direction,
//! **contradicted** when it excludes it the other way, **inconclusive** otherwise. Whether the
//! paper's number lies inside our interval is a separate column. `fpe report --json` prints the
//! rows; REPORT.md shows the same numbers.

use super::derived::FoldTable;
use super::load::ExperimentData;
use super::reference::{Claim, Rule};

mod measures;
mod row;
mod rules;

pub use row::{ClaimRow, Expect, Unit, Verdict};
pub(crate) use row::{MIN_SEEDS, Outcome, estimate_text, p_text, rules_md};

/// Judges `claim` on the experiments it names (`exps`, already matched) and the E6 table.
pub(crate) fn judge(claim: &Claim, exps: &[&ExperimentData], e6: &FoldTable) -> Outcome {
    if exps.is_empty() {
        return Outcome::not_run(format!("no results for {}", claim.experiments.join(" or ")));
    }
    let with_rows: Vec<&ExperimentData> = exps
        .iter()
        .copied()
        .filter(|e| !e.rows.is_empty() || e.collisions.is_some())
        .collect();
    if with_rows.is_empty() {
        return Outcome::not_run(format!("{} holds no finished runs", exps[0].name));
    }
    let id = claim.id.as_str();
    let exp = with_rows[0];
    match &claim.rule {
        Rule::Ordering { arms } => rules::ordering(id, exp, arms, &claim.reported),
        Rule::Trend {
            arms,
            param,
            direction,
            x_max,
            x,
        } => rules::trend(
            id,
            exp,
            arms,
            &rules::TrendAxis {
                param,
                direction: *direction,
                x_max: *x_max,
                x: x.as_deref(),
            },
        ),
        Rule::Peak {
            arms,
            param,
            low,
            peak,
            high,
        } => rules::peak(id, exp, arms, param, [*low, *peak, *high]),
        Rule::Collisions {} => measures::collisions(id, exp),
        Rule::FoldChange { arms, signs } => measures::fold_change(id, e6, arms, signs),
        Rule::SplitTiming { arms, param } => rules::split_timing(id, exp, arms, param),
        Rule::SmallWidth {
            arms,
            param,
            smallest,
        } => measures::small_width(id, exp, arms, param, *smallest, &claim.reported),
        Rule::ParamEquivalent { arms, width, alpha } => {
            measures::param_equivalent(id, exp, arms, *width, *alpha, &claim.reported)
        }
        Rule::BeatsDense { arms } => rules::beats_dense(id, &with_rows, arms),
    }
}

#[cfg(test)]
mod tests;
