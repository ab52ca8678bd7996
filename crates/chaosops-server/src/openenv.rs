//! What current OpenEnv (the `openenv` package, 0.10 and later) expects of a server beyond
//! the session protocol: an OpenAPI document at `/openapi.json` listing the endpoints (its
//! `/reset`, `/step` and `/state` make this a simulation-mode server), and a JSON-RPC 2.0
//! endpoint at `POST /mcp` offering the environment as an MCP tool.

use chaosops_eval::replay::{replay_line, ReplayOptions};
use chaosops_sim::Registry;
use serde_json::{json, Value};

/// The OpenAPI 3.1 document of the server.
pub fn openapi(registry: &Registry) -> Value {
    let action = crate::schema::action(registry);
    let json_body = |schema: Value| json!({"required": false, "content": {"application/json": {"schema": schema}}});
    let ok = |description: &str| json!({"200": {"description": description, "content": {"application/json": {}}}});
    let refused = json!({"description": "refused: {\"detail\": \"...\"} names the problem", "content": {"application/json": {}}});
    let reset_data = json!({
        "type": "object",
        "properties": {
            "failure_type": {"type": "string", "description": "default db_deadlock"},
            "seed": {"type": "integer", "minimum": 0},
            "difficulty": {"enum": ["easy", "medium", "hard"]},
            "max_steps": {"type": "integer", "minimum": 1, "maximum": 1000},
            "episode_id": {"type": "string"}
        }
    });
    let mut step_body = reset_data.clone();
    step_body["properties"]["action"] = action;
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ChaosOps",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A deterministic production-incident simulator. Episodes are played over the WebSocket at /ws (one session per connection); the HTTP /reset, /step and /state are OpenEnv's stateless simulation-mode endpoints."
        },
        "paths": {
            "/health": {"get": {"summary": "Liveness: {\"status\": \"healthy\"}", "responses": ok("alive")}},
            "/ready": {"get": {"summary": "Readiness: 503 at capacity or while shutting down", "responses": {
                "200": {"description": "sessions can be opened"},
                "503": {"description": "at capacity, or shutting down"}
            }}},
            "/metadata": {"get": {"summary": "Name, description and version", "responses": ok("metadata")}},
            "/schema": {"get": {"summary": "JSON schemas of the action, observation and state", "responses": ok("schemas")}},
            "/metrics": {"get": {"summary": "Prometheus metrics (text format)", "responses": {"200": {"description": "metrics", "content": {"text/plain": {}}}}}},
            "/state": {"get": {"summary": "The state of a fresh default environment", "responses": ok("state")}},
            "/reset": {"post": {
                "summary": "A fresh environment reset with the body's parameters; nothing is kept",
                "requestBody": json_body(reset_data),
                "responses": {"200": ok("observation")["200"].clone(), "408": refused.clone(), "413": refused.clone(), "415": refused.clone(), "422": refused.clone()}
            }},
            "/step": {"post": {
                "summary": "A fresh environment (reset with the body's parameters) takes one action; nothing is kept",
                "requestBody": json_body(step_body),
                "responses": {"200": ok("observation and step record")["200"].clone(), "408": refused.clone(), "413": refused.clone(), "415": refused.clone(), "422": refused}
            }},
            "/mcp": {"post": {
                "summary": "JSON-RPC 2.0 (MCP): initialize, tools/list, tools/call of the replay tool",
                "requestBody": json_body(json!({"type": "object"})),
                "responses": ok("a JSON-RPC response")
            }},
            "/ws": {"get": {
                "summary": "WebSocket sessions: {\"type\": \"reset\"|\"step\"|\"state\"|\"close\", \"data\": ...}",
                "responses": {"101": {"description": "switching protocols"}, "403": {"description": "a browser origin not allowed (--allow-origin)"}}
            }}
        }
    })
}

/// JSON-RPC 2.0 error codes.
mod rpc {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
}

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn rpc_result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// The MCP tool: a scenario and actions replayed, as `chaosops replay` does.
fn replay_tool() -> Value {
    json!({
        "name": "replay",
        "description": "Play a ChaosOps scenario with a list of actions (applied in turn order; the environment forces the acting role) and return every step record and the final state. Add \"completion\" to score a model's text as the next turn.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "scenario": {"type": "object", "description": "{failure_type, seed, difficulty, max_steps}"},
                "actions": {"type": "array", "items": {"type": "object"}},
                "completion": {"type": "string"}
            },
            "required": ["scenario"]
        }
    })
}

/// Answers one JSON-RPC request body; `None` for a notification (no reply is due).
pub fn mcp(registry: &'static Registry, body: &[u8]) -> Option<Value> {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Some(rpc_error(
            Value::Null,
            rpc::PARSE_ERROR,
            "Parse error: the body is not JSON",
        ));
    };
    let id = request.get("id").cloned();
    let valid = request.get("jsonrpc") == Some(&json!("2.0"))
        && request.get("method").is_some_and(Value::is_string);
    if !valid {
        return Some(rpc_error(
            id.unwrap_or(Value::Null),
            rpc::INVALID_REQUEST,
            "Invalid Request: expected {\"jsonrpc\": \"2.0\", \"method\": ..., \"id\": ...}",
        ));
    }
    let id = id?;
    let method = request["method"].as_str().unwrap_or_default();
    let params = request.get("params").cloned().unwrap_or(json!({}));
    Some(match method {
        "initialize" => rpc_result(
            id,
            json!({
                "protocolVersion": params.get("protocolVersion").cloned().unwrap_or(json!("2025-06-18")),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "chaosops", "version": env!("CARGO_PKG_VERSION")}
            }),
        ),
        "ping" => rpc_result(id, json!({})),
        "tools/list" => rpc_result(id, json!({"tools": [replay_tool()]})),
        "tools/call" => match (
            params.get("name").and_then(Value::as_str),
            params.get("arguments"),
        ) {
            (Some("replay"), Some(arguments)) if arguments.is_object() => {
                let line = arguments.to_string();
                match replay_line(registry, &ReplayOptions::default(), &line) {
                    Ok(replay) => rpc_result(
                        id,
                        json!({
                            "content": [{"type": "text", "text": serde_json::to_string(&replay).unwrap_or_default()}],
                            "isError": false
                        }),
                    ),
                    Err(message) => rpc_result(
                        id,
                        json!({"content": [{"type": "text", "text": message}], "isError": true}),
                    ),
                }
            }
            (Some("replay"), _) => rpc_error(
                id,
                rpc::INVALID_PARAMS,
                "replay takes {\"arguments\": {\"scenario\": ..., \"actions\": [...]}}",
            ),
            (other, _) => rpc_error(
                id,
                rpc::INVALID_PARAMS,
                &format!(
                    "unknown tool {:?}; tools/list names replay",
                    other.unwrap_or("")
                ),
            ),
        },
        other => rpc_error(
            id,
            rpc::METHOD_NOT_FOUND,
            &format!("Method not found: {other}"),
        ),
    })
}
