//! `db_deadlock`: database transactions deadlock; payments and auth time out behind it.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, Role, Service, Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// The database deadlocks; `restart db` fixes it.
pub(crate) struct DbDeadlock;

/// Degrades db, payments and auth and emits the deadlock's logs and alert (shared with `cascade`).
pub(crate) fn inject_deadlock(state: &mut State) {
    let db = state.service_mut(Service::Db);
    db.latency_ms = 1800.0;
    db.error_rate = 0.45;
    db.health = Health::Critical;
    for client in [Service::Payments, Service::Auth] {
        let m = state.service_mut(client);
        m.latency_ms = 950.0;
        m.error_rate = 0.32;
        m.health = Health::Degraded;
    }
    state.emit_log(
        Service::Db,
        LogLevel::Error,
        "deadlock detected on txn_id=0x8f4a",
    );
    state.emit_log(
        Service::Payments,
        LogLevel::Error,
        "upstream DB timeout after 2000ms",
    );
}

/// The page that fires for a deadlocked database (shared with `cascade`).
pub(crate) fn deadlock_alert(state: &mut State) {
    state.emit_alert(
        Service::Payments,
        Severity::Page,
        "payment error rate > 30%",
    );
}

impl FailureInjector for DbDeadlock {
    fn id(&self) -> &'static str {
        "db_deadlock"
    }
    fn description(&self) -> &'static str {
        "database transactions deadlock; payments and auth time out behind them"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[TierSlot {
            difficulty: Difficulty::Easy,
            position: 0,
        }]
    }
    fn inject(&self, state: &mut State) {
        inject_deadlock(state);
        deadlock_alert(state);
    }
    fn is_correct_fix(&self, turn: Turn<'_>, _state: &State) -> bool {
        turn.is(ActionType::Restart, Service::Db)
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
        Playbook::diagnose(&FailureId::DB_DEADLOCK).with(Role::Dev, Action::restart(Service::Db))
    }
}

inventory::submit! { FailureRegistration(&DbDeadlock) }
