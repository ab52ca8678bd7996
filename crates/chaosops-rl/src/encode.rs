//! The numeric observation: a fixed-length `f32` vector per role, every value in [-1, 1].
//!
//! It is computed from an [`Observation`] alone (the role's view, the turn, the last step's
//! public message and reward) and the episode's step budget, so nothing a role may not see
//! can reach it. Text (logs, alerts, fleet actions, chat) enters as hashed bags of tokens:
//! lower-cased runs of ASCII letters, digits and `_` that are not all digits, hashed with
//! 64-bit FNV-1a into a fixed number of buckets, each bucket counting up to 4 hits.

use chaosops_model::{
    ActionType, Component, FleetAgent, Health, LogLevel, Message, Observation, Role, Service,
    Severity,
};

/// One named, contiguous part of the observation vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Its name.
    pub name: &'static str,
    /// First index.
    pub start: usize,
    /// Number of values.
    pub len: usize,
    /// What the values mean.
    pub doc: &'static str,
}

/// Buckets of the evidence bag (logs, alerts, fleet actions).
pub const EVIDENCE_BUCKETS: usize = 64;
/// Buckets of the chat bag (shared chat and the role's inbox).
pub const CHAT_BUCKETS: usize = 16;
/// Values per service.
const PER_SERVICE: usize = 9;

const fn seg(name: &'static str, start: usize, len: usize, doc: &'static str) -> Segment {
    Segment {
        name,
        start,
        len,
        doc,
    }
}

const ROLE: Segment = seg(
    "role",
    0,
    4,
    "one-hot of the observing role (sre, dev, manager, oversight)",
);
const TURN: Segment = seg("turn", ROLE.start + ROLE.len, 4, "1 when it is the observer's turn; step / max_steps; 1 when the episode is over; 1 when metrics are visible");
const SERVICES: Segment = seg("services", TURN.start + TURN.len, Service::COUNT * PER_SERVICE, "per service (auth, payments, notifications, db): cpu/100, memory/4096, latency/2000, error rate, replicas/8, health one-hot (healthy, degraded, critical, down); zeros when metrics are hidden");
const ALERTS: Segment = seg("alerts", SERVICES.start + SERVICES.len, 10, "visible alerts counted per component (7) and per severity (page, warn, info), each count/4 capped at 1");
const LOGS: Segment = seg("logs", ALERTS.start + ALERTS.len, 28, "visible log lines counted per component (7) x level (INFO, WARN, ERROR, FATAL), count/4 capped at 1");
const EVIDENCE: Segment = seg(
    "evidence",
    LOGS.start + LOGS.len,
    EVIDENCE_BUCKETS,
    "hashed bag of the tokens of visible logs, alerts and fleet actions, count/4 capped at 1",
);
const FLEET: Segment = seg("fleet", EVIDENCE.start + EVIDENCE.len, 12, "visible fleet actions counted per agent (autoscaler, load_balancer, deploy_bot) x target service, count/4 capped at 1 (oversight only)");
const CHAT: Segment = seg(
    "chat",
    FLEET.start + FLEET.len,
    3,
    "shared chat lines/8, inbox messages/8, 1 when a private note is shown",
);
const CHAT_TOKENS: Segment = seg(
    "chat_tokens",
    CHAT.start + CHAT.len,
    CHAT_BUCKETS,
    "hashed bag of the tokens of the visible chat and inbox, count/4 capped at 1",
);
const LAST_ACTION: Segment = seg(
    "last_action",
    CHAT_TOKENS.start + CHAT_TOKENS.len,
    9,
    "one-hot of the last step's action type (zeros at reset)",
);
const LAST_ACTOR: Segment = seg(
    "last_actor",
    LAST_ACTION.start + LAST_ACTION.len,
    4,
    "one-hot of the role that acted last (zeros at reset)",
);
const LAST_FLAGS: Segment = seg("last_flags", LAST_ACTOR.start + LAST_ACTOR.len, 8, "the last step's public outcome: resolved, wrong fix, cascade, rogue caught, false flag, root cause identified, miscommunication, ended unresolved");
const LAST_REWARD: Segment = seg(
    "last_reward",
    LAST_FLAGS.start + LAST_FLAGS.len,
    1,
    "the last step's reward / 200, clipped to [-1, 1]",
);

/// The layout of the observation vector, in order.
pub const LAYOUT: [Segment; 13] = [
    ROLE,
    TURN,
    SERVICES,
    ALERTS,
    LOGS,
    EVIDENCE,
    FLEET,
    CHAT,
    CHAT_TOKENS,
    LAST_ACTION,
    LAST_ACTOR,
    LAST_FLAGS,
    LAST_REWARD,
];

