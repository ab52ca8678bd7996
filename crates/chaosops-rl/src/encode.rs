//! The numeric observation: a fixed-length `f32` vector per role, every value in [-1, 1].
//!
//! It is computed from an [`Observation`] alone (the role's view, the turn, the last step's
//! public message and reward) and the episode's step budget, so nothing a role may not see
//! can reach it. Text (logs, alerts, fleet actions, chat) enters as hashed bags of tokens:
//! lower-cased runs of ASCII letters, digits and `_` that are not all digits, hashed with
//! 64-bit FNV-1a into a fixed number of buckets, each bucket counting up to 4 hits.

use chaosops_model::{
    Message, Observation, ObservationCommon, Role, RoleView, Service, Services, State,
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

/// FNV-1a over the lower-cased bytes of `token`.
fn fnv1a(token: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in token {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Adds the tokens of `text` to a bag of counts, whose length divides [`EVIDENCE_BUCKETS`]
/// (a token's chat bucket is its evidence bucket folded: both are powers of two).
fn add_tokens(text: &str, bag: &mut [f32]) {
    let mask = bag.len() - 1;
    token_buckets(text, |b| bag[usize::from(b) & mask] += 1.0);
}

/// Calls `f` with the evidence bucket (`hash mod EVIDENCE_BUCKETS`) of each token of `text`.
fn token_buckets(text: &str, mut f: impl FnMut(u8)) {
    for token in text
        .as_bytes()
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|t| !t.is_empty() && !t.iter().all(u8::is_ascii_digit))
    {
        f((fnv1a(token) % EVIDENCE_BUCKETS as u64) as u8);
    }
}

/// A fast hash of a whole line, to find it in the memo (collisions are checked).
pub(crate) fn line_hash(text: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = text.len() as u64;
    let mut chunks = text.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    h ^ (h >> 29)
}

/// A hasher for keys that are already well-mixed hashes.
#[derive(Clone, Copy, Default)]
pub(crate) struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Clone, Copy, Debug)]
struct MemoEntry {
    text: (u32, u32),
}

/// The token counts of one line per evidence bucket, saturating (only counts up to 4 matter).
type Bag = [u8; EVIDENCE_BUCKETS];

/// Adds `line`'s bag to `bag`, saturating.
#[inline]
fn add_bag(bag: &mut Bag, line: &Bag) {
    for (b, l) in bag.iter_mut().zip(line) {
        *b = b.saturating_add(*l);
    }
}

/// The bag of `text`, tokenised.
fn bag_of(text: &str) -> Bag {
    let mut bag = [0u8; EVIDENCE_BUCKETS];
    token_buckets(text, |b| {
        let v = &mut bag[usize::from(b)];
        *v = v.saturating_add(1);
    });
    bag
}

/// Most lines a memo keeps before it starts over.
const MEMO_MAX_LINES: usize = 4096;
/// Most text bytes a memo keeps before it starts over.
const MEMO_MAX_BYTES: usize = 1 << 18;

/// Slots of the memo's address table (a power of two).
const MEMO_SLOTS: usize = 1024;

/// The token bags of lines already seen, so each distinct line is tokenized once per
/// thread rather than once per role and episode. Exact: a hit compares the line's bytes.
/// Bounded: past [`MEMO_MAX_LINES`] lines or [`MEMO_MAX_BYTES`] bytes it starts over.
///
/// A line is looked up first by its address (a direct-mapped table: the engine's fixed lines
/// live at fixed addresses, so most lookups end there without hashing the text), then by a
/// hash of its text.
#[derive(Clone, Debug)]
pub(crate) struct TokenMemo {
    /// Address-keyed slots: (address, length, entry + 1); 0 marks an empty slot.
    by_address: Box<[(usize, u32, u32); MEMO_SLOTS]>,
    index: std::collections::HashMap<u64, u32, std::hash::BuildHasherDefault<PassThrough>>,
    entries: Vec<MemoEntry>,
    /// The bag of each entry.
    bags: Vec<Bag>,
    text: Vec<u8>,
}

impl Default for TokenMemo {
    fn default() -> Self {
        TokenMemo {
            by_address: Box::new([(0, 0, 0); MEMO_SLOTS]),
            index: Default::default(),
            entries: Vec::new(),
            bags: Vec::new(),
            text: Vec::new(),
        }
    }
}

