//! Incident types written as data: a TOML file per failure type (the format is
//! `docs/scenario-packs.md`), loaded at run time beside the built-in and compiled-plugin
//! types, and played by a declarative [`FailureInjector`].
//!
//! ```
//! let pack = chaosops_packs::parse(r#"
//!     id = "cache_miss_storm"
//!     description = "the cache is cold; the database takes every read"
//!     tiers = [{ difficulty = "medium", position = 10 }]
//!
//!     [[inject.metrics]]
//!     service = "db"
//!     latency_ms = 900.0
//!     health = "degraded"
//!
//!     [[inject.logs]]
//!     service = "db"
//!     level = "WARN"
//!     message = "read load 14x baseline"
//!
//!     [[fix]]
//!     action_type = "scale"
//!     target = "db"
//!     min_replicas = 3
//!
//!     [playbook.sre]
//!     action_type = "identify_root_cause"
//!     args = { failure_type = "cache_miss_storm" }
//!
//!     [playbook.dev]
//!     action_type = "scale"
//!     target = "db"
//!     args = { replicas = 3 }
//! "#, "example.toml").unwrap();
//! assert_eq!(pack.id(), "cache_miss_storm");
//! ```
//!
//! A pack's types join the process-wide registry through [`install_dir`] (or
//! [`chaosops_sim::Registry::install`]) before the registry is first used; they cannot
//! shadow another type's id.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chaosops_model::{
    Action, ActionType, Component, Difficulty, FleetAgent, Health, LogLevel, Role, Service,
    Severity, State,
};
use chaosops_sim::{FailureInjector, Playbook, Registry, TierSlot, Turn};
use serde::Deserialize;

/// The environment variable naming a folder of packs, read by [`install_from_env`].
pub const SCENARIOS_ENV: &str = "CHAOSOPS_SCENARIOS";

