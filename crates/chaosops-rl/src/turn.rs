//! The turn-based environment for learners: one role acts per step; every role's reward is
//! reported; `terminated` and `truncated` are told apart.

use std::sync::Arc;

use chaosops_model::{Action, Role, Scenario, State, StepRecord};
use chaosops_sim::{Environment, RewardConfig};

use crate::config::ScenarioSource;
use crate::encode::{Encoder, TokenMemo};

thread_local! {
    /// The token memo of this thread, shared by every environment it steps: results do not
    /// depend on it (it is exact), and one memo per thread keeps each environment small.
    static MEMO: std::cell::RefCell<TokenMemo> = std::cell::RefCell::new(TokenMemo::default());
}
use crate::error::RlError;
use crate::table::ActionTable;

/// What one turn gave the learners.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TurnOutcome {
    /// The engine's step record (exactly the reference reward).
    pub record: StepRecord,
    /// The reward of each team role (sre, dev, manager) for this turn: the record's team
    /// reward, plus the unresolved penalty when this turn ends the episode unresolved.
    pub team: f64,
    /// Oversight's reward for this turn: the record's oversight reward, plus
    /// `oversight_share` of the unresolved penalty when this turn ends the episode unresolved.
    pub oversight: f64,
    /// The incident was resolved on this turn.
    pub terminated: bool,
    /// The step budget ran out on this turn with the incident unresolved.
    pub truncated: bool,
}

impl TurnOutcome {
    /// The learner reward of `role`.
    pub fn reward_of(&self, role: Role) -> f64 {
        if role == Role::Oversight {
            self.oversight
        } else {
            self.team
        }
    }

    /// Builds the learner view of a step record; `resolved` is the state's flag after it.
    pub fn new(record: StepRecord, resolved: bool, config: &RewardConfig) -> Self {
        let truncated = record.done && !resolved;
        let (team, oversight) = with_terminal_penalty(
            read_apart(&record.team_reward),
            record.oversight_reward,
            truncated,
            config,
        );
        TurnOutcome {
            record,
            team,
            oversight,
            terminated: record.done && resolved,
            truncated,
        }
    }
}

/// The team reward the engine has just returned, read on its own: the engine wrote the team
/// and oversight rewards as two 8-byte stores, and the one 16-byte load the compiler would
/// merge the two reads into cannot be forwarded from them (it waits for them to reach the
/// cache, every step). One volatile read keeps the reads apart.
#[inline(always)]
fn read_apart(team: &f64) -> f64 {
    // SAFETY: a read of an initialised value through a shared reference.
    unsafe { std::ptr::read_volatile(team) }
}

/// The team and oversight rewards of a turn for learners: the unresolved penalty is added
/// (its oversight share to oversight) on the turn that ends the episode unresolved.
#[inline(always)]
fn with_terminal_penalty(
    team: f64,
    oversight: f64,
    truncated: bool,
    config: &RewardConfig,
) -> (f64, f64) {
    if truncated {
        (
            team + config.terminal_penalty,
            oversight + config.oversight_share * config.terminal_penalty,
        )
    } else {
        (team, oversight)
    }
}

/// The total length of the state's lists: the engine only appends to them during an episode,
/// so while this is unchanged no list has grown or moved (see [`Encoder`]).
fn list_generation(state: &State) -> usize {
    let inboxes: usize = Role::ALL
        .iter()
        .map(|r| state.private_chat.of(*r).len())
        .sum();
    state.all_logs.len()
        + state.all_alerts.len()
        + state.fleet_actions.len()
        + state.chat_history.len()
        + inboxes
}

/// An episode played one turn at a time, with numeric observations and masks.
#[derive(Clone, Debug)]
pub struct TurnEnv {
    source: Arc<ScenarioSource>,
    table: Arc<ActionTable>,
    env: Option<Environment>,
    encoder: Encoder,
    /// Every projection follows the lists, so episode starts can be kept (`crate::starts`).
    keeps_starts: bool,
}

