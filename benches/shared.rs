//! Helpers shared by the criterion benchmarks: the registry, scenarios and sample actions.

use chaosops_model::{
    Action, ActionType, Difficulty, FailureId, FleetAgent, Role, Scenario, ScenarioSpec, Service,
};
use chaosops_sim::{Environment, Registry, RewardConfig};

/// The global registry with the built-in plugins linked.
pub fn registry() -> &'static Registry {
    chaosops_cli::registry().expect("registry")
}

/// A scenario of `failure` at `difficulty` with the bench step budget (25).
pub fn scenario(failure: &'static str, difficulty: Difficulty) -> Scenario {
    let spec = ScenarioSpec {
        failure_type: FailureId::from_static(failure),
        seed: 7,
        difficulty,
        max_steps: 25,
        variation: Default::default(),
    };
    registry().scenario(&spec).expect("scenario")
}

/// Hard `autoscaler_cost_cut` with a 1000-step budget, for steady-state step benchmarks.
pub fn long_scenario() -> Scenario {
    let spec = ScenarioSpec {
        failure_type: FailureId::AUTOSCALER_COST_CUT,
        seed: 7,
        difficulty: Difficulty::Hard,
        max_steps: chaosops_model::limits::MAX_STEPS,
        variation: Default::default(),
    };
    registry().scenario(&spec).expect("scenario")
}

/// A fresh hard `autoscaler_cost_cut` environment: decoys, a fleet action, a rogue.
pub fn hard_env() -> Environment {
    Environment::new(
        registry(),
        &scenario("autoscaler_cost_cut", Difficulty::Hard),
        RewardConfig::default(),
        None,
    )
    .expect("environment")
}

/// A representative action of each type and the role that would normally take it; none
/// of them resolves `autoscaler_cost_cut`.
pub fn sample_actions() -> Vec<(ActionType, Role, Action)> {
    ActionType::ALL
        .iter()
        .map(|t| {
            let (role, action) = match t {
                ActionType::Noop => (Role::Sre, Action::noop()),
                ActionType::Communicate => {
                    (Role::Manager, Action::communicate("checking payments"))
                }
                ActionType::Restart => (Role::Dev, Action::restart(Service::Auth)),
                ActionType::Rollback => (Role::Dev, Action::rollback(Service::Auth)),
                ActionType::Scale => (Role::Dev, Action::scale(Service::Auth, 4)),
                ActionType::FlagRogue => {
                    (Role::Oversight, Action::flag_rogue(FleetAgent::Autoscaler))
                }
                ActionType::IdentifyRootCause => (
                    Role::Sre,
                    Action::identify_root_cause(&FailureId::AUTOSCALER_COST_CUT),
                ),
                ActionType::Escalate => (Role::Manager, Action::escalate()),
                ActionType::Resolve => (Role::Manager, Action::resolve()),
            };
            (*t, role, action)
        })
        .collect()
}
