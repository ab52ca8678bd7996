//! View projection per role and JSON serialization of an observation.

use chaosops_benches::hard_env;
use chaosops_model::{Action, Observation, Role};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn busy_env() -> chaosops_sim::Environment {
    let mut env = hard_env();
    for message in ["payments is slow", "checking the fleet", "scaling soon"] {
        env.step(&Action::communicate(message)).expect("step");
    }
    env
}

fn projection(c: &mut Criterion) {
    let mut group = c.benchmark_group("view_projection");
    let env = busy_env();
    for role in Role::ALL {
        group.bench_function(role.as_str(), |b| {
            b.iter(|| black_box(env.simulator().project_view(black_box(*role))))
        });
    }
    group.finish();
}

fn observation_json(c: &mut Criterion) {
    let mut group = c.benchmark_group("observation_json");
    let env = busy_env();
    let mut buf = Vec::with_capacity(8192);
    for role in Role::ALL {
        // The observation as `role` would receive it on its turn.
        let observation = Observation {
            view: env.simulator().project_view(*role),
            turn_role: *role,
            ..env.observation()
        };
        group.bench_function(role.as_str(), |b| {
            b.iter(|| {
                buf.clear();
                serde_json::to_writer(&mut buf, black_box(&observation)).expect("json");
                black_box(buf.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, projection, observation_json);
criterion_main!(benches);
