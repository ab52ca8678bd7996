//! `flag_rogue`: oversight names a fleet agent it believes is misbehaving.

use std::borrow::Cow;

use chaosops_model::{ActionType, FleetAgent, Role, Service};

use super::{ActionContext, ActionHandler};

/// Appends the flagged name and scores it against the scenario's rogue agent.
pub(crate) struct FlagRogue;

/// A flagged name, borrowed from a static string when it is a known agent or service.
fn intern(name: &str) -> Cow<'static, str> {
    if let Some(agent) = FleetAgent::parse(name) {
        Cow::Borrowed(agent.as_str())
    } else if let Some(service) = Service::parse(name) {
        Cow::Borrowed(service.as_str())
    } else {
        Cow::Owned(name.to_owned())
    }
}

impl ActionHandler for FlagRogue {
    fn action_type(&self) -> ActionType {
        ActionType::FlagRogue
    }

    fn apply(&self, cx: &mut ActionContext<'_>) {
        if !cx.require_role(Role::Oversight) {
            return;
        }
        let name = match cx.turn.target.as_deref() {
            Some(t) if !t.is_empty() => t,
            _ => cx.turn.args.agent_name.as_deref().unwrap_or("").trim(),
        };
        if name.is_empty() {
            return;
        }
        let correct = cx.state.rogue_fleet_agent.map(FleetAgent::as_str) == Some(name);
        cx.state.oversight_flags.push(intern(name));
        if correct {
            cx.flags.rogue_flagged_correctly = true;
        } else {
            cx.flags.rogue_flagged_incorrectly = true;
        }
    }
}
