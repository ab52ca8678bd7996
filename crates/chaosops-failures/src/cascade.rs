//! `cascade`: a database deadlock that spreads to notifications when someone applies a wrong fix.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, OutcomeFlags, Role, Service, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

use crate::db_deadlock::{deadlock_alert, inject_deadlock};

/// Memory a service can grow to.
const MEMORY_CEILING_MB: f64 = 4096.0;

/// A deadlock that cascades; `restart db` or `resolve` fixes it once db and notifications are healthy.
pub(crate) struct Cascade;

fn both_healthy(state: &State) -> bool {
    state.service(Service::Db).health == Health::Healthy
        && state.service(Service::Notifications).health == Health::Healthy
}

impl FailureInjector for Cascade {
    fn id(&self) -> &'static str {
        "cascade"
    }
    fn description(&self) -> &'static str {
        "a database deadlock that spreads to notifications after a wrong fix"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[
            TierSlot {
                difficulty: Difficulty::Medium,
                position: 0,
            },
            TierSlot {
                difficulty: Difficulty::Hard,
                position: 1,
            },
        ]
    }
    fn inject(&self, state: &mut State) {
        inject_deadlock(state);
        state.emit_log(
            Service::Db,
            LogLevel::Warn,
            "connection pool near saturation (97/100)",
        );
        deadlock_alert(state);
    }
    fn is_correct_fix(&self, turn: Turn<'_>, state: &State) -> bool {
        let fixing =
            turn.is(ActionType::Restart, Service::Db) || turn.action_type == ActionType::Resolve;
        fixing && both_healthy(state)
    }
    fn is_beneficial(&self, turn: Turn<'_>, state: &State) -> bool {
        turn.is(ActionType::Restart, Service::Db)
            || (turn.is(ActionType::Restart, Service::Notifications)
                && state.service(Service::Notifications).health != Health::Healthy)
    }
    fn tick(&self, state: &mut State) {
        let n = state.service_mut(Service::Notifications);
        if n.health != Health::Healthy {
            n.memory_mb = (n.memory_mb + 120.0).min(MEMORY_CEILING_MB);
        }
    }
    fn on_wrong_fix(&self, turn: Turn<'_>, state: &mut State, flags: &mut OutcomeFlags) {
        let remediation = matches!(turn.action_type, ActionType::Restart | ActionType::Rollback);
        if !remediation || turn.target_service().is_none() {
            return;
        }
        let n = state.service_mut(Service::Notifications);
        if n.health == Health::Healthy {
            n.health = Health::Degraded;
            n.memory_mb = 900.0;
            flags.cascade_triggered = true;
            state.emit_log(
                Service::Notifications,
                LogLevel::Warn,
                "secondary failure: heap growing after a failed remediation",
            );
        }
    }
    fn source(&self) -> &'static str {
        crate::BUILT_IN
    }
    fn family(&self) -> &'static str {
        "database"
    }
    fn phrasings(&self) -> &'static [(&'static str, &'static [&'static str])] {
        crate::variation::phrasings(self.id())
    }
    fn playbook(&self) -> Playbook {
        Playbook::diagnose(&FailureId::CASCADE)
            .with(Role::Dev, Action::restart(Service::Db))
            .with(Role::Manager, Action::resolve())
    }
}

inventory::submit! { FailureRegistration(&Cascade) }
