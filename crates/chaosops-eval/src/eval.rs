//! `chaosops eval`: every policy on every tier's curriculum list, aggregated
//! (docs/behaviour.md §11), at any scale.
//!
//! The episode list is computed by index ([`Plan`]), never built, so its length costs no
//! memory. [`play_range`] plays a range of it on worker threads and hands each episode's
//! record, as a JSON line, to a sink in index order, while a [`Tally`] keeps the aggregates.
//! A tally is exact and independent of the order records arrive in (integer counts, a
//! fixed-point reward sum, a histogram for the median), so shards tallied apart and merged,
//! or a run resumed from its records, give the same [`Evaluation`] bit for bit.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use chaosops_model::{Difficulty, FailureId, FleetAgent, Scenario, Split, Variation};
use chaosops_roles::{run_episode, EpisodeResult, ParseStats, PolicyKind, RunOptions, Team};
use chaosops_sim::curriculum::{split_pool, split_scenario};
use chaosops_sim::{FailureInjector, Registry, SimError};
use serde::{Deserialize, Serialize};

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
pub const MAX_EPISODES_PER_TYPE: u32 = 100_000_000;

/// What went wrong in an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The engine refused an episode.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// Writing or reading records failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A record read back (to resume or merge) does not belong where it was found.
    #[error("{source_name}, line {line}: {message}")]
    Record {
        /// The file or stream the record came from.
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// Shards or runs that cannot be combined.
    #[error("{0}")]
    Mismatch(String),
}

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
    /// Variation of every episode.
    pub variation: Variation,
    /// Which side of the held-out split the lists draw from.
    pub split: Split,
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
            tiers: Difficulty::REFERENCE.to_vec(),
            episodes_per_type: 5,
            seed_offset: 0,
            variation: Variation::None,
            split: Split::All,
        }
    }
}

