//! The declarative engine against the built-in it re-expresses, the pack errors, and the
//! scenario library of the repository (`scenarios/`).

use std::path::{Path, PathBuf};

use chaosops_model::{Action, Difficulty, FailureId, ScenarioSpec};
use chaosops_packs::{load_dir, parse, PackFailure};
use chaosops_roles::{run_episode, PolicyKind, RunOptions, Team};
use chaosops_sim::{
    Environment, FailureInjector, FailureRegistration, ProjectionRegistration, Registry,
    RewardConfig,
};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A registry of the built-ins and `packs` (not the process-wide one).
fn registry_with(packs: Vec<PackFailure>) -> &'static Registry {
    chaosops_failures::link();
    chaosops_roles::link();
    let packs: Vec<&'static dyn FailureInjector> = packs
        .into_iter()
        .map(|p| &*Box::leak(Box::new(p)) as &'static dyn FailureInjector)
        .collect();
    let registry = Registry::from_parts(
        chaosops_sim::inventory::iter::<FailureRegistration>()
            .map(|r| r.0)
            .chain(packs),
        chaosops_sim::inventory::iter::<ProjectionRegistration>().map(|r| r.0),
    )
    .expect("registry");
    Box::leak(Box::new(registry))
}

fn pack_file(name: &str) -> PackFailure {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    parse(&std::fs::read_to_string(&path).unwrap(), name).unwrap()
}

/// Equal JSON, numbers within 1e-9 (the reference wrote floats with Python's repr).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-9
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

#[test]
fn db_deadlock_as_a_pack_reproduces_the_recorded_step_records() {
    let registry = registry_with(vec![pack_file("db_deadlock_as_a_pack.toml")]);
    let recorded = std::fs::read_to_string(root().join("tests/data/episodes.jsonl")).unwrap();
    let mut episodes = 0;
    let mut steps = 0;
    for line in recorded.lines().filter(|l| !l.trim().is_empty()) {
        let episode: Value = serde_json::from_str(line).unwrap();
        let input = &episode["input"];
        if input["scenario"]["failure_type"] != "db_deadlock" {
            continue;
        }
        let scenario = registry
            .scenario(&ScenarioSpec {
                failure_type: FailureId::from("db_deadlock_pack".to_owned()),
                seed: input["scenario"]["seed"].as_u64().unwrap_or(0),
                difficulty: serde_json::from_value(input["scenario"]["difficulty"].clone())
                    .unwrap_or(Difficulty::Easy),
                max_steps: input["scenario"]["max_steps"].as_u64().unwrap_or(20) as u32,
                variation: Default::default(),
            })
            .unwrap();
        let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap();
        let expected = episode["expected"]["steps"].as_array().unwrap();
        for (i, raw) in input["actions"].as_array().unwrap().iter().enumerate() {
            if env.is_done() {
                break;
            }
            // The root cause the episode declares is the pack's own id.
            let text = raw
                .to_string()
                .replace("\"db_deadlock\"", "\"db_deadlock_pack\"");
            let action: Action = serde_json::from_str(&text).unwrap();
            let record = env.step_record(&action).unwrap();
            let got = serde_json::to_value(record).unwrap();
            assert!(
                same(&got, &expected[i]),
                "episode {episodes}, step {i}: {got} vs {}",
                expected[i]
            );
            steps += 1;
        }
        let expected_total = episode["expected"]["final_state"]["cumulative_reward"]
            .as_f64()
            .unwrap();
        assert!((env.state().cumulative_reward - expected_total).abs() < 1e-9);
        episodes += 1;
    }
    assert_eq!(episodes, 45, "the recorded db_deadlock episodes");
    assert!(steps > 100, "{steps} steps compared");
}

