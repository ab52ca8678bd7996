//! The simulator: reset, apply an action, tick, terminal test and view projection.

use chaosops_model::{
    Action, CheckedAction, Component, EpisodeId, FailureId, LogLevel, OutcomeFlags, Role, RoleView,
    Scenario, Service, State, Uuid, Variation,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::SimError;
use crate::failure::{FailureInjector, Turn};
use crate::handlers::{handler, ActionContext};
use crate::registry::Registry;

/// Number of decoy log lines injected on scenarios with misleading logs.
pub const DECOY_COUNT: usize = 3;

/// The decoy templates of docs/behaviour.md §3: plausible, harmless lines.
const DECOYS: [(Service, LogLevel, &str); 4] = [
    (
        Service::Auth,
        LogLevel::Info,
        "routine token rotation finished",
    ),
    (
        Service::Notifications,
        LogLevel::Warn,
        "e-mail provider asked to retry after 2s",
    ),
    (
        Service::Db,
        LogLevel::Info,
        "vacuum finished, reclaimed 18MB",
    ),
    (
        Service::Payments,
        LogLevel::Warn,
        "p95 close to the 250ms budget (no breach)",
    ),
];

/// The episode id a reset draws when none is given: the low bytes of the first 16 `u32`
/// draws of the episode's generator, seeded by the scenario (docs/behaviour.md §13).
pub fn draw_episode_id(seed: u64) -> Uuid {
    seeded(seed).1
}

/// The episode's generator seeded and past the episode id's draws, and the id they gave.
fn seeded(seed: u64) -> (ChaCha8Rng, Uuid) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    (rng, id)
}

/// The episode's seeded generator, created when first used, as a reset that drew the episode
/// id would leave it: most episodes (every one without decoys, unless a plugin asks) never use
/// it, and seeding and filling it took about 520 of a learner's reset's 1 240 instructions.
#[derive(Clone, Debug)]
struct Generator {
    seed: u64,
    rng: Option<ChaCha8Rng>,
    /// The episode id the generator drew when it was created (its first 16 draws).
    id: Option<Uuid>,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Generator {
            seed,
            rng: None,
            id: None,
        }
    }

    /// The generator, past the episode id's draws and whatever was drawn since. Creating it
    /// draws the id, as a reset did (the same fill of the generator serves both).
    fn get(&mut self) -> &mut ChaCha8Rng {
        let (seed, id) = (self.seed, &mut self.id);
        self.rng.get_or_insert_with(|| {
            let (rng, drawn) = seeded(seed);
            *id = Some(drawn);
            rng
        })
    }

    /// Keeps in `state` the id this generator drew at the reset, if it was created then and
    /// no id was `given`: reading it later then draws nothing again.
    fn settle_id(&self, given: Option<Uuid>, state: &mut State) {
        if let (None, Some(id)) = (given, self.id) {
            state.episode_id = EpisodeId::new(id);
        }
    }
}

/// Injects `failure` (each part of a compound, in order) into a freshly reset `state`,
/// with the decoys `scenario` asks for: the reference ones from `rng`, or, with variation
/// `standard`, each part's variant (target, magnitudes, wording) and the variant decoys.
/// Returns the jitter generator of a `standard` episode.
fn inject(
    state: &mut State,
    scenario: &Scenario,
    failure: &'static dyn FailureInjector,
    rng: &mut Generator,
) -> Option<u64> {
    // A control's fleet is healthy: its only evidence is noise, on every tier.
    let decoys = scenario.inject_misleading_logs || failure.is_control();
    if scenario.variation == Variation::None {
        failure.inject(state);
        if decoys {
            let rng = rng.get();
            for _ in 0..DECOY_COUNT {
                let (service, level, message) = DECOYS[rng.random_range(0..DECOYS.len())];
                state.emit_decoy_log(Component::from(service), level, message);
            }
        }
        return None;
    }
    let single = [failure];
    let parts = match failure.parts() {
        [] => &single[..],
        parts => parts,
    };
    let mut decoy_seed = None;
    for part in parts {
        let variant = crate::variation::draw(scenario, *part)?;
        if let (Some(target), Some(reference)) = (variant.target, part.reference_target()) {
            state.variant_targets.set(reference, target);
        }
        let before = state.services.0;
        let logs_from = state.all_logs.len();
        part.inject(state);
        let seed = crate::variation::apply_part(&variant, *part, &before, logs_from, state);
        decoy_seed.get_or_insert(seed);
    }
    decoy_seed.map(|seed| crate::variation::finish_reset(seed, decoys, state))
}

/// The id of an episode of `scenario`: `given`, else drawn from the seed when first read.
fn episode_id_of(scenario: &Scenario, given: Option<Uuid>) -> EpisodeId {
    given.map_or(
        EpisodeId::drawn(scenario.seed, draw_episode_id),
        EpisodeId::new,
    )
}

