//! Vector stepping: N environments in one call, writing into buffers the caller owns.

use std::sync::Arc;

use chaosops_model::Role;
use chaosops_roles::PolicyKind;
use rayon::prelude::*;

use crate::config::{nth_seed, ScenarioSource};
use crate::error::RlError;
use crate::seat::SeatEnv;
use crate::table::ActionTable;
use crate::turn::TurnEnv;
use crate::OBS_LEN;

/// What each vector entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VecMode {
    /// Every role is the caller's: each step plays one turn of each environment, observations
    /// and masks are for the role whose turn follows, and rewards hold one value per role in
    /// turn order (sre, oversight, dev, manager).
    Turn,
    /// One learner seat; built-in policies play the others; one reward per environment.
    Seat {
        /// The learner's role.
        seat: Role,
        /// The policy kind of each role (the seat's own entry unused).
        others: [PolicyKind; Role::COUNT],
    },
}

impl VecMode {
    /// Rewards written per environment: 4 in turn mode, 1 in seat mode.
    pub const fn reward_width(self) -> usize {
        match self {
            VecMode::Turn => Role::COUNT,
            VecMode::Seat { .. } => 1,
        }
    }
}

/// Output buffers of a vector reset or step, owned by the caller. Row `i` belongs to
/// environment `i`.
#[derive(Debug)]
pub struct VecBuffers<'a> {
    /// `N x OBS_LEN` observations.
    pub obs: &'a mut [f32],
    /// `N x n_actions` legal-action masks (0 or 1).
    pub masks: &'a mut [i8],
    /// `N x reward_width` rewards.
    pub rewards: &'a mut [f64],
    /// `N` flags: resolved on this step.
    pub terminated: &'a mut [bool],
    /// `N` flags: out of steps on this step.
    pub truncated: &'a mut [bool],
}

/// Output buffers a Rust caller owns, sized for a vector env: the [`VecBuffers`] of every
/// call borrow them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VecOutputs {
    /// `N x OBS_LEN` observations.
    pub obs: Vec<f32>,
    /// `N x n_actions` legal-action masks.
    pub masks: Vec<i8>,
    /// `N x reward_width` rewards.
    pub rewards: Vec<f64>,
    /// `N` flags: resolved on the last step.
    pub terminated: Vec<bool>,
    /// `N` flags: out of steps on the last step.
    pub truncated: Vec<bool>,
}

impl VecOutputs {
    /// Zeroed buffers for `num_envs` environments, `n_actions` actions and `reward_width`
    /// rewards per environment.
    pub fn new(num_envs: usize, n_actions: usize, reward_width: usize) -> Self {
        VecOutputs {
            obs: vec![0.0; num_envs * OBS_LEN],
            masks: vec![0; num_envs * n_actions],
            rewards: vec![0.0; num_envs * reward_width],
            terminated: vec![false; num_envs],
            truncated: vec![false; num_envs],
        }
    }

    /// Zeroed buffers of the sizes `env` writes.
    pub fn for_env(env: &VecEnv) -> Self {
        Self::new(env.num_envs(), env.table().len(), env.mode().reward_width())
    }

    /// The buffers, borrowed for one call.
    pub fn buffers(&mut self) -> VecBuffers<'_> {
        VecBuffers {
            obs: &mut self.obs,
            masks: &mut self.masks,
            rewards: &mut self.rewards,
            terminated: &mut self.terminated,
            truncated: &mut self.truncated,
        }
    }
}

enum Inner {
    Turn(TurnEnv),
    Seat(SeatEnv),
}

struct Slot {
    env: Inner,
    episodes: Episodes,
}

/// Where a slot's episodes come from, and whether the next step starts one.
struct Episodes {
    base_seed: u64,
    episode: u64,
    needs_reset: bool,
}

impl Episodes {
    /// Episodes from `base_seed` on, the first to start at the next step.
    fn starting(base_seed: u64) -> Self {
        Episodes {
            base_seed,
            episode: 0,
            needs_reset: true,
        }
    }

