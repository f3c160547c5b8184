//! The plots of one experiment, chosen from what its rows hold:
//!
//! - a collisions table (E5): measured rate against the balanced and independent predictions,
//!   log–log, with the line y = x;
//! - a grid with a numeric parameter: test accuracy against it, one line per arm (and per value
//!   of the other grid parameters, e.g. α in E8), with the 95 % seed-bootstrap interval of the
//!   mean as a shaded band; plus the paired gain over dense (points) against it, with its band.
//!   For `train.split_fraction` (E7) the x axis is in % and dense is drawn as a dashed reference;
//! - no grid (E1, E9, E10): every seed's accuracy per arm, each seed's arms joined by a thin
//!   line so the pairing is visible, with the mean and its 95 % interval per arm.
//!
//! Every title says how many seeds the points rest on.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Result;
use plotters::style::RGBColor;

use super::load::ExperimentData;
use super::paired::{acc_interval, accuracies, gain_interval};
use super::plot::{Chart, Line, Marker, Series, arm_color, palette};
use super::stats::{SummaryRow, param_label, param_x};

/// A plotted point `(x, y, ±error)`.
type Pt = (f64, f64, Option<f64>);

/// A band point `(x, low, high)`.
type Band = (f64, f64, f64);

/// One line of a plot: an arm (and values of other grid keys), accuracy and gain points with
/// their interval bands.
struct Curve {
    arm: String,
    acc: Vec<Pt>,
    acc_band: Vec<Band>,
    gain: Vec<Pt>,
    gain_band: Vec<Band>,
}

/// A written plot: PNG path relative to the output root, and a caption.
#[derive(Clone, Debug)]
pub(crate) struct Figure {
    /// PNG path relative to the report (the SVG sits beside it).
    pub png: String,
    /// One-line caption.
    pub caption: String,
}

/// Short file-name form of a grid key.
fn short(key: &str) -> String {
    match key {
        "task.clauses" => "clauses".into(),
        "model.hidden" => "neurons".into(),
        "expansion.alpha" => "alpha".into(),
        "train.split_fraction" => "split_time".into(),
        "task.classes" => "classes".into(),
        k => k.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
    }
}

/// Short form of a grid key for plot titles.
fn title_label(key: &str) -> String {
    match key {
        "task.clauses" => "clauses m".into(),
        "model.hidden" => "width h".into(),
        "expansion.alpha" => "α".into(),
        "train.split_fraction" => "split time".into(),
        "task.classes" => "classes".into(),
        k => k.into(),
    }
}

/// The grid key used as x: `model.hidden` when several keys vary, else the first numeric one.
pub(crate) fn x_key(s: &[SummaryRow]) -> Option<String> {
    let keys: BTreeSet<&String> = s.iter().flat_map(|r| r.params.keys()).collect();
    let numeric: Vec<&String> = keys
        .iter()
        .copied()
        .filter(|k| {
            s.iter()
                .all(|r| r.params.get(*k).is_some_and(|v| param_x(k, v).is_some()))
        })
        .collect();
    let varies = |k: &String| {
        s.iter()
            .filter_map(|r| r.params.get(k))
            .collect::<BTreeSet<_>>()
            .len()
            > 1
    };
    if numeric.iter().any(|k| *k == "model.hidden") && keys.len() > 1 {
        return Some("model.hidden".into());
    }
    numeric
        .iter()
        .find(|k| varies(k))
        .or(numeric.first())
        .map(|k| (*k).clone())
}

