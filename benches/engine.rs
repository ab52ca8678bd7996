//! Reset per failure, one engine step per action type, one environment step per action type.
//!
//! Step benchmarks run one long episode (1000 steps) of hard `autoscaler_cost_cut`,
//! stepping in place and resetting when the budget runs out, so the figure is the
//! steady-state cost of a step (the reset is amortised over 1000 steps). None of the
//! sample actions resolves that scenario.

use chaosops_benches::{long_scenario, registry, sample_actions, scenario};
use chaosops_model::{Action, Difficulty, Scenario, Variation};
use chaosops_sim::{Environment, RewardConfig, Simulator};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn reset(c: &mut Criterion) {
    let mut group = c.benchmark_group("reset");
    for id in chaosops_failures::BUILTIN_IDS {
        let s = scenario(id, Difficulty::Hard);
        group.bench_function(id, |b| {
            b.iter(|| Simulator::reset(registry(), black_box(&s), None))
        });
    }
    group.finish();
}

fn engine_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_step");
    let s = long_scenario();
    for (t, role, action) in sample_actions() {
        let mut sim = Simulator::reset(registry(), &s, None).expect("reset");
        group.bench_function(t.as_str(), |b| {
            b.iter(|| {
                if sim.is_terminal() {
                    sim = Simulator::reset(registry(), &s, None).expect("reset");
                }
                let flags = sim.apply_action(role, black_box(&action));
                sim.tick();
                black_box(flags).ok()
            })
        });
    }
    group.finish();
}

fn env_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("env_step_with_view");
    let s = long_scenario();
    for (t, _, action) in sample_actions() {
        let mut env = Environment::new(registry(), &s, RewardConfig::default(), None).expect("env");
        group.bench_function(t.as_str(), |b| {
            b.iter(|| {
                if env.is_done() {
                    env.reset(&s, None).expect("reset");
                }
                if let Ok(outcome) = env.step(black_box(&action)) {
                    black_box(outcome.observation);
                }
            })
        });
    }
    group.finish();
}

/// Variation `standard` against `none` (docs/behaviour.md §15): an environment step (with
/// its view) of the noop action on the long scenario, and an in-place reset of hard
/// `memory_leak` (its target, magnitudes, wording and decoys drawn).
fn variation(c: &mut Criterion) {
    let mut group = c.benchmark_group("variation");
    for v in [Variation::None, Variation::Standard] {
        let s = Scenario {
            variation: v,
            ..long_scenario()
        };
        let noop = Action::noop();
        let mut env = Environment::new(registry(), &s, RewardConfig::default(), None).expect("env");
        group.bench_function(format!("env_step_{v}"), |b| {
            b.iter(|| {
                if env.is_done() {
                    env.reset(&s, None).expect("reset");
                }
                if let Ok(outcome) = env.step(black_box(&noop)) {
                    black_box(outcome.observation);
                }
            })
        });
        let r = Scenario {
            variation: v,
            ..scenario("memory_leak", Difficulty::Hard)
        };
        let mut sim = Simulator::reset(registry(), &r, None).expect("reset");
        group.bench_function(format!("reset_in_place_{v}"), |b| {
            b.iter(|| sim.reset_in_place(black_box(&r), None))
        });
    }
    group.finish();
}

/// A compound incident (docs/behaviour.md §18) against a single type: an environment step
/// (with its view) of the noop action on a 1000-step expert `cascade+memory_leak` (both
/// parts tick every step), and its in-place reset.
fn compound(c: &mut Criterion) {
    let mut group = c.benchmark_group("compound");
    let s = Scenario {
        max_steps: chaosops_model::limits::MAX_STEPS,
        ..scenario("cascade+memory_leak", Difficulty::Expert)
    };
    let noop = Action::noop();
    let mut env = Environment::new(registry(), &s, RewardConfig::default(), None).expect("env");
    group.bench_function("env_step", |b| {
        b.iter(|| {
            if env.is_done() {
                env.reset(&s, None).expect("reset");
            }
            if let Ok(outcome) = env.step(black_box(&noop)) {
                black_box(outcome.observation);
            }
        })
    });
    let mut sim = Simulator::reset(registry(), &s, None).expect("reset");
    group.bench_function("reset_in_place", |b| {
        b.iter(|| sim.reset_in_place(black_box(&s), None))
    });
    group.finish();
}

criterion_group!(benches, reset, engine_step, env_step, variation, compound);
criterion_main!(benches);
