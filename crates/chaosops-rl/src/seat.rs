//! Seat mode: one learner role; built-in policies play the other seats inside Rust.

use std::fmt;

use chaosops_model::{Action, Role};
use chaosops_roles::{EpisodeStart, NoopPolicy, PolicyKind, Team};

use crate::config::nth_seed;
use crate::error::RlError;
use crate::turn::TurnEnv;

/// How many scenarios a seat reset draws before giving up on reaching the seat's turn.
pub const MAX_REDRAWS: u64 = 64;

/// What one learner step gave the seat.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SeatOutcome {
    /// The seat's reward over its own turn and the other seats' turns up to its next one.
    pub reward: f64,
    /// The incident was resolved.
    pub terminated: bool,
    /// The step budget ran out unresolved.
    pub truncated: bool,
}

/// One learner seat with built-in policies in the others.
///
/// `reset(seed)` draws the scenario of `seed` and lets the other seats play until the seat's
/// turn. When they end the episode first (a scripted SRE can fix an easy incident on turn
/// one), the next seed of the stream (`nth_seed(seed, k)`) is drawn instead, so every episode
/// gives the learner at least one decision. The seat's rewards start at its first action.
pub struct SeatEnv {
    turn: TurnEnv,
    seat: Role,
    others: [PolicyKind; Role::COUNT],
    team: Team,
    seed: u64,
}

impl fmt::Debug for SeatEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeatEnv")
            .field("seat", &self.seat)
            .field("others", &self.others)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl SeatEnv {
    /// `seat` learns in `turn`; `others[r]` plays role `r` (the seat's own entry is unused).
    pub fn new(turn: TurnEnv, seat: Role, others: [PolicyKind; Role::COUNT]) -> Self {
        SeatEnv {
            turn,
            seat,
            others,
            team: Team::uniform(PolicyKind::Noop, 0),
            seed: 0,
        }
    }

    /// The learner's role.
    pub fn seat(&self) -> Role {
        self.seat
    }

    /// The policy kind of each role's seat (the learner's entry unused).
    pub fn others(&self) -> [PolicyKind; Role::COUNT] {
        self.others
    }

    /// The turn-based environment underneath.
    pub fn turn_env(&self) -> &TurnEnv {
        &self.turn
    }

    /// The seed of the episode being played (after any redraws).
    pub fn episode_seed(&self) -> u64 {
        self.seed
    }

    /// Starts the episode of `seed` and plays the other seats up to the learner's turn.
    /// Returns how many scenarios were skipped because they ended before that turn.
    pub fn reset(&mut self, seed: u64) -> Result<u64, RlError> {
        for k in 0..MAX_REDRAWS {
            let s = nth_seed(seed, k);
            self.turn.reset(s)?;
            self.seed = s;
            self.begin(s);
            self.play_others()?;
            if !self.turn.is_done() {
                return Ok(k);
            }
        }
        Err(RlError::config(
            "others",
            format!(
                "the other seats ({}) ended {MAX_REDRAWS} episodes in a row before the {} seat's first turn",
                self.others_names(),
                self.seat
            ),
        ))
    }

    fn others_names(&self) -> String {
        Role::TURN_ORDER
            .iter()
            .filter(|r| **r != self.seat)
            .map(|r| format!("{r}={}", self.others[r.index()]))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn begin(&mut self, seed: u64) {
        let seat = self.seat;
        let others = self.others;
        self.team = Team::from_fn(|role| {
            if role == seat {
                Box::new(NoopPolicy)
            } else {
                others[role.index()].build(seed.wrapping_add(role.index() as u64))
            }
        });
        if let Some(env) = self.turn.environment() {
            let sim = env.simulator();
            self.team.begin_episode(&EpisodeStart {
                scenario: sim.scenario(),
                failure: sim.failure(),
            });
        }
    }

    /// Plays the other seats until the learner's turn or the end; returns the seat's reward.
    fn play_others(&mut self) -> Result<SeatOutcome, RlError> {
        let mut out = SeatOutcome::default();
        loop {
            let Some(env) = self.turn.environment() else {
                return Err(RlError::NotReset);
            };
            if env.is_done() {
                return Ok(out);
            }
            let role = env.current_role();
            if role == self.seat {
                return Ok(out);
            }
            let action = self.team.policy(role).act(&env.observation(), role);
            let o = self.turn.step(&action)?;
            out.reward += o.reward_of(self.seat);
            out.terminated = o.terminated;
            out.truncated = o.truncated;
        }
    }

    /// Plays `action` for the seat, then the other seats up to the seat's next turn.
    pub fn step(&mut self, action: &Action) -> Result<SeatOutcome, RlError> {
        let o = self.turn.step(action)?;
        self.after_seat_turn(o)
    }

    /// Plays the table's action `index` for the seat.
    pub fn step_index(&mut self, index: i64) -> Result<SeatOutcome, RlError> {
        let o = self.turn.step_index(index)?;
        self.after_seat_turn(o)
    }

    /// The seat's outcome of its turn `o` and the other seats' turns up to its next one.
    fn after_seat_turn(&mut self, o: crate::turn::TurnOutcome) -> Result<SeatOutcome, RlError> {
        let mut out = SeatOutcome {
            reward: o.reward_of(self.seat),
            terminated: o.terminated,
            truncated: o.truncated,
        };
        if !o.record.done {
            let rest = self.play_others()?;
            out.reward += rest.reward;
            out.terminated = rest.terminated;
            out.truncated = rest.truncated;
        }
        Ok(out)
    }

    /// Writes the seat's numeric observation into `out`.
    pub fn encode(&mut self, out: &mut [f32]) -> Result<(), RlError> {
        self.turn.encode(self.seat, out)
    }

    /// The seat's legal-action mask.
    pub fn mask(&self) -> &[i8] {
        self.turn.table().mask(self.seat)
    }
}
