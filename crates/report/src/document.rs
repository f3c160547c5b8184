//! REPORT.md: provenance, the data substitution, each paper claim beside our numbers with its
//! intervals and verdicts, the E0 calibration, the per-experiment tables and plots, the verdict
//! rules, and every choice.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::choices::{CHOICES_MD, SUBSTITUTION};
use super::derived::{E6_DIR, FoldTable};
use super::figures::Figure;
use super::load::ExperimentData;
use super::reference::{Claim, Rule};
use super::tables::{num, summary_markdown};
use super::verdict::{MIN_SEEDS, Outcome, estimate_text, rules_md};

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
    /// What `fpe reproduce` recorded, if it wrote the directory.
    pub record: Option<&'a fpe_experiments::reproduce::RunRecord>,
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

fn collisions_markdown(rows: &[fpe_experiments::results::CollisionRow]) -> String {
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
        "- Runs: {rows} result rows ({failed} failed or diverged) in {} experiment directories; summed run time {:.1} s ({:.2} h; units run in parallel, so the elapsed time was shorter)",
        inp.exps.len(),
        wall,
        wall / 3600.0
    );
    let _ = writeln!(o, "- Paper claims read from {}\n", inp.reference_source);
    for p in inp.reference_problems {
        let _ = writeln!(o, "> Note: {p}\n");
    }
    if let Some(w) = inp.record.and_then(|r| r.wall_seconds) {
        let _ = writeln!(
            o,
            "- `fpe reproduce` wall time: {w:.0} s ({:.1} min)\n",
            w / 60.0
        );
    }
    if let Some(b) = smoke_banner(inp) {
        let _ = writeln!(o, "> **{b}**\n");
    }
    o.push_str(&substitution_note());
    o.push_str("> It affects E8, E9 and the embedding runs of E10; each of their sections repeats this note.\n\n");

    o.push_str("## Claims at a glance\n\n| claim | paper | ours: estimate [95 % CI] (verdict) | verdict |\n|---|---|---|---|\n");
    for (c, out, _) in inp.claims {
        let _ = writeln!(
            o,
            "| [{}](#{}) {} | {} | {} | **{}** |",
            c.id,
            anchor(c),
            c.title,
            c.summary,
            out.ours.replace('|', "\\|"),
            out.verdict_text()
        );
    }
    o.push_str("\nEvery verdict is decided on a 95 % seed-bootstrap interval by the rules under [How verdicts are decided](#how-verdicts-are-decided): **held** when the interval excludes the null in the claimed direction, **contradicted** when it excludes it the other way, **inconclusive** otherwise. Differences are paired by seed, in accuracy points (pp).\n\n");
    o.push_str(&rows_table(inp.claims));
    o.push_str(&calibration_section(inp));

    o.push_str("## Claims in detail\n\n");
    for (c, out, used) in inp.claims {
        let _ = writeln!(o, "### {} — {}\n", c.id, c.title);
        let _ = writeln!(o, "**Paper:** {}\n", c.paper);
        let on = if used.is_empty() {
            format!("{} (not run)", c.experiments.join(", "))
        } else {
            used.iter()
                .map(
                    |n| match inp.exps.iter().find(|e| e.name == *n && e.has_data_file()) {
                        Some(e) => format!("{n} ({})", e.data_label()),
                        None => n.clone(),
                    },
                )
                .collect::<Vec<_>>()
                .join(", ")
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
        let _ = writeln!(o, "\n**Verdict: {}**\n", out.verdict_text());
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
        if e.has_data_file() {
            let _ = writeln!(o, "> **Data:** {} (`{}`).\n", e.data_label(), e.data_path);
        }
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
                "Sources: {}. One point per run: x = acc(FPE) − acc(dense) of the same seed (pp), y = metric(FPE)/metric(dense) of the same seed; least squares per (sweep, metric, arm), each sweep alone and pooled, with a seed-bootstrap 95 % interval of the slope. [CSV]({E6_DIR}/summary.csv), [points]({E6_DIR}/points.csv).\n",
                t.sources.join(", ")
            );
            o.push_str(&t.markdown());
            o.push('\n');
            figures_md(&mut o, figs);
        }
        None => o.push_str("Not run: neither E2 nor E3 has results.\n\n"),
    }

    o.push_str("## How verdicts are decided\n\n");
    o.push_str(&rules_md());
    o.push_str("\nThe claims, the experiments they are judged on and the paper's numbers sit in `data/paper_reference.toml`.\n\n## Deviations and choices\n\n");
    o.push_str(CHOICES_MD);
    o.push_str(
        "\n## Files\n\nPer experiment `NAME/`: `config.toml` (resolved config), `units/*.json` (one file per setting × seed), `results.csv` (one row per run), `summary.csv` / `summary.md` (per setting and arm: mean, 95 % interval, std, paired gain over dense), `plots/*.svg|png`; E5 adds `collisions.json|csv`; E6 lives in `e6_metrics_vs_gain/`. `claims.json` holds every claim row (`fpe report DIR --json` prints it).\n",
    );
    o
}