    /// The seed of the next episode, when the step given `action` must start one.
    #[inline]
    fn next_seed(&mut self, action: Option<i64>) -> Option<u64> {
        if !self.needs_reset && action.is_some() {
            return None;
        }
        let seed = nth_seed(self.base_seed, self.episode);
        self.episode += 1;
        self.needs_reset = false;
        Some(seed)
    }
}

/// N environments stepped together. Auto-reset follows Gymnasium's "next step" mode: the
/// step after an episode ends resets that environment (its action is ignored) and reports
/// reward 0. Results do not depend on the number of threads: each environment is stepped
/// by exactly one thread and draws its seeds from its own stream (environment `i` of
/// `reset(seed)` plays seed `seed + i`, then [`nth_seed`]`(seed + i, k)` for its `k`-th
/// episode).
pub struct VecEnv {
    slots: Vec<Slot>,
    mode: VecMode,
    table: Arc<ActionTable>,
    pool: Option<rayon::ThreadPool>,
    started: bool,
}

impl std::fmt::Debug for VecEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecEnv")
            .field("num_envs", &self.slots.len())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Fewest environments a thread takes at a time.
const MIN_PER_THREAD: usize = 8;

impl VecEnv {
    /// `num_envs` environments of `mode` drawing from `source`, stepped on `threads` threads
    /// (1 steps them on the calling thread).
    pub fn new(
        source: Arc<ScenarioSource>,
        table: Arc<ActionTable>,
        mode: VecMode,
        num_envs: usize,
        threads: usize,
    ) -> Result<Self, RlError> {
        if num_envs == 0 {
            return Err(RlError::config(
                "num_envs",
                "0 environments; ask for at least 1",
            ));
        }
        if threads == 0 {
            return Err(RlError::config("threads", "0 threads; ask for at least 1"));
        }
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| RlError::config("threads", format!("{threads}: {e}")))?,
            )
        } else {
            None
        };
        let slots = (0..num_envs)
            .map(|_| {
                let turn = TurnEnv::new(Arc::clone(&source), Arc::clone(&table));
                let env = match mode {
                    VecMode::Turn => Inner::Turn(turn),
                    VecMode::Seat { seat, others } => Inner::Seat(SeatEnv::new(turn, seat, others)),
                };
                Slot {
                    env,
                    episodes: Episodes::starting(0),
                }
            })
            .collect();
        Ok(VecEnv {
            slots,
            mode,
            table,
            pool,
            started: false,
        })
    }

    /// Number of environments.
    pub fn num_envs(&self) -> usize {
        self.slots.len()
    }

    /// The mode.
    pub fn mode(&self) -> VecMode {
        self.mode
    }

    /// The action table.
    pub fn table(&self) -> &Arc<ActionTable> {
        &self.table
    }

    /// The seed of the episode environment `i` plays (after any seat redraws).
    pub fn episode_seed(&self, i: usize) -> Option<u64> {
        let slot = self.slots.get(i)?;
        Some(match &slot.env {
            Inner::Turn(t) => t
                .environment()
                .map_or(slot.episodes.base_seed, |e| e.simulator().scenario().seed),
            Inner::Seat(s) => s.episode_seed(),
        })
    }

    fn check(&self, out: &VecBuffers<'_>) -> Result<(), RlError> {
        let n = self.slots.len();
        let checks = [
            ("observations", out.obs.len(), n * OBS_LEN),
            ("masks", out.masks.len(), n * self.table.len()),
            ("rewards", out.rewards.len(), n * self.mode.reward_width()),
            ("terminated", out.terminated.len(), n),
            ("truncated", out.truncated.len(), n),
        ];
        for (name, got, expected) in checks {
            if got != expected {
                return Err(RlError::BufferSize {
                    name,
                    got,
                    expected,
                });
            }
        }
        Ok(())
    }

    /// Resets every environment: environment `i` plays seed `seed + i`.
    pub fn reset(&mut self, seed: u64, out: VecBuffers<'_>) -> Result<(), RlError> {
        self.check(&out)?;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            slot.episodes = Episodes::starting(seed.wrapping_add(i as u64));
        }
        out.rewards.fill(0.0);
        self.started = true;
        self.run(None, out)
    }

    /// Steps every environment with its action (a table index); environments whose episode
    /// ended on the previous step are reset instead. Every index is checked before any
    /// environment moves, so a bad one changes nothing.
    pub fn step(&mut self, actions: &[i64], out: VecBuffers<'_>) -> Result<(), RlError> {
        self.check(&out)?;
        if actions.len() != self.slots.len() {
            return Err(RlError::ActionCount {
                got: actions.len(),
                expected: self.slots.len(),
            });
        }
        let len = self.table.len();
        if let Some(&index) = actions
            .iter()
            .find(|&&a| usize::try_from(a).map_or(true, |a| a >= len))
        {
            return Err(RlError::BadActionIndex { index, len });
        }
        if !self.started {
            return Err(RlError::NotReset);
        }
        self.run(Some(actions), out)
    }

    fn run(&mut self, actions: Option<&[i64]>, out: VecBuffers<'_>) -> Result<(), RlError> {
        let n_actions = self.table.len();
        let n = self.slots.len();
        let width = self.mode.reward_width();
        let table = &*self.table;
        let work = |((((((slot, obs), mask), reward), term), trunc), i): Zipped<'_>| {
            step_slot(
                slot,
                actions.map(|a| a[i]),
                table,
                Row {
                    obs,
                    mask,
                    reward,
                    terminated: term,
                    truncated: trunc,
                },
            )
        };
        match &self.pool {
            // One plain loop per mode: on one thread the zipped chunk iterators below cost
            // more than the bounds checks they save.
            None => match self.mode {
                VecMode::Turn => {
                    // Every row sliced to the number of environments (the lengths were
                    // checked), so the indexing below needs no check.
                    let (obs, _) = out.obs.as_chunks_mut::<OBS_LEN>();
                    let (rewards, _) = out.rewards.as_chunks_mut::<{ Role::COUNT }>();
                    let (obs, rewards) = (&mut obs[..n], &mut rewards[..n]);
                    let (terminated, truncated) =
                        (&mut out.terminated[..n], &mut out.truncated[..n]);
                    // The masks by chunks: one pointer step per environment instead of two
                    // multiplications and a bounds check.
                    let masks = out.masks.chunks_exact_mut(n_actions);
                    let actions = actions.map(|a| &a[..n]);
                    for ((i, slot), mask) in self.slots.iter_mut().enumerate().zip(masks) {
                        let Inner::Turn(env) = &mut slot.env else {
                            unreachable!("a turn-mode vector holds turn environments")
                        };
                        step_turn(
                            env,
                            &mut slot.episodes,
                            actions.map(|a| a[i]),
                            table,
                            TurnRow {
                                obs: &mut obs[i],
                                mask,
                                reward: &mut rewards[i],
                                terminated: &mut terminated[i],
                                truncated: &mut truncated[i],
                            },
                        )?;
                    }
                    Ok(())
                }
                VecMode::Seat { .. } => {
                    for (i, slot) in self.slots.iter_mut().enumerate() {
                        step_slot(
                            slot,
                            actions.map(|a| a[i]),
                            table,
                            Row {
                                obs: &mut out.obs[i * OBS_LEN..(i + 1) * OBS_LEN],
                                mask: &mut out.masks[i * n_actions..(i + 1) * n_actions],
                                reward: &mut out.rewards[i * width..(i + 1) * width],
                                terminated: &mut out.terminated[i],
                                truncated: &mut out.truncated[i],
                            },
                        )?;
                    }
                    Ok(())
                }
            },
            Some(pool) => {
                let slots = &mut self.slots;
                // One contiguous chunk per thread: the work per environment is ~100 ns, so
                // fewer, larger tasks keep the scheduling overhead small.
                let per_thread = n.div_ceil(pool.current_num_threads()).max(MIN_PER_THREAD);
                pool.install(|| {
                    slots
                        .par_iter_mut()
                        .zip(out.obs.par_chunks_mut(OBS_LEN))
                        .zip(out.masks.par_chunks_mut(n_actions))
                        .zip(out.rewards.par_chunks_mut(width))
                        .zip(out.terminated.par_iter_mut())
                        .zip(out.truncated.par_iter_mut())
                        .zip(0..n)
                        .with_min_len(per_thread)
                        .try_for_each(work)
                })
            }
        }
    }
}

