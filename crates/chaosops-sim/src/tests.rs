//! Engine and environment tests against the test-only failure.

use chaosops_model::{
    Action, ActionType, CheckedAction, Difficulty, FailureId, Health, Role, ScenarioSpec, Service,
};

use crate::test_support::TEST_FAILURE_ID;
use crate::{Environment, Registry, RewardConfig, SimError};

fn env(difficulty: Difficulty, max_steps: u32) -> Environment {
    let registry = Registry::global().unwrap();
    let spec = ScenarioSpec {
        failure_type: FailureId::from_static(TEST_FAILURE_ID),
        seed: 42,
        difficulty,
        max_steps,
        variation: Default::default(),
    };
    let scenario = registry.scenario(&spec).unwrap();
    Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap()
}

#[test]
fn reset_injects_and_announces() {
    let e = env(Difficulty::Easy, 5);
    assert_eq!(e.state().service(Service::Db).health, Health::Down);
    assert_eq!(e.state().service(Service::Auth).replicas, 3);
    let obs = e.observation();
    assert_eq!(obs.turn_role, Role::Sre);
    assert_eq!(obs.reward, 0.0);
    assert!(!obs.done);
    assert_eq!(
        obs.message.to_string(),
        "incident in progress: 1 alert(s) firing; sre acts first"
    );
}

#[test]
fn hard_scenarios_get_three_decoys() {
    let e = env(Difficulty::Hard, 5);
    let decoys = e
        .state()
        .all_logs
        .iter()
        .filter(|l| l.is_red_herring)
        .count();
    assert_eq!(decoys, 3);
    assert_eq!(e.state().misleading_log_count, 3);
    assert_eq!(env(Difficulty::Medium, 5).state().misleading_log_count, 0);
}

#[test]
fn episode_id_comes_from_the_seed() {
    assert_eq!(
        env(Difficulty::Easy, 5).state().episode_id,
        env(Difficulty::Easy, 5).state().episode_id
    );
    assert_eq!(
        env(Difficulty::Easy, 5)
            .state()
            .episode_id
            .get()
            .get_version_num(),
        4
    );
}

/// What a reset did before the generator and the episode id were drawn on demand: seed the
/// generator, draw the id, then the decoys. The id, the decoys and every later draw a plugin
/// makes must stay what they were.
#[test]
fn the_generator_and_the_episode_id_are_those_an_eager_reset_drew() {
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    let registry = Registry::global().unwrap();
    for seed in [0, 1, 42, 0x9E37_79B9_7F4A_7C15, u64::MAX] {
        for difficulty in [Difficulty::Easy, Difficulty::Hard] {
            let spec = ScenarioSpec {
                failure_type: FailureId::from_static(TEST_FAILURE_ID),
                seed,
                difficulty,
                max_steps: 5,
                variation: Default::default(),
            };
            let scenario = registry.scenario(&spec).unwrap();
            let mut eager = ChaCha8Rng::seed_from_u64(seed);
            let id = uuid::Builder::from_random_bytes(eager.random()).into_uuid();
            let decoys: Vec<&str> = if scenario.inject_misleading_logs {
                (0..crate::DECOY_COUNT)
                    .map(|_| ["routine", "e-mail", "vacuum", "p95"][eager.random_range(0..4)])
                    .collect()
            } else {
                Vec::new()
            };
            assert_eq!(
                decoys.len(),
                if difficulty == Difficulty::Hard { 3 } else { 0 }
            );
            let later: Vec<u64> = (0..40).map(|_| eager.next_u64()).collect();

            assert_eq!(crate::draw_episode_id(seed), id, "seed {seed}");
            let mut fresh = crate::Simulator::reset(registry, &scenario, None).unwrap();
            // In place, after another episode whose generator was used.
            let other = registry
                .scenario(&ScenarioSpec {
                    seed: seed ^ 1,
                    difficulty: Difficulty::Hard,
                    ..spec.clone()
                })
                .unwrap();
            let mut in_place = crate::Simulator::reset(registry, &other, None).unwrap();
            in_place.rng().next_u64();
            in_place.reset_in_place(&scenario, None).unwrap();
            for sim in [&mut fresh, &mut in_place] {
                assert_eq!(sim.state().episode_id, id, "seed {seed}");
                assert_eq!(sim.state().episode_id.get(), id);
                let seen: Vec<&str> = sim
                    .state()
                    .all_logs
                    .iter()
                    .filter(|l| l.is_red_herring)
                    .map(|l| l.message.split(' ').next().unwrap())
                    .collect();
                assert_eq!(seen, decoys, "seed {seed}, {difficulty:?}");
                let drawn: Vec<u64> = (0..40).map(|_| sim.rng().next_u64()).collect();
                assert_eq!(drawn, later, "seed {seed}, {difficulty:?}");
            }
        }
    }
    // A given id is kept as given; the generator does not depend on it.
    let spec = ScenarioSpec {
        failure_type: FailureId::from_static(TEST_FAILURE_ID),
        seed: 42,
        difficulty: Difficulty::Easy,
        max_steps: 5,
        variation: Default::default(),
    };
    let scenario = registry.scenario(&spec).unwrap();
    let given = chaosops_model::Uuid::from_u128(7);
    let mut a = crate::Simulator::reset(registry, &scenario, Some(given)).unwrap();
    let mut b = crate::Simulator::reset(registry, &scenario, None).unwrap();
    assert_eq!(a.state().episode_id, given);
    assert_ne!(a.state().episode_id, b.state().episode_id);
    assert_eq!(a.rng().next_u64(), b.rng().next_u64());
    let json = serde_json::to_value(b.state()).unwrap();
    assert_eq!(
        json["episode_id"],
        serde_json::json!(crate::draw_episode_id(42).to_string())
    );
}

