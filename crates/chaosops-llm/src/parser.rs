//! Model text -> action, tolerant of what models write and honest about what happened.
//!
//! The parser looks for the first top-level JSON object that names an `action_type`,
//! skipping prose, code fences and braces inside strings. Work is bounded: only the
//! first [`MAX_SCAN_BYTES`] bytes are read. Whatever goes wrong, the result is a valid
//! action (the `noop` fallback) and a [`ParseOutcome::Fallback`] with the reason.

use std::fmt;

use chaosops_model::limits::{MAX_MESSAGE_BYTES, MAX_NAME_BYTES, MAX_REPLICAS};
use chaosops_model::{coerce_replicas, Action, ActionType};
use chaosops_sim::Registry;
use serde::Serialize;
use serde_json::{Map, Value};

/// Bytes of model text the parser reads at most.
pub const MAX_SCAN_BYTES: usize = 64 * 1024;

/// What the parser made of a completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ParseOutcome {
    /// An action was read from the text.
    Parsed,
    /// Nothing usable: the fallback action was used.
    Fallback {
        /// Why.
        reason: String,
    },
}

impl ParseOutcome {
    /// True when the fallback was used.
    pub fn is_fallback(&self) -> bool {
        matches!(self, ParseOutcome::Fallback { .. })
    }
}

impl fmt::Display for ParseOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseOutcome::Parsed => f.write_str("parsed"),
            ParseOutcome::Fallback { reason } => write!(f, "fallback: {reason}"),
        }
    }
}

/// An action and how it was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The action (the fallback when nothing usable was found).
    pub action: Action,
    /// Parsed or fallback, with the reason.
    pub outcome: ParseOutcome,
    /// Fields that were present but dropped (bad replicas, unknown failure type, ...).
    pub dropped: Vec<String>,
}

/// The action used when a completion cannot be understood.
pub fn fallback_action() -> Action {
    Action::noop()
}

impl Parsed {
    /// The fallback action, with why it was used.
    pub fn fallback(reason: impl Into<String>) -> Parsed {
        Parsed {
            action: fallback_action(),
            outcome: ParseOutcome::Fallback {
                reason: reason.into(),
            },
            dropped: Vec::new(),
        }
    }
}

/// Parses a whole completion.
pub fn parse_action(text: &str, registry: &Registry) -> Parsed {
    let mut parser = StreamParser::new(registry);
    match parser.push(text) {
        Some(parsed) => parsed,
        None => parser.finish(),
    }
}

/// An incremental parser: feed tokens as they stream; it finishes as soon as the first
/// top-level object naming an action closes.
#[derive(Debug)]
pub struct StreamParser<'r> {
    registry: &'r Registry,
    buf: String,
    scanned: usize,
    depth: u32,
    in_string: bool,
    escaped: bool,
    start: Option<usize>,
    first_error: Option<String>,
    done: bool,
}

impl<'r> StreamParser<'r> {
    /// A parser resolving failure ids against `registry`.
    pub fn new(registry: &'r Registry) -> Self {
        StreamParser {
            registry,
            buf: String::new(),
            scanned: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            start: None,
            first_error: None,
            done: false,
        }
    }

    /// Feeds the next piece of text; returns the result once an action object closes
    /// (or the scan budget runs out). Further pushes after that return `None`.
    pub fn push(&mut self, token: &str) -> Option<Parsed> {
        if self.done {
            return None;
        }
        let room = MAX_SCAN_BYTES.saturating_sub(self.buf.len());
        let mut take = token.len().min(room);
        while !token.is_char_boundary(take) {
            take -= 1;
        }
        self.buf.push_str(&token[..take]);
        if let Some(found) = self.scan() {
            self.done = true;
            return Some(found);
        }
        if take < token.len() || self.buf.len() >= MAX_SCAN_BYTES {
            self.done = true;
            return Some(Parsed::fallback(format!(
                "no action object in the first {MAX_SCAN_BYTES} bytes{}",
                self.error_suffix()
            )));
        }
        None
    }

