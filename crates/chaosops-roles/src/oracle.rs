//! The oracle: each failure's own playbook, so plugin failures get an oracle for free.

use chaosops_model::{Action, Observation, Role};
use chaosops_sim::Playbook;

use crate::policy::{EpisodeStart, Policy};

/// Plays the injected failure's playbook; roles without a planned action do `noop`.
#[derive(Clone, Debug, Default)]
pub struct OraclePolicy {
    playbook: Playbook,
}

impl Policy for OraclePolicy {
    fn name(&self) -> &'static str {
        "oracle"
    }

    fn begin_episode(&mut self, start: &EpisodeStart<'_>) {
        // With variation, the playbook follows the episode's variant (a pure function of
        // the scenario, which the oracle, alone among the policies, may read).
        let variant = chaosops_sim::variation::draw(start.scenario, start.failure);
        self.playbook = start.failure.playbook_for(variant.and_then(|v| v.target));
    }

    fn act(&mut self, _observation: &Observation<'_>, role: Role) -> Action {
        self.playbook
            .action(role)
            .cloned()
            .unwrap_or_else(Action::noop)
    }
}
