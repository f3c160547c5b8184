//! Statistical inference over seeds: percentile-bootstrap intervals, the exact sign-flip
//! permutation test, rank correlation and least squares, and a rough seed count to resolve an
//! inconclusive comparison.
//!
//! Everything is deterministic: every bootstrap draws from a ChaCha8 stream seeded by the caller
//! (the report derives one seed per claim row from its id), so the same result files always give
//! the same report. Intervals are two-sided 95 % percentile intervals over [`RESAMPLES`] resamples.

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// Bootstrap resamples per interval.
pub(crate) const RESAMPLES: usize = 10_000;

/// Two-sided level of every interval.
pub(crate) const LEVEL: f64 = 0.95;

/// Seeds up to which the sign-flip test enumerates all 2^n sign patterns (above: 200,000 random
/// patterns from a fixed seed).
const EXACT_SIGN_FLIP_MAX: usize = 22;

/// An estimate with its bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Interval {
    /// The statistic on the data as observed.
    pub estimate: f64,
    /// Lower end of the 95 % percentile interval.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Standard deviation of the bootstrap distribution (the estimate's standard error).
    pub se: f64,
}

impl Interval {
    /// A degenerate interval at `v` (no resampling possible).
    pub(crate) fn point(v: f64) -> Self {
        Interval {
            estimate: v,
            lo: v,
            hi: v,
            se: 0.0,
        }
    }

    /// Whether `v` lies inside `[lo, hi]`.
    pub(crate) fn contains(&self, v: f64) -> bool {
        self.lo <= v && v <= self.hi
    }
}

/// A deterministic generator for the bootstrap of one row, from a text key (FNV-1a).
pub(crate) fn rng_for(key: &str) -> ChaCha8Rng {
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    ChaCha8Rng::seed_from_u64(h)
}

/// Mean of `v` (`NaN` when empty).
pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The `q`-quantile of sorted values, linear between order statistics.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

/// The interval of a bootstrap distribution around `estimate`; non-finite draws (a statistic
/// undefined on a resample, e.g. a constant variable) are dropped.
fn from_draws(estimate: f64, mut draws: Vec<f64>) -> Interval {
    draws.retain(|d| d.is_finite());
    if draws.is_empty() {
        return Interval::point(estimate);
    }
    draws.sort_by(f64::total_cmp);
    let tail = (1.0 - LEVEL) / 2.0;
    let m = mean(&draws);
    let var = draws.iter().map(|d| (d - m).powi(2)).sum::<f64>() / draws.len().max(2) as f64;
    Interval {
        estimate,
        lo: quantile(&draws, tail),
        hi: quantile(&draws, 1.0 - tail),
        se: var.sqrt(),
    }
}

/// Bootstrap of a statistic over groups resampled independently: each draw replaces every group
/// by as many values drawn with replacement from it (seeds resampled within each setting), then
/// applies `stat`. With one group this is the ordinary seed bootstrap.
///
/// Returns `None` if any group is empty or `stat` is undefined on the data as observed.
pub(crate) fn bootstrap_groups<T: Clone>(
    groups: &[Vec<T>],
    rng: &mut ChaCha8Rng,
    stat: impl Fn(&[Vec<T>]) -> f64,
) -> Option<Interval> {
    if groups.is_empty() || groups.iter().any(Vec::is_empty) {
        return None;
    }
    let estimate = stat(groups);
    if !estimate.is_finite() {
        return None;
    }
    let mut sample: Vec<Vec<T>> = groups.to_vec();
    let draws = (0..RESAMPLES)
        .map(|_| {
            for (g, s) in groups.iter().zip(sample.iter_mut()) {
                for slot in s.iter_mut() {
                    *slot = g[rng.random_range(0..g.len())].clone();
                }
            }
            stat(&sample)
        })
        .collect();
    Some(from_draws(estimate, draws))
}

