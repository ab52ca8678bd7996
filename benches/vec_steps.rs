//! The vector env's turn-mode step, alone in a process, for instruction counts and profiles:
//!
//! ```text
//! cargo build --release -p chaosops-benches --example vec_steps
//! valgrind --tool=callgrind target/release/examples/vec_steps --steps 1000
//! taskset -c 0 target/release/examples/vec_steps --steps 20000
//! ```
//!
//! `--envs N` environments (64) step `--steps S` times (2000) with noop actions on one thread,
//! drawing episodes as `chaosops.VecEnv(N)` does (the reference tiers, their step budgets);
//! `--max-steps M` sets one budget instead (1000 gives the steady state, without resets). It
//! prints the wall-clock time per environment step and a checksum of the last observations,
//! which must not change when only the speed does.

use std::sync::Arc;
use std::time::Instant;

use chaosops_benches::registry;
use chaosops_rl::{ActionTable, EnvConfig, ScenarioSource, VecEnv, VecMode, VecOutputs};

fn flag(args: &[String], name: &str, default: usize) -> usize {
    match args.iter().position(|a| a == name) {
        None => default,
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} needs a positive integer")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = flag(&args, "--envs", 64);
    let steps = flag(&args, "--steps", 2000);
    let max_steps = args
        .iter()
        .any(|a| a == "--max-steps")
        .then(|| flag(&args, "--max-steps", 0) as u32);
    let config = EnvConfig {
        max_steps,
        ..EnvConfig::default()
    };
    let source = Arc::new(ScenarioSource::new(registry(), &config).expect("config"));
    let table = Arc::new(ActionTable::new(registry()));
    let mut env = VecEnv::new(source, table, VecMode::Turn, n, 1).expect("vector env");
    let mut out = VecOutputs::for_env(&env);
    env.reset(0, out.buffers()).expect("reset");
    let actions = vec![0i64; n];
    let start = Instant::now();
    for _ in 0..steps {
        env.step(&actions, out.buffers()).expect("step");
    }
    let elapsed = start.elapsed();
    let checksum: f64 = out.obs.iter().map(|v| f64::from(*v)).sum();
    println!(
        "{} env steps ({n} envs x {steps}), {:.1} ns per env step, observation checksum {checksum}",
        n * steps,
        elapsed.as_nanos() as f64 / (n * steps) as f64
    );
}
