//! Oversight sees what the SRE sees plus the fleet's own actions.

use chaosops_model::{Role, RoleView, State};
use chaosops_sim::{inventory, ProjectionRegistration, RoleProjection};

use crate::{project, Visibility, MAX_LOGS_PER_VIEW};

/// The hint oversight gets when the fleet has acted.
pub(crate) const FLEET_NOTE: &str = "fleet actions visible; cross-reference with alerts.";

/// Oversight's projection.
pub(crate) struct Oversight;

impl RoleProjection for Oversight {
    fn role(&self) -> Role {
        Role::Oversight
    }
    fn project<'a>(&self, state: &'a State) -> RoleView<'a> {
        let visibility = Visibility {
            metrics: true,
            logs: MAX_LOGS_PER_VIEW,
            fleet: true,
        };
        let mut view = project(Role::Oversight, state, visibility);
        if !state.fleet_actions.is_empty() {
            view.private_note = Some(FLEET_NOTE);
        }
        view
    }
    fn view_follows_lists(&self) -> bool {
        true
    }
}

inventory::submit! { ProjectionRegistration(&Oversight) }