/// One slot and its rows of the output buffers, as the zipped iterators yield them.
type Zipped<'a> = (
    (
        (
            (((&'a mut Slot, &'a mut [f32]), &'a mut [i8]), &'a mut [f64]),
            &'a mut bool,
        ),
        &'a mut bool,
    ),
    usize,
);

struct Row<'a> {
    obs: &'a mut [f32],
    mask: &'a mut [i8],
    reward: &'a mut [f64],
    terminated: &'a mut bool,
    truncated: &'a mut bool,
}

/// One turn-mode environment's rows of the output buffers.
struct TurnRow<'a> {
    obs: &'a mut [f32; OBS_LEN],
    mask: &'a mut [i8],
    reward: &'a mut [f64; Role::COUNT],
    terminated: &'a mut bool,
    truncated: &'a mut bool,
}

/// The turn-mode step of one environment (the single-thread loop's body, kept apart from
/// [`step_slot`] so the mode is matched once per call rather than twice per environment).
#[inline(always)]
fn step_turn(
    env: &mut TurnEnv,
    episodes: &mut Episodes,
    action: Option<i64>,
    table: &ActionTable,
    row: TurnRow<'_>,
) -> Result<(), RlError> {
    match episodes.next_seed(action) {
        Some(seed) => {
            env.reset(seed)?;
            *row.reward = [0.0; Role::COUNT];
            *row.terminated = false;
            *row.truncated = false;
        }
        None => {
            env.prefetch_next_observation();
            let (rewards, terminated, truncated) =
                env.step_index_rewards(action.unwrap_or_default())?;
            *row.reward = rewards;
            *row.terminated = terminated;
            *row.truncated = truncated;
            episodes.needs_reset = terminated || truncated;
        }
    }
    let role = env.encode_current(row.obs).ok_or(RlError::NotReset)?;
    row.mask.copy_from_slice(table.mask(role));
    Ok(())
}

fn step_slot(
    slot: &mut Slot,
    action: Option<i64>,
    table: &ActionTable,
    row: Row<'_>,
) -> Result<(), RlError> {
    let s = match &mut slot.env {
        Inner::Turn(env) => {
            return step_turn(
                env,
                &mut slot.episodes,
                action,
                table,
                TurnRow {
                    obs: row.obs.try_into().expect("observation row"),
                    mask: row.mask,
                    reward: row.reward.try_into().expect("turn-mode reward row"),
                    terminated: row.terminated,
                    truncated: row.truncated,
                },
            )
        }
        Inner::Seat(s) => s,
    };
    *row.terminated = false;
    *row.truncated = false;
    match slot.episodes.next_seed(action) {
        Some(seed) => {
            row.reward[0] = 0.0;
            s.reset(seed)?;
        }
        None => {
            let o = s.step_index(action.unwrap_or_default())?;
            row.reward[0] = o.reward;
            *row.terminated = o.terminated;
            *row.truncated = o.truncated;
            slot.episodes.needs_reset = o.terminated || o.truncated;
        }
    }
    s.encode(row.obs)?;
    row.mask.copy_from_slice(s.mask());
    Ok(())
}