/// One episode's world: the ground-truth state, its failure and its seeded generator.
#[derive(Clone)]
pub struct Simulator {
    state: State,
    scenario: Scenario,
    failure: &'static dyn FailureInjector,
    registry: &'static Registry,
    rng: Generator,
    /// The jitter generator of a `standard` episode (none: no jitter).
    jitter: Option<u64>,
    /// The failure is a no-fault control (asked once at reset, not per step).
    control: bool,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("scenario", &self.scenario)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Starts an episode: takes the episode id (given, else drawn from the scenario's seed
    /// when first read, [`draw_episode_id`]), injects the failure and, when asked, the decoy
    /// logs, drawn from the seeded generator past the id's draws.
    pub fn reset(
        registry: &'static Registry,
        scenario: &Scenario,
        episode_id: Option<Uuid>,
    ) -> Result<Self, SimError> {
        scenario.validate()?;
        let failure = registry.failure(scenario.failure_type.as_str())?;
        let mut rng = Generator::new(scenario.seed);
        let mut state = State::new(
            episode_id_of(scenario, episode_id),
            FailureId::from_static(failure.id()),
            scenario.difficulty,
            scenario.max_steps,
            scenario.rogue_fleet_agent,
        );
        let jitter = inject(&mut state, scenario, failure, &mut rng);
        rng.settle_id(episode_id, &mut state);
        Ok(Simulator {
            state,
            scenario: scenario.clone(),
            failure,
            registry,
            rng,
            jitter,
            control: failure.is_control(),
        })
    }

    /// Starts a new episode in place, exactly as [`Simulator::reset`] would, keeping the
    /// state's allocations. On error nothing changes.
    pub fn reset_in_place(
        &mut self,
        scenario: &Scenario,
        episode_id: Option<Uuid>,
    ) -> Result<(), SimError> {
        scenario.validate()?;
        let failure = if self.failure.id() == scenario.failure_type.as_str() {
            self.failure
        } else {
            self.registry.failure(scenario.failure_type.as_str())?
        };
        self.rng = Generator::new(scenario.seed);
        self.state.reset(
            episode_id_of(scenario, episode_id),
            FailureId::from_static(failure.id()),
            scenario.difficulty,
            scenario.max_steps,
            scenario.rogue_fleet_agent,
        );
        self.jitter = inject(&mut self.state, scenario, failure, &mut self.rng);
        self.rng.settle_id(episode_id, &mut self.state);
        self.control = failure.is_control();
        self.scenario.clone_from(scenario);
        self.failure = failure;
        Ok(())
    }

    /// Applies one action for `role`: counts the step, runs the handler, then the fix check.
    /// Refuses an action beyond the documented limits or on a finished episode, changing nothing.
    pub fn apply_action(&mut self, role: Role, action: &Action) -> Result<OutcomeFlags, SimError> {
        self.check_running()?;
        action.validate()?;
        Ok(self.apply(role, action))
    }

    /// Like [`apply_action`](Self::apply_action), for an action checked once beforehand.
    pub fn apply_checked(
        &mut self,
        role: Role,
        action: &CheckedAction,
    ) -> Result<OutcomeFlags, SimError> {
        self.check_running()?;
        Ok(self.apply(role, action))
    }

    /// Refuses a step on a finished episode.
    #[inline]
    fn check_running(&self) -> Result<(), SimError> {
        if self.state.is_terminal() {
            return Err(SimError::EpisodeFinished {
                step: self.state.step_count,
                max_steps: self.state.max_steps,
                resolved: self.state.resolved,
            });
        }
        Ok(())
    }

    /// Applies an action within the documented limits to a running episode.
    #[inline]
    fn apply(&mut self, role: Role, action: &Action) -> OutcomeFlags {
        let mut flags = OutcomeFlags::none();
        self.state.step_count += 1;
        let turn = Turn { role, action };
        let mut cx = ActionContext {
            state: &mut self.state,
            failure: self.failure,
            registry: self.registry,
            turn,
            flags: &mut flags,
        };
        handler(action.action_type).apply(&mut cx);
        if self.failure.check_fix(turn, &mut self.state) {
            self.state.resolved = true;
            flags.resolved = true;
        }
        flags
    }

    /// Advances the failure's physics one step, unless resolved.
    pub fn tick(&mut self) {
        if !self.state.resolved {
            self.failure.tick(&mut self.state);
        }
        if let Some(seed) = &mut self.jitter {
            crate::variation::jitter(seed, &mut self.state);
        }
    }

    /// True when the episode is over.
    #[inline]
    pub fn is_terminal(&self) -> bool {
        self.state.is_terminal()
    }

    /// `role`'s view of the current state.
    #[inline]
    pub fn project_view(&self, role: Role) -> RoleView<'_> {
        self.registry.projection(role).project(&self.state)
    }

    /// The ground truth.
    #[inline]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The ground truth, mutable (for the environment's bookkeeping and for tests).
    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    /// The scenario this episode was reset with.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// True when the episode's failure is a no-fault control (docs/behaviour.md §17).
    #[inline]
    pub fn is_control(&self) -> bool {
        self.control
    }

    /// The episode's failure.
    pub fn failure(&self) -> &'static dyn FailureInjector {
        self.failure
    }

    /// The registry this episode resolves names against.
    pub fn registry(&self) -> &'static Registry {
        self.registry
    }

    /// The episode's seeded generator, for plugins that want randomness: seeded by the
    /// scenario, past the episode id's draws and the decoys'.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng.get()
    }
}
