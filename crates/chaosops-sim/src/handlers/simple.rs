//! Actions whose handler does little: `noop`, `escalate`, `resolve`.

use chaosops_model::{ActionType, Role};

use super::{ActionContext, ActionHandler};

/// `noop`: nothing.
pub(crate) struct Noop;

impl ActionHandler for Noop {
    fn action_type(&self) -> ActionType {
        ActionType::Noop
    }
    fn apply(&self, _cx: &mut ActionContext<'_>) {}
}

/// `escalate`: nothing by itself; failures may treat it as their fix.
pub(crate) struct Escalate;

impl ActionHandler for Escalate {
    fn action_type(&self) -> ActionType {
        ActionType::Escalate
    }
    fn apply(&self, _cx: &mut ActionContext<'_>) {}
}

/// `resolve`: only the manager may declare; the failure's fix check decides the rest.
pub(crate) struct Resolve;

impl ActionHandler for Resolve {
    fn action_type(&self) -> ActionType {
        ActionType::Resolve
    }
    fn apply(&self, cx: &mut ActionContext<'_>) {
        cx.require_role(Role::Manager);
    }
}
