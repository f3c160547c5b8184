//! E6, derived from E2 and E3 (SPEC §7 fold-change regression, paper Fig. 3c): in every setting
//! with a dense arm, x = relative accuracy gain of an FPE arm over dense (means over seeds) and
//! y = metric(FPE) / metric(dense); a least-squares line per (metric, arm) with slope and R².
//! A point identical to one already taken (the setting E2 and E3 share) counts once.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use fpe_metrics::{Regression, linear_regression};
use plotters::style::RGBColor;

use super::figures::Figure;
use super::load::ExperimentData;
use super::plot::{Chart, Line, Marker, Series, arm_color};
use super::stats::{SummaryRow, find, gain, settings};
use super::tables::{num, write};

/// Output directory name of E6 under the output root.
pub(crate) const E6_DIR: &str = "e6_metrics_vs_gain";

/// Metrics of the regression. `capacity` is the mean capacity over clause literals where both arms
/// have it, else over all inputs.
pub(crate) const E6_METRICS: [&str; 5] = [
    "capacity",
    "cosine_abs",
    "collision_rate",
    "polysemanticity",
    "pr_dimension",
];

/// FPE arms regressed.
pub(crate) const E6_ARMS: [&str; 2] = ["random", "clause"];

/// One point: a setting of a source experiment, an arm, a metric.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FoldPoint {
    /// Source experiment.
    pub experiment: String,
    /// Setting label.
    pub setting: String,
    /// FPE arm.
    pub arm: String,
    /// Metric id.
    pub metric: &'static str,
    /// Relative accuracy gain over dense.
    pub gain: f64,
    /// metric(arm) / metric(dense).
    pub fold: f64,
}

/// The fit of one (metric, arm).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FoldFit {
    /// Metric id.
    pub metric: &'static str,
    /// FPE arm.
    pub arm: String,
    /// Points used.
    pub n: usize,
    /// The least-squares fit, if one exists (≥ 2 points with distinct gains).
    pub fit: Option<Regression>,
}

/// The whole E6 table.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FoldTable {
    /// Source experiments found.
    pub sources: Vec<String>,
    /// Every point.
    pub points: Vec<FoldPoint>,
    /// One fit per (metric, arm) with at least one point.
    pub fits: Vec<FoldFit>,
}

/// metric(a) / metric(d), `None` unless both exist and the dense value is non-zero.
fn fold(metric: &str, a: &SummaryRow, d: &SummaryRow) -> Option<f64> {
    let pair = |m: &str| Some((a.metric(m)?, d.metric(m)?));
    let (x, y) = if metric == "capacity" {
        pair("capacity_literals").or_else(|| pair("capacity_mean"))?
    } else {
        pair(metric)?
    };
    (y != 0.0 && (x / y).is_finite()).then(|| x / y)
}

/// Builds the fold-change table over the settings of `sources`.
pub(crate) fn fold_table(sources: &[&ExperimentData]) -> FoldTable {
    let mut t = FoldTable {
        sources: sources.iter().map(|e| e.name.clone()).collect(),
        ..Default::default()
    };
    for exp in sources {
        let s = &exp.summary;
        for (si, _) in settings(s) {
            let Some(d) = find(s, si, "dense") else {
                continue;
            };
            for arm in E6_ARMS {
                let (Some(a), Some(g)) = (find(s, si, arm), gain(s, si, arm)) else {
                    continue;
                };
                for metric in E6_METRICS {
                    if let Some(f) = fold(metric, a, d) {
                        // The setting E2 and E3 share (m = 8, h = 8) holds the same runs: count it once.
                        let same = |p: &FoldPoint| {
                            p.arm == arm && p.metric == metric && p.gain == g && p.fold == f
                        };
                        if t.points.iter().any(same) {
                            continue;
                        }
                        let setting = a.setting.clone();
                        t.points.push(FoldPoint {
                            experiment: exp.name.clone(),
                            setting,
                            arm: arm.into(),
                            metric,
                            gain: g,
                            fold: f,
                        });
                    }
                }
            }
        }
    }
    for metric in E6_METRICS {
        for arm in E6_ARMS {
            let (x, y): (Vec<f64>, Vec<f64>) = t
                .points
                .iter()
                .filter(|p| p.metric == metric && p.arm == arm)
                .map(|p| (p.gain, p.fold))
                .unzip();
            if !x.is_empty() {
                t.fits.push(FoldFit {
                    metric,
                    arm: arm.into(),
                    n: x.len(),
                    fit: linear_regression(&x, &y).ok(),
                });
            }
        }
    }
    t
}

