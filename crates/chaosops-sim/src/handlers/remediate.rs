//! `restart` and `rollback`: remediations that heal when beneficial and are wrong fixes otherwise.

use chaosops_model::{ActionType, Health, Service};

use super::{ActionContext, ActionHandler};

/// Latency of a dependent service right after the database recovers.
const RECOVERED_LATENCY_MS: f64 = 55.0;
/// Error rate of a recovered service.
const RECOVERED_ERROR_RATE: f64 = 0.01;

/// The service a restart or rollback heals, or `None` after counting the wrong fix (with the
/// failure's wrong-fix hook when the target is a service).
fn healed_service(cx: &mut ActionContext<'_>) -> Option<Service> {
    let Some(service) = cx.turn.target_service() else {
        cx.wrong_fix();
        return None;
    };
    if !cx.is_beneficial() {
        cx.wrong_fix_with_hook();
        return None;
    }
    Some(service)
}

/// Restarts a service: back to baseline (replicas kept); the database also unblocks its clients.
pub(crate) struct Restart;

impl ActionHandler for Restart {
    fn action_type(&self) -> ActionType {
        ActionType::Restart
    }

    fn apply(&self, cx: &mut ActionContext<'_>) {
        let Some(service) = healed_service(cx) else {
            return;
        };
        cx.state.service_mut(service).restore_baseline();
        if service == Service::Db {
            for client in [Service::Payments, Service::Auth] {
                let m = cx.state.service_mut(client);
                m.latency_ms = RECOVERED_LATENCY_MS;
                m.error_rate = RECOVERED_ERROR_RATE;
                m.health = Health::Healthy;
            }
        }
    }
}

/// Rolls a service back: healthy, baseline latency and error rate.
pub(crate) struct Rollback;

impl ActionHandler for Rollback {
    fn action_type(&self) -> ActionType {
        ActionType::Rollback
    }

    fn apply(&self, cx: &mut ActionContext<'_>) {
        let Some(service) = healed_service(cx) else {
            return;
        };
        let m = cx.state.service_mut(service);
        m.health = Health::Healthy;
        m.error_rate = RECOVERED_ERROR_RATE;
        m.latency_ms = chaosops_model::ServiceMetrics::BASELINE_LATENCY_MS;
    }
}
