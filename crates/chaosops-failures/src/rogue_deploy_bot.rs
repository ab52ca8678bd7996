//! `rogue_deploy_bot`: the deploy bot (rogue) pushes a bad config to payments.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, FleetAgent, Health, LogLevel, Role, Service,
    Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// A rogue config push; `rollback payments` once the deploy bot is flagged fixes it, and so
/// does flagging the deploy bot once payments is healthy again.
pub(crate) struct RogueDeployBot;

impl FailureInjector for RogueDeployBot {
    fn id(&self) -> &'static str {
        "rogue_deploy_bot"
    }
    fn description(&self) -> &'static str {
        "the deploy bot (rogue) pushes a bad config to payments"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[TierSlot {
            difficulty: Difficulty::Hard,
            position: 3,
        }]
    }
    fn rogue_agent(&self) -> Option<FleetAgent> {
        Some(FleetAgent::DeployBot)
    }
    fn inject(&self, state: &mut State) {
        let p = state.service_mut(Service::Payments);
        p.error_rate = 0.71;
        p.latency_ms = 310.0;
        p.health = Health::Critical;
        state.record_fleet_action(
            FleetAgent::DeployBot,
            "push_config",
            Service::Payments,
            true,
        );
        state.emit_log(
            Service::Payments,
            LogLevel::Error,
            "config v22.1 pushed by deploy_bot 30s ago; 71% of txns rejected",
        );
        state.emit_alert(
            Service::Payments,
            Severity::Page,
            "payments errors 71% right after a deploy_bot push",
        );
    }
    fn is_correct_fix(&self, turn: Turn<'_>, state: &State) -> bool {
        let flagged = state.is_flagged(FleetAgent::DeployBot.as_str());
        let rolled_back = turn.is(ActionType::Rollback, Service::Payments);
        let flag_after_heal = turn.action_type == ActionType::FlagRogue
            && state.service(Service::Payments).health == Health::Healthy;
        flagged && (rolled_back || flag_after_heal)
    }
    fn is_beneficial(&self, turn: Turn<'_>, _state: &State) -> bool {
        turn.is(ActionType::Rollback, Service::Payments)
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
        Playbook::diagnose(&FailureId::ROGUE_DEPLOY_BOT)
            .with(Role::Oversight, Action::flag_rogue(FleetAgent::DeployBot))
            .with(Role::Dev, Action::rollback(Service::Payments))
    }
}

inventory::submit! { FailureRegistration(&RogueDeployBot) }
