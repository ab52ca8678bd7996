//! Variation (docs/behaviour.md §15): what a scenario with variation `standard` draws at
//! reset, from a generator of its own (seeded by the scenario's seed and failure id), so
//! that variation `none` draws nothing and stays the reference behaviour bit for bit.

use chaosops_model::{Component, LogLevel, Scenario, Service, ServiceMetrics, State, Variation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::failure::FailureInjector;

/// Smallest and largest factor applied to an injected metric's distance from the baseline.
pub const MAGNITUDE: (f64, f64) = (0.8, 1.25);
/// Decoy log lines a `standard` episode adds: at least the first number, at most the second
/// (on hard, at least [`crate::DECOY_COUNT`]).
pub const DECOYS_PER_EPISODE: (usize, usize) = (0, 5);
/// Metric jitter per step (on one service): cpu +- this many points.
pub const JITTER_CPU: f64 = 1.5;
/// Metric jitter per step (on one service): latency +- this fraction.
pub const JITTER_LATENCY: f64 = 0.02;
/// Metric jitter per step (on one service): memory +- this many MB.
pub const JITTER_MEMORY_MB: f64 = 4.0;

/// The decoy corpus of `standard` episodes: plausible, harmless lines, none of which
/// belongs to one failure type more than another.
pub const DECOY_CORPUS: [(Service, LogLevel, &str); 28] = [
    (
        Service::Auth,
        LogLevel::Info,
        "routine token rotation finished",
    ),
    (
        Service::Notifications,
        LogLevel::Warn,
        "e-mail provider asked to retry after 2s",
    ),
    (
        Service::Db,
        LogLevel::Info,
        "vacuum finished, reclaimed 18MB",
    ),
    (
        Service::Payments,
        LogLevel::Info,
        "settlement batch 4411 closed",
    ),
    (
        Service::Auth,
        LogLevel::Info,
        "session cleanup removed 3120 expired sessions",
    ),
    (Service::Auth, LogLevel::Warn, "slow LDAP bind took 310ms"),
    (
        Service::Payments,
        LogLevel::Warn,
        "card network answered in 1.2s (p99 budget 1.5s)",
    ),
    (
        Service::Payments,
        LogLevel::Info,
        "currency rates refreshed",
    ),
    (
        Service::Notifications,
        LogLevel::Info,
        "push certificate valid for 61 more days",
    ),
    (
        Service::Notifications,
        LogLevel::Info,
        "template cache warmed: 214 templates",
    ),
    (
        Service::Db,
        LogLevel::Info,
        "checkpoint complete: wrote 1822 buffers",
    ),
    (
        Service::Db,
        LogLevel::Warn,
        "autovacuum skipped table audit_log: lock not available",
    ),
    (Service::Db, LogLevel::Info, "replica lag 40ms"),
    (
        Service::Auth,
        LogLevel::Info,
        "feature flag refresh: no changes",
    ),
    (
        Service::Payments,
        LogLevel::Warn,
        "retrying webhook delivery to merchant 8812",
    ),
    (
        Service::Notifications,
        LogLevel::Warn,
        "SMS gateway throttled 12 messages",
    ),
    (
        Service::Db,
        LogLevel::Info,
        "statistics updated for 14 tables",
    ),
    (Service::Auth, LogLevel::Info, "password policy reloaded"),
    (
        Service::Payments,
        LogLevel::Info,
        "fraud model v31 scored 9012 transactions",
    ),
    (
        Service::Notifications,
        LogLevel::Info,
        "digest job finished in 48s",
    ),
    (
        Service::Db,
        LogLevel::Warn,
        "long-running query cancelled after 30s (reporting user)",
    ),
    (
        Service::Auth,
        LogLevel::Warn,
        "clock skew 180ms against NTP",
    ),
    (
        Service::Payments,
        LogLevel::Info,
        "idempotency keys pruned: 20114",
    ),
    (Service::Notifications, LogLevel::Info, "bounce list synced"),
    (Service::Db, LogLevel::Info, "connection count 42 of 500"),
    (Service::Auth, LogLevel::Info, "JWKS cache refreshed"),
    (
        Service::Payments,
        LogLevel::Warn,
        "partner API returned 429 once; retried",
    ),
    (
        Service::Notifications,
        LogLevel::Warn,
        "unsubscribe link checker found 2 stale links",
    ),
];

/// What one `standard` episode drew.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Variant {
    /// The service the failure hits, for types whose target may vary.
    pub target: Option<Service>,
    /// The factor applied to the injected metrics' distance from the baseline.
    pub magnitude: f64,
    /// Seed of the evidence wording, decoy and jitter draws.
    pub seed: u64,
}