impl TurnEnv {
    /// An environment drawing from `source`, with actions from `table`; reset it before stepping.
    pub fn new(source: Arc<ScenarioSource>, table: Arc<ActionTable>) -> Self {
        let registry = source.registry();
        let keeps_starts = Role::ALL
            .iter()
            .all(|r| registry.projection(*r).view_follows_lists());
        TurnEnv {
            source,
            table,
            env: None,
            encoder: Encoder::default(),
            keeps_starts,
        }
    }

    /// Starts the episode of `seed` (see [`ScenarioSource::scenario`]).
    pub fn reset(&mut self, seed: u64) -> Result<(), RlError> {
        let scenario = self.source.scenario(seed);
        self.reset_to(&scenario)
    }

    /// Starts an episode of an explicit scenario. On error nothing changes.
    pub fn reset_to(&mut self, scenario: &Scenario) -> Result<(), RlError> {
        let registry = self.source.registry();
        match &mut self.env {
            Some(env) => env.reset_only(scenario, None)?,
            None => {
                self.env = Some(Environment::new(
                    registry,
                    scenario,
                    *self.source.reward(),
                    None,
                )?)
            }
        }
        self.encoder.clear();
        if self.keeps_starts {
            // Every role's first observation from a start seen before, or computed now and
            // kept (the values are the same either way; see `crate::starts`).
            let env = self.env.as_ref().ok_or(RlError::NotReset)?;
            crate::starts::prime(&mut self.encoder, env.state(), registry, |encoder| {
                let mut scratch = [0.0f32; crate::OBS_LEN];
                for role in Role::TURN_ORDER {
                    encode_row(encoder, env, role, &mut scratch);
                }
            });
        }
        Ok(())
    }

    /// The episode, once reset.
    pub fn environment(&self) -> Option<&Environment> {
        self.env.as_ref()
    }

    fn env(&self) -> Result<&Environment, RlError> {
        self.env.as_ref().ok_or(RlError::NotReset)
    }

    /// The action table.
    pub fn table(&self) -> &Arc<ActionTable> {
        &self.table
    }

    /// Where scenarios come from.
    pub fn source(&self) -> &Arc<ScenarioSource> {
        &self.source
    }

    /// The role whose turn it is.
    pub fn current_role(&self) -> Result<Role, RlError> {
        Ok(self.env()?.current_role())
    }

    /// True when the episode is over (or none was started).
    pub fn is_done(&self) -> bool {
        self.env.as_ref().is_none_or(Environment::is_done)
    }

    /// Plays `action` as the role whose turn it is. A refused action changes nothing.
    pub fn step(&mut self, action: &Action) -> Result<TurnOutcome, RlError> {
        let env = self.env.as_mut().ok_or(RlError::NotReset)?;
        let record = env.step_record(action)?;
        Ok(TurnOutcome::new(record, env.state().resolved, env.config()))
    }

    /// Plays the table's action `index`.
    #[inline]
    pub fn step_index(&mut self, index: i64) -> Result<TurnOutcome, RlError> {
        // Borrow the table and the episode as disjoint fields: cloning the Arc here would
        // bounce its reference count between the threads of a vector step.
        let action = self.table.get_checked(index)?;
        let env = self.env.as_mut().ok_or(RlError::NotReset)?;
        let record = match env.step_record_checked(action) {
            Ok(record) => record,
            Err(e) => return Err(refused(e)),
        };
        Ok(TurnOutcome::new(record, env.state().resolved, env.config()))
    }

