//! The ground-truth world state of docs/behaviour.md §2.

use std::borrow::Cow;
use std::ops::{Index, IndexMut};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::episode_id::EpisodeId;
use crate::failure_id::FailureId;
use crate::names::{Component, Difficulty, FleetAgent, Health, LogLevel, Role, Service, Severity};

/// Metrics of one service.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceMetrics {
    /// CPU use in percent, 0..=100.
    pub cpu_pct: f64,
    /// Memory use in MB (disk use for `disk_full`), >= 0.
    pub memory_mb: f64,
    /// Request latency in ms, >= 0.
    pub latency_ms: f64,
    /// Fraction of failing requests, 0..=1.
    pub error_rate: f64,
    /// Running replicas.
    pub replicas: u32,
    /// Health class.
    pub health: Health,
}

impl ServiceMetrics {
    /// Baseline CPU percent of a healthy service.
    pub const BASELINE_CPU_PCT: f64 = 22.0;
    /// Baseline memory of a healthy service.
    pub const BASELINE_MEMORY_MB: f64 = 340.0;
    /// Baseline latency of a healthy service.
    pub const BASELINE_LATENCY_MS: f64 = 45.0;
    /// Baseline error rate of a healthy service.
    pub const BASELINE_ERROR_RATE: f64 = 0.01;

    /// A healthy service at baseline with `replicas` replicas.
    pub const fn healthy(replicas: u32) -> Self {
        ServiceMetrics {
            cpu_pct: Self::BASELINE_CPU_PCT,
            memory_mb: Self::BASELINE_MEMORY_MB,
            latency_ms: Self::BASELINE_LATENCY_MS,
            error_rate: Self::BASELINE_ERROR_RATE,
            replicas,
            health: Health::Healthy,
        }
    }

    /// Returns cpu, memory, latency and error rate to baseline and marks the service healthy; replicas are kept.
    pub fn restore_baseline(&mut self) {
        *self = ServiceMetrics::healthy(self.replicas);
    }
}

/// The four services' metrics, indexed by [`Service`]; JSON form is an object in service order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Services(pub [ServiceMetrics; Service::COUNT]);

impl Services {
    /// Baseline replicas in service order: auth 3, payments 4, notifications 2, db 1.
    pub const BASELINE_REPLICAS: [u32; Service::COUNT] = [3, 4, 2, 1];

    /// Every service healthy at baseline.
    pub const fn baseline() -> Self {
        let r = Self::BASELINE_REPLICAS;
        Services([
            ServiceMetrics::healthy(r[0]),
            ServiceMetrics::healthy(r[1]),
            ServiceMetrics::healthy(r[2]),
            ServiceMetrics::healthy(r[3]),
        ])
    }

    /// Services with their metrics, in service order.
    pub fn iter(&self) -> impl Iterator<Item = (Service, &ServiceMetrics)> {
        Service::ALL.iter().copied().zip(self.0.iter())
    }
}

impl Default for Services {
    fn default() -> Self {
        Services::baseline()
    }
}

impl Index<Service> for Services {
    type Output = ServiceMetrics;
    fn index(&self, s: Service) -> &ServiceMetrics {
        &self.0[s.index()]
    }
}

impl IndexMut<Service> for Services {
    fn index_mut(&mut self, s: Service) -> &mut ServiceMetrics {
        &mut self.0[s.index()]
    }
}