impl TokenMemo {
    /// Adds the tokens of `line` to `bag`, whose length divides [`EVIDENCE_BUCKETS`].
    #[cfg(test)]
    fn add(&mut self, line: &str, bag: &mut [f32]) {
        let mask = bag.len() - 1;
        let mut counts = [0u8; EVIDENCE_BUCKETS];
        self.add_to(line, &mut counts);
        for (b, c) in counts.iter().enumerate() {
            bag[b & mask] += f32::from(*c);
        }
    }

    /// The memo entry `i` if it holds exactly `bytes`.
    #[inline]
    fn entry_of(&self, i: u32, bytes: &[u8]) -> Option<u32> {
        let e = *self.entries.get(i as usize)?;
        let (ts, tl) = (e.text.0 as usize, e.text.1 as usize);
        (self.text[ts..ts + tl] == *bytes).then_some(i)
    }

    /// Adds the bag of `line` (its tokens per evidence bucket) to `bag`, saturating.
    fn add_to(&mut self, line: &str, bag: &mut Bag) {
        let bytes = line.as_bytes();
        let address = bytes.as_ptr() as usize;
        let slot = (address >> 3 ^ address >> 13) & (MEMO_SLOTS - 1);
        let (a, l, e) = self.by_address[slot];
        let found = if e != 0 && a == address && l as usize == bytes.len() {
            self.entry_of(e - 1, bytes)
        } else {
            None
        };
        let found = found.or_else(|| {
            let i = *self.index.get(&line_hash(bytes))?;
            let i = self.entry_of(i, bytes)?;
            self.by_address[slot] = (address, bytes.len() as u32, i + 1);
            Some(i)
        });
        if let Some(i) = found {
            add_bag(bag, &self.bags[i as usize]);
            return;
        }
        let line_bag = bag_of(line);
        add_bag(bag, &line_bag);
        let h = line_hash(bytes);
        if self.index.contains_key(&h) || bytes.len() > MEMO_MAX_BYTES / 16 {
            // A different line with the same hash, or a huge one: counted, not memoised.
            return;
        }
        if self.entries.len() >= MEMO_MAX_LINES || self.text.len() + bytes.len() > MEMO_MAX_BYTES {
            self.index.clear();
            self.entries.clear();
            self.bags.clear();
            self.text.clear();
            self.by_address.fill((0, 0, 0));
        }
        let text_start = self.text.len();
        self.text.extend_from_slice(bytes);
        let i = self.entries.len() as u32;
        self.index.insert(h, i);
        self.by_address[slot] = (address, bytes.len() as u32, i + 1);
        self.entries.push(MemoEntry {
            text: (text_start as u32, bytes.len() as u32),
        });
        self.bags.push(line_bag);
    }
}

fn finish_bag(bag: &mut [f32]) {
    for v in bag {
        *v = capped(*v);
    }
}

/// Writes the text features (the evidence and chat bags) of `observation` into `out`,
/// which holds [`EVIDENCE_BUCKETS`] + [`CHAT_BUCKETS`] values, tokenising every line.
fn encode_text(observation: &Observation<'_>, out: &mut [f32]) {
    let add = add_tokens;
    out.fill(0.0);
    let (evidence, chat) = out.split_at_mut(EVIDENCE_BUCKETS);
    let view = &observation.view;
    for l in view.visible_logs.iter() {
        add(l.message, evidence);
    }
    for a in view.visible_alerts {
        add(&a.message, evidence);
    }
    for a in view.visible_fleet_actions.iter() {
        add(a.agent_name.as_str(), evidence);
        add(a.action, evidence);
    }
    for line in view.shared_chat.iter().chain(view.private_inbox) {
        add(line, chat);
    }
    finish_bag(evidence);
    finish_bag(chat);
}

