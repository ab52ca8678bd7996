//! Partial observability: no view of any role in any scenario leaks ground truth.

use chaosops_model::{Action, Difficulty, FailureId, FleetAgent, Role, ScenarioSpec, Service};
use chaosops_sim::{Environment, Registry, RewardConfig};
use serde_json::Value;

fn registry() -> &'static Registry {
    chaosops_failures::link();
    crate::link();
    Registry::global().unwrap()
}

/// Walks a JSON value and collects every object key.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// A message only `role`'s inbox should ever show.
fn secret(role: Role) -> String {
    format!("secret-for-{role}")
}

/// Plays a scripted mix of messages, flags and fixes and checks every role's view after each step.
#[test]
fn no_view_leaks_ground_truth_or_other_inboxes() {
    let registry = registry();
    let mut checked = 0;
    for failure in registry.failures() {
        for difficulty in Difficulty::ALL {
            for seed in 0..3 {
                let spec = ScenarioSpec {
                    failure_type: FailureId::from_static(failure.id()),
                    seed,
                    difficulty: *difficulty,
                    max_steps: 16,
                };
                let scenario = registry.scenario(&spec).unwrap();
                let mut env =
                    Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap();
                let mut script: Vec<Action> = Role::ALL
                    .iter()
                    .map(|r| Action::communicate_to(*r, secret(*r)))
                    .collect();
                script.push(Action::flag_rogue(FleetAgent::Autoscaler));
                script.push(Action::identify_root_cause(&FailureId::from_static(
                    failure.id(),
                )));
                script.push(Action::restart(Service::Auth));
                script.push(Action::communicate("all hands"));
                script.push(Action::rollback(Service::Payments));
                let mut script = script.into_iter();
                loop {
                    for role in Role::ALL {
                        let view = env.simulator().project_view(*role);
                        assert_eq!(view.role, *role);
                        check_view(
                            *role,
                            &view.to_json(),
                            failure.id(),
                            env.state().fleet_actions.len(),
                        );
                        checked += 1;
                    }
                    let Some(action) = script.next() else { break };
                    if env.step(&action).unwrap().record.done {
                        break;
                    }
                }
            }
        }
    }
    assert!(checked > 9 * 3 * 3 * 4);
}

fn check_view(role: Role, json: &Value, failure_id: &str, fleet_actions: usize) {
    let mut all = Vec::new();
    keys(json, &mut all);
    for forbidden in [
        "is_red_herring",
        "was_malicious",
        "failure_type",
        "rogue_fleet_agent",
        "declared_root_cause",
        "oversight_flags",
        "private_chat",
    ] {
        assert!(
            !all.iter().any(|k| k == forbidden),
            "{role} view exposes {forbidden}: {json}"
        );
    }
    let text = json.to_string();
    assert!(
        !text.contains(&format!("\"{failure_id}\"")),
        "{role} view names the failure: {text}"
    );
    for other in Role::ALL.iter().filter(|r| **r != role) {
        assert!(
            !text.contains(&secret(*other)),
            "{role} sees {other}'s inbox: {text}"
        );
    }
    let logs = json["visible_logs"].as_array().unwrap().len();
    let fleet = json["visible_fleet_actions"].as_array().unwrap().len();
    let metrics = json["visible_metrics"].as_object().unwrap().len();
    match role {
        Role::Sre => assert!(logs <= 6 && fleet == 0 && metrics == 4),
        Role::Dev => assert!(logs <= 3 && fleet == 0 && metrics == 4),
        Role::Manager => assert!(logs == 0 && fleet == 0 && metrics == 0),
        Role::Oversight => {
            assert!(logs <= 6 && fleet == fleet_actions && metrics == 4);
            let note = &json["private_note"];
            assert_eq!(note.is_null(), fleet_actions == 0, "{note}");
        }
    }
    assert!(json["shared_chat"].as_array().unwrap().len() <= 8);
    assert!(json["private_inbox"].as_array().unwrap().len() <= 8);
}

#[test]
fn views_keep_only_the_newest_messages() {
    let registry = registry();
    let spec = ScenarioSpec {
        failure_type: FailureId::MEMORY_LEAK,
        seed: 1,
        difficulty: Difficulty::Hard,
        max_steps: 30,
    };
    let scenario = registry.scenario(&spec).unwrap();
    let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap();
    for i in 0..10 {
        env.step(&Action::communicate(format!("line {i}"))).unwrap();
    }
    let view = env.simulator().project_view(Role::Manager);
    assert_eq!(view.shared_chat.len(), 8);
    assert!(view.shared_chat[7].ends_with("line 9"));
    let dev = env.simulator().project_view(Role::Dev);
    let sre = env.simulator().project_view(Role::Sre);
    let newest: Vec<_> = sre
        .visible_logs
        .iter()
        .skip(sre.visible_logs.len().saturating_sub(3))
        .collect();
    assert_eq!(newest.len(), 3);
    assert_eq!(dev.visible_logs.iter().collect::<Vec<_>>(), newest);
}