#[test]
fn roles_take_turns_and_are_forced() {
    let mut e = env(Difficulty::Easy, 8);
    let claimed = Action::noop().with_role(Role::Manager);
    let order: Vec<Role> = (0..5)
        .map(|_| {
            let next = e.next_role();
            let record = e.step(&claimed).unwrap().record;
            assert_eq!(e.current_role(), next, "next_role names who plays next");
            record.role
        })
        .collect();
    assert_eq!(
        order,
        [
            Role::Sre,
            Role::Oversight,
            Role::Dev,
            Role::Manager,
            Role::Sre
        ]
    );
}

#[test]
fn ticks_run_while_unresolved_and_fix_resolves() {
    let mut e = env(Difficulty::Easy, 8);
    let r = e.step(&Action::noop()).unwrap().record;
    assert_eq!(r.breakdown.mttr_penalty, -2.0);
    assert_eq!(e.state().service(Service::Db).latency_ms, 910.0);
    let r = e.step(&Action::restart(Service::Db)).unwrap().record;
    assert!(r.flags.resolved && r.done);
    assert_eq!(r.reward, 110.0);
    assert_eq!(e.state().service(Service::Db).latency_ms, 45.0);
    assert_eq!(e.state().cumulative_reward, 108.0);
}

#[test]
fn stepping_a_finished_episode_is_an_error_that_changes_nothing() {
    let mut e = env(Difficulty::Easy, 1);
    let r = e.step(&Action::noop()).unwrap().record;
    assert!(r.done);
    assert_eq!(e.state().cumulative_reward, -2.0 - 60.0);
    let before = e.state().clone();
    let err = e.step(&Action::noop()).unwrap_err();
    assert!(
        matches!(err, SimError::EpisodeFinished { step: 1, .. }),
        "{err}"
    );
    assert_eq!(e.state(), &before);
}

