//! The action's JSON schema and tool specs for function-calling APIs.

use chaosops_model::limits::{MAX_MESSAGE_BYTES, MAX_NAME_BYTES, MAX_REPLICAS};
use chaosops_model::{ActionType, FleetAgent, Role, Service};
use chaosops_sim::Registry;
use serde_json::{json, Value};

/// Name of the tool models call to act.
pub const TOOL_NAME: &str = "take_action";
/// Description of the tool.
pub const TOOL_DESCRIPTION: &str =
    "Take this turn's action in the ChaosOps incident: one action for the role whose turn it is.";

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The parameters object shared by the schema and the tool specs.
fn parameters(registry: &Registry) -> Value {
    let failure_ids: Vec<&str> = registry.ids().collect();
    let mut targets = names(Service::ALL, Service::as_str);
    targets.extend(names(FleetAgent::ALL, FleetAgent::as_str));
    json!({
        "type": "object",
        "required": ["action_type"],
        "properties": {
            "action_type": {"type": "string", "enum": names(ActionType::ALL, ActionType::as_str)},
            "role": {
                "type": "string",
                "enum": names(Role::ALL, Role::as_str),
                "description": "optional; the environment uses the role whose turn it is",
            },
            "target": {
                "type": "string",
                "enum": targets,
                "maxLength": MAX_NAME_BYTES,
                "description": "a service for restart, rollback and scale; a fleet agent for flag_rogue",
            },
            "args": {
                "type": "object",
                "properties": {
                    "message": {"type": "string", "maxLength": MAX_MESSAGE_BYTES, "description": "communicate: the text"},
                    "to": {"type": "string", "enum": ["all", "sre", "dev", "manager", "oversight"], "description": "communicate: recipient (default all)"},
                    "replicas": {"type": "integer", "minimum": -MAX_REPLICAS, "maximum": MAX_REPLICAS, "description": "scale: the replica count"},
                    "agent_name": {"type": "string", "enum": names(FleetAgent::ALL, FleetAgent::as_str), "description": "flag_rogue: the agent when target is absent"},
                    "failure_type": {"type": "string", "enum": failure_ids, "description": "identify_root_cause: the root cause"},
                },
            },
        },
    })
}

/// The JSON schema of an action, with the registered failure ids.
pub fn action_schema(registry: &Registry) -> Value {
    let mut schema = parameters(registry);
    schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    schema["title"] = json!("ChaosOpsAction");
    schema["description"] = json!(TOOL_DESCRIPTION);
    schema
}

/// An OpenAI-style `tools` array.
pub fn openai_tools(registry: &Registry) -> Value {
    json!([{
        "type": "function",
        "function": {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "parameters": parameters(registry)},
    }])
}

/// An Anthropic-style `tools` array.
pub fn anthropic_tools(registry: &Registry) -> Value {
    json!([{"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": parameters(registry)}])
}