impl Serialize for Services {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Service::COUNT))?;
        for (service, metrics) in self.iter() {
            map.serialize_entry(service.as_str(), metrics)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Services {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Services;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object with the metrics of auth, payments, notifications and db")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Services, A::Error> {
                let mut seen = [None; Service::COUNT];
                while let Some(key) = map.next_key::<Service>()? {
                    seen[key.index()] = Some(map.next_value::<ServiceMetrics>()?);
                }
                let mut out = [ServiceMetrics::healthy(0); Service::COUNT];
                for (i, s) in Service::ALL.iter().enumerate() {
                    out[i] = seen[i].ok_or_else(|| {
                        serde::de::Error::custom(format!("missing metrics of service \"{s}\""))
                    })?;
                }
                Ok(Services(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// One log line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// The step count when it was emitted.
    pub timestamp: f64,
    /// Emitting service or fleet agent.
    pub service: Component,
    /// Level.
    pub level: LogLevel,
    /// Free text.
    pub message: Cow<'static, str>,
    /// True for decoys (ground truth; never shown to a role).
    pub is_red_herring: bool,
}

/// One alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Service or fleet agent the alert is about.
    pub service: Component,
    /// Severity.
    pub severity: Severity,
    /// Free text.
    pub message: Cow<'static, str>,
    /// Step count when it fired.
    pub triggered_at_step: u32,
}

/// An action taken by automation inside the fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetAction {
    /// The agent that acted.
    pub agent_name: FleetAgent,
    /// What it did (`scale_down`, `route_override`, ...).
    pub action: Cow<'static, str>,
    /// The service it acted on.
    pub target: Service,
    /// Step count when it acted.
    pub step: u32,
    /// True when this action caused the incident (ground truth; never shown to a role).
    pub was_malicious: bool,
}

/// Each role's private inbox, indexed by [`Role`]; JSON form is an object holding the non-empty inboxes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inboxes(pub [Vec<String>; Role::COUNT]);

impl Inboxes {
    /// The inbox of `role`.
    pub fn of(&self, role: Role) -> &[String] {
        &self.0[role.index()]
    }

    /// Appends a message to `role`'s inbox.
    pub fn push(&mut self, role: Role, message: String) {
        self.0[role.index()].push(message);
    }
}

impl Serialize for Inboxes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = self.0.iter().filter(|v| !v.is_empty()).count();
        let mut map = serializer.serialize_map(Some(n))?;
        for role in Role::ALL {
            let inbox = self.of(*role);
            if !inbox.is_empty() {
                map.serialize_entry(role.as_str(), inbox)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Inboxes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<Role, Vec<String>>::deserialize(deserializer)?;
        let mut out = Inboxes::default();
        for (role, messages) in map {
            out.0[role.index()] = messages;
        }
        Ok(out)
    }
}

/// Where variation moved failures' targets, indexed by each failure's reference target
/// (docs/behaviour.md §15): a compound's parts each keep their own. JSON form: an object
/// from reference service to the service hit, holding the moved targets only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VariantTargets(pub [Option<Service>; Service::COUNT]);

impl VariantTargets {
    /// True when no target moved.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// The service hit instead of `reference`, if variation moved it.
    #[inline]
    pub fn get(&self, reference: Service) -> Option<Service> {
        self.0[reference.index()]
    }

    /// Notes that the failure whose reference target is `reference` hits `target`.
    pub fn set(&mut self, reference: Service, target: Service) {
        self.0[reference.index()] = Some(target);
    }
}

impl Serialize for VariantTargets {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = self.0.iter().filter(|t| t.is_some()).count();
        let mut map = serializer.serialize_map(Some(n))?;
        for service in Service::ALL {
            if let Some(target) = self.get(*service) {
                map.serialize_entry(service.as_str(), target.as_str())?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for VariantTargets {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<Service, Service>::deserialize(deserializer)?;
        let mut out = VariantTargets::default();
        for (reference, target) in map {
            out.set(reference, target);
        }
        Ok(out)
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// The ground truth of one episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Episode id (drawn from the episode's seeded generator unless supplied; see
    /// [`EpisodeId`]).
    pub episode_id: EpisodeId,
    /// Actions applied so far.
    pub step_count: u32,
    /// Step budget of the episode.
    pub max_steps: u32,
    /// Difficulty tier.
    pub difficulty: Difficulty,
    /// The injected failure.
    pub failure_type: FailureId,
    /// The rogue fleet agent, if the failure has one.
    pub rogue_fleet_agent: Option<FleetAgent>,
    /// Number of decoy log lines injected.
    pub misleading_log_count: u32,
    /// Per-service metrics.
    pub services: Services,
    /// Every log line, oldest first.
    pub all_logs: Vec<LogLine>,
    /// Every alert, oldest first.
    pub all_alerts: Vec<Alert>,
    /// Every fleet action, oldest first.
    pub fleet_actions: Vec<FleetAction>,
    /// Broadcast chat, oldest first.
    pub chat_history: Vec<String>,
    /// Private inboxes by role.
    pub private_chat: Inboxes,
    /// True once the correct fix was applied.
    pub resolved: bool,
    /// Number of wrong fixes.
    pub wrong_fixes: u32,
    /// Number of miscommunications.
    pub miscommunications: u32,
    /// Names flagged by oversight, in order, duplicates kept.
    pub oversight_flags: Vec<Cow<'static, str>>,
    /// The last declared root cause.
    pub declared_root_cause: Option<FailureId>,
    /// Step of the first valid root-cause declaration.
    pub declared_root_cause_step: Option<u32>,
    /// Sum of step rewards plus any terminal penalty.
    pub cumulative_reward: f64,
    /// The services failures hit where variation moved them from their reference targets
    /// (ground truth; never shown to a role; left out of JSON when none moved).
    #[serde(default, skip_serializing_if = "VariantTargets::is_empty")]
    pub variant_targets: VariantTargets,
    /// The parts of a compound incident fixed so far, one bit per part in the compound's
    /// order (docs/behaviour.md §18; ground truth; left out of JSON while 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub parts_fixed: u8,
}

impl State {
    /// A fresh state at the healthy baseline, before any failure is injected.
    pub fn new(
        episode_id: impl Into<EpisodeId>,
        failure_type: FailureId,
        difficulty: Difficulty,
        max_steps: u32,
        rogue_fleet_agent: Option<FleetAgent>,
    ) -> Self {
        State {
            episode_id: episode_id.into(),
            step_count: 0,
            max_steps,
            difficulty,
            failure_type,
            rogue_fleet_agent,
            misleading_log_count: 0,
            services: Services::baseline(),
            all_logs: Vec::with_capacity(8),
            all_alerts: Vec::with_capacity(2),
            fleet_actions: Vec::new(),
            chat_history: Vec::new(),
            private_chat: Inboxes::default(),
            resolved: false,
            wrong_fixes: 0,
            miscommunications: 0,
            oversight_flags: Vec::new(),
            declared_root_cause: None,
            declared_root_cause_step: None,
            cumulative_reward: 0.0,
            variant_targets: VariantTargets::default(),
            parts_fixed: 0,
        }
    }

    /// Returns this state to exactly what [`State::new`] builds with these arguments, keeping
    /// the lists' allocations.
    pub fn reset(
        &mut self,
        episode_id: impl Into<EpisodeId>,
        failure_type: FailureId,
        difficulty: Difficulty,
        max_steps: u32,
        rogue_fleet_agent: Option<FleetAgent>,
    ) {
        let State {
            episode_id: id,
            step_count,
            max_steps: budget,
            difficulty: tier,
            failure_type: failure,
            rogue_fleet_agent: rogue,
            misleading_log_count,
            services,
            all_logs,
            all_alerts,
            fleet_actions,
            chat_history,
            private_chat,
            resolved,
            wrong_fixes,
            miscommunications,
            oversight_flags,
            declared_root_cause,
            declared_root_cause_step,
            cumulative_reward,
            variant_targets,
            parts_fixed,
        } = self;
        *id = episode_id.into();
        *step_count = 0;
        *budget = max_steps;
        *tier = difficulty;
        *failure = failure_type;
        *rogue = rogue_fleet_agent;
        *misleading_log_count = 0;
        *services = Services::baseline();
        all_logs.clear();
        all_alerts.clear();
        fleet_actions.clear();
        chat_history.clear();
        for inbox in &mut private_chat.0 {
            inbox.clear();
        }
        *resolved = false;
        *wrong_fixes = 0;
        *miscommunications = 0;
        oversight_flags.clear();
        *declared_root_cause = None;
        *declared_root_cause_step = None;
        *cumulative_reward = 0.0;
        *variant_targets = VariantTargets::default();
        *parts_fixed = 0;
    }

    /// The service a failure whose reference target is `reference` hits in this episode.
    #[inline]
    pub fn target_or(&self, reference: Service) -> Service {
        self.variant_targets.get(reference).unwrap_or(reference)
    }

    /// Metrics of `service`.
    pub fn service(&self, service: Service) -> &ServiceMetrics {
        &self.services[service]
    }

    /// Mutable metrics of `service`.
    pub fn service_mut(&mut self, service: Service) -> &mut ServiceMetrics {
        &mut self.services[service]
    }

    /// Appends a genuine log line stamped with the current step count.
    pub fn emit_log(
        &mut self,
        service: impl Into<Component>,
        level: LogLevel,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.push_log(service.into(), level, message.into(), false);
    }

    /// Appends a decoy log line stamped with the current step count and counts it.
    pub fn emit_decoy_log(
        &mut self,
        service: impl Into<Component>,
        level: LogLevel,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.push_log(service.into(), level, message.into(), true);
        self.misleading_log_count += 1;
    }

    fn push_log(
        &mut self,
        service: Component,
        level: LogLevel,
        message: Cow<'static, str>,
        is_red_herring: bool,
    ) {
        self.all_logs.push(LogLine {
            timestamp: f64::from(self.step_count),
            service,
            level,
            message,
            is_red_herring,
        });
    }

    /// Appends an alert stamped with the current step count.
    pub fn emit_alert(
        &mut self,
        service: impl Into<Component>,
        severity: Severity,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.all_alerts.push(Alert {
            service: service.into(),
            severity,
            message: message.into(),
            triggered_at_step: self.step_count,
        });
    }

    /// Records an action of a fleet agent at the current step count.
    pub fn record_fleet_action(
        &mut self,
        agent: FleetAgent,
        action: impl Into<Cow<'static, str>>,
        target: Service,
        was_malicious: bool,
    ) {
        self.fleet_actions.push(FleetAction {
            agent_name: agent,
            action: action.into(),
            target,
            step: self.step_count,
            was_malicious,
        });
    }

    /// True when oversight has flagged `name` at least once.
    pub fn is_flagged(&self, name: &str) -> bool {
        self.oversight_flags.iter().any(|f| f == name)
    }

    /// True when the episode is over: resolved, or out of steps.
    #[inline]
    pub fn is_terminal(&self) -> bool {
        self.resolved || self.step_count >= self.max_steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_json_uses_spec_field_names_and_round_trips() {
        let mut state = State::new(
            uuid::Uuid::nil(),
            FailureId::DB_DEADLOCK,
            Difficulty::Hard,
            20,
            None,
        );
        state.emit_log(Service::Db, LogLevel::Error, "deadlock");
        state.private_chat.push(Role::Dev, "[sre -> dev] hi".into());
        let json = serde_json::to_value(&state).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        for key in [
            "episode_id",
            "step_count",
            "max_steps",
            "difficulty",
            "failure_type",
            "rogue_fleet_agent",
            "misleading_log_count",
            "services",
            "all_logs",
            "all_alerts",
            "fleet_actions",
            "chat_history",
            "private_chat",
            "resolved",
            "wrong_fixes",
            "miscommunications",
            "oversight_flags",
            "declared_root_cause",
            "declared_root_cause_step",
            "cumulative_reward",
        ] {
            assert!(keys.iter().any(|k| k == key), "missing {key}");
        }
        assert_eq!(keys.len(), 20);
        assert_eq!(json["services"]["db"]["replicas"], 1);
        assert_eq!(json["services"]["payments"]["replicas"], 4);
        assert_eq!(json["all_logs"][0]["level"], "ERROR");
        assert_eq!(json["private_chat"]["dev"][0], "[sre -> dev] hi");
        assert!(json["private_chat"].get("sre").is_none());
        let back: State = serde_json::from_value(json).unwrap();
        assert_eq!(back, state);
    }
}