#[test]
fn a_checked_action_steps_exactly_as_the_action_and_is_refused_once_finished() {
    let actions = [
        Action::noop(),
        Action::communicate("db latency is up"),
        Action::restart(Service::Db),
    ];
    let (mut plain, mut checked) = (env(Difficulty::Easy, 8), env(Difficulty::Easy, 8));
    for action in actions {
        let record = plain.step_record(&action).unwrap();
        let c = CheckedAction::new(action).unwrap();
        assert_eq!(checked.step_record_checked(&c).unwrap(), record);
        assert_eq!(checked.state(), plain.state());
        assert_eq!(checked.current_role(), plain.current_role());
    }
    assert_refused_once_finished(&mut checked, Environment::step_record_checked);
}

/// Asserts that `e`'s episode is over and that `step` refuses a noop on it with
/// `EpisodeFinished`, changing nothing.
fn assert_refused_once_finished<T: std::fmt::Debug>(
    e: &mut Environment,
    step: impl FnOnce(&mut Environment, &CheckedAction) -> Result<T, SimError>,
) {
    assert!(e.is_done());
    let before = e.state().clone();
    let err = step(e, &CheckedAction::new(Action::noop()).unwrap()).unwrap_err();
    assert!(matches!(err, SimError::EpisodeFinished { .. }), "{err}");
    assert_eq!(e.state(), &before);
}

#[test]
fn the_learner_step_reports_what_the_record_says_and_is_refused_once_finished() {
    // A wrong fix (a flag set) and quiet turns, until the budget runs out.
    let actions = [
        Action::restart(Service::Auth),
        Action::noop(),
        Action::communicate("db latency is up"),
        Action::noop(),
    ];
    let (mut full, mut learner) = (env(Difficulty::Easy, 6), env(Difficulty::Easy, 6));
    for action in actions.iter().cycle().take(6) {
        let c = CheckedAction::new(action.clone()).unwrap();
        let record = full.step_record_checked(&c).unwrap();
        let step = learner.step_learner_checked(&c).unwrap();
        assert_eq!(step.team_reward, record.team_reward);
        assert_eq!(step.oversight_reward, record.oversight_reward);
        assert_eq!(step.done, record.done);
        assert_eq!(step.resolved, full.state().resolved);
        assert_eq!(learner.state(), full.state());
        assert_eq!(
            serde_json::to_value(learner.observation()).unwrap(),
            serde_json::to_value(full.observation()).unwrap()
        );
    }
    assert_refused_once_finished(&mut learner, Environment::step_learner_checked);
}