/// `count / 4` capped at 1, for the small counts of alerts, logs and fleet actions.
const CAPPED: [f32; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

fn capped_count(count: u8) -> f32 {
    CAPPED[usize::from(count.min(4))]
}

/// `x` in [0, 1] as f32 (NaN as 0: `f32::max` returns the other operand for NaN, where
/// `clamp` would keep the NaN; this compiles to one `maxss` and one `minss`).
#[allow(clippy::manual_clamp)]
#[inline]
fn unit(x: f64) -> f32 {
    (x as f32).max(0.0).min(1.0)
}

/// `replicas / 8` capped at 1, in f32 directly: up to 8 both the f32 and the f64 product are
/// exact, past it both cap at 1, so this is `unit(f64::from(replicas) / 8)` in fewer steps.
#[inline]
fn replicas_value(replicas: u32) -> f32 {
    (replicas as f32 * (1.0 / 8.0)).min(1.0)
}

/// `x` in [-1, 1] as f32 (NaN as -1, see [`unit()`]).
#[allow(clippy::manual_clamp)]
#[inline]
fn signed_unit(x: f64) -> f32 {
    (x as f32).max(-1.0).min(1.0)
}

fn one_hot(out: &mut [f32], hot: Option<usize>) {
    out.fill(0.0);
    if let Some(v) = hot.and_then(|h| out.get_mut(h)) {
        *v = 1.0;
    }
}

/// `count / 8` capped at 1 (capped first: a `u8` converts in one instruction, a `usize` needs
/// a branch for values past `i64::MAX`).
#[inline]
fn eighths(count: usize) -> f32 {
    f32::from(count.min(8) as u8) * 0.125
}

#[inline]
fn flag(b: bool) -> f32 {
    f32::from(u8::from(b))
}

/// What the per-turn values need of a role's view: whether it shows the metrics, how many
/// chat lines and inbox messages it shows, whether it shows a private note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ViewFacts {
    role: Role,
    metrics: bool,
    chat: usize,
    inbox: usize,
    note: bool,
}

impl ViewFacts {
    #[inline]
    fn of(view: &RoleView<'_>) -> Self {
        ViewFacts {
            role: view.role,
            metrics: view.visible_metrics.is_some(),
            chat: view.shared_chat.len(),
            inbox: view.private_inbox.len(),
            note: view.private_note.is_some(),
        }
    }
}

/// Writes the values that can change every turn: role, turn, services, chat counts and
/// the last step; each slot exactly once. `metrics` are the view's (None when hidden).
fn encode_turn(
    view: &ViewFacts,
    metrics: Option<&Services>,
    observation: &ObservationCommon<'_>,
    max_steps: u32,
    out: &mut [f32; OBS_LEN],
) {
    one_hot(
        &mut out[ROLE.start..ROLE.start + ROLE.len],
        Some(view.role.index()),
    );
    out[TURN.start] = flag(observation.turn_role == view.role);
    out[TURN.start + 1] = if max_steps == 0 {
        0.0
    } else {
        (observation.step as f32 / max_steps as f32).min(1.0)
    };
    out[TURN.start + 2] = flag(observation.done);
    out[TURN.start + 3] = flag(metrics.is_some());
    let services: &mut [f32; SERVICES.len] = (&mut out
        [SERVICES.start..SERVICES.start + SERVICES.len])
        .try_into()
        .expect("services segment");
    match metrics {
        Some(metrics) => {
            for (s, m) in services.chunks_exact_mut(PER_SERVICE).zip(metrics.0.iter()) {
                let s: &mut [f32; PER_SERVICE] = s.try_into().expect("per service");
                // cpu/100, memory/4096, latency/2000, error rate (one packed multiply).
                const SCALE: [f64; 4] = [1.0 / 100.0, 1.0 / 4096.0, 1.0 / 2000.0, 1.0];
                let values = [m.cpu_pct, m.memory_mb, m.latency_ms, m.error_rate];
                for ((o, v), k) in s[..4].iter_mut().zip(values).zip(SCALE) {
                    *o = unit(v * k);
                }
                s[4] = replicas_value(m.replicas);
                one_hot(&mut s[5..9], Some(usize::from(m.health.rank())));
            }
        }
        None => services.fill(0.0),
    }
    out[CHAT.start] = eighths(view.chat);
    out[CHAT.start + 1] = eighths(view.inbox);
    out[CHAT.start + 2] = flag(view.note);
    let last: &mut [f32; LAST_LEN] = (&mut out[LAST_ACTION.start..OBS_LEN])
        .try_into()
        .expect("last-step segments");
    last.fill(0.0);
    if let Message::Step {
        actor,
        action_type,
        flags,
        ended_unresolved,
        ..
    } = observation.message
    {
        let (action, rest) = last.split_at_mut(LAST_ACTION.len);
        let (actor_out, rest) = rest.split_at_mut(LAST_ACTOR.len);
        if let Some(v) = action.get_mut(action_type.index()) {
            *v = 1.0;
        }
        if let Some(v) = actor_out.get_mut(actor.index()) {
            *v = 1.0;
        }
        let values = [
            flags.resolved,
            flags.wrong_fix,
            flags.cascade_triggered,
            flags.rogue_flagged_correctly,
            flags.rogue_flagged_incorrectly,
            flags.root_cause_correct,
            flags.miscommunication,
            ended_unresolved,
        ];
        // The segment is zeroed above and flags are rarely set: a store per set flag costs
        // less than assembling the eight bytes into a vector for one conversion.
        for (o, f) in rest.iter_mut().zip(values) {
            if f {
                *o = 1.0;
            }
        }
        rest[LAST_FLAGS.len] = signed_unit(observation.reward * (1.0 / 200.0));
    }
}

