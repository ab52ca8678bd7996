//! The curriculum of docs/behaviour.md §9: per-tier scenario lists, auto-promotion and an
//! endless scenario stream.

use std::collections::VecDeque;

use chaosops_model::{Difficulty, FailureId, Scenario, ScenarioSpec, Split};

use crate::registry::Registry;

/// Seed stride between failures of a tier's pool.
pub const SEED_STRIDE_PER_FAILURE: u64 = 97;
/// Seed stride between repetitions of one failure.
pub const SEED_STRIDE_PER_REP: u64 = 31;
/// How far the stream's seed offset moves on each promotion.
pub const SEED_OFFSET_PER_PROMOTION: u64 = 1000;
/// Episodes in the rolling reward window.
pub const PROMOTION_WINDOW: usize = 10;

/// The step budget of a tier: 12, 18, 25, or 30 for expert's compound incidents.
pub const fn max_steps_for(tier: Difficulty) -> u32 {
    match tier {
        Difficulty::Easy => 12,
        Difficulty::Medium => 18,
        Difficulty::Hard => 25,
        Difficulty::Expert => 30,
    }
}

/// The mean reward over the window that promotes out of `tier` (none for the last tier).
/// The curriculum climbs the reference tiers; hard is its last (an expert curriculum
/// starts at expert and stays there).
pub const fn promotion_threshold(tier: Difficulty) -> Option<f64> {
    match tier {
        Difficulty::Easy => Some(70.0),
        Difficulty::Medium => Some(55.0),
        Difficulty::Hard | Difficulty::Expert => None,
    }
}

const fn next_tier(tier: Difficulty) -> Option<Difficulty> {
    match tier {
        Difficulty::Easy => Some(Difficulty::Medium),
        Difficulty::Medium => Some(Difficulty::Hard),
        Difficulty::Hard | Difficulty::Expert => None,
    }
}

/// The scenarios of a tier: for the failure at pool index `i` and each repetition `rep`,
/// seed = `seed_offset + 97 i + 31 rep`, with the tier's step budget.
pub fn scenarios_for_tier(
    registry: &Registry,
    tier: Difficulty,
    seed_offset: u64,
    episodes_per_type: u32,
) -> Vec<Scenario> {
    let pool = registry.pool(tier);
    let mut out = Vec::with_capacity(pool.len() * episodes_per_type as usize);
    for (i, failure) in pool.iter().enumerate() {
        for rep in 0..u64::from(episodes_per_type) {
            out.push(tier_scenario(*failure, i, tier, seed_offset, rep));
        }
    }
    out
}

/// The scenarios of a tier on one side of the held-out split (docs/behaviour.md §16): the
/// pool's types that have scenarios on that side, each at its pool index `i`, and for each
/// the first `episodes_per_type` seeds `seed_offset + 97 i + 31 r` on that side.
/// [`Split::All`] gives [`scenarios_for_tier`]'s list.
pub fn scenarios_for_split(
    registry: &Registry,
    tier: Difficulty,
    seed_offset: u64,
    episodes_per_type: u32,
    split: Split,
) -> Vec<Scenario> {
    let pool = split_pool(registry, tier, split);
    let mut out = Vec::with_capacity(pool.len() * episodes_per_type as usize);
    for (i, failure) in pool {
        for k in 0..u64::from(episodes_per_type) {
            out.push(split_scenario(failure, i, tier, seed_offset, k, split));
        }
    }
    out
}

/// A tier's pool restricted to the types with scenarios on `split`'s side, each with its
/// index in the whole pool (which its seeds use).
pub fn split_pool(
    registry: &Registry,
    tier: Difficulty,
    split: Split,
) -> Vec<(usize, &'static dyn crate::FailureInjector)> {
    registry
        .pool(tier)
        .into_iter()
        .enumerate()
        .filter(|(_, f)| crate::split::has_side(*f, split))
        .collect()
}

/// The `k`-th scenario of `failure` (at `pool_index` of `tier`'s pool) on `split`'s side.
pub fn split_scenario(
    failure: &dyn crate::FailureInjector,
    pool_index: usize,
    tier: Difficulty,
    seed_offset: u64,
    k: u64,
    split: Split,
) -> Scenario {
    let base = seed_offset.wrapping_add(SEED_STRIDE_PER_FAILURE.wrapping_mul(pool_index as u64));
    let rep = crate::split::nth(failure, split, base, SEED_STRIDE_PER_REP, k);
    tier_scenario(failure, pool_index, tier, seed_offset, rep)
}

/// One scenario of [`scenarios_for_tier`]'s list: the `rep`-th of `failure`, which sits at
/// index `pool_index` of `tier`'s pool. Lets a long list be walked without building it.
pub fn tier_scenario(
    failure: &dyn crate::FailureInjector,
    pool_index: usize,
    tier: Difficulty,
    seed_offset: u64,
    rep: u64,
) -> Scenario {
    let seed = seed_offset
        .wrapping_add(SEED_STRIDE_PER_FAILURE.wrapping_mul(pool_index as u64))
        .wrapping_add(SEED_STRIDE_PER_REP.wrapping_mul(rep));
    let spec = ScenarioSpec {
        failure_type: FailureId::from_static(failure.id()),
        seed,
        difficulty: tier,
        max_steps: max_steps_for(tier),
        variation: Default::default(),
    };
    Scenario::from_spec(&spec, failure.rogue_agent())
}

