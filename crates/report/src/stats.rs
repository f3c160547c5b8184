//! Summaries of result rows: mean ± sample std per (setting, arm), gains over dense, and parsing
//! of grid values. Intervals and tests live in `inference` and `paired`.

use std::collections::BTreeMap;

use fpe_experiments::results::RunRow;

/// Mean and sample standard deviation (n − 1) of `v`; the std is `None` below two values and the
/// mean is `None` for no values.
pub(crate) fn mean_std(v: &[f64]) -> (Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (Some(mean), None);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (Some(mean), Some(var.sqrt()))
}

/// Mean of the present values of an optional metric, `None` if none is present.
fn mean_opt(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let present: Vec<f64> = v.flatten().filter(|x| x.is_finite()).collect();
    mean_std(&present).0
}

/// Reads one optional metric of a row.
type Getter = fn(&RunRow) -> Option<f64>;

/// Metrics averaged in the summary: (column name, getter).
pub(crate) const METRICS: &[(&str, Getter)] = &[
    ("capacity_literals", |r| r.capacity_literals),
    ("capacity_mean", |r| r.capacity_mean),
    ("cosine_abs", |r| r.cosine_abs),
    ("cosine_cross_parent", |r| r.cosine_cross_parent),
    ("collision_rate", |r| r.collision_rate),
    ("coverage", |r| r.coverage),
    ("polysemanticity", |r| r.polysemanticity),
    ("pr_dimension", |r| r.pr_dimension),
];

/// One (setting, arm) of an experiment, over its seeds.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SummaryRow {
    /// Position of the setting in the grid.
    pub setting_index: usize,
    /// Setting label (`a=1,b=2`; empty without a grid).
    pub setting: String,
    /// Grid values of the setting.
    pub params: BTreeMap<String, String>,
    /// Arm name.
    pub arm: String,
    /// Successful runs (seeds) in the means.
    pub n: usize,
    /// Failed runs, excluded from the means.
    pub failed: usize,
    /// Test accuracy: mean and sample std over seeds.
    pub acc: Option<f64>,
    /// Std of the test accuracy (`None` for a single seed).
    pub acc_std: Option<f64>,
    /// Mean final training loss.
    pub loss: Option<f64>,
    /// Mean nnz.
    pub nnz: Option<f64>,
    /// Widths `d-h-…-C` of the first successful run.
    pub widths: String,
    /// First hidden width.
    pub hidden: usize,
    /// Expansion factor of the arm (1 for dense).
    pub alpha: usize,
    /// Metric means, keyed as in [`METRICS`].
    pub metrics: BTreeMap<&'static str, Option<f64>>,
}

impl SummaryRow {
    /// Mean of metric `name` (as in [`METRICS`]).
    pub(crate) fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied().flatten()
    }
}

/// Groups `rows` by (setting, arm) in order of first appearance (setting index first).
pub(crate) fn summarize(rows: &[RunRow]) -> Vec<SummaryRow> {
    let mut order: Vec<(usize, String, String)> = Vec::new();
    let mut groups: BTreeMap<(usize, String, String), Vec<&RunRow>> = BTreeMap::new();
    for r in rows {
        let key = (r.setting_index, r.setting.clone(), r.arm.name().to_string());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    order.sort_by_key(|k| k.0);
    order
        .into_iter()
        .map(|key| {
            let g = &groups[&key];
            let ok: Vec<&RunRow> = g.iter().copied().filter(|r| r.status.is_ok()).collect();
            let acc: Vec<f64> = ok.iter().map(|r| r.test_accuracy).collect();
            let (acc_mean, acc_std) = mean_std(&acc);
            let first = ok.first().copied().unwrap_or(g[0]);
            SummaryRow {
                setting_index: key.0,
                setting: key.1.clone(),
                params: first.params.clone(),
                arm: key.2.clone(),
                n: ok.len(),
                failed: g.len() - ok.len(),
                acc: acc_mean,
                acc_std,
                loss: mean_opt(ok.iter().map(|r| Some(r.final_train_loss))),
                nnz: mean_opt(ok.iter().map(|r| Some(r.nnz as f64))),
                widths: first.widths.clone(),
                hidden: first.hidden,
                alpha: first.alpha,
                metrics: METRICS
                    .iter()
                    .map(|(name, get)| (*name, mean_opt(ok.iter().map(|r| get(r)))))
                    .collect(),
            }
        })
        .collect()
}

/// The summary of `arm` in setting `setting_index`.
pub(crate) fn find<'a>(
    s: &'a [SummaryRow],
    setting_index: usize,
    arm: &str,
) -> Option<&'a SummaryRow> {
    s.iter()
        .find(|r| r.setting_index == setting_index && r.arm == arm)
}