impl FoldTable {
    /// The fit of (metric, arm).
    pub(crate) fn fit(&self, metric: &str, arm: &str) -> Option<&FoldFit> {
        self.fits
            .iter()
            .find(|f| f.metric == metric && f.arm == arm)
    }

    /// Markdown table of the fits.
    pub(crate) fn markdown(&self) -> String {
        if self.fits.is_empty() {
            return "_No setting with both a dense and an FPE arm and metrics._\n".into();
        }
        let mut out = String::from(
            "| metric | arm | slope | intercept | R² | n |\n|---|---|---|---|---|---|\n",
        );
        for f in &self.fits {
            let (s, i, r) = f.fit.as_ref().map_or((None, None, None), |r| {
                (Some(r.slope), Some(r.intercept), Some(r.r2))
            });
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                f.metric,
                f.arm,
                num(s),
                num(i),
                num(r),
                f.n
            );
        }
        out
    }

    /// Writes `summary.csv`, `summary.md`, `points.csv` and one plot per metric into `dir`;
    /// returns the figures with paths relative to the output root.
    ///
    /// # Errors
    /// Drawing or writing errors.
    pub(crate) fn write(&self, dir: &Path) -> Result<Vec<Figure>> {
        let mut csv = String::from("metric,arm,slope,intercept,r2,n\n");
        for f in &self.fits {
            let v = |x: Option<f64>| x.map(|x| format!("{x}")).unwrap_or_default();
            let r = f.fit.as_ref();
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{}",
                f.metric,
                f.arm,
                v(r.map(|r| r.slope)),
                v(r.map(|r| r.intercept)),
                v(r.map(|r| r.r2)),
                f.n
            );
        }
        write(&dir.join("summary.csv"), &csv)?;
        let mut pts = String::from("experiment,setting,arm,metric,gain,fold_change\n");
        for p in &self.points {
            let _ = writeln!(
                pts,
                "{},\"{}\",{},{},{},{}",
                p.experiment,
                p.setting.replace('"', "\"\""),
                p.arm,
                p.metric,
                p.gain,
                p.fold
            );
        }
        write(&dir.join("points.csv"), &pts)?;
        write(
            &dir.join("summary.md"),
            &format!(
                "# E6 — metric fold change against accuracy gain\n\nSources: {}. x = acc(FPE)/acc(dense) − 1, y = metric(FPE)/metric(dense), per setting (means over seeds).\n\n{}",
                self.sources.join(", "),
                self.markdown()
            ),
        )?;
        let mut figs = Vec::new();
        for metric in E6_METRICS {
            let mut chart = Chart {
                title: format!("E6: fold change of {metric} vs accuracy gain"),
                x_label: "relative accuracy gain acc(FPE)/acc(dense) − 1".into(),
                y_label: format!("{metric}(FPE) / {metric}(dense)"),
                ..Default::default()
            };
            for (k, arm) in E6_ARMS.iter().enumerate() {
                let p: Vec<&FoldPoint> = self
                    .points
                    .iter()
                    .filter(|p| p.metric == metric && p.arm == *arm)
                    .collect();
                if p.is_empty() {
                    continue;
                }
                let color = arm_color(arm);
                let marker = [Marker::Circle, Marker::Triangle][k % 2];
                let points = p.iter().map(|p| (p.gain, p.fold, None)).collect();
                chart.series.push(Series {
                    name: format!("{arm} (E2 + E3 settings)"),
                    color,
                    line: Line::None,
                    marker,
                    points,
                });
                if let Some(r) = self.fit(metric, arm).and_then(|f| f.fit.as_ref()) {
                    let lo = p.iter().map(|p| p.gain).fold(f64::INFINITY, f64::min);
                    let hi = p.iter().map(|p| p.gain).fold(f64::NEG_INFINITY, f64::max);
                    let line = vec![
                        (lo, r.slope * lo + r.intercept, None),
                        (hi, r.slope * hi + r.intercept, None),
                    ];
                    let name = format!("{arm} fit: slope {}, R² = {:.2}", num(Some(r.slope)), r.r2);
                    chart.series.push(Series {
                        name,
                        color: dim(color),
                        line: Line::Dashed,
                        marker: Marker::None,
                        points: line,
                    });
                }
            }
            let stem = format!("fold_{metric}");
            if chart.save(&dir.join("plots"), &stem)?.is_some() {
                figs.push(Figure {
                    png: format!("{E6_DIR}/plots/{stem}.png"),
                    caption: format!("Fold change of {metric} (FPE over dense) against the relative accuracy gain, one point per setting of E2 and E3, with the least-squares line."),
                });
            }
        }
        Ok(figs)
    }
}

