//! A bounded recorder of per-step metrics (docs/behaviour.md §11), for dashboards and logs.

use std::collections::VecDeque;

use chaosops_model::{ActionType, Service, State};

/// Default number of snapshots kept.
pub const DEFAULT_CAPACITY: usize = 512;

/// Metrics after one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricsSnapshot {
    /// Step count.
    pub step: u32,
    /// Latency per service, in service order.
    pub latency_ms: [f64; Service::COUNT],
    /// Error rate per service, in service order.
    pub error_rate: [f64; Service::COUNT],
    /// Wrong fixes so far.
    pub wrong_fixes: u32,
    /// Miscommunications so far.
    pub miscommunications: u32,
    /// -1 once resolved, else the step count.
    pub mttr: i64,
    /// Cumulative reward.
    pub cumulative_reward: f64,
    /// Actions taken so far, by type (in [`ActionType::ALL`] order).
    pub action_counts: [u32; ActionType::COUNT],
    /// Flags raised by oversight so far.
    pub oversight_flags: usize,
}

impl MetricsSnapshot {
    /// The snapshot as `name -> number` pairs (`latency_ms.auth`, `actions.restart`, ...).
    pub fn flatten(&self) -> Vec<(String, f64)> {
        let mut out = Vec::with_capacity(8 + 2 * Service::COUNT + ActionType::COUNT);
        out.push(("step".to_owned(), f64::from(self.step)));
        for s in Service::ALL {
            out.push((format!("latency_ms.{s}"), self.latency_ms[s.index()]));
            out.push((format!("error_rate.{s}"), self.error_rate[s.index()]));
        }
        out.push(("wrong_fixes".to_owned(), f64::from(self.wrong_fixes)));
        out.push((
            "miscommunications".to_owned(),
            f64::from(self.miscommunications),
        ));
        out.push(("mttr".to_owned(), self.mttr as f64));
        out.push(("cumulative_reward".to_owned(), self.cumulative_reward));
        for t in ActionType::ALL {
            out.push((
                format!("actions.{t}"),
                f64::from(self.action_counts[t.index()]),
            ));
        }
        out.push(("oversight_flags".to_owned(), self.oversight_flags as f64));
        out
    }
}

/// A ring of the most recent snapshots.
#[derive(Clone, Debug)]
pub struct MetricsRecorder {
    capacity: usize,
    ring: VecDeque<MetricsSnapshot>,
    action_counts: [u32; ActionType::COUNT],
}

impl Default for MetricsRecorder {
    fn default() -> Self {
        MetricsRecorder::new(DEFAULT_CAPACITY)
    }
}

impl MetricsRecorder {
    /// A recorder keeping at most `capacity` snapshots (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        MetricsRecorder {
            capacity,
            ring: VecDeque::with_capacity(capacity),
            action_counts: [0; ActionType::COUNT],
        }
    }

    /// Records the state after an action of `action_type` (none for the reset snapshot).
    pub fn record(&mut self, state: &State, action_type: Option<ActionType>) {
        if let Some(t) = action_type {
            self.action_counts[t.index()] += 1;
        }
        let mut latency_ms = [0.0; Service::COUNT];
        let mut error_rate = [0.0; Service::COUNT];
        for (i, m) in state.services.0.iter().enumerate() {
            latency_ms[i] = m.latency_ms;
            error_rate[i] = m.error_rate;
        }
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
        }
        self.ring.push_back(MetricsSnapshot {
            step: state.step_count,
            latency_ms,
            error_rate,
            wrong_fixes: state.wrong_fixes,
            miscommunications: state.miscommunications,
            mttr: if state.resolved {
                -1
            } else {
                i64::from(state.step_count)
            },
            cumulative_reward: state.cumulative_reward,
            action_counts: self.action_counts,
            oversight_flags: state.oversight_flags.len(),
        });
    }

    /// Snapshots, oldest first.
    pub fn snapshots(
        &self,
    ) -> impl DoubleEndedIterator<Item = &MetricsSnapshot> + ExactSizeIterator {
        self.ring.iter()
    }

    /// The newest snapshot.
    pub fn latest(&self) -> Option<&MetricsSnapshot> {
        self.ring.back()
    }

    /// The last `n` values of one service's latency, oldest first.
    pub fn latency_series(&self, service: Service) -> impl Iterator<Item = f64> + '_ {
        self.ring.iter().map(move |s| s.latency_ms[service.index()])
    }

    /// The last values of one service's error rate, oldest first.
    pub fn error_rate_series(&self, service: Service) -> impl Iterator<Item = f64> + '_ {
        self.ring.iter().map(move |s| s.error_rate[service.index()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaosops_model::{Difficulty, FailureId, Uuid};

    fn state() -> State {
        State::new(
            Uuid::nil(),
            FailureId::DB_DEADLOCK,
            Difficulty::Easy,
            20,
            None,
        )
    }

    #[test]
    fn ring_is_bounded_and_counts_actions() {
        let mut r = MetricsRecorder::new(3);
        let mut s = state();
        for step in 1..=5 {
            s.step_count = step;
            r.record(&s, Some(ActionType::Restart));
        }
        assert_eq!(r.snapshots().len(), 3);
        assert_eq!(r.snapshots().next().unwrap().step, 3);
        let latest = r.latest().unwrap();
        assert_eq!(latest.action_counts[ActionType::Restart.index()], 5);
        assert_eq!(latest.mttr, 5);
        s.resolved = true;
        r.record(&s, None);
        assert_eq!(r.latest().unwrap().mttr, -1);
    }

    #[test]
    fn flatten_names_every_number() {
        let mut r = MetricsRecorder::default();
        r.record(&state(), Some(ActionType::Scale));
        let flat = r.latest().unwrap().flatten();
        let get = |k: &str| flat.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        assert_eq!(get("latency_ms.db"), Some(45.0));
        assert_eq!(get("actions.scale"), Some(1.0));
        assert_eq!(get("mttr"), Some(0.0));
        assert_eq!(flat.len(), 1 + 8 + 4 + 9 + 1);
    }
}