/// Writes every plot of `exp` under `exp.dir/plots`; returns them with paths relative to the
/// output root (the experiment directory's parent).
///
/// # Errors
/// Drawing or writing errors.
pub(crate) fn experiment_figures(exp: &ExperimentData) -> Result<Vec<Figure>> {
    let mut figs = Vec::new();
    let plots = exp.dir.join("plots");
    let rel = |stem: &str| format!("{}/plots/{stem}.png", exp.name);
    let tag = if exp.has_data_file() {
        format!(" ({})", exp.data_label())
    } else {
        String::new()
    };
    if let Some(rows) = &exp.collisions {
        let chart = collisions_chart(rows);
        if chart.save(&plots, "collisions_vs_theory")?.is_some() {
            let zero = rows.iter().filter(|r| r.measured <= 0.0).count();
            let caption = format!(
                "Measured collision rate of `random` splits against the balanced (hypergeometric) and independent (α^−(2k−1)) predictions, log–log; dashed: y = x.{}",
                if zero > 0 {
                    format!(" {zero} (k, α) point(s) measured 0 cannot be shown on a log axis.")
                } else {
                    String::new()
                }
            );
            figs.push(Figure {
                png: rel("collisions_vs_theory"),
                caption,
            });
        }
    }
    let s = &exp.summary;
    let seeds = seed_range(s);
    let Some(xk) = x_key(s) else {
        if let Some(f) = paired_figure(exp, &seeds)? {
            figs.push(f);
        }
        return Ok(figs);
    };
    let pct_x = xk == "train.split_fraction";
    let scale = if pct_x { 100.0 } else { 1.0 };
    let others: Vec<String> = s
        .iter()
        .flat_map(|r| r.params.keys())
        .filter(|k| **k != xk)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // (arm order, label) → (arm, accuracy points (x, acc, std), gain points (x, gain)).
    let mut series: BTreeMap<(usize, String), Curve> = BTreeMap::new();
    let arm_order: Vec<String> = super::stats::arms(s);
    // Whether an arm's results depend on a key, once per (arm, key): asked per summary row, it
    // made a sweep of thousands of settings quadratic.
    let independent: BTreeMap<(&str, &str), bool> = arm_order
        .iter()
        .flat_map(|a| others.iter().map(move |k| (a.as_str(), k.as_str())))
        .map(|(a, k)| ((a, k), independent_of(s, a, k)))
        .collect();
    for r in s {
        let (Some(x), Some((acc, _))) = (
            r.params.get(&xk).and_then(|v| param_x(&xk, v)),
            acc_interval(exp, r.setting_index, &r.arm),
        ) else {
            continue;
        };
        // Keys the arm's results do not depend on (dense across α) give one line, not several.
        let keep: Vec<&String> = others
            .iter()
            .filter(|k| !independent[&(r.arm.as_str(), k.as_str())])
            .collect();
        let label_extra: Vec<String> = keep
            .iter()
            .filter_map(|k| {
                r.params.get(*k).map(|v| {
                    if *k == "expansion.alpha" {
                        format!("α={v}")
                    } else {
                        format!("{}={v}", short(k))
                    }
                })
            })
            .collect();
        let label = if label_extra.is_empty() {
            r.arm.clone()
        } else {
            format!("{}, {}", r.arm, label_extra.join(", "))
        };
        let order = arm_order.iter().position(|a| *a == r.arm).unwrap_or(0);
        let entry = series.entry((order, label)).or_insert_with(|| Curve {
            arm: r.arm.clone(),
            acc: Vec::new(),
            acc_band: Vec::new(),
            gain: Vec::new(),
            gain_band: Vec::new(),
        });
        if entry.acc.iter().any(|p| p.0 == x * scale) {
            continue;
        }
        let xs = x * scale;
        entry.acc.push((xs, acc.estimate, None));
        entry.acc_band.push((xs, acc.lo, acc.hi));
        if r.arm != "dense" {
            if let Some((g, _)) = gain_interval(exp, r.setting_index, &r.arm) {
                entry.gain.push((xs, g.estimate, None));
                entry.gain_band.push((xs, g.lo, g.hi));
            }
        }
    }
    let mut per_arm_seen: BTreeMap<String, usize> = BTreeMap::new();
    // Widths double from setting to setting: a log axis spaces them evenly.
    let log_x = xk == "model.hidden";
    let mut acc_chart = Chart {
        title: format!(
            "{}: test accuracy vs {}{tag} ({seeds})",
            exp.name,
            title_label(&xk)
        ),
        x_label: param_label(&xk),
        y_label: "test accuracy (%)".into(),
        log_x,
        ..Default::default()
    };
    let mut gain_chart = Chart {
        title: format!(
            "{}: paired gain over dense vs {}{tag} ({seeds})",
            exp.name,
            title_label(&xk)
        ),
        x_label: param_label(&xk),
        y_label: "acc(arm) − acc(dense), same seed (points)".into(),
        log_x,
        ..Default::default()
    };
    for (
        (_, label),
        Curve {
            arm,
            acc: mut pts,
            acc_band,
            gain: mut gains,
            gain_band,
        },
    ) in series
    {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        gains.sort_by(|a, b| a.0.total_cmp(&b.0));
        let k = per_arm_seen.entry(arm.clone()).or_insert(0);
        let color = shade(arm_color(&arm), *k);
        let marker = [Marker::Circle, Marker::Triangle, Marker::Cross][*k % 3];
        *k += 1;
        if pct_x && arm == "dense" {
            let name = format!("{label} (reference, no split)");
            acc_chart.series.push(Series {
                name,
                color,
                line: Line::Dashed,
                marker: Marker::None,
                points: pts,
                band: Some(acc_band),
            });
            continue;
        }
        acc_chart.series.push(Series {
            marker,
            band: Some(acc_band),
            ..Series::line(label.clone(), color, pts)
        });
        // wide_dense has α times the parameters: its gain dwarfs the equal-parameter arms.
        if !gains.is_empty() && arm != "wide_dense" {
            gain_chart.series.push(Series {
                marker,
                band: Some(gain_band),
                ..Series::line(label, color, gains)
            });
        }
    }
    let stem = format!("accuracy_vs_{}", short(&xk));
    if acc_chart.save(&plots, &stem)?.is_some() {
        let caption = format!(
            "Test accuracy (mean over seeds, {seeds}; shaded: 95 % seed-bootstrap interval of the mean) against {}{}.",
            param_label(&xk),
            if pct_x {
                "; dense (never split) as a dashed reference"
            } else {
                ""
            }
        );
        figs.push(Figure {
            png: rel(&stem),
            caption,
        });
    }
    let stem = format!("gain_vs_{}", short(&xk));
    if gain_chart.save(&plots, &stem)?.is_some() {
        let caption = format!(
            "Paired gain acc(arm) − acc(dense) of the same seed, in points (mean over seeds, {seeds}; shaded: 95 % seed-bootstrap interval), against {}{}.",
            param_label(&xk),
            if s.iter().any(|r| r.arm == "wide_dense") {
                "; `wide_dense` (α× the parameters) is left out here, see the accuracy plot"
            } else {
                ""
            }
        );
        figs.push(Figure {
            png: rel(&stem),
            caption,
        });
    }
    Ok(figs)
}

