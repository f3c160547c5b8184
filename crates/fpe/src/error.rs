//! Typed errors of the expansion crate.

/// Everything that can make an expansion request impossible.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field holds an invalid value.
    #[error("invalid config: `{field}` = {value}: {reason}")]
    Config {
        /// Field name as written in config files.
        field: &'static str,
        /// The offending value.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// A parent neuron has fewer active inputs than children to give them to.
    #[error(
        "layer {layer}, neuron {neuron}: fan-in {fan_in} is smaller than alpha = {alpha}; every child needs at least one input"
    )]
    FanInTooSmall {
        /// Layer index.
        layer: usize,
        /// Neuron (row) index.
        neuron: usize,
        /// Its number of active inputs.
        fan_in: usize,
        /// Requested expansion factor.
        alpha: usize,
    },
    /// A plan does not fit the model it is applied to, or breaks the partition rules.
    #[error("invalid plan for layer {layer}: {reason}")]
    Plan {
        /// Layer index.
        layer: usize,
        /// What is wrong.
        reason: String,
    },
    /// An error from the model crate.
    #[error(transparent)]
    Model(#[from] fpe_model::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn config(
        field: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::Config {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn plan(layer: usize, reason: impl Into<String>) -> Self {
        Error::Plan {
            layer,
            reason: reason.into(),
        }
    }
}
