//! `chaosops eval`: every policy on every tier's curriculum list, aggregated (docs/behaviour.md §11).

use std::borrow::Cow;

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use chaosops_model::{Difficulty, FailureId, FleetAgent, Scenario};
use chaosops_roles::{run_episode, PolicyKind, RunOptions, Team};
use chaosops_sim::curriculum::scenarios_for_tier;
use chaosops_sim::{Registry, SimError};
use serde::Serialize;

/// Something that can field a team for each evaluated episode: a scripted kind, or a
/// front end's own choice (the CLI's `llm` policy).
pub trait PolicySource: Sync {
    /// The name used in reports.
    fn name(&self) -> &'static str;
    /// A fresh team for the episode of `seed` (every role played by this policy).
    fn team(&self, seed: u64, registry: &'static Registry) -> Team;
}

impl PolicySource for PolicyKind {
    fn name(&self) -> &'static str {
        self.as_str()
    }
    fn team(&self, seed: u64, _registry: &'static Registry) -> Team {
        Team::uniform(*self, seed)
    }
}

/// Largest accepted `--episodes-per-type`.
pub const MAX_EPISODES_PER_TYPE: u32 = 10_000;

/// What to evaluate.
#[derive(Clone, Debug)]
pub struct EvalConfig<P = PolicyKind> {
    /// Policies, in report order.
    pub policies: Vec<P>,
    /// Tiers, in report order.
    pub tiers: Vec<Difficulty>,
    /// Episodes per failure type and tier.
    pub episodes_per_type: u32,
    /// Seed offset of the curriculum lists.
    pub seed_offset: u64,
}

impl<P: From<PolicyKind>> Default for EvalConfig<P> {
    fn default() -> Self {
        EvalConfig {
            policies: [
                PolicyKind::Oracle,
                PolicyKind::Heuristic,
                PolicyKind::Random,
            ]
            .into_iter()
            .map(P::from)
            .collect(),
            tiers: Difficulty::ALL.to_vec(),
            episodes_per_type: 5,
            seed_offset: 0,
        }
    }
}

/// One evaluated episode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpisodeRecord {
    /// Policy playing every role.
    pub policy: &'static str,
    /// Tier.
    pub tier: Difficulty,
    /// Injected failure.
    pub failure_type: FailureId,
    /// Scenario seed.
    pub seed: u64,
    /// Whether it was resolved.
    pub resolved: bool,
    /// Steps played.
    pub steps: u32,
    /// Cumulative reward, terminal penalty included.
    pub cumulative_reward: f64,
    /// Wrong fixes.
    pub wrong_fixes: u32,
    /// Names flagged by oversight.
    pub oversight_flags: Vec<Cow<'static, str>>,
    /// Whether the scenario had a rogue agent.
    pub had_rogue: bool,
    /// Whether oversight flagged the rogue agent.
    pub rogue_caught: bool,
    /// Whether oversight flagged anything but the rogue agent.
    pub false_positive: bool,
    /// Ground truth: the rogue agent.
    pub rogue_agent: Option<FleetAgent>,
    /// What the team declared as root cause.
    pub declared_root_cause: Option<FailureId>,
    /// Model turns and fallbacks, for policies that read model text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_stats: Option<chaosops_roles::ParseStats>,
}

/// Aggregates of one (policy, tier) bucket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    /// Policy.
    pub policy: &'static str,
    /// Tier.
    pub tier: Difficulty,
    /// Episodes in the bucket.
    pub episodes: usize,
    /// Fraction resolved.
    pub success_rate: f64,
    /// Mean steps to resolve, over resolved episodes; null when none resolved.
    pub mttr: Option<f64>,
    /// Fraction of rogue scenarios whose rogue was flagged; null without rogue scenarios.
    pub rogue_detection_rate: Option<f64>,
    /// Fraction of episodes with a false flag.
    pub false_positive_rate: f64,
    /// Mean cumulative reward.
    pub mean_reward: f64,
    /// Median cumulative reward.
    pub median_reward: f64,
    /// Mean wrong fixes.
    pub mean_wrong_fixes: f64,
    /// Fraction of model turns that fell back to the default action; null for scripted policies.
    pub parse_failure_rate: Option<f64>,
    /// Requests sent to the model; absent for scripted policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_requests: Option<u64>,
    /// Requests that got no reply (unreachable, HTTP error, unreadable); absent for scripted
    /// policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_requests: Option<u64>,
}

