//! The `Discrete(n)` action table: a fixed, documented encoding of actions as integers.

use chaosops_model::{Action, ActionType, CheckedAction, FailureId, FleetAgent, Role, Service};
use chaosops_sim::Registry;

use crate::error::RlError;

/// Replica counts offered by `scale` entries, per service.
pub const SCALE_REPLICAS: [i64; 5] = [1, 2, 3, 4, 6];
/// The fixed message of every `communicate` entry.
pub const COMMUNICATE_MESSAGE: &str = "fix applied; services healthy";
/// Recipients of the `communicate` entries: everyone (`None`), then each role in turn order.
pub const COMMUNICATE_RECIPIENTS: [Option<Role>; 5] = [
    None,
    Some(Role::Sre),
    Some(Role::Oversight),
    Some(Role::Dev),
    Some(Role::Manager),
];

/// Index of `noop` (always 0).
pub const NOOP: usize = 0;
const ESCALATE: usize = 1;
const RESOLVE: usize = 2;
const RESTART: usize = 3;
const ROLLBACK: usize = RESTART + Service::COUNT;
const SCALE: usize = ROLLBACK + Service::COUNT;
const FLAG: usize = SCALE + Service::COUNT * SCALE_REPLICAS.len();
const COMMUNICATE: usize = FLAG + 3;
/// Index of the first `identify_root_cause` entry; one entry per registered failure follows.
pub const IDENTIFY: usize = COMMUNICATE + COMMUNICATE_RECIPIENTS.len();

/// The action table of a registry.
///
/// | indices | actions |
/// |---|---|
/// | 0, 1, 2 | `noop`, `escalate`, `resolve` |
/// | 3..7 | `restart` auth, payments, notifications, db |
/// | 7..11 | `rollback` of each service, same order |
/// | 11..31 | `scale` each service (service-major) to 1, 2, 3, 4 or 6 replicas |
/// | 31..34 | `flag_rogue` autoscaler, load_balancer, deploy_bot |
/// | 34..39 | `communicate` [`COMMUNICATE_MESSAGE`] to all, sre, oversight, dev, manager |
/// | 39.. | `identify_root_cause` of each registered failure, sorted by id |
///
/// Everything but the last group is fixed; the last grows with the registry (plugins and
/// packs), so a table is stable for a given registry.
#[derive(Clone, Debug)]
pub struct ActionTable {
    actions: Vec<CheckedAction>,
    names: Vec<String>,
    failures: Vec<&'static str>,
    /// One mask per role (in `Role::index` order).
    masks: [Box<[i8]>; Role::COUNT],
}

