//! The SRE sees metrics, the last six logs and every alert.

use chaosops_model::{Role, RoleView, State};
use chaosops_sim::{inventory, ProjectionRegistration, RoleProjection};

use crate::{project, Visibility, MAX_LOGS_PER_VIEW};

/// The SRE's projection.
pub(crate) struct Sre;

impl RoleProjection for Sre {
    fn role(&self) -> Role {
        Role::Sre
    }
    fn project<'a>(&self, state: &'a State) -> RoleView<'a> {
        let visibility = Visibility {
            metrics: true,
            logs: MAX_LOGS_PER_VIEW,
            fleet: false,
        };
        project(Role::Sre, state, visibility)
    }
    fn view_follows_lists(&self) -> bool {
        true
    }
}

inventory::submit! { ProjectionRegistration(&Sre) }
