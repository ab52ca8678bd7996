//! The turn-based environment of docs/behaviour.md §7: role forcing, rewards, observations.

use chaosops_model::{
    Action, ActionType, CheckedAction, Message, Observation, ObservationCommon, OutcomeFlags, Role,
    Scenario, State, StepRecord, Uuid,
};

use crate::engine::Simulator;
use crate::error::SimError;
use crate::registry::Registry;
use crate::reward::{BonusesPaid, RewardConfig, Settled};

/// What a learner's step needs of a step record (see [`Environment::step_learner_checked`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearnerStep {
    /// The record's team reward.
    pub team_reward: f64,
    /// The record's oversight reward.
    pub oversight_reward: f64,
    /// The episode ended with this step.
    pub done: bool,
    /// The incident is resolved after this step.
    pub resolved: bool,
}

/// The last step, kept so the observation's message can borrow from the environment.
#[derive(Clone, Debug)]
struct LastStep {
    actor: Role,
    action_type: ActionType,
    target: String,
    has_target: bool,
    flags: OutcomeFlags,
    reward: f64,
}

/// An episode played by four roles in turn: SRE, Oversight, Dev, Manager.
#[derive(Clone, Debug)]
pub struct Environment {
    sim: Simulator,
    config: RewardConfig,
    turn: usize,
    paid: BonusesPaid,
    last: Option<LastStep>,
}

/// The result of one step: its record and the next role's observation.
#[derive(Clone, Copy, Debug)]
pub struct StepOutcome<'a> {
    /// The step record (docs/behaviour.md §14).
    pub record: StepRecord,
    /// The observation for the role whose turn follows.
    pub observation: Observation<'a>,
}

impl Environment {
    /// Starts an episode of `scenario` with `config` rewards; `episode_id` overrides the drawn id.
    pub fn new(
        registry: &'static Registry,
        scenario: &Scenario,
        config: RewardConfig,
        episode_id: Option<Uuid>,
    ) -> Result<Self, SimError> {
        Ok(Environment {
            sim: Simulator::reset(registry, scenario, episode_id)?,
            config,
            turn: 0,
            paid: BonusesPaid::default(),
            last: None,
        })
    }

