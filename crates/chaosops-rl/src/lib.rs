//! The reinforcement-learning interface of ChaosOps, shared by the Python package, the
//! server and any other binding.
//!
//! - [`ActionTable`]: a fixed `Discrete(n)` encoding of actions (index 0 is `noop`), derived
//!   from the registry so plugin failures extend it, with per-role legal-action masks.
//! - [`encode_observation`]: a fixed-length `f32` vector per role ([`OBS_LEN`] values, layout
//!   in [`LAYOUT`]) computed from the role's observation only.
//! - [`TurnEnv`]: one turn per step, every role's learner reward ([`TurnOutcome`]), the
//!   unresolved penalty in the final step, `terminated` apart from `truncated`.
//! - [`EnvConfig`] / [`ScenarioSource`]: `reset(seed)` picks the scenario deterministically.
//! - [`SeatEnv`]: one learner seat, built-in policies in the others.
//! - [`VecEnv`]: N environments per call into caller-owned buffers, with auto-reset, the
//!   same results on any number of threads.
//!
//! Depends on chaosops-model, chaosops-sim, chaosops-roles (built-in policies) and rayon.
//!
//! ```
//! use std::sync::Arc;
//! use chaosops_model::Role;
//! use chaosops_rl::{ActionTable, EnvConfig, ScenarioSource, TurnEnv, OBS_LEN};
//!
//! # chaosops_failures::link(); chaosops_roles::link();
//! let registry = chaosops_sim::Registry::global().unwrap();
//! let source = Arc::new(ScenarioSource::new(registry, &EnvConfig::default()).unwrap());
//! let table = Arc::new(ActionTable::new(registry));
//! let mut env = TurnEnv::new(source, table.clone());
//! env.reset(7).unwrap();
//! let mut obs = [0.0f32; OBS_LEN];
//! env.encode(Role::Sre, &mut obs).unwrap();
//! let outcome = env.step_index(0).unwrap(); // noop
//! assert!(!outcome.terminated);
//! assert_eq!(table.names()[0], "noop");
//! ```
#![deny(missing_docs)]

mod config;
mod encode;
mod error;
mod seat;
pub mod starts;
mod table;
mod turn;
mod vector;

pub use config::{nth_seed, splitmix64, EnvConfig, RewardPreset, ScenarioSource, Split, Variation};
pub use encode::{
    encode_observation, Segment, CHAT_BUCKETS, EVIDENCE_BUCKETS, LAYOUT, OBS_LEN, ROLE_ORDER,
};
pub use error::RlError;
pub use seat::{SeatEnv, SeatOutcome, MAX_REDRAWS};
pub use table::{
    ActionTable, COMMUNICATE_MESSAGE, COMMUNICATE_RECIPIENTS, IDENTIFY, NOOP, SCALE_REPLICAS,
};
pub use turn::{TurnEnv, TurnOutcome};
pub use vector::{VecBuffers, VecEnv, VecMode, VecOutputs};

#[cfg(test)]
mod tests;