/// How far an interrupted evaluation got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Interrupted {
    /// Episodes played (and recorded).
    pub episodes_played: usize,
    /// Episodes the configuration asked for.
    pub episodes_planned: usize,
}

/// A whole evaluation, as written to `evaluation.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Present when the evaluation was stopped before every episode was played: the
    /// records and aggregates then cover the episodes played only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interrupted>,
    /// Policies evaluated.
    pub policies: Vec<&'static str>,
    /// Tiers evaluated.
    pub tiers: Vec<Difficulty>,
    /// Episodes per failure type and tier.
    pub episodes_per_type: u32,
    /// Every episode, in (policy, tier, scenario) order.
    pub per_episode: Vec<EpisodeRecord>,
    /// One row per (policy, tier).
    pub aggregates: Vec<Aggregate>,
}

/// Most episodes a worker claims at a time.
const MAX_CHUNK: usize = 64;

/// Episodes in `config`: policies x tiers x (pool size x episodes per type).
pub fn planned_episodes<P>(registry: &Registry, config: &EvalConfig<P>) -> usize {
    config
        .tiers
        .iter()
        .map(|t| registry.pool(*t).len() * config.episodes_per_type as usize)
        .sum::<usize>()
        * config.policies.len()
}

/// Plays every episode of `config` on `threads` worker threads, calling `progress` after each.
/// Workers claim chunks of episodes from a shared counter and results are put back in
/// episode order, so the evaluation is identical whatever `threads` is.
pub fn evaluate<P: PolicySource>(
    registry: &'static Registry,
    config: &EvalConfig<P>,
    threads: NonZeroUsize,
    progress: &(dyn Fn() + Sync),
) -> Result<Evaluation, SimError> {
    evaluate_until(registry, config, threads, progress, &AtomicBool::new(false))
}

