//! The [`FailureInjector`] plugin trait: everything one failure type is.

use chaosops_model::{Action, Difficulty, FailureId, FleetAgent, OutcomeFlags, Role, State};

/// One role's action as the engine applies it: the acting role is the one whose turn it is.
#[derive(Clone, Copy, Debug)]
pub struct Turn<'a> {
    /// The role acting (forced by the environment).
    pub role: Role,
    /// The action.
    pub action: &'a Action,
}

impl std::ops::Deref for Turn<'_> {
    type Target = Action;
    fn deref(&self) -> &Action {
        self.action
    }
}

/// A failure's place in a curriculum tier's pool; the position orders the pool and so the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierSlot {
    /// The tier.
    pub difficulty: Difficulty,
    /// Position in that tier's pool (0-based).
    pub position: u32,
}

impl TierSlot {
    /// A slot at `position` in `difficulty`'s pool.
    pub const fn new(difficulty: Difficulty, position: u32) -> Self {
        TierSlot {
            difficulty,
            position,
        }
    }
}

/// What a perfect team does, one action per role; roles without one do `noop`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Playbook([Option<Action>; Role::COUNT]);

impl Playbook {
    /// The common opening: SRE declares the true root cause `id`.
    pub fn diagnose(id: &FailureId) -> Self {
        Playbook::default().with(Role::Sre, Action::identify_root_cause(id))
    }

    /// This playbook with `role` taking `action`.
    pub fn with(mut self, role: Role, action: Action) -> Self {
        self.0[role.index()] = Some(action);
        self
    }

    /// The planned action of `role`, if any.
    pub fn action(&self, role: Role) -> Option<&Action> {
        self.0[role.index()].as_ref()
    }
}

/// One failure type. Implementations live outside the engine and register with
/// `inventory::submit! { FailureRegistration(&MyFailure) }`.
///
/// The engine calls, in order: [`inject`](Self::inject) at reset; per action the
/// handler (which asks [`is_beneficial`](Self::is_beneficial) on the state before the
/// action's effect and calls [`on_wrong_fix`](Self::on_wrong_fix) after a failed
/// restart or rollback), then [`is_correct_fix`](Self::is_correct_fix) on the
/// post-handler state, then [`tick`](Self::tick) while unresolved.
pub trait FailureInjector: Send + Sync + 'static {
    /// The failure id: lower-case snake_case, unique in the registry.
    fn id(&self) -> &'static str;
    /// One sentence for listings.
    fn description(&self) -> &'static str;
    /// Curriculum tiers this failure belongs to, with its position in each pool.
    fn tiers(&self) -> &'static [TierSlot] {
        &[]
    }
    /// The fleet agent that causes this failure, if any.
    fn rogue_agent(&self) -> Option<FleetAgent> {
        None
    }
    /// Degrades the healthy baseline and emits the initial logs, alerts and fleet actions.
    fn inject(&self, state: &mut State);
    /// True when this action, on the post-handler state, resolves the incident.
    fn is_correct_fix(&self, turn: Turn<'_>, state: &State) -> bool;
    /// The engine's fix check after each action: true when the incident is now resolved.
    /// Defaults to [`is_correct_fix`](Self::is_correct_fix); a compound incident overrides
    /// it to note the parts an action fixed (docs/behaviour.md §18).
    fn check_fix(&self, turn: Turn<'_>, state: &mut State) -> bool {
        self.is_correct_fix(turn, state)
    }
    /// True when declaring `id` as the root cause is correct: by default, `id` is this
    /// type's own; for a compound, any part's.
    fn is_root_cause(&self, id: &str) -> bool {
        self.id() == id
    }
    /// The failure types a compound incident is made of, in its order; empty for a single
    /// type (the default).
    fn parts(&self) -> &[&'static dyn FailureInjector] {
        &[]
    }
    /// True when a restart, rollback or scale heals instead of counting as a wrong fix;
    /// judged on the state before the action's effect. Defaults to the correct fix.
    fn is_beneficial(&self, turn: Turn<'_>, state: &State) -> bool {
        self.is_correct_fix(turn, state)
    }
    /// Per-step physics while unresolved. Changes metrics only; emits nothing.
    fn tick(&self, _state: &mut State) {}
    /// Called after a restart or rollback of a service that was not beneficial.
    fn on_wrong_fix(&self, _turn: Turn<'_>, _state: &mut State, _flags: &mut OutcomeFlags) {}
    /// The oracle's plan for this failure.
    fn playbook(&self) -> Playbook;
    /// True for a no-fault control (docs/behaviour.md §17): nothing is wrong, the episode
    /// runs to its step budget and is resolved at its last step when nobody did harm (no
    /// wrong fix, no flag); no MTTR penalty accrues.
    fn is_control(&self) -> bool {
        false
    }
    /// The incident family this type belongs to, for held-out splits (docs/behaviour.md
    /// §16); by default its own id.
    fn family(&self) -> &'static str {
        self.id()
    }
    /// Variation: the services this type may hit instead of its reference target (empty:
    /// the target never moves). The type reads its target with [`State::target_or`].
    fn variable_targets(&self) -> &'static [chaosops_model::Service] {
        &[]
    }
    /// Variation: the service this type hits in the reference behaviour, which
    /// [`State::target_or`] is asked with. Required when
    /// [`variable_targets`](Self::variable_targets) is not empty (the registry checks).
    fn reference_target(&self) -> Option<chaosops_model::Service> {
        None
    }
    /// Variation: for evidence log lines this type emits at injection, other wordings a
    /// `standard` episode may use instead: (reference text, alternatives).
    fn phrasings(&self) -> &'static [(&'static str, &'static [&'static str])] {
        &[]
    }
    /// The oracle's plan when variation moved the target to `target`; by default the
    /// reference [`playbook`](Self::playbook).
    fn playbook_for(&self, target: Option<chaosops_model::Service>) -> Playbook {
        let _ = target;
        self.playbook()
    }
    /// Where this type comes from, as listings show it: `built-in`, `plugin` (the default,
    /// for compiled crates), or a pack's file.
    fn source(&self) -> &'static str {
        "plugin"
    }
}

/// Registers a failure type with the engine's registry.
pub struct FailureRegistration(pub &'static dyn FailureInjector);

inventory::collect!(FailureRegistration);
