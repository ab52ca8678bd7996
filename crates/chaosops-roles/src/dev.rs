//! The developer sees metrics, the last three logs and every alert.

use chaosops_model::{Role, RoleView, State};
use chaosops_sim::{inventory, ProjectionRegistration, RoleProjection};

use crate::{project, Visibility, MAX_DEV_LOGS};

/// The developer's projection.
pub(crate) struct Dev;

impl RoleProjection for Dev {
    fn role(&self) -> Role {
        Role::Dev
    }
    fn project<'a>(&self, state: &'a State) -> RoleView<'a> {
        let visibility = Visibility {
            metrics: true,
            logs: MAX_DEV_LOGS,
            fleet: false,
        };
        project(Role::Dev, state, visibility)
    }
    fn view_follows_lists(&self) -> bool {
        true
    }
}

inventory::submit! { ProjectionRegistration(&Dev) }
