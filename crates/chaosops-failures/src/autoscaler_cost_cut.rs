//! `autoscaler_cost_cut`: the autoscaler (rogue) shrinks payments to one replica to save cost.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, FleetAgent, Health, LogLevel, Role, Service,
    Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// Replicas payments needs to carry its load again.
const MIN_HEALTHY_REPLICAS: i64 = 3;

/// The autoscaler starves payments; `scale payments` to 3 or more fixes it.
pub(crate) struct AutoscalerCostCut;

impl FailureInjector for AutoscalerCostCut {
    fn id(&self) -> &'static str {
        "autoscaler_cost_cut"
    }
    fn description(&self) -> &'static str {
        "the autoscaler (rogue) shrinks payments to one replica to cut cost"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[
            TierSlot {
                difficulty: Difficulty::Medium,
                position: 1,
            },
            TierSlot {
                difficulty: Difficulty::Hard,
                position: 2,
            },
        ]
    }
    fn rogue_agent(&self) -> Option<FleetAgent> {
        Some(FleetAgent::Autoscaler)
    }
    fn inject(&self, state: &mut State) {
        let p = state.service_mut(Service::Payments);
        p.replicas = 1;
        p.cpu_pct = 94.0;
        p.latency_ms = 780.0;
        p.error_rate = 0.22;
        p.health = Health::Critical;
        state.record_fleet_action(
            FleetAgent::Autoscaler,
            "scale_down",
            Service::Payments,
            true,
        );
        state.emit_log(
            Service::Payments,
            LogLevel::Warn,
            "replica pool shrank 4 -> 1 by autoscaler (cost budget policy)",
        );
        state.emit_alert(
            Service::Payments,
            Severity::Page,
            "payments CPU 94%, latency > 700ms",
        );
    }
    fn is_correct_fix(&self, turn: Turn<'_>, _state: &State) -> bool {
        turn.is(ActionType::Scale, Service::Payments) && turn.replicas() >= MIN_HEALTHY_REPLICAS
    }
    fn source(&self) -> &'static str {
        crate::BUILT_IN
    }
    fn family(&self) -> &'static str {
        "autoscaling"
    }
    fn phrasings(&self) -> &'static [(&'static str, &'static [&'static str])] {
        crate::variation::phrasings(self.id())
    }
    fn playbook(&self) -> Playbook {
        Playbook::diagnose(&FailureId::AUTOSCALER_COST_CUT)
            .with(Role::Oversight, Action::flag_rogue(FleetAgent::Autoscaler))
            .with(Role::Dev, Action::scale(Service::Payments, 4))
    }
}

inventory::submit! { FailureRegistration(&AutoscalerCostCut) }
