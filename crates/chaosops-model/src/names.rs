//! Closed vocabularies of docs/behaviour.md §1 and their wire strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ModelError;

/// Declares a closed, `Copy` enum whose JSON form is a fixed string per variant.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration (and wire) order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire string of this value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// Position of this value in [`Self::ALL`], for fixed-size tables.
            pub const fn index(self) -> usize {
                self as usize
            }

            /// Parses a wire string; `None` when it names no value.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ModelError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| ModelError::UnknownName {
                    kind: $kind,
                    value: s.to_owned(),
                    known: Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

wire_enum! {
    /// One of the four running services; the order is the order of every table.
    Service, "service" {
        /// The authentication service.
        Auth => "auth",
        /// The payments service.
        Payments => "payments",
        /// The notifications service.
        Notifications => "notifications",
        /// The database.
        Db => "db",
    }
}

impl Service {
    /// Number of services.
    pub const COUNT: usize = 4;
}

wire_enum! {
    /// Automation running inside the fleet; one of them may be the rogue.
    FleetAgent, "fleet agent" {
        /// Scales service replicas.
        Autoscaler => "autoscaler",
        /// Routes traffic between backends.
        LoadBalancer => "load_balancer",
        /// Pushes configuration and code.
        DeployBot => "deploy_bot",
    }
}

wire_enum! {
    /// The `service` field of a log line or alert: a service or a fleet agent.
    Component, "component" {
        /// The authentication service.
        Auth => "auth",
        /// The payments service.
        Payments => "payments",
        /// The notifications service.
        Notifications => "notifications",
        /// The database.
        Db => "db",
        /// The autoscaler fleet agent.
        Autoscaler => "autoscaler",
        /// The load-balancer fleet agent.
        LoadBalancer => "load_balancer",
        /// The deploy-bot fleet agent.
        DeployBot => "deploy_bot",
    }
}

impl From<Service> for Component {
    fn from(s: Service) -> Self {
        match s {
            Service::Auth => Component::Auth,
            Service::Payments => Component::Payments,
            Service::Notifications => Component::Notifications,
            Service::Db => Component::Db,
        }
    }
}

impl From<FleetAgent> for Component {
    fn from(a: FleetAgent) -> Self {
        match a {
            FleetAgent::Autoscaler => Component::Autoscaler,
            FleetAgent::LoadBalancer => Component::LoadBalancer,
            FleetAgent::DeployBot => Component::DeployBot,
        }
    }
}

wire_enum! {
    /// Service health, ordered from best to worst.
    Health, "health" {
        /// Serving normally.
        Healthy => "healthy",
        /// Serving with reduced quality.
        Degraded => "degraded",
        /// Mostly failing.
        Critical => "critical",
        /// Not serving.
        Down => "down",
    }
}

impl Health {
    /// Severity rank: 0 for healthy up to 3 for down.
    pub const fn rank(self) -> u8 {
        self as u8
    }
}

wire_enum! {
    /// A seat at the incident; each sees only its own slice of the world.
    Role, "role" {
        /// Site reliability engineer: diagnoses.
        Sre => "sre",
        /// Developer: remediates.
        Dev => "dev",
        /// Incident manager: coordinates, escalates, resolves.
        Manager => "manager",
        /// Oversight: watches the fleet's automation for a rogue agent.
        Oversight => "oversight",
    }
}

impl Role {
    /// Number of roles.
    pub const COUNT: usize = 4;
    /// The order in which roles take turns.
    pub const TURN_ORDER: [Role; 4] = [Role::Sre, Role::Oversight, Role::Dev, Role::Manager];
}

wire_enum! {
    /// What an action does; each type has one handler in the engine.
    ActionType, "action type" {
        /// Do nothing.
        Noop => "noop",
        /// Send a chat message, broadcast or private.
        Communicate => "communicate",
        /// Restart a service.
        Restart => "restart",
        /// Roll back a service's last change.
        Rollback => "rollback",
        /// Set a service's replica count.
        Scale => "scale",
        /// Flag a fleet agent as rogue (oversight only).
        FlagRogue => "flag_rogue",
        /// Declare the incident's root cause.
        IdentifyRootCause => "identify_root_cause",
        /// Escalate the incident.
        Escalate => "escalate",
        /// Declare the incident resolved (manager only).
        Resolve => "resolve",
    }
}