/// Shard `index` of `count` (1-based, as written `K/N`): a contiguous, disjoint slice of the
/// episode list; the `count` shards cover it exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, 1..=count.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// The whole list.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Reads `K/N` with 1 <= K <= N, naming the value when it is not one.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("shard \"{text}\" is not K/N with 1 <= K <= N (for example 2/8)");
        let (k, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The indices of this shard in a list of `len` episodes.
    pub fn range(&self, len: u64) -> Range<u64> {
        let at = |k: u32| (u128::from(len) * u128::from(k) / u128::from(self.count)) as u64;
        at(self.index - 1)..at(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One episode of the list.
pub struct Job<'p, P> {
    /// Its index in the list.
    pub index: u64,
    /// The policy playing every role.
    pub policy: &'p P,
    /// The policy's position in the configuration.
    pub policy_index: usize,
    /// The tier's position in the configuration.
    pub tier_index: usize,
    /// The scenario.
    pub scenario: Scenario,
}

/// The episode list of a configuration, in (policy, tier, failure, repetition) order,
/// computed by index.
pub struct Plan<'c, P> {
    config: &'c EvalConfig<P>,
    /// Each tier's pool on the split's side, with each type's index in the whole pool.
    pools: Vec<Vec<(usize, &'static dyn FailureInjector)>>,
    /// Start of each tier within one policy's run, and the run's length last.
    tier_starts: Vec<u64>,
}

impl<'c, P> Plan<'c, P> {
    /// The list of `config`.
    pub fn new(registry: &Registry, config: &'c EvalConfig<P>) -> Self {
        let pools: Vec<Vec<(usize, &'static dyn FailureInjector)>> = config
            .tiers
            .iter()
            .map(|t| split_pool(registry, *t, config.split))
            .collect();
        let mut tier_starts = Vec::with_capacity(pools.len() + 1);
        let mut at = 0u64;
        for pool in &pools {
            tier_starts.push(at);
            at += pool.len() as u64 * u64::from(config.episodes_per_type);
        }
        tier_starts.push(at);
        Plan {
            config,
            pools,
            tier_starts,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &'c EvalConfig<P> {
        self.config
    }

    /// The ids of the no-fault controls in the list, sorted.
    pub fn controls(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .pools
            .iter()
            .flatten()
            .filter(|(_, f)| f.is_control())
            .map(|(_, f)| f.id().to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    fn per_policy(&self) -> u64 {
        *self.tier_starts.last().unwrap_or(&0)
    }

    /// Episodes in the list.
    pub fn len(&self) -> u64 {
        self.per_policy() * self.config.policies.len() as u64
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The episode at `index` (< [`Plan::len`]).
    pub fn job(&self, index: u64) -> Job<'c, P> {
        let per_policy = self.per_policy();
        let policy_index = (index / per_policy) as usize;
        let within = index % per_policy;
        let tier_index = self.tier_starts.partition_point(|s| *s <= within) - 1;
        let offset = within - self.tier_starts[tier_index];
        let per_type = u64::from(self.config.episodes_per_type);
        let pool_index = (offset / per_type) as usize;
        let rep = offset % per_type;
        let tier = self.config.tiers[tier_index];
        Job {
            index,
            policy: &self.config.policies[policy_index],
            policy_index,
            tier_index,
            scenario: {
                let (whole_index, failure) = self.pools[tier_index][pool_index];
                Scenario {
                    variation: self.config.variation,
                    ..split_scenario(
                        failure,
                        whole_index,
                        tier,
                        self.config.seed_offset,
                        rep,
                        self.config.split,
                    )
                }
            },
        }
    }
}

/// One evaluated episode: a line of `episodes.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpisodeRecord {
    /// Its index in the episode list.
    pub index: u64,
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
    pub parse_stats: Option<ParseStats>,
}

/// Plays one job with its policy's team.
pub fn play_job<P: PolicySource>(
    registry: &'static Registry,
    job: &Job<'_, P>,
) -> Result<EpisodeRecord, SimError> {
    let team = job.policy.team(job.scenario.seed, registry);
    play_scenario(registry, job.index, job.policy.name(), team, &job.scenario)
}

/// Plays `scenario` with `team` and records it as episode `index` of policy `name`.
pub fn play_scenario(
    registry: &'static Registry,
    index: u64,
    name: &'static str,
    mut team: Team,
    scenario: &Scenario,
) -> Result<EpisodeRecord, SimError> {
    let options = RunOptions {
        skip_steps: true,
        ..RunOptions::default()
    };
    let r = run_episode(registry, scenario, &mut team, options)?;
    Ok(record(index, name, scenario, r))
}

/// The record of a played episode.
pub fn record(
    index: u64,
    name: &'static str,
    scenario: &Scenario,
    r: EpisodeResult,
) -> EpisodeRecord {
    EpisodeRecord {
        index,
        policy: name,
        tier: scenario.difficulty,
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
    }
}

/// A sum of rewards that does not depend on the order of its terms: each term is held as
/// a fixed-point integer with 2^-24 resolution (integral rewards, the reference's, exactly).
/// Serialized as a decimal string, which every JSON reader keeps exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ExactSum(i128);

impl Serialize for ExactSum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExactSum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        text.parse()
            .map(ExactSum)
            .map_err(|_| serde::de::Error::custom(format!("\"{text}\" is not an exact sum")))
    }
}

const FRACTION_BITS: u32 = 24;

impl ExactSum {
    fn add(&mut self, v: f64) {
        if v.is_finite() {
            self.0 += (v * f64::from(1u32 << FRACTION_BITS)).round() as i128;
        }
    }

    fn merge(&mut self, other: ExactSum) {
        self.0 += other.0;
    }

    fn value(self) -> f64 {
        let whole = self.0 >> FRACTION_BITS;
        let part = self.0 - (whole << FRACTION_BITS);
        whole as f64 + part as f64 / f64::from(1u32 << FRACTION_BITS)
    }
}

/// `f64` ordered as `total_cmp` orders it, as a map key.
fn order_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct BucketTally {
    episodes: u64,
    resolved: u64,
    resolved_steps: u64,
    rogue: u64,
    rogue_caught: u64,
    false_positives: u64,
    reward: ExactSum,
    rewards: BTreeMap<u64, u64>,
    wrong_fixes: u64,
    parse: Option<ParseStats>,
}

impl BucketTally {
    fn count(&mut self, o: &Outcome) {
        self.episodes += 1;
        if o.resolved {
            self.resolved += 1;
            self.resolved_steps += u64::from(o.steps);
        }
        if o.had_rogue {
            self.rogue += 1;
            self.rogue_caught += u64::from(o.rogue_caught);
        }
        self.false_positives += u64::from(o.false_positive);
        self.reward.add(o.reward);
        *self.rewards.entry(order_key(o.reward)).or_insert(0) += 1;
        self.wrong_fixes += u64::from(o.wrong_fixes);
        if let Some(s) = o.parse_stats {
            self.parse.get_or_insert_with(ParseStats::default).merge(&s);
        }
    }

    fn merge(&mut self, o: &BucketTally) {
        self.episodes += o.episodes;
        self.resolved += o.resolved;
        self.resolved_steps += o.resolved_steps;
        self.rogue += o.rogue;
        self.rogue_caught += o.rogue_caught;
        self.false_positives += o.false_positives;
        self.reward.merge(o.reward);
        for (k, n) in &o.rewards {
            *self.rewards.entry(*k).or_insert(0) += n;
        }
        self.wrong_fixes += o.wrong_fixes;
        if let Some(s) = o.parse {
            self.parse.get_or_insert_with(ParseStats::default).merge(&s);
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct FailureTally {
    episodes: u64,
    resolved: u64,
    reward: ExactSum,
}

impl FailureTally {
    fn count(&mut self, o: &Outcome) {
        self.episodes += 1;
        self.resolved += u64::from(o.resolved);
        self.reward.add(o.reward);
    }

    fn merge(&mut self, o: &FailureTally) {
        self.episodes += o.episodes;
        self.resolved += o.resolved;
        self.reward.merge(o.reward);
    }
}

/// What a tally counts of one episode.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    resolved: bool,
    steps: u32,
    reward: f64,
    wrong_fixes: u32,
    had_rogue: bool,
    rogue_caught: bool,
    false_positive: bool,
    parse_stats: Option<ParseStats>,
}

impl From<&EpisodeRecord> for Outcome {
    fn from(r: &EpisodeRecord) -> Self {
        Outcome {
            resolved: r.resolved,
            steps: r.steps,
            reward: r.cumulative_reward,
            wrong_fixes: r.wrong_fixes,
            had_rogue: r.had_rogue,
            rogue_caught: r.rogue_caught,
            false_positive: r.false_positive,
            parse_stats: r.parse_stats,
        }
    }
}

/// A record read back from `episodes.jsonl`: what a tally counts, and where it belongs
/// (names borrowed from the line when they hold no escapes, as records never do).
#[derive(Clone, Debug, Deserialize)]
struct Facts<'a> {
    index: u64,
    #[serde(borrow)]
    policy: Cow<'a, str>,
    tier: Difficulty,
    #[serde(borrow)]
    failure_type: Cow<'a, str>,
    resolved: bool,
    steps: u32,
    cumulative_reward: f64,
    wrong_fixes: u32,
    had_rogue: bool,
    rogue_caught: bool,
    false_positive: bool,
    #[serde(default)]
    parse_stats: Option<ParseStats>,
}

impl From<&Facts<'_>> for Outcome {
    fn from(f: &Facts<'_>) -> Self {
        Outcome {
            resolved: f.resolved,
            steps: f.steps,
            reward: f.cumulative_reward,
            wrong_fixes: f.wrong_fixes,
            had_rogue: f.had_rogue,
            rogue_caught: f.rogue_caught,
            false_positive: f.false_positive,
            parse_stats: f.parse_stats,
        }
    }
}

/// Running aggregates of an evaluation: mergeable, exact, and independent of the order
/// records are added in. Its serde form (JSON) is exact too, so a shard can hand its tally
/// to a merge ([`merge_tallied`]) instead of having its records read back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tally {
    policies: Vec<String>,
    tiers: Vec<Difficulty>,
    buckets: Vec<BucketTally>,
    /// Per failure type (name order), one row per policy.
    failures: BTreeMap<String, Vec<FailureTally>>,
    episodes: u64,
    /// The sum of the counted episodes' indices, modulo 2^64: with `episodes`, it tells
    /// which contiguous range a tally counted, so a shard's tally cannot pass for another's.
    index_sum: u64,
}

impl Tally {
    /// An empty tally for the run `info`.
    pub fn new(info: &RunInfo) -> Self {
        Tally {
            buckets: vec![BucketTally::default(); info.policies.len() * info.tiers.len()],
            policies: info.policies.clone(),
            tiers: info.tiers.clone(),
            failures: BTreeMap::new(),
            episodes: 0,
            index_sum: 0,
        }
    }

    /// An empty tally of the same run.
    pub fn empty_like(&self) -> Tally {
        Tally {
            policies: self.policies.clone(),
            tiers: self.tiers.clone(),
            buckets: vec![BucketTally::default(); self.buckets.len()],
            failures: BTreeMap::new(),
            episodes: 0,
            index_sum: 0,
        }
    }

    /// Episodes counted.
    pub fn episodes(&self) -> u64 {
        self.episodes
    }

    /// Counts one episode.
    pub fn add(&mut self, record: &EpisodeRecord) {
        let policy = self.policies.iter().position(|p| *p == record.policy);
        let tier = self.tiers.iter().position(|t| *t == record.tier);
        if let (Some(p), Some(t)) = (policy, tier) {
            let o = Outcome::from(record);
            self.count(&o, record.index, p, t, record.failure_type.as_str());
        }
    }

    fn count(&mut self, o: &Outcome, index: u64, policy: usize, tier: usize, failure: &str) {
        self.episodes += 1;
        self.index_sum = self.index_sum.wrapping_add(index);
        self.buckets[policy * self.tiers.len() + tier].count(o);
        // Looked up by &str: a known failure type costs no allocation.
        if !self.failures.contains_key(failure) {
            let rows = vec![FailureTally::default(); self.policies.len()];
            self.failures.insert(failure.to_owned(), rows);
        }
        if let Some(rows) = self.failures.get_mut(failure) {
            rows[policy].count(o);
        }
    }

    /// Adds another tally of the same configuration.
    pub fn merge(&mut self, other: &Tally) {
        self.episodes += other.episodes;
        self.index_sum = self.index_sum.wrapping_add(other.index_sum);
        for (b, o) in self.buckets.iter_mut().zip(&other.buckets) {
            b.merge(o);
        }
        for (failure, theirs) in &other.failures {
            let mine = self
                .failures
                .entry(failure.clone())
                .or_insert_with(|| vec![FailureTally::default(); theirs.len()]);
            for (m, t) in mine.iter_mut().zip(theirs) {
                m.merge(t);
            }
        }
    }

    /// Counts the records of a JSON Lines stream (`episodes.jsonl`), which must be the
    /// episodes `expected` of this configuration's list, in order; a last line without
    /// its newline (an interrupted write) is left out. Returns the bytes of the complete
    /// lines, so a caller can cut the partial one off before appending.
    pub fn count_records(
        &mut self,
        reader: impl BufRead,
        expected: Range<u64>,
        source_name: &str,
        mut each_line: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<u64, EvalError> {
        let mut reader = reader;
        let mut line = Vec::new();
        let mut complete_bytes = 0u64;
        let mut next = expected.start;
        let mut number = 0u64;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
                return Ok(complete_bytes);
            }
            number += 1;
            let bad = |message: String| EvalError::Record {
                source_name: source_name.to_owned(),
                line: number,
                message,
            };
            let facts: Facts = serde_json::from_slice(&line)
                .map_err(|e| bad(format!("not an episode record: {e}")))?;
            if facts.index != next || next >= expected.end {
                return Err(bad(format!(
                    "episode {} where episode {next} of {}..{} was expected",
                    facts.index, expected.start, expected.end
                )));
            }
            let policy = self
                .policies
                .iter()
                .position(|p| *p == facts.policy)
                .ok_or_else(|| bad(format!("policy \"{}\" is not evaluated", facts.policy)))?;
            let tier = self
                .tiers
                .iter()
                .position(|t| *t == facts.tier)
                .ok_or_else(|| bad(format!("tier \"{}\" is not evaluated", facts.tier)))?;
            let o = Outcome::from(&facts);
            self.count(&o, facts.index, policy, tier, &facts.failure_type);
            each_line(&line)?;
            complete_bytes += line.len() as u64;
            next += 1;
        }
    }

    /// Checks that a tally read from elsewhere (a shard's) is one of the run `info` and
    /// counts exactly its episodes; says what is wrong otherwise.
    pub fn check_complete(&self, info: &RunInfo) -> Result<(), String> {
        if self.policies != info.policies || self.tiers != info.tiers {
            return Err(format!(
                "its tally is of policies {:?} and tiers {:?}, not {:?} and {:?}",
                self.policies, self.tiers, info.policies, info.tiers
            ));
        }
        let cells = self.policies.len() * self.tiers.len();
        if self.buckets.len() != cells
            || self
                .failures
                .values()
                .any(|rows| rows.len() != self.policies.len())
        {
            return Err("its tally is malformed (rows and columns do not match)".to_owned());
        }
        let range = info.range();
        let planned = range.end - range.start;
        let bucketed: u64 = self.buckets.iter().map(|b| b.episodes).sum();
        let by_failure: u64 = self.failures.values().flatten().map(|f| f.episodes).sum();
        if self.episodes != planned || bucketed != planned || by_failure != planned {
            return Err(format!(
                "its tally counts {} episodes ({bucketed} by policy and tier, {by_failure} by failure) where the shard has {planned}",
                self.episodes
            ));
        }
        // The sum of start..end, modulo 2^64 (lists are far shorter than 2^63 episodes).
        let expected_sum = ((u128::from(range.start) + u128::from(range.end)).saturating_sub(1)
            * u128::from(planned)
            / 2) as u64;
        if self.index_sum != expected_sum {
            return Err(format!(
                "its tally counts other episodes than {}..{}",
                range.start, range.end
            ));
        }
        Ok(())
    }

    /// The aggregates of the run `info`, as written to `evaluation.json`; fewer episodes
    /// counted than the run was to play marks the evaluation interrupted.
    pub fn finish(&self, info: &RunInfo) -> Evaluation {
        let planned = info.range().end - info.range().start;
        let mut aggregates = Vec::new();
        for (p, policy) in self.policies.iter().enumerate() {
            for (t, tier) in self.tiers.iter().enumerate() {
                let b = &self.buckets[p * self.tiers.len() + t];
                if b.episodes > 0 {
                    aggregates.push(aggregate(policy, *tier, b));
                }
            }
        }
        let by_failure = self
            .failures
            .iter()
            .flat_map(|(failure, rows)| {
                rows.iter()
                    .zip(&self.policies)
                    .filter(|(row, _)| row.episodes > 0)
                    .map(move |(row, policy)| FailureRow {
                        failure_type: failure.clone(),
                        policy: policy.clone(),
                        episodes: row.episodes,
                        success_rate: row.resolved as f64 / row.episodes as f64,
                        mean_reward: row.reward.value() / row.episodes as f64,
                    })
            })
            .collect();
        let model_stats = self
            .buckets
            .iter()
            .filter_map(|b| b.parse)
            .reduce(|mut a, b| {
                a.merge(&b);
                a
            });
        Evaluation {
            interrupted: (self.episodes < planned).then_some(Interrupted {
                episodes_played: self.episodes,
                episodes_planned: planned,
            }),
            policies: self.policies.clone(),
            tiers: self.tiers.clone(),
            episodes_per_type: info.episodes_per_type,
            seed_offset: info.seed_offset,
            variation: info.variation,
            split: info.split,
            controls: info.controls.clone(),
            episodes: self.episodes,
            aggregates,
            by_failure,
            model_stats,
        }
    }
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// The median of a histogram of `n` values (the mean of the middle two for even `n`).
fn median(rewards: &BTreeMap<u64, u64>, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let nth = |i: u64| {
        let mut seen = 0;
        for (k, c) in rewards {
            seen += c;
            if seen > i {
                return from_order_key(*k);
            }
        }
        0.0
    };
    if n % 2 == 1 {
        nth(n / 2)
    } else {
        (nth(n / 2 - 1) + nth(n / 2)) / 2.0
    }
}

fn aggregate(policy: &str, tier: Difficulty, b: &BucketTally) -> Aggregate {
    Aggregate {
        policy: policy.to_owned(),
        tier,
        episodes: b.episodes,
        success_rate: ratio(b.resolved, b.episodes),
        mttr: (b.resolved > 0).then(|| b.resolved_steps as f64 / b.resolved as f64),
        rogue_detection_rate: (b.rogue > 0).then(|| ratio(b.rogue_caught, b.rogue)),
        false_positive_rate: ratio(b.false_positives, b.episodes),
        mean_reward: b.reward.value() / b.episodes as f64,
        median_reward: median(&b.rewards, b.episodes),
        mean_wrong_fixes: ratio(b.wrong_fixes, b.episodes),
        parse_failure_rate: b.parse.map(|p| p.failure_rate()),
        model_requests: b.parse.map(|p| p.requests),
        failed_requests: b.parse.map(|p| p.failed_requests),
    }
}

/// Aggregates of one (policy, tier) bucket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    /// Policy.
    pub policy: String,
    /// Tier.
    pub tier: Difficulty,
    /// Episodes in the bucket.
    pub episodes: u64,
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

/// Success and mean reward of one policy on one failure type, over the evaluated tiers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailureRow {
    /// Failure type.
    pub failure_type: String,
    /// Policy.
    pub policy: String,
    /// Episodes.
    pub episodes: u64,
    /// Fraction resolved.
    pub success_rate: f64,
    /// Mean cumulative reward.
    pub mean_reward: f64,
}

/// How far an interrupted evaluation got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Interrupted {
    /// Episodes played (and recorded).
    pub episodes_played: u64,
    /// Episodes the run was to play.
    pub episodes_planned: u64,
}

