//! The decomposed step reward of docs/behaviour.md §8.

use chaosops_model::{OutcomeFlags, RewardBreakdown};
use serde::{Deserialize, Serialize};

/// Reward weights and thresholds; the defaults are docs/behaviour.md §8's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RewardConfig {
    /// Paid when an action resolves the incident.
    pub resolved_bonus: f64,
    /// MTTR penalty per elapsed step while unresolved (charged as `-rate * step`).
    pub mttr_per_step: f64,
    /// Charged for a wrong fix.
    pub wrong_fix_penalty: f64,
    /// Charged for a miscommunication.
    pub miscommunication_penalty: f64,
    /// Paid for a correct root cause when the first declaration came early.
    pub early_root_cause_bonus: f64,
    /// Last step of the early window.
    pub early_root_cause_window: u32,
    /// Paid for flagging the rogue agent.
    pub rogue_caught_bonus: f64,
    /// Charged for a false flag.
    pub rogue_false_positive_penalty: f64,
    /// Charged when a wrong fix triggers a cascade.
    pub cascade_penalty: f64,
    /// Paid for resolving within the step budget.
    pub under_budget_bonus: f64,
    /// Last step that still earns the under-budget bonus.
    pub step_budget: u32,
    /// Oversight's share of resolution, MTTR and cascade components.
    pub oversight_share: f64,
    /// Added to the cumulative reward when an episode ends unresolved.
    pub terminal_penalty: f64,
    /// Pay the rogue-caught bonus only for the first correct flag of an episode.
    pub rogue_bonus_once: bool,
    /// Pay the early root-cause bonus only for the first correct declaration of an episode.
    pub root_cause_bonus_once: bool,
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig {
            resolved_bonus: 100.0,
            mttr_per_step: 2.0,
            wrong_fix_penalty: -50.0,
            miscommunication_penalty: -20.0,
            early_root_cause_bonus: 30.0,
            early_root_cause_window: 3,
            rogue_caught_bonus: 50.0,
            rogue_false_positive_penalty: -75.0,
            cascade_penalty: -40.0,
            under_budget_bonus: 10.0,
            step_budget: 8,
            oversight_share: 0.3,
            terminal_penalty: -60.0,
            rogue_bonus_once: false,
            root_cause_bonus_once: false,
        }
    }
}

/// A scored step: its breakdown and the three sums the engine reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settled {
    /// The nine components.
    pub breakdown: RewardBreakdown,
    /// The team's share ([`RewardBreakdown::team`]).
    pub team: f64,
    /// The step reward ([`RewardBreakdown::total`]).
    pub total: f64,
    /// Oversight's reward ([`RewardBreakdown::oversight`] with the configured share).
    pub oversight: f64,
}

/// Bonuses already paid in the current episode, for the once-per-episode options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BonusesPaid {
    /// An earlier step earned the rogue-caught bonus.
    pub rogue: bool,
    /// An earlier step earned the early root-cause bonus.
    pub root_cause: bool,
}

impl BonusesPaid {
    /// Notes the bonuses `breakdown` paid.
    pub fn record(&mut self, breakdown: &RewardBreakdown) {
        self.rogue |= breakdown.rogue_caught_bonus != 0.0;
        self.root_cause |= breakdown.early_root_cause_bonus != 0.0;
    }
}

impl RewardConfig {
    /// The reference weights (the default): the recorded episodes are scored with these.
    pub fn reference() -> Self {
        RewardConfig::default()
    }

    /// The reference weights with the root-cause and rogue bonuses paid once per episode,
    /// so repeating a correct declaration or flag earns nothing more.
    pub fn strict() -> Self {
        RewardConfig {
            rogue_bonus_once: true,
            root_cause_bonus_once: true,
            ..RewardConfig::default()
        }
    }

