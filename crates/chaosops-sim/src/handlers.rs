//! The [`ActionHandler`] trait and the dispatch table, indexed by action type.

mod communicate;
mod flag_rogue;
mod identify_root_cause;
mod remediate;
mod scale;
mod simple;

use chaosops_model::{ActionType, OutcomeFlags, Role, State};

use crate::failure::{FailureInjector, Turn};
use crate::registry::Registry;

/// Everything a handler may read or change while applying one action.
pub struct ActionContext<'a> {
    /// The world, mutable.
    pub state: &'a mut State,
    /// The episode's failure.
    pub failure: &'a dyn FailureInjector,
    /// The registry (for known failure ids).
    pub registry: &'a Registry,
    /// The action and its acting role.
    pub turn: Turn<'a>,
    /// Outcome flags of this action.
    pub flags: &'a mut OutcomeFlags,
}

impl ActionContext<'_> {
    /// Flags a wrong fix and counts it.
    pub fn wrong_fix(&mut self) {
        self.flags.wrong_fix = true;
        self.state.wrong_fixes += 1;
    }

    /// Flags a wrong fix, counts it, and runs the failure's wrong-fix hook.
    pub fn wrong_fix_with_hook(&mut self) {
        self.wrong_fix();
        self.failure.on_wrong_fix(self.turn, self.state, self.flags);
    }

    /// Flags a miscommunication and counts it.
    pub fn miscommunication(&mut self) {
        self.flags.miscommunication = true;
        self.state.miscommunications += 1;
    }

    /// True when the acting role is `role`; otherwise counts a miscommunication.
    pub fn require_role(&mut self, role: Role) -> bool {
        if self.turn.role == role {
            true
        } else {
            self.miscommunication();
            false
        }
    }

    /// True when the action heals rather than counting as a wrong fix.
    pub fn is_beneficial(&self) -> bool {
        self.failure.is_beneficial(self.turn, self.state)
    }
}

/// Applies one action type's effect.
pub trait ActionHandler: Send + Sync {
    /// The action type handled.
    fn action_type(&self) -> ActionType;
    /// Applies the effect; the engine then checks the correct fix.
    fn apply(&self, cx: &mut ActionContext<'_>);
}

/// One handler per action type, in [`ActionType::ALL`] order.
static HANDLERS: [&dyn ActionHandler; ActionType::COUNT] = [
    &simple::Noop,
    &communicate::Communicate,
    &remediate::Restart,
    &remediate::Rollback,
    &scale::Scale,
    &flag_rogue::FlagRogue,
    &identify_root_cause::IdentifyRootCause,
    &simple::Escalate,
    &simple::Resolve,
];

/// The handler of `action_type`.
pub fn handler(action_type: ActionType) -> &'static dyn ActionHandler {
    HANDLERS[action_type.index()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_action_type() {
        for t in ActionType::ALL {
            assert_eq!(handler(*t).action_type(), *t);
        }
    }
}
