//! `scale`: set a service's replica count.

use chaosops_model::{ActionType, Health};

use super::{ActionContext, ActionHandler};

/// CPU percent of a service right after a helpful scale-out.
const SCALED_CPU_PCT: f64 = 30.0;
/// Latency of a service right after a helpful scale-out.
const SCALED_LATENCY_MS: f64 = 55.0;
/// Error rate of a service right after a helpful scale-out.
const SCALED_ERROR_RATE: f64 = 0.01;

/// Sets the replica count; heals when beneficial, else a wrong fix (never the cascade hook).
pub(crate) struct Scale;

impl ActionHandler for Scale {
    fn action_type(&self) -> ActionType {
        ActionType::Scale
    }

    fn apply(&self, cx: &mut ActionContext<'_>) {
        let replicas = cx.turn.replicas();
        let (Some(service), Ok(replicas @ 1..)) =
            (cx.turn.target_service(), u32::try_from(replicas))
        else {
            cx.wrong_fix();
            return;
        };
        let beneficial = cx.is_beneficial();
        let m = cx.state.service_mut(service);
        m.replicas = replicas;
        if beneficial {
            m.cpu_pct = SCALED_CPU_PCT;
            m.latency_ms = SCALED_LATENCY_MS;
            m.error_rate = SCALED_ERROR_RATE;
            m.health = Health::Healthy;
        } else {
            cx.wrong_fix();
        }
    }
}
