//! The vector env's turn-mode step, alone in a process, for instruction counts and profiles:
//!
//! ```text
//! cargo build --release -p chaosops-benches --example vec_steps
//! valgrind --tool=callgrind target/release/examples/vec_steps --steps 1000 --no-clock
//! taskset -c 0 target/release/examples/vec_steps --steps 20000
//! ```
//!
//! `--envs N` environments (64) step `--steps S` times (2000) with noop actions on one thread,
//! drawing episodes as `chaosops.VecEnv(N)` does (the reference tiers, their step budgets);
//! `--max-steps M` sets one budget instead (1000 gives the steady state, without resets), and
//! `--random` steps with random table indices instead of noop (64 rows drawn once from a fixed
//! generator, row `k % 64` at step `k`, as `python/bench/bench.py` does). It
//! prints the wall-clock time per environment step and a checksum of the last observations,
//! which must not change when only the speed does.
//!
//! On x86-64 it also estimates the core's clock around the timed loop (a chain of dependent
//! integer adds, one cycle each) and prints the cycles per environment step it implies: on a
//! machine whose clock wanders (a VM under a varying host load) that figure tells a slower
//! clock from slower code, where the time alone cannot. `--no-clock` skips the estimate (its
//! 1.4 G instructions would swamp an instruction count).

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
    let rows = action_rows(n, env.table().len(), args.iter().any(|a| a == "--random"));
    let clock = !args.iter().any(|a| a == "--no-clock");
    let clock_before = clock.then(clock_ghz).flatten();
    let start = Instant::now();
    for k in 0..steps {
        env.step(&rows[k % 64], out.buffers()).expect("step");
    }
    let elapsed = start.elapsed();
    let clock_after = clock.then(clock_ghz).flatten();
    let checksum: f64 = out.obs.iter().map(|v| f64::from(*v)).sum();
    let ns = elapsed.as_nanos() as f64 / (n * steps) as f64;
    println!(
        "{} env steps ({n} envs x {steps}), {ns:.1} ns per env step, observation checksum {checksum}",
        n * steps,
    );
    if let (Some(before), Some(after)) = (clock_before, clock_after) {
        let ghz = (before + after) / 2.0;
        println!(
            "clock ~{ghz:.2} GHz (before {before:.2}, after {after:.2}): ~{:.0} cycles per env step",
            ns * ghz
        );
    }
}

/// 64 rows of `n` actions: noop, or random table indices from a fixed 64-bit LCG (the same
/// rows at every run, so the checksum stays comparable).
fn action_rows(n: usize, n_actions: usize, random: bool) -> Vec<Vec<i64>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // The high bits of an LCG are its good ones.
        ((state >> 33) % n_actions as u64) as i64
    };
    (0..64)
        .map(|_| (0..n).map(|_| if random { next() } else { 0 }).collect())
        .collect()
}

/// The core's clock in GHz, estimated from a timed chain of dependent adds (one cycle each on
/// every x86-64 core of the last decade); None elsewhere.
fn clock_ghz() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        // 20 M iterations of 10 dependent adds: ~70 ms at 3 GHz, long enough for the timer and
        // short enough to sit beside the loop it describes. Best of three.
        const ITERATIONS: u64 = 20_000_000;
        const ADDS: u64 = 10;
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let (mut x, mut left) = (0u64, ITERATIONS);
            let start = Instant::now();
            // SAFETY: register arithmetic only; no memory, stack or flags are relied on after.
            unsafe {
                std::arch::asm!(
                    "2:",
                    "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                    "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                    "dec {left}",
                    "jnz 2b",
                    x = inout(reg) x,
                    left = inout(reg) left,
                    options(nomem, nostack),
                );
            }
            std::hint::black_box((x, left));
            best = best.min(start.elapsed().as_secs_f64());
        }
        Some((ITERATIONS * ADDS) as f64 / best / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}