impl ActionTable {
    /// The table of every failure in `registry`.
    pub fn new(registry: &Registry) -> Self {
        let mut actions = vec![Action::noop(), Action::escalate(), Action::resolve()];
        let mut names: Vec<String> = vec!["noop".into(), "escalate".into(), "resolve".into()];
        for s in Service::ALL {
            actions.push(Action::restart(*s));
            names.push(format!("restart:{s}"));
        }
        for s in Service::ALL {
            actions.push(Action::rollback(*s));
            names.push(format!("rollback:{s}"));
        }
        for s in Service::ALL {
            for r in SCALE_REPLICAS {
                actions.push(Action::scale(*s, r));
                names.push(format!("scale:{s}:{r}"));
            }
        }
        for a in FleetAgent::ALL {
            actions.push(Action::flag_rogue(*a));
            names.push(format!("flag_rogue:{a}"));
        }
        for to in COMMUNICATE_RECIPIENTS {
            match to {
                None => {
                    actions.push(Action::communicate(COMMUNICATE_MESSAGE));
                    names.push("communicate:all".into());
                }
                Some(role) => {
                    actions.push(Action::communicate_to(role, COMMUNICATE_MESSAGE));
                    names.push(format!("communicate:{role}"));
                }
            }
        }
        let failures: Vec<&'static str> = registry.ids().collect();
        for id in &failures {
            actions.push(Action::identify_root_cause(&FailureId::from_static(id)));
            names.push(format!("identify_root_cause:{id}"));
        }
        let actions: Vec<CheckedAction> = actions
            .into_iter()
            .map(|a| CheckedAction::new(a).expect("the table's actions are within the limits"))
            .collect();
        let n = actions.len();
        // Indexed by `Role::index`: the vector step reads a role's mask with one load.
        let masks = std::array::from_fn(|i| {
            let role = Role::ALL[i];
            debug_assert_eq!(role.index(), i);
            let mut row = vec![1i8; n];
            if role != Role::Manager {
                row[RESOLVE] = 0;
            }
            if role != Role::Oversight {
                row[FLAG..COMMUNICATE].fill(0);
            }
            row.into_boxed_slice()
        });
        ActionTable {
            actions,
            names,
            failures,
            masks,
        }
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Always false: the table has at least the fixed entries.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The action at `index`.
    pub fn decode(&self, index: usize) -> Option<&Action> {
        self.actions.get(index).map(CheckedAction::action)
    }

    /// The action at `index`, or an error naming the index (any integer is accepted as input).
    pub fn get(&self, index: i64) -> Result<&Action, RlError> {
        self.get_checked(index).map(CheckedAction::action)
    }

    /// Like [`get`](Self::get), the action as checked against the limits when the table was
    /// built (the engine plays it without checking again).
    pub fn get_checked(&self, index: i64) -> Result<&CheckedAction, RlError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.actions.get(i))
            .ok_or(RlError::BadActionIndex {
                index,
                len: self.actions.len(),
            })
    }

    /// A short name per entry (`restart:db`, `scale:payments:4`, ...), in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every action, in index order (each derefs to its [`Action`]).
    pub fn actions(&self) -> &[CheckedAction] {
        &self.actions
    }

    /// The index of an entry that has the same effect as `action`, if the table has one.
    /// The claimed role is ignored; `noop`, `escalate` and `resolve` ignore target and arguments.
    pub fn encode(&self, action: &Action) -> Option<usize> {
        let service = || action.target_service().map(Service::index);
        match action.action_type {
            ActionType::Noop => Some(NOOP),
            ActionType::Escalate => Some(ESCALATE),
            ActionType::Resolve => Some(RESOLVE),
            ActionType::Restart => service().map(|s| RESTART + s),
            ActionType::Rollback => service().map(|s| ROLLBACK + s),
            ActionType::Scale => {
                let r = SCALE_REPLICAS
                    .iter()
                    .position(|r| Some(*r) == action.args.replicas)?;
                service().map(|s| SCALE + s * SCALE_REPLICAS.len() + r)
            }
            ActionType::FlagRogue => {
                let name = match action.target.as_deref() {
                    Some(t) if !t.is_empty() => t,
                    _ => action.args.agent_name.as_deref().unwrap_or("").trim(),
                };
                FleetAgent::parse(name).map(|a| FLAG + a.index())
            }
            ActionType::Communicate => {
                let message = action.args.message.as_deref().unwrap_or("").trim();
                if message != COMMUNICATE_MESSAGE {
                    return None;
                }
                let to = action.args.to.as_deref().unwrap_or("").trim();
                COMMUNICATE_RECIPIENTS
                    .iter()
                    .position(|r| match r {
                        None => to.is_empty() || to.eq_ignore_ascii_case("all"),
                        Some(role) => to.eq_ignore_ascii_case(role.as_str()),
                    })
                    .map(|i| COMMUNICATE + i)
            }
            ActionType::IdentifyRootCause => {
                let id = action.args.failure_type.as_deref()?;
                self.failures.binary_search(&id).ok().map(|i| IDENTIFY + i)
            }
        }
    }

    /// What the rules allow `role` to do, one `i8` (0 or 1) per action: everything but
    /// `resolve` (the manager's) and `flag_rogue` (oversight's). The mask says what the rules
    /// allow, not what is wise; a masked action is still accepted and scored as a
    /// miscommunication.
    #[inline]
    pub fn mask(&self, role: Role) -> &[i8] {
        &self.masks[role.index()]
    }
}