    /// Ends the stream: the fallback with the reason nothing was found.
    pub fn finish(mut self) -> Parsed {
        if self.done {
            return Parsed::fallback("the parser already finished");
        }
        self.done = true;
        if self.buf.trim().is_empty() {
            return Parsed::fallback("empty completion");
        }
        if self.start.is_some() {
            return Parsed::fallback(format!(
                "truncated JSON object: the text ended inside it{}",
                self.error_suffix()
            ));
        }
        match self.first_error.take() {
            Some(e) => Parsed::fallback(e),
            None => Parsed::fallback("no JSON object in the completion"),
        }
    }

    fn error_suffix(&self) -> String {
        self.first_error
            .as_ref()
            .map(|e| format!(" (earlier: {e})"))
            .unwrap_or_default()
    }

    /// Scans new bytes; returns an action when a candidate object closes and holds one.
    fn scan(&mut self) -> Option<Parsed> {
        let bytes = self.buf.as_bytes();
        let mut i = self.scanned;
        while i < bytes.len() {
            let b = bytes[i];
            if self.depth > 0 && self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else if self.depth > 0 && b == b'"' {
                self.in_string = true;
            } else if b == b'{' {
                if self.depth == 0 {
                    self.start = Some(i);
                }
                self.depth += 1;
            } else if b == b'}' && self.depth > 0 {
                self.depth -= 1;
                if self.depth == 0 {
                    let start = self.start.take().unwrap_or(0);
                    let candidate = &self.buf[start..=i];
                    match interpret(candidate, self.registry) {
                        Ok(parsed) => {
                            self.scanned = i + 1;
                            return Some(parsed);
                        }
                        Err(e) => {
                            self.first_error.get_or_insert(e);
                        }
                    }
                }
            }
            i += 1;
        }
        self.scanned = i;
        None
    }
}

/// Keys of `args` that may also appear at the top level of a flattened action.
const ARG_KEYS: [&str; 5] = ["message", "to", "replicas", "agent_name", "failure_type"];