impl ActionType {
    /// Number of action types.
    pub const COUNT: usize = 9;
}

wire_enum! {
    /// Difficulty tier of a scenario.
    Difficulty, "difficulty" {
        /// No decoys, simple failures.
        Easy => "easy",
        /// Cascades and the first rogue agent.
        Medium => "medium",
        /// Decoy logs and rogue agents.
        Hard => "hard",
        /// Compound incidents: a hard incident and an easy one at once, with decoys
        /// (docs/behaviour.md §18). Outside the default lists: asked for by name.
        Expert => "expert",
    }
}

impl Difficulty {
    /// The reference tiers, easiest first: what evaluations, environments and the
    /// curriculum use when no tier is named. [`Difficulty::Expert`] is asked for by name.
    pub const REFERENCE: &'static [Difficulty] =
        &[Difficulty::Easy, Difficulty::Medium, Difficulty::Hard];

    /// True for tiers whose scenarios carry decoy logs (hard and expert).
    pub const fn has_decoys(self) -> bool {
        matches!(self, Difficulty::Hard | Difficulty::Expert)
    }
}

wire_enum! {
    /// How much a failure type's episodes differ from one another (docs/behaviour.md §15).
    Variation, "variation" {
        /// The reference behaviour: a failure type always looks the same.
        None => "none",
        /// Drawn per episode: the service hit (where the type allows), magnitudes, the
        /// evidence's wording, decoy logs, and metric jitter.
        Standard => "standard",
    }
}

// The wire_enum! macro derives no Default; a derive would need #[default] on a variant.
#[allow(clippy::derivable_impls)]
impl Default for Variation {
    fn default() -> Self {
        Variation::None
    }
}

impl Variation {
    /// True for [`Variation::None`] (serialization leaves it out).
    pub fn is_none(&self) -> bool {
        *self == Variation::None
    }
}

wire_enum! {
    /// Which scenarios a list draws (docs/behaviour.md §16): every one, or one side of the
    /// held-out partition.
    Split, "split" {
        /// Every scenario.
        All => "all",
        /// The training side: no held-out family, no held-out seed.
        Train => "train",
        /// The test side: the held-out families whole, and the held-out seeds of the others.
        Test => "test",
    }
}

// As for Variation: the macro derives no Default.
#[allow(clippy::derivable_impls)]
impl Default for Split {
    fn default() -> Self {
        Split::All
    }
}

impl Split {
    /// True for [`Split::All`] (serialization leaves it out).
    pub fn is_all(&self) -> bool {
        *self == Split::All
    }
}

wire_enum! {
    /// Log line level.
    LogLevel, "log level" {
        /// Informational.
        Info => "INFO",
        /// Warning.
        Warn => "WARN",
        /// Error.
        Error => "ERROR",
        /// Fatal error.
        Fatal => "FATAL",
    }
}

wire_enum! {
    /// Alert severity.
    Severity, "severity" {
        /// Wakes someone up.
        Page => "page",
        /// Needs attention soon.
        Warn => "warn",
        /// For the record.
        Info => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip() {
        for s in Service::ALL {
            assert_eq!(Service::parse(s.as_str()), Some(*s));
            assert_eq!(Component::from(*s).as_str(), s.as_str());
        }
        for a in FleetAgent::ALL {
            assert_eq!(Component::from(*a).as_str(), a.as_str());
        }
        let json = serde_json::to_string(&ActionType::IdentifyRootCause).unwrap();
        assert_eq!(json, "\"identify_root_cause\"");
        let back: ActionType = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ActionType::IdentifyRootCause);
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = "restrat".parse::<ActionType>().unwrap_err().to_string();
        assert!(err.contains("unknown action type \"restrat\""), "{err}");
        assert!(err.contains("restart"), "{err}");
    }

    #[test]
    fn health_ranks_are_ordered() {
        assert!(Health::Healthy.rank() < Health::Degraded.rank());
        assert!(Health::Critical.rank() < Health::Down.rank());
    }
}
