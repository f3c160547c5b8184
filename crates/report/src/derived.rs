//! E6, derived from E2 and E3 (SPEC §7 fold-change regression, paper Fig. 3c): one point per run
//! (setting × seed × FPE arm) with x = the paired accuracy gain over dense of the same seed, in
//! points, and y = metric(FPE) / metric(dense) of the same seed; a least-squares line per
//! (sweep, metric, arm), each sweep alone and pooled, with a seed-bootstrap interval of the
//! slope (seeds resampled within each setting). The setting E2 and E3 share counts once when
//! pooled.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::Result;
use plotters::style::RGBColor;

use super::figures::Figure;
use rayon::prelude::*;

use super::inference::{Interval, bootstrap_groups, least_squares, rng_for};
use super::load::ExperimentData;
use super::paired::{accuracies, join};
use super::plot::{Chart, Line, Marker, Series, arm_color};
use super::stats::{METRICS, settings};
use super::tables::{num, write};
use fpe_experiments::results::RunRow;

/// Output directory name of E6 under the output root.
pub(crate) const E6_DIR: &str = "e6_metrics_vs_gain";

/// Metrics of the regression. `capacity` is the mean capacity over clause literals where both
/// runs have it, else over all inputs.
pub(crate) const E6_METRICS: [&str; 5] = [
    "capacity",
    "cosine_abs",
    "collision_rate",
    "polysemanticity",
    "pr_dimension",
];

/// FPE arms regressed.
pub(crate) const E6_ARMS: [&str; 2] = ["random", "clause"];

/// Scope name of the fit over every source sweep.
pub(crate) const POOLED: &str = "pooled";

/// One point: a run (setting, seed) of a source experiment, an arm, a metric.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FoldPoint {
    /// Source experiment.
    pub experiment: String,
    /// Setting label.
    pub setting: String,
    /// Seed.
    pub seed: u64,
    /// FPE arm.
    pub arm: String,
    /// Metric id.
    pub metric: &'static str,
    /// Paired accuracy gain over dense of the same seed, in points.
    pub gain: f64,
    /// metric(arm) / metric(dense), same seed.
    pub fold: f64,
}

/// The fit of one (scope, metric, arm).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FoldFit {
    /// A source experiment, or [`POOLED`].
    pub scope: String,
    /// Metric id.
    pub metric: &'static str,
    /// FPE arm.
    pub arm: String,
    /// Points used.
    pub n: usize,
    /// Fewest seeds of any setting in the fit.
    pub seeds: usize,
    /// `(slope, intercept, R²)`, if a line exists (≥ 2 points with distinct gains).
    pub fit: Option<(f64, f64, f64)>,
    /// Seed-bootstrap interval of the slope.
    pub slope_ci: Option<Interval>,
}

/// The whole E6 table.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FoldTable {
    /// Source experiments found.
    pub sources: Vec<String>,
    /// Every point.
    pub points: Vec<FoldPoint>,
    /// One fit per (scope, metric, arm) with at least one point.
    pub fits: Vec<FoldFit>,
}

/// The value of fold metric `metric` of a run.
fn metric_of(metric: &str, r: &RunRow) -> Option<f64> {
    let get = |name: &str| {
        METRICS
            .iter()
            .find(|(m, _)| *m == name)
            .and_then(|(_, g)| g(r))
    };
    get(metric)
}

/// metric(a) / metric(d) for two runs, `None` unless both exist and the dense value is non-zero.
fn fold(metric: &str, a: &RunRow, d: &RunRow) -> Option<f64> {
    let pair = |m: &str| Some((metric_of(m, a)?, metric_of(m, d)?));
    let (x, y) = if metric == "capacity" {
        pair("capacity_literals").or_else(|| pair("capacity_mean"))?
    } else {
        pair(metric)?
    };
    (y != 0.0 && (x / y).is_finite()).then(|| x / y)
}

/// The successful run of (setting, seed, arm).
fn run<'a>(exp: &'a ExperimentData, si: usize, seed: u64, arm: &str) -> Option<&'a RunRow> {
    exp.rows_of(si, arm)
        .find(|r| r.seed == seed && r.status.is_ok())
}

/// Points of `exp`, grouped by setting: `(setting label, points)`.
fn experiment_points(exp: &ExperimentData) -> Vec<(String, Vec<FoldPoint>)> {
    let mut out = Vec::new();
    for (si, _) in settings(&exp.summary) {
        let mut pts = Vec::new();
        for arm in E6_ARMS {
            let pairs = join(&accuracies(exp, si, arm), &accuracies(exp, si, "dense"));
            for (seed, a, d) in pairs {
                let (Some(ra), Some(rd)) = (run(exp, si, seed, arm), run(exp, si, seed, "dense"))
                else {
                    continue;
                };
                for metric in E6_METRICS {
                    if let Some(f) = fold(metric, ra, rd) {
                        pts.push(FoldPoint {
                            experiment: exp.name.clone(),
                            setting: ra.setting.clone(),
                            seed,
                            arm: arm.into(),
                            metric,
                            gain: 100.0 * (a - d),
                            fold: f,
                        });
                    }
                }
            }
        }
        out.push((format!("{}|{si}", exp.name), pts));
    }
    out
}

