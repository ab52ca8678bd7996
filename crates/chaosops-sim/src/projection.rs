//! The [`RoleProjection`] plugin trait: what one role may see.

use chaosops_model::{Role, RoleView, State};

/// Projects the ground truth onto one role's partial view, borrowing from the state.
pub trait RoleProjection: Send + Sync + 'static {
    /// The role this projection serves.
    fn role(&self) -> Role;
    /// The role's view of `state`.
    fn project<'a>(&self, state: &'a State) -> RoleView<'a>;
}

/// Registers a role projection with the engine's registry.
pub struct ProjectionRegistration(pub &'static dyn RoleProjection);

inventory::collect!(ProjectionRegistration);
