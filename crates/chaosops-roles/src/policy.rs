//! The [`Policy`] trait and the built-in kinds.

use std::fmt;
use std::str::FromStr;

use chaosops_model::{Action, Observation, Role, Scenario};
use chaosops_sim::FailureInjector;

use crate::heuristic::HeuristicPolicy;
use crate::oracle::OraclePolicy;
use crate::random::RandomPolicy;

/// What a policy learns when an episode starts. Only the oracle may look at `failure`.
#[derive(Clone, Copy)]
pub struct EpisodeStart<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The injected failure (ground truth).
    pub failure: &'static dyn FailureInjector,
}

/// Counters of a policy that reads model text: turns asked, retries, fallbacks, and the
/// requests behind them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ParseStats {
    /// Turns asked of the model.
    pub turns: u64,
    /// Extra attempts after an unusable reply.
    pub retries: u64,
    /// Turns that ended with the fallback action.
    pub fallbacks: u64,
    /// Requests sent to the model (one per attempt).
    pub requests: u64,
    /// Requests that got no reply text: unreachable endpoint, HTTP error, unreadable reply.
    pub failed_requests: u64,
}

impl ParseStats {
    /// Adds another set of counters.
    pub fn merge(&mut self, other: &ParseStats) {
        self.turns += other.turns;
        self.retries += other.retries;
        self.fallbacks += other.fallbacks;
        self.requests += other.requests;
        self.failed_requests += other.failed_requests;
    }

    /// True when requests were sent and every one of them failed: the actions played were
    /// fallbacks, not a model's.
    pub fn every_request_failed(&self) -> bool {
        self.requests > 0 && self.failed_requests == self.requests
    }

    /// Fraction of turns that fell back (0 when there were none).
    pub fn failure_rate(&self) -> f64 {
        if self.turns == 0 {
            0.0
        } else {
            self.fallbacks as f64 / self.turns as f64
        }
    }
}

/// Chooses an action for a role from that role's observation.
pub trait Policy: Send {
    /// A short name for reports.
    fn name(&self) -> &'static str;
    /// Called once before the first turn of an episode.
    fn begin_episode(&mut self, _start: &EpisodeStart<'_>) {}
    /// The action of `role`, which sees `observation`.
    fn act(&mut self, observation: &Observation<'_>, role: Role) -> Action;
    /// Parse counters since the episode began, for policies that read model text.
    fn parse_stats(&self) -> Option<ParseStats> {
        None
    }
}

/// Does nothing, every turn: the floor every policy should beat.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopPolicy;

impl Policy for NoopPolicy {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn act(&mut self, _observation: &Observation<'_>, _role: Role) -> Action {
        Action::noop()
    }
}

/// The built-in scripted policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PolicyKind {
    /// Always `noop`.
    Noop,
    /// Uniformly random remediation and chatter.
    Random,
    /// Simple rules per role.
    Heuristic,
    /// The failure's playbook.
    Oracle,
}

impl PolicyKind {
    /// Every kind.
    pub const ALL: [PolicyKind; 4] = [
        PolicyKind::Noop,
        PolicyKind::Random,
        PolicyKind::Heuristic,
        PolicyKind::Oracle,
    ];

    /// The kind's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Noop => "noop",
            PolicyKind::Random => "random",
            PolicyKind::Heuristic => "heuristic",
            PolicyKind::Oracle => "oracle",
        }
    }

    /// A fresh policy of this kind; `seed` drives the random ones.
    pub fn build(self, seed: u64) -> Box<dyn Policy> {
        match self {
            PolicyKind::Noop => Box::new(NoopPolicy),
            PolicyKind::Random => Box::new(RandomPolicy::new(seed)),
            PolicyKind::Heuristic => Box::new(HeuristicPolicy::new(seed)),
            PolicyKind::Oracle => Box::new(OraclePolicy::default()),
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for PolicyKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PolicyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown policy \"{s}\"; known: noop, random, heuristic, oracle")
            })
    }
}

/// One policy per role.
pub struct Team([Box<dyn Policy>; Role::COUNT]);

impl Team {
    /// A team of the given policies, one per role.
    pub fn new(seats: [Box<dyn Policy>; Role::COUNT]) -> Self {
        Team(seats)
    }

    /// Every role played by a policy of `kind`; the seat of role `r` gets seed `seed + r.index()`.
    pub fn uniform(kind: PolicyKind, seed: u64) -> Self {
        Team(std::array::from_fn(|i| {
            kind.build(seed.wrapping_add(i as u64))
        }))
    }

    /// Replaces the policy in `role`'s seat.
    pub fn seat(&mut self, role: Role, policy: Box<dyn Policy>) {
        self.0[role.index()] = policy;
    }

    /// The policy in `role`'s seat.
    pub fn policy(&mut self, role: Role) -> &mut dyn Policy {
        &mut *self.0[role.index()]
    }

    /// A team whose seat for each role is built by `seat`.
    pub fn from_fn(mut seat: impl FnMut(Role) -> Box<dyn Policy>) -> Self {
        Team(std::array::from_fn(|i| seat(Role::ALL[i])))
    }

    /// The parse counters of every seat that keeps them, summed; `None` when no seat does.
    pub fn parse_stats(&self) -> Option<ParseStats> {
        self.0
            .iter()
            .filter_map(|p| p.parse_stats())
            .fold(None, |acc, s| {
                let mut total = acc.unwrap_or_default();
                total.merge(&s);
                Some(total)
            })
    }

    /// Tells every seat a new episode starts.
    pub fn begin_episode(&mut self, start: &EpisodeStart<'_>) {
        for p in &mut self.0 {
            p.begin_episode(start);
        }
    }
}
