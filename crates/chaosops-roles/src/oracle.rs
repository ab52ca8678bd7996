//! The oracle: each failure's own playbook, so plugin failures get an oracle for free.

use chaosops_model::{Action, Observation, Role};
use chaosops_sim::Playbook;

use crate::policy::{EpisodeStart, Policy};

/// Plays the injected failure's playbook; roles without a planned action do `noop`.
///
/// For a compound incident (docs/behaviour.md §18) the plan has one phase per part, in the
/// compound's order, each that part's playbook: a role's k-th turn plays phase k modulo the
/// number of parts (a part whose fix waits on another's comes round again).
#[derive(Clone, Debug, Default)]
pub struct OraclePolicy {
    phases: Vec<Playbook>,
    turns: [usize; Role::COUNT],
}

impl Policy for OraclePolicy {
    fn name(&self) -> &'static str {
        "oracle"
    }

    fn begin_episode(&mut self, start: &EpisodeStart<'_>) {
        // With variation, the playbook follows the episode's variant (a pure function of
        // the scenario, which the oracle, alone among the policies, may read).
        let single = [start.failure];
        let parts = match start.failure.parts() {
            [] => &single[..],
            parts => parts,
        };
        self.phases.clear();
        for part in parts {
            let variant = chaosops_sim::variation::draw(start.scenario, *part);
            self.phases
                .push(part.playbook_for(variant.and_then(|v| v.target)));
        }
        self.turns = [0; Role::COUNT];
    }

    fn act(&mut self, _observation: &Observation<'_>, role: Role) -> Action {
        let turn = &mut self.turns[role.index()];
        let phase = self.phases.get(*turn % self.phases.len().max(1));
        *turn += 1;
        phase
            .and_then(|p| p.action(role))
            .cloned()
            .unwrap_or_else(Action::noop)
    }
}