fn dim(c: RGBColor) -> RGBColor {
    RGBColor(c.0 / 4 * 3, c.1 / 4 * 3, c.2 / 4 * 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::RunRow;

    fn row(si: usize, arm: &str, acc: f64, cap: f64, cos: f64) -> RunRow {
        RunRow {
            setting: format!("task.clauses={si}"),
            setting_index: si,
            arm: arm.into(),
            status: "ok".into(),
            test_accuracy: acc,
            capacity_literals: Some(cap),
            capacity_mean: Some(cap / 2.0),
            cosine_abs: Some(cos),
            collision_rate: Some(if arm == "dense" { 1.0 } else { 0.2 }),
            ..Default::default()
        }
    }

    #[test]
    fn fold_change_table_fits_a_line() {
        // gain g_i = 0.1·i; capacity fold = 1 + 2·g exactly; cosine fold = 1 − g.
        let mut rows = Vec::new();
        for i in 0..4 {
            let g = 0.1 * i as f64;
            rows.push(row(i, "dense", 0.5, 0.2, 0.4));
            rows.push(row(
                i,
                "random",
                0.5 * (1.0 + g),
                0.2 * (1.0 + 2.0 * g),
                0.4 * (1.0 - g),
            ));
        }
        let exp = ExperimentData {
            name: "e2".into(),
            summary: super::super::stats::summarize(&rows),
            rows,
            ..Default::default()
        };
        let t = fold_table(&[&exp]);
        let cap = t.fit("capacity", "random").unwrap();
        assert_eq!(cap.n, 4);
        let r = cap.fit.as_ref().unwrap();
        assert!(
            (r.slope - 2.0).abs() < 1e-9
                && (r.intercept - 1.0).abs() < 1e-9
                && (r.r2 - 1.0).abs() < 1e-9
        );
        let cos = t.fit("cosine_abs", "random").unwrap().fit.as_ref().unwrap();
        assert!((cos.slope + 1.0).abs() < 1e-9);
        // All collision folds are 0.2: a flat line.
        let col = t
            .fit("collision_rate", "random")
            .unwrap()
            .fit
            .as_ref()
            .unwrap();
        assert!(col.slope.abs() < 1e-12);
        assert!(t.fit("capacity", "clause").is_none());
        assert!(
            t.markdown()
                .contains("| capacity | `random` | 2 | 1 | 1 | 4 |")
        );
        // The same runs under a second experiment (the shared E2/E3 setting) are not counted twice.
        let twice = fold_table(&[&exp, &exp]);
        assert_eq!(twice.fit("capacity", "random").unwrap().n, 4);
        // A zero dense metric gives no point rather than an infinite fold.
        let mut z = exp.clone();
        z.summary
            .iter_mut()
            .filter(|r| r.arm == "dense")
            .for_each(|r| {
                r.metrics.insert("pr_dimension", Some(0.0));
            });
        assert!(
            fold_table(&[&z])
                .points
                .iter()
                .all(|p| p.metric != "pr_dimension")
        );
    }
}
