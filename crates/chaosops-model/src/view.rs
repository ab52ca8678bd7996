//! What one role sees (docs/behaviour.md §6): borrowed from the state, never cloned per step.

use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::names::{Component, FleetAgent, LogLevel, Role, Service};
use crate::state::{Alert, FleetAction, LogLine, ServiceMetrics, Services};

/// Log lines as a role sees them: the decoy flag is not reachable through this type.
#[derive(Clone, Copy, Debug, Default)]
pub struct VisibleLogs<'a>(&'a [LogLine]);

/// One visible log line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LogView<'a> {
    /// Step count when emitted.
    pub timestamp: f64,
    /// Emitting service or agent.
    pub service: Component,
    /// Level.
    pub level: LogLevel,
    /// Text.
    pub message: &'a str,
}

impl<'a> VisibleLogs<'a> {
    /// Wraps a slice of log lines.
    #[inline]
    pub fn new(lines: &'a [LogLine]) -> Self {
        VisibleLogs(lines)
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The address and length of the underlying slice: an identity for caches that reveals
    /// nothing of the content.
    pub fn slice_id(&self) -> (usize, usize) {
        (self.0.as_ptr() as usize, self.0.len())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The lines, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = LogView<'a>> + ExactSizeIterator + 'a {
        self.0.iter().map(|l| LogView {
            timestamp: l.timestamp,
            service: l.service,
            level: l.level,
            message: &l.message,
        })
    }
}

impl Serialize for VisibleLogs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for line in self.iter() {
            seq.serialize_element(&line)?;
        }
        seq.end()
    }
}

/// Fleet actions as oversight sees them: the malicious flag is not reachable through this type.
#[derive(Clone, Copy, Debug, Default)]
pub struct VisibleFleetActions<'a>(&'a [FleetAction]);

/// One visible fleet action.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FleetActionView<'a> {
    /// The agent that acted.
    pub agent_name: FleetAgent,
    /// What it did.
    pub action: &'a str,
    /// The service it acted on.
    pub target: Service,
    /// Step count when it acted.
    pub step: u32,
}

impl<'a> VisibleFleetActions<'a> {
    /// Wraps a slice of fleet actions.
    #[inline]
    pub fn new(actions: &'a [FleetAction]) -> Self {
        VisibleFleetActions(actions)
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The address and length of the underlying slice: an identity for caches that reveals
    /// nothing of the content.
    pub fn slice_id(&self) -> (usize, usize) {
        (self.0.as_ptr() as usize, self.0.len())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The actions, oldest first.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = FleetActionView<'a>> + ExactSizeIterator + 'a {
        self.0.iter().map(|a| FleetActionView {
            agent_name: a.agent_name,
            action: &a.action,
            target: a.target,
            step: a.step,
        })
    }
}

impl Serialize for VisibleFleetActions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for a in self.iter() {
            seq.serialize_element(&a)?;
        }
        seq.end()
    }
}

/// One role's partial view of the world, borrowed from the state.
#[derive(Clone, Copy, Debug)]
pub struct RoleView<'a> {
    /// Whose view this is.
    pub role: Role,
    /// Service metrics, when the role may see them (JSON: `{}` when not).
    pub visible_metrics: Option<&'a Services>,
    /// Recent log lines.
    pub visible_logs: VisibleLogs<'a>,
    /// Alerts.
    pub visible_alerts: &'a [Alert],
    /// Fleet actions (oversight only).
    pub visible_fleet_actions: VisibleFleetActions<'a>,
    /// Recent broadcast chat.
    pub shared_chat: &'a [String],
    /// A role-specific hint.
    pub private_note: Option<&'static str>,
    /// Recent private messages to this role.
    pub private_inbox: &'a [String],
}

impl<'a> RoleView<'a> {
    /// A view that shows nothing but `role`.
    pub fn empty(role: Role) -> Self {
        RoleView {
            role,
            visible_metrics: None,
            visible_logs: VisibleLogs::default(),
            visible_alerts: &[],
            visible_fleet_actions: VisibleFleetActions::default(),
            shared_chat: &[],
            private_note: None,
            private_inbox: &[],
        }
    }

    /// Visible metrics of `service`, if any.
    pub fn metrics(&self, service: Service) -> Option<&'a ServiceMetrics> {
        self.visible_metrics.map(|m| &m[service])
    }

    /// An owned JSON form of this view.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

struct MetricsField<'a>(Option<&'a Services>);

impl Serialize for MetricsField<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(services) => services.serialize(serializer),
            None => serializer.collect_map(std::iter::empty::<(&str, ())>()),
        }
    }
}

impl Serialize for RoleView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("RoleView", 8)?;
        s.serialize_field("role", &self.role)?;
        s.serialize_field("visible_metrics", &MetricsField(self.visible_metrics))?;
        s.serialize_field("visible_logs", &self.visible_logs)?;
        s.serialize_field("visible_alerts", self.visible_alerts)?;
        s.serialize_field("visible_fleet_actions", &self.visible_fleet_actions)?;
        s.serialize_field("shared_chat", self.shared_chat)?;
        s.serialize_field("private_note", &self.private_note)?;
        s.serialize_field("private_inbox", self.private_inbox)?;
        s.end()
    }
}

/// The last `n` items of `items` (all of them when there are fewer).
#[inline]
pub fn tail<T>(items: &[T], n: usize) -> &[T] {
    &items[items.len().saturating_sub(n)..]
}
