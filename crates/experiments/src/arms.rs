//! The arms of an experiment (SPEC §5 controls and baselines, §6 dynamic sparsity).
//!
//! An [`Arm`] is written (TOML configs, unit files, `results.csv`) and read as its name; it
//! compares equal to its name as text, so `row.arm == "dense"` reads as it says.

use crate::error::{Result, invalid};
use fpe::StrategyKind;

/// One arm: how the model is trained after (or instead of) the shared warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Arm {
    /// Width h, dense, the full schedule.
    #[default]
    Dense,
    /// Expansion with a splitting strategy (or the `overlap` control) after the warm-up.
    Expand(StrategyKind),
    /// Width h, dense, DropConnect with keep probability 1/α after the warm-up.
    DropConnect,
    /// Width αh, dense, from initialisation, the full schedule (more parameters).
    WideDense,
    /// Width αh, random balanced mask at the narrow model's nnz, from initialisation.
    WideSparseScratch,
    /// `random` expansion, then SET dynamic sparsity.
    Set,
    /// `random` expansion, then RigL dynamic sparsity.
    Rigl,
    /// Channel expansion of backbone layer `model.channel_layer` with a strategy (`random`,
    /// `contiguous` or `feature`) after the warm-up: `channel_random`, … (beyond the paper).
    Channel(StrategyKind),
}

/// The strategies channel expansion takes, with their arm names.
const CHANNEL: [(&str, StrategyKind); 3] = [
    ("channel_random", StrategyKind::Random),
    ("channel_contiguous", StrategyKind::Contiguous),
    ("channel_feature", StrategyKind::Feature),
];

const FIXED: [(&str, Arm); 6] = [
    ("dense", Arm::Dense),
    ("dropconnect", Arm::DropConnect),
    ("wide_dense", Arm::WideDense),
    ("wide_sparse_scratch", Arm::WideSparseScratch),
    ("set", Arm::Set),
    ("rigl", Arm::Rigl),
];

impl Arm {
    /// Parses an arm name.
    ///
    /// # Errors
    /// Unknown names, listing the allowed ones.
    pub fn parse(s: &str) -> Result<Arm> {
        if let Some((_, a)) = FIXED.iter().find(|(n, _)| *n == s) {
            return Ok(*a);
        }
        if let Some((_, k)) = CHANNEL.iter().find(|(n, _)| *n == s) {
            return Ok(Arm::Channel(*k));
        }
        match StrategyKind::parse(s) {
            Ok(k) => Ok(Arm::Expand(k)),
            Err(_) => invalid!("unknown arm `{s}`: allowed arms are {}", Arm::allowed()),
        }
    }

    /// Comma-separated list of every arm name.
    pub fn allowed() -> String {
        let mut names: Vec<&str> = vec!["dense"];
        names.extend(StrategyKind::ALL.iter().map(StrategyKind::name));
        names.extend(FIXED.iter().skip(1).map(|(n, _)| *n));
        names.extend(CHANNEL.iter().map(|(n, _)| *n));
        names.join(", ")
    }

    /// Stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Arm::Expand(k) => k.name(),
            Arm::Channel(k) => CHANNEL
                .iter()
                .find(|(_, c)| c == k)
                .map(|(n, _)| *n)
                .unwrap_or("?"),
            other => FIXED
                .iter()
                .find(|(_, a)| a == other)
                .map(|(n, _)| *n)
                .unwrap_or("?"),
        }
    }

    /// True if the arm starts from the shared warm-up state.
    pub fn uses_warmup(&self) -> bool {
        !matches!(self, Arm::WideDense | Arm::WideSparseScratch)
    }

    /// True if the arm's model is an FPE expansion (children of parents).
    pub fn is_expansion(&self) -> bool {
        matches!(
            self,
            Arm::Expand(_) | Arm::Set | Arm::Rigl | Arm::Channel(_)
        )
    }
}

impl std::fmt::Display for Arm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Arm {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> Result<Self> {
        Arm::parse(s)
    }
}

impl PartialEq<str> for Arm {
    fn eq(&self, other: &str) -> bool {
        self.name() == other
    }
}

impl PartialEq<&str> for Arm {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl PartialEq<String> for Arm {
    fn eq(&self, other: &String) -> bool {
        self.name() == other
    }
}

impl serde::Serialize for Arm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Arm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Arm::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_arm_round_trips_through_its_name() {
        for name in Arm::allowed().split(", ") {
            let arm = Arm::parse(name).unwrap();
            assert_eq!(arm.name(), name);
            assert_eq!(arm, name);
            let json = serde_json::to_string(&arm).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Arm>(&json).unwrap(), arm);
        }
        let e = serde_json::from_str::<Arm>("\"densest\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown arm `densest`"), "{e}");
    }
}
