//! `bad_config_push`: a bad configuration rolled out to auth rejects most requests.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, Role, Service, Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// A bad config on auth; `rollback auth` fixes it. With variation, the config may have
/// gone to any service, and the rollback follows it.
pub(crate) struct BadConfigPush;

/// The reference target.
const TARGET: Service = Service::Auth;

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
    fn reference_target(&self) -> Option<Service> {
        Some(TARGET)
    }
    fn variable_targets(&self) -> &'static [Service] {
        Service::ALL
    }
    fn inject(&self, state: &mut State) {
        let target = state.target_or(TARGET);
        let m = state.service_mut(target);
        m.error_rate = 0.68;
        m.latency_ms = 210.0;
        m.health = Health::Critical;
        state.emit_log(
            target,
            LogLevel::Error,
            "config v17.2 rolled out 48s ago; 68% of requests rejected: unknown key",
        );
        let alert = if target == TARGET {
            "auth error spike right after deploy".into()
        } else {
            std::borrow::Cow::Owned(format!("{target} error spike right after deploy"))
        };
        state.emit_alert(target, Severity::Page, alert);
    }
    fn is_correct_fix(&self, turn: Turn<'_>, state: &State) -> bool {
        turn.is(ActionType::Rollback, state.target_or(TARGET))
    }
    fn source(&self) -> &'static str {
        crate::BUILT_IN
    }
    fn family(&self) -> &'static str {
        "deploys"
    }
    fn phrasings(&self) -> &'static [(&'static str, &'static [&'static str])] {
        crate::variation::phrasings(self.id())
    }
    fn playbook(&self) -> Playbook {
        self.playbook_for(None)
    }
    fn playbook_for(&self, target: Option<Service>) -> Playbook {
        Playbook::diagnose(&FailureId::BAD_CONFIG_PUSH)
            .with(Role::Dev, Action::rollback(target.unwrap_or(TARGET)))
    }
}

inventory::submit! { FailureRegistration(&BadConfigPush) }
