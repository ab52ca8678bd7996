//! JSON schemas of the action, the observation and the state, built from the registry
//! so plugin failure types appear in the action's enum.

use chaosops_model::{
    Component, Difficulty, FleetAgent, Health, LogLevel, Role, Service, Severity,
};
use chaosops_sim::Registry;
use serde_json::{json, Value};

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The action schema: action types, roles, targets and registered failure ids as enums.
pub fn action(registry: &Registry) -> Value {
    chaosops_llm::action_schema(registry)
}

fn metrics_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "cpu_pct": {"type": "number", "minimum": 0, "maximum": 100},
            "memory_mb": {"type": "number", "minimum": 0},
            "latency_ms": {"type": "number", "minimum": 0},
            "error_rate": {"type": "number", "minimum": 0, "maximum": 1},
            "replicas": {"type": "integer", "minimum": 0},
            "health": {"type": "string", "enum": names(Health::ALL, Health::as_str)},
        },
    })
}

fn services_schema() -> Value {
    let props: serde_json::Map<String, Value> = Service::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), metrics_schema()))
        .collect();
    json!({"type": "object", "properties": props})
}

fn alert_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "service": {"type": "string", "enum": names(Component::ALL, Component::as_str)},
            "severity": {"type": "string", "enum": names(Severity::ALL, Severity::as_str)},
            "message": {"type": "string"},
            "triggered_at_step": {"type": "integer"},
        },
    })
}

fn log_schema(with_flag: bool) -> Value {
    let mut v = json!({
        "type": "object",
        "properties": {
            "timestamp": {"type": "number"},
            "service": {"type": "string", "enum": names(Component::ALL, Component::as_str)},
            "level": {"type": "string", "enum": names(LogLevel::ALL, LogLevel::as_str)},
            "message": {"type": "string"},
        },
    });
    if with_flag {
        v["properties"]["is_red_herring"] = json!({"type": "boolean"});
    }
    v
}

fn fleet_schema(with_flag: bool) -> Value {
    let mut v = json!({
        "type": "object",
        "properties": {
            "agent_name": {"type": "string", "enum": names(FleetAgent::ALL, FleetAgent::as_str)},
            "action": {"type": "string"},
            "target": {"type": "string", "enum": names(Service::ALL, Service::as_str)},
            "step": {"type": "integer"},
        },
    });
    if with_flag {
        v["properties"]["was_malicious"] = json!({"type": "boolean"});
    }
    v
}

/// The observation schema (the `observation` object of the protocol: no reward or done).
pub fn observation() -> Value {
    let roles = names(Role::ALL, Role::as_str);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ChaosOpsObservation",
        "type": "object",
        "properties": {
            "view": {
                "type": "object",
                "properties": {
                    "role": {"type": "string", "enum": roles},
                    "visible_metrics": services_schema(),
                    "visible_logs": {"type": "array", "items": log_schema(false)},
                    "visible_alerts": {"type": "array", "items": alert_schema()},
                    "visible_fleet_actions": {"type": "array", "items": fleet_schema(false)},
                    "shared_chat": {"type": "array", "items": {"type": "string"}},
                    "private_note": {"type": ["string", "null"]},
                    "private_inbox": {"type": "array", "items": {"type": "string"}},
                },
            },
            "step": {"type": "integer"},
            "turn_role": {"type": "string", "enum": roles},
            "message": {"type": "string"},
            "last_step": {"type": ["object", "null"], "description": "the record of the step that led here (reward breakdown, flags, team and oversight rewards); null after reset"},
        },
    })
}

/// The ground-truth state schema.
pub fn state(registry: &Registry) -> Value {
    let failure_ids: Vec<&str> = registry.ids().collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ChaosOpsState",
        "type": "object",
        "properties": {
            "episode_id": {"type": "string", "format": "uuid"},
            "step_count": {"type": "integer"},
            "max_steps": {"type": "integer"},
            "difficulty": {"type": "string", "enum": names(Difficulty::ALL, Difficulty::as_str)},
            "failure_type": {"anyOf": [
                {"type": "string", "enum": failure_ids},
                {"type": "string", "pattern": "^[a-z0-9_]+(\\+[a-z0-9_]+){1,2}$",
                 "description": "a compound incident: its parts' ids in id order joined by '+'"}
            ]},
            "rogue_fleet_agent": {"type": ["string", "null"]},
            "misleading_log_count": {"type": "integer"},
            "services": services_schema(),
            "all_logs": {"type": "array", "items": log_schema(true)},
            "all_alerts": {"type": "array", "items": alert_schema()},
            "fleet_actions": {"type": "array", "items": fleet_schema(true)},
            "chat_history": {"type": "array", "items": {"type": "string"}},
            "private_chat": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "resolved": {"type": "boolean"},
            "wrong_fixes": {"type": "integer"},
            "miscommunications": {"type": "integer"},
            "oversight_flags": {"type": "array", "items": {"type": "string"}},
            "declared_root_cause": {"type": ["string", "null"]},
            "declared_root_cause_step": {"type": ["integer", "null"]},
            "cumulative_reward": {"type": "number"},
            "variant_targets": {"type": "object", "description": "variation: reference service -> service hit (present when a target moved)",
                "additionalProperties": {"type": "string", "enum": names(Service::ALL, Service::as_str)}},
            "parts_fixed": {"type": "integer", "description": "a compound incident: one bit per part fixed (present once one is)"},
        },
    })
}

/// The RL action table: `[{"index", "name", "action", "allowed_for"}]` in index order.
pub fn action_table(registry: &Registry) -> Value {
    let table = chaosops_rl::ActionTable::new(registry);
    let rows: Vec<Value> = table
        .actions()
        .iter()
        .enumerate()
        .map(|(i, action)| {
            let allowed: Vec<&str> = Role::TURN_ORDER
                .iter()
                .filter(|r| table.mask(**r)[i] == 1)
                .map(|r| r.as_str())
                .collect();
            json!({"index": i, "name": table.names()[i], "action": action, "allowed_for": allowed})
        })
        .collect();
    Value::Array(rows)
}

/// The RL observation vector's layout: `{"length", "segments": [{"name", "start", "len", "doc"}]}`.
pub fn observation_layout() -> Value {
    let segments: Vec<Value> = chaosops_rl::LAYOUT
        .iter()
        .map(|s| json!({"name": s.name, "start": s.start, "len": s.len, "doc": s.doc}))
        .collect();
    json!({"length": chaosops_rl::OBS_LEN, "segments": segments})
}
