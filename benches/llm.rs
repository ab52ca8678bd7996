//! The LLM adapter: parsing completions, rendering prompts, scoring a completion with replay.

use chaosops_benches::{hard_env, registry};
use chaosops_eval::replay::{replay_line, ReplayOptions};
use chaosops_llm::{parse_action, render_observation};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_completion");
    let cases = [
        ("bare", r#"{"action_type": "scale", "target": "payments", "args": {"replicas": 4}}"#.to_owned()),
        (
            "chatter",
            "The autoscaler shrank payments, so I will scale it back out.\n{\"action_type\": \"scale\", \"target\": \"payments\", \"args\": {\"replicas\": 4}}\nThat should help.".to_owned(),
        ),
        (
            "fenced",
            "```json\n{\n  \"action_type\": \"communicate\",\n  \"args\": {\"message\": \"payments {p95} is \\\"bad\\\"\", \"to\": \"dev\"}\n}\n```".to_owned(),
        ),
    ];
    for (name, text) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(parse_action(black_box(text), registry())))
        });
    }
    group.finish();
}

fn prompt(c: &mut Criterion) {
    let env = hard_env();
    c.bench_function("render_prompt/sre", |b| {
        b.iter(|| black_box(render_observation(&env.observation())))
    });
}

fn score(c: &mut Criterion) {
    let line = r#"{"scenario": {"failure_type": "autoscaler_cost_cut", "seed": 3, "difficulty": "hard", "max_steps": 25}, "actions": [{"action_type": "identify_root_cause", "args": {"failure_type": "autoscaler_cost_cut"}}, {"action_type": "flag_rogue", "target": "autoscaler"}], "completion": "Scaling payments back.\n```json\n{\"action_type\": \"scale\", \"target\": \"payments\", \"args\": {\"replicas\": 4}}\n```"}"#;
    let options = ReplayOptions::default();
    c.bench_function("score_completion_line", |b| {
        b.iter(|| black_box(replay_line(registry(), &options, black_box(line)).expect("replay")))
    });
}

criterion_group!(benches, parse, prompt, score);
criterion_main!(benches);