#[test]
fn a_bad_pack_is_named_by_file_line_and_field() {
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/db_deadlock_as_a_pack.toml"),
    )
    .unwrap();
    let err = |text: &str| parse(text, "bad.toml").unwrap_err().to_string();
    // The line of the first occurrence of `text` in the good pack.
    let line_of = |text: &str| good[..good.find(text).unwrap()].matches('\n').count() + 1;
    let health = line_of("health = \"critical\"");
    let misspelt = good.replacen("health = \"critical\"", "helth = \"critical\"", 1);
    let e = err(&misspelt);
    assert!(
        e.starts_with(&format!(
            "bad.toml:{health}:1: field `helth`: unknown field `helth`"
        )),
        "{e}"
    );
    let sick = good.replacen("health = \"critical\"", "health = \"sick\"", 1);
    let e = err(&sick);
    assert!(e.starts_with(&format!("bad.toml:{health}:")), "{e}");
    assert!(
        e.contains("field `health`") && e.contains("unknown health \"sick\""),
        "{e}"
    );
    let level = line_of("level = \"ERROR\"");
    let e = err(&good.replacen("level = \"ERROR\"", "level = 3", 1));
    assert!(
        e.contains("field `level`") && e.contains(&format!(":{level}:")),
        "{e}"
    );
    let id = line_of("id = ");
    let e = err(&good.replace("id = \"db_deadlock_pack\"", "id = \"DB Deadlock\""));
    assert!(
        e.starts_with(&format!(
            "bad.toml:{id}:1: field `id`: \"DB Deadlock\" is not a lower-case snake_case name"
        )),
        "{e}"
    );
    let e = err(&good.replace(
        "target = \"db\"\n\n[playbook",
        "target = \"database\"\n\n[playbook",
    ));
    assert!(
        e.contains("field `target`: \"database\" is neither a service"),
        "{e}"
    );
    let e = err(&good.replace(
        "failure_type = \"db_deadlock_pack\"",
        "failure_type = \"db_deadlock\"",
    ));
    assert!(
        e.contains("field `sre`") && e.contains("the pack's own id is \"db_deadlock_pack\""),
        "{e}"
    );
    let no_fix = good
        .replace("[[fix]]\naction_type = \"restart\"\ntarget = \"db\"\n", "")
        .replacen("\n[[inject.metrics]]", "fix = []\n\n[[inject.metrics]]", 1);
    assert!(
        err(&no_fix).contains("give at least one [[fix]]"),
        "{}",
        err(&no_fix)
    );
    let e = err("id = \"x\"\n");
    assert!(e.contains("missing field `description`"), "{e}");
    let e = err("id = \"x\"\ndescription = \"y\"\nfix = [ { action_type = \"reboot\" } ]\n");
    assert!(
        e.contains("bad.toml:3:") && e.contains("unknown action type \"reboot\""),
        "{e}"
    );
}

