//! Boolean-code (DNF) tasks (SPEC §2).
//!
//! A formula of `m` read-once clauses, each the AND of `k` literals over `n` Boolean variables
//! (no variable appears in two clauses, each literal negated with probability ½). The label is the
//! OR of the clauses (`or` output) or one bit per clause (`per_clause` output).
//!
//! Sampling:
//! - `balanced` (default): exactly `⌊N/2⌋` positives — pick a clause uniformly, make its literals
//!   true, draw the other bits Bernoulli(½) — and `N − ⌊N/2⌋` negatives drawn exactly in `O(n)`:
//!   each clause's `k` variables take one of the `2^k − 1` falsifying assignments uniformly, free
//!   variables Bernoulli(½). Samples are then shuffled.
//! - `uniform`: i.i.d. Bernoulli(½) bits; the positive rate is recorded in the provenance.
//!
//! One seed drives three independent streams: formula, train data and test data.

use ndarray::Array2;
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::clauses::{Clause, ClauseStructure, Encoding, Literal, clause_string};
use crate::dataset::{Dataset, Provenance, Split, Targets};
use crate::error::{Error, Result};
use crate::seeds::{Stream, rng_for};

/// How samples are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Half positives, half negatives, each drawn exactly.
    #[default]
    Balanced,
    /// I.i.d. Bernoulli(½) bits.
    Uniform,
}

/// What the network predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// One output: the OR of the clauses (sigmoid + BCE).
    #[default]
    Or,
    /// One output per clause (multi-label BCE).
    PerClause,
}

/// Parameters of a Boolean-code task. Defaults follow SPEC §2.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BooleanCodeConfig {
    /// Number of Boolean variables `n`.
    pub n_vars: usize,
    /// Number of clauses `m` (the load knob).
    pub clauses: usize,
    /// Literals per clause `k`.
    pub literals: usize,
    /// Training samples.
    pub train_size: usize,
    /// Test samples.
    pub test_size: usize,
    /// Input encoding.
    pub encoding: Encoding,
    /// Sampling scheme.
    pub sampling: Sampling,
    /// Output kind.
    pub output: OutputKind,
}

impl Default for BooleanCodeConfig {
    fn default() -> Self {
        BooleanCodeConfig {
            n_vars: 64,
            clauses: 8,
            literals: 3,
            train_size: 4096,
            test_size: 4096,
            encoding: Encoding::Raw,
            sampling: Sampling::Balanced,
            output: OutputKind::Or,
        }
    }
}

impl BooleanCodeConfig {
    /// Checks every field; the error names the field and value.
    ///
    /// # Errors
    /// [`Error::Config`] for `m = 0`, `k = 0`, `k > 63`, `n = 0`, `m·k > n` or an empty split.
    pub fn validate(&self) -> Result<()> {
        if self.clauses == 0 {
            return Err(Error::config(
                "clauses",
                0,
                "a formula needs at least one clause (m ≥ 1)",
            ));
        }
        if self.literals == 0 {
            return Err(Error::config(
                "literals",
                0,
                "a clause needs at least one literal (k ≥ 1)",
            ));
        }
        if self.literals > 63 {
            return Err(Error::config(
                "literals",
                self.literals,
                "k must be at most 63",
            ));
        }
        if self.n_vars == 0 {
            return Err(Error::config("n_vars", 0, "need at least one variable"));
        }
        let needed = self.clauses.saturating_mul(self.literals);
        if needed > self.n_vars {
            return Err(Error::config(
                "n_vars",
                self.n_vars,
                format!(
                    "read-once clauses need m·k ≤ n, but clauses (m) = {} × literals (k) = {} = {} > n_vars (n) = {}",
                    self.clauses, self.literals, needed, self.n_vars
                ),
            ));
        }
        // Sizes whose input matrix cannot even be addressed (absurd values from a typo).
        for (field, size) in [
            ("train_size", self.train_size),
            ("test_size", self.test_size),
        ] {
            let elements = size.checked_mul(self.n_vars).and_then(|e| e.checked_mul(8));
            if elements.is_none_or(|e| e > isize::MAX as usize) {
                return Err(Error::config(
                    field,
                    size,
                    format!(
                        "{field} × inputs ({} variables) overflows this machine's address space",
                        self.n_vars
                    ),
                ));
            }
        }
        if self.train_size == 0 {
            return Err(Error::config(
                "train_size",
                0,
                "the training split must not be empty",
            ));
        }
        if self.test_size == 0 {
            return Err(Error::config(
                "test_size",
                0,
                "the test split must not be empty",
            ));
        }
        Ok(())
    }

    /// Input dimension `d` of the chosen encoding.
    pub fn d_in(&self) -> usize {
        match self.encoding {
            Encoding::Raw => self.n_vars,
            Encoding::Literal => self.n_vars.saturating_mul(2),
        }
    }

    /// Generates the task from one seed (independent formula, train and test streams).
    ///
    /// # Shapes
    /// Returns splits with `x: [train_size | test_size, d]` (`d` = [`BooleanCodeConfig::d_in`])
    /// and binary targets `[N, 1]` (`or`) or `[N, m]` (`per_clause`).
    ///
    /// ```
    /// let cfg = fpe_datasets::BooleanCodeConfig { train_size: 100, test_size: 50, ..Default::default() };
    /// let data = cfg.generate(0)?;
    /// assert_eq!(data.train.x.dim(), (100, 64));
    /// assert_eq!(data.clauses.as_ref().map(|c| c.len()), Some(8));
    /// # Ok::<(), fpe_datasets::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`BooleanCodeConfig::validate`].
    pub fn generate(&self, seed: u64) -> Result<Dataset> {
        self.generate_with(
            &mut rng_for(seed, Stream::Formula),
            &mut rng_for(seed, Stream::TrainData),
            &mut rng_for(seed, Stream::TestData),
            seed,
        )
    }

