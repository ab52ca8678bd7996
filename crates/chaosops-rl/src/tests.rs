//! Tests of the learner interface against the built-in failures.

use std::sync::Arc;

use chaosops_model::{Action, Difficulty, FailureId, FleetAgent, Role, Service};
use chaosops_roles::PolicyKind;
use chaosops_sim::{Environment, Registry, RewardConfig, RoleProjection};

use crate::*;

fn registry() -> &'static Registry {
    chaosops_failures::link();
    chaosops_roles::link();
    Registry::global().unwrap()
}

fn source(config: EnvConfig) -> Arc<ScenarioSource> {
    Arc::new(ScenarioSource::new(registry(), &config).unwrap())
}

fn table() -> Arc<ActionTable> {
    Arc::new(ActionTable::new(registry()))
}

#[test]
fn the_table_round_trips_and_starts_with_noop() {
    let t = table();
    assert_eq!(t.len(), IDENTIFY + registry().ids().len());
    assert_eq!(t.decode(NOOP), Some(&Action::noop()));
    assert_eq!(t.names().len(), t.len());
    for i in 0..t.len() {
        let action = t.decode(i).unwrap();
        assert_eq!(t.encode(action), Some(i), "{}", t.names()[i]);
        assert_eq!(t.encode(&action.clone().with_role(Role::Dev)), Some(i));
    }
    assert_eq!(
        t.names()[IDENTIFY],
        "identify_root_cause:autoscaler_cost_cut"
    );
    assert_eq!(t.encode(&Action::scale(Service::Db, 5)), None);
    assert_eq!(t.encode(&Action::communicate("hello")), None);
    assert_eq!(
        t.encode(&Action::restart(Service::Db).with_target("dbx")),
        None
    );
    let mut explicit_all = Action::communicate(COMMUNICATE_MESSAGE);
    explicit_all.args.to = Some("ALL".into());
    assert_eq!(
        t.encode(&explicit_all),
        t.encode(&Action::communicate(COMMUNICATE_MESSAGE))
    );
    assert!(t
        .get(-1)
        .unwrap_err()
        .to_string()
        .contains("action index -1"));
    assert!(t.get(t.len() as i64).is_err());
}

#[test]
fn masks_follow_the_role_rules() {
    let t = table();
    let flag = t
        .encode(&Action::flag_rogue(FleetAgent::DeployBot))
        .unwrap();
    let resolve = t.encode(&Action::resolve()).unwrap();
    for role in Role::ALL {
        let m = t.mask(*role);
        assert_eq!(m[flag], i8::from(*role == Role::Oversight), "{role}");
        assert_eq!(m[resolve], i8::from(*role == Role::Manager), "{role}");
        assert_eq!(m[NOOP], 1);
        let masked = match role {
            Role::Oversight => 1, // resolve
            Role::Manager => 3,   // the three flags
            _ => 4,
        };
        assert_eq!(m.iter().filter(|v| **v == 0).count(), masked, "{role}");
    }
}

/// A scripted mix of actions that exercises chat, inboxes, flags and fixes.
fn script() -> Vec<Action> {
    vec![
        Action::communicate("looking at payments"),
        Action::flag_rogue(FleetAgent::Autoscaler),
        Action::communicate_to(Role::Manager, "db is slow"),
        Action::restart(Service::Payments),
        Action::identify_root_cause(&FailureId::DB_DEADLOCK),
        Action::communicate_to(Role::Dev, "rollback please"),
        Action::rollback(Service::Auth),
        Action::noop(),
    ]
}

