//! `chaosops bench`: the throughput workload, every step through the full environment.

use std::time::Instant;

use chaosops_model::{Difficulty, FailureId, ScenarioSpec};
use chaosops_roles::{EpisodeStart, PolicyKind, Team};
use chaosops_sim::{Environment, Registry, RewardConfig, SimError};
use serde::Serialize;

/// Step budget of every bench episode.
pub const BENCH_MAX_STEPS: u32 = 25;

/// What one bench run measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Policy playing every role.
    pub policy: PolicyKind,
    /// Episodes per built-in failure type.
    pub episodes: u32,
    /// Steps taken in all.
    pub steps: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Steps per second.
    pub steps_per_sec: f64,
}

/// For each built-in failure, `episodes` hard episodes of 25 steps at most; each step goes
/// through the environment and hands the next role its observation.
pub fn run(
    registry: &'static Registry,
    policy: PolicyKind,
    episodes: u32,
) -> Result<BenchReport, SimError> {
    let scenarios = chaosops_failures::BUILTIN_IDS
        .iter()
        .flat_map(|id| {
            (0..u64::from(episodes)).map(move |seed| ScenarioSpec {
                failure_type: FailureId::from_static(id),
                seed,
                difficulty: Difficulty::Hard,
                max_steps: BENCH_MAX_STEPS,
                variation: Default::default(),
            })
        })
        .map(|spec| registry.scenario(&spec))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = scenarios.first() else {
        return Ok(BenchReport {
            policy,
            episodes,
            steps: 0,
            seconds: 0.0,
            steps_per_sec: 0.0,
        });
    };
    let mut env = Environment::new(registry, first, RewardConfig::default(), None)?;
    let mut steps = 0u64;
    let start = Instant::now();
    for scenario in &scenarios {
        let mut team = Team::uniform(policy, scenario.seed);
        let observation = env.reset(scenario, None)?;
        let failure = registry.failure(scenario.failure_type.as_str())?;
        team.begin_episode(&EpisodeStart { scenario, failure });
        let role = observation.turn_role;
        let mut action = team.policy(role).act(&observation, role);
        loop {
            let outcome = env.step(&action)?;
            steps += 1;
            std::hint::black_box(&outcome.observation);
            if outcome.record.done {
                break;
            }
            let role = outcome.observation.turn_role;
            action = team.policy(role).act(&outcome.observation, role);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(BenchReport {
        policy,
        episodes,
        steps,
        seconds,
        steps_per_sec: if seconds > 0.0 {
            steps as f64 / seconds
        } else {
            0.0
        },
    })
}