    /// Generates the task from caller-supplied streams; `seed` is only recorded in the provenance.
    ///
    /// # Errors
    /// As [`BooleanCodeConfig::validate`].
    pub fn generate_with<R1: Rng + ?Sized, R2: Rng + ?Sized, R3: Rng + ?Sized>(
        &self,
        formula_rng: &mut R1,
        train_rng: &mut R2,
        test_rng: &mut R3,
        seed: u64,
    ) -> Result<Dataset> {
        self.validate()?;
        let structure = self.draw_formula(formula_rng);
        let (train, train_pos) = self.sample_split(&structure, self.train_size, train_rng);
        let (test, test_pos) = self.sample_split(&structure, self.test_size, test_rng);

        let class_names = match self.output {
            OutputKind::Or => vec!["or".to_string()],
            OutputKind::PerClause => structure.clauses.iter().map(clause_string).collect(),
        };
        let mut provenance = Provenance::new();
        provenance.insert("generator".into(), "boolean_codes".into());
        provenance.insert("seed".into(), seed.to_string());
        provenance.insert(
            "config".into(),
            serde_json::to_string(self).unwrap_or_default(),
        );
        provenance.insert("formula".into(), structure.to_formula());
        provenance.insert("train_positive_rate".into(), format!("{train_pos:.6}"));
        provenance.insert("test_positive_rate".into(), format!("{test_pos:.6}"));
        Ok(Dataset {
            name: "boolean_codes".into(),
            train,
            test,
            class_names,
            clauses: Some(structure),
            image_shape: None,
            provenance,
        })
    }

    /// Draws `m` read-once clauses: a random permutation of the variables cut into blocks of `k`,
    /// each literal negated with probability ½.
    fn draw_formula<R: Rng + ?Sized>(&self, rng: &mut R) -> ClauseStructure {
        let mut vars: Vec<usize> = (0..self.n_vars).collect();
        vars.shuffle(rng);
        let clauses = vars
            .chunks_exact(self.literals)
            .take(self.clauses)
            .map(|chunk| Clause {
                literals: chunk
                    .iter()
                    .map(|&v| Literal::new(v, rng.random_bool(0.5), self.encoding, self.n_vars))
                    .collect(),
            })
            .collect();
        ClauseStructure {
            n_vars: self.n_vars,
            encoding: self.encoding,
            clauses,
        }
    }

    /// Draws `size` samples; returns the split and its positive rate (OR label).
    fn sample_split<R: Rng + ?Sized>(
        &self,
        s: &ClauseStructure,
        size: usize,
        rng: &mut R,
    ) -> (Split, f64) {
        let mut rows: Vec<Vec<bool>> = match self.sampling {
            Sampling::Balanced => {
                let n_pos = size / 2;
                let mut rows: Vec<Vec<bool>> = (0..n_pos).map(|_| positive(s, rng)).collect();
                rows.extend((n_pos..size).map(|_| negative(s, rng)));
                rows.shuffle(rng);
                rows
            }
            Sampling::Uniform => (0..size)
                .map(|_| (0..s.n_vars).map(|_| rng.random_bool(0.5)).collect())
                .collect(),
        };
        let d = s.d_in();
        let m = s.len();
        let n_out = match self.output {
            OutputKind::Or => 1,
            OutputKind::PerClause => m,
        };
        let mut x = Array2::<f32>::zeros((size, d));
        let mut y = Array2::<f32>::zeros((size, n_out));
        let mut positives = 0usize;
        for (i, bits) in rows.iter_mut().enumerate() {
            for (v, &b) in bits.iter().enumerate() {
                let val = f32::from(u8::from(b));
                x[[i, v]] = val;
                if s.encoding == Encoding::Literal {
                    x[[i, s.n_vars + v]] = 1.0 - val;
                }
            }
            let sat = s.satisfied(bits);
            let any = sat.iter().any(|&b| b);
            positives += usize::from(any);
            match self.output {
                OutputKind::Or => y[[i, 0]] = f32::from(u8::from(any)),
                OutputKind::PerClause => {
                    for (c, &b) in sat.iter().enumerate() {
                        y[[i, c]] = f32::from(u8::from(b));
                    }
                }
            }
        }
        (
            Split {
                x,
                y: Targets::Binary(y),
            },
            positives as f64 / size as f64,
        )
    }
}

/// A positive sample: one clause (uniform) made true, every other bit Bernoulli(½).
fn positive<R: Rng + ?Sized>(s: &ClauseStructure, rng: &mut R) -> Vec<bool> {
    let mut bits: Vec<bool> = (0..s.n_vars).map(|_| rng.random_bool(0.5)).collect();
    let c = &s.clauses[rng.random_range(0..s.len())];
    for l in &c.literals {
        bits[l.var] = !l.negated;
    }
    bits
}

/// A negative sample drawn exactly: each clause's literals take one of the `2^k − 1` truth
/// patterns that are not all-true, uniformly; free variables are Bernoulli(½).
fn negative<R: Rng + ?Sized>(s: &ClauseStructure, rng: &mut R) -> Vec<bool> {
    let mut bits: Vec<bool> = (0..s.n_vars).map(|_| rng.random_bool(0.5)).collect();
    for c in &s.clauses {
        let k = c.literals.len();
        let all_true = (1u64 << k) - 1;
        // Uniform over {0, …, 2^k − 2}: every pattern except all-true.
        let pattern = rng.random_range(0..all_true);
        for (j, l) in c.literals.iter().enumerate() {
            let literal_true = (pattern >> j) & 1 == 1;
            bits[l.var] = literal_true != l.negated;
        }
    }
    bits
}
