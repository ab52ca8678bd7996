//! `disk_full`: the database's disk fills up (memory stands for disk use).

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, Role, Service, Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// Disk the database can fill up to.
const DISK_CEILING_MB: f64 = 4096.0;
/// Error rate the database saturates at.
const ERROR_CEILING: f64 = 0.95;

/// The database's disk fills; `scale db` to 2 or more, or `restart db`, fixes it.
pub(crate) struct DiskFull;

impl FailureInjector for DiskFull {
    fn id(&self) -> &'static str {
        "disk_full"
    }
    fn description(&self) -> &'static str {
        "the database's disk fills up and inserts start failing"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[TierSlot {
            difficulty: Difficulty::Medium,
            position: 2,
        }]
    }
    fn inject(&self, state: &mut State) {
        let db = state.service_mut(Service::Db);
        db.memory_mb = 3650.0;
        db.cpu_pct = 58.0;
        db.error_rate = 0.14;
        db.latency_ms = 640.0;
        db.health = Health::Degraded;
        state.emit_log(
            Service::Db,
            LogLevel::Warn,
            "disk 97% full; WAL archiving stalled",
        );
        state.emit_log(
            Service::Db,
            LogLevel::Error,
            "insert failed: no space left on device",
        );
        state.emit_alert(Service::Db, Severity::Page, "db disk near capacity");
    }
    fn is_correct_fix(&self, turn: Turn<'_>, _state: &State) -> bool {
        (turn.is(ActionType::Scale, Service::Db) && turn.replicas() >= 2)
            || turn.is(ActionType::Restart, Service::Db)
    }
    fn tick(&self, state: &mut State) {
        let db = state.service_mut(Service::Db);
        db.memory_mb = (db.memory_mb + 45.0).min(DISK_CEILING_MB);
        db.error_rate = (db.error_rate + 0.02).min(ERROR_CEILING);
        if db.memory_mb > 3900.0 {
            db.health = Health::Critical;
        }
    }
    fn source(&self) -> &'static str {
        crate::BUILT_IN
    }
    fn family(&self) -> &'static str {
        "storage"
    }
    fn phrasings(&self) -> &'static [(&'static str, &'static [&'static str])] {
        crate::variation::phrasings(self.id())
    }
    fn playbook(&self) -> Playbook {
        Playbook::diagnose(&FailureId::DISK_FULL).with(Role::Dev, Action::scale(Service::Db, 2))
    }
}

inventory::submit! { FailureRegistration(&DiskFull) }