/// `n = 10 seeds`, or `n = 8–10 seeds` when settings differ.
fn seed_range(s: &[SummaryRow]) -> String {
    let lo = s.iter().map(|r| r.n).filter(|n| *n > 0).min().unwrap_or(0);
    let hi = s.iter().map(|r| r.n).max().unwrap_or(0);
    if lo == hi {
        format!("n = {hi} seeds")
    } else {
        format!("n = {lo}–{hi} seeds")
    }
}

/// One experiment without a grid: every seed's accuracy per arm, each seed's arms joined, and
/// each arm's mean with its 95 % interval.
fn paired_figure(exp: &ExperimentData, seeds: &str) -> Result<Option<Figure>> {
    let s = &exp.summary;
    let Some(si) = s.first().map(|r| r.setting_index) else {
        return Ok(None);
    };
    let arms: Vec<String> = super::stats::arms(s)
        .into_iter()
        .filter(|a| !accuracies(exp, si, a).is_empty())
        .collect();
    if arms.len() < 2 {
        return Ok(None);
    }
    let per_arm: Vec<std::collections::BTreeMap<u64, f64>> =
        arms.iter().map(|a| accuracies(exp, si, a)).collect();
    let all_seeds: BTreeSet<u64> = per_arm.iter().flat_map(|m| m.keys().copied()).collect();
    let mut chart = Chart {
        title: format!("{}: test accuracy per seed and arm ({seeds})", exp.name),
        x_label: "arm".into(),
        y_label: "test accuracy (%)".into(),
        x_names: arms.clone(),
        ..Default::default()
    };
    for seed in &all_seeds {
        let points: Vec<Pt> = per_arm
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.get(seed).map(|a| (i as f64, 100.0 * a, None)))
            .collect();
        chart.series.push(Series {
            name: String::new(),
            color: RGBColor(90, 90, 90),
            line: Line::Thin,
            marker: Marker::None,
            points,
            band: None,
        });
    }
    for (i, (arm, m)) in arms.iter().zip(&per_arm).enumerate() {
        let color = arm_color(arm);
        chart.series.push(Series {
            name: String::new(),
            color,
            line: Line::None,
            marker: Marker::Circle,
            points: m.values().map(|a| (i as f64, 100.0 * a, None)).collect(),
            band: None,
        });
        if let Some((iv, _)) = acc_interval(exp, si, arm) {
            // The mean with a bar spanning the interval (drawn about its midpoint). No legend:
            // the axis names the arms and REPORT.md lists the intervals.
            let mid = (iv.lo + iv.hi) / 2.0;
            chart.series.push(Series {
                name: String::new(),
                color,
                line: Line::None,
                marker: Marker::Cross,
                points: vec![(i as f64 + 0.18, mid, Some((iv.hi - iv.lo) / 2.0))],
                band: None,
            });
        }
    }
    let stem = "accuracy_per_seed";
    if chart.save(&exp.dir.join("plots"), stem)?.is_none() {
        return Ok(None);
    }
    Ok(Some(Figure {
        png: format!("{}/plots/{stem}.png", exp.name),
        caption: format!(
            "Test accuracy of every seed ({seeds}) per arm; grey lines join one seed's arms (they share the warm-up, data and batch order, so comparisons are paired by seed). Beside each arm: the 95 % seed-bootstrap interval of the mean."
        ),
    }))
}

