//! Episode starts seen before, kept per thread.
//!
//! A learner plays many short episodes, and most of them start from lists (logs, alerts,
//! fleet actions, chat, inboxes) that an earlier episode started from: a scenario type's
//! injection writes the same lines every time, and decoys are drawn from four templates (the
//! reference scenarios have 263 distinct starts). Each role's first observation of an
//! episode is where its list-derived values are computed, about a quarter of the vector
//! step's work; they are kept here by the content of the lists they came from, and given to
//! an episode whose lists are equal.
//!
//! Exact: the values are functions of the roles' views, and the views of the lists alone
//! (every projection must declare [`chaosops_sim::RoleProjection::view_follows_lists`], which
//! the encoder's own cache requires too), so equal lists give equal values. Lists are compared
//! item by item, every field, not by a hash; a text compares by address first (a borrowed
//! `Cow<'static, str>` is `'static` and cannot change), by content otherwise. The projections
//! are the registry's, so the registry is part of what is compared.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use chaosops_model::{Alert, FleetAction, LogLine, Role, State};
use chaosops_sim::Registry;

use crate::encode::{line_hash, Encoder, PassThrough, StartBlocks};

/// Most starts a thread keeps (each about 2.7 KB with its lists); past it, it starts over.
pub(crate) const MAX_STARTS: usize = 1024;

thread_local! {
    static STARTS: RefCell<Starts> = RefCell::new(Starts::default());
}

/// The state's lists at one start, kept.
#[derive(Debug)]
struct Lists {
    logs: Vec<LogLine>,
    alerts: Vec<Alert>,
    fleet: Vec<FleetAction>,
    chat: Vec<String>,
    inboxes: [Vec<String>; Role::COUNT],
}

impl Lists {
    fn of(state: &State) -> Self {
        Lists {
            logs: state.all_logs.clone(),
            alerts: state.all_alerts.clone(),
            fleet: state.fleet_actions.clone(),
            chat: state.chat_history.clone(),
            inboxes: Role::TURN_ORDER.map(|r| state.private_chat.of(r).to_vec()),
        }
    }

    /// True when `state`'s lists equal these, every field of every item.
    fn same_as(&self, state: &State) -> bool {
        same_items(&self.logs, &state.all_logs, |a, b| {
            a.timestamp.to_bits() == b.timestamp.to_bits()
                && a.service == b.service
                && a.level == b.level
                && a.is_red_herring == b.is_red_herring
                && same_text(&a.message, &b.message)
        }) && same_items(&self.alerts, &state.all_alerts, |a, b| {
            a.service == b.service
                && a.severity == b.severity
                && a.triggered_at_step == b.triggered_at_step
                && same_text(&a.message, &b.message)
        }) && same_items(&self.fleet, &state.fleet_actions, |a, b| {
            a.agent_name == b.agent_name
                && a.target == b.target
                && a.step == b.step
                && a.was_malicious == b.was_malicious
                && same_text(&a.action, &b.action)
        }) && self.chat == state.chat_history
            && Role::TURN_ORDER
                .iter()
                .zip(&self.inboxes)
                .all(|(r, kept)| kept.as_slice() == state.private_chat.of(*r))
    }
}

fn same_items<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// Equal texts: two live texts at the same address and of the same length are equal without
/// reading them.
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// What a text adds to a fingerprint: a borrowed text its address (it is `'static`, so the
/// address names it for good), an owned one its content.
// The `Cow` itself, not its text: whether it borrows is what tells the two apart.
#[allow(clippy::ptr_arg)]
#[inline]
fn text_id(t: &Cow<'static, str>) -> u64 {
    match t {
        Cow::Borrowed(s) => s.as_ptr() as u64 ^ ((s.len() as u64) << 48),
        Cow::Owned(s) => line_hash(s.as_bytes()),
    }
}

/// A hash that equal lists share, unless one text is borrowed from two places (then the two
/// starts are kept apart: a miss, never a wrong value).
fn fingerprint(state: &State, registry: usize) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = registry as u64;
    let mut add = |w: u64| h = (h.rotate_left(23) ^ w).wrapping_mul(K);
    add(state.all_logs.len() as u64);
    for l in &state.all_logs {
        add(text_id(&l.message)
            ^ (l.service.index() as u64) << 56
            ^ (l.level.index() as u64) << 60);
        add(l.timestamp.to_bits() ^ u64::from(l.is_red_herring));
    }
    add(state.all_alerts.len() as u64);
    for a in &state.all_alerts {
        add(text_id(&a.message)
            ^ (a.service.index() as u64) << 56
            ^ (a.severity.index() as u64) << 60);
        add(u64::from(a.triggered_at_step));
    }
    add(state.fleet_actions.len() as u64);
    for f in &state.fleet_actions {
        add(text_id(&f.action)
            ^ (f.agent_name.index() as u64) << 56
            ^ (f.target.index() as u64) << 60);
        add(u64::from(f.step) << 1 | u64::from(f.was_malicious));
    }
    add(state.chat_history.len() as u64);
    for r in Role::TURN_ORDER {
        add(state.private_chat.of(r).len() as u64);
    }
    h ^ (h >> 31)
}

struct Start {
    registry: usize,
    lists: Lists,
    blocks: StartBlocks,
}

/// The starts one thread has seen, by fingerprint.
#[derive(Default)]
struct Starts {
    by_print: HashMap<u64, Vec<Start>, BuildHasherDefault<PassThrough>>,
    count: usize,
    /// Starts found and starts computed, for tests.
    #[cfg(test)]
    tally: (usize, usize),
}