/// Seed bootstrap of the mean of `v` (e.g. paired differences).
pub(crate) fn bootstrap_mean(v: &[f64], rng: &mut ChaCha8Rng) -> Option<Interval> {
    bootstrap_groups(&[v.to_vec()], rng, |g| mean(&g[0]))
}

/// Two-sided p-value of the sign-flip permutation test of "the paired differences `d` are
/// centred on 0": the fraction of sign patterns whose |mean| is at least the observed one.
/// Exact (all 2^n patterns) up to 22 seeds, Monte Carlo (200,000 patterns from a fixed seed)
/// above. `None` for
/// no differences.
pub(crate) fn sign_flip_p(d: &[f64]) -> Option<f64> {
    let n = d.len();
    if n == 0 {
        return None;
    }
    let observed = d.iter().sum::<f64>().abs();
    // Sums are compared with a relative tolerance so that ties (equal |sums|) count as extreme.
    let tol = 1e-12 * d.iter().map(|x| x.abs()).sum::<f64>().max(1e-300);
    let extreme = |s: f64| s.abs() >= observed - tol;
    if n <= EXACT_SIGN_FLIP_MAX {
        let total = 1u64 << n;
        let hits = (0..total)
            .filter(|mask| {
                let s: f64 = d
                    .iter()
                    .enumerate()
                    .map(|(i, x)| if mask >> i & 1 == 1 { -x } else { *x })
                    .sum();
                extreme(s)
            })
            .count();
        return Some(hits as f64 / total as f64);
    }
    // Monte Carlo: each draw flips the signs of 8 differences with one random byte, looked up
    // in the 256 signed sums of their chunk, so a draw costs n/8 additions (a 9,000-seed sweep
    // took minutes with one random number and one addition per difference).
    let tables: Vec<[f64; 256]> = d
        .chunks(8)
        .map(|chunk| {
            std::array::from_fn(|mask| {
                chunk
                    .iter()
                    .enumerate()
                    .map(|(i, x)| if mask >> i & 1 == 1 { -x } else { *x })
                    .sum()
            })
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0x5167_f11b);
    let draws = 200_000;
    let mut signs = vec![0u8; tables.len()];
    let hits = (0..draws)
        .filter(|_| {
            rng.fill_bytes(&mut signs);
            let s: f64 = tables
                .iter()
                .zip(&signs)
                .map(|(t, &b)| t[usize::from(b)])
                .sum();
            extreme(s)
        })
        .count();
    // The observed pattern counts as one of the draws (so p is never 0).
    Some((hits + 1) as f64 / (draws + 1) as f64)
}

/// Seeds that would roughly resolve an inconclusive estimate: the n at which a 95 % interval
/// of half-width 1.96·se·√(n₀/n) would exclude `null` with 80 % power, i.e.
/// `n₀ · ((1.96 + 0.84) · se / |estimate − null|)²`. `None` when the estimate sits on `null` or
/// the standard error is 0.
pub(crate) fn seeds_needed(n0: usize, iv: &Interval, null: f64) -> Option<usize> {
    let effect = (iv.estimate - null).abs();
    if effect <= 0.0 || iv.se <= 0.0 || n0 == 0 {
        return None;
    }
    let n = n0 as f64 * ((1.959_964 + 0.841_621) * iv.se / effect).powi(2);
    (n.is_finite() && n < 1e9).then(|| n.ceil() as usize)
}

/// Ranks (1-based) with ties given their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation; `None` for fewer than two points or a constant variable.
fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Spearman rank correlation of `x` and `y` (Pearson of average ranks); `None` for fewer than
/// three points or a constant variable.
pub(crate) fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 3 {
        return None;
    }
    pearson(&ranks(x), &ranks(y))
}

