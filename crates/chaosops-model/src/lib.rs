//! Plain data types of ChaosOps and their JSON form.
//!
//! This crate holds the vocabulary (services, roles, action types, ...), the
//! ground-truth [`State`], [`Action`]s, borrowed [`RoleView`]s and
//! [`Observation`]s, outcome flags and reward breakdowns. It has no behaviour
//! beyond small helpers and depends on nothing but serde, uuid and thiserror.
//!
//! ```
//! use chaosops_model::{Action, Service};
//!
//! let action: Action =
//!     serde_json::from_str(r#"{"action_type": "restart", "target": "db"}"#).unwrap();
//! assert_eq!(action, Action::restart(Service::Db));
//! assert_eq!(action.target_service(), Some(Service::Db));
//! ```
#![deny(missing_docs)]

mod action;
mod episode_id;
mod error;
mod failure_id;
pub mod limits;
mod names;
mod observation;
mod record;
mod reward;
mod scenario;
mod state;
mod view;

pub use action::{coerce_replicas, Action, ActionArgs, CheckedAction};
pub use episode_id::EpisodeId;
pub use error::ModelError;
pub use failure_id::FailureId;
pub use names::{
    ActionType, Component, Difficulty, FleetAgent, Health, LogLevel, Role, Service, Severity,
    Split, Variation,
};
pub use observation::{Message, Observation, ObservationCommon, ObservationData};
pub use record::StepRecord;
pub use reward::{blend, OutcomeFlags, RewardBreakdown};
pub use scenario::{failure_type_or_parts, Scenario, ScenarioSpec, DEFAULT_MAX_STEPS};
pub use state::{
    Alert, FleetAction, Inboxes, LogLine, ServiceMetrics, Services, State, VariantTargets,
};
pub use uuid::Uuid;
pub use view::{tail, FleetActionView, LogView, RoleView, VisibleFleetActions, VisibleLogs};
