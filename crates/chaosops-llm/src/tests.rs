//! Prompts over real scenarios, and the parser under arbitrary input.

use chaosops_model::{Difficulty, FailureId, Observation, Role, ScenarioSpec};
use chaosops_sim::{Environment, RewardConfig};
use proptest::prelude::*;

use crate::{
    estimate_tokens, parse_action, render_observation, render_view, system_prompt, StreamParser,
    PROMPT_VIEW_TOKEN_BUDGET,
};

use crate::test_registry as registry;

fn env(failure: &'static str, difficulty: Difficulty) -> Environment {
    let spec = ScenarioSpec {
        failure_type: FailureId::from_static(failure),
        seed: 3,
        difficulty,
        max_steps: 20,
        variation: Default::default(),
    };
    let scenario = registry().scenario(&spec).unwrap();
    Environment::new(registry(), &scenario, RewardConfig::default(), None).unwrap()
}

fn observation_for(env: &Environment, role: Role) -> Observation<'_> {
    Observation {
        view: env.simulator().project_view(role),
        turn_role: role,
        ..env.observation()
    }
}

#[test]
fn prompts_are_small_and_show_only_the_view() {
    let ids: Vec<&str> = registry().ids().collect();
    let mut sizes = Vec::new();
    for failure in chaosops_failures::BUILTIN_IDS {
        let e = env(failure, Difficulty::Hard);
        for role in Role::ALL {
            let system = system_prompt(*role, &ids);
            let user = render_observation(&observation_for(&e, *role));
            assert!(user.contains(&format!("you are {role}")));
            assert!(user.ends_with("Your action (one JSON object):"));
            assert!(
                !user.contains(failure),
                "{role} prompt names the failure:\n{user}"
            );
            assert!(!user.contains("red_herring") && !user.contains("malicious"));
            if *role == Role::Manager {
                assert!(!user.contains("services:") && !user.contains("logs:"));
            }
            if *role == Role::Oversight && failure == "rogue_deploy_bot" {
                assert!(
                    user.contains("fleet actions:")
                        && user.contains("deploy_bot push_config -> payments"),
                    "{user}"
                );
            }
            sizes.push(estimate_tokens(&system) + estimate_tokens(&user));
        }
    }
    let max = *sizes.iter().max().unwrap();
    let min = *sizes.iter().min().unwrap();
    assert!(max < 700, "a prompt of {max} tokens");
    assert!(min > 150, "a prompt of {min} tokens");
}

#[test]
fn the_prompt_renders_every_item_of_the_view() {
    // On hard db_deadlock the key log line ("deadlock detected") is the oldest of the six
    // the SRE sees; a prompt showing only the newest four hid it.
    let e = env("db_deadlock", Difficulty::Hard);
    let observation = observation_for(&e, Role::Sre);
    let user = render_observation(&observation);
    assert!(user.contains("deadlock detected"), "{user}");
    for failure in chaosops_failures::BUILTIN_IDS {
        for tier in Difficulty::ALL {
            let e = env(failure, *tier);
            for role in Role::ALL {
                let observation = observation_for(&e, *role);
                let view = &observation.view;
                let user = render_observation(&observation);
                for l in view.visible_logs.iter() {
                    assert!(user.contains(l.message), "{role} {failure}: {user}");
                }
                for a in view.visible_alerts.iter() {
                    assert!(
                        user.contains(a.message.as_ref() as &str),
                        "{role} {failure}: {user}"
                    );
                }
                for a in view.visible_fleet_actions.iter() {
                    let line = format!("{} {} -> {}", a.agent_name, a.action, a.target);
                    assert!(user.contains(&line), "{role} {failure}: {user}");
                }
            }
        }
    }
}

#[test]
fn a_long_chat_is_trimmed_to_the_budget_oldest_first_and_says_so() {
    let mut e = env("db_deadlock", Difficulty::Hard);
    // Eighteen long messages: far more than the budget holds.
    for i in 0..18 {
        let message = format!("update {i:02}: {}", "all hands on the database ".repeat(60));
        e.step(&chaosops_model::Action::communicate(message))
            .unwrap();
    }
    let observation = observation_for(&e, Role::Sre);
    let mut view = String::new();
    render_view(&observation.view, &mut view);
    let tokens = estimate_tokens(&view);
    assert!(
        tokens <= PROMPT_VIEW_TOKEN_BUDGET,
        "{tokens} tokens over a budget of {PROMPT_VIEW_TOKEN_BUDGET}"
    );
    assert!(
        view.contains("update 17:"),
        "the newest message stays:\n{view}"
    );
    assert!(!view.contains("update 00:"), "the oldest goes:\n{view}");
    assert!(view.contains("older not shown)"), "{view}");
    for l in observation.view.visible_logs.iter() {
        assert!(view.contains(l.message), "logs are never left out:\n{view}");
    }
    // Without the pressure nothing is left out.
    let quiet = env("db_deadlock", Difficulty::Hard);
    let mut view = String::new();
    render_view(&observation_for(&quiet, Role::Sre).view, &mut view);
    assert!(!view.contains("not shown"), "{view}");
}

#[test]
fn system_prompts_describe_each_role() {
    let ids = ["db_deadlock", "cascade"];
    assert!(system_prompt(Role::Oversight, &ids).contains("flag_rogue"));
    assert!(system_prompt(Role::Manager, &ids).contains("only alerts and the team chat"));
    assert!(system_prompt(Role::Dev, &ids).contains("Root causes: db_deadlock, cascade."));
    assert!(system_prompt(Role::Sre, &ids).contains("exactly one JSON object"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_parser_never_panics_on_arbitrary_text(text in any::<String>()) {
        let p = parse_action(&text, registry());
        prop_assert!(p.action.validate().is_ok());
    }

    #[test]
    fn the_parser_never_panics_on_json_like_text(
        text in proptest::string::string_regex(r#"[{}\[\]":,\\ a-z_0-9.\-]{0,200}"#).unwrap()
    ) {
        let p = parse_action(&text, registry());
        prop_assert!(p.action.validate().is_ok());
        let mut stream = StreamParser::new(registry());
        let mut streamed = None;
        for chunk in text.as_bytes().chunks(7) {
            let chunk = std::str::from_utf8(chunk).unwrap_or("");
            if let Some(r) = stream.push(chunk) {
                streamed = Some(r);
                break;
            }
        }
        let streamed = streamed.unwrap_or_else(|| stream.finish());
        prop_assert!(streamed.action.validate().is_ok());
    }

    #[test]
    fn a_written_action_parses_back(action_type in proptest::sample::select(chaosops_model::ActionType::ALL.to_vec()),
                                    target in proptest::option::of("[a-z_]{1,12}"),
                                    replicas in proptest::option::of(-1000i64..=1000)) {
        let mut a = chaosops_model::Action::new(action_type);
        a.target = target;
        a.args.replicas = replicas;
        let text = format!("Okay.\n```json\n{}\n```", serde_json::to_string_pretty(&a).unwrap());
        let p = parse_action(&text, registry());
        prop_assert_eq!(p.action, a);
    }
}