/// A pack that could not be read: the file, the place in it, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackError {
    /// The file (or the name given to [`parse`]).
    pub file: String,
    /// 1-based line and column of the offending text, when known.
    pub position: Option<(usize, usize)>,
    /// The field (the key on that line), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PackError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    id: String,
    description: String,
    #[serde(default)]
    family: Option<String>,
    #[serde(default)]
    tiers: Vec<TierSpec>,
    #[serde(default)]
    rogue_agent: Option<FleetAgent>,
    #[serde(default)]
    inject: Inject,
    #[serde(default)]
    control: bool,
    #[serde(default)]
    fix: Vec<Rule>,
    #[serde(default)]
    beneficial: Option<Vec<Rule>>,
    #[serde(default)]
    tick: Vec<Tick>,
    #[serde(default)]
    playbook: BTreeMap<Role, Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierSpec {
    difficulty: Difficulty,
    position: u32,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Inject {
    #[serde(default)]
    metrics: Vec<MetricSet>,
    #[serde(default)]
    logs: Vec<LogSpec>,
    #[serde(default)]
    alerts: Vec<AlertSpec>,
    #[serde(default)]
    fleet_actions: Vec<FleetSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricSet {
    service: Service,
    cpu_pct: Option<f64>,
    memory_mb: Option<f64>,
    latency_ms: Option<f64>,
    error_rate: Option<f64>,
    replicas: Option<u32>,
    health: Option<Health>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSpec {
    service: Component,
    level: LogLevel,
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertSpec {
    service: Component,
    severity: Severity,
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetSpec {
    agent: FleetAgent,
    action: String,
    target: Service,
    #[serde(default)]
    malicious: bool,
}

/// An action that fixes (or helps): its type, and optionally its target, a least replica
/// count, an agent Oversight must have flagged, a service that must be healthy.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    action_type: ActionType,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    min_replicas: Option<i64>,
    #[serde(default)]
    after_flagging: Option<FleetAgent>,
    #[serde(default)]
    when_healthy: Option<Service>,
}

impl Rule {
    fn matches(&self, turn: Turn<'_>, state: &State) -> bool {
        turn.action_type == self.action_type
            && self
                .target
                .as_deref()
                .is_none_or(|t| turn.target.as_deref() == Some(t))
            && self.min_replicas.is_none_or(|m| turn.replicas() >= m)
            && self
                .after_flagging
                .is_none_or(|a| state.is_flagged(a.as_str()))
            && self
                .when_healthy
                .is_none_or(|s| state.service(s).health == Health::Healthy)
    }
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Metric {
    CpuPct,
    MemoryMb,
    LatencyMs,
    ErrorRate,
}

/// Per-step physics: `metric += add`, kept within `[min, max]`; past `critical_above` the
/// service turns critical (past `down_above`, down).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tick {
    service: Service,
    metric: Metric,
    #[serde(default)]
    add: f64,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    critical_above: Option<f64>,
    #[serde(default)]
    down_above: Option<f64>,
}

/// A failure type read from a pack.
pub struct PackFailure {
    id: &'static str,
    description: &'static str,
    family: &'static str,
    source: &'static str,
    tiers: &'static [TierSlot],
    rogue_agent: Option<FleetAgent>,
    control: bool,
    inject: Inject,
    fix: Vec<Rule>,
    beneficial: Option<Vec<Rule>>,
    tick: Vec<Tick>,
    playbook: Playbook,
}

impl fmt::Debug for PackFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackFailure")
            .field("id", &self.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn position_of(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// The key written on the line of `offset` (`key = value`), if any.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then(|| key.to_owned())
}

/// Parses one pack; `name` names it in errors (and in listings, as its source).
pub fn parse(text: &str, name: &str) -> Result<PackFailure, PackError> {
    let fail = |position, field, message: String| PackError {
        file: name.to_owned(),
        position,
        field,
        message,
    };
    let spec: Spec = toml::from_str(text).map_err(|e| {
        let span = e.span();
        fail(
            span.as_ref().map(|s| position_of(text, s.start)),
            span.as_ref().and_then(|s| key_at(text, s.start)),
            e.message().trim().to_owned(),
        )
    })?;
    // Errors found after parsing point at the field's first appearance.
    let at = |field: &str, message: String| {
        let offset = text
            .find(&format!("\n{field}"))
            .map(|i| i + 1)
            .or_else(|| text.find(field));
        fail(
            offset.map(|o| position_of(text, o)),
            Some(field.to_owned()),
            message,
        )
    };
    if spec.id.is_empty()
        || !spec
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(at(
            "id",
            format!("\"{}\" is not a lower-case snake_case name", spec.id),
        ));
    }
    if spec.fix.is_empty() && !spec.control {
        return Err(at(
            "fix",
            "give at least one [[fix]]: an action that resolves the incident".to_owned(),
        ));
    }
    if spec.control && !spec.fix.is_empty() {
        return Err(at(
            "fix",
            "a control has nothing to fix: it is resolved when nobody does harm".to_owned(),
        ));
    }
    for rule in spec.fix.iter().chain(spec.beneficial.iter().flatten()) {
        if let Some(t) = &rule.target {
            if Service::parse(t).is_none() && FleetAgent::parse(t).is_none() {
                return Err(at(
                    "target",
                    format!("\"{t}\" is neither a service (auth, payments, notifications, db) nor a fleet agent (autoscaler, load_balancer, deploy_bot)"),
                ));
            }
        }
    }
    for tick in &spec.tick {
        if !tick.add.is_finite() {
            return Err(at("add", format!("{} is not a finite number", tick.add)));
        }
    }
    let mut playbook = Playbook::default();
    for (role, action) in &spec.playbook {
        action
            .validate()
            .map_err(|e| at(role.as_str(), format!("the playbook's action: {e}")))?;
        if action.action_type == ActionType::IdentifyRootCause
            && action.args.failure_type.as_deref() != Some(spec.id.as_str())
        {
            return Err(at(
                role.as_str(),
                format!(
                    "the playbook declares root cause {:?}; the pack's own id is \"{}\"",
                    action.args.failure_type.as_deref().unwrap_or(""),
                    spec.id
                ),
            ));
        }
        playbook = playbook.with(*role, action.clone());
    }
    let tiers: Vec<TierSlot> = spec
        .tiers
        .iter()
        .map(|t| TierSlot::new(t.difficulty, t.position))
        .collect();
    let family = leak(spec.family.unwrap_or_else(|| spec.id.clone()));
    Ok(PackFailure {
        family,
        id: leak(spec.id),
        description: leak(spec.description),
        source: leak(name.to_owned()),
        tiers: Box::leak(tiers.into_boxed_slice()),
        rogue_agent: spec.rogue_agent,
        control: spec.control,
        inject: spec.inject,
        fix: spec.fix,
        beneficial: spec.beneficial,
        tick: spec.tick,
        playbook,
    })
}

impl PackFailure {
    /// The failure id.
    pub fn id(&self) -> &'static str {
        self.id
    }
}

impl FailureInjector for PackFailure {
    fn id(&self) -> &'static str {
        self.id
    }
    fn description(&self) -> &'static str {
        self.description
    }
    fn tiers(&self) -> &'static [TierSlot] {
        self.tiers
    }
    fn rogue_agent(&self) -> Option<FleetAgent> {
        self.rogue_agent
    }
    fn source(&self) -> &'static str {
        self.source
    }
    fn family(&self) -> &'static str {
        self.family
    }
    fn is_control(&self) -> bool {
        self.control
    }
    fn inject(&self, state: &mut State) {
        for m in &self.inject.metrics {
            let s = state.service_mut(m.service);
            if let Some(v) = m.cpu_pct {
                s.cpu_pct = v;
            }
            if let Some(v) = m.memory_mb {
                s.memory_mb = v;
            }
            if let Some(v) = m.latency_ms {
                s.latency_ms = v;
            }
            if let Some(v) = m.error_rate {
                s.error_rate = v;
            }
            if let Some(v) = m.replicas {
                s.replicas = v;
            }
            if let Some(v) = m.health {
                s.health = v;
            }
        }
        for a in &self.inject.fleet_actions {
            state.record_fleet_action(a.agent, a.action.clone(), a.target, a.malicious);
        }
        for l in &self.inject.logs {
            state.emit_log(l.service, l.level, l.message.clone());
        }
        for a in &self.inject.alerts {
            state.emit_alert(a.service, a.severity, a.message.clone());
        }
    }
    fn is_correct_fix(&self, turn: Turn<'_>, state: &State) -> bool {
        self.fix.iter().any(|r| r.matches(turn, state))
    }
    fn is_beneficial(&self, turn: Turn<'_>, state: &State) -> bool {
        match &self.beneficial {
            Some(rules) => rules.iter().any(|r| r.matches(turn, state)),
            None => self.is_correct_fix(turn, state),
        }
    }
    fn tick(&self, state: &mut State) {
        for t in &self.tick {
            let s = state.service_mut(t.service);
            let value = match t.metric {
                Metric::CpuPct => &mut s.cpu_pct,
                Metric::MemoryMb => &mut s.memory_mb,
                Metric::LatencyMs => &mut s.latency_ms,
                Metric::ErrorRate => &mut s.error_rate,
            };
            let mut v = *value + t.add;
            if let Some(max) = t.max {
                v = v.min(max);
            }
            if let Some(min) = t.min {
                v = v.max(min);
            }
            *value = v;
            if t.down_above.is_some_and(|d| v > d) {
                s.health = Health::Down;
            } else if t.critical_above.is_some_and(|c| v > c) && s.health != Health::Down {
                s.health = Health::Critical;
            }
        }
    }
    fn playbook(&self) -> Playbook {
        self.playbook.clone()
    }
}