/// Mutates everything no role may see (or that `role` may not see), keeping what it may.
fn hide_changes(state: &mut chaosops_model::State, role: Role) {
    state.failure_type = FailureId::from_static("something_else");
    state.rogue_fleet_agent = Some(FleetAgent::LoadBalancer);
    state.misleading_log_count += 7;
    state.wrong_fixes += 3;
    state.miscommunications += 3;
    state.oversight_flags.push("nobody".into());
    state.declared_root_cause = Some(FailureId::from_static("x"));
    state.cumulative_reward -= 1234.0;
    for line in &mut state.all_logs {
        line.is_red_herring = !line.is_red_herring;
    }
    for a in &mut state.fleet_actions {
        a.was_malicious = !a.was_malicious;
    }
    for other in Role::ALL.iter().filter(|r| **r != role) {
        state.private_chat.push(*other, "secret".into());
    }
    if role == Role::Manager {
        for m in state.services.0.iter_mut() {
            m.cpu_pct = 99.0;
            m.replicas = 7;
        }
    }
    if role != Role::Oversight {
        state.record_fleet_action(FleetAgent::DeployBot, "push_config", Service::Auth, true);
    }
    if role == Role::Dev {
        // Older than the developer's three newest lines.
        let n = state.all_logs.len();
        if n > 3 {
            state.all_logs[0].message = "a hidden old line".into();
        }
    }
}

#[test]
fn no_role_vector_shows_what_the_role_may_not_see() {
    let r = registry();
    let mut checked = 0;
    for failure in r.failures() {
        for tier in Difficulty::ALL {
            let spec = chaosops_model::ScenarioSpec {
                failure_type: FailureId::from_static(failure.id()),
                seed: 11,
                difficulty: *tier,
                max_steps: 30,
                variation: Default::default(),
            };
            let scenario = r.scenario(&spec).unwrap();
            let mut env = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
            for action in script() {
                for role in Role::ALL {
                    let mut before = [0.0f32; OBS_LEN];
                    encode_observation(&env.observation_for(*role), 30, &mut before);
                    let mut hidden = env.state().clone();
                    hide_changes(&mut hidden, *role);
                    let observed = chaosops_model::Observation {
                        view: r.projection(*role).project(&hidden),
                        ..env.observation_for(*role)
                    };
                    let mut after = [0.0f32; OBS_LEN];
                    encode_observation(&observed, 30, &mut after);
                    assert_eq!(before, after, "{} {tier} {role}", failure.id());
                    assert!(before.iter().all(|v| (-1.0..=1.0).contains(v)));
                    checked += 1;
                }
                if env.is_done() {
                    break;
                }
                env.step_record(&action).unwrap();
            }
        }
    }
    assert!(checked > 200, "{checked}");
}

#[test]
fn the_vector_tells_failures_apart() {
    let r = registry();
    let mut seen: Vec<Vec<f32>> = Vec::new();
    for failure in r.failures() {
        let spec = chaosops_model::ScenarioSpec {
            failure_type: FailureId::from_static(failure.id()),
            seed: 0,
            difficulty: Difficulty::Hard,
            max_steps: 20,
            variation: Default::default(),
        };
        let env = Environment::new(
            r,
            &r.scenario(&spec).unwrap(),
            RewardConfig::default(),
            None,
        )
        .unwrap();
        let mut v = vec![0.0f32; OBS_LEN];
        encode_observation(&env.observation_for(Role::Oversight), 20, &mut v);
        assert!(
            !seen.contains(&v),
            "{} looks like another failure",
            failure.id()
        );
        seen.push(v);
    }
}

#[test]
fn cached_encoding_equals_encoding_from_scratch() {
    // Every tier (compounds included), with and without variation: the cached encoder shares
    // values between roles and lists, so every mix of visible lists must come out exact.
    let t = table();
    let configs = [
        EnvConfig::default(),
        EnvConfig {
            tiers: Difficulty::ALL.to_vec(),
            variation: Variation::Standard,
            ..EnvConfig::default()
        },
    ];
    for (c, config) in configs.into_iter().enumerate() {
        let mut env = TurnEnv::new(source(config), t.clone());
        for seed in 0..60u64 {
            check_cached_episode(&mut env, &t, seed, c);
        }
    }
}

fn check_cached_episode(env: &mut TurnEnv, t: &ActionTable, seed: u64, config: usize) {
    assert_eq!(
        first_cached_mismatch(env, t, seed),
        None,
        "config {config} seed {seed}: the cached encoding differs at (step, role)"
    );
}