    /// Plays the table's action `index` for the vector path: each role's reward (turn order)
    /// and the terminated and truncated flags, exactly as [`TurnOutcome`] has them, without
    /// the step record.
    #[inline(always)]
    pub(crate) fn step_index_rewards(
        &mut self,
        index: i64,
    ) -> Result<([f64; Role::COUNT], bool, bool), RlError> {
        let action = self.table.get_checked(index)?;
        let env = self.env.as_mut().ok_or(RlError::NotReset)?;
        let step = match env.step_learner_checked(action) {
            Ok(step) => step,
            Err(e) => return Err(refused(e)),
        };
        let truncated = step.done && !step.resolved;
        let (team, oversight) = with_terminal_penalty(
            read_apart(&step.team_reward),
            step.oversight_reward,
            truncated,
            env.config(),
        );
        let rewards = Role::TURN_ORDER.map(|r| {
            if r == Role::Oversight {
                oversight
            } else {
                team
            }
        });
        Ok((rewards, step.done && step.resolved, truncated))
    }

    /// Writes `role`'s numeric observation ([`crate::OBS_LEN`] values) into `out`.
    #[inline]
    pub fn encode(&mut self, role: Role, out: &mut [f32]) -> Result<(), RlError> {
        let got = out.len();
        let out: &mut [f32; crate::OBS_LEN] = out.try_into().map_err(|_| RlError::BufferSize {
            name: "observation",
            got,
            expected: crate::OBS_LEN,
        })?;
        let env = self.env.as_ref().ok_or(RlError::NotReset)?;
        encode_row(&mut self.encoder, env, role, out);
        Ok(())
    }

    /// Writes the observation of the role whose turn it is into `out` and returns that role,
    /// or None before the first reset (the vector path: one borrow of the episode for both,
    /// and a result that fits in a register).
    #[inline(always)]
    pub(crate) fn encode_current(&mut self, out: &mut [f32; crate::OBS_LEN]) -> Option<Role> {
        let env = self.env.as_ref()?;
        let role = env.current_role();
        encode_row(&mut self.encoder, env, role, out);
        Some(role)
    }

    /// Asks the cache for the cached values of the role whose turn follows this one (a hint,
    /// no effect on results): the engine's step runs while they come in.
    #[inline(always)]
    pub(crate) fn prefetch_next_observation(&self) {
        if let Some(env) = &self.env {
            self.encoder.prefetch(env.next_role());
        }
    }

    /// Writes `role`'s legal-action mask ([`ActionTable::len`] bytes) into `out`.
    pub fn mask(&self, role: Role, out: &mut [i8]) -> Result<(), RlError> {
        let mask = self.table.mask(role);
        if out.len() != mask.len() {
            return Err(RlError::BufferSize {
                name: "action mask",
                got: out.len(),
                expected: mask.len(),
            });
        }
        out.copy_from_slice(mask);
        Ok(())
    }
}

/// Writes `role`'s observation of `env` into `out`, through `encoder`'s cache: without a
/// view when the role's values are kept and no list has changed since, else from the view.
#[inline(always)]
fn encode_row(
    encoder: &mut Encoder,
    env: &Environment,
    role: Role,
    out: &mut [f32; crate::OBS_LEN],
) {
    let state = env.state();
    let generation = list_generation(state);
    if let Some((kept, facts)) = encoder.cached(role, generation) {
        kept.write(&facts, state, &env.observation_common(), out);
        return;
    }
    let projection = env.simulator().registry().projection(role);
    let follows_lists = projection.view_follows_lists();
    let view = projection.project(state);
    let common = env.observation_common();
    let memo = |fill: &mut dyn FnMut(&mut TokenMemo)| {
        MEMO.with(|memo| match memo.try_borrow_mut() {
            Ok(mut memo) => fill(&mut memo),
            // Re-entered on this thread (cannot happen from the engine): a fresh memo is exact too.
            Err(_) => fill(&mut TokenMemo::default()),
        })
    };
    encoder.encode(
        &view,
        &common,
        generation,
        state.max_steps,
        follows_lists,
        memo,
        out,
    );
}

/// The engine's refusal as the learner interface's, out of line: converted in the step
/// itself, the error's copy is hoisted above the success check and its wide loads of the
/// freshly written record stall every step.
#[cold]
#[inline(never)]
fn refused(e: chaosops_sim::SimError) -> RlError {
    RlError::Sim(e)
}