/// A whole evaluation's aggregates, as written to `evaluation.json` (the per-episode
/// records go to `episodes.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Present when the run stopped before every episode was played: the figures then
    /// cover the episodes played only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interrupted>,
    /// Policies evaluated.
    pub policies: Vec<String>,
    /// Tiers evaluated.
    pub tiers: Vec<Difficulty>,
    /// Episodes per failure type and tier.
    pub episodes_per_type: u32,
    /// Seed offset of the curriculum lists.
    pub seed_offset: u64,
    /// Variation of the episodes (left out when none).
    #[serde(skip_serializing_if = "Variation::is_none")]
    pub variation: Variation,
    /// Held-out split of the episodes (left out when all).
    #[serde(skip_serializing_if = "Split::is_all")]
    pub split: Split,
    /// The no-fault controls among the types (their `by_failure` success rate is how often
    /// a policy left the healthy fleet unharmed); left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    /// Episodes counted.
    pub episodes: u64,
    /// One row per (policy, tier) with episodes.
    pub aggregates: Vec<Aggregate>,
    /// One row per (failure type, policy), failure types in name order.
    pub by_failure: Vec<FailureRow>,
    /// Model counters over every episode a model played; not written to the file.
    #[serde(skip)]
    pub model_stats: Option<ParseStats>,
}