/// Plays the episode of `seed` with actions drawn from it, encoding every role through the
/// cache and from scratch at each turn; the first (step, role) where they differ.
fn first_cached_mismatch(env: &mut TurnEnv, t: &ActionTable, seed: u64) -> Option<(u64, Role)> {
    env.reset(seed).unwrap();
    let mut k = 0;
    while !env.is_done() {
        for role in Role::ALL {
            let mut cached = [0.0f32; OBS_LEN];
            env.encode(*role, &mut cached).unwrap();
            let e = env.environment().unwrap();
            let mut fresh = [0.0f32; OBS_LEN];
            encode_observation(&e.observation_for(*role), e.state().max_steps, &mut fresh);
            if cached != fresh {
                return Some((k, *role));
            }
        }
        let i = (splitmix64(seed * 1000 + k) % t.len() as u64) as i64;
        env.step_index(i).unwrap();
        k += 1;
    }
    None
}

/// The SRE's view with its metrics hidden on odd steps: it reads the step count, not only
/// the lists. `claims` is what it declares.
struct Flicker {
    claims: bool,
}

impl RoleProjection for Flicker {
    fn role(&self) -> Role {
        Role::Sre
    }
    fn project<'a>(&self, state: &'a chaosops_model::State) -> chaosops_model::RoleView<'a> {
        let mut view = registry().projection(Role::Sre).project(state);
        if state.step_count % 2 == 1 {
            view.visible_metrics = None;
        }
        view
    }
    fn view_follows_lists(&self) -> bool {
        self.claims
    }
}

/// The built-in failures and projections, the SRE's replaced by `sre`.
fn registry_with_sre(sre: &'static Flicker) -> &'static Registry {
    let global = registry();
    let projections = Role::ALL.iter().map(|&r| {
        if r == Role::Sre {
            sre as &dyn RoleProjection
        } else {
            global.projection(r)
        }
    });
    Box::leak(Box::new(
        Registry::from_parts(global.failures(), projections).unwrap(),
    ))
}

#[test]
fn a_projection_that_reads_more_than_the_lists_is_projected_every_turn() {
    // Declared honestly (the default), a projection that reads the step count is asked every
    // turn and the encoding stays exact. The same projection claiming to follow the lists is
    // caught by this check, so the check can fail.
    static HONEST: Flicker = Flicker { claims: false };
    static CLAIMS: Flicker = Flicker { claims: true };
    for (sre, exact) in [(&HONEST, true), (&CLAIMS, false)] {
        let source =
            Arc::new(ScenarioSource::new(registry_with_sre(sre), &EnvConfig::default()).unwrap());
        let t = Arc::new(ActionTable::new(source.registry()));
        let mut env = TurnEnv::new(source, t.clone());
        let mismatches: Vec<_> = (0..20u64)
            .filter_map(|seed| first_cached_mismatch(&mut env, &t, seed))
            .collect();
        assert_eq!(
            mismatches.is_empty(),
            exact,
            "claims {}: {mismatches:?}",
            sre.claims
        );
    }
}

#[test]
fn a_start_seen_before_gives_the_values_computed_for_it() {
    // The same episodes twice on one thread: the second pass finds every start the first
    // computed (the thread's start cache) and must still encode every role at every turn
    // exactly as from scratch.
    let t = table();
    let configs = [
        EnvConfig::default(),
        EnvConfig {
            tiers: Difficulty::ALL.to_vec(),
            ..EnvConfig::default()
        },
    ];
    for (c, config) in configs.into_iter().enumerate() {
        let mut env = TurnEnv::new(source(config), t.clone());
        for seed in 0..40u64 {
            check_cached_episode(&mut env, &t, seed, c);
        }
        let (found, computed) = crate::starts::tally();
        for seed in 0..40u64 {
            check_cached_episode(&mut env, &t, seed, c);
        }
        let (found_again, computed_again) = crate::starts::tally();
        assert_eq!(
            computed_again, computed,
            "config {c}: a start computed twice"
        );
        assert_eq!(found_again - found, 40, "config {c}: a start not found");
    }
}

/// The manager's view without its alerts: it follows the lists, but shows other values of
/// them than the built-in manager's.
struct NoAlerts;

impl RoleProjection for NoAlerts {
    fn role(&self) -> Role {
        Role::Manager
    }
    fn project<'a>(&self, state: &'a chaosops_model::State) -> chaosops_model::RoleView<'a> {
        let mut view = registry().projection(Role::Manager).project(state);
        view.visible_alerts = &[];
        view
    }
    fn view_follows_lists(&self) -> bool {
        true
    }
}