    /// Scores one step as [`score`](Self::score) does, with the MTTR charge waived for a
    /// no-fault `control`, sums it, and notes in `paid` the bonuses it paid.
    ///
    /// A step with no flag set (most turns) owes only the MTTR charge and takes a short path:
    /// the full sums with their zero terms dropped, keeping one `+ 0.0` where the full sums
    /// would turn a -0.0 into 0.0, so the result is the same bit for bit (tested).
    #[inline]
    pub fn settle(
        &self,
        flags: &OutcomeFlags,
        step: u32,
        declared_step: Option<u32>,
        paid: &mut BonusesPaid,
        control: bool,
    ) -> Settled {
        if !flags.any() {
            let mttr = if control {
                0.0
            } else {
                -self.mttr_per_step * f64::from(step)
            };
            let team = mttr + 0.0;
            return Settled {
                breakdown: RewardBreakdown {
                    mttr_penalty: mttr,
                    ..RewardBreakdown::default()
                },
                team,
                total: team,
                oversight: 0.0 + self.oversight_share * team,
            };
        }
        let mut breakdown = self.score(flags, step, declared_step, *paid);
        if control {
            breakdown.mttr_penalty = 0.0;
        }
        paid.record(&breakdown);
        Settled {
            breakdown,
            team: breakdown.team(),
            total: breakdown.total(),
            oversight: breakdown.oversight(self.oversight_share),
        }
    }

