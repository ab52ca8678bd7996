//! The `llm` policy: a language model plays a seat, through any OpenAI-compatible
//! chat-completions endpoint or the Anthropic Messages API.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chaosops_llm::{ask_with_retries, render_observation, system_prompt, ParseStats};
use chaosops_model::{Action, Observation, Role};
use chaosops_roles::{EpisodeStart, Policy};
use chaosops_sim::Registry;
use serde_json::{json, Value};

/// The API a model is reached through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    /// OpenAI-compatible chat completions (`POST {endpoint}/chat/completions`, bearer key).
    Openai,
    /// The Anthropic Messages API (`POST {endpoint}/messages`, `x-api-key`,
    /// `anthropic-version: 2023-06-01`).
    Anthropic,
}

/// How to reach the model.
#[derive(Clone, Debug)]
pub struct LlmConfig {
    /// The API.
    pub provider: Provider,
    /// Base URL (`http://127.0.0.1:8080/v1`, `https://api.anthropic.com/v1`) or the full
    /// request URL.
    pub endpoint: String,
    /// Model name sent in each request.
    pub model: String,
    /// API key, if the endpoint wants one (a bearer token for OpenAI, `x-api-key` for
    /// Anthropic).
    pub api_key: Option<String>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Attempts per turn before the fallback action.
    pub attempts: u32,
    /// Largest reply, in tokens.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f64,
    /// Failed requests by reason, shared by every seat asking this model.
    pub failures: Arc<RequestLog>,
}

/// Distinct reasons requests failed, each said once on stderr as it first happens (the
/// counts are in the policy's [`ParseStats`]).
#[derive(Debug, Default)]
pub struct RequestLog {
    reasons: Mutex<BTreeSet<String>>,
}

/// Distinct failure reasons printed; later new ones are not.
const PRINTED_REASONS: usize = 8;

impl RequestLog {
    /// Notes a failed request, printing its reason the first time it is seen.
    pub fn failed(&self, reason: &str) {
        let mut reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        if reasons.len() < PRINTED_REASONS && reasons.insert(reason.to_owned()) {
            eprintln!(
                "chaosops: an llm request failed: {reason} (the turn is retried, then falls back to noop; repeats are counted, not printed)"
            );
        }
    }
}

impl LlmConfig {
    /// The request URL: the endpoint with the provider's path unless it already ends so.
    pub fn url(&self) -> String {
        let base = self.endpoint.trim_end_matches('/');
        let path = match self.provider {
            Provider::Openai => "/chat/completions",
            Provider::Anthropic => "/messages",
        };
        if base.ends_with(path) {
            base.to_owned()
        } else {
            format!("{base}{path}")
        }
    }

    /// The request body of one turn in the provider's format.
    fn body(&self, system: Option<&str>, user: &str, max_tokens: u32, temperature: f64) -> Value {
        match self.provider {
            Provider::Openai => {
                let mut messages = Vec::with_capacity(2);
                if let Some(system) = system {
                    messages.push(json!({"role": "system", "content": system}));
                }
                messages.push(json!({"role": "user", "content": user}));
                json!({
                    "model": self.model,
                    "messages": messages,
                    "max_tokens": max_tokens,
                    "temperature": temperature,
                })
            }
            Provider::Anthropic => {
                let mut body = json!({
                    "model": self.model,
                    "messages": [{"role": "user", "content": user}],
                    "max_tokens": max_tokens,
                    "temperature": temperature,
                });
                if let Some(system) = system {
                    body["system"] = json!(system);
                }
                body
            }
        }
    }
}

/// Sends one small request before a run, so an unreachable endpoint, an invalid URL, a
/// wrong path or a refused key is reported before any episode starts rather than played as
/// a run of fallback noops.
pub fn check_endpoint(config: &LlmConfig) -> Result<(), String> {
    let url = config.url();
    let agent = ureq::AgentBuilder::new().timeout(config.timeout).build();
    let body = config.body(
        None,
        "Reply with the JSON object {\"action_type\": \"noop\"}.",
        16,
        0.0,
    );
    request(&agent, config, &url, body)
        .map(|_| ())
        .map_err(|e| format!("the llm endpoint {url} did not answer a test request: {e}"))
}

/// One request in the provider's format; returns the reply text.
fn request(
    agent: &ureq::Agent,
    config: &LlmConfig,
    url: &str,
    body: Value,
) -> Result<String, String> {
    let mut request = agent.post(url);
    match (config.provider, &config.api_key) {
        (Provider::Openai, Some(key)) => {
            request = request.set("Authorization", &format!("Bearer {key}"));
        }
        (Provider::Anthropic, key) => {
            request = request.set("anthropic-version", "2023-06-01");
            if let Some(key) = key {
                request = request.set("x-api-key", key);
            }
        }
        (Provider::Openai, None) => {}
    }
    let reply: Value = match request.send_json(body) {
        Ok(r) => r
            .into_json()
            .map_err(|e| format!("unreadable reply: {e}"))?,
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            return Err(format!(
                "HTTP {code}: {}",
                text.chars().take(200).collect::<String>()
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    match config.provider {
        Provider::Openai => reply["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "reply has no choices[0].message.content".to_owned()),
        // The text blocks of the reply's content, joined.
        Provider::Anthropic => {
            let text: Vec<&str> = reply["content"]
                .as_array()
                .map(|blocks| {
                    blocks
                        .iter()
                        .filter(|b| b["type"] == "text")
                        .filter_map(|b| b["text"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            if text.is_empty() {
                Err("reply has no text block in content".to_owned())
            } else {
                Ok(text.concat())
            }
        }
    }
}

/// A seat played by a language model.
pub struct LlmPolicy {
    config: Arc<LlmConfig>,
    agent: ureq::Agent,
    registry: &'static Registry,
    failure_ids: Vec<&'static str>,
    stats: ParseStats,
}

impl LlmPolicy {
    /// A policy asking the model of `config`.
    pub fn new(config: Arc<LlmConfig>, registry: &'static Registry) -> Self {
        let agent = ureq::AgentBuilder::new().timeout(config.timeout).build();
        LlmPolicy {
            config,
            agent,
            registry,
            failure_ids: registry.ids().collect(),
            stats: ParseStats::default(),
        }
    }

    /// One chat-completions request; returns the reply text. Failures are logged.
    fn complete(&self, system: &str, user: &str) -> Result<String, String> {
        let body = self.config.body(
            Some(system),
            user,
            self.config.max_tokens,
            self.config.temperature,
        );
        request(&self.agent, &self.config, &self.config.url(), body)
            .inspect_err(|e| self.config.failures.failed(e))
    }
}

impl Policy for LlmPolicy {
    fn name(&self) -> &'static str {
        "llm"
    }

    fn begin_episode(&mut self, _start: &EpisodeStart<'_>) {
        self.stats = ParseStats::default();
    }

    fn act(&mut self, observation: &Observation<'_>, role: Role) -> Action {
        let system = system_prompt(role, &self.failure_ids);
        let user = render_observation(observation);
        let attempted = ask_with_retries(self.registry, self.config.attempts, |reminder| {
            self.complete(&system, &format!("{user}{reminder}"))
        });
        attempted.record_into(&mut self.stats);
        attempted.parsed.action
    }

    fn parse_stats(&self) -> Option<ParseStats> {
        Some(self.stats)
    }
}
