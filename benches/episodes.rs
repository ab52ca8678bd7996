//! Whole episodes (oracle and random) and an evaluation batch on one and two threads.

use chaosops_benches::{registry, scenario};
use chaosops_eval::eval::{evaluate, EvalConfig};
use chaosops_model::Difficulty;
use chaosops_roles::{run_episode, PolicyKind, RunOptions, Team};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn episodes(c: &mut Criterion) {
    let mut group = c.benchmark_group("episode");
    let s = scenario("autoscaler_cost_cut", Difficulty::Hard);
    for kind in [PolicyKind::Oracle, PolicyKind::Random] {
        group.bench_function(kind.as_str(), |b| {
            b.iter(|| {
                let mut team = Team::uniform(kind, 7);
                black_box(
                    run_episode(registry(), &s, &mut team, RunOptions::default()).expect("episode"),
                )
            })
        });
    }
    group.finish();
}

fn eval_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("eval_batch");
    group.sample_size(20);
    // 3 policies x 11 tier slots x 1000 episodes = 33000 episodes.
    let config: EvalConfig = EvalConfig {
        episodes_per_type: 1000,
        ..EvalConfig::default()
    };
    for jobs in [1, 2] {
        let threads = std::num::NonZeroUsize::new(jobs).expect("non-zero");
        group.bench_function(format!("jobs={jobs}"), |b| {
            b.iter(|| black_box(evaluate(registry(), &config, threads, &|| {}).expect("eval")))
        });
    }
    group.finish();
}

criterion_group!(benches, episodes, eval_batch);
criterion_main!(benches);