/// The last-step segments, which close the vector.
const LAST_LEN: usize = LAST_ACTION.len + LAST_ACTOR.len + LAST_FLAGS.len + LAST_REWARD.len;
const _: () = assert!(LAST_ACTION.start + LAST_LEN == OBS_LEN);

/// Writes the values derived from the visible lists (alert, log and fleet counts) into
/// `out`, the `ALERTS`..`FLEET` block.
fn encode_lists(view: &chaosops_model::RoleView<'_>, out: &mut [f32]) {
    let base = ALERTS.start;
    let mut alerts = [0u8; 10];
    for a in view.visible_alerts {
        alerts[a.service.index()] = alerts[a.service.index()].saturating_add(1);
        alerts[7 + a.severity.index()] = alerts[7 + a.severity.index()].saturating_add(1);
    }
    for (o, c) in out[ALERTS.start - base..ALERTS.start - base + ALERTS.len]
        .iter_mut()
        .zip(alerts)
    {
        *o = capped_count(c);
    }
    let mut logs = [0u8; 28];
    for l in view.visible_logs.iter() {
        let slot = l.service.index() * 4 + l.level.index();
        logs[slot] = logs[slot].saturating_add(1);
    }
    for (o, c) in out[LOGS.start - base..LOGS.start - base + LOGS.len]
        .iter_mut()
        .zip(logs)
    {
        *o = capped_count(c);
    }
    let mut fleet = [0u8; 12];
    for a in view.visible_fleet_actions.iter() {
        let slot = a.agent_name.index() * Service::COUNT + a.target.index();
        fleet[slot] = fleet[slot].saturating_add(1);
    }
    for (o, c) in out[FLEET.start - base..FLEET.start - base + FLEET.len]
        .iter_mut()
        .zip(fleet)
    {
        *o = capped_count(c);
    }
}

/// Encodes `observation` into `out` ([`OBS_LEN`] values), from scratch.
///
/// # Panics
/// When `out` is not [`OBS_LEN`] long.
pub fn encode_observation(observation: &Observation<'_>, max_steps: u32, out: &mut [f32]) {
    let out: &mut [f32; OBS_LEN] = out.try_into().expect("observation buffer length");
    let mut block = [0.0f32; BLOCK_LEN];
    fill_block(observation, &mut block);
    let view = &observation.view;
    encode_turn(
        &ViewFacts::of(view),
        view.visible_metrics,
        &observation.common(),
        max_steps,
        out,
    );
    write_block(&block, out);
}

/// The list-derived values: `ALERTS`..`FLEET` (alert, log, evidence and fleet values), then
/// `CHAT_TOKENS`.
const BLOCK_LEN: usize = FLEET.start + FLEET.len - ALERTS.start + CHAT_TOKENS.len;
const MAIN_LEN: usize = FLEET.start + FLEET.len - ALERTS.start;

fn fill_block(observation: &Observation<'_>, block: &mut [f32; BLOCK_LEN]) {
    let (main, chat) = block.split_at_mut(MAIN_LEN);
    encode_lists(&observation.view, main);
    let mut bags = [0.0f32; TEXT_LEN];
    encode_text(observation, &mut bags);
    main[EVIDENCE.start - ALERTS.start..EVIDENCE.start - ALERTS.start + EVIDENCE.len]
        .copy_from_slice(&bags[..EVIDENCE_BUCKETS]);
    chat.copy_from_slice(&bags[EVIDENCE_BUCKETS..]);
}

fn write_block(block: &[f32; BLOCK_LEN], out: &mut [f32; OBS_LEN]) {
    out[ALERTS.start..FLEET.start + FLEET.len].copy_from_slice(&block[..MAIN_LEN]);
    out[CHAT_TOKENS.start..CHAT_TOKENS.start + CHAT_TOKENS.len].copy_from_slice(&block[MAIN_LEN..]);
}

/// The identity of one visible list: the address and length of the slice a view shows.
type SliceId = (usize, usize);

/// What a role's list-derived values are computed from: the identity of each slice its view
/// shows (logs, alerts, fleet actions, chat, inbox).
type ListKey = [SliceId; 5];

