//! Seed lists on the command line: `0,1,2`, inclusive ranges `0-19`, mixes `0-4,10`, and for
//! `fpe reproduce` a bare count `10` (seeds 0..9).

use std::collections::BTreeSet;

/// Most seeds one list may name (a typo such as `0-1000000000` is refused, not allocated).
pub const MAX_SEEDS: usize = 100_000;

/// Parses a comma-separated list of seeds and inclusive ranges `a-b`, in the order given.
///
/// # Errors
/// An empty list or item, a non-number, a reversed range, a duplicate seed, or more than
/// [`MAX_SEEDS`] seeds; the message names the item.
pub fn parse_list(text: &str) -> Result<Vec<u64>, String> {
    let mut out: Vec<u64> = Vec::new();
    let mut seen = BTreeSet::new();
    for item in text.split(',').map(str::trim) {
        if item.is_empty() {
            return Err("an empty item: give seeds like 0,1,2 or a range 0-19".into());
        }
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (number(a, item)?, number(b, item)?),
            None => {
                let v = number(item, item)?;
                (v, v)
            }
        };
        if b < a {
            return Err(format!(
                "`{item}`: a range goes from low to high, e.g. {b}-{a}"
            ));
        }
        if (b - a) as usize >= MAX_SEEDS || out.len() + (b - a) as usize >= MAX_SEEDS {
            return Err(format!("more than {MAX_SEEDS} seeds"));
        }
        for s in a..=b {
            if !seen.insert(s) {
                return Err(format!("seed {s} is given twice"));
            }
            out.push(s);
        }
    }
    Ok(out)
}

fn number(s: &str, item: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("`{item}` is not a seed or a range of seeds (e.g. 3 or 0-19)"))
}

/// `fpe reproduce --seeds`: a bare number N means the first N seeds (0..N−1); anything else is a
/// list as in [`parse_list`].
///
/// # Errors
/// As [`parse_list`], or a count of 0.
pub fn parse_count_or_list(text: &str) -> Result<Vec<u64>, String> {
    let t = text.trim();
    if !t.contains([',', '-']) {
        let n: usize = t
            .parse()
            .map_err(|_| format!("`{t}` is neither a seed count nor a list such as 0-19"))?;
        if n == 0 || n > MAX_SEEDS {
            return Err(format!("a seed count must be between 1 and {MAX_SEEDS}"));
        }
        return Ok((0..n as u64).collect());
    }
    parse_list(t)
}

/// The seeds as a TOML array (for config overrides).
pub fn to_toml(seeds: &[u64]) -> toml::Value {
    toml::Value::Array(
        seeds
            .iter()
            .map(|&s| toml::Value::Integer(i64::try_from(s).unwrap_or(i64::MAX)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_ranges_and_counts() {
        assert_eq!(parse_list("0,1,2"), Ok(vec![0, 1, 2]));
        assert_eq!(parse_list("0-4,10"), Ok(vec![0, 1, 2, 3, 4, 10]));
        assert_eq!(parse_list(" 7 "), Ok(vec![7]));
        assert_eq!(parse_count_or_list("3"), Ok(vec![0, 1, 2]));
        assert_eq!(parse_count_or_list("3-4"), Ok(vec![3, 4]));
        assert_eq!(
            parse_count_or_list("5,"),
            Err("an empty item: give seeds like 0,1,2 or a range 0-19".into())
        );
        assert!(parse_list("4-2").unwrap_err().contains("low to high"));
        assert!(parse_list("1,1").unwrap_err().contains("twice"));
        assert!(parse_list("a").unwrap_err().contains("not a seed"));
        assert!(
            parse_list("0-1000000000")
                .unwrap_err()
                .contains("more than")
        );
        assert!(parse_count_or_list("0").unwrap_err().contains("between 1"));
    }
}
