//! The record of one environment step, as docs/behaviour.md §14 writes it.

use serde::{Deserialize, Serialize};

use crate::names::Role;
use crate::reward::{OutcomeFlags, RewardBreakdown};

/// What one step did and earned.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 0-based index of the action in the episode.
    pub turn: u32,
    /// The role that acted.
    pub role: Role,
    /// The step reward (team plus oversight components; no terminal penalty).
    pub reward: f64,
    /// The nine components.
    pub breakdown: RewardBreakdown,
    /// The team's share.
    pub team_reward: f64,
    /// Oversight's reward.
    pub oversight_reward: f64,
    /// What the action achieved.
    pub flags: OutcomeFlags,
    /// True when the episode ended with this step.
    pub done: bool,
    /// Step count after the action.
    pub step: u32,
    /// The role whose turn follows.
    pub next_role: Role,
}
