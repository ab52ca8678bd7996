//! Environment configuration: which scenarios `reset(seed)` draws from, and the reward preset.

use std::fmt;
use std::str::FromStr;

use chaosops_model::{Difficulty, FailureId, Scenario, ScenarioSpec};
use chaosops_sim::curriculum::max_steps_for;
use chaosops_sim::{FailureInjector, Registry, RewardConfig};

use crate::error::RlError;

/// Named reward weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RewardPreset {
    /// The reference weights, exactly as the recorded episodes are scored (the default).
    #[default]
    Reference,
    /// The reference weights with the root-cause and rogue bonuses paid once per episode.
    Strict,
}

impl RewardPreset {
    /// Every preset.
    pub const ALL: [RewardPreset; 2] = [RewardPreset::Reference, RewardPreset::Strict];

    /// The preset's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RewardPreset::Reference => "reference",
            RewardPreset::Strict => "strict",
        }
    }

    /// The reward weights of this preset.
    pub fn config(self) -> RewardConfig {
        match self {
            RewardPreset::Reference => RewardConfig::reference(),
            RewardPreset::Strict => RewardConfig::strict(),
        }
    }
}

impl fmt::Display for RewardPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RewardPreset {
    type Err = RlError;
    fn from_str(s: &str) -> Result<Self, RlError> {
        RewardPreset::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                RlError::config(
                    "reward",
                    format!("unknown reward preset \"{s}\"; known: reference, strict"),
                )
            })
    }
}

/// How much scenarios vary from seed to seed (docs/behaviour.md §15): `none` (the
/// reference scenarios) or `standard`.
pub use chaosops_model::{Split, Variation};

/// What an environment draws its episodes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvConfig {
    /// Failure types to draw from; `None` means each tier's curriculum pool.
    pub failure_types: Option<Vec<String>>,
    /// Tiers to draw from; empty means the reference three (easy, medium, hard).
    pub tiers: Vec<Difficulty>,
    /// Step budget; `None` means the tier's (12, 18, 25, 30).
    pub max_steps: Option<u32>,
    /// Reward weights.
    pub reward: RewardPreset,
    /// Scenario variation.
    pub variation: Variation,
    /// Which side of the held-out split `reset(seed)` draws from (docs/behaviour.md §16).
    pub split: Split,
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from `x`.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of the `k`-th episode of a stream that starts at `seed` (`k = 0` is `seed` itself).
pub fn nth_seed(seed: u64, k: u64) -> u64 {
    if k == 0 {
        seed
    } else {
        splitmix64(seed ^ splitmix64(k))
    }
}

/// The scenarios an [`EnvConfig`] allows, resolved against a registry.
#[derive(Clone)]
pub struct ScenarioSource {
    registry: &'static Registry,
    candidates: Vec<(&'static dyn FailureInjector, Difficulty)>,
    max_steps: Option<u32>,
    reward: RewardConfig,
    config: EnvConfig,
}

impl fmt::Debug for ScenarioSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScenarioSource")
            .field("config", &self.config)
            .field("candidates", &self.candidates.len())
            .finish_non_exhaustive()
    }
}

impl ScenarioSource {
    /// Resolves `config`: checks the failure ids, the tiers and the step budget.
    pub fn new(registry: &'static Registry, config: &EnvConfig) -> Result<Self, RlError> {
        let tiers: Vec<Difficulty> = if config.tiers.is_empty() {
            Difficulty::REFERENCE.to_vec()
        } else {
            config.tiers.clone()
        };
        let mut candidates = Vec::new();
        match &config.failure_types {
            Some(ids) => {
                if ids.is_empty() {
                    return Err(RlError::config(
                        "failure_types",
                        "the list is empty; name at least one failure type or leave it out",
                    ));
                }
                let mut failures = Vec::with_capacity(ids.len());
                for id in ids {
                    let f = registry
                        .failure(id)
                        .map_err(|e| RlError::config("failure_types", e.to_string()))?;
                    if !chaosops_sim::split::has_side(f, config.split) {
                        return Err(RlError::config(
                            "failure_types",
                            format!(
                                "\"{id}\" belongs to the held-out family \"{}\": it has no {} scenarios",
                                f.family(),
                                config.split
                            ),
                        ));
                    }
                    if !failures
                        .iter()
                        .any(|g: &&dyn FailureInjector| g.id() == f.id())
                    {
                        failures.push(f);
                    }
                }
                for tier in &tiers {
                    candidates.extend(failures.iter().map(|f| (*f, *tier)));
                }
            }
            None => {
                for tier in &tiers {
                    candidates.extend(
                        registry
                            .pool(*tier)
                            .into_iter()
                            .filter(|f| chaosops_sim::split::has_side(*f, config.split))
                            .map(|f| (f, *tier)),
                    );
                }
            }
        }
        if candidates.is_empty() {
            return Err(RlError::config(
                "tiers",
                format!(
                    "no registered failure type belongs to {}",
                    tiers
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if let Some(m) = config.max_steps {
            if !(1..=chaosops_model::limits::MAX_STEPS).contains(&m) {
                return Err(RlError::config(
                    "max_steps",
                    format!(
                        "{m} is out of range; allowed: 1..={}",
                        chaosops_model::limits::MAX_STEPS
                    ),
                ));
            }
        }
        Ok(ScenarioSource {
            registry,
            candidates,
            max_steps: config.max_steps,
            reward: config.reward.config(),
            config: config.clone(),
        })
    }

    /// The registry scenarios resolve against.
    pub fn registry(&self) -> &'static Registry {
        self.registry
    }

    /// The configuration this source was built from.
    pub fn config(&self) -> &EnvConfig {
        &self.config
    }

    /// The reward weights.
    pub fn reward(&self) -> &RewardConfig {
        &self.reward
    }

    /// The (failure, tier) pairs `scenario` draws from, in order.
    pub fn candidates(&self) -> impl ExactSizeIterator<Item = (&'static str, Difficulty)> + '_ {
        self.candidates.iter().map(|(f, d)| (f.id(), *d))
    }

    /// The scenario of `seed`: candidate `splitmix64(seed) mod n`, played with that seed.
    pub fn scenario(&self, seed: u64) -> Scenario {
        let n = self.candidates.len() as u64;
        let (failure, tier) = self.candidates[(splitmix64(seed) % n) as usize];
        // On one side of the split, the seed-th scenario seed of that side.
        let seed = chaosops_sim::split::nth(failure, self.config.split, 0, 1, seed);
        let spec = ScenarioSpec {
            failure_type: FailureId::from_static(failure.id()),
            seed,
            difficulty: tier,
            max_steps: self.max_steps.unwrap_or_else(|| max_steps_for(tier)),
            variation: self.config.variation,
        };
        Scenario::from_spec(&spec, failure.rogue_agent())
    }
}
