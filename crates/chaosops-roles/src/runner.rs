//! Plays one episode with a policy per role and returns the result of docs/behaviour.md §11.

use std::borrow::Cow;

use chaosops_model::{
    Action, FailureId, FleetAgent, RewardBreakdown, Role, Scenario, StepRecord, Uuid,
};
use chaosops_sim::{Environment, Registry, RewardConfig, SimError};
use serde::Serialize;

use crate::policy::{EpisodeStart, ParseStats, Team};

/// How to run an episode.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Reward weights.
    pub reward: RewardConfig,
    /// Keep each acting role's observation as JSON in the steps (costly; off by default).
    pub record_observations: bool,
    /// Leave `steps` empty (for evaluations that only need the totals).
    pub skip_steps: bool,
}

/// One turn of a played episode.
#[derive(Clone, Debug, Serialize)]
pub struct EpisodeStep {
    /// 0-based turn index.
    pub turn: u32,
    /// The acting role.
    pub role: Role,
    /// What the role saw before acting, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation: Option<serde_json::Value>,
    /// What it did.
    pub action: Action,
    /// The step reward.
    pub reward: f64,
    /// Its components.
    pub breakdown: RewardBreakdown,
    /// The full step record (flags, team and oversight rewards, next role).
    #[serde(skip)]
    pub record: StepRecord,
    /// True when the episode ended with this step.
    pub done: bool,
}

impl EpisodeStep {
    /// The step of `action` whose record is `record`, with the observation seen, if kept.
    pub fn new(action: Action, record: StepRecord, observation: Option<serde_json::Value>) -> Self {
        EpisodeStep {
            turn: record.turn,
            role: record.role,
            observation,
            action,
            reward: record.reward,
            breakdown: record.breakdown,
            record,
            done: record.done,
        }
    }
}

/// Everything about one played episode.
#[derive(Clone, Debug, Serialize)]
pub struct EpisodeResult {
    /// The scenario.
    pub scenario: Scenario,
    /// The episode id.
    pub episode_id: Uuid,
    /// Every turn.
    pub steps: Vec<EpisodeStep>,
    /// Whether the incident was resolved.
    pub resolved: bool,
    /// Step count at the end.
    pub final_step: u32,
    /// Time to resolve in steps, when resolved.
    pub mttr: Option<u32>,
    /// Cumulative reward, terminal penalty included.
    pub cumulative_reward: f64,
    /// Wrong fixes.
    pub wrong_fixes: u32,
    /// Miscommunications.
    pub miscommunications: u32,
    /// Names flagged by oversight, in order.
    pub oversight_flags: Vec<Cow<'static, str>>,
    /// The last declared root cause.
    pub declared_root_cause: Option<FailureId>,
    /// The rogue agent of the scenario (ground truth, for analysis).
    pub rogue_agent: Option<FleetAgent>,
    /// Parse counters of seats that read model text; absent for scripted teams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_stats: Option<ParseStats>,
}

impl EpisodeResult {
    /// The result of the episode `env` holds, with the steps played so far.
    pub fn from_env(
        scenario: &Scenario,
        env: &Environment,
        steps: Vec<EpisodeStep>,
        parse_stats: Option<ParseStats>,
    ) -> Self {
        let state = env.state();
        EpisodeResult {
            scenario: scenario.clone(),
            episode_id: state.episode_id.get(),
            steps,
            resolved: state.resolved,
            final_step: state.step_count,
            mttr: state.resolved.then_some(state.step_count),
            cumulative_reward: state.cumulative_reward,
            wrong_fixes: state.wrong_fixes,
            miscommunications: state.miscommunications,
            oversight_flags: state.oversight_flags.clone(),
            declared_root_cause: state.declared_root_cause.clone(),
            rogue_agent: state.rogue_fleet_agent,
            parse_stats,
        }
    }

    /// True when the scenario had a rogue agent and oversight flagged it.
    pub fn rogue_caught(&self) -> bool {
        self.rogue_agent
            .is_some_and(|r| self.oversight_flags.iter().any(|f| f == r.as_str()))
    }

    /// True when oversight flagged anything other than the rogue agent (or anything at all
    /// when there is none).
    pub fn false_positive(&self) -> bool {
        match self.rogue_agent {
            None => !self.oversight_flags.is_empty(),
            Some(r) => self.oversight_flags.iter().any(|f| f != r.as_str()),
        }
    }
}

/// Plays `scenario` to the end with `team`.
pub fn run_episode(
    registry: &'static Registry,
    scenario: &Scenario,
    team: &mut Team,
    options: RunOptions,
) -> Result<EpisodeResult, SimError> {
    run_episode_with(registry, scenario, team, options, |_, _| {})
}

/// Like [`run_episode`], calling `on_step` with the environment after every step.
pub fn run_episode_with(
    registry: &'static Registry,
    scenario: &Scenario,
    team: &mut Team,
    options: RunOptions,
    mut on_step: impl FnMut(&Environment, &EpisodeStep),
) -> Result<EpisodeResult, SimError> {
    let mut env = Environment::new(registry, scenario, options.reward, None)?;
    team.begin_episode(&EpisodeStart {
        scenario,
        failure: env.simulator().failure(),
    });
    let mut steps = Vec::new();
    while !env.is_done() {
        let role = env.current_role();
        let observation = env.observation();
        let recorded = options
            .record_observations
            .then(|| serde_json::to_value(observation).unwrap_or_default());
        let action = team.policy(role).act(&observation, role);
        let record = env.step_record(&action)?;
        let step = EpisodeStep::new(action, record, recorded);
        on_step(&env, &step);
        if !options.skip_steps {
            steps.push(step);
        }
    }
    Ok(EpisodeResult::from_env(
        scenario,
        &env,
        steps,
        team.parse_stats(),
    ))
}
