//! The manager sees alerts and chat only.

use chaosops_model::{Role, RoleView, State};
use chaosops_sim::{inventory, ProjectionRegistration, RoleProjection};

use crate::{project, Visibility};

/// The manager's projection.
pub(crate) struct Manager;

impl RoleProjection for Manager {
    fn role(&self) -> Role {
        Role::Manager
    }
    fn project<'a>(&self, state: &'a State) -> RoleView<'a> {
        let visibility = Visibility {
            metrics: false,
            logs: 0,
            fleet: false,
        };
        project(Role::Manager, state, visibility)
    }
    fn view_follows_lists(&self) -> bool {
        true
    }
}

inventory::submit! { ProjectionRegistration(&Manager) }