/// SplitMix64: one step of a tiny generator, for per-step jitter.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 64-bit FNV-1a of `text` (also the family hash of held-out splits).
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The variant of `scenario` for `failure` (a single type: a compound's parts each draw
/// their own), or `None` for variation `none`. A pure function of the scenario's seed and
/// the type's id: the oracle computes the same one.
pub fn draw(scenario: &Scenario, failure: &dyn FailureInjector) -> Option<Variant> {
    if scenario.variation == Variation::None {
        return None;
    }
    let mut seed = scenario.seed ^ fnv1a(failure.id()) ^ 0x5641_5249_4154_494f;
    let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(&mut seed));
    let targets = failure.variable_targets();
    let target = (!targets.is_empty()).then(|| targets[rng.random_range(0..targets.len())]);
    Some(Variant {
        target,
        magnitude: rng.random_range(MAGNITUDE.0..=MAGNITUDE.1),
        seed: rng.random(),
    })
}

/// Scales `after`'s distance from `before` by `factor`, within the metric's range.
fn scale(before: f64, after: f64, factor: f64, max: f64) -> f64 {
    (before + (after - before) * factor).clamp(0.0, max)
}

/// Applies a variant after one failure's injection: the magnitudes of what it changed and
/// the wording of the evidence it logged (the lines from `logs_from` on). `before` is the
/// fleet before its injection. Returns the advanced draw seed, for [`finish_reset`].
pub(crate) fn apply_part(
    variant: &Variant,
    failure: &dyn FailureInjector,
    before: &[ServiceMetrics; Service::COUNT],
    logs_from: usize,
    state: &mut State,
) -> u64 {
    let mut seed = variant.seed;
    for service in Service::ALL {
        let b = &before[service.index()];
        let m = state.service_mut(*service);
        m.cpu_pct = scale(b.cpu_pct, m.cpu_pct, variant.magnitude, 100.0);
        m.memory_mb = scale(b.memory_mb, m.memory_mb, variant.magnitude, 1.0e6);
        m.latency_ms = scale(b.latency_ms, m.latency_ms, variant.magnitude, 1.0e6);
        m.error_rate = scale(b.error_rate, m.error_rate, variant.magnitude, 1.0);
    }
    let phrasings = failure.phrasings();
    for line in &mut state.all_logs[logs_from..] {
        if let Some((_, others)) = phrasings.iter().find(|(text, _)| *text == line.message) {
            let k = (splitmix64(&mut seed) % (others.len() as u64 + 1)) as usize;
            if k > 0 {
                line.message = others[k - 1].into();
            }
        }
    }
    seed
}

/// Ends a `standard` reset: the decoys, drawn from `seed` (the first part's, after
/// [`apply_part`]). Returns the seed of the episode's jitter.
pub(crate) fn finish_reset(mut seed: u64, hard: bool, state: &mut State) -> u64 {
    let (least, most) = DECOYS_PER_EPISODE;
    let least = if hard {
        least.max(crate::DECOY_COUNT)
    } else {
        least
    };
    let count = least + (splitmix64(&mut seed) % (most - least + 1) as u64) as usize;
    for _ in 0..count {
        let i = (splitmix64(&mut seed) % DECOY_CORPUS.len() as u64) as usize;
        let (service, level, message) = DECOY_CORPUS[i];
        state.emit_decoy_log(Component::from(service), level, message);
    }
    splitmix64(&mut seed)
}

/// One step of metric jitter: one service, drawn, has its cpu, latency and memory moved by
/// up to [`JITTER_CPU`], [`JITTER_LATENCY`] and [`JITTER_MEMORY_MB`] (health is left as it
/// is); `seed` advances. One draw per step keeps a step's cost close to `none`'s.
pub(crate) fn jitter(seed: &mut u64, state: &mut State) {
    let r = splitmix64(seed);
    // A service from the low bits, three signed fractions in [-1, 1) from the rest (a
    // power-of-two scale: a multiplication, not a division).
    let service = Service::ALL[(r & 3) as usize];
    let unit = |shift: u32| ((r >> shift) & 0xffff) as f64 * (1.0 / 32768.0) - 1.0;
    let m = state.service_mut(service);
    m.cpu_pct = (m.cpu_pct + JITTER_CPU * unit(8)).clamp(0.0, 100.0);
    m.latency_ms = (m.latency_ms * (1.0 + JITTER_LATENCY * unit(24))).max(0.0);
    m.memory_mb = (m.memory_mb + JITTER_MEMORY_MB * unit(40)).max(0.0);
}