/// How to play: worker threads, a progress callback (called once per episode) and a stop
/// flag (checked before each episode).
pub struct RunControl<'a> {
    /// Worker threads; no more are started than there is work.
    pub threads: NonZeroUsize,
    /// Called after each episode is played.
    pub progress: &'a (dyn Fn() + Sync),
    /// Once set, no further episode starts.
    pub stop: &'a AtomicBool,
    /// Write each record as a JSON line for the sink; when false the sink gets nothing
    /// (only the tally is wanted) and no time is spent serialising.
    pub records: bool,
}

/// Most episodes a worker claims at a time.
const MAX_CHUNK: u64 = 64;
/// Most episodes held between being played and being handed to the sink.
const MAX_WAVE: u64 = 16_384;

/// Plays the episodes `range` of `plan`, counting each into `tally` and handing its record
/// (one JSON line with its newline) to `sink`, both in index order. Returns the end of
/// the prefix played: `range.end`, or less when `control.stop` was set.
///
/// Workers claim chunks of a wave of episodes from a shared counter and write results in
/// place; the calling thread then drains the wave in order. So the records, the tally and
/// the sink's bytes are identical whatever the thread count, and memory holds one wave.
pub fn play_range<P: PolicySource>(
    registry: &'static Registry,
    plan: &Plan<'_, P>,
    range: Range<u64>,
    control: &RunControl<'_>,
    tally: &mut Tally,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<u64, EvalError> {
    play_range_with(plan, range, control, tally, sink, &|job| {
        play_job(registry, job)
    })
}

/// [`play_range`] with `play` playing each job (for policies a [`PolicySource`] cannot
/// field, such as a front end's own).
pub fn play_range_with<P: Sync>(
    plan: &Plan<'_, P>,
    range: Range<u64>,
    control: &RunControl<'_>,
    tally: &mut Tally,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    play: &(dyn Fn(&Job<'_, P>) -> Result<EpisodeRecord, SimError> + Sync),
) -> Result<u64, EvalError> {
    type Slot = OnceLock<Result<(EpisodeRecord, Vec<u8>), SimError>>;
    let threads = control.threads.get() as u64;
    let len = range.end.saturating_sub(range.start);
    // Small enough that every worker gets several chunks (slow policies, few episodes),
    // large enough that claiming costs nothing next to playing.
    let chunk = (len / (threads * 4)).clamp(1, MAX_CHUNK);
    let wave_len = (threads * chunk * 64).clamp(1, MAX_WAVE);
    let workers = threads.min(len.div_ceil(chunk)).max(1) as usize;
    let mut at = range.start;
    while at < range.end {
        if control.stop.load(Ordering::Relaxed) {
            return Ok(at);
        }
        let wave = at..(at + wave_len).min(range.end);
        let mut slots: Vec<Slot> = Vec::with_capacity((wave.end - wave.start) as usize);
        slots.resize_with(slots.capacity(), OnceLock::new);
        let next = AtomicU64::new(wave.start);
        // Each worker tallies what it plays (tallies merge exactly in any order), so the
        // calling thread only writes the lines out.
        let worker = || {
            let mut mine = tally.empty_like();
            loop {
                let start = next.fetch_add(chunk, Ordering::Relaxed);
                if start >= wave.end {
                    return mine;
                }
                for i in start..(start + chunk).min(wave.end) {
                    if control.stop.load(Ordering::Relaxed) {
                        return mine;
                    }
                    let played = play(&plan.job(i)).map(|record| {
                        mine.add(&record);
                        let line = if control.records {
                            record_line(&record)
                        } else {
                            Vec::new()
                        };
                        (record, line)
                    });
                    (control.progress)();
                    // Each index is claimed by exactly one worker, so the slot is empty.
                    let _ = slots[(i - wave.start) as usize].set(played);
                }
            }
        };
        let tallies: Vec<Tally> = std::thread::scope(|scope| {
            let handles: Vec<_> = (1..workers)
                .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, worker).ok())
                .collect();
            let mut tallies = vec![worker()];
            for h in handles {
                match h.join() {
                    Ok(t) => tallies.push(t),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            tallies
        });
        let complete = slots.iter().all(|s| matches!(s.get(), Some(Ok(_))));
        if complete {
            for t in &tallies {
                tally.merge(t);
            }
        }
        for slot in slots {
            match slot.into_inner() {
                Some(Ok((record, line))) => {
                    if !complete {
                        // A stopped wave counts its played prefix only.
                        tally.add(&record);
                    }
                    if control.records {
                        sink(&line)?;
                    }
                    at += 1;
                }
                Some(Err(e)) => return Err(e.into()),
                // Stopped: the played prefix ends here.
                None => return Ok(at),
            }
        }
    }
    Ok(at)
}

/// A record as a line of `episodes.jsonl`, newline included.
pub fn record_line(record: &EpisodeRecord) -> Vec<u8> {
    let mut line = Vec::with_capacity(400);
    serde_json::to_writer(&mut line, record).expect("a record serialises");
    line.push(b'\n');
    line
}

/// Plays every episode of `config` and returns the aggregates (records are not kept).
pub fn evaluate<P: PolicySource>(
    registry: &'static Registry,
    config: &EvalConfig<P>,
    threads: NonZeroUsize,
    progress: &(dyn Fn() + Sync),
) -> Result<Evaluation, EvalError> {
    let plan = Plan::new(registry, config);
    let info = RunInfo::new(&plan, Shard::WHOLE);
    let mut tally = Tally::new(&info);
    let stop = AtomicBool::new(false);
    let control = RunControl {
        threads,
        progress,
        stop: &stop,
        records: false,
    };
    play_range(
        registry,
        &plan,
        0..plan.len(),
        &control,
        &mut tally,
        &mut |_| Ok(()),
    )?;
    Ok(tally.finish(&info))
}

/// What a run was asked to do, written as `run.json` beside its records so that a run can
/// be resumed and shards can be checked before they are merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Policies, in report order.
    pub policies: Vec<String>,
    /// Tiers, in report order.
    pub tiers: Vec<Difficulty>,
    /// Episodes per failure type and tier.
    pub episodes_per_type: u32,
    /// Seed offset.
    pub seed_offset: u64,
    /// Variation (left out when none, so runs without it read as they were written).
    #[serde(default, skip_serializing_if = "Variation::is_none")]
    pub variation: Variation,
    /// Held-out split (left out when all).
    #[serde(default, skip_serializing_if = "Split::is_all")]
    pub split: Split,
    /// Episodes in the whole list.
    pub list_len: u64,
    /// Which slice of it this run plays.
    pub shard: Shard,
    /// The no-fault controls among the evaluated types (left out when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
}

impl RunInfo {
    /// The run of `shard` of `plan`.
    pub fn new<P: PolicySource>(plan: &Plan<'_, P>, shard: Shard) -> Self {
        Self::named(plan, shard, |p| p.name())
    }

    /// The run of `shard` of `plan`, whose policies `name` names.
    pub fn named<P>(plan: &Plan<'_, P>, shard: Shard, name: impl Fn(&P) -> &str) -> Self {
        let c = plan.config();
        RunInfo {
            policies: c.policies.iter().map(|p| name(p).to_owned()).collect(),
            tiers: c.tiers.clone(),
            episodes_per_type: c.episodes_per_type,
            seed_offset: c.seed_offset,
            variation: c.variation,
            split: c.split,
            list_len: plan.len(),
            shard,
            controls: plan.controls(),
        }
    }

    /// The episodes this run plays.
    pub fn range(&self) -> Range<u64> {
        self.shard.range(self.list_len)
    }

    /// Says how `self` and `other` differ, other than in their shard; `None` if they do not.
    pub fn differs_from(&self, other: &RunInfo) -> Option<String> {
        let mut a = self.clone();
        a.shard = other.shard;
        if a == *other {
            return None;
        }
        let fields = [
            (
                "policies",
                format!("{:?}", self.policies),
                format!("{:?}", other.policies),
            ),
            (
                "tiers",
                format!("{:?}", self.tiers),
                format!("{:?}", other.tiers),
            ),
            (
                "episodes_per_type",
                self.episodes_per_type.to_string(),
                other.episodes_per_type.to_string(),
            ),
            (
                "seed_offset",
                self.seed_offset.to_string(),
                other.seed_offset.to_string(),
            ),
            (
                "variation",
                self.variation.to_string(),
                other.variation.to_string(),
            ),
            ("split", self.split.to_string(), other.split.to_string()),
        ];
        fields
            .into_iter()
            .find(|(_, a, b)| a != b)
            .map(|(name, a, b)| format!("{name} {a} vs {b}"))
            .or_else(|| Some("the episode list".to_owned()))
    }
}

/// Checks that `shards` ((`run.json` contents, a name for errors), sorted by shard index)
/// share `whole`'s configuration and cover each of its shards once.
pub fn check_shards(whole: &RunInfo, shards: &[(RunInfo, String)]) -> Result<(), EvalError> {
    let Some(count) = shards.first().map(|s| s.0.shard.count) else {
        return Err(EvalError::Mismatch("no shard to merge".to_owned()));
    };
    for (i, (info, name)) in shards.iter().enumerate() {
        if let Some(d) = whole.differs_from(info) {
            return Err(EvalError::Mismatch(format!(
                "{name} is from another evaluation: {d}"
            )));
        }
        if info.shard.count != count || info.shard.index != i as u32 + 1 {
            return Err(EvalError::Mismatch(format!(
                "the shards do not cover the list once each: expected shard {}/{count}, found {} in {name}",
                i + 1,
                info.shard
            )));
        }
    }
    if shards.len() != count as usize {
        return Err(EvalError::Mismatch(format!(
            "{} of {count} shards given",
            shards.len()
        )));
    }
    Ok(())
}

/// Combines shard outputs into the records and tally of the whole run: `shards` are
/// (`run.json` contents, a reader of `episodes.jsonl`, a name for errors), in any order.
/// They must share a configuration, cover every shard of it once and be complete. Records
/// are written to `out` in list order, the bytes one unsharded run writes.
pub fn merge_shards<R: BufRead>(
    whole: &RunInfo,
    mut shards: Vec<(RunInfo, R, String)>,
    out: &mut dyn Write,
) -> Result<Tally, EvalError> {
    shards.sort_by_key(|s| s.0.shard.index);
    check_shards(
        whole,
        &shards
            .iter()
            .map(|(info, _, name)| (info.clone(), name.clone()))
            .collect::<Vec<_>>(),
    )?;
    let mut tally = Tally::new(whole);
    for (info, reader, name) in shards {
        let range = info.range();
        let before = tally.episodes();
        tally.count_records(reader, range.clone(), &name, |line| out.write_all(line))?;
        let counted = tally.episodes() - before;
        if counted != range.end - range.start {
            return Err(EvalError::Mismatch(format!(
                "{name} holds {counted} of its {} episodes: finish it first (--resume)",
                range.end - range.start
            )));
        }
    }
    Ok(tally)
}

/// One shard's output for [`merge_tallied`]: its run, its tally, its records, and a name
/// for errors.
pub struct TalliedShard<'a> {
    /// The shard's `run.json`.
    pub info: RunInfo,
    /// The tally the shard kept while it played.
    pub tally: Tally,
    /// Its `episodes.jsonl` bytes.
    pub records: &'a [u8],
    /// A name for errors.
    pub name: String,
}

/// [`merge_shards`] for shards that hand over their tallies: the records are checked by
/// their line count and their first and last episode index, and copied, not parsed, so a
/// merge costs a copy of the records rather than a parse of each. The tallies are exact,
/// so the result is [`merge_shards`]'s, bit for bit.
pub fn merge_tallied(
    whole: &RunInfo,
    mut shards: Vec<TalliedShard<'_>>,
    out: &mut dyn Write,
) -> Result<Tally, EvalError> {
    shards.sort_by_key(|s| s.info.shard.index);
    check_shards(
        whole,
        &shards
            .iter()
            .map(|s| (s.info.clone(), s.name.clone()))
            .collect::<Vec<_>>(),
    )?;
    let mut tally = Tally::new(whole);
    for shard in &shards {
        let mismatch = |what: String| EvalError::Mismatch(format!("{}: {what}", shard.name));
        shard.tally.check_complete(&shard.info).map_err(mismatch)?;
        let range = shard.info.range();
        check_record_lines(shard.records, range.clone()).map_err(mismatch)?;
        out.write_all(shard.records)?;
        tally.merge(&shard.tally);
    }
    Ok(tally)
}

/// Checks that `records` are complete JSON lines, one per episode of `range`, the first
/// and last holding its first and last index.
fn check_record_lines(records: &[u8], range: Range<u64>) -> Result<(), String> {
    let planned = range.end - range.start;
    let lines = records.iter().filter(|&&b| b == b'\n').count() as u64;
    if lines != planned || records.last().is_some_and(|&b| b != b'\n') {
        return Err(format!(
            "its records hold {lines} complete lines where the shard has {planned} episodes"
        ));
    }
    if planned == 0 {
        return Ok(());
    }
    #[derive(Deserialize)]
    struct Index {
        index: u64,
    }
    let body = &records[..records.len() - 1];
    let first = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let last = body.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    for (which, line, expected) in [("first", first, range.start), ("last", last, range.end - 1)] {
        let index = serde_json::from_slice::<Index>(line)
            .map_err(|e| format!("its {which} record is not an episode record: {e}"))?
            .index;
        if index != expected {
            return Err(format!(
                "its {which} record is episode {index} where episode {expected} was expected"
            ));
        }
    }
    Ok(())
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

/// The summary a person reads: the aggregate table, then success and mean reward per failure type.
pub fn render_summary(eval: &Evaluation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut variation = String::new();
    if !eval.variation.is_none() {
        variation.push_str(&format!(", variation {}", eval.variation));
    }
    if !eval.split.is_all() {
        variation.push_str(&format!(", split {}", eval.split));
    }
    let _ = writeln!(
        out,
        "ChaosOps evaluation: {} episode(s) per failure type and tier, {} episodes in all{variation}\n",
        eval.episodes_per_type, eval.episodes
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
    let tiers: Vec<&str> = eval.tiers.iter().map(|t| t.as_str()).collect();
    let _ = writeln!(
        out,
        "\nBy failure type (success rate / mean reward over {}):\n",
        tiers.join(", ")
    );
    // 22 columns, or more for longer ids (scenario packs).
    let width = eval
        .by_failure
        .iter()
        .map(|r| r.failure_type.len() + 1)
        .fold(22, usize::max);
    let _ = write!(out, "{:<width$}", "failure_type");
    for p in &eval.policies {
        let _ = write!(out, " {p:>20}");
    }
    let _ = writeln!(out);
    let mut rows = eval.by_failure.iter().peekable();
    while let Some(first) = rows.peek() {
        let failure = first.failure_type.clone();
        let _ = write!(out, "{failure:<width$}");
        let mine: Vec<&FailureRow> =
            std::iter::from_fn(|| rows.next_if(|r| r.failure_type == failure)).collect();
        for p in &eval.policies {
            let cell = mine
                .iter()
                .find(|r| &r.policy == p)
                .map_or_else(String::new, |r| {
                    format!("{:.2} / {:.2}", r.success_rate, r.mean_reward)
                });
            let _ = write!(out, " {cell:>20}");
        }
        let _ = writeln!(out);
    }
    for control in &eval.controls {
        let rates: Vec<String> = eval
            .by_failure
            .iter()
            .filter(|r| &r.failure_type == control)
            .map(|r| format!("{} {:.2}", r.policy, 1.0 - r.success_rate))
            .collect();
        let _ = writeln!(
            out,
            "\n{control} is a no-fault control: share of its episodes in which each policy broke the healthy fleet (a wrong fix or a flag): {}",
            rates.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_list_once() {
        for len in [0u64, 1, 7, 100, 1_000_003] {
            for n in 1..=9u32 {
                let mut next = 0;
                for k in 1..=n {
                    let r = Shard { index: k, count: n }.range(len);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, len);
            }
        }
        assert_eq!(Shard::parse(" 2/8 "), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"] {
            assert!(Shard::parse(bad)
                .unwrap_err()
                .contains(&format!("\"{bad}\"")));
        }
    }

    /// A shard's output: its run, tally and records.
    type Output = (RunInfo, Tally, Vec<u8>);

    /// Plays shard `shard` of `config`.
    fn play_shard(config: &EvalConfig, shard: Shard) -> Output {
        chaosops_failures::link();
        chaosops_roles::link();
        let registry = Registry::global().unwrap();
        let plan = Plan::new(registry, config);
        let info = RunInfo::new(&plan, shard);
        let mut tally = Tally::new(&info);
        let mut records = Vec::new();
        let stop = AtomicBool::new(false);
        let control = RunControl {
            threads: NonZeroUsize::new(2).unwrap(),
            progress: &|| {},
            stop: &stop,
            records: true,
        };
        play_range(
            registry,
            &plan,
            info.range(),
            &control,
            &mut tally,
            &mut |l| {
                records.extend_from_slice(l);
                Ok(())
            },
        )
        .unwrap();
        (info, tally, records)
    }

    #[test]
    fn a_merge_of_tallies_equals_a_merge_of_records_and_refuses_what_does_not_fit() {
        let config = EvalConfig {
            policies: vec![PolicyKind::Oracle, PolicyKind::Random],
            tiers: vec![Difficulty::Easy, Difficulty::Hard],
            episodes_per_type: 3,
            seed_offset: 5,
            variation: Default::default(),
            split: Default::default(),
        };
        let (whole, whole_tally, whole_records) = play_shard(&config, Shard::WHOLE);
        let shards: Vec<_> = [3, 1, 2]
            .map(|k| play_shard(&config, Shard { index: k, count: 3 }))
            .into_iter()
            .map(|(info, tally, records)| {
                // Through JSON, as a shard hands its tally to the merge.
                let text = serde_json::to_string(&tally).unwrap();
                (info, serde_json::from_str::<Tally>(&text).unwrap(), records)
            })
            .collect();
        let tallied = |shards: &[Output]| {
            let mut out = Vec::new();
            let parts = shards
                .iter()
                .map(|(info, tally, records)| TalliedShard {
                    info: info.clone(),
                    tally: tally.clone(),
                    records,
                    name: format!("shard {}", info.shard),
                })
                .collect();
            merge_tallied(&whole, parts, &mut out).map(|t| (t.finish(&whole), out))
        };
        let (evaluation, records) = tallied(&shards).unwrap();
        assert!(records == whole_records);
        assert_eq!(evaluation, whole_tally.finish(&whole));
        let mut out = Vec::new();
        let parsed = merge_shards(
            &whole,
            shards
                .iter()
                .map(|(i, _, r)| (i.clone(), r.as_slice(), String::new()))
                .collect(),
            &mut out,
        )
        .unwrap();
        assert_eq!(parsed.finish(&whole), evaluation);

        let refused = |mend: &dyn Fn(&mut Vec<Output>)| {
            let mut bad = shards.clone();
            mend(&mut bad);
            tallied(&bad).unwrap_err().to_string()
        };
        let cut = refused(&|s| {
            let r = &mut s[0].2;
            r.truncate(r.len() - 1)
        });
        assert!(cut.contains("shard 3/3: its records hold"), "{cut}");
        let swapped = refused(&|s| {
            let other = s[1].1.clone();
            s[0].1 = other;
        });
        assert!(
            swapped.contains("shard 3/3: its tally counts other episodes than 32..48"),
            "{swapped}"
        );
        let short = refused(&|s| s[1].1.episodes -= 1);
        assert!(
            short.contains("shard 1/3: its tally counts 15 episodes"),
            "{short}"
        );
        let moved = refused(&|s| {
            let other = s[1].2.clone();
            s[2].2 = other;
        });
        assert!(moved.contains("where episode"), "{moved}");
        let policies = refused(&|s| s[0].1.policies.reverse());
        assert!(policies.contains("its tally is of policies"), "{policies}");
        assert!(serde_json::from_str::<Tally>(
            &serde_json::to_string(&shards[0].1).unwrap().replace(
                &format!("\"{}\"", shards[0].1.buckets[0].reward.0),
                "\"1.5\""
            )
        )
        .unwrap_err()
        .to_string()
        .contains("\"1.5\" is not an exact sum"));
    }

    #[test]
    fn an_exact_sum_does_not_depend_on_order() {
        let values = [0.1, 1e6, -3.25, 134.0, -0.3 * 17.0, 2.5e-7, -1e6];
        let mut forward = ExactSum::default();
        values.iter().for_each(|v| forward.add(*v));
        let mut backward = ExactSum::default();
        values.iter().rev().for_each(|v| backward.add(*v));
        assert_eq!(forward, backward);
        let mut ints = ExactSum::default();
        for v in [134.0, -60.0, 181.0, -1293.0] {
            ints.add(v);
        }
        assert_eq!(ints.value(), 134.0 - 60.0 + 181.0 - 1293.0);
    }

    #[test]
    fn the_median_of_a_histogram_is_the_median_of_the_values() {
        for values in [
            vec![3.0],
            vec![1.0, -2.0],
            vec![5.0, 1.0, 1.0, -7.5, 9.0, 1.0],
        ] {
            let mut h = BTreeMap::new();
            for v in &values {
                *h.entry(order_key(*v)).or_insert(0) += 1;
            }
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len();
            let expected = if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            };
            assert_eq!(median(&h, n as u64), expected, "{values:?}");
        }
        for v in [-1e300, -0.5, -0.0, 0.0, 0.25, 7.0, 1e300] {
            assert_eq!(from_order_key(order_key(v)).to_bits(), v.to_bits());
        }
    }
}