/// A slice's identity, every empty slice the same (so roles whose views differ only in which
/// empty list they show share their values).
#[inline]
fn slice_id((ptr, len): SliceId) -> SliceId {
    (if len == 0 { 0 } else { ptr }, len)
}

fn list_key(view: &RoleView<'_>) -> ListKey {
    [
        slice_id(view.visible_logs.slice_id()),
        slice_id((
            view.visible_alerts.as_ptr() as usize,
            view.visible_alerts.len(),
        )),
        slice_id(view.visible_fleet_actions.slice_id()),
        slice_id((view.shared_chat.as_ptr() as usize, view.shared_chat.len())),
        slice_id((
            view.private_inbox.as_ptr() as usize,
            view.private_inbox.len(),
        )),
    ]
}

/// `a == b`, without the `memcmp` call the array comparison becomes (this runs every step).
#[inline]
fn same_key(a: &ListKey, b: &ListKey) -> bool {
    a.iter()
        .zip(b)
        .fold(0, |acc, (x, y)| acc | (x.0 ^ y.0) | (x.1 ^ y.1))
        == 0
}

/// The counts one visible list contributes: its per-slot counts (alerts: component then
/// severity; logs: component x level; fleet: agent x service) and its token bag per
/// evidence bucket (the chat lists' bags are folded to [`CHAT_BUCKETS`] when a block is
/// built). Saturating: only counts up to 4 matter.
#[derive(Clone, Copy, Debug)]
struct Part {
    counts: [u8; 28],
    bag: Bag,
}

const EMPTY_PART: Part = Part {
    counts: [0; 28],
    bag: [0; EVIDENCE_BUCKETS],
};

impl Part {
    fn count(&mut self, slot: usize) {
        self.counts[slot] = self.counts[slot].saturating_add(1);
    }

    fn tokens(&mut self, line: &str, memo: &mut TokenMemo) {
        memo.add_to(line, &mut self.bag);
    }
}

/// The visible lists, in [`ListKey`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum List {
    Logs,
    Alerts,
    Fleet,
    Chat,
    Inbox,
}

const LISTS: [List; 5] = [
    List::Logs,
    List::Alerts,
    List::Fleet,
    List::Chat,
    List::Inbox,
];

fn compute_part(list: List, view: &RoleView<'_>, memo: &mut TokenMemo, part: &mut Part) {
    match list {
        List::Logs => {
            for l in view.visible_logs.iter() {
                part.count(l.service.index() * 4 + l.level.index());
                part.tokens(l.message, memo);
            }
        }
        List::Alerts => {
            for a in view.visible_alerts {
                part.count(a.service.index());
                part.count(7 + a.severity.index());
                part.tokens(&a.message, memo);
            }
        }
        List::Fleet => {
            for a in view.visible_fleet_actions.iter() {
                part.count(a.agent_name.index() * Service::COUNT + a.target.index());
                part.tokens(a.agent_name.as_str(), memo);
                part.tokens(a.action, memo);
            }
        }
        List::Chat | List::Inbox => {
            let lines = if list == List::Chat {
                view.shared_chat
            } else {
                view.private_inbox
            };
            for line in lines {
                part.tokens(line, memo);
            }
        }
    }
}

/// Most list parts an encoder keeps between list changes (a view shows 5 lists; the four
/// roles share most of them).
const MAX_PARTS: usize = 12;

/// The list-derived values of one role, kept while the slices its view shows stay the same.
#[derive(Clone, Debug)]
pub(crate) struct RoleBlock {
    key: Option<ListKey>,
    /// The view's facts, kept while the generation holds when the role's projection follows
    /// the lists ([`chaosops_sim::RoleProjection::view_follows_lists`]): the view is then
    /// the same until a list grows, and an encoding needs no projection.
    facts: Option<ViewFacts>,
    block: [f32; BLOCK_LEN],
}

impl Default for RoleBlock {
    fn default() -> Self {
        RoleBlock {
            key: None,
            facts: None,
            block: [0.0; BLOCK_LEN],
        }
    }
}

impl RoleBlock {
    /// Writes the observation from the kept view facts and block, the state's metrics when
    /// the view shows them, and `common`: what [`Encoder::encode`] would write.
    #[inline(always)]
    pub(crate) fn write(
        &self,
        facts: &ViewFacts,
        state: &State,
        common: &ObservationCommon<'_>,
        out: &mut [f32; OBS_LEN],
    ) {
        let metrics = facts.metrics.then_some(&state.services);
        encode_turn(facts, metrics, common, state.max_steps, out);
        write_block(&self.block, out);
    }
}