/// Reads one candidate object. `Err` means "not an action; keep looking" with a reason.
fn interpret(candidate: &str, registry: &Registry) -> Result<Parsed, String> {
    let value: Value = serde_json::from_str(candidate).map_err(|e| {
        let hint = if e.to_string().contains("trailing comma") {
            " (trailing commas are not JSON)"
        } else {
            ""
        };
        format!("invalid JSON object: {e}{hint}")
    })?;
    let Value::Object(mut obj) = value else {
        return Err("not a JSON object".to_owned());
    };
    let Some(raw_type) = obj.remove("action_type") else {
        return Err("a JSON object without \"action_type\"".to_owned());
    };
    let mut dropped = Vec::new();
    let type_name = match &raw_type {
        Value::String(s) => s.trim().to_ascii_lowercase(),
        other => {
            return Ok(Parsed::fallback(format!(
                "action_type is not a string: {other}"
            )))
        }
    };
    let Some(action_type) = ActionType::parse(&type_name) else {
        return Ok(Parsed::fallback(format!(
            "unknown action type \"{}\"; known: {}",
            truncate(&type_name, MAX_NAME_BYTES),
            ActionType::ALL
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let mut action = Action::new(action_type);
    match obj.remove("target") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.len() <= MAX_NAME_BYTES => {
            action.target = Some(s.trim().to_owned())
        }
        Some(other) => dropped.push(format!("target {}", short(&other))),
    }
    let mut args = match obj.remove("args") {
        Some(Value::Object(map)) => map,
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            dropped.push(format!("args {}", short(&other)));
            Map::new()
        }
    };
    // Tolerate arguments written at the top level.
    for key in ARG_KEYS {
        if let Some(v) = obj.remove(key) {
            args.entry(key).or_insert(v);
        }
    }
    read_args(&mut action, &args, registry, &mut dropped);
    debug_assert!(action.validate().is_ok());
    Ok(Parsed {
        action,
        outcome: ParseOutcome::Parsed,
        dropped,
    })
}

fn read_args(
    action: &mut Action,
    args: &Map<String, Value>,
    registry: &Registry,
    dropped: &mut Vec<String>,
) {
    let a = &mut action.args;
    for (key, value) in args {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "message" => match value {
                Value::String(s) => a.message = Some(truncate(s, MAX_MESSAGE_BYTES).to_owned()),
                other => {
                    a.message = Some(truncate(&other.to_string(), MAX_MESSAGE_BYTES).to_owned())
                }
            },
            "to" | "agent_name" => match value {
                Value::String(s) if s.len() <= MAX_NAME_BYTES => {
                    let slot = if key == "to" {
                        &mut a.to
                    } else {
                        &mut a.agent_name
                    };
                    *slot = Some(s.clone());
                }
                other => dropped.push(format!("{key} {}", short(other))),
            },
            "replicas" => {
                let numeric = match value {
                    Value::Number(_) => true,
                    Value::String(s) => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
                    _ => false,
                };
                let n = coerce_replicas(value);
                if numeric && (-MAX_REPLICAS..=MAX_REPLICAS).contains(&n) {
                    a.replicas = Some(n);
                } else {
                    dropped.push(format!("replicas {}", short(value)));
                }
            }
            "failure_type" => match value {
                Value::String(s) if registry.find(s.trim()).is_some() => {
                    a.failure_type = Some(s.trim().to_owned())
                }
                other => dropped.push(format!("failure_type {}", short(other))),
            },
            _ => {}
        }
    }
}

/// The longest prefix of `s` within `max` bytes, on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    truncate(&s, 40).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaosops_model::{FleetAgent, Service};

    use crate::test_registry as registry;

    fn parsed(text: &str) -> Action {
        let p = parse_action(text, registry());
        assert_eq!(p.outcome, ParseOutcome::Parsed, "{text:?}");
        p.action
    }

    fn fallback_reason(text: &str) -> String {
        let p = parse_action(text, registry());
        assert_eq!(p.action, Action::noop());
        match p.outcome {
            ParseOutcome::Fallback { reason } => reason,
            ParseOutcome::Parsed => panic!("{text:?} parsed"),
        }
    }

    #[test]
    fn clean_json() {
        assert_eq!(
            parsed(r#"{"action_type": "restart", "target": "db"}"#),
            Action::restart(Service::Db)
        );
    }

    #[test]
    fn json_after_chatter_and_in_fences() {
        let text = "The db is deadlocked, so I will restart it.\n{\"action_type\": \"restart\", \"target\": \"db\"}\nDone.";
        assert_eq!(parsed(text), Action::restart(Service::Db));
        let fenced = "Here you go:\n```json\n{\n  \"action_type\": \"rollback\",\n  \"target\": \"auth\"\n}\n```";
        assert_eq!(parsed(fenced), Action::rollback(Service::Auth));
        let prose_braces =
            "I considered {maybe} a restart but {\"action_type\": \"noop\"} is safer.";
        assert_eq!(parsed(prose_braces), Action::noop());
    }

    #[test]
    fn nested_args_and_flattened_args() {
        assert_eq!(
            parsed(r#"{"action_type": "scale", "target": "payments", "args": {"replicas": 4}}"#),
            Action::scale(Service::Payments, 4)
        );
        assert_eq!(
            parsed(r#"{"action_type": "scale", "target": "payments", "replicas": 4}"#),
            Action::scale(Service::Payments, 4)
        );
        let a = parsed(
            r#"{"action_type": "communicate", "args": {"message": "hi", "to": "dev", "extra": {"deep": [1, {"x": 2}]}}}"#,
        );
        assert_eq!(a, Action::communicate_to(chaosops_model::Role::Dev, "hi"));
    }

    #[test]
    fn braces_and_escaped_quotes_inside_strings() {
        let a =
            parsed(r#"{"action_type": "communicate", "args": {"message": "use } and { freely"}}"#);
        assert_eq!(a.args.message.as_deref(), Some("use } and { freely"));
        let a = parsed(
            r#"{"action_type": "communicate", "args": {"message": "she said \"restart db\" }"}}"#,
        );
        assert_eq!(a.args.message.as_deref(), Some("she said \"restart db\" }"));
    }

    #[test]
    fn first_object_wins() {
        let text = r#"{"action_type": "flag_rogue", "target": "autoscaler"} {"action_type": "restart", "target": "db"}"#;
        assert_eq!(parsed(text), Action::flag_rogue(FleetAgent::Autoscaler));
    }

    #[test]
    fn failures_fall_back_with_a_reason() {
        assert_eq!(fallback_reason(""), "empty completion");
        assert_eq!(fallback_reason("   \n"), "empty completion");
        assert!(
            fallback_reason(r#"{"action_type": "restart", "target": "d"#)
                .starts_with("truncated JSON object")
        );
        assert!(fallback_reason(r#"["restart", "db"]"#).contains("no JSON object"));
        assert!(fallback_reason("\"restart\"").contains("no JSON object"));
        let r = fallback_reason(r#"{"action_type": "restart", "target": "db",}"#);
        assert!(r.contains("trailing comma"), "{r}");
        let r = fallback_reason(r#"{"action_type": "reboot", "target": "db"}"#);
        assert!(
            r.starts_with("unknown action type \"reboot\"; known: noop"),
            "{r}"
        );
        let r = fallback_reason(r#"{"target": "db"}"#);
        assert!(r.contains("without \"action_type\""), "{r}");
        let r = fallback_reason(r#"{"action_type": 7}"#);
        assert!(r.contains("not a string"), "{r}");
    }

    #[test]
    fn replicas_are_coerced_or_dropped() {
        let cases = [
            (r#""3""#, Some(3)),
            ("2.9", Some(2)),
            (r#""lots""#, None),
            ("[1]", None),
            ("1e9", None),
            ("true", None),
        ];
        for (raw, expected) in cases {
            let p = parse_action(
                &format!(
                    r#"{{"action_type": "scale", "target": "db", "args": {{"replicas": {raw}}}}}"#
                ),
                registry(),
            );
            assert_eq!(p.outcome, ParseOutcome::Parsed);
            assert_eq!(p.action.args.replicas, expected, "{raw}");
            assert_eq!(
                p.dropped.is_empty(),
                expected.is_some(),
                "{raw}: {:?}",
                p.dropped
            );
        }
    }

    #[test]
    fn unknown_failure_type_is_dropped() {
        let p = parse_action(
            r#"{"action_type": "identify_root_cause", "args": {"failure_type": "gremlins"}}"#,
            registry(),
        );
        assert_eq!(p.outcome, ParseOutcome::Parsed);
        assert_eq!(p.action.args.failure_type, None);
        assert_eq!(p.dropped, ["failure_type \"gremlins\""]);
        let p = parse_action(
            r#"{"action_type": "identify_root_cause", "args": {"failure_type": " disk_full "}}"#,
            registry(),
        );
        assert_eq!(p.action.args.failure_type.as_deref(), Some("disk_full"));
    }

    #[test]
    fn huge_input_is_bounded() {
        let mut text = "x".repeat(10 * MAX_SCAN_BYTES);
        text.push_str(r#"{"action_type": "noop"}"#);
        let r = fallback_reason(&text);
        assert!(
            r.contains("no action object in the first 65536 bytes"),
            "{r}"
        );
        let deep = "{".repeat(200_000);
        assert!(parse_action(&deep, registry()).outcome.is_fallback());
        let long_message = format!(
            r#"{{"action_type": "communicate", "args": {{"message": "{}"}}}}"#,
            "é".repeat(3000)
        );
        let a = parsed(&long_message);
        assert!(a.args.message.unwrap().len() <= MAX_MESSAGE_BYTES);
    }

    #[test]
    fn the_stream_parser_stops_at_the_first_action() {
        let tokens = [
            "Sure",
            "! ",
            "{\"action",
            "_type\": \"res",
            "tart\", \"tar",
            "get\": \"db\"",
            "}",
            " and more {\"action_type\": \"noop\"}",
        ];
        let mut p = StreamParser::new(registry());
        let mut result = None;
        for (i, t) in tokens.iter().enumerate() {
            if let Some(r) = p.push(t) {
                result = Some((i, r));
                break;
            }
        }
        let (at, r) = result.expect("finished");
        assert_eq!(at, 6);
        assert_eq!(r.action, Action::restart(Service::Db));
        assert_eq!(p.push("more"), None);
        let mut truncated = StreamParser::new(registry());
        assert_eq!(truncated.push("{\"action_type\": \"resta"), None);
        assert!(truncated
            .finish()
            .outcome
            .to_string()
            .starts_with("fallback: truncated JSON object"));
    }
}
