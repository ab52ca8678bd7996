//! Compound incidents (docs/behaviour.md §18): several registered failure types injected
//! into one fleet at once, resolved when every one of them is fixed.
//!
//! A compound's id is its parts' ids in id order joined by [`SEPARATOR`]
//! (`db_deadlock+memory_leak`); a scenario may name it so or as a list of ids. The
//! registry builds each compound once, on first use, and keeps it for the program's life.

use chaosops_model::{FleetAgent, OutcomeFlags, State};

use crate::error::SimError;
use crate::failure::{FailureInjector, Playbook, Turn};

/// Joins the parts of a compound id.
pub const SEPARATOR: char = '+';
/// Most failure types one compound incident holds (the width of [`State::parts_fixed`]
/// allows more; the limit keeps the set of compounds a program can build small).
pub const MAX_PARTS: usize = 3;

/// Several failure types at once. Injected in order; each part ticks until fixed; an action
/// fixes every part it is the correct fix of; the incident is resolved when all are fixed.
pub struct Compound {
    id: &'static str,
    description: &'static str,
    family: &'static str,
    parts: Vec<&'static dyn FailureInjector>,
    rogue: Option<FleetAgent>,
    all_fixed: u8,
}

impl std::fmt::Debug for Compound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compound").field("id", &self.id).finish()
    }
}

fn invalid(id: &str, reason: impl Into<String>) -> SimError {
    SimError::InvalidCompound {
        id: id.to_owned(),
        reason: reason.into(),
    }
}

impl Compound {
    /// The compound of `parts` (registered single types), asked for as `asked`. Refuses
    /// fewer than two or more than [`MAX_PARTS`] parts, a repeated part, a no-fault control
    /// and two parts with rogue fleet agents, naming the offending value.
    pub fn new(
        asked: &str,
        mut parts: Vec<&'static dyn FailureInjector>,
    ) -> Result<Self, SimError> {
        if parts.len() < 2 || parts.len() > MAX_PARTS {
            return Err(invalid(
                asked,
                format!(
                    "it names {} failure type(s); a compound holds 2 to {MAX_PARTS}",
                    parts.len()
                ),
            ));
        }
        parts.sort_by_key(|p| p.id());
        if let Some(w) = parts.windows(2).find(|w| w[0].id() == w[1].id()) {
            return Err(invalid(asked, format!("\"{}\" is named twice", w[0].id())));
        }
        if let Some(p) = parts.iter().find(|p| p.is_control()) {
            return Err(invalid(
                asked,
                format!(
                    "\"{}\" is a no-fault control, which cannot be part of an incident",
                    p.id()
                ),
            ));
        }
        let rogues: Vec<_> = parts.iter().filter(|p| p.rogue_agent().is_some()).collect();
        if rogues.len() > 1 {
            return Err(invalid(
                asked,
                format!(
                    "\"{}\" and \"{}\" both have a rogue fleet agent; a compound holds at most one",
                    rogues[0].id(),
                    rogues[1].id()
                ),
            ));
        }
        // Variation keys a moved target by its reference target: two varying parts must
        // not share one.
        let varying: Vec<_> = parts
            .iter()
            .filter(|p| !p.variable_targets().is_empty())
            .collect();
        for (i, a) in varying.iter().enumerate() {
            if let Some(b) = varying[i + 1..]
                .iter()
                .find(|b| b.reference_target() == a.reference_target())
            {
                return Err(invalid(
                    asked,
                    format!(
                        "\"{}\" and \"{}\" both move their target from the same service under variation",
                        a.id(),
                        b.id()
                    ),
                ));
            }
        }
        let join = |f: &dyn Fn(&&'static dyn FailureInjector) -> &'static str, sep: &str| {
            parts.iter().map(f).collect::<Vec<_>>().join(sep)
        };
        let id = join(&|p| p.id(), "+");
        let description = format!("at once: {}", join(&|p| p.description(), "; "));
        let family = join(&|p| p.family(), "+");
        Ok(Compound {
            id: Box::leak(id.into_boxed_str()),
            description: Box::leak(description.into_boxed_str()),
            family: Box::leak(family.into_boxed_str()),
            rogue: rogues.first().and_then(|p| p.rogue_agent()),
            all_fixed: u8::MAX >> (8 - parts.len()),
            parts,
        })
    }

    /// The unfixed parts, with their bits in [`State::parts_fixed`].
    fn unfixed<'a>(
        &'a self,
        fixed: u8,
    ) -> impl Iterator<Item = (u8, &'static dyn FailureInjector)> + 'a {
        self.parts
            .iter()
            .enumerate()
            .map(|(i, p)| (1u8 << i, *p))
            .filter(move |(bit, _)| fixed & bit == 0)
    }
}

impl FailureInjector for Compound {
    fn id(&self) -> &'static str {
        self.id
    }
    fn description(&self) -> &'static str {
        self.description
    }
    fn rogue_agent(&self) -> Option<FleetAgent> {
        self.rogue
    }
    fn inject(&self, state: &mut State) {
        for part in &self.parts {
            part.inject(state);
        }
    }
    /// True when the action fixes every part still unfixed (without noting anything).
    fn is_correct_fix(&self, turn: Turn<'_>, state: &State) -> bool {
        self.unfixed(state.parts_fixed)
            .all(|(_, p)| p.is_correct_fix(turn, state))
    }
    fn check_fix(&self, turn: Turn<'_>, state: &mut State) -> bool {
        let mut fixed = state.parts_fixed;
        for (bit, part) in self.unfixed(state.parts_fixed) {
            if part.is_correct_fix(turn, state) {
                fixed |= bit;
            }
        }
        state.parts_fixed = fixed;
        fixed == self.all_fixed
    }
    /// Beneficial when it is for any part still unfixed.
    fn is_beneficial(&self, turn: Turn<'_>, state: &State) -> bool {
        self.unfixed(state.parts_fixed)
            .any(|(_, p)| p.is_beneficial(turn, state))
    }
    fn tick(&self, state: &mut State) {
        for (_, part) in self.unfixed(state.parts_fixed) {
            part.tick(state);
        }
    }
    fn on_wrong_fix(&self, turn: Turn<'_>, state: &mut State, flags: &mut OutcomeFlags) {
        for (_, part) in self.unfixed(state.parts_fixed) {
            part.on_wrong_fix(turn, state, flags);
        }
    }
    fn is_root_cause(&self, id: &str) -> bool {
        self.parts.iter().any(|p| p.id() == id)
    }
    fn parts(&self) -> &[&'static dyn FailureInjector] {
        &self.parts
    }
    /// The first part's playbook (the oracle plays every part's, one cycle each).
    fn playbook(&self) -> Playbook {
        self.parts[0].playbook()
    }
    fn family(&self) -> &'static str {
        self.family
    }
    fn source(&self) -> &'static str {
        "compound"
    }
}