/// Tracks recent episode rewards and promotes to the next tier when they are good enough.
#[derive(Clone, Debug)]
pub struct Curriculum {
    tier: Difficulty,
    window: VecDeque<f64>,
}

impl Default for Curriculum {
    fn default() -> Self {
        Curriculum::new(Difficulty::Easy)
    }
}

impl Curriculum {
    /// A curriculum starting at `tier`.
    pub fn new(tier: Difficulty) -> Self {
        Curriculum {
            tier,
            window: VecDeque::with_capacity(PROMOTION_WINDOW),
        }
    }

    /// The current tier.
    pub fn tier(&self) -> Difficulty {
        self.tier
    }

    /// The rewards in the window, oldest first.
    pub fn window(&self) -> impl Iterator<Item = f64> + '_ {
        self.window.iter().copied()
    }

    /// Records an episode's reward; returns the new tier when this promotes.
    pub fn record(&mut self, reward: f64) -> Option<Difficulty> {
        if self.window.len() == PROMOTION_WINDOW {
            self.window.pop_front();
        }
        self.window.push_back(reward);
        if self.window.len() < PROMOTION_WINDOW {
            return None;
        }
        let threshold = promotion_threshold(self.tier)?;
        let mean = self.window.iter().sum::<f64>() / PROMOTION_WINDOW as f64;
        if mean < threshold {
            return None;
        }
        let next = next_tier(self.tier)?;
        self.tier = next;
        self.window.clear();
        Some(next)
    }
}

/// An endless stream of scenarios: cycles the current tier's list and, on a promotion,
/// moves its seed offset on by 1000 and switches to the new tier's list.
#[derive(Clone, Debug)]
pub struct ScenarioStream<'r> {
    registry: &'r Registry,
    curriculum: Curriculum,
    episodes_per_type: u32,
    seed_offset: u64,
    split: Split,
    list: Vec<Scenario>,
    next: usize,
}

impl<'r> ScenarioStream<'r> {
    /// A stream starting at `curriculum`'s tier with `seed_offset`.
    pub fn new(
        registry: &'r Registry,
        curriculum: Curriculum,
        seed_offset: u64,
        episodes_per_type: u32,
    ) -> Self {
        let list = scenarios_for_tier(registry, curriculum.tier(), seed_offset, episodes_per_type);
        ScenarioStream {
            registry,
            curriculum,
            episodes_per_type,
            seed_offset,
            split: Split::All,
            list,
            next: 0,
        }
    }

    /// The same stream drawing only `split`'s side of the held-out partition
    /// (docs/behaviour.md §16), from the start of its tier's list.
    pub fn with_split(mut self, split: Split) -> Self {
        self.split = split;
        self.list = scenarios_for_split(
            self.registry,
            self.curriculum.tier(),
            self.seed_offset,
            self.episodes_per_type,
            split,
        );
        self.next = 0;
        self
    }

    /// The curriculum driving the stream.
    pub fn curriculum(&self) -> &Curriculum {
        &self.curriculum
    }

    /// The current seed offset.
    pub fn seed_offset(&self) -> u64 {
        self.seed_offset
    }

    /// Reports an episode's reward; on promotion the stream moves to the next tier.
    pub fn report(&mut self, reward: f64) -> Option<Difficulty> {
        let promoted = self.curriculum.record(reward)?;
        self.seed_offset = self.seed_offset.wrapping_add(SEED_OFFSET_PER_PROMOTION);
        self.list = scenarios_for_split(
            self.registry,
            promoted,
            self.seed_offset,
            self.episodes_per_type,
            self.split,
        );
        self.next = 0;
        Some(promoted)
    }
}

impl Iterator for ScenarioStream<'_> {
    type Item = Scenario;

    /// The next scenario; `None` only when the tier's pool is empty.
    fn next(&mut self) -> Option<Scenario> {
        if self.list.is_empty() {
            return None;
        }
        let s = self.list[self.next % self.list.len()].clone();
        self.next = (self.next + 1) % self.list.len();
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_needs_a_full_window_over_the_threshold() {
        let mut c = Curriculum::default();
        for _ in 0..9 {
            assert_eq!(c.record(100.0), None);
        }
        assert_eq!(c.record(100.0), Some(Difficulty::Medium));
        assert_eq!(c.window().count(), 0);
        for _ in 0..9 {
            assert_eq!(c.record(55.0), None);
        }
        assert_eq!(c.record(55.0), Some(Difficulty::Hard));
        for _ in 0..20 {
            assert_eq!(c.record(1000.0), None);
        }
        assert_eq!(c.tier(), Difficulty::Hard);
    }

    #[test]
    fn the_window_rolls() {
        let mut c = Curriculum::default();
        for _ in 0..10 {
            assert_eq!(c.record(69.0), None);
        }
        assert_eq!(c.window().count(), 10);
        // Nine 69s and one 79: mean 70 promotes.
        assert_eq!(c.record(79.0), Some(Difficulty::Medium));
        let mut c = Curriculum::new(Difficulty::Medium);
        for _ in 0..10 {
            assert_eq!(c.record(54.9), None);
        }
    }

    #[test]
    fn step_budgets() {
        assert_eq!(max_steps_for(Difficulty::Easy), 12);
        assert_eq!(max_steps_for(Difficulty::Medium), 18);
        assert_eq!(max_steps_for(Difficulty::Hard), 25);
    }
}
