//! The random baseline of docs/behaviour.md §10.

use chaosops_model::{Action, ActionType, Observation, Role, Service};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::policy::Policy;

/// The action types the random policy draws from, uniformly.
const CHOICES: [ActionType; 5] = [
    ActionType::Noop,
    ActionType::Communicate,
    ActionType::Restart,
    ActionType::Rollback,
    ActionType::Scale,
];

/// Canned chatter.
pub(crate) const MESSAGES: [&str; 4] = [
    "checking metrics",
    "someone should look at this",
    "standing by",
    "payments looks bad",
];

/// Picks a uniformly random noop, chatter, restart, rollback or scale (1..=5 replicas).
#[derive(Clone, Debug)]
pub struct RandomPolicy {
    rng: ChaCha8Rng,
}

impl RandomPolicy {
    /// A random policy with its own generator seeded from `seed`.
    pub fn new(seed: u64) -> Self {
        RandomPolicy {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn service(&mut self) -> Service {
        Service::ALL[self.rng.random_range(0..Service::COUNT)]
    }
}

impl Policy for RandomPolicy {
    fn name(&self) -> &'static str {
        "random"
    }

    fn act(&mut self, _observation: &Observation<'_>, _role: Role) -> Action {
        match CHOICES[self.rng.random_range(0..CHOICES.len())] {
            ActionType::Communicate => {
                Action::communicate(MESSAGES[self.rng.random_range(0..MESSAGES.len())])
            }
            ActionType::Restart => Action::restart(self.service()),
            ActionType::Rollback => Action::rollback(self.service()),
            ActionType::Scale => {
                let service = self.service();
                Action::scale(service, self.rng.random_range(1..=5))
            }
            _ => Action::noop(),
        }
    }
}
