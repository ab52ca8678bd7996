//! The custom failure is reset, played and resolved through the ordinary environment.

use chaosops_model::{Action, Difficulty, Health, Role, ScenarioSpec, Service};
use chaosops_sim::{Environment, Registry, RewardConfig};
use custom_failure::TLS_CERT_EXPIRED;

fn registry() -> &'static Registry {
    chaosops_failures::link();
    chaosops_roles::link();
    custom_failure::link();
    Registry::global().unwrap()
}

fn env(max_steps: u32) -> Environment {
    let registry = registry();
    let spec = ScenarioSpec {
        failure_type: TLS_CERT_EXPIRED,
        seed: 11,
        difficulty: Difficulty::Medium,
        max_steps,
        variation: Default::default(),
    };
    let scenario = registry.scenario(&spec).unwrap();
    Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap()
}

#[test]
fn registered_beside_the_builtins() {
    let registry = registry();
    assert_eq!(registry.ids().len(), 10);
    assert!(registry.find("tls_cert_expired").is_some());
    let medium: Vec<_> = registry
        .pool(Difficulty::Medium)
        .iter()
        .map(|f| f.id())
        .collect();
    assert_eq!(
        medium,
        [
            "cascade",
            "autoscaler_cost_cut",
            "disk_full",
            "tls_cert_expired"
        ]
    );
}

#[test]
fn the_playbook_resolves_it() {
    let mut env = env(12);
    let playbook = registry().failure("tls_cert_expired").unwrap().playbook();
    let mut total = 0.0;
    while !env.is_done() {
        let role = env.current_role();
        let action = playbook.action(role).cloned().unwrap_or_else(Action::noop);
        let record = env.step(&action).unwrap().record;
        total += record.reward;
        if role == Role::Sre {
            assert!(record.flags.root_cause_correct);
        }
    }
    let state = env.state();
    assert!(state.resolved);
    assert_eq!(state.step_count, 3);
    assert_eq!(state.service(Service::Auth).health, Health::Healthy);
    // sre: -2 + 30, oversight: -4, dev: 100 + 10.
    assert_eq!(total, 134.0);
}

#[test]
fn it_gets_worse_while_unattended_and_a_wrong_fix_costs() {
    let mut env = env(4);
    let before = env.state().service(Service::Auth).error_rate;
    env.step(&Action::noop()).unwrap();
    let after = env.state().service(Service::Auth).error_rate;
    assert!(after > before);
    let record = env.step(&Action::restart(Service::Auth)).unwrap().record;
    assert!(record.flags.wrong_fix);
    assert!(!env.state().resolved);
}