    /// Starts a new episode in place, keeping the reward config. On error nothing changes.
    pub fn reset(
        &mut self,
        scenario: &Scenario,
        episode_id: Option<Uuid>,
    ) -> Result<Observation<'_>, SimError> {
        self.reset_only(scenario, episode_id)?;
        Ok(self.observation())
    }

    /// Starts a new episode in place like [`Environment::reset`], without building the first
    /// observation (for callers that encode their own). On error nothing changes.
    pub fn reset_only(
        &mut self,
        scenario: &Scenario,
        episode_id: Option<Uuid>,
    ) -> Result<(), SimError> {
        self.sim.reset_in_place(scenario, episode_id)?;
        self.turn = 0;
        self.paid = BonusesPaid::default();
        self.last = None;
        Ok(())
    }

    /// The role whose turn it is.
    #[inline]
    pub fn current_role(&self) -> Role {
        Role::TURN_ORDER[self.turn % Role::COUNT]
    }

    /// The role whose turn follows the current one.
    #[inline]
    pub fn next_role(&self) -> Role {
        Role::TURN_ORDER[(self.turn + 1) % Role::COUNT]
    }

    /// True when the episode is over.
    #[inline]
    pub fn is_done(&self) -> bool {
        self.sim.is_terminal()
    }

    /// The ground truth.
    #[inline]
    pub fn state(&self) -> &State {
        self.sim.state()
    }

    /// The simulator underneath.
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// The reward configuration.
    pub fn config(&self) -> &RewardConfig {
        &self.config
    }

    /// The current observation of the role whose turn it is.
    pub fn observation(&self) -> Observation<'_> {
        self.observation_for(self.current_role())
    }

    /// What `role` would observe now: its own view, with the turn role and the last step's
    /// message and reward as everyone sees them.
    #[inline]
    pub fn observation_for(&self, role: Role) -> Observation<'_> {
        Observation::new(self.observation_common(), self.sim.project_view(role))
    }

    /// The part of [`observation_for`](Self::observation_for) that is the same for every
    /// role, without projecting a view.
    #[inline]
    pub fn observation_common(&self) -> ObservationCommon<'_> {
        let state = self.sim.state();
        let done = state.is_terminal();
        let (reward, message) = match &self.last {
            None => (
                0.0,
                Message::Reset {
                    alerts: state.all_alerts.len(),
                    first_role: self.current_role(),
                },
            ),
            Some(last) => (
                last.reward,
                Message::Step {
                    actor: last.actor,
                    action_type: last.action_type,
                    target: last.has_target.then_some(last.target.as_str()),
                    flags: last.flags,
                    ended_unresolved: done && !state.resolved,
                },
            ),
        };
        ObservationCommon {
            done,
            reward,
            step: state.step_count,
            turn_role: self.current_role(),
            message,
        }
    }

    /// Plays `action` as the role whose turn it is (any claimed role is overridden).
    ///
    /// Refuses, changing nothing, an action beyond the documented limits or a step on a
    /// finished episode.
    pub fn step(&mut self, action: &Action) -> Result<StepOutcome<'_>, SimError> {
        let record = self.step_record(action)?;
        Ok(StepOutcome {
            record,
            observation: self.observation(),
        })
    }

    /// Like [`step`](Self::step) but returns only the record, without projecting a view.
    pub fn step_record(&mut self, action: &Action) -> Result<StepRecord, SimError> {
        let role = self.current_role();
        let flags = self.sim.apply_action(role, action)?;
        Ok(self.finish_step(role, action, flags))
    }

    /// Like [`step_record`](Self::step_record), for an action checked once beforehand (the
    /// learner interface plays its table's actions so).
    pub fn step_record_checked(&mut self, action: &CheckedAction) -> Result<StepRecord, SimError> {
        let role = self.current_role();
        let flags = self.sim.apply_checked(role, action)?;
        Ok(self.finish_step(role, action, flags))
    }

    /// Like [`step_record_checked`](Self::step_record_checked), returning only what a
    /// learner's step needs (the vector path: no record is written and read back).
    pub fn step_learner_checked(
        &mut self,
        action: &CheckedAction,
    ) -> Result<LearnerStep, SimError> {
        let role = self.current_role();
        let flags = self.sim.apply_checked(role, action)?;
        let record = self.finish_step(role, action, flags);
        Ok(LearnerStep {
            team_reward: record.team_reward,
            oversight_reward: record.oversight_reward,
            done: record.done,
            resolved: self.sim.state().resolved,
        })
    }

    /// The rest of a step once `role`'s action is applied: physics, rewards, bookkeeping.
    /// Inlined into both callers: as a call, its record is copied once more on the way out.
    #[inline(always)]
    fn finish_step(&mut self, role: Role, action: &Action, mut flags: OutcomeFlags) -> StepRecord {
        self.sim.tick();
        let control = self.sim.is_control();
        let config = &self.config;
        let state = self.sim.state_mut();
        if control
            && state.step_count >= state.max_steps
            && state.wrong_fixes == 0
            && state.oversight_flags.is_empty()
        {
            // A control that reached its budget unharmed: the healthy fleet was left alone.
            state.resolved = true;
            flags.resolved = true;
        }
        let Settled {
            breakdown,
            team,
            total: reward,
            oversight,
        } = config.settle(
            &flags,
            state.step_count,
            state.declared_root_cause_step,
            &mut self.paid,
            control,
        );
        state.cumulative_reward += reward;
        if flags.miscommunication {
            state.miscommunications = state.miscommunications.max(1);
        }
        let done = state.is_terminal();
        if done && !state.resolved {
            state.cumulative_reward += config.terminal_penalty;
        }
        let step = state.step_count;
        self.turn = (self.turn + 1) % Role::COUNT;
        let last = self.last.get_or_insert_with(|| LastStep {
            actor: role,
            action_type: action.action_type,
            target: String::new(),
            has_target: false,
            flags,
            reward,
        });
        last.actor = role;
        last.action_type = action.action_type;
        last.target.clear();
        last.has_target = action.target.is_some();
        if let Some(t) = &action.target {
            last.target.push_str(t);
        }
        last.flags = flags;
        last.reward = reward;
        StepRecord {
            turn: step - 1,
            role,
            reward,
            breakdown,
            team_reward: team,
            oversight_reward: oversight,
            flags,
            done,
            step,
            next_role: self.current_role(),
        }
    }
}
