//! Summary tables: `summary.csv` and `summary.md` per experiment, and the number formats they use.

use std::fmt::Write as _;
use std::path::Path;

use fpe_experiments::error::Context;

use crate::error::Result;

use super::load::ExperimentData;
use super::paired::{acc_interval, gain_interval};
use super::stats::{METRICS, SummaryRow, gain};

/// Writes `text` to `path` atomically, naming the path on error.
pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    fpe_io::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A number with up to four significant decimals, `–` if missing.
pub(crate) fn num(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if !x.is_finite() => format!("{x}"),
        Some(0.0) => "0".into(),
        Some(x) if x.abs() >= 1000.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 0.01 => {
            let s = format!("{x:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        Some(x) => format!("{x:.3e}"),
    }
}

fn csv_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// Short column title of a metric.
pub(crate) fn metric_title(name: &str) -> &str {
    match name {
        "capacity_literals" => "capacity (literals)",
        "capacity_mean" => "capacity (all inputs)",
        "cosine_abs" => "mean abs cos",
        "cosine_cross_parent" => "abs cos (cross-parent)",
        "collision_rate" => "collision rate",
        "coverage" => "coverage",
        "polysemanticity" => "clauses / neuron",
        "pr_dimension" => "PR dimension",
        other => other,
    }
}

/// `summary.csv` text: one line per (setting, arm).
pub(crate) fn summary_csv(exp: &ExperimentData) -> String {
    let mut header: Vec<&str> = vec![
        "experiment",
        "setting_index",
        "setting",
        "arm",
        "n",
        "failed",
        "acc_mean",
        "acc_std",
        "acc_ci_low",
        "acc_ci_high",
        "gain_vs_dense",
        "gain_pp",
        "gain_pp_ci_low",
        "gain_pp_ci_high",
        "gain_pp_n",
        "final_train_loss",
        "nnz_mean",
        "widths",
        "hidden",
        "alpha",
    ];
    header.extend(METRICS.iter().map(|(m, _)| *m));
    let records = exp.summary.iter().map(|r| {
        let acc = acc_interval(exp, r.setting_index, &r.arm).map(|p| p.0);
        let g = (r.arm != "dense")
            .then(|| gain_interval(exp, r.setting_index, &r.arm))
            .flatten();
        let relative = (r.arm != "dense")
            .then(|| gain(&exp.summary, r.setting_index, &r.arm))
            .flatten();
        let mut rec = vec![
            exp.name.clone(),
            r.setting_index.to_string(),
            r.setting.clone(),
            r.arm.clone(),
            r.n.to_string(),
            r.failed.to_string(),
            csv_opt(r.acc),
            csv_opt(r.acc_std),
            csv_opt(acc.map(|a| a.lo / 100.0)),
            csv_opt(acc.map(|a| a.hi / 100.0)),
            csv_opt(relative),
            csv_opt(g.map(|p| p.0.estimate)),
            csv_opt(g.map(|p| p.0.lo)),
            csv_opt(g.map(|p| p.0.hi)),
            g.map_or(String::new(), |p| p.1.to_string()),
            csv_opt(r.loss),
            csv_opt(r.nnz),
            r.widths.clone(),
            r.hidden.to_string(),
            r.alpha.to_string(),
        ];
        rec.extend(METRICS.iter().map(|(m, _)| csv_opt(r.metric(m))));
        rec
    });
    fpe_experiments::results::csv_text(&header, records)
}

/// The markdown table of an experiment's summary (no heading), with a separate list of failed
/// runs. Metric columns that are empty throughout are left out.
pub(crate) fn summary_markdown(exp: &ExperimentData) -> String {
    let s = &exp.summary;
    if s.is_empty() {
        return "_No result rows._\n".into();
    }
    let with_setting = s.iter().any(|r| !r.setting.is_empty());
    let metrics: Vec<&str> = METRICS
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| s.iter().any(|r| r.metric(m).is_some()))
        .collect();
    let mut head: Vec<String> = Vec::new();
    if with_setting {
        head.push("setting".into());
    }
    head.extend(
        [
            "arm",
            "n",
            "test accuracy % [95 % CI]",
            "± std",
            "paired gain vs dense, pp [95 % CI]",
            "nnz",
            "widths",
        ]
        .map(String::from),
    );
    head.extend(metrics.iter().map(|m| metric_title(m).to_string()));
    let mut out = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
    for r in s {
        let mut cells: Vec<String> = Vec::new();
        if with_setting {
            cells.push(setting_cell(r));
        }
        let g = (r.arm != "dense")
            .then(|| gain_interval(exp, r.setting_index, &r.arm))
            .flatten();
        cells.push(format!("`{}`", r.arm));
        cells.push(if r.failed > 0 {
            format!("{} (+{} failed or diverged)", r.n, r.failed)
        } else {
            r.n.to_string()
        });
        cells.push(acc_interval(exp, r.setting_index, &r.arm).map_or_else(
            || "–".into(),
            |(iv, _)| format!("{:.2} [{:.2}, {:.2}]", iv.estimate, iv.lo, iv.hi),
        ));
        cells.push(
            r.acc_std
                .map_or("–".into(), |s| format!("{:.2}", 100.0 * s)),
        );
        cells.push(g.map_or_else(
            || "–".into(),
            |(iv, _)| format!("{:+.2} [{:+.2}, {:+.2}]", iv.estimate, iv.lo, iv.hi),
        ));
        cells.push(r.nnz.map_or_else(|| "–".into(), |x| format!("{x:.0}")));
        cells.push(r.widths.clone());
        cells.extend(metrics.iter().map(|m| num(r.metric(m))));
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    let failed = exp.failed();
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "\nFailed and diverged runs (excluded from the means):\n\n| setting | seed | arm | status | reason |\n|---|---|---|---|---|"
        );
        for r in failed {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} |",
                r.setting,
                r.seed,
                r.arm,
                r.status,
                r.error.replace('|', "\\|").replace('\n', " ")
            );
        }
    }
    out
}

fn setting_cell(r: &SummaryRow) -> String {
    if r.params.is_empty() {
        return r.setting.clone();
    }
    r.params
        .iter()
        .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `summary.csv` and `summary.md` into the experiment's directory.
///
/// # Errors
/// Unwritable output.
pub(crate) fn write_summary(exp: &ExperimentData) -> Result<()> {
    write(&exp.dir.join("summary.csv"), &summary_csv(exp))?;
    let title = if exp.title.is_empty() {
        exp.name.clone()
    } else {
        format!("{} — {}", exp.name, exp.title)
    };
    write(
        &exp.dir.join("summary.md"),
        &format!(
            "# {title}\n\nMean test accuracy over seeds (n) with its 95 % seed-bootstrap interval and the sample std; paired gain = acc(arm) − acc(dense) of the same seed, in points, mean with its 95 % interval.\n\n{}",
            summary_markdown(exp)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(num(Some(0.25)), "0.25");
        assert_eq!(num(Some(3e-9)), "3.000e-9");
        assert_eq!(num(None), "–");
    }
}