/// Least squares `y ≈ slope·x + intercept` with R²; `None` for fewer than two points or a
/// constant `x`.
pub(crate) fn least_squares(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        1.0
    };
    Some((slope, my - slope * mx, r2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_is_deterministic_and_brackets_the_mean() {
        let d = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let a = bootstrap_mean(&d, &mut rng_for("x")).unwrap();
        let b = bootstrap_mean(&d, &mut rng_for("x")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.estimate, 5.5);
        assert!(a.lo < 5.5 && a.hi > 5.5, "{a:?}");
        // The bootstrap s.e. of a mean is about sd/√n (population sd 2.87 → 0.91).
        assert!((a.se - 0.908).abs() < 0.05, "{a:?}");
        // About ±1.96 s.e.
        assert!((a.hi - a.lo - 2.0 * 1.96 * 0.908).abs() < 0.4, "{a:?}");
        assert!(bootstrap_mean(&[], &mut rng_for("x")).is_none());
        assert_eq!(
            bootstrap_mean(&[2.0], &mut rng_for("x")).unwrap(),
            Interval::point(2.0)
        );
    }

    #[test]
    fn independent_groups_are_resampled_separately() {
        // Two groups with no spread inside: every resample has the same statistic.
        let g = vec![vec![1.0, 1.0, 1.0], vec![5.0, 5.0]];
        let iv = bootstrap_groups(&g, &mut rng_for("g"), |s| mean(&s[1]) - mean(&s[0])).unwrap();
        assert_eq!((iv.estimate, iv.lo, iv.hi, iv.se), (4.0, 4.0, 4.0, 0.0));
    }

    #[test]
    fn sign_flip_p_values() {
        // All five differences positive: only the all-plus and all-minus patterns are as
        // extreme, p = 2/32.
        assert_eq!(sign_flip_p(&[1.0, 2.0, 3.0, 4.0, 5.0]), Some(2.0 / 32.0));
        // A symmetric sample: every pattern is at least as extreme as |sum| = 0.
        assert_eq!(sign_flip_p(&[1.0, -1.0]), Some(1.0));
        assert_eq!(sign_flip_p(&[]), None);
        // Monte Carlo above 22 seeds: 30 equal positive differences, p ≈ 2/2^30 → 1/200,001.
        let p = sign_flip_p(&[1.0; 30]).unwrap();
        assert!(p < 1e-4 && p > 0.0, "{p}");
        // Monte Carlo agrees with the exact count where both apply: 23 differences, 20 positive
        // and 3 negative of equal size, |sum| ≥ 17 ⇔ at most 3 flips away from all-plus or
        // all-minus: p = 2 · Σ_{k≤3} C(23, k) / 2^23.
        let mut d = vec![1.0; 20];
        d.extend([-1.0; 3]);
        let exact = 2.0 * (1.0 + 23.0 + 253.0 + 1771.0) / f64::from(1u32 << 23);
        let p = sign_flip_p(&d).unwrap();
        assert!((p - exact).abs() < 3e-4, "{p} vs {exact}");
    }

    #[test]
    fn seeds_needed_follows_the_variance() {
        let iv = Interval {
            estimate: 1.0,
            lo: -1.0,
            hi: 3.0,
            se: 1.0,
        };
        // 10 · (2.8 · 1 / 1)² = 78.4 → 79.
        assert_eq!(seeds_needed(10, &iv, 0.0), Some(79));
        assert_eq!(seeds_needed(10, &iv, 1.0), None);
    }

    #[test]
    fn rank_correlation_and_least_squares() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[1.0, 5.0, 9.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        let r = spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 1.0, 2.0, 3.0]).unwrap();
        assert!(r > 0.9 && r < 1.0);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0, 2.0]), None);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0]), None);
        let (s, i, r2) = least_squares(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]).unwrap();
        assert!((s - 2.0).abs() < 1e-12 && (i - 1.0).abs() < 1e-12 && (r2 - 1.0).abs() < 1e-12);
        assert!(least_squares(&[1.0, 1.0], &[0.0, 1.0]).is_none());
    }
}
