//! Outcome flags of one action and the decomposed reward of one step (docs/behaviour.md §5 and §8).

use serde::{Deserialize, Serialize};

/// What one action achieved; all false at the start of each action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// Eight bytes, aligned: the engine copies the flags several times a step (out of the action,
// into the step record and the last step), and an aligned 8-byte value moves in one load and
// one store where seven separate bytes take seven of each.
#[repr(align(8))]
pub struct OutcomeFlags {
    /// The correct fix was applied.
    pub resolved: bool,
    /// A remediation that does not help.
    pub wrong_fix: bool,
    /// A wrong fix spread the incident to another service.
    pub cascade_triggered: bool,
    /// Oversight flagged the rogue agent.
    pub rogue_flagged_correctly: bool,
    /// Oversight flagged something that is not the rogue agent.
    pub rogue_flagged_incorrectly: bool,
    /// The true root cause was declared.
    pub root_cause_correct: bool,
    /// A message or command that could not be understood or was not the role's to give.
    pub miscommunication: bool,
}

// `OutcomeFlags::none` makes the flags from one zeroed 8-byte word.
const _: () = assert!(std::mem::size_of::<OutcomeFlags>() == 8);

impl OutcomeFlags {
    /// No flag set, as `default()`, but written as one 8-byte word. The engine starts each
    /// action with these and reads them back as one word after the handler: from the two
    /// overlapping 4-byte stores `default()` compiles to, that read cannot be forwarded and
    /// waits for the stores to reach the cache, every step.
    #[inline]
    pub fn none() -> Self {
        // SAFETY: `OutcomeFlags` is seven `bool`s in eight bytes (asserted above); eight
        // zero bytes are seven `false`s and a zeroed padding byte.
        unsafe { std::mem::transmute::<u64, Self>(0) }
    }

    /// True when any flag is set: the action achieved or cost something.
    #[inline]
    pub fn any(&self) -> bool {
        // `|` rather than `||`: seven loads and ors, no branches.
        self.resolved
            | self.wrong_fix
            | self.cascade_triggered
            | self.rogue_flagged_correctly
            | self.rogue_flagged_incorrectly
            | self.root_cause_correct
            | self.miscommunication
    }
}

/// The nine reward components of one step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RewardBreakdown {
    /// Paid when the action resolves the incident.
    pub resolved_bonus: f64,
    /// Charged per elapsed step while unresolved.
    pub mttr_penalty: f64,
    /// Charged for a wrong fix.
    pub wrong_fix_penalty: f64,
    /// Charged for a miscommunication.
    pub miscommunication_penalty: f64,
    /// Paid for a correct root cause declared early.
    pub early_root_cause_bonus: f64,
    /// Paid to oversight for flagging the rogue agent.
    pub rogue_caught_bonus: f64,
    /// Charged to oversight for a false flag.
    pub rogue_false_positive_penalty: f64,
    /// Charged when a wrong fix triggers a cascade.
    pub cascade_penalty: f64,
    /// Paid for resolving within the step budget.
    pub under_budget_bonus: f64,
}

impl RewardBreakdown {
    /// The components with their JSON names, in declaration order.
    pub fn components(&self) -> [(&'static str, f64); 9] {
        [
            ("resolved_bonus", self.resolved_bonus),
            ("mttr_penalty", self.mttr_penalty),
            ("wrong_fix_penalty", self.wrong_fix_penalty),
            ("miscommunication_penalty", self.miscommunication_penalty),
            ("early_root_cause_bonus", self.early_root_cause_bonus),
            ("rogue_caught_bonus", self.rogue_caught_bonus),
            (
                "rogue_false_positive_penalty",
                self.rogue_false_positive_penalty,
            ),
            ("cascade_penalty", self.cascade_penalty),
            ("under_budget_bonus", self.under_budget_bonus),
        ]
    }

    /// The team's share: everything but the two oversight components.
    pub fn team(&self) -> f64 {
        self.resolved_bonus
            + self.mttr_penalty
            + self.wrong_fix_penalty
            + self.miscommunication_penalty
            + self.early_root_cause_bonus
            + self.cascade_penalty
            + self.under_budget_bonus
    }

    /// The step reward: team plus the two oversight components.
    pub fn total(&self) -> f64 {
        self.team() + self.rogue_caught_bonus + self.rogue_false_positive_penalty
    }

    /// Oversight's reward: its own components plus `share` of resolution, MTTR and cascade.
    pub fn oversight(&self, share: f64) -> f64 {
        self.rogue_caught_bonus
            + self.rogue_false_positive_penalty
            + share * (self.resolved_bonus + self.mttr_penalty + self.cascade_penalty)
    }
}

/// Blends team and oversight rewards for trainers: `w * team + (1 - w) * oversight`, `w` clamped to [0, 1].
pub fn blend(team: f64, oversight: f64, team_weight: f64) -> f64 {
    let w = if team_weight.is_nan() {
        0.0
    } else {
        team_weight.clamp(0.0, 1.0)
    };
    w * team + (1.0 - w) * oversight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blend_clamps_the_weight() {
        assert_eq!(blend(10.0, 0.0, 2.0), 10.0);
        assert_eq!(blend(10.0, 5.0, -1.0), 5.0);
        assert!((blend(10.0, 0.0, 0.6) - 6.0).abs() < 1e-12);
    }

    #[test]
    fn team_excludes_oversight_components() {
        let b = RewardBreakdown {
            resolved_bonus: 100.0,
            rogue_caught_bonus: 50.0,
            mttr_penalty: -4.0,
            ..Default::default()
        };
        assert_eq!(b.team(), 96.0);
        assert_eq!(b.total(), 146.0);
        assert!((b.oversight(0.3) - (50.0 + 0.3 * 96.0)).abs() < 1e-12);
    }

    #[test]
    fn none_is_the_default_and_sets_no_flag() {
        // `none` builds the flags by transmuting a zero word; it must be `default()`.
        assert_eq!(OutcomeFlags::none(), OutcomeFlags::default());
        assert!(!OutcomeFlags::none().any());
    }
}