    /// The breakdown of one step: `step` is the step count after the action,
    /// `declared_step` the step of the first valid root-cause declaration, and
    /// `paid` the bonuses earlier steps of the episode earned.
    pub fn score(
        &self,
        flags: &OutcomeFlags,
        step: u32,
        declared_step: Option<u32>,
        paid: BonusesPaid,
    ) -> RewardBreakdown {
        let pay = |cond: bool, value: f64| if cond { value } else { 0.0 };
        let early = declared_step.is_some_and(|s| s <= self.early_root_cause_window)
            && !(self.root_cause_bonus_once && paid.root_cause);
        let rogue_bonus_paid = paid.rogue;
        RewardBreakdown {
            resolved_bonus: pay(flags.resolved, self.resolved_bonus),
            mttr_penalty: pay(!flags.resolved, -self.mttr_per_step * f64::from(step)),
            wrong_fix_penalty: pay(flags.wrong_fix, self.wrong_fix_penalty),
            miscommunication_penalty: pay(flags.miscommunication, self.miscommunication_penalty),
            early_root_cause_bonus: pay(
                flags.root_cause_correct && early,
                self.early_root_cause_bonus,
            ),
            rogue_caught_bonus: pay(
                flags.rogue_flagged_correctly && !(self.rogue_bonus_once && rogue_bonus_paid),
                self.rogue_caught_bonus,
            ),
            rogue_false_positive_penalty: pay(
                flags.rogue_flagged_incorrectly,
                self.rogue_false_positive_penalty,
            ),
            cascade_penalty: pay(flags.cascade_triggered, self.cascade_penalty),
            under_budget_bonus: pay(
                flags.resolved && step <= self.step_budget,
                self.under_budget_bonus,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every component and sum as bits, so -0.0 and 0.0 differ (every NaN as one value: Rust
    /// does not promise a NaN's payload).
    fn bits(s: &Settled) -> Vec<u64> {
        let bits = |x: f64| if x.is_nan() { 1 } else { x.to_bits() };
        let mut v: Vec<u64> = s
            .breakdown
            .components()
            .iter()
            .map(|(_, x)| bits(*x))
            .collect();
        v.extend([s.team, s.total, s.oversight].map(bits));
        v
    }

    #[test]
    fn settle_matches_the_full_scoring_bit_for_bit() {
        let configs = [
            RewardConfig::reference(),
            RewardConfig::strict(),
            // Zero and negative rates and shares: the signs of zeros are where a shortcut
            // could differ from the full sums.
            RewardConfig {
                mttr_per_step: 0.0,
                ..Default::default()
            },
            RewardConfig {
                mttr_per_step: -0.0,
                oversight_share: -0.5,
                ..Default::default()
            },
            RewardConfig {
                mttr_per_step: -1.5,
                oversight_share: 0.0,
                ..Default::default()
            },
            RewardConfig {
                mttr_per_step: f64::NAN,
                ..Default::default()
            },
        ];
        let flag_sets = [
            OutcomeFlags::default(),
            OutcomeFlags {
                resolved: true,
                ..Default::default()
            },
            OutcomeFlags {
                rogue_flagged_correctly: true,
                root_cause_correct: true,
                ..Default::default()
            },
            OutcomeFlags {
                miscommunication: true,
                ..Default::default()
            },
        ];
        let mut checked = 0;
        for config in configs {
            for flags in flag_sets {
                for step in [0, 1, 3, 9, 40] {
                    for declared in [None, Some(1), Some(7)] {
                        for control in [false, true] {
                            for paid in [BonusesPaid::default(), ROGUE_PAID] {
                                let mut full = config.score(&flags, step, declared, paid);
                                if control {
                                    full.mttr_penalty = 0.0;
                                }
                                let expected = Settled {
                                    breakdown: full,
                                    team: full.team(),
                                    total: full.total(),
                                    oversight: full.oversight(config.oversight_share),
                                };
                                let mut noted = paid;
                                let got =
                                    config.settle(&flags, step, declared, &mut noted, control);
                                assert_eq!(
                                    bits(&got),
                                    bits(&expected),
                                    "{config:?} {flags:?} step {step} control {control}"
                                );
                                let mut expected_paid = paid;
                                expected_paid.record(&full);
                                assert_eq!(noted, expected_paid);
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 4 * 5 * 3 * 2 * 2);
    }

    #[test]
    fn resolved_under_budget() {
        let flags = OutcomeFlags {
            resolved: true,
            ..Default::default()
        };
        let b = RewardConfig::default().score(&flags, 1, None, BonusesPaid::default());
        assert_eq!(b.total(), 110.0);
        assert_eq!(b.oversight(0.3), 30.0);
        let late = RewardConfig::default().score(&flags, 9, None, BonusesPaid::default());
        assert_eq!(late.total(), 100.0);
    }

    #[test]
    fn early_root_cause_uses_first_declaration_step() {
        let flags = OutcomeFlags {
            root_cause_correct: true,
            ..Default::default()
        };
        let c = RewardConfig::default();
        assert_eq!(
            c.score(&flags, 5, Some(3), BonusesPaid::default())
                .early_root_cause_bonus,
            30.0
        );
        assert_eq!(
            c.score(&flags, 5, Some(4), BonusesPaid::default())
                .early_root_cause_bonus,
            0.0
        );
        assert_eq!(
            c.score(&flags, 5, Some(4), BonusesPaid::default())
                .mttr_penalty,
            -10.0
        );
    }

    const ROGUE_PAID: BonusesPaid = BonusesPaid {
        rogue: true,
        root_cause: false,
    };

    #[test]
    fn strict_pays_the_root_cause_bonus_once() {
        let flags = OutcomeFlags {
            root_cause_correct: true,
            ..Default::default()
        };
        let paid = BonusesPaid {
            rogue: false,
            root_cause: true,
        };
        let reference = RewardConfig::reference();
        assert_eq!(
            reference
                .score(&flags, 2, Some(1), paid)
                .early_root_cause_bonus,
            30.0
        );
        let strict = RewardConfig::strict();
        assert_eq!(
            strict
                .score(&flags, 1, Some(1), BonusesPaid::default())
                .early_root_cause_bonus,
            30.0
        );
        assert_eq!(
            strict
                .score(&flags, 2, Some(1), paid)
                .early_root_cause_bonus,
            0.0
        );
        let rogue = OutcomeFlags {
            rogue_flagged_correctly: true,
            ..Default::default()
        };
        assert_eq!(
            strict.score(&rogue, 2, None, ROGUE_PAID).rogue_caught_bonus,
            0.0
        );
    }

    #[test]
    fn rogue_bonus_once_is_optional() {
        let flags = OutcomeFlags {
            rogue_flagged_correctly: true,
            ..Default::default()
        };
        let default = RewardConfig::default();
        assert_eq!(
            default
                .score(&flags, 2, None, ROGUE_PAID)
                .rogue_caught_bonus,
            50.0
        );
        let once = RewardConfig {
            rogue_bonus_once: true,
            ..Default::default()
        };
        assert_eq!(
            once.score(&flags, 2, None, BonusesPaid::default())
                .rogue_caught_bonus,
            50.0
        );
        assert_eq!(
            once.score(&flags, 2, None, ROGUE_PAID).rogue_caught_bonus,
            0.0
        );
    }
}
