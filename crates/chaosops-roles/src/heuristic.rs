//! The rule-based baseline of docs/behaviour.md §10.

use chaosops_model::{Action, FleetAgent, Observation, Role, RoleView, Service};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::policy::Policy;

/// Chance that an SRE or developer investigates instead of acting.
pub const INVESTIGATE_PROBABILITY: f64 = 0.15;
/// Replicas below which a hot service is scaled out.
const MIN_REPLICAS: u32 = 3;
/// CPU percent above which a small service is scaled out.
const HOT_CPU_PCT: f64 = 80.0;
/// Replicas to scale a hot service to.
const SCALE_TO: i64 = 4;

/// Simple per-role rules: manager closes when chat says so, oversight flags the first
/// fleet action, SRE and developer work on the unhealthiest service.
#[derive(Clone, Debug)]
pub struct HeuristicPolicy {
    rng: ChaCha8Rng,
}

impl HeuristicPolicy {
    /// A heuristic policy whose coin flips are seeded from `seed`.
    pub fn new(seed: u64) -> Self {
        HeuristicPolicy {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn manager(view: &RoleView<'_>) -> Action {
        let done = view
            .shared_chat
            .iter()
            .any(|line| line.contains("resolved") || line.contains("healthy"));
        if done {
            Action::resolve()
        } else if view.visible_alerts.is_empty() {
            Action::noop()
        } else {
            Action::communicate("SRE: diagnose. Dev: stage a rollback. Oversight: watch the fleet.")
        }
    }

    fn oversight(view: &RoleView<'_>) -> Action {
        let suspect = view
            .visible_fleet_actions
            .iter()
            .map(|a| a.agent_name)
            .find(|a| FleetAgent::ALL.contains(a));
        match suspect {
            Some(agent) => Action::flag_rogue(agent),
            None => Action::communicate("no rogue agent activity detected"),
        }
    }

    fn responder(&mut self, view: &RoleView<'_>, role: Role) -> Action {
        let Some(worst) = unhealthiest(view) else {
            return Action::communicate("systems nominal");
        };
        if role == Role::Dev
            && view
                .visible_logs
                .iter()
                .any(|l| l.message.contains("rolled out"))
        {
            return Action::rollback(worst);
        }
        if let Some(m) = view.metrics(worst) {
            if m.replicas < MIN_REPLICAS && m.cpu_pct > HOT_CPU_PCT {
                return Action::scale(worst, SCALE_TO);
            }
        }
        if self.rng.random_bool(INVESTIGATE_PROBABILITY) {
            return Action::communicate(format!("investigating {worst}"));
        }
        Action::restart(worst)
    }
}

/// The first service with the worst health, if any service is not healthy.
pub fn unhealthiest(view: &RoleView<'_>) -> Option<Service> {
    let metrics = view.visible_metrics?;
    let mut worst: Option<(Service, u8)> = None;
    for (service, m) in metrics.iter() {
        let rank = m.health.rank();
        if rank > 0 && worst.is_none_or(|(_, r)| rank > r) {
            worst = Some((service, rank));
        }
    }
    worst.map(|(s, _)| s)
}

impl Policy for HeuristicPolicy {
    fn name(&self) -> &'static str {
        "heuristic"
    }

    fn act(&mut self, observation: &Observation<'_>, role: Role) -> Action {
        let view = &observation.view;
        match role {
            Role::Manager => Self::manager(view),
            Role::Oversight => Self::oversight(view),
            Role::Sre | Role::Dev => self.responder(view, role),
        }
    }
}