/// [`evaluate`], stopping early once `stop` is set: workers finish the episode in hand and
/// claim no more, and the result holds the episodes played, marked
/// [`Evaluation::interrupted`]. No more workers run than there are chunks of work, and a
/// worker the system refuses to start is done without (its share goes to the others).
pub fn evaluate_until<P: PolicySource>(
    registry: &'static Registry,
    config: &EvalConfig<P>,
    threads: NonZeroUsize,
    progress: &(dyn Fn() + Sync),
    stop: &AtomicBool,
) -> Result<Evaluation, SimError> {
    let lists: Vec<(Difficulty, Vec<Scenario>)> = config
        .tiers
        .iter()
        .map(|&tier| {
            let list =
                scenarios_for_tier(registry, tier, config.seed_offset, config.episodes_per_type);
            (tier, list)
        })
        .collect();
    // Jobs in (policy, tier, scenario) order; each bucket is one contiguous run.
    let mut jobs: Vec<(&P, Difficulty, &Scenario)> = Vec::new();
    let mut buckets = Vec::new();
    for policy in &config.policies {
        for (tier, list) in &lists {
            buckets.push((policy.name(), *tier, jobs.len()..jobs.len() + list.len()));
            jobs.extend(list.iter().map(|s| (policy, *tier, s)));
        }
    }
    let play = |&(policy, tier, scenario): &(&P, Difficulty, &Scenario)| {
        let mut team = policy.team(scenario.seed, registry);
        let options = RunOptions {
            skip_steps: true,
            ..RunOptions::default()
        };
        let r = run_episode(registry, scenario, &mut team, options)?;
        progress();
        Ok(EpisodeRecord {
            policy: policy.name(),
            tier,
            failure_type: scenario.failure_type.clone(),
            seed: scenario.seed,
            resolved: r.resolved,
            steps: r.final_step,
            cumulative_reward: r.cumulative_reward,
            wrong_fixes: r.wrong_fixes,
            had_rogue: r.rogue_agent.is_some(),
            rogue_caught: r.rogue_caught(),
            false_positive: r.false_positive(),
            rogue_agent: r.rogue_agent,
            declared_root_cause: r.declared_root_cause,
            oversight_flags: r.oversight_flags,
            parse_stats: r.parse_stats,
        })
    };
    // One slot per episode, allocated (and its pages touched) before the workers start, so
    // they write results in place instead of growing vectors side by side.
    let mut slots: Vec<OnceLock<Result<EpisodeRecord, SimError>>> = Vec::with_capacity(jobs.len());
    slots.resize_with(jobs.len(), OnceLock::new);
    // Small enough that every worker gets several chunks (slow policies, few episodes),
    // large enough that claiming costs nothing next to playing.
    let chunk = (jobs.len() / (threads.get() * 4)).clamp(1, MAX_CHUNK);
    let workers = threads.get().min(jobs.len().div_ceil(chunk)).max(1);
    let next = AtomicUsize::new(0);
    let worker = || loop {
        let start = next.fetch_add(chunk, Ordering::Relaxed);
        if start >= jobs.len() {
            return;
        }
        for i in start..(start + chunk).min(jobs.len()) {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            // Each index is claimed by exactly one worker, so the slot is empty.
            let _ = slots[i].set(play(&jobs[i]));
        }
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..workers)
            .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, worker).ok())
            .collect();
        worker();
        for h in handles {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    let planned = jobs.len();
    // Without a stop every slot is filled; with one, the played episodes are kept in order.
    let played: Vec<Option<EpisodeRecord>> = slots
        .into_iter()
        .map(|slot| slot.into_inner().transpose())
        .collect::<Result<_, SimError>>()?;
    let episodes_played = played.iter().filter(|r| r.is_some()).count();
    let aggregates = buckets
        .into_iter()
        .map(|(policy, tier, range)| {
            let bucket: Vec<&EpisodeRecord> = played[range].iter().flatten().collect();
            aggregate(policy, tier, &bucket)
        })
        // Only an interrupted run has buckets with nothing played; they get no row.
        .filter(|a| a.episodes > 0)
        .collect();
    let per_episode: Vec<EpisodeRecord> = played.into_iter().flatten().collect();
    Ok(Evaluation {
        interrupted: (episodes_played < planned).then_some(Interrupted {
            episodes_played,
            episodes_planned: planned,
        }),
        policies: config.policies.iter().map(P::name).collect(),
        tiers: config.tiers.clone(),
        episodes_per_type: config.episodes_per_type,
        per_episode,
        aggregates,
    })
}

fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn rate(bucket: &[&EpisodeRecord], hit: impl Fn(&EpisodeRecord) -> bool) -> f64 {
    mean(bucket.iter().map(|r| if hit(r) { 1.0 } else { 0.0 })).unwrap_or(0.0)
}

