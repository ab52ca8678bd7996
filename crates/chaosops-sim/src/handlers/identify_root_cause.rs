//! `identify_root_cause`: declare which failure type is behind the incident.

use chaosops_model::{ActionType, FailureId};

use super::{ActionContext, ActionHandler};

/// Records the declaration (first step kept) and checks it against the truth.
pub(crate) struct IdentifyRootCause;

impl ActionHandler for IdentifyRootCause {
    fn action_type(&self) -> ActionType {
        ActionType::IdentifyRootCause
    }

    fn apply(&self, cx: &mut ActionContext<'_>) {
        let declared = cx.turn.args.failure_type.as_deref().unwrap_or("");
        let Some(failure) = cx.registry.find(declared) else {
            // Flagged but not counted: the environment keeps the counter at least 1.
            cx.flags.miscommunication = true;
            return;
        };
        let id = failure.id();
        cx.state.declared_root_cause = Some(FailureId::from_static(id));
        if cx.state.declared_root_cause_step.is_none() {
            cx.state.declared_root_cause_step = Some(cx.state.step_count);
        }
        if cx.failure.is_root_cause(id) {
            cx.flags.root_cause_correct = true;
        }
    }
}