/// Reads every `*.toml` file of `dir` (in name order) as a pack.
pub fn load_dir(dir: &Path) -> Result<Vec<PackFailure>, PackError> {
    let unreadable = |file: &Path, e: std::io::Error| PackError {
        file: file.display().to_string(),
        position: None,
        field: None,
        message: format!("cannot read it: {e}"),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    let mut packs: Vec<PackFailure> = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| unreadable(&file, e))?;
        let name = file.display().to_string();
        let pack = parse(&text, &name)?;
        if let Some(other) = packs.iter().find(|p| p.id == pack.id) {
            return Err(PackError {
                file: name,
                position: None,
                field: Some("id".to_owned()),
                message: format!("\"{}\" is also the id of {}", pack.id, other.source),
            });
        }
        packs.push(pack);
    }
    Ok(packs)
}

/// Loads the packs of `dir` into the process-wide registry, refusing any whose id another
/// type (built-in, plugin or pack) already has; returns the registry.
pub fn install_dir(dir: &Path) -> Result<&'static Registry, String> {
    let packs = load_dir(dir).map_err(|e| e.to_string())?;
    let leaked: Vec<&'static dyn FailureInjector> = packs
        .into_iter()
        .map(|p| &*Box::leak(Box::new(p)) as &'static dyn FailureInjector)
        .collect();
    let sources: Vec<(&'static str, &'static str)> =
        leaked.iter().map(|p| (p.id(), p.source())).collect();
    Registry::install(leaked).map_err(|e| e.to_string())?;
    Registry::global().map_err(|e| match e {
        chaosops_sim::SimError::DuplicateFailure { id } => {
            let file = sources
                .iter()
                .find(|(i, _)| *i == id)
                .map_or("a pack", |(_, s)| s);
            format!("{file}: field `id`: \"{id}\" is already the id of another failure type; a pack cannot shadow it")
        }
        other => other.to_string(),
    })
}

/// [`install_dir`] on `dir`, or else on the folder [`SCENARIOS_ENV`] names; nothing when
/// neither is set.
pub fn install_from_env(dir: Option<&Path>) -> Result<(), String> {
    let from_env = std::env::var_os(SCENARIOS_ENV).filter(|v| !v.is_empty());
    match dir
        .map(Path::to_path_buf)
        .or_else(|| from_env.map(PathBuf::from))
    {
        Some(dir) => install_dir(&dir).map(|_| ()),
        None => Ok(()),
    }
}