#[test]
fn a_start_is_not_given_to_another_registrys_projections() {
    // The same scenarios and lists under the built-in registry, then under one whose manager
    // sees no alerts: the second must compute its own starts, not take the first's.
    static QUIET: NoAlerts = NoAlerts;
    let global = registry();
    let projections = Role::ALL.iter().map(|&r| {
        if r == Role::Manager {
            &QUIET as &dyn RoleProjection
        } else {
            global.projection(r)
        }
    });
    let quiet: &'static Registry = Box::leak(Box::new(
        Registry::from_parts(global.failures(), projections).unwrap(),
    ));
    let t = table();
    for (c, registry) in [global, quiet].into_iter().enumerate() {
        let source = Arc::new(ScenarioSource::new(registry, &EnvConfig::default()).unwrap());
        let mut env = TurnEnv::new(source, t.clone());
        for seed in 0..20u64 {
            check_cached_episode(&mut env, &t, seed, c);
        }
    }
}

#[test]
fn learner_rewards_add_up_to_the_cumulative_reward() {
    let t = table();
    let mut env = TurnEnv::new(source(EnvConfig::default()), t.clone());
    let mut truncated_seen = false;
    for seed in 0..60u64 {
        env.reset(seed).unwrap();
        let mut total = 0.0;
        let mut k = 0;
        loop {
            let i = (splitmix64(seed ^ (k << 20)) % t.len() as u64) as i64;
            let o = env.step_index(i).unwrap();
            total += o.record.reward;
            k += 1;
            let state = env.environment().unwrap().state();
            if o.record.done {
                assert_eq!(o.terminated, state.resolved);
                assert_eq!(o.truncated, !state.resolved);
                if o.truncated {
                    truncated_seen = true;
                    assert_eq!(o.team, o.record.team_reward - 60.0);
                    assert_eq!(o.oversight, o.record.oversight_reward - 18.0);
                    total -= 60.0;
                }
                assert!((total - state.cumulative_reward).abs() < 1e-9);
                break;
            }
            assert!(!o.terminated && !o.truncated);
            assert_eq!(o.team, o.record.team_reward);
            assert_eq!(o.reward_of(Role::Oversight), o.record.oversight_reward);
        }
    }
    assert!(truncated_seen);
}

#[test]
fn strict_pays_repeated_bonuses_once() {
    let config = |reward| EnvConfig {
        failure_types: Some(vec!["rogue_deploy_bot".into()]),
        tiers: vec![Difficulty::Hard],
        max_steps: Some(40),
        reward,
        ..EnvConfig::default()
    };
    let mut totals = Vec::new();
    for preset in RewardPreset::ALL {
        let mut env = TurnEnv::new(source(config(preset)), table());
        env.reset(3).unwrap();
        let mut bonus = 0.0;
        for _ in 0..3 {
            // sre declares, oversight flags, dev and manager wait: twice over.
            let o = env
                .step(&Action::identify_root_cause(&FailureId::ROGUE_DEPLOY_BOT))
                .unwrap();
            bonus += o.record.breakdown.early_root_cause_bonus;
            let o = env
                .step(&Action::flag_rogue(FleetAgent::DeployBot))
                .unwrap();
            bonus += o.record.breakdown.rogue_caught_bonus;
            env.step(&Action::noop()).unwrap();
            env.step(&Action::noop()).unwrap();
        }
        totals.push(bonus);
    }
    // Reference: the first declaration came at step 1, inside the early window, so every
    // later correct declaration pays again, and so does every correct flag (the farming the
    // strict preset exists for); strict pays each bonus once.
    assert_eq!(totals, [90.0 + 150.0, 30.0 + 50.0]);
    assert_eq!(
        "strict".parse::<RewardPreset>().unwrap(),
        RewardPreset::Strict
    );
    assert!("lenient"
        .parse::<RewardPreset>()
        .unwrap_err()
        .to_string()
        .contains("\"lenient\""));
}

