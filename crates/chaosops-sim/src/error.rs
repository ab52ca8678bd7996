//! Errors of the engine and the environment.

use chaosops_model::{ModelError, Role};
use thiserror::Error;

/// Everything the engine can refuse.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SimError {
    /// A failure id that no plugin registered.
    #[error("unknown failure type \"{id}\"; known: {known}")]
    UnknownFailure {
        /// The offending id.
        id: String,
        /// Registered ids, comma separated.
        known: String,
    },
    /// Two plugins registered the same failure id.
    #[error("failure type \"{id}\" is registered twice")]
    DuplicateFailure {
        /// The duplicated id.
        id: String,
    },
    /// A failure id that is empty or not snake_case ASCII.
    #[error("failure type id \"{id}\" is not a lower-case snake_case name")]
    InvalidFailureId {
        /// The offending id.
        id: String,
    },
    /// A compound incident the engine cannot build (docs/behaviour.md §18).
    #[error("compound incident \"{id}\": {reason}")]
    InvalidCompound {
        /// The compound as asked for.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A failure type whose target varies without naming its reference target.
    #[error("failure type \"{id}\" declares variable targets but no reference target")]
    MissingReferenceTarget {
        /// The failure type.
        id: String,
    },
    /// Two projections registered for one role.
    #[error("role \"{role}\" has two registered view projections")]
    DuplicateProjection {
        /// The role.
        role: Role,
    },
    /// No projection registered for a role.
    #[error("no view projection is registered for role \"{role}\"; call chaosops_roles::link() so the roles crate is linked")]
    MissingProjection {
        /// The role.
        role: Role,
    },
    /// Failure types given to [`crate::Registry::install`] once the registry was in use.
    #[error("failure types can only be added before the registry is first used (load scenario packs at start-up)")]
    RegistryInUse,
    /// An input outside the model's limits.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A step on an episode that is already over.
    #[error("the episode is finished (step {step} of {max_steps}, resolved: {resolved}); reset it before stepping again")]
    EpisodeFinished {
        /// Step count of the finished episode.
        step: u32,
        /// Its step budget.
        max_steps: u32,
        /// Whether it was resolved.
        resolved: bool,
    },
}
