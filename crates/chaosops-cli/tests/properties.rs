//! Property tests: determinism and state invariants under random action sequences.

use chaosops_model::{Action, ActionType, Difficulty, FailureId, ScenarioSpec, Service, State};
use chaosops_sim::{Environment, Registry, RewardConfig};
use proptest::prelude::*;

fn registry() -> &'static Registry {
    chaosops_cli::registry().unwrap()
}

fn arb_action() -> impl Strategy<Value = Action> {
    let targets = prop_oneof![
        Just(None),
        Just(Some("auth".to_owned())),
        Just(Some("payments".to_owned())),
        Just(Some("notifications".to_owned())),
        Just(Some("db".to_owned())),
        Just(Some("autoscaler".to_owned())),
        Just(Some("load_balancer".to_owned())),
        Just(Some("deploy_bot".to_owned())),
        Just(Some("cache".to_owned())),
    ];
    let ids = prop_oneof![
        Just(None),
        proptest::sample::select(chaosops_failures::BUILTIN_IDS.to_vec())
            .prop_map(|s| Some(s.to_owned())),
        Just(Some("bogus".to_owned())),
    ];
    let messages = prop_oneof![
        Just(None),
        Just(Some(String::new())),
        "[a-z ]{0,12}".prop_map(Some)
    ];
    let tos = prop_oneof![
        Just(None),
        Just(Some("all".to_owned())),
        Just(Some(" Dev ".to_owned())),
        Just(Some("ceo".to_owned()))
    ];
    (
        proptest::sample::select(ActionType::ALL.to_vec()),
        targets,
        prop_oneof![Just(None), (-3i64..8).prop_map(Some)],
        ids,
        messages,
        tos,
    )
        .prop_map(
            |(action_type, target, replicas, failure_type, message, to)| {
                let mut a = Action::new(action_type);
                a.target = target;
                a.args.replicas = replicas;
                a.args.failure_type = failure_type;
                a.args.message = message;
                a.args.to = to;
                a
            },
        )
}

fn arb_spec() -> impl Strategy<Value = ScenarioSpec> {
    (
        proptest::sample::select(chaosops_failures::BUILTIN_IDS.to_vec()),
        any::<u64>(),
        proptest::sample::select(Difficulty::ALL.to_vec()),
        1u32..40,
    )
        .prop_map(|(id, seed, difficulty, max_steps)| ScenarioSpec {
            failure_type: FailureId::from_static(id),
            seed,
            difficulty,
            max_steps,
            variation: Default::default(),
        })
}

/// Plays `actions` until they run out or the episode ends; calls `each` after every step.
fn play(spec: &ScenarioSpec, actions: &[Action], mut each: impl FnMut(&State)) -> String {
    let registry = registry();
    let scenario = registry.scenario(spec).unwrap();
    let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap();
    let mut records = Vec::new();
    for a in actions {
        if env.is_done() {
            break;
        }
        let outcome = env.step(a).unwrap();
        records.push(serde_json::to_string(&outcome.record).unwrap());
        records.push(serde_json::to_string(&outcome.observation).unwrap());
        each(env.state());
    }
    format!(
        "{}\n{}",
        records.join("\n"),
        serde_json::to_string(env.state()).unwrap()
    )
}

fn check_invariants(state: &State) -> Result<(), TestCaseError> {
    for service in Service::ALL {
        let m = state.service(*service);
        prop_assert!(
            (0.0..=1.0).contains(&m.error_rate),
            "{service} error rate {}",
            m.error_rate
        );
        prop_assert!(
            (0.0..=100.0).contains(&m.cpu_pct),
            "{service} cpu {}",
            m.cpu_pct
        );
        prop_assert!(m.memory_mb >= 0.0, "{service} memory {}", m.memory_mb);
        prop_assert!(m.latency_ms >= 0.0, "{service} latency {}", m.latency_ms);
    }
    prop_assert!(state.step_count <= state.max_steps);
    prop_assert!(state.cumulative_reward.is_finite());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn same_scenario_and_actions_give_the_same_trajectory(
        spec in arb_spec(),
        actions in proptest::collection::vec(arb_action(), 0..40),
    ) {
        let first = play(&spec, &actions, |_| {});
        let second = play(&spec, &actions, |_| {});
        prop_assert_eq!(first, second);
    }

    #[test]
    fn invariants_hold_after_every_step(
        spec in arb_spec(),
        actions in proptest::collection::vec(arb_action(), 0..40),
    ) {
        let mut result = Ok(());
        play(&spec, &actions, |state| {
            if result.is_ok() {
                result = check_invariants(state);
            }
        });
        result?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any text on a replay line yields a replay or an error message, never a panic.
    #[test]
    fn replay_never_panics_on_arbitrary_lines(line in any::<String>()) {
        let _ = chaosops_eval::replay::replay_line(registry(), &Default::default(), &line);
    }

    /// Episode-shaped lines with arbitrary values still never panic.
    #[test]
    fn replay_never_panics_on_odd_values(
        failure in prop_oneof![Just("db_deadlock".to_owned()), "[a-z_]{0,12}"],
        seed in prop_oneof![Just("1".to_owned()), Just("-1".to_owned()), Just("1e400".to_owned()), Just("null".to_owned()), Just("\"7\"".to_owned())],
        max_steps in prop_oneof![Just("5".to_owned()), Just("0".to_owned()), Just("4294967296".to_owned()), Just("2.5".to_owned())],
        action in prop_oneof![
            Just(r#"{"action_type": "scale", "target": "db", "args": {"replicas": 1e308}}"#.to_owned()),
            Just(r#"{"action_type": "communicate", "args": {"message": ["x"]}}"#.to_owned()),
            Just(r#"{"action_type": "flag_rogue", "args": {"agent_name": "   "}}"#.to_owned()),
            Just(r#"{"action_type": null}"#.to_owned()),
            Just("7".to_owned()),
            "[a-z{}\\[\\]\":, ]{0,40}",
        ],
        completion in proptest::option::of(any::<String>()),
    ) {
        let mut line = format!(
            r#"{{"scenario": {{"failure_type": "{failure}", "seed": {seed}, "max_steps": {max_steps}}}, "actions": [{action}, {action}]"#
        );
        if let Some(c) = completion {
            line.push_str(&format!(", \"completion\": {}", serde_json::to_string(&c).unwrap()));
        }
        line.push('}');
        if let Ok(replay) = chaosops_eval::replay::replay_line(registry(), &Default::default(), &line) {
            prop_assert!(replay.final_state.step_count <= replay.final_state.max_steps);
        }
    }
}
