//! Errors of the learner interface.

use chaosops_sim::SimError;
use thiserror::Error;

/// Everything the learner interface refuses; each message names the offending value.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum RlError {
    /// An action index outside the action table.
    #[error("action index {index} is out of range; the action table has {len} actions (0..={max})", max = len - 1)]
    BadActionIndex {
        /// The offending index.
        index: i64,
        /// Number of actions in the table.
        len: usize,
    },
    /// A configuration value that cannot be used.
    #[error("{field}: {message}")]
    Config {
        /// The configuration key (`failure_types`, `tiers`, ...).
        field: &'static str,
        /// What is wrong with it, naming the value.
        message: String,
    },
    /// A buffer of the wrong length.
    #[error("buffer {name} holds {got} values; {expected} are needed")]
    BufferSize {
        /// Which buffer.
        name: &'static str,
        /// Its length.
        got: usize,
        /// The length needed.
        expected: usize,
    },
    /// A number of actions that does not match the number of environments.
    #[error("got {got} actions for {expected} environments")]
    ActionCount {
        /// Actions given.
        got: usize,
        /// Environments.
        expected: usize,
    },
    /// Stepping before the first reset.
    #[error("the environment has no episode yet; call reset first")]
    NotReset,
    /// The engine refused (unknown failure, limits, finished episode, ...).
    #[error(transparent)]
    Sim(#[from] SimError),
}

impl RlError {
    /// A configuration error for `field`.
    pub fn config(field: &'static str, message: impl Into<String>) -> Self {
        RlError::Config {
            field,
            message: message.into(),
        }
    }
}