impl Starts {
    fn find(&self, print: u64, registry: usize, state: &State) -> Option<&StartBlocks> {
        self.by_print
            .get(&print)?
            .iter()
            .find(|s| s.registry == registry && s.lists.same_as(state))
            .map(|s| &s.blocks)
    }

    fn keep(&mut self, print: u64, registry: usize, state: &State, blocks: StartBlocks) {
        if self.count >= MAX_STARTS {
            self.by_print.clear();
            self.count = 0;
        }
        self.by_print.entry(print).or_default().push(Start {
            registry,
            lists: Lists::of(state),
            blocks,
        });
        self.count += 1;
    }
}

/// Primes `encoder` (cleared for an episode just reset, whose state is `state`) with every
/// role's values from a start seen before with the same lists; else runs `encode_all`, which
/// must encode every role once, and keeps what it left when every role's values were kept.
pub(crate) fn prime(
    encoder: &mut Encoder,
    state: &State,
    registry: &'static Registry,
    encode_all: impl FnOnce(&mut Encoder),
) {
    let registry = std::ptr::from_ref(registry) as usize;
    let print = fingerprint(state, registry);
    STARTS.with(|starts| {
        let Ok(mut starts) = starts.try_borrow_mut() else {
            // Re-entered on this thread (cannot happen from the engine): the roles are
            // encoded when they are first observed, exactly as well.
            return;
        };
        if let Some(blocks) = starts.find(print, registry, state) {
            encoder.load_start(blocks);
            #[cfg(test)]
            {
                starts.tally.0 += 1;
            }
            return;
        }
        #[cfg(test)]
        {
            starts.tally.1 += 1;
        }
        encode_all(encoder);
        if let Some(blocks) = encoder.start_blocks() {
            starts.keep(print, registry, state, blocks);
        }
    });
}

/// This thread's starts found and computed so far.
#[cfg(test)]
pub(crate) fn tally() -> (usize, usize) {
    STARTS.with(|s| s.borrow().tally)
}

#[cfg(test)]
mod tests {
    use chaosops_model::{Difficulty, FailureId, LogLevel, Service, Severity, Uuid};

    use super::*;

    fn state() -> State {
        let mut s = State::new(
            Uuid::nil(),
            FailureId::DB_DEADLOCK,
            Difficulty::Hard,
            20,
            None,
        );
        s.emit_log(Service::Db, LogLevel::Error, "deadlock detected");
        s.emit_decoy_log(
            Service::Auth,
            LogLevel::Info,
            "routine token rotation finished",
        );
        s.emit_alert(Service::Db, Severity::Page, "db down");
        s.emit_log(
            Service::Payments,
            LogLevel::Warn,
            Cow::Owned(format!("owned {}", 7)),
        );
        s.chat_history.push("[sre] looking".into());
        s.private_chat.push(Role::Dev, "[sre -> dev] hi".into());
        s
    }

    #[test]
    fn lists_compare_every_field_and_texts_by_content() {
        let kept = Lists::of(&state());
        assert!(kept.same_as(&state()));
        // The same texts at other addresses: equal (by content), though the fingerprints
        // may differ (then the start is only computed again).
        let mut moved = state();
        for l in &mut moved.all_logs {
            l.message = Cow::Owned(l.message.to_string());
        }
        assert!(kept.same_as(&moved));
        type Change = (&'static str, fn(&mut State));
        let changes: [Change; 10] = [
            ("timestamp", |s| s.all_logs[0].timestamp = 0.5),
            ("level", |s| s.all_logs[0].level = LogLevel::Fatal),
            ("decoy flag", |s| s.all_logs[1].is_red_herring = false),
            ("owned text", |s| {
                s.all_logs[2].message = Cow::Owned("owned 8".into())
            }),
            ("borrowed text", |s| {
                s.all_logs[0].message = Cow::Borrowed("deadlock detectee")
            }),
            ("alert step", |s| s.all_alerts[0].triggered_at_step = 3),
            ("a log more", |s| {
                s.emit_log(Service::Db, LogLevel::Info, "x")
            }),
            ("fleet", |s| {
                s.fleet_actions.push(FleetAction {
                    agent_name: chaosops_model::FleetAgent::DeployBot,
                    action: Cow::Borrowed("push"),
                    target: Service::Auth,
                    step: 0,
                    was_malicious: false,
                })
            }),
            ("chat", |s| s.chat_history[0] = "[sre] lookinG".into()),
            ("inbox", |s| {
                s.private_chat = Default::default();
                s.private_chat.push(Role::Manager, "[sre -> dev] hi".into());
            }),
        ];
        let print = fingerprint(&state(), 1);
        assert_eq!(fingerprint(&state(), 1), print);
        assert_ne!(fingerprint(&state(), 2), print, "the registry");
        for (what, change) in changes {
            let mut other = state();
            change(&mut other);
            assert!(!kept.same_as(&other), "{what}");
            // The fingerprint reads chat and inboxes by length only (they are empty at the
            // starts of the built-in scenarios); the comparison reads them whole.
            if what != "chat" {
                assert_ne!(fingerprint(&other, 1), print, "{what}");
            }
        }
    }

    #[test]
    fn a_full_cache_starts_over() {
        let mut starts = Starts::default();
        let blocks = || {
            let mut e = Encoder::default();
            e.load_start(&StartBlocks::empty());
            e.start_blocks().unwrap()
        };
        for k in 0..MAX_STARTS + 1 {
            let mut s = state();
            s.all_alerts[0].triggered_at_step = k as u32;
            let print = fingerprint(&s, 1);
            starts.keep(print, 1, &s, blocks());
            assert!(starts.find(print, 1, &s).is_some());
        }
        assert_eq!(starts.count, 1);
        assert_eq!(starts.by_print.len(), 1);
    }
}
