//! `fpe reproduce`: runs the paper's experiments through `fpe-experiments`, then rebuilds the
//! report through `fpe-report`.

use anyhow::{Result, bail};
use fpe_experiments::reproduce::{self, Selection};
use fpe_experiments::sweep::RunOptions;

/// Runs the selected experiments of `data_dir` into `opts.out`, then rebuilds the report.
///
/// # Errors
/// Config, data or output errors; after the report is written, runs that failed or diverged.
pub(crate) fn run(data_dir: &std::path::Path, sel: &Selection, opts: &RunOptions) -> Result<()> {
    let start = std::time::Instant::now();
    let outcomes = reproduce::run(data_dir, sel, opts)?;
    fpe_report::build(&opts.out)?;
    eprintln!(
        "reproduce: {} experiment(s) in {:.1}s; report: {}",
        outcomes.len(),
        start.elapsed().as_secs_f64(),
        opts.out.join("REPORT.md").display()
    );
    let bad: usize = outcomes
        .iter()
        .map(|o| o.rows.iter().filter(|r| !r.status.is_ok()).count())
        .sum();
    if bad > 0 {
        bail!(
            "{bad} run(s) failed or diverged (REPORT.md lists each with its reason); every other \
             result and the report are written"
        );
    }
    Ok(())
}
