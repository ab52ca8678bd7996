//! `bad_config_push`: a bad configuration rolled out to auth rejects most requests.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, Role, Service, Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// A bad config on auth; `rollback auth` fixes it.
pub(crate) struct BadConfigPush;

impl FailureInjector for BadConfigPush {
    fn id(&self) -> &'static str {
        "bad_config_push"
    }
    fn description(&self) -> &'static str {
        "a bad configuration rolled out to auth rejects most requests"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[TierSlot {
            difficulty: Difficulty::Easy,
            position: 2,
        }]
    }
    fn inject(&self, state: &mut State) {
        let auth = state.service_mut(Service::Auth);
        auth.error_rate = 0.68;
        auth.latency_ms = 210.0;
        auth.health = Health::Critical;
        state.emit_log(
            Service::Auth,
            LogLevel::Error,
            "config v17.2 rolled out 48s ago; 68% of requests rejected: unknown key",
        );
        state.emit_alert(
            Service::Auth,
            Severity::Page,
            "auth error spike right after deploy",
        );
    }
    fn is_correct_fix(&self, turn: Turn<'_>, _state: &State) -> bool {
        turn.is(ActionType::Rollback, Service::Auth)
    }
    fn source(&self) -> &'static str {
        crate::BUILT_IN
    }
    fn playbook(&self) -> Playbook {
        Playbook::diagnose(&FailureId::BAD_CONFIG_PUSH)
            .with(Role::Dev, Action::rollback(Service::Auth))
    }
}

inventory::submit! { FailureRegistration(&BadConfigPush) }