/// The parts named by a compound id (`a+b`), trimmed; `None` when `id` names one type.
pub fn split_id(id: &str) -> Option<impl Iterator<Item = &str>> {
    id.contains(SEPARATOR)
        .then(|| id.split(SEPARATOR).map(str::trim))
}

#[cfg(test)]
mod tests {
    use chaosops_model::{Service, State};

    use super::*;

    /// A type whose target moves under variation, from `reference`.
    struct Moving(&'static str, Service);

    impl FailureInjector for Moving {
        fn id(&self) -> &'static str {
            self.0
        }
        fn description(&self) -> &'static str {
            "moves"
        }
        fn inject(&self, _state: &mut State) {}
        fn is_correct_fix(&self, _turn: Turn<'_>, _state: &State) -> bool {
            false
        }
        fn playbook(&self) -> Playbook {
            Playbook::default()
        }
        fn variable_targets(&self) -> &'static [Service] {
            Service::ALL
        }
        fn reference_target(&self) -> Option<Service> {
            Some(self.1)
        }
    }

    static A: Moving = Moving("alpha", Service::Db);
    static B: Moving = Moving("beta", Service::Db);
    static C: Moving = Moving("gamma", Service::Auth);

    #[test]
    fn parts_are_ordered_by_id_and_varying_parts_need_their_own_reference() {
        let c = Compound::new("gamma+alpha", vec![&C, &A]).unwrap();
        assert_eq!(c.id(), "alpha+gamma");
        assert_eq!(c.all_fixed, 0b11);
        assert_eq!(c.family(), "alpha+gamma");
        let err = Compound::new("beta+alpha", vec![&B, &A]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "compound incident \"beta+alpha\": \"alpha\" and \"beta\" both move their target \
             from the same service under variation"
        );
        assert!(Compound::new("alpha", vec![&A])
            .unwrap_err()
            .to_string()
            .ends_with("it names 1 failure type(s); a compound holds 2 to 3"));
    }
}
