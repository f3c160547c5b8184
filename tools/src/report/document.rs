//! REPORT.md: provenance, the data substitution, each paper claim beside our numbers with its
//! verdict, the per-experiment tables and plots, the verdict rules, and every choice.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::choices::{CHOICES_MD, SUBSTITUTION};
use super::derived::{E6_DIR, FoldTable};
use super::figures::Figure;
use super::load::ExperimentData;
use super::reference::Claim;
use super::tables::{num, summary_markdown};
use super::verdict::{Outcome, RULES_MD};

/// Everything REPORT.md is made of.
pub(crate) struct Inputs<'a> {
    /// Output root.
    pub out: &'a Path,
    /// Experiments found, in order.
    pub exps: &'a [ExperimentData],
    /// Plots per experiment name.
    pub figures: &'a BTreeMap<String, Vec<Figure>>,
    /// The derived E6 table and its plots (`None` without E2/E3).
    pub e6: Option<(&'a FoldTable, &'a [Figure])>,
    /// Claims with their outcome and the experiments they were judged on.
    pub claims: &'a [(Claim, Outcome, Vec<String>)],
    /// Where the claims came from, and problems reading them.
    pub reference_source: &'a str,
    /// Problems met while reading the reference.
    pub reference_problems: &'a [String],
    /// Experiments named by claims that have no results.
    pub not_run: &'a [String],
}

/// `YYYY-MM-DD HH:MM UTC` of the system clock.
pub(crate) fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Short git revision of the working directory, with a mark for uncommitted changes.
fn git_revision() -> Option<String> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let rev = run(&["rev-parse", "--short", "HEAD"]).filter(|r| !r.is_empty())?;
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("`{rev}` (with uncommitted changes)")
    } else {
        format!("`{rev}`")
    })
}

fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(first) = args.first_mut() {
        *first = Path::new(first.as_str())
            .file_name()
            .map_or_else(|| first.clone(), |n| n.to_string_lossy().into_owned());
    }
    args.join(" ")
}

fn substitution_note() -> String {
    format!("> **Data substitution:** {SUBSTITUTION}.\n")
}

fn collisions_markdown(rows: &[crate::collisions::CollisionRow]) -> String {
    let mut out = String::from(
        "| k | α | inputs | trials | measured ± s.e. | balanced theory | independent α^−(2k−1) | z | clause split |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} ± {} | {} | {} | {:.2} | {} |",
            r.k,
            r.alpha,
            r.inputs,
            r.trials,
            num(Some(r.measured)),
            num(Some(r.stderr)),
            num(Some(r.theory_balanced)),
            num(Some(r.theory_independent)),
            r.z,
            num(Some(r.clause_measured))
        );
    }
    out
}

/// The E5 table alone, for `summary.md` of a collisions experiment.
pub(crate) fn collisions_summary(exp: &ExperimentData) -> Option<String> {
    exp.collisions.as_ref().map(|rows| {
        format!(
            "# {} — collisions against theory\n\nz = |measured − balanced| / standard error of the balanced prediction.\n\n{}",
            exp.name,
            collisions_markdown(rows)
        )
    })
}

fn figures_md(out: &mut String, figs: &[Figure]) {
    for f in figs {
        let svg = f.png.trim_end_matches(".png");
        let _ = writeln!(
            out,
            "![{}]({})\n\n_{}_ ([SVG]({svg}.svg))\n",
            f.caption, f.png, f.caption
        );
    }
}

fn heading(e: &ExperimentData) -> String {
    if e.title.is_empty() {
        e.name.clone()
    } else {
        format!("{} — {}", e.name, e.title)
    }
}

