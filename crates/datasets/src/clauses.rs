//! Clause structure of a Boolean-code (DNF) task: which inputs each clause reads, with signs.
//!
//! The clause splitting strategy and the collision metrics need to know, for every clause, the
//! input columns of its literals *in the chosen encoding*:
//!
//! - `raw` encoding (`d = n`): literal `x_v` reads column `v` with sign `+1`; literal `¬x_v` reads
//!   column `v` with sign `−1` (it is true when the column is 0).
//! - `literal` encoding (`d = 2n`, columns `[x, 1 − x]`): literal `x_v` reads column `v`, literal
//!   `¬x_v` reads column `n + v`, both with sign `+1` (the column is 1 exactly when the literal is
//!   true).

use serde::{Deserialize, Serialize};

/// How Boolean variables are presented to the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// `x ∈ {0,1}^n`, `d = n`.
    #[default]
    Raw,
    /// `[x, 1 − x]`, `d = 2n`.
    Literal,
}

/// One literal of a clause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Literal {
    /// Boolean variable index `v < n`.
    pub var: usize,
    /// True for `¬x_v`.
    pub negated: bool,
    /// Input column this literal reads in the chosen encoding.
    pub input: usize,
    /// `+1` if the literal is true when the column is 1, `−1` if when it is 0.
    pub sign: i8,
}

impl Literal {
    /// Builds the literal of variable `var` (negated or not) for `encoding` with `n` variables.
    pub fn new(var: usize, negated: bool, encoding: Encoding, n: usize) -> Self {
        let (input, sign) = match (encoding, negated) {
            (Encoding::Raw, false) => (var, 1),
            (Encoding::Raw, true) => (var, -1),
            (Encoding::Literal, false) => (var, 1),
            (Encoding::Literal, true) => (n + var, 1),
        };
        Literal {
            var,
            negated,
            input,
            sign,
        }
    }

    /// Truth value of the literal under an assignment of the variables.
    ///
    /// # Shapes
    /// `bits`: `[n]`, one value per Boolean variable (not per input column).
    ///
    /// # Panics
    /// If `bits` is shorter than `self.var + 1`.
    pub fn holds(&self, bits: &[bool]) -> bool {
        bits[self.var] != self.negated
    }
}

/// A conjunction of literals.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Clause {
    /// Literals, in the order they were drawn.
    pub literals: Vec<Literal>,
}

impl Clause {
    /// True when every literal holds under `bits`.
    ///
    /// # Shapes
    /// `bits`: `[n]`, one value per Boolean variable.
    ///
    /// # Panics
    /// If a literal's variable is out of range of `bits`.
    pub fn holds(&self, bits: &[bool]) -> bool {
        self.literals.iter().all(|l| l.holds(bits))
    }

    /// Input columns of the literals, in order.
    pub fn inputs(&self) -> Vec<usize> {
        self.literals.iter().map(|l| l.input).collect()
    }
}

/// All clauses of a DNF formula with the encoding they refer to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClauseStructure {
    /// Number of Boolean variables `n`.
    pub n_vars: usize,
    /// Encoding of the inputs the literal indices refer to.
    pub encoding: Encoding,
    /// The clauses; the label is their OR.
    pub clauses: Vec<Clause>,
}

impl ClauseStructure {
    /// Number of clauses `m`.
    pub fn len(&self) -> usize {
        self.clauses.len()
    }

    /// True when there are no clauses.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Input dimension of the encoding: `n` or `2n`.
    pub fn d_in(&self) -> usize {
        match self.encoding {
            Encoding::Raw => self.n_vars,
            Encoding::Literal => 2 * self.n_vars,
        }
    }

    /// Input columns of every clause (the form the metrics and the clause strategy take):
    /// `[m]` lists of `k` column indices into the `[N, d]` features.
    pub fn clause_inputs(&self) -> Vec<Vec<usize>> {
        self.clauses.iter().map(Clause::inputs).collect()
    }

    /// Which clauses hold under `bits`, one entry per clause.
    ///
    /// # Shapes
    /// `bits`: `[n]`, one value per Boolean variable → returns `[m]`.
    ///
    /// # Panics
    /// If `bits` has fewer than [`ClauseStructure::n_vars`] entries and a clause reads beyond it.
    pub fn satisfied(&self, bits: &[bool]) -> Vec<bool> {
        self.clauses.iter().map(|c| c.holds(bits)).collect()
    }

    /// Human-readable formula, e.g. `(x3 ∧ ¬x17 ∧ x40) ∨ (…)`.
    pub fn to_formula(&self) -> String {
        self.clauses
            .iter()
            .map(clause_string)
            .collect::<Vec<_>>()
            .join(" ∨ ")
    }
}

/// Human-readable form of one clause, e.g. `(x3 ∧ ¬x17 ∧ x40)`.
pub fn clause_string(c: &Clause) -> String {
    let lits: Vec<String> = c
        .literals
        .iter()
        .map(|l| format!("{}x{}", if l.negated { "¬" } else { "" }, l.var))
        .collect();
    format!("({})", lits.join(" ∧ "))
}