/// Fits one (scope, metric, arm) on setting groups of points.
fn fit(
    scope: &str,
    metric: &'static str,
    arm: &str,
    groups: &[Vec<(f64, f64)>],
) -> Option<FoldFit> {
    let groups: Vec<Vec<(f64, f64)>> = groups.iter().filter(|g| !g.is_empty()).cloned().collect();
    let n: usize = groups.iter().map(Vec::len).sum();
    if n == 0 {
        return None;
    }
    let line = |g: &[Vec<(f64, f64)>]| {
        let (x, y): (Vec<f64>, Vec<f64>) = g.iter().flatten().copied().unzip();
        least_squares(&x, &y)
    };
    let f = line(&groups);
    let mut rng = rng_for(&format!("E6|{scope}|{metric}|{arm}"));
    let slope_ci =
        f.and_then(|_| bootstrap_groups(&groups, &mut rng, |g| line(g).map_or(f64::NAN, |l| l.0)));
    Some(FoldFit {
        scope: scope.into(),
        metric,
        arm: arm.into(),
        n,
        seeds: groups.iter().map(Vec::len).min().unwrap_or(0),
        fit: f,
        slope_ci,
    })
}

/// Builds the fold-change table over the runs of `sources`: fits per source and pooled.
pub(crate) fn fold_table(sources: &[&ExperimentData]) -> FoldTable {
    let mut t = FoldTable {
        sources: sources.iter().map(|e| e.name.clone()).collect(),
        ..Default::default()
    };
    // scope → setting groups of points.
    let mut scoped: Vec<(String, Vec<Vec<FoldPoint>>)> = Vec::new();
    let mut pooled: Vec<Vec<FoldPoint>> = Vec::new();
    // Points already pooled, by (arm, metric, seed, gain, fold); `+ 0.0` makes −0 and +0 one key,
    // as `==` would.
    type Key = (String, &'static str, u64, u64, u64);
    let key = |p: &FoldPoint| -> Key {
        (
            p.arm.clone(),
            p.metric,
            p.seed,
            (p.gain + 0.0).to_bits(),
            (p.fold + 0.0).to_bits(),
        )
    };
    let mut seen: std::collections::HashSet<Key> = std::collections::HashSet::new();
    for exp in sources {
        let groups: Vec<Vec<FoldPoint>> = experiment_points(exp).into_iter().map(|g| g.1).collect();
        for g in &groups {
            // The setting E2 and E3 share (m = 8, h = 8) holds the same runs: pool it once.
            let fresh: Vec<FoldPoint> = g
                .iter()
                .filter(|p| !seen.contains(&key(p)))
                .cloned()
                .collect();
            seen.extend(g.iter().map(key));
            t.points.extend(g.iter().cloned());
            pooled.push(fresh);
        }
        scoped.push((exp.name.clone(), groups));
    }
    if sources.len() > 1 {
        scoped.push((POOLED.into(), pooled));
    }
    // Every (scope, metric, arm) fit bootstraps on its own seeded stream: fit them in parallel.
    // (scope, metric, arm, the (gain, fold) points of each setting)
    type Job<'a> = (&'a str, &'static str, &'a str, Vec<Vec<(f64, f64)>>);
    let jobs: Vec<Job<'_>> = scoped
        .iter()
        .flat_map(|(scope, groups)| {
            E6_METRICS.into_iter().flat_map(move |metric| {
                E6_ARMS.into_iter().map(move |arm| {
                    let sel = groups
                        .iter()
                        .map(|g| {
                            g.iter()
                                .filter(|p| p.metric == metric && p.arm == arm)
                                .map(|p| (p.gain, p.fold))
                                .collect()
                        })
                        .collect();
                    (scope.as_str(), metric, arm, sel)
                })
            })
        })
        .collect();
    t.fits = jobs
        .par_iter()
        .filter_map(|(scope, metric, arm, sel)| fit(scope, metric, arm, sel))
        .collect();
    t
}

impl FoldTable {
    /// The fit of (scope, metric, arm).
    pub(crate) fn fit(&self, scope: &str, metric: &str, arm: &str) -> Option<&FoldFit> {
        self.fits
            .iter()
            .find(|f| f.scope == scope && f.metric == metric && f.arm == arm)
    }

    /// Scopes in order: each source, then pooled.
    pub(crate) fn scopes(&self) -> Vec<String> {
        let mut s: Vec<String> = Vec::new();
        for f in &self.fits {
            if !s.contains(&f.scope) {
                s.push(f.scope.clone());
            }
        }
        s
    }