/// Length of the observation vector.
pub const OBS_LEN: usize = LAST_REWARD.start + LAST_REWARD.len;

const TEXT_LEN: usize = EVIDENCE_BUCKETS + CHAT_BUCKETS;

fn capped(count: f32) -> f32 {
    (count / 4.0).min(1.0)
}

fn unit(x: f64) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0) as f32
    }
}

/// FNV-1a over the lower-cased bytes of `token`.
fn fnv1a(token: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in token {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Adds the tokens of `text` to a bag of counts.
fn add_tokens(text: &str, bag: &mut [f32]) {
    let n = bag.len() as u64;
    for token in text
        .as_bytes()
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|t| !t.is_empty() && !t.iter().all(u8::is_ascii_digit))
    {
        bag[(fnv1a(token) % n) as usize] += 1.0;
    }
}

fn finish_bag(bag: &mut [f32]) {
    for v in bag {
        *v = capped(*v);
    }
}

/// Writes the text features (the evidence and chat bags) of `observation` into `out`,
/// which holds [`EVIDENCE_BUCKETS`] + [`CHAT_BUCKETS`] values.
fn encode_text(observation: &Observation<'_>, out: &mut [f32]) {
    out.fill(0.0);
    let (evidence, chat) = out.split_at_mut(EVIDENCE_BUCKETS);
    let view = &observation.view;
    for l in view.visible_logs.iter() {
        add_tokens(l.message, evidence);
    }
    for a in view.visible_alerts {
        add_tokens(&a.message, evidence);
    }
    for a in view.visible_fleet_actions.iter() {
        add_tokens(a.agent_name.as_str(), evidence);
        add_tokens(a.action, evidence);
    }
    for line in view.shared_chat.iter().chain(view.private_inbox) {
        add_tokens(line, chat);
    }
    finish_bag(evidence);
    finish_bag(chat);
}

fn health_slot(h: Health) -> usize {
    h.rank() as usize
}

fn severity_slot(s: Severity) -> usize {
    s.index()
}

fn level_slot(l: LogLevel) -> usize {
    l.index()
}

fn component_slot(c: Component) -> usize {
    c.index()
}

/// Writes everything but the text bags.
fn encode_structured(observation: &Observation<'_>, max_steps: u32, out: &mut [f32]) {
    let view = &observation.view;
    out[ROLE.start + view.role.index()] = 1.0;
    let t = &mut out[TURN.start..TURN.start + TURN.len];
    t[0] = f32::from(u8::from(observation.turn_role == view.role));
    t[1] = if max_steps == 0 {
        0.0
    } else {
        (observation.step as f32 / max_steps as f32).min(1.0)
    };
    t[2] = f32::from(u8::from(observation.done));
    t[3] = f32::from(u8::from(view.visible_metrics.is_some()));
    if let Some(metrics) = view.visible_metrics {
        for (service, m) in metrics.iter() {
            let s = &mut out[SERVICES.start + service.index() * PER_SERVICE..][..PER_SERVICE];
            s[0] = unit(m.cpu_pct / 100.0);
            s[1] = unit(m.memory_mb / 4096.0);
            s[2] = unit(m.latency_ms / 2000.0);
            s[3] = unit(m.error_rate);
            s[4] = unit(f64::from(m.replicas) / 8.0);
            s[5 + health_slot(m.health)] = 1.0;
        }
    }
    let alerts = &mut out[ALERTS.start..ALERTS.start + ALERTS.len];
    for a in view.visible_alerts {
        alerts[component_slot(a.service)] += 1.0;
        alerts[7 + severity_slot(a.severity)] += 1.0;
    }
    finish_bag(alerts);
    let logs = &mut out[LOGS.start..LOGS.start + LOGS.len];
    for l in view.visible_logs.iter() {
        logs[component_slot(l.service) * 4 + level_slot(l.level)] += 1.0;
    }
    finish_bag(logs);
    let fleet = &mut out[FLEET.start..FLEET.start + FLEET.len];
    for a in view.visible_fleet_actions.iter() {
        fleet[a.agent_name.index() * Service::COUNT + a.target.index()] += 1.0;
    }
    finish_bag(fleet);
    let chat = &mut out[CHAT.start..CHAT.start + CHAT.len];
    chat[0] = (view.shared_chat.len() as f32 / 8.0).min(1.0);
    chat[1] = (view.private_inbox.len() as f32 / 8.0).min(1.0);
    chat[2] = f32::from(u8::from(view.private_note.is_some()));
    if let Message::Step {
        actor,
        action_type,
        flags,
        ended_unresolved,
        ..
    } = observation.message
    {
        out[LAST_ACTION.start + action_type.index()] = 1.0;
        out[LAST_ACTOR.start + actor.index()] = 1.0;
        let f = &mut out[LAST_FLAGS.start..LAST_FLAGS.start + LAST_FLAGS.len];
        for (slot, set) in [
            flags.resolved,
            flags.wrong_fix,
            flags.cascade_triggered,
            flags.rogue_flagged_correctly,
            flags.rogue_flagged_incorrectly,
            flags.root_cause_correct,
            flags.miscommunication,
            ended_unresolved,
        ]
        .into_iter()
        .enumerate()
        {
            f[slot] = f32::from(u8::from(set));
        }
        let r = observation.reward / 200.0;
        out[LAST_REWARD.start] = if r.is_nan() {
            0.0
        } else {
            r.clamp(-1.0, 1.0) as f32
        };
    }
}

/// Encodes `observation` into `out` ([`OBS_LEN`] values), from scratch.
///
/// # Panics
/// When `out` is not [`OBS_LEN`] long.
pub fn encode_observation(observation: &Observation<'_>, max_steps: u32, out: &mut [f32]) {
    assert_eq!(out.len(), OBS_LEN, "observation buffer length");
    let mut cache = TextCache::default();
    cache.encode(observation, max_steps, [0; 5], out);
}

/// Lengths of the state's append-only lists that a role's text features depend on.
pub(crate) type TextKey = [usize; 5];

/// The text bags of one role, kept while the lists they were computed from do not grow.
///
/// The engine only appends to logs, alerts, fleet actions, chat and inboxes during an
/// episode, so their lengths identify their content; [`TextCache::clear`] must be called at
/// every reset.
#[derive(Clone, Debug)]
pub(crate) struct TextCache {
    key: Option<TextKey>,
    bags: [f32; TEXT_LEN],
}

impl Default for TextCache {
    fn default() -> Self {
        TextCache {
            key: None,
            bags: [0.0; TEXT_LEN],
        }
    }
}

impl TextCache {
    /// Forgets the cached bags.
    pub(crate) fn clear(&mut self) {
        self.key = None;
    }

    /// Encodes like [`encode_observation`], reusing the text bags when `key` is unchanged.
    pub(crate) fn encode(
        &mut self,
        observation: &Observation<'_>,
        max_steps: u32,
        key: TextKey,
        out: &mut [f32],
    ) {
        assert_eq!(out.len(), OBS_LEN, "observation buffer length");
        if self.key != Some(key) {
            encode_text(observation, &mut self.bags);
            self.key = Some(key);
        }
        out.fill(0.0);
        encode_structured(observation, max_steps, out);
        out[EVIDENCE.start..EVIDENCE.start + EVIDENCE.len]
            .copy_from_slice(&self.bags[..EVIDENCE_BUCKETS]);
        out[CHAT_TOKENS.start..CHAT_TOKENS.start + CHAT_TOKENS.len]
            .copy_from_slice(&self.bags[EVIDENCE_BUCKETS..]);
    }
}

/// The role one-hot order of [`LAYOUT`]'s `role` segment.
pub const ROLE_ORDER: [Role; 4] = [Role::Sre, Role::Dev, Role::Manager, Role::Oversight];
/// The action-type order of the `last_action` segment.
pub const ACTION_TYPE_ORDER: &[ActionType] = ActionType::ALL;
/// The fleet-agent order of the `fleet` segment.
pub const FLEET_AGENT_ORDER: &[FleetAgent] = FleetAgent::ALL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_contiguous() {
        let mut next = 0;
        for s in LAYOUT {
            assert_eq!(s.start, next, "{}", s.name);
            next += s.len;
        }
        assert_eq!(next, OBS_LEN);
        assert_eq!(ROLE_ORDER.map(Role::index), [0, 1, 2, 3]);
    }

    #[test]
    fn tokens_skip_numbers_and_fold_case() {
        let mut a = [0.0f32; 16];
        let mut b = [0.0f32; 16];
        add_tokens("Deadlock detected on txn 42", &mut a);
        add_tokens("deadlock DETECTED on txn 7", &mut b);
        assert_eq!(a, b);
        assert_eq!(a.iter().sum::<f32>(), 4.0);
    }
}
