//! What the environment hands the acting role (docs/behaviour.md §7).

use std::fmt;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::names::{ActionType, Role};
use crate::record::StepRecord;
use crate::reward::OutcomeFlags;
use crate::view::RoleView;

/// The observation's human-readable message, rendered only when displayed or serialized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Message<'a> {
    /// Sent at reset.
    Reset {
        /// Alerts firing at reset.
        alerts: usize,
        /// The role that acts first.
        first_role: Role,
    },
    /// Sent after each step.
    Step {
        /// The role that acted.
        actor: Role,
        /// What it did.
        action_type: ActionType,
        /// Its target, if any.
        target: Option<&'a str>,
        /// What the action achieved.
        flags: OutcomeFlags,
        /// True when the step budget ran out with the incident unresolved.
        ended_unresolved: bool,
    },
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Message::Reset { alerts, first_role } => write!(
                f,
                "incident in progress: {alerts} alert(s) firing; {first_role} acts first"
            ),
            Message::Step {
                actor,
                action_type,
                target,
                flags,
                ended_unresolved,
            } => {
                write!(f, "{actor} did {action_type}")?;
                if let Some(t) = target {
                    write!(f, " on {t}")?;
                }
                let notes = [
                    (flags.resolved, "incident resolved"),
                    (flags.wrong_fix, "wrong fix"),
                    (flags.cascade_triggered, "cascade triggered"),
                    (flags.rogue_flagged_correctly, "rogue agent caught"),
                    (flags.rogue_flagged_incorrectly, "false rogue flag"),
                    (flags.root_cause_correct, "root cause identified"),
                    (flags.miscommunication, "miscommunication"),
                    (ended_unresolved, "episode ended unresolved"),
                ];
                let mut first = true;
                for (set, note) in notes {
                    if set {
                        f.write_str(if first { ": " } else { "; " })?;
                        f.write_str(note)?;
                        first = false;
                    }
                }
                Ok(())
            }
        }
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The observation handed to the role whose turn it is.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// True once the episode is over.
    pub done: bool,
    /// Reward of the step that led here (0 at reset).
    pub reward: f64,
    /// The acting role's view.
    pub view: RoleView<'a>,
    /// Step count.
    pub step: u32,
    /// The role whose turn it is.
    pub turn_role: Role,
    /// What just happened.
    pub message: Message<'a>,
}

/// What every role observes alike: an [`Observation`] without its view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObservationCommon<'a> {
    /// True once the episode is over.
    pub done: bool,
    /// Reward of the step that led here (0 at reset).
    pub reward: f64,
    /// Step count.
    pub step: u32,
    /// The role whose turn it is.
    pub turn_role: Role,
    /// What just happened.
    pub message: Message<'a>,
}

impl<'a> Observation<'a> {
    /// The observation of `view`, with what every role observes alike.
    #[inline]
    pub fn new(common: ObservationCommon<'a>, view: RoleView<'a>) -> Self {
        Observation {
            done: common.done,
            reward: common.reward,
            view,
            step: common.step,
            turn_role: common.turn_role,
            message: common.message,
        }
    }

    /// What every role observes alike.
    #[inline]
    pub fn common(&self) -> ObservationCommon<'a> {
        ObservationCommon {
            done: self.done,
            reward: self.reward,
            step: self.step,
            turn_role: self.turn_role,
            message: self.message,
        }
    }
}

impl Serialize for Observation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Observation", 6)?;
        s.serialize_field("done", &self.done)?;
        s.serialize_field("reward", &self.reward)?;
        s.serialize_field("view", &self.view)?;
        s.serialize_field("step", &self.step)?;
        s.serialize_field("turn_role", &self.turn_role)?;
        s.serialize_field("message", &self.message)?;
        s.end()
    }
}

/// An observation as the server sends it (the `data` of an `observation` message):
/// `{"observation": {"view", "step", "turn_role", "message", "last_step"}, "reward", "done"}`.
pub struct ObservationData<'a> {
    /// The observation.
    pub observation: Observation<'a>,
    /// The record of the step that led here, if any.
    pub last_step: Option<StepRecord>,
}

struct ObservationBody<'a, 'b>(&'b ObservationData<'a>);

impl Serialize for ObservationBody<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let o = &self.0.observation;
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("view", &o.view)?;
        map.serialize_entry("step", &o.step)?;
        map.serialize_entry("turn_role", &o.turn_role)?;
        map.serialize_entry("message", &o.message)?;
        map.serialize_entry("last_step", &self.0.last_step)?;
        map.end()
    }
}

impl Serialize for ObservationData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("observation", &ObservationBody(self))?;
        map.serialize_entry("reward", &self.observation.reward)?;
        map.serialize_entry("done", &self.observation.done)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_message_lists_outcomes() {
        let m = Message::Step {
            actor: Role::Dev,
            action_type: ActionType::Restart,
            target: Some("db"),
            flags: OutcomeFlags {
                resolved: true,
                ..Default::default()
            },
            ended_unresolved: false,
        };
        assert_eq!(m.to_string(), "dev did restart on db: incident resolved");
        let m = Message::Step {
            actor: Role::Sre,
            action_type: ActionType::Noop,
            target: None,
            flags: OutcomeFlags::default(),
            ended_unresolved: true,
        };
        assert_eq!(m.to_string(), "sre did noop: episode ended unresolved");
    }
}
