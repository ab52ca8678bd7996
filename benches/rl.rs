//! The learner interface: observation encoding, one turn with its observation, and vector
//! steps of 64 environments in turn and seat mode.

use std::hint::black_box;
use std::sync::Arc;

use chaosops_benches::registry;
use chaosops_model::Role;
use chaosops_rl::{
    encode_observation, ActionTable, EnvConfig, ScenarioSource, TurnEnv, VecEnv, VecMode,
    VecOutputs, OBS_LEN,
};
use chaosops_roles::PolicyKind;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn parts() -> (Arc<ScenarioSource>, Arc<ActionTable>) {
    let r = registry();
    (
        Arc::new(ScenarioSource::new(r, &EnvConfig::default()).expect("source")),
        Arc::new(ActionTable::new(r)),
    )
}

fn encode(c: &mut Criterion) {
    let env = chaosops_benches::hard_env();
    let mut out = [0.0f32; OBS_LEN];
    let mut g = c.benchmark_group("encode_observation");
    for role in Role::ALL {
        g.bench_function(role.as_str(), |b| {
            b.iter(|| {
                encode_observation(black_box(&env.observation_for(*role)), 25, &mut out);
                black_box(&out);
            })
        });
    }
    g.finish();
}

fn turn(c: &mut Criterion) {
    let r = registry();
    let long = EnvConfig {
        max_steps: Some(chaosops_model::limits::MAX_STEPS),
        ..EnvConfig::default()
    };
    let source = Arc::new(ScenarioSource::new(r, &long).expect("source"));
    let mut env = TurnEnv::new(source, Arc::new(ActionTable::new(r)));
    let mut out = [0.0f32; OBS_LEN];
    env.reset(0).expect("reset");
    c.bench_function("turn_env/step_and_encode_no_reset", |b| {
        b.iter(|| {
            if env.is_done() {
                env.reset(0).expect("reset");
            }
            let o = env.step_index(black_box(0)).expect("step");
            let role = env.current_role().expect("role");
            env.encode(role, &mut out).expect("encode");
            black_box((o, &out));
        })
    });
    let mut env = TurnEnv::new(
        Arc::new(ScenarioSource::new(r, &long).expect("source")),
        Arc::new(ActionTable::new(r)),
    );
    env.reset(0).expect("reset");
    c.bench_function("turn_env/step_only_no_reset", |b| {
        b.iter(|| {
            if env.is_done() {
                env.reset(0).expect("reset");
            }
            black_box(env.step_index(black_box(0)).expect("step"));
        })
    });
    env.reset(0).expect("reset");
    env.step_index(0).expect("step");
    c.bench_function("turn_env/encode_cached", |b| {
        b.iter(|| {
            env.encode(black_box(Role::Oversight), &mut out)
                .expect("encode");
            black_box(&out);
        })
    });
    c.bench_function("turn_env/observation_for", |b| {
        let e = env.environment().expect("env");
        b.iter(|| black_box(e.observation_for(black_box(Role::Oversight))))
    });
    let mut seed = 0;
    c.bench_function("turn_env/reset", |b| {
        b.iter(|| {
            seed += 1;
            env.reset(black_box(seed)).expect("reset");
        })
    });
    let (source, table) = parts();
    let mut env = TurnEnv::new(source, table);
    let mut out = [0.0f32; OBS_LEN];
    let mut seed = 0u64;
    env.reset(seed).expect("reset");
    c.bench_function("turn_env/step_and_encode", |b| {
        b.iter(|| {
            if env.is_done() {
                seed += 1;
                env.reset(seed).expect("reset");
            }
            let o = env.step_index(black_box(0)).expect("step");
            let role = env.current_role().expect("role");
            env.encode(role, &mut out).expect("encode");
            black_box((o, &out));
        })
    });
}

fn vector(c: &mut Criterion) {
    let n = 64;
    let (source, table) = parts();
    let modes = [
        ("turn", VecMode::Turn),
        (
            "seat_noop",
            VecMode::Seat {
                seat: Role::Sre,
                others: [PolicyKind::Noop; 4],
            },
        ),
        (
            "seat_heuristic",
            VecMode::Seat {
                seat: Role::Sre,
                others: [PolicyKind::Heuristic; 4],
            },
        ),
    ];
    let mut g = c.benchmark_group("vec_step_64");
    g.throughput(Throughput::Elements(n as u64));
    for (name, mode) in modes {
        let mut v = VecEnv::new(source.clone(), table.clone(), mode, n, 1).expect("vec");
        let mut out = VecOutputs::for_env(&v);
        v.reset(0, out.buffers()).expect("reset");
        // noop for everyone: long episodes, the steady-state cost of a step.
        let actions = vec![0i64; n];
        g.bench_function(name, |b| {
            b.iter(|| v.step(black_box(&actions), out.buffers()).expect("step"))
        });
    }
    g.finish();
}

criterion_group!(benches, encode, turn, vector);
criterion_main!(benches);
