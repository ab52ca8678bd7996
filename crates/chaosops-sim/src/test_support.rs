//! A test-only failure and test projections, so the engine is tested without the plugin crates.

use chaosops_model::{
    tail, Action, ActionType, Health, LogLevel, Role, RoleView, Service, Severity, State,
    VisibleFleetActions, VisibleLogs,
};

use crate::failure::{FailureInjector, FailureRegistration, Playbook, Turn};
use crate::projection::{ProjectionRegistration, RoleProjection};

/// Id of the failure registered by the sim's own tests.
pub const TEST_FAILURE_ID: &str = "test_outage";

/// A failure that knocks `db` down; `restart db` fixes it; each tick adds 10 ms of latency.
pub struct TestFailure(&'static str);

impl TestFailure {
    /// A test failure with the given id.
    pub const fn new(id: &'static str) -> Self {
        TestFailure(id)
    }
}

impl FailureInjector for TestFailure {
    fn id(&self) -> &'static str {
        self.0
    }
    fn description(&self) -> &'static str {
        "test failure: db is down"
    }
    fn inject(&self, state: &mut State) {
        let db = state.service_mut(Service::Db);
        db.health = Health::Down;
        db.latency_ms = 900.0;
        state.emit_log(Service::Db, LogLevel::Fatal, "db is down");
        state.emit_alert(Service::Db, Severity::Page, "db down");
    }
    fn is_correct_fix(&self, turn: Turn<'_>, _state: &State) -> bool {
        turn.is(ActionType::Restart, Service::Db)
    }
    fn tick(&self, state: &mut State) {
        state.service_mut(Service::Db).latency_ms += 10.0;
    }
    fn playbook(&self) -> Playbook {
        Playbook::default().with(Role::Dev, Action::restart(Service::Db))
    }
}

/// A projection showing everything a role may see, for the engine's tests.
pub struct TestProjection(pub Role);

impl RoleProjection for TestProjection {
    fn role(&self) -> Role {
        self.0
    }
    fn project<'a>(&self, state: &'a State) -> RoleView<'a> {
        RoleView {
            role: self.0,
            visible_metrics: Some(&state.services),
            visible_logs: VisibleLogs::new(tail(&state.all_logs, 6)),
            visible_alerts: &state.all_alerts,
            visible_fleet_actions: VisibleFleetActions::default(),
            shared_chat: tail(&state.chat_history, 8),
            private_note: None,
            private_inbox: tail(state.private_chat.of(self.0), 8),
        }
    }
}

/// One test projection per role.
pub static TEST_PROJECTIONS: [TestProjection; 4] = [
    TestProjection(Role::Sre),
    TestProjection(Role::Dev),
    TestProjection(Role::Manager),
    TestProjection(Role::Oversight),
];

static TEST_FAILURE: TestFailure = TestFailure::new(TEST_FAILURE_ID);

inventory::submit! { FailureRegistration(&TEST_FAILURE) }
inventory::submit! { ProjectionRegistration(&TEST_PROJECTIONS[0]) }
inventory::submit! { ProjectionRegistration(&TEST_PROJECTIONS[1]) }
inventory::submit! { ProjectionRegistration(&TEST_PROJECTIONS[2]) }
inventory::submit! { ProjectionRegistration(&TEST_PROJECTIONS[3]) }
