//! Errors raised while building or validating model values.

use thiserror::Error;

/// A value that does not fit the model: an unknown name or a value outside its documented limit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A wire string that names no value of a closed vocabulary.
    #[error("unknown {kind} \"{value}\"; known: {known}")]
    UnknownName {
        /// What kind of name was expected ("service", "role", ...).
        kind: &'static str,
        /// The offending string.
        value: String,
        /// The accepted names, comma separated.
        known: String,
    },
    /// A field longer than its documented limit.
    #[error("{field} is {len} bytes long; the limit is {max}")]
    TooLong {
        /// The field's JSON path (`args.message`, `target`, ...).
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A number outside its documented range.
    #[error("{field} {value} is out of range; allowed: {min}..={max}")]
    OutOfRange {
        /// The field's JSON path.
        field: &'static str,
        /// The offending value.
        value: i128,
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
}
