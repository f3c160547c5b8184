//! Reports: summary tables, plots and `REPORT.md`, rebuilt from result files alone.
//!
//! [`build`] reads every experiment directory under an output root (as written by `fpe reproduce`,
//! `fpe sweep` or `fpe run`) and writes:
//!
//! ```text
//! OUT/NAME/summary.csv, summary.md    per (setting, arm): mean, 95 % interval, std, paired gain over dense
//! OUT/NAME/plots/*.svg, *.png         accuracy and paired gain against the swept parameter with 95 % bands;
//!                                     E1 one point per seed; E5 against theory
//! OUT/e6_metrics_vs_gain/             E6: metric fold change against paired gain per run, fits per sweep
//! OUT/claims.json                     one object per claim row (what `fpe report --json` prints)
//! OUT/REPORT.md                       provenance, data substitution, claims with intervals and verdicts,
//!                                     E0 calibration, tables, plots, rules, choices
//! ```
//!
//! The paper's claims come from `data/paper_reference.toml` (module `reference`); each is
//! judged in rows by an explicit rule on 95 % seed-bootstrap intervals (modules `inference`,
//! `paired`, `verdict`). Nothing here needs more than the files: a copied output directory
//! reports the same, and the bootstraps are seeded, so the same files give the same report.
//! Missing experiments, missing units, failed runs and single seeds are reported as such, never
//! a panic. Every file is written atomically.

mod calibration;
mod choices;
mod derived;
mod document;
mod error;
mod figures;
mod inference;
pub(crate) mod load;
mod paired;
mod plot;
mod reference;
mod rows;
mod stats;
mod tables;
mod verdict;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use rayon::prelude::*;
use std::path::Path;

pub use crate::error::{Error, Result};

use self::derived::{E6_DIR, fold_table};
use self::load::ExperimentData;
use self::reference::{Rule, matching};

pub use verdict::{ClaimRow, Expect, Unit, Verdict};

pub use fpe_experiments::reproduce::{RUN_RECORD, RunRecord};

/// Rows from which `build` reports its progress on stderr.
const LARGE_ROWS: usize = 20_000;

/// Rebuilds summaries, plots, `claims.json` and `REPORT.md` under `out` from the experiment
/// directories it holds; returns the claim rows.
///
/// # Errors
/// An unreadable output directory or unwritable output. A plot that cannot be drawn (e.g. no
/// font) is noted in the report instead.
pub fn build(out: &Path) -> Result<Vec<ClaimRow>> {
    let mut exps: Vec<ExperimentData> = Vec::new();
    for dir in load::discover(out, &[E6_DIR])? {
        let e = load::load(&dir)?;
        // What the report notes about the files is said on the terminal too.
        for n in &e.notes {
            eprintln!("note: {}: {n}", e.name);
        }
        exps.push(e);
    }
    // A large sweep takes seconds per step: say what is being done.
    let large = exps.iter().map(|e| e.rows.len()).sum::<usize>() >= LARGE_ROWS;
    let mut figures = BTreeMap::new();
    for e in &mut exps {
        if large {
            eprintln!(
                "report: {}: {} rows, {} (setting, arm) summaries with bootstrap intervals, plots",
                e.name,
                e.rows.len(),
                e.summary.len()
            );
        }
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
    if large && !e6_sources.is_empty() {
        eprintln!("report: E6 fold-change fits");
    }
    let e6 = fold_table(&e6_sources);
    let mut e6_figs = Vec::new();
    let mut notes = problems;
    if !e6_sources.is_empty() {
        match e6.write(&out.join(E6_DIR)) {
            Ok(f) => e6_figs = f,
            Err(err) => notes.push(plot_failure("E6 outputs could not be written", &err)),
        }
    }
    if large {
        eprintln!("report: judging {} claims", reference.claims.len());
    }
    // Each claim bootstraps on streams seeded by its own rows: judge them in parallel.
    let claims: Vec<_> = reference
        .claims
        .par_iter()
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
    let record: Option<RunRecord> =
        fpe_io::read_regular_to_string(&out.join(RUN_RECORD), 64 << 20, "run record")
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let text = document::render(&document::Inputs {
        out,
        exps: &exps,
        figures: &figures,
        e6: (!e6_sources.is_empty()).then_some((&e6, e6_figs.as_slice())),
        claims: &claims,
        reference_source: &source,
        reference_problems: &notes,
        not_run: &not_run,
        record: record.as_ref(),
    });
    let rows: Vec<ClaimRow> = claims.iter().flat_map(|(_, o, _)| o.rows.clone()).collect();
    let json = serde_json::to_string_pretty(&rows)?;
    tables::write(&out.join("claims.json"), &(json + "\n"))?;
    tables::write(&out.join("REPORT.md"), &text)?;
    Ok(rows)
}

/// A note for a plot that failed, with the fix for the usual cause (no font).
fn plot_failure(what: &str, err: &Error) -> String {
    let text = err.to_string();
    let hint = if text.contains("Font") || text.contains("font") {
        " — install a font (e.g. `apt-get install fonts-dejavu-core`, see `scripts/setup.sh`) and run `fpe report` again"
    } else {
        ""
    };
    format!("{what}: {text}{hint}")
}