/// Renders REPORT.md.
pub(crate) fn render(inp: &Inputs<'_>) -> String {
    let mut o = String::from("# Fixed Parameter Expansion — reproduction report\n\n");
    let rows: usize = inp.exps.iter().map(|e| e.rows.len()).sum();
    let failed: usize = inp.exps.iter().map(|e| e.failed().len()).sum();
    let wall: f64 = inp
        .exps
        .iter()
        .flat_map(|e| &e.rows)
        .map(|r| r.wall_seconds)
        .sum();
    let _ = writeln!(
        o,
        "Reproduction of *Expand Neurons, Not Parameters* (arXiv:2510.04500) with `fpe`, rebuilt from the result files under `{}` alone (`fpe report DIR` recreates this file, every table and every plot).\n",
        inp.out.display()
    );
    let _ = writeln!(o, "- Command: `{}`", command_line());
    let _ = writeln!(o, "- Date: {}", utc_now());
    let _ = writeln!(
        o,
        "- Code: {}",
        git_revision()
            .unwrap_or_else(|| "git revision unknown (not run inside a git checkout)".into())
    );
    let _ = writeln!(
        o,
        "- Runs: {rows} result rows ({failed} failed) in {} experiment directories; summed run time {:.1} s ({:.2} h; units run in parallel, so the elapsed time was shorter)",
        inp.exps.len(),
        wall,
        wall / 3600.0
    );
    let _ = writeln!(o, "- Paper claims read from {}\n", inp.reference_source);
    for p in inp.reference_problems {
        let _ = writeln!(o, "> Note: {p}\n");
    }
    o.push_str(&substitution_note());
    o.push_str("> It affects E8, E9 and the embedding runs of E10; each of their sections repeats this note.\n\n");

    o.push_str("## Claims at a glance\n\n| claim | paper | ours | verdict |\n|---|---|---|---|\n");
    for (c, out, _) in inp.claims {
        let _ = writeln!(
            o,
            "| [{}](#{}) {} | {} | {} | **{}** |",
            c.id,
            anchor(c),
            c.title,
            c.summary,
            out.ours.replace('|', "\\|"),
            out.verdict
        );
    }
    o.push_str("\nVerdicts follow the rules under [How verdicts are decided](#how-verdicts-are-decided); accuracies are mean ± sample std over seeds.\n\n");

    o.push_str("## Claims in detail\n\n");
    for (c, out, used) in inp.claims {
        let _ = writeln!(o, "### {} — {}\n", c.id, c.title);
        let _ = writeln!(o, "**Paper:** {}\n", c.paper);
        let on = if used.is_empty() {
            format!("{} (not run)", c.experiments.join(", "))
        } else {
            used.join(", ")
        };
        let _ = writeln!(o, "**Judged on:** {on} · rule `{}`\n", rule_name(c));
        if used
            .iter()
            .any(|n| inp.exps.iter().any(|e| e.name == *n && e.is_embeddings()))
        {
            o.push_str(&substitution_note());
            o.push('\n');
        }
        for d in &out.details {
            let _ = writeln!(o, "- {d}");
        }
        let _ = writeln!(o, "\n**Verdict: {}**\n", out.verdict);
    }

    o.push_str("## Experiments\n\n");
    if !inp.not_run.is_empty() {
        let names: Vec<String> = inp.not_run.iter().map(|n| format!("`{n}`")).collect();
        let _ = writeln!(
            o,
            "Not run (no results under the output directory): {}.\n",
            names.join(", ")
        );
    }
    for e in inp.exps {
        let _ = writeln!(o, "### {}\n", heading(e));
        if e.is_embeddings() {
            o.push_str(&substitution_note());
            o.push('\n');
        }
        for n in &e.notes {
            let _ = writeln!(o, "> Note: {n}\n");
        }
        if let Some(rows) = &e.collisions {
            o.push_str(&collisions_markdown(rows));
            o.push('\n');
        }
        if !e.summary.is_empty() || e.collisions.is_none() {
            let all_runs = if e.dir.join("results.csv").is_file() {
                format!(", [all runs]({}/results.csv)", e.name)
            } else {
                " — no `results.csv` yet (unfinished experiment; rows read from `units/`)".into()
            };
            let _ = writeln!(o, "Summary ([CSV]({}/summary.csv){all_runs}):\n", e.name);
            o.push_str(&summary_markdown(e));
            o.push('\n');
        }
        figures_md(&mut o, inp.figures.get(&e.name).map_or(&[], Vec::as_slice));
    }

    o.push_str("### e6_metrics_vs_gain — fold change against gain (derived from E2 and E3)\n\n");
    match inp.e6 {
        Some((t, figs)) => {
            let _ = writeln!(
                o,
                "Sources: {}. Per setting: x = acc(FPE)/acc(dense) − 1, y = metric(FPE)/metric(dense) (means over seeds); least squares per (metric, arm). [CSV]({E6_DIR}/summary.csv), [points]({E6_DIR}/points.csv).\n",
                t.sources.join(", ")
            );
            o.push_str(&t.markdown());
            o.push('\n');
            figures_md(&mut o, figs);
        }
        None => o.push_str("Not run: neither E2 nor E3 has results.\n\n"),
    }

    o.push_str("## How verdicts are decided\n\n");
    o.push_str(RULES_MD);
    o.push_str("\nThresholds sit beside each claim in `data/paper_reference.toml`.\n\n## Deviations and choices\n\n");
    o.push_str(CHOICES_MD);
    o.push_str(
        "\n## Files\n\nPer experiment `NAME/`: `config.toml` (resolved config), `units/*.json` (one file per setting × seed), `results.csv` (one row per run), `summary.csv` / `summary.md` (mean ± std per setting and arm), `plots/*.svg|png`; E5 adds `collisions.json|csv`; E6 lives in `e6_metrics_vs_gain/`.\n",
    );
    o
}

fn rule_name(c: &Claim) -> &'static str {
    use super::reference::Rule;
    match c.rule {
        Rule::Ordering { .. } => "ordering",
        Rule::Trend { .. } => "trend",
        Rule::Peak { .. } => "peak",
        Rule::Collisions { .. } => "collisions",
        Rule::FoldChange { .. } => "fold_change",
        Rule::SplitTiming { .. } => "split_timing",
        Rule::SmallWidth { .. } => "small_width",
        Rule::ParamEquivalent { .. } => "param_equivalent",
        Rule::BeatsDense { .. } => "beats_dense",
    }
}

/// GitHub-style anchor of a claim's heading `### ID — title`.
fn anchor(c: &Claim) -> String {
    format!("{} — {}", c.id, c.title)
        .to_lowercase()
        .chars()
        .filter_map(|ch| match ch {
            ' ' => Some('-'),
            '-' | '_' => Some(ch),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_is_well_formed() {
        let d = utc_now();
        assert_eq!(d.len(), "2025-01-01 00:00 UTC".len(), "{d}");
        assert!(d.starts_with("20"));
    }
}
