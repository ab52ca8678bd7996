//! `memory_leak`: notifications leaks memory until it goes critical.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, Role, Service, Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// Memory a service can grow to.
const MEMORY_CEILING_MB: f64 = 4096.0;

/// Notifications leaks memory; `restart notifications` fixes it.
pub(crate) struct MemoryLeak;

impl FailureInjector for MemoryLeak {
    fn id(&self) -> &'static str {
        "memory_leak"
    }
    fn description(&self) -> &'static str {
        "notifications leaks memory each step until it goes critical"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[TierSlot {
            difficulty: Difficulty::Easy,
            position: 1,
        }]
    }
    fn inject(&self, state: &mut State) {
        let n = state.service_mut(Service::Notifications);
        n.memory_mb = 1200.0;
        n.cpu_pct = 71.0;
        n.health = Health::Degraded;
        state.emit_log(
            Service::Notifications,
            LogLevel::Warn,
            "heap at 1200MB, gc pause 880ms",
        );
        state.emit_alert(
            Service::Notifications,
            Severity::Warn,
            "memory pressure on notifications",
        );
    }
    fn is_correct_fix(&self, turn: Turn<'_>, _state: &State) -> bool {
        turn.is(ActionType::Restart, Service::Notifications)
    }
    fn tick(&self, state: &mut State) {
        let n = state.service_mut(Service::Notifications);
        n.memory_mb = (n.memory_mb + 180.0).min(MEMORY_CEILING_MB);
        if n.memory_mb > 2000.0 {
            n.health = Health::Critical;
        }
    }
    fn source(&self) -> &'static str {
        crate::BUILT_IN
    }
    fn playbook(&self) -> Playbook {
        Playbook::diagnose(&FailureId::MEMORY_LEAK)
            .with(Role::Dev, Action::restart(Service::Notifications))
    }
}

inventory::submit! { FailureRegistration(&MemoryLeak) }