#[test]
fn a_seed_picks_one_scenario() {
    let s = source(EnvConfig::default());
    assert_eq!(s.scenario(5), s.scenario(5));
    let picks: std::collections::BTreeSet<_> = (0..500)
        .map(|seed| {
            let sc = s.scenario(seed);
            (sc.failure_type.to_string(), sc.difficulty)
        })
        .collect();
    assert_eq!(
        picks.len(),
        s.candidates().len(),
        "every pool entry is drawn"
    );
    let easy = source(EnvConfig {
        tiers: vec![Difficulty::Easy],
        ..EnvConfig::default()
    });
    assert!((0..50).all(|seed| easy.scenario(seed).max_steps == 12));
    let err = ScenarioSource::new(
        registry(),
        &EnvConfig {
            failure_types: Some(vec!["dns_outag".into()]),
            ..EnvConfig::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("failure_types: unknown failure type \"dns_outag\""),
        "{err}"
    );
    let err = ScenarioSource::new(
        registry(),
        &EnvConfig {
            max_steps: Some(0),
            ..EnvConfig::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("max_steps: 0 is out of range"));
    assert_eq!(
        "standard".parse::<Variation>().unwrap(),
        Variation::Standard
    );
    assert!("wild".parse::<Variation>().is_err());
}

#[test]
fn a_seat_collects_the_reward_of_the_turns_between() {
    let t = table();
    let config = EnvConfig {
        failure_types: Some(vec!["autoscaler_cost_cut".into()]),
        tiers: vec![Difficulty::Hard],
        ..EnvConfig::default()
    };
    let others = [PolicyKind::Oracle; 4];
    let mut seat = SeatEnv::new(
        TurnEnv::new(source(config.clone()), t.clone()),
        Role::Dev,
        others,
    );
    assert_eq!(seat.reset(9).unwrap(), 0);
    // The oracle SRE declared (+30 - 2) and oversight flagged (-4, +50 goes to oversight only).
    let env = seat.turn_env().environment().unwrap();
    assert_eq!(env.current_role(), Role::Dev);
    let o = seat.step(&Action::scale(Service::Payments, 4)).unwrap();
    assert!(o.terminated);
    assert_eq!(o.reward, 110.0);
    // The same seat playing noop: its reward covers its turn and the manager's, sre's and oversight's.
    let mut seat = SeatEnv::new(TurnEnv::new(source(config), t), Role::Dev, others);
    seat.reset(9).unwrap();
    let o = seat.step(&Action::noop()).unwrap();
    // dev noop (step 3: -6), manager noop (-8), sre declares again (-10, and +30 again under
    // the reference weights), oversight flags again (-12; its +50 is oversight's alone).
    assert_eq!(o.reward, -6.0 - 8.0 + (30.0 - 10.0) - 12.0);
    assert_eq!(
        seat.turn_env().environment().unwrap().current_role(),
        Role::Dev
    );
}

#[test]
fn a_seat_redraws_episodes_that_end_before_its_turn() {
    let config = EnvConfig {
        failure_types: Some(vec!["db_deadlock".into(), "autoscaler_cost_cut".into()]),
        tiers: vec![Difficulty::Easy],
        ..EnvConfig::default()
    };
    // A heuristic SRE restarts db on turn one: db_deadlock ends before the dev's turn.
    let mut seat = SeatEnv::new(
        TurnEnv::new(source(config), table()),
        Role::Dev,
        [PolicyKind::Heuristic; 4],
    );
    let mut redrawn = 0;
    for seed in 0..30 {
        redrawn += seat.reset(seed).unwrap();
        let env = seat.turn_env().environment().unwrap();
        assert!(!env.is_done());
        assert_eq!(env.current_role(), Role::Dev);
    }
    assert!(redrawn > 0);
    let config = EnvConfig {
        failure_types: Some(vec!["db_deadlock".into()]),
        tiers: vec![Difficulty::Easy],
        ..EnvConfig::default()
    };
    let mut hopeless = SeatEnv::new(
        TurnEnv::new(source(config), table()),
        Role::Dev,
        [PolicyKind::Heuristic; 4],
    );
    // The heuristic SRE investigates 15% of the time, so some seeds survive; a manager seat
    // behind an SRE that always fixes would not. Either way the reset is deterministic.
    let a = hopeless.reset(1).map(|_| hopeless.episode_seed());
    let b = hopeless.reset(1).map(|_| hopeless.episode_seed());
    assert_eq!(a, b);
}

/// Runs a vector env for `steps` with pseudo-random legal actions; returns a digest of every output.
fn run_vector(mode: VecMode, threads: usize, steps: u64) -> Vec<u64> {
    run_vector_of(EnvConfig::default(), mode, threads, steps)
}

/// [`run_vector`] drawing from `config`.
fn run_vector_of(config: EnvConfig, mode: VecMode, threads: usize, steps: u64) -> Vec<u64> {
    let t = table();
    let n = 37;
    let mut v = VecEnv::new(source(config), t.clone(), mode, n, threads).unwrap();
    let mut out = VecOutputs::new(n, t.len(), mode.reward_width());
    v.reset(1000, out.buffers()).unwrap();
    let mut digest = Vec::new();
    let mut actions = vec![0i64; n];
    for step in 0..steps {
        for (i, a) in actions.iter_mut().enumerate() {
            let mask = &out.masks[i * t.len()..(i + 1) * t.len()];
            let legal: Vec<usize> = (0..t.len()).filter(|j| mask[*j] == 1).collect();
            *a = legal[(splitmix64(step * 7919 + i as u64) % legal.len() as u64) as usize] as i64;
        }
        v.step(&actions, out.buffers()).unwrap();
        let mut h = 0u64;
        for x in &out.obs {
            h = splitmix64(h ^ u64::from(x.to_bits()));
        }
        for x in &out.rewards {
            h = splitmix64(h ^ x.to_bits());
        }
        for (a, b) in out.terminated.iter().zip(&out.truncated) {
            h = splitmix64(h ^ u64::from(*a) ^ (u64::from(*b) << 1));
        }
        digest.push(h);
    }
    digest
}

#[test]
fn vector_results_do_not_depend_on_threads() {
    let seat = VecMode::Seat {
        seat: Role::Sre,
        others: [PolicyKind::Heuristic; 4],
    };
    for mode in [VecMode::Turn, seat] {
        let one = run_vector(mode, 1, 120);
        assert_eq!(one, run_vector(mode, 2, 120), "{mode:?}");
        assert_eq!(one, run_vector(mode, 3, 120), "{mode:?}");
    }
    // Compound incidents (every tier, expert included) with variation: the same.
    let all = EnvConfig {
        tiers: Difficulty::ALL.to_vec(),
        variation: crate::Variation::Standard,
        ..EnvConfig::default()
    };
    let one = run_vector_of(all.clone(), VecMode::Turn, 1, 120);
    assert_eq!(one, run_vector_of(all, VecMode::Turn, 3, 120));
}

#[test]
fn the_vector_matches_single_environments_and_auto_resets() {
    let t = table();
    let n = 3;
    let src = source(EnvConfig::default());
    let mut v = VecEnv::new(src.clone(), t.clone(), VecMode::Turn, n, 1).unwrap();
    let mut out = VecOutputs::new(n, t.len(), 4);
    v.reset(50, out.buffers()).unwrap();
    let mut singles: Vec<TurnEnv> = (0..n)
        .map(|i| {
            let mut e = TurnEnv::new(src.clone(), t.clone());
            e.reset(50 + i as u64).unwrap();
            e
        })
        .collect();
    let mut resets = 0;
    for step in 0..200u64 {
        let actions: Vec<i64> = (0..n).map(|i| ((step + i as u64) % 12) as i64).collect();
        let pending: Vec<bool> = singles.iter().map(TurnEnv::is_done).collect();
        v.step(&actions, out.buffers()).unwrap();
        for i in 0..n {
            let e = &mut singles[i];
            if pending[i] {
                resets += 1;
                assert_eq!(&out.rewards[i * 4..i * 4 + 4], &[0.0; 4]);
                let seed = v.episode_seed(i).unwrap();
                e.reset_to(&src.scenario(seed)).unwrap();
            } else {
                let o = e.step_index(actions[i]).unwrap();
                for (k, role) in Role::TURN_ORDER.iter().enumerate() {
                    assert_eq!(out.rewards[i * 4 + k], o.reward_of(*role));
                }
                assert_eq!(out.terminated[i], o.terminated);
                assert_eq!(out.truncated[i], o.truncated);
            }
            let mut expected = [0.0f32; OBS_LEN];
            let role = e.current_role().unwrap();
            e.encode(role, &mut expected).unwrap();
            assert_eq!(&out.obs[i * OBS_LEN..(i + 1) * OBS_LEN], &expected[..]);
            assert_eq!(&out.masks[i * t.len()..(i + 1) * t.len()], t.mask(role));
        }
    }
    assert!(resets > 3, "{resets}");
}

#[test]
fn a_bad_action_changes_nothing() {
    let t = table();
    let mut v = VecEnv::new(source(EnvConfig::default()), t.clone(), VecMode::Turn, 2, 1).unwrap();
    let mut out = VecOutputs::new(2, t.len(), 4);
    let err = v.step(&[0, 0], out.buffers()).unwrap_err();
    assert_eq!(err, RlError::NotReset);
    v.reset(1, out.buffers()).unwrap();
    let before = out.obs.clone();
    let err = v.step(&[0, 999], out.buffers()).unwrap_err();
    assert!(err.to_string().contains("action index 999"), "{err}");
    let err = v.step(&[0], out.buffers()).unwrap_err();
    assert_eq!(err.to_string(), "got 1 actions for 2 environments");
    assert_eq!(out.obs, before);
    let mut short = VecOutputs::new(1, t.len(), 4);
    let err = v.step(&[0, 0], short.buffers()).unwrap_err();
    assert!(
        err.to_string().starts_with("buffer observations holds"),
        "{err}"
    );
    v.step(&[0, 0], out.buffers()).unwrap();
    assert_eq!(v.episode_seed(0), Some(1));
}

#[test]
fn a_reset_in_place_equals_a_fresh_environment() {
    let r = registry();
    let mut env = TurnEnv::new(source(EnvConfig::default()), table());
    env.reset(0).unwrap();
    for failure in r.failures() {
        for tier in Difficulty::ALL {
            for k in 0..5 {
                env.step_index(k).ok();
            }
            let spec = chaosops_model::ScenarioSpec {
                failure_type: FailureId::from_static(failure.id()),
                seed: 5,
                difficulty: *tier,
                max_steps: 20,
                variation: Default::default(),
            };
            let scenario = r.scenario(&spec).unwrap();
            env.reset_to(&scenario).unwrap();
            let fresh = Environment::new(r, &scenario, RewardConfig::default(), None).unwrap();
            assert_eq!(
                env.environment().unwrap().state(),
                fresh.state(),
                "{} {tier}",
                failure.id()
            );
        }
    }
}
