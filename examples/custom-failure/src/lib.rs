//! A tenth failure type, written the way a downstream crate would: only the
//! public API of `chaosops-model` and `chaosops-sim`, no change to the core.
//!
//! `tls_cert_expired`: the certificate of `auth` expires; clients fail their
//! handshakes, more of them each step as cached sessions run out. Rolling auth
//! back (to the release that still carried the renewed certificate) fixes it.
//!
//! ```
//! custom_failure::link();
//! assert_eq!(custom_failure::TLS_CERT_EXPIRED.as_str(), "tls_cert_expired");
//! ```
#![deny(missing_docs)]

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, Health, LogLevel, Role, Service, Severity, State,
};
use chaosops_sim::{inventory, FailureInjector, FailureRegistration, Playbook, TierSlot, Turn};

/// The id of the new failure type.
pub const TLS_CERT_EXPIRED: FailureId = FailureId::from_static("tls_cert_expired");

/// How much the auth error rate grows per step while the certificate stays expired.
const ERROR_GROWTH_PER_STEP: f64 = 0.03;

/// An expired TLS certificate on auth.
pub struct TlsCertExpired;

impl FailureInjector for TlsCertExpired {
    fn id(&self) -> &'static str {
        "tls_cert_expired"
    }
    fn description(&self) -> &'static str {
        "the TLS certificate of auth expires and client handshakes start failing"
    }
    fn tiers(&self) -> &'static [TierSlot] {
        &[TierSlot {
            difficulty: Difficulty::Medium,
            position: 3,
        }]
    }
    fn inject(&self, state: &mut State) {
        let auth = state.service_mut(Service::Auth);
        auth.error_rate = 0.52;
        auth.latency_ms = 120.0;
        auth.health = Health::Critical;
        state.emit_log(
            Service::Auth,
            LogLevel::Error,
            "TLS handshake failed: x509 certificate has expired (notAfter 00:00 UTC)",
        );
        state.emit_alert(
            Service::Auth,
            Severity::Page,
            "auth handshake failures above 50%",
        );
    }
    fn is_correct_fix(&self, turn: Turn<'_>, _state: &State) -> bool {
        turn.is(ActionType::Rollback, Service::Auth)
    }
    fn tick(&self, state: &mut State) {
        let auth = state.service_mut(Service::Auth);
        auth.error_rate = (auth.error_rate + ERROR_GROWTH_PER_STEP).min(1.0);
    }
    fn playbook(&self) -> Playbook {
        Playbook::diagnose(&TLS_CERT_EXPIRED).with(Role::Dev, Action::rollback(Service::Auth))
    }
}

inventory::submit! { FailureRegistration(&TlsCertExpired) }

/// Keeps this crate's registration in the final binary; call it once at start-up.
#[inline(never)]
pub fn link() {
    std::hint::black_box(&TlsCertExpired);
}
