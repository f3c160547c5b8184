//! The arms of an experiment (SPEC §5 controls and baselines, §6 dynamic sparsity).

use crate::error::{Result, invalid};
use fpe::StrategyKind;

/// One arm: how the model is trained after (or instead of) the shared warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arm {
    /// Width h, dense, the full schedule.
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
}

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
        names.join(", ")
    }

    /// Stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Arm::Expand(k) => k.name(),
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
        matches!(self, Arm::Expand(_) | Arm::Set | Arm::Rigl)
    }
}
