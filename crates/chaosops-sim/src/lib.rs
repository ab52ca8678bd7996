//! The ChaosOps engine: plugin traits, the registry, the simulator, the
//! turn-based environment and the reward.
//!
//! Failure types implement [`FailureInjector`] and role views implement
//! [`RoleProjection`]; both register with `inventory::submit!` and are
//! collected once into the [`Registry`]. This crate depends only on
//! `chaosops-model`; it does no IO.
//!
//! ```no_run
//! use chaosops_model::{Action, Difficulty, FailureId, ScenarioSpec, Service};
//! use chaosops_sim::{Environment, Registry, RewardConfig};
//!
//! // A binary links the plugin crates first: chaosops_failures::link(); chaosops_roles::link();
//! let registry = Registry::global()?;
//! let spec = ScenarioSpec {
//!     failure_type: FailureId::DB_DEADLOCK,
//!     seed: 7,
//!     difficulty: Difficulty::Easy,
//!     max_steps: 12,
//!     variation: Default::default(),
//! };
//! let scenario = registry.scenario(&spec)?;
//! let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None)?;
//! let outcome = env.step(&Action::restart(Service::Db))?;
//! assert!(outcome.record.flags.resolved);
//! # Ok::<(), chaosops_sim::SimError>(())
//! ```
#![deny(missing_docs)]

pub mod compound;
pub mod curriculum;
mod engine;
mod env;
mod error;
mod failure;
mod handlers;
pub mod metrics;
mod projection;
mod registry;
mod reward;
pub mod split;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
pub mod variation;

pub use engine::{draw_episode_id, Simulator, DECOY_COUNT};
pub use env::{Environment, LearnerStep, StepOutcome};
pub use error::SimError;
pub use failure::{FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};
pub use handlers::{handler, ActionContext, ActionHandler};
pub use metrics::{MetricsRecorder, MetricsSnapshot};
pub use projection::{ProjectionRegistration, RoleProjection};
pub use registry::{FailureInfo, Registry};
pub use reward::{BonusesPaid, RewardConfig, Settled};

/// Re-exported so plugin crates register with the same `inventory` the engine collects from.
pub use inventory;