/// The cached observation encoder of one environment: exact (it writes what
/// [`encode_observation`] writes) and cheap when the lists a role sees have not changed.
///
/// Each role's list-derived values (alert, log, fleet and token counts) are kept with the
/// identity of the slices they came from, and each visible list's counts are kept once for
/// every role that sees it. Sound because the engine only appends to its lists during an
/// episode: the caller passes the total length of the state's lists (`generation`), and while
/// it is unchanged no list has grown or moved, so a slice with the same address and length has
/// the same content. [`Encoder::clear`] must be called at every reset (a new episode's lists
/// reuse the old addresses).
#[derive(Clone, Debug, Default)]
pub(crate) struct Encoder {
    generation: usize,
    roles: [RoleBlock; Role::COUNT],
    parts: Vec<(List, SliceId, Part)>,
}

/// Every role's list-derived values and view facts at an episode's start, for another
/// episode whose lists are the same (see `crate::starts`).
#[derive(Clone, Debug)]
pub(crate) struct StartBlocks {
    generation: usize,
    roles: [(ViewFacts, [f32; BLOCK_LEN]); Role::COUNT],
}

#[cfg(test)]
impl StartBlocks {
    /// Zero values and empty views for every role.
    pub(crate) fn empty() -> Self {
        StartBlocks {
            generation: 0,
            roles: Role::TURN_ORDER.map(|role| {
                (
                    ViewFacts {
                        role,
                        metrics: false,
                        chat: 0,
                        inbox: 0,
                        note: false,
                    },
                    [0.0; BLOCK_LEN],
                )
            }),
        }
    }
}

impl Encoder {
    /// Every role's kept values, when each role was encoded since the lists last changed and
    /// its projection follows the lists (so its facts were kept); None otherwise.
    pub(crate) fn start_blocks(&self) -> Option<StartBlocks> {
        let [a, b, c, d] = &self.roles;
        Some(StartBlocks {
            generation: self.generation,
            roles: [
                (a.facts?, a.block),
                (b.facts?, b.block),
                (c.facts?, c.block),
                (d.facts?, d.block),
            ],
        })
    }

    /// Takes `start`'s values for every role, as if each role had been encoded since the
    /// lists last changed: sound when the state's lists are those `start` was taken from, as
    /// the values are functions of the lists alone (every projection follows them).
    pub(crate) fn load_start(&mut self, start: &StartBlocks) {
        self.clear();
        self.generation = start.generation;
        for (r, (facts, block)) in self.roles.iter_mut().zip(&start.roles) {
            r.facts = Some(*facts);
            r.block = *block;
        }
    }

    /// Forgets every cached value.
    pub(crate) fn clear(&mut self) {
        for r in &mut self.roles {
            r.key = None;
            r.facts = None;
        }
        self.parts.clear();
    }

    /// Brings the start of `role`'s cached values (its key, checked first) towards the cache:
    /// a hint, nothing changes. Two lines: prefetching the whole block measured no faster.
    #[inline(always)]
    pub(crate) fn prefetch(&self, role: Role) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let block: &RoleBlock = &self.roles[role.index()];
            let start = std::ptr::from_ref(block).cast::<i8>();
            for line in [0, 64] {
                // SAFETY: a prefetch of an address inside `block` (it never faults anyway).
                unsafe { _mm_prefetch(start.wrapping_add(line), _MM_HINT_T0) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = role;
    }

    /// The kept values of `role` and its view facts, when the lists have not changed since
    /// they were taken (`generation`, as for [`Encoder::encode`]) and its projection follows
    /// the lists; [`RoleBlock::write`] then encodes without a view.
    #[inline(always)]
    pub(crate) fn cached(&self, role: Role, generation: usize) -> Option<(&RoleBlock, ViewFacts)> {
        let kept = &self.roles[role.index()];
        match kept.facts {
            Some(facts) if generation == self.generation => Some((kept, facts)),
            _ => None,
        }
    }

    /// Encodes the observation made of `view` and `common` into `out`. `generation` is the
    /// total length of the state's lists; `memo` is asked for only when a list must be
    /// counted. `follows_lists`: the view's projection follows the lists, so its facts are
    /// kept for [`Encoder::cached`].
    // The view and the common part come apart: the cached path has no view, and building an
    // `Observation` only to take it apart again costs instructions.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn encode(
        &mut self,
        view: &RoleView<'_>,
        common: &ObservationCommon<'_>,
        generation: usize,
        max_steps: u32,
        follows_lists: bool,
        memo: impl FnOnce(&mut dyn FnMut(&mut TokenMemo)),
        out: &mut [f32; OBS_LEN],
    ) {
        if generation != self.generation {
            self.clear();
            self.generation = generation;
        }
        let key = list_key(view);
        let r = view.role.index();
        if !self.roles[r].key.is_some_and(|k| same_key(&k, &key)) {
            // Another role that sees the same lists (sre and oversight without fleet actions)
            // has the values already.
            let same = self
                .roles
                .iter()
                .position(|o| o.key.is_some_and(|k| same_key(&k, &key)));
            match same {
                Some(o) => self.roles[r].block = self.roles[o].block,
                None => {
                    let parts = &mut self.parts;
                    let block = &mut self.roles[r].block;
                    memo(&mut |memo| fill_block_from_parts(view, &key, parts, memo, block));
                }
            }
            self.roles[r].key = Some(key);
        }
        let facts = ViewFacts::of(view);
        self.roles[r].facts = follows_lists.then_some(facts);
        encode_turn(&facts, view.visible_metrics, common, max_steps, out);
        write_block(&self.roles[r].block, out);
    }
}

