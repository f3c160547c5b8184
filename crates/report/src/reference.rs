//! The paper's claims and reported numbers (`data/paper_reference.toml`), read at run time.
//!
//! Looked up as `data/paper_reference.toml` under the working directory, then beside the source
//! tree this binary was built from; a copy compiled into the binary is the last resort, so an
//! installed `fpe report` still judges every claim.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::load::ExperimentData;

/// The copy compiled in.
const EMBEDDED: &str = include_str!("../../../data/paper_reference.toml");

/// Every claim of the reference file.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Reference {
    /// Claims in report order.
    #[serde(rename = "claim")]
    pub claims: Vec<Claim>,
}

/// One claim of the paper.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Claim {
    /// `E1`, `E8.2`, …
    pub id: String,
    /// Experiment directories it is judged on.
    pub experiments: Vec<String>,
    /// Short title.
    pub title: String,
    /// The paper's statement.
    pub paper: String,
    /// Short form for the overview table.
    pub summary: String,
    /// Numbers the paper reports (accuracies as fractions).
    #[serde(default)]
    pub reported: BTreeMap<String, f64>,
    /// How the verdict is decided.
    #[serde(flatten)]
    pub rule: Rule,
}

/// Direction of a trend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Direction {
    /// Gain grows with x.
    Increasing,
    /// Gain falls with x.
    Decreasing,
}

/// The verdict rules (documented in `verdict.rs` and in REPORT.md).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub(crate) enum Rule {
    /// Paired differences between every pair of `arms`, each claimed > 0 in the order given.
    Ordering {
        /// Arms, best first.
        arms: Vec<String>,
    },
    /// Spearman ρ of (x, mean paired gain) in the claimed direction, with a bootstrap interval.
    Trend {
        /// FPE arms.
        arms: Vec<String>,
        /// Grid key.
        param: String,
        /// Claimed direction.
        direction: Direction,
        /// Only settings with x ≤ this.
        #[serde(default)]
        x_max: Option<f64>,
        /// `classes_per_neuron`: x = classes / hidden width; absent: the parameter itself.
        #[serde(default)]
        x: Option<String>,
    },
    /// Two paired contrasts: gain(peak) − gain(low) > 0 and gain(high) − gain(peak) < 0.
    Peak {
        /// FPE arms.
        arms: Vec<String>,
        /// Grid key.
        param: String,
        /// Lower value.
        low: f64,
        /// Claimed best value.
        peak: f64,
        /// Higher value.
        high: f64,
    },
    /// Measured collision rates equal to the balanced prediction; no clause-split collision.
    Collisions {},
    /// Slope of fold change against paired gain, per sweep and pooled, in the expected sign.
    FoldChange {
        /// FPE arms.
        arms: Vec<String>,
        /// Metric → expected slope sign (`+` or `-`).
        signs: BTreeMap<String, String>,
    },
    /// Earlier split better (ρ of split time vs gain < 0), latest split > dense (paired).
    SplitTiming {
        /// FPE arms.
        arms: Vec<String>,
        /// Grid key of the split time.
        param: String,
    },
    /// Ratio acc(FPE)/acc(dense) > 1 at the `smallest` widths; the paper's ≈ 2 checked.
    SmallWidth {
        /// FPE arms.
        arms: Vec<String>,
        /// Grid key of the width.
        param: String,
        /// How many of the smallest widths count as small.
        smallest: usize,
    },
    /// Dense parameters needed to match FPE at (`width`, `alpha`), over FPE's parameters.
    ParamEquivalent {
        /// FPE arms.
        arms: Vec<String>,
        /// Hidden width.
        width: f64,
        /// Expansion factor.
        alpha: f64,
    },
    /// Every arm's paired difference to dense > 0, per setting.
    BeatsDense {
        /// Arms compared with dense.
        arms: Vec<String>,
    },
}

/// An edited reference in the working directory's `data/` wins over the compiled-in copy.
fn candidates() -> Vec<PathBuf> {
    vec![PathBuf::from("data/paper_reference.toml")]
}

/// Loads the reference: the first readable file of the search path, else the compiled-in copy.
/// Returns it with a description of its source and any problem met on the way.
pub(crate) fn load() -> (Reference, String, Vec<String>) {
    let mut problems = Vec::new();
    for p in candidates() {
        let Ok(text) = fpe_io::read_regular_to_string(&p, 16 << 20, "reference") else {
            continue;
        };
        match toml::from_str::<Reference>(&text) {
            Ok(r) => return (r, format!("`{}`", p.display()), problems),
            Err(e) => problems.push(format!(
                "`{}` could not be parsed ({}); the compiled-in copy was used",
                p.display(),
                e.message()
            )),
        }
    }
    let r = toml::from_str::<Reference>(EMBEDDED).unwrap_or(Reference { claims: Vec::new() });
    (r, "the copy compiled into `fpe`".into(), problems)
}

/// `e8_` of `e8_embeddings`.
fn prefix(name: &str) -> &str {
    name.find('_').map_or(name, |i| &name[..=i])
}

/// The loaded experiments a claim names: exact names first, else the same `eN_` prefix.
pub(crate) fn matching<'a>(claim: &Claim, exps: &'a [ExperimentData]) -> Vec<&'a ExperimentData> {
    let mut out: Vec<&ExperimentData> = Vec::new();
    for want in &claim.experiments {
        let found = exps
            .iter()
            .find(|e| e.name == *want)
            .or_else(|| exps.iter().find(|e| e.name.starts_with(prefix(want))));
        if let Some(e) = found {
            if !out.iter().any(|o| o.name == e.name) {
                out.push(e);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_reference_parses_with_every_rule() {
        let r: Reference = toml::from_str(EMBEDDED).expect("data/paper_reference.toml parses");
        let ids: Vec<&str> = r.claims.iter().map(|c| c.id.as_str()).collect();
        for id in [
            "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8.1", "E8.2", "E8.3", "E9", "E10.1",
            "E10.2",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
        assert_eq!(r.claims[0].reported.get("clause"), Some(&0.994));
        assert!(matches!(r.claims[0].rule, Rule::Ordering { .. }));
    }

    #[test]
    fn experiments_match_by_name_or_prefix() {
        let exps: Vec<ExperimentData> = ["e1_headline", "e10_x", "e8b_classes"]
            .iter()
            .map(|n| ExperimentData {
                name: (*n).into(),
                ..Default::default()
            })
            .collect();
        let claim = |names: &[&str]| Claim {
            id: "x".into(),
            experiments: names.iter().map(|s| (*s).into()).collect(),
            title: String::new(),
            paper: String::new(),
            summary: String::new(),
            reported: BTreeMap::new(),
            rule: Rule::BeatsDense { arms: vec![] },
        };
        let names = |v: Vec<&ExperimentData>| v.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(matching(&claim(&["e1_other"]), &exps)),
            ["e1_headline"]
        );
        assert_eq!(
            names(matching(&claim(&["e10_structured", "e10b_nm"]), &exps)),
            ["e10_x"]
        );
        assert!(matching(&claim(&["e8_embeddings"]), &exps).is_empty());
    }
}