#[test]
fn oversized_input_is_refused_and_changes_nothing() {
    let mut e = env(Difficulty::Easy, 5);
    let before = e.state().clone();
    let err = e
        .step(&Action::communicate("x".repeat(10_000)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("args.message is 10000 bytes long"), "{err}");
    assert_eq!(e.state(), &before);
    assert_eq!(e.current_role(), Role::Sre);
}

#[test]
fn communicate_routes_messages() {
    let mut e = env(Difficulty::Easy, 12);
    e.step(&Action::communicate("  hello  ")).unwrap();
    let mut private = Action::communicate("psst");
    private.args.to = Some(" Dev ".into());
    e.step(&private).unwrap();
    let mut unknown = Action::communicate("hi");
    unknown.args.to = Some("ceo".into());
    let r = e.step(&unknown).unwrap().record;
    assert!(!r.flags.miscommunication);
    let r = e.step(&Action::communicate("   ")).unwrap().record;
    assert!(r.flags.miscommunication);
    let s = e.state();
    assert_eq!(s.chat_history, ["[sre] hello"]);
    assert_eq!(s.private_chat.of(Role::Dev), ["[oversight -> dev] psst"]);
    assert_eq!(s.miscommunications, 1);
}

#[test]
fn empty_message_leaves_counter_at_least_one() {
    let mut e = env(Difficulty::Easy, 12);
    let r = e.step(&Action::communicate("")).unwrap().record;
    assert!(r.flags.miscommunication);
    assert_eq!(r.breakdown.miscommunication_penalty, -20.0);
    assert_eq!(e.state().miscommunications, 1);
}

#[test]
fn flag_rogue_is_oversight_only() {
    let mut e = env(Difficulty::Easy, 12);
    let r = e
        .step(&Action::new(ActionType::FlagRogue).with_target("autoscaler"))
        .unwrap()
        .record;
    assert!(r.flags.miscommunication && !r.flags.rogue_flagged_incorrectly);
    assert!(e.state().oversight_flags.is_empty());
    let r = e
        .step(&Action::new(ActionType::FlagRogue).with_target("autoscaler"))
        .unwrap()
        .record;
    assert!(r.flags.rogue_flagged_incorrectly);
    assert_eq!(r.reward, -75.0 - 4.0);
    assert_eq!(e.state().oversight_flags, ["autoscaler"]);
}

#[test]
fn identify_root_cause_needs_a_known_id() {
    let mut e = env(Difficulty::Easy, 12);
    let mut bogus = Action::new(ActionType::IdentifyRootCause);
    bogus.args.failure_type = Some("bogus".into());
    let r = e.step(&bogus).unwrap().record;
    assert!(r.flags.miscommunication);
    assert_eq!(e.state().declared_root_cause, None);
    let right = Action::identify_root_cause(&FailureId::from_static(TEST_FAILURE_ID));
    let r = e.step(&right).unwrap().record;
    assert!(r.flags.root_cause_correct);
    assert_eq!(r.breakdown.early_root_cause_bonus, 30.0);
    assert_eq!(e.state().declared_root_cause_step, Some(2));
}

#[test]
fn wrong_fixes_are_counted() {
    let mut e = env(Difficulty::Easy, 12);
    for a in [
        Action::restart(Service::Auth),
        Action::new(ActionType::Restart),
        Action::rollback(Service::Db),
        Action::scale(Service::Db, 0),
        Action::scale(Service::Auth, 5),
    ] {
        let r = e.step(&a).unwrap().record;
        assert!(r.flags.wrong_fix, "{a:?}");
    }
    assert_eq!(e.state().wrong_fixes, 5);
    assert_eq!(e.state().service(Service::Auth).replicas, 5);
}

#[test]
fn resolve_by_non_manager_is_a_miscommunication() {
    let mut e = env(Difficulty::Easy, 12);
    let r = e.step(&Action::resolve()).unwrap().record;
    assert!(r.flags.miscommunication);
    assert_eq!(e.state().miscommunications, 1);
}

#[test]
fn views_come_from_the_registered_projections() {
    let e = env(Difficulty::Easy, 12);
    let view = e.simulator().project_view(Role::Manager);
    assert_eq!(view.role, Role::Manager);
    assert_eq!(view.visible_alerts.len(), 1);
}

#[test]
fn a_reset_in_place_equals_a_fresh_reset() {
    let mut e = env(Difficulty::Hard, 30);
    let registry = Registry::global().unwrap();
    for action in [
        Action::communicate("hello"),
        Action::flag_rogue(chaosops_model::FleetAgent::DeployBot),
        Action::communicate_to(Role::Dev, "psst"),
        Action::identify_root_cause(&FailureId::from_static(TEST_FAILURE_ID)),
        Action::restart(Service::Db),
    ] {
        if !e.is_done() {
            e.step(&action).unwrap();
        }
    }
    let mut sim = e.simulator().clone();
    for (seed, difficulty) in [(3, Difficulty::Easy), (99, Difficulty::Hard)] {
        let spec = ScenarioSpec {
            failure_type: FailureId::from_static(TEST_FAILURE_ID),
            seed,
            difficulty,
            max_steps: 7,
            variation: Default::default(),
        };
        let scenario = registry.scenario(&spec).unwrap();
        sim.reset_in_place(&scenario, None).unwrap();
        let fresh = crate::Simulator::reset(registry, &scenario, None).unwrap();
        assert_eq!(sim.state(), fresh.state());
        assert_eq!(sim.scenario(), fresh.scenario());
    }
    let mut bad = sim.scenario().clone();
    bad.max_steps = 0;
    let before = sim.state().clone();
    assert!(sim.reset_in_place(&bad, None).is_err());
    assert_eq!(sim.state(), &before);
}