/// Builds a role's list-derived values from the parts of its lists, counting the lists no
/// role has counted yet.
fn fill_block_from_parts(
    view: &RoleView<'_>,
    key: &ListKey,
    parts: &mut Vec<(List, SliceId, Part)>,
    memo: &mut TokenMemo,
    block: &mut [f32; BLOCK_LEN],
) {
    // Index of each list's part; usize::MAX for an empty list (nothing to count).
    let mut found = [usize::MAX; 5];
    for (i, (list, id)) in LISTS.iter().zip(key).enumerate() {
        if id.1 == 0 {
            continue;
        }
        found[i] = match parts.iter().position(|(l, s, _)| l == list && s == id) {
            Some(p) => p,
            None => {
                if parts.len() >= MAX_PARTS {
                    // More lists than the roles share (a custom projection): keep this
                    // role's and start over.
                    let kept: Vec<_> = found[..i]
                        .iter()
                        .filter(|f| **f != usize::MAX)
                        .map(|&p| parts[p])
                        .collect();
                    parts.clear();
                    for (f, k) in found[..i].iter_mut().filter(|f| **f != usize::MAX).zip(0..) {
                        *f = k;
                    }
                    parts.extend(kept);
                }
                parts.push((*list, *id, EMPTY_PART));
                let last = parts.len() - 1;
                compute_part(*list, view, memo, &mut parts[last].2);
                last
            }
        };
    }
    let [logs, alerts, fleet, chat, inbox] =
        found.map(|p| parts.get(p).map_or(&EMPTY_PART, |e| &e.2));
    // The block's counts as bytes, in block order, then `count / 4` capped at 1 in one pass.
    let mut counts = [0u8; BLOCK_LEN];
    let at = |s: Segment| s.start - ALERTS.start..s.start - ALERTS.start + s.len;
    counts[at(ALERTS)].copy_from_slice(&alerts.counts[..ALERTS.len]);
    counts[at(LOGS)].copy_from_slice(&logs.counts[..LOGS.len]);
    let mut evidence = logs.bag;
    add_bag(&mut evidence, &alerts.bag);
    add_bag(&mut evidence, &fleet.bag);
    counts[at(EVIDENCE)].copy_from_slice(&evidence);
    counts[at(FLEET)].copy_from_slice(&fleet.counts[..FLEET.len]);
    let mut talk = chat.bag;
    add_bag(&mut talk, &inbox.bag);
    // A token's chat bucket is its evidence bucket folded (both are powers of two).
    let folded = &mut counts[MAIN_LEN..];
    for quarter in talk.chunks_exact(CHAT_BUCKETS) {
        for (f, t) in folded.iter_mut().zip(quarter) {
            *f = f.saturating_add(*t);
        }
    }
    for (o, c) in block.iter_mut().zip(counts) {
        *o = f32::from(c.min(4)) * 0.25;
    }
}

/// The role one-hot order of [`LAYOUT`]'s `role` segment (that of `Role::ALL`); the
/// `last_action` and `fleet` segments follow `ActionType::ALL` and `FleetAgent::ALL`.
pub const ROLE_ORDER: [Role; 4] = [Role::Sre, Role::Dev, Role::Manager, Role::Oversight];

#[cfg(test)]
mod tests {
    use chaosops_model::{Alert, Component, Severity};

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

