//! Role projections and role behaviour.
//!
//! The four role projections of docs/behaviour.md §6 register with the engine
//! through `inventory::submit!`. Each borrows from the state: a view is a
//! handful of slices and never clones a log line or a message. The scripted
//! policies of docs/behaviour.md §10 ([`RandomPolicy`], [`HeuristicPolicy`],
//! [`OraclePolicy`]) implement [`Policy`], and [`run_episode`] plays one
//! episode with a [`Team`] of them.
//!
//! | role | metrics | logs | alerts | fleet actions |
//! |---|---|---|---|---|
//! | sre | all | last 6 | all | none |
//! | dev | all | last 3 | all | none |
//! | manager | none | none | all | none |
//! | oversight | all | last 6 | all | all |
//!
//! Every role sees the last 8 chat lines and the last 8 messages of its own inbox.
//!
//! ```
//! chaosops_roles::link();
//! assert_eq!(chaosops_roles::MAX_LOGS_PER_VIEW, 6);
//! ```
#![deny(missing_docs)]

mod dev;
mod heuristic;
mod manager;
mod oracle;
mod oversight;
mod policy;
mod random;
mod runner;
mod sre;
pub mod transcript;

pub use heuristic::{unhealthiest, HeuristicPolicy, INVESTIGATE_PROBABILITY};
pub use oracle::OraclePolicy;
pub use policy::{EpisodeStart, NoopPolicy, ParseStats, Policy, PolicyKind, Team};
pub use random::RandomPolicy;
pub use runner::{run_episode, run_episode_with, EpisodeResult, EpisodeStep, RunOptions};

use chaosops_model::{tail, Role, RoleView, State, VisibleFleetActions, VisibleLogs};

/// Log lines a role with log access sees.
pub const MAX_LOGS_PER_VIEW: usize = 6;
/// Log lines the developer sees (the newest of those six).
pub const MAX_DEV_LOGS: usize = 3;
/// Chat lines and inbox messages a role sees.
pub const MAX_MESSAGES_PER_VIEW: usize = 8;

/// Keeps this crate, and so its projections, in the final binary. Call it once before
/// using the registry.
#[inline(never)]
pub fn link() {
    std::hint::black_box(MAX_LOGS_PER_VIEW);
}

/// What a projection shows beyond alerts and chat, which every role sees.
#[derive(Clone, Copy)]
pub(crate) struct Visibility {
    metrics: bool,
    logs: usize,
    fleet: bool,
}

/// Builds `role`'s view of `state` under `visibility`.
pub(crate) fn project(role: Role, state: &State, visibility: Visibility) -> RoleView<'_> {
    let fleet = if visibility.fleet {
        VisibleFleetActions::new(&state.fleet_actions)
    } else {
        VisibleFleetActions::default()
    };
    RoleView {
        role,
        visible_metrics: visibility.metrics.then_some(&state.services),
        visible_logs: VisibleLogs::new(tail(&state.all_logs, visibility.logs)),
        visible_alerts: &state.all_alerts,
        visible_fleet_actions: fleet,
        shared_chat: tail(&state.chat_history, MAX_MESSAGES_PER_VIEW),
        private_note: None,
        private_inbox: tail(state.private_chat.of(role), MAX_MESSAGES_PER_VIEW),
    }
}

#[cfg(test)]
mod tests;
