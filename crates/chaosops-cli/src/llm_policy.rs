//! The `llm` policy: any OpenAI-compatible chat-completions endpoint plays a seat.

use std::sync::Arc;
use std::time::Duration;

use chaosops_llm::{ask_with_retries, render_observation, system_prompt, ParseStats};
use chaosops_model::{Action, Observation, Role};
use chaosops_roles::{EpisodeStart, Policy};
use chaosops_sim::Registry;
use serde_json::{json, Value};

/// How to reach the model.
#[derive(Clone, Debug)]
pub struct LlmConfig {
    /// Base URL (`http://127.0.0.1:8080/v1`) or the full chat-completions URL.
    pub endpoint: String,
    /// Model name sent in each request.
    pub model: String,
    /// Bearer token, if the endpoint wants one.
    pub api_key: Option<String>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Attempts per turn before the fallback action.
    pub attempts: u32,
    /// Largest reply, in tokens.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f64,
}

impl LlmConfig {
    /// The chat-completions URL.
    pub fn url(&self) -> String {
        let base = self.endpoint.trim_end_matches('/');
        if base.ends_with("/chat/completions") {
            base.to_owned()
        } else {
            format!("{base}/chat/completions")
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

    /// One chat-completions request; returns the reply text.
    fn complete(&self, system: &str, user: &str) -> Result<String, String> {
        let body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
        });
        let mut request = self.agent.post(&self.config.url());
        if let Some(key) = &self.config.api_key {
            request = request.set("Authorization", &format!("Bearer {key}"));
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
        reply["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "reply has no choices[0].message.content".to_owned())
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