fn rule_name(c: &Claim) -> &'static str {
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

/// The banner of a smoke test: a `--quick` reproduction, or claims resting on too few seeds.
fn smoke_banner(inp: &Inputs<'_>) -> Option<String> {
    if inp.record.is_some_and(|r| r.quick) {
        return Some(format!(
            "Smoke test: this is a `--quick` reproduction (few seeds, short schedules). Its verdicts follow the same rules but rest on too little data to cite; rows with fewer than {MIN_SEEDS} seeds are inconclusive by rule."
        ));
    }
    let few = inp
        .claims
        .iter()
        .flat_map(|(_, o, _)| &o.rows)
        .filter(|r| r.n_seeds < MIN_SEEDS)
        .count();
    (few > 0).then(|| {
        format!("{few} claim row(s) rest on fewer than {MIN_SEEDS} seeds and are inconclusive by rule; run more seeds (`fpe reproduce --seeds 10`) before citing them.")
    })
}

/// Every claim row in one table.
fn rows_table(claims: &[(Claim, Outcome, Vec<String>)]) -> String {
    let mut o = String::from(
        "### Every claim row\n\n| claim | comparison | estimate [95 % CI] | n | wins | p (sign-flip) | verdict | paper | paper in CI | seeds to resolve |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (c, out, _) in claims {
        if out.rows.is_empty() {
            let _ = writeln!(o, "| {} | – | – | – | – | – | not run | – | – | – |", c.id);
        }
        for r in &out.rows {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | **{}** | {} | {} | {} |",
                r.id,
                r.comparison.replace('|', "\\|"),
                estimate_text(r),
                r.n_seeds,
                r.wins.map_or("–".into(), |w| format!("{w}/{}", r.n_seeds)),
                r.p_value.map_or("–".into(), super::verdict::p_text),
                r.verdict,
                num(r.paper_value),
                match r.paper_in_ci {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "–",
                },
                r.seeds_to_resolve.map_or("–".into(), |n| if n > 1000 {
                    "> 1000".into()
                } else {
                    n.to_string()
                }),
            );
        }
    }
    o.push_str("\nn: seeds (for E5, parents sampled); wins: seeds where the first arm is ahead; p: two-sided exact sign-flip test of the paired differences; seeds to resolve: the rough seed count at which an inconclusive row's interval would exclude the null (80 % power), if the estimate stayed where it is.\n\n");
    o
}

/// The E0 calibration table, if an `e0_` experiment ran.
fn calibration_section(inp: &Inputs<'_>) -> String {
    let Some(exp) = inp
        .exps
        .iter()
        .find(|e| e.name.starts_with("e0_") && !e.rows.is_empty())
    else {
        return String::new();
    };
    let paper = inp
        .claims
        .iter()
        .find(|(c, _, _)| matches!(c.rule, Rule::Ordering { .. }))
        .map(|(c, _, _)| c.reported.clone())
        .unwrap_or_default();
    let readings = super::calibration::readings(exp, &paper);
    let mut o = format!(
        "## E0 — which reading of the Boolean task reproduces the paper's E1 numbers\n\nThe paper leaves the Boolean generator open. `{}` runs E1's setting (m = 8, k = 3, h = 8, α = 2, 1,000 + 1,000 epochs) under every reading SPEC §2 allows, nearest to the paper's 78.7 / 88.7 / 99.4 % first. Means over seeds with 95 % seed-bootstrap intervals; gains paired by seed. For `per_clause` the accuracy is exact match over the clause bits. Distance: root mean square of (ours − paper) over the three arms.\n\n",
        exp.name
    );
    o.push_str(&super::calibration::markdown(&readings, &paper));
    if let (Some(best), Some(def)) = (readings.first(), readings.iter().find(|r| r.default)) {
        let d = |r: &super::calibration::Reading| {
            r.distance.map_or("–".into(), |i| {
                format!("{:.1} pp [{:.1}, {:.1}]", i.estimate, i.lo, i.hi)
            })
        };
        let verdict = match super::calibration::clearly_better(&readings) {
            Some(b) => format!(
                "the distance interval of {} lies wholly below the default's: the evidence favours that reading",
                b.label
            ),
            None => "no reading's distance interval lies wholly below the default's, so the evidence does not clearly favour another reading and the default stays".into(),
        };
        let _ = writeln!(
            o,
            "\nNearest reading: {} ({}); the default reading: {}. Rule: a reading replaces the default only if its distance interval lies wholly below the default's; here {verdict}.\n",
            best.label,
            d(best),
            d(def)
        );
    }
    o
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