    fn reference(line: &str) -> [f32; EVIDENCE_BUCKETS] {
        let mut bag = [0.0f32; EVIDENCE_BUCKETS];
        add_tokens(line, &mut bag);
        bag
    }

    #[test]
    fn the_memo_counts_like_the_reference_even_on_collisions_and_when_full() {
        let mut memo = TokenMemo::default();
        let lines = [
            "deadlock detected on txn_id=0x8f4a",
            "config v22.1 pushed by deploy_bot",
            "",
        ];
        // New text at the address and length of a line seen before (a freed line's memory
        // reused): found by address, refused by the text comparison, counted as itself.
        let mut reused = String::from("alpha beta gamma");
        for text in ["alpha beta gamma", "delta omega zeta"] {
            reused.replace_range(.., text);
            let mut bag = [0.0f32; EVIDENCE_BUCKETS];
            memo.add(&reused, &mut bag);
            assert_eq!(bag, reference(text), "{text:?}");
        }
        for _ in 0..3 {
            for line in lines {
                let mut bag = [0.0f32; EVIDENCE_BUCKETS];
                memo.add(line, &mut bag);
                assert_eq!(bag, reference(line), "{line:?}");
            }
        }
        // A forged collision: "other words" is looked up under the hash of the first line.
        let first = line_hash(lines[0].as_bytes());
        let forged = line_hash(b"other words here");
        let i = memo.index[&first];
        memo.index.insert(forged, i);
        let mut bag = [0.0f32; EVIDENCE_BUCKETS];
        memo.add("other words here", &mut bag);
        assert_eq!(bag, reference("other words here"));
        // Past the bound the memo starts over and stays exact.
        for k in 0..(MEMO_MAX_LINES + 10) {
            let line = format!("line {k} of many w{k}");
            let mut bag = [0.0f32; EVIDENCE_BUCKETS];
            memo.add(&line, &mut bag);
            assert_eq!(bag, reference(&line));
        }
        assert!(memo.entries.len() <= MEMO_MAX_LINES);
        // The chat bag (16 buckets) folds the evidence buckets.
        let mut chat = [0.0f32; CHAT_BUCKETS];
        memo.add(lines[1], &mut chat);
        let mut expected = [0.0f32; CHAT_BUCKETS];
        add_tokens(lines[1], &mut expected);
        assert_eq!(chat, expected);
    }

    fn alert(message: &'static str, service: Component) -> Alert {
        Alert {
            service,
            severity: Severity::Page,
            message: message.into(),
            triggered_at_step: 0,
        }
    }

    fn observation(alerts: &[Alert]) -> Observation<'_> {
        let mut view = RoleView::empty(Role::Sre);
        view.visible_alerts = alerts;
        Observation {
            done: false,
            reward: 0.0,
            view,
            step: 0,
            turn_role: Role::Sre,
            message: Message::Reset {
                alerts: alerts.len(),
                first_role: Role::Sre,
            },
        }
    }

    #[test]
    fn new_content_at_an_old_address_is_encoded_again_once_the_generation_moves() {
        // A slice with the same address and length can hold new content once a list has
        // moved and another took its memory; the state's list lengths (the generation) moved
        // then, and the encoder must count the lists again rather than reuse their values.
        let mut alerts = vec![alert("deadlock detected on txn", Component::Db)];
        let mut encoder = Encoder::default();
        let mut memo = TokenMemo::default();
        let mut encode = |alerts: &[Alert], generation: usize| {
            let mut out = [0.0f32; OBS_LEN];
            let observation = observation(alerts);
            encoder.encode(
                &observation.view,
                &observation.common(),
                generation,
                20,
                true,
                |fill| fill(&mut memo),
                &mut out,
            );
            out
        };
        let first = encode(&alerts, 1);
        alerts[0] = alert("config pushed by deploy_bot", Component::Auth);
        let second = encode(&alerts, 2);
        let mut fresh = [0.0f32; OBS_LEN];
        encode_observation(&observation(&alerts), 20, &mut fresh);
        assert_eq!(second, fresh);
        assert_ne!(first, second);
    }

    #[test]
    fn replicas_convert_as_through_f64() {
        let samples = (0..=4096).chain([u32::MAX / 2, u32::MAX - 1, u32::MAX]);
        for r in samples {
            assert_eq!(
                replicas_value(r).to_bits(),
                unit(f64::from(r) * (1.0 / 8.0)).to_bits(),
                "{r}"
            );
        }
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
