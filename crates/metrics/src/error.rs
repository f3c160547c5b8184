//! Typed errors of the metrics crate.
//!
//! Every variant names the function that failed and the offending value (shapes, clause and
//! input indices, parameters), so a caller can fix the input without reading the source.

/// Everything that can go wrong while computing a metric.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two inputs of one function have incompatible shapes.
    #[error("{op}: shape mismatch: {what} has shape {got:?}, expected {expected:?}")]
    Shape {
        /// The function that was called.
        op: &'static str,
        /// Which argument has the wrong shape.
        what: &'static str,
        /// The shape that was expected (from the other argument).
        expected: Vec<usize>,
        /// The shape that was passed.
        got: Vec<usize>,
    },
    /// A literal of a clause points past the last input.
    #[error(
        "{op}: clause {clause} has literal input index {index}, but there are {n_inputs} inputs"
    )]
    ClauseIndex {
        /// The function that was called.
        op: &'static str,
        /// Position of the clause in the clause list.
        clause: usize,
        /// The out-of-range input index.
        index: usize,
        /// Number of inputs (columns of the weight matrix).
        n_inputs: usize,
    },
    /// A clause has no literals.
    #[error("{op}: clause {clause} has no literals")]
    EmptyClause {
        /// The function that was called.
        op: &'static str,
        /// Position of the clause in the clause list.
        clause: usize,
    },
    /// An input index (outside a clause) points past the last input.
    #[error("{op}: input index {index} out of range for {n_inputs} inputs")]
    InputIndex {
        /// The function that was called.
        op: &'static str,
        /// The out-of-range input index.
        index: usize,
        /// Number of inputs (columns of the weight matrix).
        n_inputs: usize,
    },
    /// The response threshold τ is outside `(0, 1]`.
    #[error("{op}: tau = {tau} is outside (0, 1]")]
    Tau {
        /// The function that was called.
        op: &'static str,
        /// The offending threshold.
        tau: f32,
    },
    /// The expansion factor α is zero.
    #[error("{op}: alpha must be at least 1, got 0")]
    ZeroAlpha {
        /// The function that was called.
        op: &'static str,
    },
    /// The number of neurons is not a multiple of α, so neurons cannot be grouped by parent.
    #[error("{op}: {neurons} neurons cannot be grouped into parents of alpha = {alpha} children")]
    AlphaDivisor {
        /// The function that was called.
        op: &'static str,
        /// Number of neurons (rows of the weight matrix).
        neurons: usize,
        /// The expansion factor.
        alpha: usize,
    },
    /// More distinct literals than inputs were asked to land in one group.
    #[error("{op}: {literals} distinct literals cannot be drawn from {inputs} inputs")]
    TooManyLiterals {
        /// The function that was called.
        op: &'static str,
        /// Number of distinct literals.
        literals: usize,
        /// Number of inputs being partitioned.
        inputs: usize,
    },
    /// A regression needs at least two points.
    #[error("{op}: need at least 2 points, got {n}")]
    TooFewPoints {
        /// The function that was called.
        op: &'static str,
        /// Number of points passed.
        n: usize,
    },
    /// All x values of a regression are equal, so the slope is undefined.
    #[error("{op}: all {n} x values are equal ({x}); the slope is undefined")]
    ZeroVariance {
        /// The function that was called.
        op: &'static str,
        /// Number of points.
        n: usize,
        /// The common x value.
        x: f64,
    },
    /// An input value is NaN or infinite.
    #[error("{op}: {what}[{index}] = {value} is not finite")]
    NonFinite {
        /// The function that was called.
        op: &'static str,
        /// Which argument holds the value.
        what: &'static str,
        /// Position of the value.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// An optional input was given without the input it depends on.
    #[error("{op}: {given} was given without {missing}")]
    MissingInput {
        /// The function that was called.
        op: &'static str,
        /// The input that was given.
        given: &'static str,
        /// The input it needs.
        missing: &'static str,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks `alpha >= 1` and that it divides `neurons`; returns the number of parents.
pub(crate) fn check_alpha(op: &'static str, neurons: usize, alpha: usize) -> Result<usize> {
    if alpha == 0 {
        return Err(Error::ZeroAlpha { op });
    }
    if !neurons.is_multiple_of(alpha) {
        return Err(Error::AlphaDivisor { op, neurons, alpha });
    }
    Ok(neurons / alpha)
}

/// Checks that every clause is non-empty and its literals index one of `n_inputs` inputs.
pub(crate) fn check_clauses(
    op: &'static str,
    clauses: &[Vec<usize>],
    n_inputs: usize,
) -> Result<()> {
    for (clause, lits) in clauses.iter().enumerate() {
        if lits.is_empty() {
            return Err(Error::EmptyClause { op, clause });
        }
        if let Some(&index) = lits.iter().find(|&&i| i >= n_inputs) {
            return Err(Error::ClauseIndex {
                op,
                clause,
                index,
                n_inputs,
            });
        }
    }
    Ok(())
}

/// Checks `0 < tau <= 1` (NaN fails).
pub(crate) fn check_tau(op: &'static str, tau: f32) -> Result<()> {
    if tau > 0.0 && tau <= 1.0 {
        Ok(())
    } else {
        Err(Error::Tau { op, tau })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_culprit() {
        let e = check_clauses("collisions", &[vec![0, 1], vec![2, 9]], 4).unwrap_err();
        assert_eq!(
            e,
            Error::ClauseIndex {
                op: "collisions",
                clause: 1,
                index: 9,
                n_inputs: 4
            }
        );
        let msg = e.to_string();
        assert!(msg.contains("clause 1") && msg.contains("index 9"), "{msg}");
        assert!(matches!(
            check_alpha("cosine", 6, 0),
            Err(Error::ZeroAlpha { .. })
        ));
        assert!(matches!(
            check_alpha("cosine", 6, 4),
            Err(Error::AlphaDivisor { .. })
        ));
        assert_eq!(check_alpha("cosine", 8, 4), Ok(2));
        assert!(check_tau("t", 1.0).is_ok());
        for bad in [0.0, -0.1, 1.5, f32::NAN] {
            assert!(
                matches!(check_tau("t", bad), Err(Error::Tau { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            check_clauses("c", &[vec![]], 4),
            Err(Error::EmptyClause { clause: 0, .. })
        ));
        let shape = Error::Shape {
            op: "f",
            what: "x",
            expected: vec![2, 3],
            got: vec![3, 2],
        };
        assert!(shape.to_string().contains("[3, 2]") && shape.to_string().contains("[2, 3]"));
    }
}