    /// Markdown table of the fits.
    pub(crate) fn markdown(&self) -> String {
        if self.fits.is_empty() {
            return "_No run with both a dense and an FPE arm and metrics._\n".into();
        }
        let mut out = String::from(
            "| sweep | metric | arm | points | seeds | slope [95 % CI] | intercept | R² |\n|---|---|---|---|---|---|---|---|\n",
        );
        for f in &self.fits {
            let (s, i, r) = f
                .fit
                .map_or((None, None, None), |(s, i, r)| (Some(s), Some(i), Some(r)));
            let ci = f.slope_ci.map_or(String::new(), |c| {
                format!(" [{}, {}]", num(Some(c.lo)), num(Some(c.hi)))
            });
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} | {}{ci} | {} | {} |",
                f.scope,
                f.metric,
                f.arm,
                f.n,
                f.seeds,
                num(s),
                num(i),
                num(r),
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
        let v = |x: Option<f64>| x.map(|x| format!("{x}")).unwrap_or_default();
        let csv = fpe_experiments::results::csv_text(
            &[
                "sweep",
                "metric",
                "arm",
                "points",
                "seeds",
                "slope",
                "slope_ci_low",
                "slope_ci_high",
                "intercept",
                "r2",
            ],
            self.fits.iter().map(|f| {
                vec![
                    f.scope.clone(),
                    f.metric.to_string(),
                    f.arm.clone(),
                    f.n.to_string(),
                    f.seeds.to_string(),
                    v(f.fit.map(|r| r.0)),
                    v(f.slope_ci.map(|c| c.lo)),
                    v(f.slope_ci.map(|c| c.hi)),
                    v(f.fit.map(|r| r.1)),
                    v(f.fit.map(|r| r.2)),
                ]
            }),
        );
        write(&dir.join("summary.csv"), &csv)?;
        let pts = fpe_experiments::results::csv_text(
            &[
                "experiment",
                "setting",
                "seed",
                "arm",
                "metric",
                "gain_points",
                "fold_change",
            ],
            self.points.iter().map(|p| {
                vec![
                    p.experiment.clone(),
                    p.setting.clone(),
                    p.seed.to_string(),
                    p.arm.clone(),
                    p.metric.to_string(),
                    p.gain.to_string(),
                    p.fold.to_string(),
                ]
            }),
        );
        write(&dir.join("points.csv"), &pts)?;
        write(
            &dir.join("summary.md"),
            &format!(
                "# E6 — metric fold change against accuracy gain\n\nSources: {}. One point per run: x = acc(FPE) − acc(dense) of the same seed (points), y = metric(FPE)/metric(dense) of the same seed. Slope intervals: seed bootstrap within settings.\n\n{}",
                self.sources.join(", "),
                self.markdown()
            ),
        )?;
        let mut figs = Vec::new();
        for metric in E6_METRICS {
            if let Some(f) = self.figure(metric, dir)? {
                figs.push(f);
            }
        }
        Ok(figs)
    }

    /// The scatter of one metric: every run, coloured by arm and marked by sweep, with each
    /// sweep's line.
    fn figure(&self, metric: &'static str, dir: &Path) -> Result<Option<Figure>> {
        let n = self.points.iter().filter(|p| p.metric == metric).count();
        let mut chart = Chart {
            title: format!("E6: fold change of {metric} vs paired gain (n = {n} runs)"),
            x_label: "paired accuracy gain acc(FPE) − acc(dense) (points)".into(),
            y_label: format!("{metric}(FPE) / {metric}(dense)"),
            ..Default::default()
        };
        let markers = [Marker::Circle, Marker::Triangle, Marker::Cross];
        let sources: BTreeMap<&str, usize> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        for arm in E6_ARMS {
            for (src, k) in &sources {
                let p: Vec<&FoldPoint> = self
                    .points
                    .iter()
                    .filter(|p| p.metric == metric && p.arm == arm && p.experiment == *src)
                    .collect();
                if p.is_empty() {
                    continue;
                }
                let color = arm_color(arm);
                chart.series.push(Series {
                    name: format!("{arm}, {src} ({} runs)", p.len()),
                    color,
                    line: Line::None,
                    marker: markers[k % 3],
                    points: p.iter().map(|p| (p.gain, p.fold, None)).collect(),
                    band: None,
                });
                if let Some((slope, icpt, r2)) = self.fit(src, metric, arm).and_then(|f| f.fit) {
                    let (lo, hi) = p
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), q| {
                            (a.min(q.gain), b.max(q.gain))
                        });
                    chart.series.push(Series {
                        name: format!("{arm}, {src} fit: slope {}, R² = {r2:.2}", num(Some(slope))),
                        color: dim(color),
                        line: Line::Dashed,
                        marker: Marker::None,
                        points: vec![(lo, slope * lo + icpt, None), (hi, slope * hi + icpt, None)],
                        band: None,
                    });
                }
            }
        }
        let stem = format!("fold_{metric}");
        if chart.save(&dir.join("plots"), &stem)?.is_none() {
            return Ok(None);
        }
        Ok(Some(Figure {
            png: format!("{E6_DIR}/plots/{stem}.png"),
            caption: format!(
                "Fold change of {metric} (FPE over dense, same seed) against the paired accuracy gain, one point per run of E2 and E3 (n = {n}), with each sweep's least-squares line."
            ),
        }))
    }
}

fn dim(c: RGBColor) -> RGBColor {
    RGBColor(c.0 / 4 * 3, c.1 / 4 * 3, c.2 / 4 * 3)
}

#[cfg(test)]
mod tests;
