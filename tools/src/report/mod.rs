//! Reports: summary tables, plots and `REPORT.md`, rebuilt from result files alone.
//!
//! [`build`] reads every experiment directory under an output root (as written by `fpe reproduce`,
//! `fpe sweep` or `fpe run`) and writes:
//!
//! ```text
//! OUT/NAME/summary.csv, summary.md    mean ± sample std over seeds per (setting, arm), failed runs listed
//! OUT/NAME/plots/*.svg, *.png         accuracy (and gain) against the swept parameter; E5 against theory
//! OUT/e6_metrics_vs_gain/             E6: metric fold change against gain over E2 and E3, fits and plots
//! OUT/REPORT.md                       provenance, data substitution, claims with verdicts, tables, plots, choices
//! ```
//!
//! The paper's claims come from `data/paper_reference.toml` (module `reference`); each is
//! judged by an explicit rule (module `verdict`). Nothing here needs more than the files: a
//! copied output directory reports the same. Missing experiments, missing units, failed runs and
//! single seeds are reported as such, never a panic. Every file is written atomically.

mod choices;
mod derived;
mod document;
mod figures;
mod load;
mod plot;
mod reference;
mod stats;
mod tables;
mod verdict;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use self::derived::{E6_DIR, fold_table};
use self::load::ExperimentData;
use self::reference::{Rule, matching};

/// Rebuilds summaries, plots and `REPORT.md` under `out` from the experiment directories it holds.
///
/// # Errors
/// An unreadable output directory or unwritable output. A plot that cannot be drawn (e.g. no
/// font) is noted in the report instead.
pub fn build(out: &Path) -> Result<()> {
    let mut exps: Vec<ExperimentData> = Vec::new();
    for dir in load::discover(out, &[E6_DIR])? {
        exps.push(load::load(&dir)?);
    }
    let mut figures = BTreeMap::new();
    for e in &mut exps {
        if !e.summary.is_empty() {
            tables::write_summary(e)?;
        } else if let Some(text) = document::collisions_summary(e) {
            tables::write(&e.dir.join("summary.md"), &text)?;
        }
        match figures::experiment_figures(e) {
            Ok(f) => {
                figures.insert(e.name.clone(), f);
            }
            Err(err) => e.notes.push(plot_failure("plots could not be drawn", &err)),
        }
    }
    let (reference, source, problems) = reference::load();
    // E6 sources: the experiments its claim names, else E2 and E3 by prefix.
    let e6_claim = reference
        .claims
        .iter()
        .find(|c| matches!(c.rule, Rule::FoldChange { .. }));
    let e6_sources: Vec<&ExperimentData> = match e6_claim {
        Some(c) => matching(c, &exps),
        None => exps
            .iter()
            .filter(|e| e.name.starts_with("e2_") || e.name.starts_with("e3_"))
            .collect(),
    };
    let e6 = fold_table(&e6_sources);
    let mut e6_figs = Vec::new();
    let mut notes = problems;
    if !e6_sources.is_empty() {
        match e6.write(&out.join(E6_DIR)) {
            Ok(f) => e6_figs = f,
            Err(err) => notes.push(plot_failure("E6 outputs could not be written", &err)),
        }
    }
    let claims: Vec<_> = reference
        .claims
        .iter()
        .map(|c| {
            let used = matching(c, &exps);
            let outcome = verdict::judge(c, &used, &e6);
            (
                c.clone(),
                outcome,
                used.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
            )
        })
        .collect();
    let mut not_run: Vec<String> = Vec::new();
    for c in &reference.claims {
        for name in &c.experiments {
            let single = reference::Claim {
                experiments: vec![name.clone()],
                ..c.clone()
            };
            if matching(&single, &exps).is_empty() && !not_run.contains(name) {
                not_run.push(name.clone());
            }
        }
    }
    let text = document::render(&document::Inputs {
        out,
        exps: &exps,
        figures: &figures,
        e6: (!e6_sources.is_empty()).then_some((&e6, e6_figs.as_slice())),
        claims: &claims,
        reference_source: &source,
        reference_problems: &notes,
        not_run: &not_run,
    });
    tables::write(&out.join("REPORT.md"), &text)
}

/// A note for a plot that failed, with the fix for the usual cause (no font).
fn plot_failure(what: &str, err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    let hint = if text.contains("Font") || text.contains("font") {
        " — install a font (e.g. `apt-get install fonts-dejavu-core`, see `scripts/setup.sh`) and run `fpe report` again"
    } else {
        ""
    };
    format!("{what}: {text}{hint}")
}