/// Aggregates one bucket.
pub fn aggregate(policy: &'static str, tier: Difficulty, bucket: &[&EpisodeRecord]) -> Aggregate {
    let rogue: Vec<&EpisodeRecord> = bucket.iter().copied().filter(|r| r.had_rogue).collect();
    let parse = bucket.iter().filter_map(|r| r.parse_stats).fold(
        None,
        |acc: Option<chaosops_roles::ParseStats>, s| {
            let mut total = acc.unwrap_or_default();
            total.merge(&s);
            Some(total)
        },
    );
    Aggregate {
        policy,
        tier,
        episodes: bucket.len(),
        success_rate: rate(bucket, |r| r.resolved),
        mttr: mean(
            bucket
                .iter()
                .filter(|r| r.resolved)
                .map(|r| f64::from(r.steps)),
        ),
        rogue_detection_rate: (!rogue.is_empty()).then(|| rate(&rogue, |r| r.rogue_caught)),
        false_positive_rate: rate(bucket, |r| r.false_positive),
        mean_reward: mean(bucket.iter().map(|r| r.cumulative_reward)).unwrap_or(0.0),
        median_reward: median(bucket.iter().map(|r| r.cumulative_reward).collect()),
        mean_wrong_fixes: mean(bucket.iter().map(|r| f64::from(r.wrong_fixes))).unwrap_or(0.0),
        parse_failure_rate: parse.map(|p| p.failure_rate()),
        model_requests: parse.map(|p| p.requests),
        failed_requests: parse.map(|p| p.failed_requests),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

/// The summary a person reads: the aggregate table, then success and mean reward per failure type.
pub fn render_summary(eval: &Evaluation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ChaosOps evaluation: {} episode(s) per failure type and tier, {} episodes in all\n",
        eval.episodes_per_type,
        eval.per_episode.len()
    );
    if let Some(i) = eval.interrupted {
        let _ = writeln!(
            out,
            "INTERRUPTED: {} of {} planned episodes were played; every figure covers those only.\n",
            i.episodes_played, i.episodes_planned
        );
    }
    // Model columns only when a policy reads model text: the fraction of turns that fell
    // back, and failed/sent requests.
    let model = eval.aggregates.iter().any(|a| a.model_requests.is_some());
    let _ = write!(
        out,
        "{:<10} {:<7} {:>8} {:>8} {:>6} {:>9} {:>9} {:>11} {:>9} {:>11}",
        "policy",
        "tier",
        "episodes",
        "success",
        "mttr",
        "rogue_det",
        "false_pos",
        "mean_reward",
        "median",
        "wrong_fixes"
    );
    if model {
        let _ = write!(out, " {:>10} {:>15}", "parse_fail", "failed_requests");
    }
    let _ = writeln!(out);
    for a in &eval.aggregates {
        let _ = write!(
            out,
            "{:<10} {:<7} {:>8} {:>8.2} {:>6} {:>9} {:>9.2} {:>11.2} {:>9.2} {:>11.2}",
            a.policy,
            a.tier.as_str(),
            a.episodes,
            a.success_rate,
            opt(a.mttr),
            opt(a.rogue_detection_rate),
            a.false_positive_rate,
            a.mean_reward,
            a.median_reward,
            a.mean_wrong_fixes
        );
        if model {
            let requests = match (a.failed_requests, a.model_requests) {
                (Some(failed), Some(sent)) => format!("{failed}/{sent}"),
                _ => "-".to_owned(),
            };
            let _ = write!(out, " {:>10} {requests:>15}", opt(a.parse_failure_rate));
        }
        let _ = writeln!(out);
    }
    let mut failures: Vec<&FailureId> = eval.per_episode.iter().map(|r| &r.failure_type).collect();
    failures.sort();
    failures.dedup();
    let tiers: Vec<&str> = eval.tiers.iter().map(|t| t.as_str()).collect();
    let _ = writeln!(
        out,
        "\nBy failure type (success rate / mean reward over {}):\n",
        tiers.join(", ")
    );
    let _ = write!(out, "{:<22}", "failure_type");
    for p in &eval.policies {
        let _ = write!(out, " {p:>20}");
    }
    let _ = writeln!(out);
    for f in failures {
        let _ = write!(out, "{:<22}", f.as_str());
        for p in &eval.policies {
            let rows: Vec<&EpisodeRecord> = eval
                .per_episode
                .iter()
                .filter(|r| &r.failure_type == f && r.policy == *p)
                .collect();
            let cell = format!(
                "{:.2} / {:.2}",
                rate(&rows, |r| r.resolved),
                mean(rows.iter().map(|r| r.cumulative_reward)).unwrap_or(0.0)
            );
            let _ = write!(out, " {cell:>20}");
        }
        let _ = writeln!(out);
    }
    out
}
