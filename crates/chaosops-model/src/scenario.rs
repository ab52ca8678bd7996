//! Scenarios: the initial conditions of an episode (docs/behaviour.md §3).

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::failure_id::FailureId;
use crate::limits::MAX_STEPS;
use crate::names::{Difficulty, FleetAgent, Variation};

/// Default step budget of a scenario.
pub const DEFAULT_MAX_STEPS: u32 = 20;

fn default_max_steps() -> u32 {
    DEFAULT_MAX_STEPS
}

/// A scenario as a caller asks for it; the rest is derived from the failure type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSpec {
    /// The failure to inject: a type's id, or a compound incident's parts, as a list or
    /// joined by `+` (docs/behaviour.md §18).
    #[serde(deserialize_with = "failure_type_or_parts")]
    pub failure_type: FailureId,
    /// Seed of the episode's random generator.
    #[serde(default)]
    pub seed: u64,
    /// Difficulty tier; hard adds decoy logs.
    #[serde(default = "default_difficulty")]
    pub difficulty: Difficulty,
    /// Step budget.
    #[serde(default = "default_max_steps")]
    pub max_steps: u32,
    /// Variation (default none: the reference behaviour; left out of JSON when none).
    #[serde(default, skip_serializing_if = "Variation::is_none")]
    pub variation: Variation,
}

fn default_difficulty() -> Difficulty {
    Difficulty::Easy
}

/// Reads a scenario's `failure_type`: a failure type's id, or the parts of a compound
/// incident given as a list of ids (read as the ids joined by `+`; the registry puts them in
/// id order). For `#[serde(deserialize_with)]` on other scenario-like inputs.
pub fn failure_type_or_parts<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<FailureId, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = FailureId;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a failure type id or a list of failure type ids")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FailureId, E> {
            Ok(FailureId::from(v.to_owned()))
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<FailureId, E> {
            Ok(FailureId::from(v))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<FailureId, A::Error> {
            let mut joined = String::new();
            while let Some(part) = seq.next_element::<std::borrow::Cow<'de, str>>()? {
                if !joined.is_empty() {
                    joined.push('+');
                }
                joined.push_str(&part);
            }
            if joined.is_empty() {
                return Err(serde::de::Error::custom(
                    "a compound incident names at least one failure type; got []",
                ));
            }
            Ok(FailureId::from(joined))
        }
    }
    d.deserialize_any(V)
}

/// A fully specified scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// The failure to inject: a type's id or a compound's parts (see [`ScenarioSpec`]).
    #[serde(deserialize_with = "failure_type_or_parts")]
    pub failure_type: FailureId,
    /// Difficulty tier.
    pub difficulty: Difficulty,
    /// Seed of the episode's random generator.
    pub seed: u64,
    /// Step budget.
    pub max_steps: u32,
    /// Whether decoy logs are injected at reset.
    pub inject_misleading_logs: bool,
    /// The fleet agent causing the failure, if any.
    pub rogue_fleet_agent: Option<FleetAgent>,
    /// Variation (left out of JSON when none).
    #[serde(default, skip_serializing_if = "Variation::is_none")]
    pub variation: Variation,
}

impl Scenario {
    /// Builds a scenario "the usual way": decoys on hard, the failure's own rogue agent.
    pub fn from_spec(spec: &ScenarioSpec, rogue_fleet_agent: Option<FleetAgent>) -> Self {
        Scenario {
            failure_type: spec.failure_type.clone(),
            difficulty: spec.difficulty,
            seed: spec.seed,
            max_steps: spec.max_steps,
            inject_misleading_logs: spec.difficulty.has_decoys(),
            rogue_fleet_agent,
            variation: spec.variation,
        }
    }

    /// The spec this scenario answers (what a replay line's `scenario` holds).
    pub fn spec(&self) -> ScenarioSpec {
        ScenarioSpec {
            failure_type: self.failure_type.clone(),
            seed: self.seed,
            difficulty: self.difficulty,
            max_steps: self.max_steps,
            variation: self.variation,
        }
    }

    /// Checks the documented limits: `max_steps` in `1..=MAX_STEPS`.
    pub fn validate(&self) -> Result<(), ModelError> {
        if !(1..=MAX_STEPS).contains(&self.max_steps) {
            return Err(ModelError::OutOfRange {
                field: "max_steps",
                value: i128::from(self.max_steps),
                min: 1,
                max: i128::from(MAX_STEPS),
            });
        }
        Ok(())
    }
}
