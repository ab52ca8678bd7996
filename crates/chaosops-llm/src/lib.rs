//! The LLM adapter of ChaosOps (docs/behaviour.md §12): what a language model is shown,
//! and how its text becomes an action.
//!
//! - [`system_prompt`] and [`render_observation`]: one system prompt per role and a
//!   compact rendering of the role's view: about 320-510 tokens per turn at reset
//!   (system prompt about 280, view 45-225; estimated at four bytes a token).
//! - [`parse_action`] and [`StreamParser`]: model text to an [`Action`], tolerant of
//!   prose, code fences and nested arguments; strict about JSON (a trailing comma is a
//!   parse failure); always reporting [`ParseOutcome`].
//! - [`ask_with_retries`]: N attempts with a reminder, then the fallback.
//! - [`action_schema`], [`openai_tools`], [`anthropic_tools`]: for function calling.
//!
//! Pure: no IO. Depends on chaosops-model, chaosops-sim, chaosops-roles (for the
//! shared `ParseStats`) and serde_json.
//!
//! ```
//! # chaosops_failures::link(); chaosops_roles::link();
//! let registry = chaosops_sim::Registry::global().unwrap();
//! let p = chaosops_llm::parse_action("Restarting: ```json\n{\"action_type\": \"restart\", \"target\": \"db\"}\n```", registry);
//! assert_eq!(p.outcome, chaosops_llm::ParseOutcome::Parsed);
//! assert_eq!(p.action.target.as_deref(), Some("db"));
//! ```
#![deny(missing_docs)]

mod parser;
mod prompt;
mod retry;
mod tools;

pub use chaosops_model::Action;
pub use parser::{
    fallback_action, parse_action, ParseOutcome, Parsed, StreamParser, MAX_SCAN_BYTES,
};
pub use prompt::{
    estimate_tokens, render_observation, render_view, render_view_within, retry_reminder,
    system_prompt, PROMPT_VIEW_TOKEN_BUDGET,
};
pub use retry::{ask_with_retries, Attempted, ParseStats};
pub use tools::{action_schema, anthropic_tools, openai_tools, TOOL_DESCRIPTION, TOOL_NAME};

#[cfg(test)]
mod tests;

/// The registry with the built-in plugins, for this crate's tests.
#[cfg(test)]
pub(crate) fn test_registry() -> &'static chaosops_sim::Registry {
    chaosops_failures::link();
    chaosops_roles::link();
    chaosops_sim::Registry::global().expect("registry")
}
