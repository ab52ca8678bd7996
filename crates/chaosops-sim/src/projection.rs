//! The [`RoleProjection`] plugin trait: what one role may see.

use chaosops_model::{Role, RoleView, State};

/// Projects the ground truth onto one role's partial view, borrowing from the state.
pub trait RoleProjection: Send + Sync + 'static {
    /// The role this projection serves.
    fn role(&self) -> Role;
    /// The role's view of `state`.
    fn project<'a>(&self, state: &'a State) -> RoleView<'a>;

    /// True when the view depends on the state's lists alone: for states whose lists (logs,
    /// alerts, fleet actions, chat and every inbox) are the same slices, with the same
    /// addresses and lengths, [`project`](Self::project) returns the same slices, the same
    /// private note, and as metrics the state's own `services` either always or never.
    ///
    /// A cache may then reuse a view's derived values for as long as no list has grown (the
    /// RL encoder skips projecting on most turns). The default, false, is always correct;
    /// declare true only for a projection that reads nothing else of the state.
    fn view_follows_lists(&self) -> bool {
        false
    }
}

/// Registers a role projection with the engine's registry.
pub struct ProjectionRegistration(pub &'static dyn RoleProjection);

inventory::collect!(ProjectionRegistration);
