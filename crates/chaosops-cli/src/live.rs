//! An episode played turn by turn, for the dashboard and for human play.

use chaosops_model::{Action, Role, Scenario};
use chaosops_roles::{EpisodeResult, EpisodeStart, EpisodeStep, Team};
use chaosops_sim::{Environment, MetricsRecorder, Registry, RewardConfig, SimError};

/// An episode in progress: the environment, the team, the metrics ring and the steps so far.
pub struct LiveEpisode {
    scenario: Scenario,
    env: Environment,
    team: Team,
    recorder: MetricsRecorder,
    steps: Vec<EpisodeStep>,
    policy_name: String,
}

impl LiveEpisode {
    /// Resets `scenario` and tells `team` the episode starts.
    pub fn new(
        registry: &'static Registry,
        scenario: Scenario,
        mut team: Team,
        policy_name: impl Into<String>,
    ) -> Result<Self, SimError> {
        let env = Environment::new(registry, &scenario, RewardConfig::default(), None)?;
        team.begin_episode(&EpisodeStart {
            scenario: &scenario,
            failure: env.simulator().failure(),
        });
        let mut recorder = MetricsRecorder::default();
        recorder.record(env.state(), None);
        Ok(LiveEpisode {
            scenario,
            env,
            team,
            recorder,
            steps: Vec::new(),
            policy_name: policy_name.into(),
        })
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The environment.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// Per-step metrics, for sparklines.
    pub fn recorder(&self) -> &MetricsRecorder {
        &self.recorder
    }

    /// The steps played so far.
    pub fn steps(&self) -> &[EpisodeStep] {
        &self.steps
    }

    /// The name of the policy in the seats.
    pub fn policy_name(&self) -> &str {
        &self.policy_name
    }

    /// True once the episode is over.
    pub fn is_done(&self) -> bool {
        self.env.is_done()
    }

    /// The role whose turn it is.
    pub fn current_role(&self) -> Role {
        self.env.current_role()
    }

    /// Lets the team's policy play the current turn.
    pub fn advance(&mut self) -> Result<(), SimError> {
        let role = self.env.current_role();
        let action = self.team.policy(role).act(&self.env.observation(), role);
        self.apply(action)
    }

    /// Plays `action` as the current role (a human's, say).
    pub fn apply(&mut self, action: Action) -> Result<(), SimError> {
        let record = self.env.step_record(&action)?;
        self.recorder
            .record(self.env.state(), Some(action.action_type));
        self.steps.push(EpisodeStep::new(action, record, None));
        Ok(())
    }

    /// The result so far (final once the episode is done).
    pub fn result(&self) -> EpisodeResult {
        EpisodeResult::from_env(
            &self.scenario,
            &self.env,
            self.steps.clone(),
            self.team.parse_stats(),
        )
    }
}
