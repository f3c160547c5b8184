//! Per-seed views of an experiment's rows, for paired comparisons: every arm of a seed shares its
//! warm-up, data and batch order (SPEC §4), so arms are compared seed by seed.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::inference::{Interval, bootstrap_mean, rng_for};
use super::load::{ExperimentData, SummaryIntervals};
use fpe_experiments::results::RunRow;

/// Test accuracy (fraction) per seed of `arm` in setting `si`, successful runs only.
pub(crate) fn accuracies(exp: &ExperimentData, si: usize, arm: &str) -> BTreeMap<u64, f64> {
    by_seed(exp, si, arm, |r| Some(r.test_accuracy))
}

/// A value per seed of `arm` in setting `si` (successful runs; `None` values left out).
pub(crate) fn by_seed(
    exp: &ExperimentData,
    si: usize,
    arm: &str,
    get: impl Fn(&RunRow) -> Option<f64>,
) -> BTreeMap<u64, f64> {
    exp.rows_of(si, arm)
        .filter(|r| r.status.is_ok())
        .filter_map(|r| get(r).filter(|v| v.is_finite()).map(|v| (r.seed, v)))
        .collect()
}

/// Seeds present in both maps, with both values, in seed order.
pub(crate) fn join(a: &BTreeMap<u64, f64>, b: &BTreeMap<u64, f64>) -> Vec<(u64, f64, f64)> {
    a.iter()
        .filter_map(|(s, x)| b.get(s).map(|y| (*s, *x, *y)))
        .collect()
}

/// Paired differences `acc(arm) − acc(base)` in accuracy points (percent), per seed present in
/// both, in seed order.
pub(crate) fn diff_points(exp: &ExperimentData, si: usize, arm: &str, base: &str) -> Vec<f64> {
    join(&accuracies(exp, si, arm), &accuracies(exp, si, base))
        .into_iter()
        .map(|(_, a, b)| 100.0 * (a - b))
        .collect()
}

/// Paired differences across two settings of the same arm family: per seed,
/// `(acc(arm, s2) − acc(base, s2)) − (acc(arm, s1) − acc(base, s1))` in points.
pub(crate) fn contrast_points(
    exp: &ExperimentData,
    arm: &str,
    base: &str,
    s1: usize,
    s2: usize,
) -> Vec<f64> {
    let gain = |si: usize| -> BTreeMap<u64, f64> {
        join(&accuracies(exp, si, arm), &accuracies(exp, si, base))
            .into_iter()
            .map(|(s, a, b)| (s, 100.0 * (a - b)))
            .collect()
    };
    join(&gain(s2), &gain(s1))
        .into_iter()
        .map(|(_, g2, g1)| g2 - g1)
        .collect()
}

/// Wins of the first over the second: seeds with a positive difference, and the seed count.
pub(crate) fn wins(d: &[f64]) -> (usize, usize) {
    (d.iter().filter(|x| **x > 0.0).count(), d.len())
}

/// The summary intervals of every (setting, arm) of `exp`, computed once in parallel (each from
/// its own seeded stream, so the thread count changes nothing).
fn summary_intervals(exp: &ExperimentData) -> &HashMap<(usize, String), SummaryIntervals> {
    exp.intervals.get_or_init(|| {
        exp.summary
            .par_iter()
            .map(|r| {
                let key = (r.setting_index, r.arm.clone());
                let iv = SummaryIntervals {
                    acc: compute_acc_interval(exp, r.setting_index, &r.arm),
                    gain: (r.arm != "dense")
                        .then(|| compute_gain_interval(exp, r.setting_index, &r.arm))
                        .flatten(),
                };
                (key, iv)
            })
            .collect()
    })
}

/// Mean accuracy of `arm` in setting `si` in percent, with its 95 % seed-bootstrap interval and
/// the seed count.
pub(crate) fn acc_interval(
    exp: &ExperimentData,
    si: usize,
    arm: &str,
) -> Option<(Interval, usize)> {
    match summary_intervals(exp).get(&(si, arm.to_string())) {
        Some(iv) => iv.acc,
        None => compute_acc_interval(exp, si, arm),
    }
}

/// Mean paired gain `acc(arm) − acc(dense)` in points in setting `si`, with its 95 %
/// seed-bootstrap interval and the seed count.
pub(crate) fn gain_interval(
    exp: &ExperimentData,
    si: usize,
    arm: &str,
) -> Option<(Interval, usize)> {
    match summary_intervals(exp).get(&(si, arm.to_string())) {
        Some(iv) if arm != "dense" => iv.gain,
        _ => compute_gain_interval(exp, si, arm),
    }
}

fn compute_acc_interval(exp: &ExperimentData, si: usize, arm: &str) -> Option<(Interval, usize)> {
    let v: Vec<f64> = accuracies(exp, si, arm)
        .into_values()
        .map(|a| 100.0 * a)
        .collect();
    let key = format!("acc|{}|{si}|{arm}", exp.name);
    Some((bootstrap_mean(&v, &mut rng_for(&key))?, v.len()))
}

fn compute_gain_interval(exp: &ExperimentData, si: usize, arm: &str) -> Option<(Interval, usize)> {
    let d = diff_points(exp, si, arm, "dense");
    let key = format!("gain|{}|{si}|{arm}", exp.name);
    Some((bootstrap_mean(&d, &mut rng_for(&key))?, d.len()))
}