/// True if `arm`'s results (widths, accuracy) are identical across the values of grid key `k`
/// whenever the other keys agree, e.g. dense across α: such a key does not split its line.
fn independent_of(s: &[SummaryRow], arm: &str, k: &str) -> bool {
    type Outcome = (String, Option<u64>, Option<u64>);
    let mut groups: BTreeMap<Vec<(&String, &String)>, BTreeSet<Outcome>> = BTreeMap::new();
    for r in s.iter().filter(|r| r.arm == arm) {
        let key: Vec<(&String, &String)> = r.params.iter().filter(|(kk, _)| *kk != k).collect();
        groups.entry(key).or_default().insert((
            r.widths.clone(),
            r.acc.map(f64::to_bits),
            r.acc_std.map(f64::to_bits),
        ));
    }
    groups.values().all(|v| v.len() == 1)
}

/// A lighter or darker variant `k` of a colour, for several lines of one arm.
fn shade(c: RGBColor, k: usize) -> RGBColor {
    if k == 0 {
        return c;
    }
    let f = [1.0, 0.6, 1.35, 0.4][k % 4];
    let m = |v: u8| ((f64::from(v) * f).round().clamp(0.0, 235.0)) as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

fn collisions_chart(rows: &[fpe_experiments::results::CollisionRow]) -> Chart {
    let bal: Vec<Pt> = rows
        .iter()
        .map(|r| (r.theory_balanced, r.measured, None))
        .collect();
    let ind: Vec<Pt> = rows
        .iter()
        .map(|r| (r.theory_independent, r.measured, None))
        .collect();
    // The y = x line spans the points that can be drawn (measured > 0).
    let positive = rows
        .iter()
        .filter(|r| r.measured > 0.0)
        .flat_map(|r| [r.theory_balanced, r.theory_independent, r.measured])
        .filter(|v| *v > 0.0);
    let (lo, hi) = positive.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let mut series = vec![
        Series {
            name: "vs balanced (hypergeometric)".into(),
            color: palette(0),
            line: Line::None,
            marker: Marker::Circle,
            points: bal,
            band: None,
        },
        Series {
            name: "vs independent α^−(2k−1)".into(),
            color: palette(1),
            line: Line::None,
            marker: Marker::Triangle,
            points: ind,
            band: None,
        },
    ];
    if lo.is_finite() && hi > lo {
        series.push(Series {
            name: "y = x".into(),
            color: RGBColor(120, 120, 120),
            line: Line::Dashed,
            marker: Marker::None,
            points: vec![(lo, lo, None), (hi, hi, None)],
            band: None,
        });
    }
    Chart {
        title: "E5: measured collision rate vs theory (random split)".into(),
        x_label: "predicted collision probability".into(),
        y_label: "measured collision rate".into(),
        log_x: true,
        log_y: true,
        series,
        x_names: Vec::new(),
    }
}