/// Relative gain `acc(arm) / acc(dense) − 1` in setting `setting_index` (means over seeds).
pub(crate) fn gain(s: &[SummaryRow], setting_index: usize, arm: &str) -> Option<f64> {
    let a = find(s, setting_index, arm)?.acc?;
    let d = find(s, setting_index, "dense")?.acc?;
    (d > 0.0).then(|| a / d - 1.0)
}

/// Distinct settings `(index, params)` in order.
pub(crate) fn settings(s: &[SummaryRow]) -> Vec<(usize, BTreeMap<String, String>)> {
    let mut out: Vec<(usize, BTreeMap<String, String>)> = Vec::new();
    for r in s {
        if !out.iter().any(|(i, _)| *i == r.setting_index) {
            out.push((r.setting_index, r.params.clone()));
        }
    }
    out
}

/// Arms in order of first appearance.
pub(crate) fn arms(s: &[SummaryRow]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in s {
        if !out.contains(&r.arm) {
            out.push(r.arm.clone());
        }
    }
    out
}

/// Parses a grid value as TOML (`8`, `0.25`, `[8]`, `[0, 1, 2]`, `"x"`).
fn parse_value(text: &str) -> Option<toml::Value> {
    let table: toml::Table = format!("v = {text}").parse().ok()?;
    table.get("v").cloned()
}

fn as_f64(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// A grid value as a number: numbers as they are, a list by its first element (`[8]` → 8, the
/// first hidden width); `None` for anything else.
pub(crate) fn param_num(text: &str) -> Option<f64> {
    match parse_value(text.trim())? {
        toml::Value::Array(a) => a.first().and_then(as_f64),
        v => as_f64(&v),
    }
}

/// The number of elements of a list-valued grid value (`[0, 1, 2]` → 3), or the number itself.
pub(crate) fn param_count(text: &str) -> Option<f64> {
    match parse_value(text.trim())? {
        toml::Value::Array(a) => Some(a.len() as f64),
        v => as_f64(&v),
    }
}

/// The x value of a grid parameter for plots and trends: class subsets count their classes,
/// everything else is [`param_num`].
pub(crate) fn param_x(key: &str, text: &str) -> Option<f64> {
    if key == "task.classes" {
        param_count(text)
    } else {
        param_num(text)
    }
}

/// Axis label of a grid parameter.
pub(crate) fn param_label(key: &str) -> String {
    match key {
        "task.clauses" => "clauses m".into(),
        "model.hidden" => "hidden neurons h (before expansion)".into(),
        "expansion.alpha" => "expansion factor α".into(),
        "train.split_fraction" => "split time (% of the schedule)".into(),
        "task.classes" => "classes".into(),
        "task.literals" => "literals per clause k".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(setting_index: usize, arm: &str, seed: u64, acc: f64) -> RunRow {
        RunRow {
            experiment: "x".into(),
            setting: format!("s={setting_index}"),
            setting_index,
            seed,
            arm: arm.parse().unwrap(),
            status: fpe_experiments::results::Status::Ok,
            test_accuracy: acc,
            nnz: 100,
            ..Default::default()
        }
    }

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert!((m.unwrap() - 2.5).abs() < 1e-12);
        assert!((s.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[0.7]), (Some(0.7), None));
        assert_eq!(mean_std(&[]), (None, None));
    }

    #[test]
    fn failed_runs_are_excluded_and_counted() {
        let mut bad = row(0, "random", 2, f64::NAN);
        bad.status = fpe_experiments::results::Status::Failed;
        let rows = vec![
            row(0, "dense", 0, 0.6),
            row(0, "dense", 1, 0.8),
            row(0, "random", 0, 0.9),
            bad,
        ];
        let s = summarize(&rows);
        assert_eq!(s.len(), 2);
        let r = find(&s, 0, "random").unwrap();
        assert_eq!((r.n, r.failed), (1, 1));
        assert_eq!((r.acc, r.acc_std), (Some(0.9), None));
        let d = find(&s, 0, "dense").unwrap();
        assert!((d.acc.unwrap() - 0.7).abs() < 1e-12);
        assert!((gain(&s, 0, "random").unwrap() - (0.9 / 0.7 - 1.0)).abs() < 1e-12);
        assert_eq!(gain(&s, 0, "clause"), None);
    }

    #[test]
    fn params_parse() {
        assert_eq!(param_num("[8]"), Some(8.0));
        assert_eq!(param_num("0.25"), Some(0.25));
        assert_eq!(param_num("4"), Some(4.0));
        assert_eq!(param_num("\"x\""), None);
        assert_eq!(param_x("task.classes", "[0, 1, 2]"), Some(3.0));
        assert_eq!(param_x("task.classes", "[\"a\", \"b\"]"), Some(2.0));
    }
}
