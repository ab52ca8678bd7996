//! `dns_outage`: name resolution fails for auth and payments.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, Role, Service, Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// Lookups fail; `restart auth` fixes it.
pub(crate) struct DnsOutage;

impl FailureInjector for DnsOutage {
    fn id(&self) -> &'static str {
        "dns_outage"
    }
    fn description(&self) -> &'static str {
        "name resolution fails for auth and payments"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[TierSlot {
            difficulty: Difficulty::Easy,
            position: 3,
        }]
    }
    fn inject(&self, state: &mut State) {
        let auth = state.service_mut(Service::Auth);
        auth.latency_ms = 1450.0;
        auth.error_rate = 0.28;
        auth.health = Health::Degraded;
        let p = state.service_mut(Service::Payments);
        p.latency_ms = 1100.0;
        p.error_rate = 0.19;
        p.health = Health::Degraded;
        state.emit_log(
            Service::Auth,
            LogLevel::Error,
            "upstream lookup failed: NXDOMAIN",
        );
        state.emit_log(
            Service::Payments,
            LogLevel::Warn,
            "fallback resolver SERVFAIL; retry storm",
        );
        state.emit_alert(
            Service::Auth,
            Severity::Page,
            "auth latency > 1.4s, DNS lookups failing",
        );
    }
    fn is_correct_fix(&self, turn: Turn<'_>, _state: &State) -> bool {
        turn.is(ActionType::Restart, Service::Auth)
    }
    fn source(&self) -> &'static str {
        crate::BUILT_IN
    }
    fn family(&self) -> &'static str {
        "dns"
    }
    fn phrasings(&self) -> &'static [(&'static str, &'static [&'static str])] {
        crate::variation::phrasings(self.id())
    }
    fn playbook(&self) -> Playbook {
        Playbook::diagnose(&FailureId::DNS_OUTAGE).with(Role::Dev, Action::restart(Service::Auth))
    }
}

inventory::submit! { FailureRegistration(&DnsOutage) }
