//! `memory_leak`: notifications leaks memory until it goes critical.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, Role, Service, Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// Memory a service can grow to.
const MEMORY_CEILING_MB: f64 = 4096.0;

/// Notifications leaks memory; `restart notifications` fixes it. With variation, any
/// service may be the one leaking, and the fix follows it.
pub(crate) struct MemoryLeak;

/// The reference target.
const TARGET: Service = Service::Notifications;

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
    fn reference_target(&self) -> Option<Service> {
        Some(TARGET)
    }
    fn variable_targets(&self) -> &'static [Service] {
        Service::ALL
    }
    fn inject(&self, state: &mut State) {
        let target = state.target_or(TARGET);
        let n = state.service_mut(target);
        n.memory_mb = 1200.0;
        n.cpu_pct = 71.0;
        n.health = Health::Degraded;
        state.emit_log(target, LogLevel::Warn, "heap at 1200MB, gc pause 880ms");
        let alert = if target == TARGET {
            "memory pressure on notifications".into()
        } else {
            std::borrow::Cow::Owned(format!("memory pressure on {target}"))
        };
        state.emit_alert(target, Severity::Warn, alert);
    }
    fn is_correct_fix(&self, turn: Turn<'_>, state: &State) -> bool {
        turn.is(ActionType::Restart, state.target_or(TARGET))
    }
    fn tick(&self, state: &mut State) {
        let n = state.service_mut(state.target_or(TARGET));
        n.memory_mb = (n.memory_mb + 180.0).min(MEMORY_CEILING_MB);
        if n.memory_mb > 2000.0 {
            n.health = Health::Critical;
        }
    }
    fn source(&self) -> &'static str {
        crate::BUILT_IN
    }
    fn family(&self) -> &'static str {
        "memory"
    }
    fn phrasings(&self) -> &'static [(&'static str, &'static [&'static str])] {
        crate::variation::phrasings(self.id())
    }
    fn playbook(&self) -> Playbook {
        self.playbook_for(None)
    }
    fn playbook_for(&self, target: Option<Service>) -> Playbook {
        Playbook::diagnose(&FailureId::MEMORY_LEAK)
            .with(Role::Dev, Action::restart(target.unwrap_or(TARGET)))
    }
}

inventory::submit! { FailureRegistration(&MemoryLeak) }
