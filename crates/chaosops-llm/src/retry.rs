//! Asking a model again when its reply cannot be used.

pub use chaosops_roles::ParseStats;
use chaosops_sim::Registry;

use crate::parser::{parse_action, ParseOutcome, Parsed};
use crate::prompt::retry_reminder;

/// How an action was finally obtained over several attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempted {
    /// The action and the outcome of the last attempt (or the budget fallback).
    pub parsed: Parsed,
    /// Attempts made (requests sent).
    pub attempts: u32,
    /// Attempts whose request failed (no reply text at all).
    pub failed_requests: u32,
}

impl Attempted {
    /// Adds this turn to `stats`.
    pub fn record_into(&self, stats: &mut ParseStats) {
        stats.turns += 1;
        stats.retries += u64::from(self.attempts.saturating_sub(1));
        stats.fallbacks += u64::from(self.parsed.outcome.is_fallback());
        stats.requests += u64::from(self.attempts);
        stats.failed_requests += u64::from(self.failed_requests);
    }
}

/// Asks up to `attempts` times. `ask` gets the text to append to the user message (empty on
/// the first attempt, a reminder naming the problem after that) and returns the model's text
/// or an error. After the budget, the fallback action with the last reason.
pub fn ask_with_retries<E: std::fmt::Display>(
    registry: &Registry,
    attempts: u32,
    mut ask: impl FnMut(&str) -> Result<String, E>,
) -> Attempted {
    let attempts = attempts.max(1);
    let mut reminder = String::new();
    let mut last_reason = String::new();
    let mut failed_requests = 0;
    for n in 1..=attempts {
        let parsed = match ask(&reminder) {
            Ok(text) => parse_action(&text, registry),
            Err(e) => {
                failed_requests += 1;
                Parsed::fallback(format!("request failed: {e}"))
            }
        };
        match &parsed.outcome {
            ParseOutcome::Parsed => {
                return Attempted {
                    parsed,
                    attempts: n,
                    failed_requests,
                }
            }
            ParseOutcome::Fallback { reason } => {
                last_reason = reason.clone();
                reminder = retry_reminder(reason);
            }
        }
    }
    Attempted {
        parsed: Parsed::fallback(format!(
            "no usable action after {attempts} attempt(s); last: {last_reason}"
        )),
        attempts,
        failed_requests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaosops_model::{Action, Service};

    use crate::test_registry as registry;

    #[test]
    fn retries_with_a_reminder_then_succeeds() {
        let mut seen = Vec::new();
        let replies = [
            "let me think",
            r#"{"action_type": "restart", "target": "db"}"#,
        ];
        let a = ask_with_retries(registry(), 3, |reminder: &str| {
            seen.push(reminder.to_owned());
            Ok::<_, String>(replies[seen.len() - 1].to_owned())
        });
        assert_eq!(a.attempts, 2);
        assert_eq!(a.parsed.action, Action::restart(Service::Db));
        assert_eq!(seen[0], "");
        assert!(
            seen[1].contains("could not be used (no JSON object in the completion)"),
            "{}",
            seen[1]
        );
        let mut stats = ParseStats::default();
        a.record_into(&mut stats);
        assert_eq!((stats.turns, stats.retries, stats.fallbacks), (1, 1, 0));
        assert_eq!((stats.requests, stats.failed_requests), (2, 0));
        assert!(!stats.every_request_failed());
    }

    #[test]
    fn falls_back_after_the_budget() {
        let mut calls = 0;
        let a = ask_with_retries(registry(), 2, |_: &str| {
            calls += 1;
            Err::<String, _>("timed out")
        });
        assert_eq!((calls, a.attempts), (2, 2));
        assert_eq!(a.parsed.action, Action::noop());
        assert_eq!(
            a.parsed.outcome.to_string(),
            "fallback: no usable action after 2 attempt(s); last: request failed: timed out"
        );
        let mut stats = ParseStats::default();
        a.record_into(&mut stats);
        assert_eq!(stats.failure_rate(), 1.0);
        assert_eq!((stats.requests, stats.failed_requests), (2, 2));
        assert!(stats.every_request_failed());
    }
}
