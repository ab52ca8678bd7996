//! Rust errors as the Python exception classes of `chaosops.errors`.

use chaosops_rl::RlError;
use chaosops_sim::SimError;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The exception classes of `chaosops.errors` (defined in Python so each can also be a
/// `ValueError` or a `RuntimeError`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// A configuration value (`ValueError`).
    Config,
    /// An action that is not valid (`ValueError`).
    InvalidAction,
    /// A wrong argument: buffer shapes, counts, types (`ValueError`).
    InvalidArgument,
    /// Stepping a finished episode (`RuntimeError`).
    EpisodeFinished,
    /// Stepping before any reset (`RuntimeError`).
    NotReset,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Config => "ConfigError",
            Kind::InvalidAction => "InvalidActionError",
            Kind::InvalidArgument => "InvalidArgumentError",
            Kind::EpisodeFinished => "EpisodeFinishedError",
            Kind::NotReset => "NotResetError",
        }
    }
}

/// An exception of class `kind` with `message`.
pub(crate) fn raise(kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| {
        let class = py
            .import("chaosops.errors")
            .and_then(|m| m.getattr(kind.class_name()))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match class {
            Ok(class) => PyErr::from_type(class, message),
            // Only reachable when the pure-Python part is missing: still a clear error.
            Err(_) => PyValueError::new_err(message),
        }
    })
}

/// The exception for an engine error.
pub(crate) fn sim(e: SimError) -> PyErr {
    let kind = match &e {
        SimError::EpisodeFinished { .. } => Kind::EpisodeFinished,
        SimError::Model(_) => Kind::InvalidAction,
        _ => Kind::Config,
    };
    raise(kind, e.to_string())
}

/// The exception for a learner-interface error.
pub(crate) fn rl(e: RlError) -> PyErr {
    let kind = match &e {
        RlError::BadActionIndex { .. } => Kind::InvalidAction,
        RlError::Config { .. } => Kind::Config,
        RlError::BufferSize { .. } | RlError::ActionCount { .. } => Kind::InvalidArgument,
        RlError::NotReset => Kind::NotReset,
        RlError::Sim(s) => return sim(s.clone()),
        _ => Kind::Config,
    };
    raise(kind, e.to_string())
}
