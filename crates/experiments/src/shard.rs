//! Splitting a sweep into `N` shards that separate machines (or Slurm array tasks) run at once.
//!
//! Shards are numbered from 0: `--shard I/N` with `0 ≤ I < N`, so Slurm's `--array=0-(N-1)`
//! maps task ids to shards directly. The split depends only on the units' hashes: the units are
//! ordered by hash and dealt out round-robin, unit `k` of that order going to shard `k mod N`.
//! Every unit lands in exactly one shard, shard sizes differ by at most one, the same config
//! gives the same split on every machine, and the settings of a grid spread evenly over the
//! shards (hash order is unrelated to grid order), so expensive settings do not pile up in one.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    /// Which shard, `0..count`.
    pub index: usize,
    /// How many shards in all, at least 1.
    pub count: usize,
}

/// Why a `--shard I/N` value is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShardError {
    /// Not of the form `I/N`.
    Syntax(String),
    /// `N` is 0.
    NoShards(String),
    /// `I ≥ N`.
    OutOfRange {
        /// The value given.
        value: String,
        /// `I`.
        index: usize,
        /// `N`.
        count: usize,
    },
}

impl fmt::Display for ShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardError::Syntax(v) => write!(
                f,
                "`{v}`: expected I/N with whole numbers, e.g. 0/4 (shard I of N, counted from 0)"
            ),
            ShardError::NoShards(v) => write!(f, "`{v}`: the shard count N must be at least 1"),
            ShardError::OutOfRange {
                value,
                index,
                count,
            } => write!(
                f,
                "`{value}`: shard index {index} must be below the count {count} \
                 (shards are counted from 0: 0/{count} … {}/{count})",
                count - 1
            ),
        }
    }
}

impl std::error::Error for ShardError {}

impl Shard {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// `count` is 0 or `index ≥ count`.
    pub fn new(index: usize, count: usize) -> Result<Self, ShardError> {
        let value = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError::NoShards(value));
        }
        if index >= count {
            return Err(ShardError::OutOfRange {
                value,
                index,
                count,
            });
        }
        Ok(Shard { index, count })
    }

    /// Whether the unit at `position` of the shard assignment belongs to this shard.
    pub fn owns(&self, assignment: &[usize], position: usize) -> bool {
        assignment[position] == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || ShardError::Syntax(s.to_string());
        let (i, n) = s.trim().split_once('/').ok_or_else(syntax)?;
        let index: usize = i.trim().parse().map_err(|_| syntax())?;
        let count: usize = n.trim().parse().map_err(|_| syntax())?;
        Shard::new(index, count).map_err(|e| match e {
            ShardError::NoShards(_) => ShardError::NoShards(s.to_string()),
            ShardError::OutOfRange { index, count, .. } => ShardError::OutOfRange {
                value: s.to_string(),
                index,
                count,
            },
            other => other,
        })
    }
}

/// The shard (`0..count`) of every unit, given the units' hashes in any order.
///
/// Units are ordered by hash (ties by position) and dealt out round-robin. The result does not
/// depend on the order of `hashes`, except between equal hashes.
///
/// # Panics
/// If `count` is 0 ([`Shard::new`] rules that out).
pub(crate) fn assign<S: AsRef<str>>(hashes: &[S], count: usize) -> Vec<usize> {
    assert!(count > 0, "at least one shard");
    let mut order: Vec<usize> = (0..hashes.len()).collect();
    order.sort_by(|&a, &b| hashes[a].as_ref().cmp(hashes[b].as_ref()).then(a.cmp(&b)));
    let mut shard = vec![0; hashes.len()];
    for (rank, &i) in order.iter().enumerate() {
        shard[i] = rank % count;
    }
    shard
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: usize) -> Vec<String> {
        // FNV-like spread, as the real unit hashes.
        (0..n as u64)
            .map(|i| format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5555))
            .collect()
    }

    #[test]
    fn every_unit_lands_in_exactly_one_shard_and_sizes_differ_by_at_most_one() {
        for n_units in [0, 1, 2, 5, 6, 17, 100] {
            let h = hashes(n_units);
            for count in 1..=8 {
                let a = assign(&h, count);
                assert_eq!(a.len(), n_units);
                assert!(a.iter().all(|&s| s < count));
                let mut sizes = vec![0usize; count];
                for &s in &a {
                    sizes[s] += 1;
                }
                assert_eq!(sizes.iter().sum::<usize>(), n_units);
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "{n_units} units into {count}: {sizes:?}");
                // The shards partition the units: each shard's selection, together, is every unit once.
                let mut seen = vec![0; n_units];
                for index in 0..count {
                    let shard = Shard::new(index, count).unwrap();
                    for (pos, seen) in seen.iter_mut().enumerate() {
                        if shard.owns(&a, pos) {
                            *seen += 1;
                        }
                    }
                }
                assert!(seen.iter().all(|&c| c == 1));
            }
        }
    }

    #[test]
    fn the_split_depends_on_the_hashes_not_their_order() {
        let h = hashes(23);
        let a = assign(&h, 4);
        assert_eq!(a, assign(&h, 4), "deterministic");
        let mut reversed = h.clone();
        reversed.reverse();
        let b = assign(&reversed, 4);
        for (i, hash) in h.iter().enumerate() {
            let j = reversed.iter().position(|x| x == hash).unwrap();
            assert_eq!(a[i], b[j], "unit {hash}");
        }
    }

    #[test]
    fn parses_i_of_n_counted_from_zero() {
        assert_eq!("0/3".parse::<Shard>(), Ok(Shard { index: 0, count: 3 }));
        assert_eq!(" 2 / 3 ".parse::<Shard>().unwrap().to_string(), "2/3");
        assert_eq!("0/1".parse::<Shard>().unwrap(), Shard::new(0, 1).unwrap());
    }

    #[test]
    fn bad_values_are_refused_with_the_value_and_the_rule() {
        let msg = |s: &str| s.parse::<Shard>().unwrap_err().to_string();
        assert!(msg("3/3").contains("`3/3`") && msg("3/3").contains("0/3 … 2/3"));
        assert!(msg("1/0").contains("at least 1"));
        for bad in ["", "3", "a/b", "-1/3", "1/2/3", "1.5/3"] {
            assert!(msg(bad).contains("expected I/N"), "{bad}: {}", msg(bad));
        }
    }
}
