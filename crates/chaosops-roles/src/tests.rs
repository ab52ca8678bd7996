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
    // Every single type and every compound incident of the expert tier.
    for failure in registry.failures().chain(registry.expert_compounds()) {
        for difficulty in Difficulty::ALL {
            for seed in 0..3 {
                let spec = ScenarioSpec {
                    failure_type: FailureId::from_static(failure.id()),
                    seed,
                    difficulty: *difficulty,
                    max_steps: 16,
                    variation: Default::default(),
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
                // Neither a compound's id nor any of its parts' may reach a view.
                let ids: Vec<&str> = std::iter::once(failure.id())
                    .chain(failure.parts().iter().map(|p| p.id()))
                    .collect();
                loop {
                    for role in Role::ALL {
                        let view = env.simulator().project_view(*role);
                        assert_eq!(view.role, *role);
                        check_view(
                            *role,
                            &view.to_json(),
                            &ids,
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

fn check_view(role: Role, json: &Value, failure_ids: &[&str], fleet_actions: usize) {
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
    for failure_id in failure_ids {
        assert!(
            !text.contains(&format!("\"{failure_id}\"")),
            "{role} view names the failure {failure_id}: {text}"
        );
    }
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
        variation: Default::default(),
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

/// Scripted policies and the runner (docs/behaviour.md §10 and §11).
mod policies {
    use chaosops_model::{
        ActionType, Difficulty, FailureId, FleetAgent, Health, Message, Observation, Role, Service,
        State, Uuid,
    };
    use chaosops_sim::curriculum::scenarios_for_tier;
    use chaosops_sim::Registry;

    use super::registry;
    use crate::{run_episode, HeuristicPolicy, Policy, PolicyKind, RandomPolicy, RunOptions, Team};

    fn observe<'a>(registry: &'static Registry, state: &'a State, role: Role) -> Observation<'a> {
        Observation {
            done: false,
            reward: 0.0,
            view: registry.projection(role).project(state),
            step: state.step_count,
            turn_role: role,
            message: Message::Reset {
                alerts: state.all_alerts.len(),
                first_role: role,
            },
        }
    }

    /// A state with `failure` injected, as at reset.
    fn injected(failure: &str) -> State {
        let f = registry().failure(failure).unwrap();
        let mut state = State::new(
            Uuid::nil(),
            FailureId::from_static(f.id()),
            Difficulty::Easy,
            12,
            f.rogue_agent(),
        );
        f.inject(&mut state);
        state
    }

    fn mean_reward(kind: PolicyKind, tier: Difficulty) -> (f64, usize) {
        let registry = registry();
        let scenarios = scenarios_for_tier(registry, tier, 0, 3);
        let mut total = 0.0;
        let mut resolved = 0;
        for s in &scenarios {
            let mut team = Team::uniform(kind, s.seed);
            let r = run_episode(registry, s, &mut team, RunOptions::default()).unwrap();
            total += r.cumulative_reward;
            resolved += usize::from(r.resolved);
            if kind == PolicyKind::Oracle {
                assert!(!r.false_positive(), "{:?}", r.oversight_flags);
                assert_eq!(r.rogue_caught(), r.rogue_agent.is_some());
            }
        }
        let mean = total / scenarios.len() as f64;
        if kind == PolicyKind::Oracle {
            assert_eq!(resolved, scenarios.len());
        }
        (mean, scenarios.len())
    }

    #[test]
    fn oracle_matches_the_reference_means() {
        let (easy, n) = mean_reward(PolicyKind::Oracle, Difficulty::Easy);
        assert_eq!((easy, n), (134.0, 12));
        let (medium, _) = mean_reward(PolicyKind::Oracle, Difficulty::Medium);
        assert!((medium - 150.666_666_666_666_67).abs() < 1e-9, "{medium}");
        let (hard, _) = mean_reward(PolicyKind::Oracle, Difficulty::Hard);
        assert_eq!(hard, 170.0);
    }

    #[test]
    fn random_and_noop_stay_below_the_oracle() {
        for tier in Difficulty::ALL {
            let (oracle, _) = mean_reward(PolicyKind::Oracle, *tier);
            let (random, _) = mean_reward(PolicyKind::Random, *tier);
            let (noop, _) = mean_reward(PolicyKind::Noop, *tier);
            assert!(
                random < oracle && noop < oracle,
                "{tier}: {random} {noop} {oracle}"
            );
        }
    }

    #[test]
    fn random_draws_only_its_five_actions() {
        let registry = registry();
        let state = injected("db_deadlock");
        let obs = observe(registry, &state, Role::Sre);
        let mut policy = RandomPolicy::new(9);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let a = policy.act(&obs, Role::Sre);
            seen.insert(a.action_type);
            match a.action_type {
                ActionType::Restart | ActionType::Rollback => assert!(a.target_service().is_some()),
                ActionType::Scale => {
                    assert!(a.target_service().is_some());
                    assert!((1..=5).contains(&a.replicas()));
                }
                ActionType::Communicate => {
                    assert!(crate::random::MESSAGES.contains(&a.args.message.as_deref().unwrap()))
                }
                ActionType::Noop => {}
                other => panic!("random drew {other}"),
            }
        }
        assert_eq!(seen.len(), 5);
        let a: Vec<_> = (0..20)
            .map(|_| RandomPolicy::new(3).act(&obs, Role::Dev))
            .collect();
        let b: Vec<_> = (0..20)
            .map(|_| RandomPolicy::new(3).act(&obs, Role::Dev))
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn heuristic_manager_rules() {
        let registry = registry();
        let mut state = injected("db_deadlock");
        let mut h = HeuristicPolicy::new(0);
        let a = h.act(&observe(registry, &state, Role::Manager), Role::Manager);
        assert_eq!(a.action_type, ActionType::Communicate);
        state.chat_history.push("[dev] db looks healthy now".into());
        let a = h.act(&observe(registry, &state, Role::Manager), Role::Manager);
        assert_eq!(a.action_type, ActionType::Resolve);
        let quiet = State::new(
            Uuid::nil(),
            FailureId::DB_DEADLOCK,
            Difficulty::Easy,
            12,
            None,
        );
        let a = h.act(&observe(registry, &quiet, Role::Manager), Role::Manager);
        assert_eq!(a.action_type, ActionType::Noop);
    }

    #[test]
    fn heuristic_oversight_flags_the_first_fleet_agent() {
        let registry = registry();
        let mut h = HeuristicPolicy::new(0);
        let state = injected("misrouted_traffic");
        let a = h.act(&observe(registry, &state, Role::Oversight), Role::Oversight);
        assert_eq!(
            a,
            chaosops_model::Action::flag_rogue(FleetAgent::LoadBalancer)
        );
        let state = injected("db_deadlock");
        let a = h.act(&observe(registry, &state, Role::Oversight), Role::Oversight);
        assert_eq!(
            a.args.message.as_deref(),
            Some("no rogue agent activity detected")
        );
    }

    #[test]
    fn heuristic_responders_work_on_the_unhealthiest_service() {
        let registry = registry();
        // Dev rolls back when a visible log says "rolled out".
        let state = injected("bad_config_push");
        let a = HeuristicPolicy::new(0).act(&observe(registry, &state, Role::Dev), Role::Dev);
        assert_eq!(a, chaosops_model::Action::rollback(Service::Auth));
        // A small, hot service is scaled to 4.
        let state = injected("autoscaler_cost_cut");
        let a = HeuristicPolicy::new(0).act(&observe(registry, &state, Role::Sre), Role::Sre);
        assert_eq!(a, chaosops_model::Action::scale(Service::Payments, 4));
        // All healthy: nothing to do.
        let calm = State::new(
            Uuid::nil(),
            FailureId::DB_DEADLOCK,
            Difficulty::Easy,
            12,
            None,
        );
        let a = HeuristicPolicy::new(0).act(&observe(registry, &calm, Role::Sre), Role::Sre);
        assert_eq!(a.args.message.as_deref(), Some("systems nominal"));
        // Otherwise restart the worst (critical db beats degraded payments), or now and then investigate.
        let state = injected("db_deadlock");
        assert_eq!(state.service(Service::Db).health, Health::Critical);
        let mut h = HeuristicPolicy::new(1);
        let (mut restarts, mut investigations) = (0, 0);
        for _ in 0..2000 {
            let a = h.act(&observe(registry, &state, Role::Sre), Role::Sre);
            if a == chaosops_model::Action::restart(Service::Db) {
                restarts += 1;
            } else {
                assert_eq!(a.args.message.as_deref(), Some("investigating db"));
                investigations += 1;
            }
        }
        let rate = f64::from(investigations) / f64::from(restarts + investigations);
        assert!((0.12..0.18).contains(&rate), "investigation rate {rate}");
    }
}

/// Variation `standard` (docs/behaviour.md §15).
mod variation {
    use super::registry;
    use crate::{run_episode, EpisodeStart, Policy, PolicyKind, RunOptions, Team};
    use chaosops_model::{
        Action, Difficulty, FailureId, Observation, Role, ScenarioSpec, Service, Variation,
    };
    use chaosops_sim::{Environment, RewardConfig};
    use std::collections::BTreeSet;

    /// A scenario of `failure` with a 20-step budget (the compound tests use it too).
    pub(super) fn spec(
        failure: &str,
        difficulty: Difficulty,
        seed: u64,
        variation: Variation,
    ) -> ScenarioSpec {
        ScenarioSpec {
            failure_type: FailureId::from(failure.to_owned()),
            seed,
            difficulty,
            max_steps: 20,
            variation,
        }
    }

    /// Replays each failure type's reference playbook, whatever the episode's variant: what
    /// an agent that memorised the nine answers would do.
    struct ReferencePlaybook(Option<chaosops_sim::Playbook>);

    impl Policy for ReferencePlaybook {
        fn name(&self) -> &'static str {
            "reference_playbook"
        }
        fn begin_episode(&mut self, start: &EpisodeStart<'_>) {
            self.0 = Some(start.failure.playbook());
        }
        fn act(&mut self, _observation: &Observation<'_>, role: Role) -> Action {
            self.0
                .as_ref()
                .and_then(|p| p.action(role).cloned())
                .unwrap_or_else(Action::noop)
        }
    }

    #[test]
    fn the_oracle_resolves_every_standard_episode_and_a_memorised_playbook_does_not() {
        let r = registry();
        let mut memorised = [0u32; 2];
        let mut varied = 0u32;
        // The reference tiers (expert's compounds: `compound::the_oracle_resolves_...`).
        for failure in r.failures() {
            for difficulty in Difficulty::REFERENCE {
                for seed in 0..40 {
                    let scenario = r
                        .scenario(&spec(failure.id(), *difficulty, seed, Variation::Standard))
                        .unwrap();
                    let oracle = run_episode(
                        r,
                        &scenario,
                        &mut Team::uniform(PolicyKind::Oracle, seed),
                        RunOptions::default(),
                    )
                    .unwrap();
                    assert!(oracle.resolved, "{} {difficulty} {seed}", failure.id());
                    assert_eq!(
                        oracle.wrong_fixes,
                        0,
                        "{} {difficulty} {seed}",
                        failure.id()
                    );
                    if !failure.variable_targets().is_empty() {
                        let mut team = Team::from_fn(|_| Box::new(ReferencePlaybook(None)));
                        let replayed =
                            run_episode(r, &scenario, &mut team, RunOptions::default()).unwrap();
                        memorised[usize::from(replayed.resolved)] += 1;
                        varied += 1;
                    }
                }
            }
        }
        assert_eq!(
            varied,
            2 * 3 * 40,
            "memory_leak and bad_config_push vary their target"
        );
        let resolved = memorised[1];
        eprintln!("the memorised playbook resolved {resolved} of {varied} varied episodes");
        assert!(
            resolved * 2 <= varied,
            "the memorised playbook resolved {resolved} of {varied}"
        );
        assert!(resolved > 0, "the reference target is one of the draws");
    }

    #[test]
    fn standard_episodes_differ_from_one_another_and_none_stays_the_reference() {
        let r = registry();
        let mut targets = BTreeSet::new();
        let mut wordings = BTreeSet::new();
        let mut decoy_counts = BTreeSet::new();
        let mut magnitudes = BTreeSet::new();
        for seed in 0..60 {
            let scenario = r
                .scenario(&spec(
                    "memory_leak",
                    Difficulty::Easy,
                    seed,
                    Variation::Standard,
                ))
                .unwrap();
            let env = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
            let state = env.state();
            let target = state
                .variant_targets
                .get(Service::Notifications)
                .expect("memory_leak draws a target");
            targets.insert(target);
            magnitudes.insert(state.service(target).memory_mb.to_bits());
            let evidence: Vec<_> = state
                .all_logs
                .iter()
                .filter(|l| !l.is_red_herring)
                .collect();
            assert_eq!(evidence.len(), 1);
            assert_eq!(evidence[0].service, target.into());
            wordings.insert(evidence[0].message.to_string());
            decoy_counts.insert(state.all_logs.len() - evidence.len());
            // The same scenario is the same episode, bit for bit.
            let again = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
            assert_eq!(
                serde_json::to_string(again.state()).unwrap(),
                serde_json::to_string(state).unwrap()
            );
        }
        assert_eq!(targets.len(), Service::COUNT, "{targets:?}");
        assert_eq!(wordings.len(), 3, "{wordings:?}");
        assert!(decoy_counts.len() >= 4, "{decoy_counts:?}");
        assert!(magnitudes.len() > 30, "{} magnitudes", magnitudes.len());
        // none: the reference episode, without a variant.
        let reference = r
            .scenario(&spec("memory_leak", Difficulty::Easy, 3, Variation::None))
            .unwrap();
        let env = Environment::new(r, &reference, RewardConfig::default(), None).unwrap();
        assert!(env.state().variant_targets.is_empty());
        assert_eq!(env.state().all_logs.len(), 1);
        assert_eq!(
            env.state().all_logs[0].message,
            "heap at 1200MB, gc pause 880ms"
        );
        assert!(!serde_json::to_string(env.state())
            .unwrap()
            .contains("variant_targets"));
    }

    #[test]
    fn jitter_is_small_and_leaves_health_alone() {
        let r = registry();
        let scenario = r
            .scenario(&spec(
                "db_deadlock",
                Difficulty::Medium,
                5,
                Variation::Standard,
            ))
            .unwrap();
        let mut env = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
        let mut previous = env.state().services;
        while !env.is_done() {
            env.step(&Action::noop()).unwrap();
            let now = &env.state().services;
            for s in Service::ALL {
                let (a, b) = (&previous[*s], &now[*s]);
                assert!((a.cpu_pct - b.cpu_pct).abs() <= 1.5 + 1e-9);
                assert!((a.latency_ms - b.latency_ms).abs() <= a.latency_ms * 0.02 + 1e-9);
                assert!((a.memory_mb - b.memory_mb).abs() <= 4.0 + 1e-9);
                assert_eq!(a.health, b.health, "{s}");
            }
            previous = *now;
        }
    }
}

/// Compound incidents and the expert tier (docs/behaviour.md §18).
mod compound {
    use super::registry;
    use super::variation::spec;
    use crate::{run_episode, PolicyKind, RunOptions, Team};
    use chaosops_model::{
        Action, Difficulty, FailureId, Health, ScenarioSpec, Service, Split, Variation,
    };
    use chaosops_sim::{Environment, RewardConfig, SimError};

    fn env(failure: &str) -> Environment {
        let r = registry();
        let scenario = r
            .scenario(&spec(failure, Difficulty::Easy, 1, Variation::None))
            .unwrap();
        Environment::new(r, &scenario, RewardConfig::default(), None).unwrap()
    }

    #[test]
    fn the_expert_pool_pairs_a_hard_incident_with_an_easy_one_of_another_family() {
        let r = registry();
        let pool: Vec<&str> = r.pool(Difficulty::Expert).iter().map(|f| f.id()).collect();
        assert_eq!(
            pool,
            // The hard pool (misrouted_traffic, cascade, autoscaler_cost_cut,
            // rogue_deploy_bot) by the easy pool (db_deadlock, memory_leak, bad_config_push,
            // dns_outage); cascade and db_deadlock share a family, as do the two deploys.
            [
                "db_deadlock+misrouted_traffic",
                "memory_leak+misrouted_traffic",
                "bad_config_push+misrouted_traffic",
                "dns_outage+misrouted_traffic",
                "cascade+memory_leak",
                "bad_config_push+cascade",
                "cascade+dns_outage",
                "autoscaler_cost_cut+db_deadlock",
                "autoscaler_cost_cut+memory_leak",
                "autoscaler_cost_cut+bad_config_push",
                "autoscaler_cost_cut+dns_outage",
                "db_deadlock+rogue_deploy_bot",
                "memory_leak+rogue_deploy_bot",
                "dns_outage+rogue_deploy_bot",
            ]
        );
        for f in r.pool(Difficulty::Expert) {
            let parts = f.parts();
            assert_eq!(parts.len(), 2, "{}", f.id());
            assert_ne!(parts[0].family(), parts[1].family());
            assert!(parts.iter().filter(|p| p.rogue_agent().is_some()).count() <= 1);
            assert_eq!(
                f.rogue_agent(),
                parts.iter().find_map(|p| p.rogue_agent()),
                "{}",
                f.id()
            );
            // Built once: asking again gives the same compound.
            assert!(std::ptr::addr_eq(f, r.failure(f.id()).unwrap()));
        }
    }

    #[test]
    fn the_oracle_resolves_every_expert_compound_with_and_without_variation() {
        let r = registry();
        let mut played = 0;
        for failure in r.pool(Difficulty::Expert) {
            for variation in Variation::ALL {
                for seed in 0..30 {
                    let scenario = r
                        .scenario(&spec(failure.id(), Difficulty::Expert, seed, *variation))
                        .unwrap();
                    let result = run_episode(
                        r,
                        &scenario,
                        &mut Team::uniform(PolicyKind::Oracle, seed),
                        RunOptions::default(),
                    )
                    .unwrap();
                    let at = format!("{} {variation} seed {seed}", failure.id());
                    assert!(result.resolved, "{at}");
                    assert_eq!(result.wrong_fixes, 0, "{at}");
                    played += 1;
                }
            }
        }
        assert_eq!(played, 14 * 2 * 30);
    }

    #[test]
    fn a_compound_is_resolved_only_once_every_part_is_fixed() {
        // Turn order: sre, oversight, dev, manager.
        let mut e = env("memory_leak+db_deadlock");
        assert_eq!(e.state().failure_type.as_str(), "db_deadlock+memory_leak");
        assert_eq!(e.state().service(Service::Db).health, Health::Critical);
        assert_eq!(
            e.state().service(Service::Notifications).health,
            Health::Degraded
        );
        // Declaring either part is a correct root cause; another type is not.
        let first = e
            .step(&Action::identify_root_cause(&FailureId::MEMORY_LEAK))
            .unwrap()
            .record;
        assert!(first.flags.root_cause_correct);
        assert_eq!(first.breakdown.early_root_cause_bonus, 30.0);
        e.step(&Action::noop()).unwrap();
        let fixed_one = e.step(&Action::restart(Service::Db)).unwrap().record;
        assert!(!fixed_one.flags.resolved && !fixed_one.flags.wrong_fix && !fixed_one.done);
        assert_eq!(fixed_one.breakdown.resolved_bonus, 0.0);
        assert_eq!(fixed_one.breakdown.mttr_penalty, -6.0);
        assert_eq!(e.state().parts_fixed, 0b01, "db_deadlock is part 0");
        // The fixed part stops; the other keeps degrading.
        let leak = e.state().service(Service::Notifications).memory_mb;
        e.step(&Action::noop()).unwrap();
        assert!(e.state().service(Service::Notifications).memory_mb > leak);
        assert_eq!(e.state().service(Service::Db).health, Health::Healthy);
        e.step(&Action::identify_root_cause(&FailureId::DNS_OUTAGE))
            .map(|o| assert!(!o.record.flags.root_cause_correct))
            .unwrap();
        e.step(&Action::noop()).unwrap();
        let last = e
            .step(&Action::restart(Service::Notifications))
            .unwrap()
            .record;
        assert!(last.flags.resolved && last.done);
        assert_eq!(last.breakdown.resolved_bonus, 100.0);
        assert_eq!(last.breakdown.under_budget_bonus, 10.0, "step 7 <= 8");
        assert_eq!(e.state().parts_fixed, 0b11);
    }

    #[test]
    fn fixing_a_fixed_part_again_is_a_wrong_fix_and_one_action_may_fix_several_parts() {
        let mut e = env("db_deadlock+memory_leak");
        for a in [Action::noop(), Action::noop(), Action::restart(Service::Db)] {
            e.step(&a).unwrap();
        }
        for a in [Action::noop(), Action::noop(), Action::noop()] {
            e.step(&a).unwrap();
        }
        let again = e.step(&Action::restart(Service::Db)).unwrap().record;
        assert!(again.flags.wrong_fix && !again.flags.resolved);
        // With variation, memory_leak may hit db: then one restart fixes both parts.
        let r = registry();
        let seed = (0..200)
            .find(|s| {
                let scenario = r
                    .scenario(&spec(
                        "db_deadlock+memory_leak",
                        Difficulty::Easy,
                        *s,
                        Variation::Standard,
                    ))
                    .unwrap();
                let e = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
                e.state().variant_targets.get(Service::Notifications) == Some(Service::Db)
            })
            .expect("some seed moves the leak to db");
        let scenario = r
            .scenario(&spec(
                "db_deadlock+memory_leak",
                Difficulty::Easy,
                seed,
                Variation::Standard,
            ))
            .unwrap();
        let mut e = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
        e.step(&Action::noop()).unwrap();
        e.step(&Action::noop()).unwrap();
        let both = e.step(&Action::restart(Service::Db)).unwrap().record;
        assert!(both.flags.resolved, "seed {seed}");
    }

    #[test]
    fn a_compound_is_named_as_a_list_or_joined_and_refused_by_name_when_it_cannot_be() {
        let r = registry();
        let listed: ScenarioSpec = serde_json::from_str(
            r#"{"failure_type": ["rogue_deploy_bot", "memory_leak"], "difficulty": "expert"}"#,
        )
        .unwrap();
        let scenario = r.scenario(&listed).unwrap();
        assert_eq!(
            scenario.failure_type.as_str(),
            "memory_leak+rogue_deploy_bot"
        );
        assert_eq!(
            scenario.rogue_fleet_agent,
            Some(chaosops_model::FleetAgent::DeployBot)
        );
        assert!(scenario.inject_misleading_logs, "expert has decoys");
        let empty = serde_json::from_str::<ScenarioSpec>(r#"{"failure_type": []}"#)
            .unwrap_err()
            .to_string();
        assert!(empty.contains("at least one failure type"), "{empty}");
        let refused = |id: &str| r.failure(id).err().map(|e| e.to_string());
        assert_eq!(
            refused("db_deadlock+db_deadlock").unwrap(),
            "compound incident \"db_deadlock+db_deadlock\": \"db_deadlock\" is named twice"
        );
        assert!(refused("db_deadlock+nope")
            .unwrap()
            .starts_with("unknown failure type \"nope\"; known: "));
        assert_eq!(
            refused("autoscaler_cost_cut+misrouted_traffic").unwrap(),
            "compound incident \"autoscaler_cost_cut+misrouted_traffic\": \"autoscaler_cost_cut\" \
             and \"misrouted_traffic\" both have a rogue fleet agent; a compound holds at most one"
        );
        assert!(
            refused("db_deadlock+memory_leak+dns_outage+disk_full+cascade")
                .unwrap()
                .ends_with("it names 5 failure types; a compound holds 2 to 3")
        );
        assert!(refused("db_deadlock+")
            .unwrap()
            .contains("an empty failure type"));
        assert!(matches!(
            r.failure("db_deadlock+memory_leak+dns_outage").unwrap().parts(),
            [a, b, c] if a.id() == "db_deadlock" && b.id() == "dns_outage" && c.id() == "memory_leak"
        ));
        assert!(matches!(
            r.failure("db_deadlock+x+").err(),
            Some(SimError::UnknownFailure { .. })
        ));
    }

    #[test]
    fn a_compound_is_the_same_episode_for_the_same_scenario_and_is_held_out_with_any_part() {
        let r = registry();
        for variation in Variation::ALL {
            let scenario = r
                .scenario(&spec(
                    "cascade+dns_outage",
                    Difficulty::Expert,
                    9,
                    *variation,
                ))
                .unwrap();
            let a = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
            let b = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
            assert_eq!(
                serde_json::to_string(a.state()).unwrap(),
                serde_json::to_string(b.state()).unwrap()
            );
            assert!(a.state().misleading_log_count >= 3, "{variation}");
        }
        // autoscaling is a held-out family: every compound holding it is on the test side.
        let held = r.failure("autoscaler_cost_cut+db_deadlock").unwrap();
        assert!((0..20).all(|s| chaosops_sim::split::side(held, s) == Split::Test));
        assert!(!chaosops_sim::split::has_side(held, Split::Train));
        let open = r.failure("cascade+dns_outage").unwrap();
        assert_eq!(chaosops_sim::split::side(open, 3), Split::Train);
    }
}
