//! The server's Prometheus metrics (`GET /metrics`, OpenMetrics text), with the
//! `prometheus-client` crate. Every counter a message can touch is created at start, so
//! counting is an atomic add, with no lock or lookup per message.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::session::code;

type Labels = Vec<(&'static str, &'static str)>;

/// Message types of the session protocol, as counted (`invalid`: not a known message).
pub const MESSAGE_TYPES: [&str; 5] = ["reset", "step", "state", "close", "invalid"];

/// Error codes a reply can carry.
pub const ERROR_CODES: [&str; 6] = [
    code::INVALID_JSON,
    code::UNKNOWN_TYPE,
    code::VALIDATION_ERROR,
    code::EXECUTION_ERROR,
    code::CAPACITY_REACHED,
    code::SESSION_ERROR,
];

/// Why sessions end, as counted.
pub const SESSION_ENDS: [&str; 12] = [
    "closed by the client",
    "close requested",
    "client went away",
    "client stopped reading",
    "idle timeout",
    "server shutting down",
    "refused: server full",
    "message too big",
    "protocol error",
    "text frame not UTF-8",
    "connection failed",
    "panicked",
];

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    sessions_open: Gauge,
    session_ends: Vec<Counter>,
    messages_ok: Vec<Counter>,
    messages_error: Vec<Counter>,
    errors: Vec<Counter>,
    steps_done: Counter,
    steps_ongoing: Counter,
    step_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric, registered and zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chaosops");
        let sessions_open = Gauge::default();
        registry.register(
            "sessions_open",
            "WebSocket sessions open now",
            sessions_open.clone(),
        );
        let ends = Family::<Labels, Counter>::default();
        registry.register(
            "sessions_ended",
            "WebSocket sessions ended, by reason",
            ends.clone(),
        );
        let messages = Family::<Labels, Counter>::default();
        registry.register(
            "messages",
            "Session messages handled, by type and outcome (ok, or an error reply)",
            messages.clone(),
        );
        let errors = Family::<Labels, Counter>::default();
        registry.register("errors", "Error replies, by code", errors.clone());
        let steps = Family::<Labels, Counter>::default();
        registry.register(
            "steps",
            "Environment steps taken, by whether they ended the episode",
            steps.clone(),
        );
        let step_seconds = Histogram::new(exponential_buckets(1e-7, 2.0, 20));
        registry.register(
            "step_seconds",
            "Time to handle a step message (parse, step, encode the reply)",
            step_seconds.clone(),
        );
        let get = |family: &Family<Labels, Counter>, labels: Labels| {
            family.get_or_create(&labels).clone()
        };
        Metrics {
            session_ends: SESSION_ENDS
                .iter()
                .map(|r| get(&ends, vec![("reason", r)]))
                .collect(),
            messages_ok: MESSAGE_TYPES
                .iter()
                .map(|t| get(&messages, vec![("type", t), ("outcome", "ok")]))
                .collect(),
            messages_error: MESSAGE_TYPES
                .iter()
                .map(|t| get(&messages, vec![("type", t), ("outcome", "error")]))
                .collect(),
            errors: ERROR_CODES
                .iter()
                .map(|c| get(&errors, vec![("code", c)]))
                .collect(),
            steps_done: get(&steps, vec![("episode", "ended")]),
            steps_ongoing: get(&steps, vec![("episode", "ongoing")]),
            sessions_open,
            step_seconds,
            registry,
        }
    }

    /// A session opened (or was refused: its end is counted too).
    pub fn session_opened(&self) {
        self.sessions_open.inc();
    }

    /// A session ended for `reason` (one of [`SESSION_ENDS`]; others are not counted by
    /// reason).
    pub fn session_ended(&self, reason: &str) {
        self.sessions_open.dec();
        if let Some(i) = SESSION_ENDS.iter().position(|r| *r == reason) {
            self.session_ends[i].inc();
        }
    }

    /// A message of type `kind` was answered, with the error `code` if it was refused.
    pub fn message(&self, kind: &str, code: Option<&str>) {
        let t = MESSAGE_TYPES
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(MESSAGE_TYPES.len() - 1);
        match code {
            None => {
                self.messages_ok[t].inc();
            }
            Some(c) => {
                self.messages_error[t].inc();
                if let Some(i) = ERROR_CODES.iter().position(|e| *e == c) {
                    self.errors[i].inc();
                }
            }
        }
    }

    /// An error reply outside a message (capacity, idle, shutdown).
    pub fn error(&self, code: &str) {
        if let Some(i) = ERROR_CODES.iter().position(|e| *e == code) {
            self.errors[i].inc();
        }
    }

    /// A step was taken in `seconds`; `ended` when it ended the episode.
    pub fn step(&self, seconds: f64, ended: bool) {
        if ended {
            self.steps_done.inc();
        } else {
            self.steps_ongoing.inc();
        }
        self.step_seconds.observe(seconds);
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_as_openmetrics() {
        let m = Metrics::new();
        m.session_opened();
        m.session_opened();
        m.session_ended("idle timeout");
        m.message("step", None);
        m.message("step", Some(code::VALIDATION_ERROR));
        m.message("dance", Some(code::UNKNOWN_TYPE));
        m.step(2e-6, true);
        let text = m.render();
        for line in [
            "chaosops_sessions_open 1",
            r#"chaosops_sessions_ended_total{reason="idle timeout"} 1"#,
            r#"chaosops_messages_total{type="step",outcome="ok"} 1"#,
            r#"chaosops_messages_total{type="step",outcome="error"} 1"#,
            r#"chaosops_messages_total{type="invalid",outcome="error"} 1"#,
            r#"chaosops_errors_total{code="VALIDATION_ERROR"} 1"#,
            r#"chaosops_steps_total{episode="ended"} 1"#,
            "chaosops_step_seconds_count 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }
}