#[test]
fn a_pack_cannot_shadow_a_built_in() {
    let shadow = parse(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/db_deadlock_as_a_pack.toml"),
        )
        .unwrap()
        .replace("db_deadlock_pack", "db_deadlock"),
        "shadow.toml",
    )
    .unwrap();
    chaosops_failures::link();
    chaosops_roles::link();
    let err = Registry::from_parts(
        chaosops_sim::inventory::iter::<FailureRegistration>()
            .map(|r| r.0)
            .chain([&*Box::leak(Box::new(shadow)) as &'static dyn FailureInjector]),
        chaosops_sim::inventory::iter::<ProjectionRegistration>().map(|r| r.0),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("\"db_deadlock\" is registered twice"),
        "{err}"
    );
}

/// Plays `failure` at `difficulty` and `seed` with one policy in every seat.
fn play(
    registry: &'static Registry,
    failure: &str,
    difficulty: Difficulty,
    seed: u64,
    kind: PolicyKind,
) -> chaosops_roles::EpisodeResult {
    let scenario = registry
        .scenario(&ScenarioSpec {
            failure_type: FailureId::from(failure.to_owned()),
            seed,
            difficulty,
            max_steps: 20,
            variation: Default::default(),
        })
        .unwrap();
    run_episode(
        registry,
        &scenario,
        &mut Team::uniform(kind, seed),
        RunOptions::default(),
    )
    .unwrap()
}

#[test]
fn the_scenario_library_loads_and_its_oracle_resolves_every_type_on_every_tier() {
    let packs = load_dir(&root().join("scenarios")).unwrap();
    let ids: Vec<&str> = packs.iter().map(|p| p.id()).collect();
    assert!(ids.len() >= 8, "{ids:?}");
    let registry = registry_with(packs);
    for id in &ids {
        let failure = registry.failure(id).unwrap();
        assert!(
            failure.source().ends_with(&format!("{id}.toml")),
            "{}",
            failure.source()
        );
        assert!(!failure.tiers().is_empty(), "{id} belongs to a tier");
        for difficulty in Difficulty::ALL {
            for seed in 0..3 {
                let oracle = play(registry, id, *difficulty, seed, PolicyKind::Oracle);
                assert!(
                    oracle.resolved,
                    "{id} {difficulty} seed {seed}: the oracle did not resolve it"
                );
                assert_eq!(oracle.wrong_fixes, 0, "{id} {difficulty}");
                let idle = play(registry, id, *difficulty, seed, PolicyKind::Noop);
                if failure.is_control() {
                    // Nothing is wrong: doing nothing is right, and resolves at the budget.
                    assert!(
                        idle.resolved && idle.final_step == 20,
                        "{id}: a control left alone"
                    );
                } else {
                    assert!(!idle.resolved, "{id}: doing nothing must not resolve it");
                }
            }
        }
    }
    // The tiers the packs name put them in the curriculum's pools.
    for difficulty in Difficulty::ALL {
        let pool: Vec<&str> = registry.pool(*difficulty).iter().map(|f| f.id()).collect();
        for id in &ids {
            let listed = registry
                .failure(id)
                .unwrap()
                .tiers()
                .iter()
                .any(|t| t.difficulty == *difficulty);
            assert_eq!(pool.contains(id), listed, "{id} in the {difficulty} pool");
        }
    }
}

#[test]
fn the_expert_tier_pairs_pack_types_too_and_the_oracle_resolves_every_compound() {
    let packs = load_dir(&root().join("scenarios")).unwrap();
    let registry = registry_with(packs);
    let expert = registry.pool(Difficulty::Expert);
    let with_packs = expert
        .iter()
        .filter(|c| c.parts().iter().any(|p| p.source().ends_with(".toml")))
        .count();
    assert!(
        with_packs > 0 && with_packs < expert.len(),
        "{with_packs} of {}",
        expert.len()
    );
    for compound in &expert {
        assert!(
            compound.parts().iter().all(|p| !p.is_control()),
            "{}: a control is never part of an incident",
            compound.id()
        );
        for seed in 0..3 {
            let oracle = play(
                registry,
                compound.id(),
                Difficulty::Expert,
                seed,
                PolicyKind::Oracle,
            );
            assert!(oracle.resolved, "{} seed {seed}", compound.id());
            assert_eq!(oracle.wrong_fixes, 0, "{} seed {seed}", compound.id());
        }
    }
    let refused = registry
        .failure("db_deadlock+no_fault")
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        refused,
        "compound incident \"db_deadlock+no_fault\": \"no_fault\" is a no-fault control, which cannot be part of an incident"
    );
}

#[test]
fn a_control_rewards_doing_no_harm() {
    let packs = load_dir(&root().join("scenarios")).unwrap();
    let registry = registry_with(packs);
    let scenario = registry
        .scenario(&ScenarioSpec {
            failure_type: FailureId::from("no_fault".to_owned()),
            seed: 3,
            difficulty: Difficulty::Hard,
            max_steps: 8,
            variation: Default::default(),
        })
        .unwrap();
    // Left alone: no MTTR penalty on the way, resolved at the last step.
    let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap();
    assert!(
        env.state().all_logs.iter().all(|l| l.is_red_herring),
        "only noise"
    );
    assert!(!env.state().all_logs.is_empty());
    let mut records = Vec::new();
    while !env.is_done() {
        records.push(env.step_record(&Action::noop()).unwrap());
    }
    assert!(records[..7].iter().all(|r| r.reward == 0.0));
    assert!(records[7].flags.resolved && records[7].breakdown.resolved_bonus == 100.0);
    assert_eq!(env.state().cumulative_reward, 110.0);
    // A restart of a healthy service is harm: a wrong fix, and the episode ends unresolved.
    let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap();
    env.step_record(&Action::restart(chaosops_model::Service::Db))
        .unwrap();
    while !env.is_done() {
        env.step_record(&Action::noop()).unwrap();
    }
    assert!(!env.state().resolved && env.state().wrong_fixes == 1);
    assert_eq!(env.state().cumulative_reward, -50.0 - 60.0);
    // A flag (there is no rogue) is harm too.
    let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap();
    env.step_record(&Action::noop()).unwrap();
    env.step_record(&Action::new(chaosops_model::ActionType::FlagRogue).with_target("autoscaler"))
        .unwrap();
    while !env.is_done() {
        env.step_record(&Action::noop()).unwrap();
    }
    assert!(!env.state().resolved);
    // A control cannot have a fix.
    let err = parse(
        "id = \"c\"\ndescription = \"d\"\ncontrol = true\n\n[[fix]]\naction_type = \"noop\"\n",
        "c.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("a control has nothing to fix"), "{err}");
}
