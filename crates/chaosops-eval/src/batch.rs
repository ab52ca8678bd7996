//! Evaluating a policy that chooses from numeric observations, a batch at a time: the way
//! a learned policy (a network in Python, say) is evaluated. Several episodes of the list
//! run side by side in lanes; each turn the acting role's observation vector and action
//! mask of every lane go to the policy in one call, and its action indices are played.
//! Records come out in list order and equal those of the same actions played one episode at
//! a time, whatever the number of lanes.

use std::collections::BTreeMap;
use std::io;
use std::ops::Range;

use chaosops_model::Scenario;
use chaosops_rl::{encode_observation, ActionTable, OBS_LEN};
use chaosops_roles::EpisodeResult;
use chaosops_sim::{Environment, Registry, RewardConfig};

use crate::eval::{record, record_line, EvalError, Plan, Tally};

/// A policy over numeric observations, asked for a batch of lanes at a time.
pub trait BatchActor {
    /// What the policy can fail with.
    type Error;
    /// Fills `actions` (one per lane) with action-table indices, from `observations`
    /// (lanes x [`OBS_LEN`] values) and `masks` (lanes x table length, 1 where the rules
    /// allow the action). Rows of idle lanes are zeros; their actions are not read.
    fn act(
        &mut self,
        observations: &[f32],
        masks: &[i8],
        actions: &mut [i64],
    ) -> Result<(), Self::Error>;
}

/// What went wrong in a batched evaluation.
#[derive(Debug)]
pub enum BatchError<E> {
    /// The policy failed.
    Policy(E),
    /// The policy chose an index outside the action table.
    BadAction {
        /// The episode.
        index: u64,
        /// The index it chose.
        action: i64,
        /// The table's length.
        table_len: usize,
    },
    /// The evaluation failed.
    Eval(EvalError),
}

impl<E> From<EvalError> for BatchError<E> {
    fn from(e: EvalError) -> Self {
        BatchError::Eval(e)
    }
}

impl<E: std::fmt::Display> std::fmt::Display for BatchError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Policy(e) => write!(f, "{e}"),
            BatchError::BadAction {
                index,
                action,
                table_len,
            } => write!(
                f,
                "the policy chose action {action} in episode {index}; the action table has indices 0..{table_len}"
            ),
            BatchError::Eval(e) => write!(f, "{e}"),
        }
    }
}

struct Lane {
    index: u64,
    scenario: Scenario,
    env: Environment,
}

/// Plays the episodes `range` of `plan` with `actor` choosing every role's actions, in up
/// to `lanes` episodes at once; counts each into `tally` and hands its record (a JSON
/// line) to `sink`, in index order. `name` is the policy's name in the records.
#[allow(clippy::too_many_arguments)]
pub fn play_batched<P, A: BatchActor>(
    registry: &'static Registry,
    table: &ActionTable,
    plan: &Plan<'_, P>,
    range: Range<u64>,
    lanes: usize,
    name: &'static str,
    actor: &mut A,
    tally: &mut Tally,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<(), BatchError<A::Error>> {
    let lanes = lanes.clamp(1, 1 << 16);
    let width = table.len();
    let mut observations = vec![0.0f32; lanes * OBS_LEN];
    let mut masks = vec![0i8; lanes * width];
    let mut actions = vec![0i64; lanes];
    let mut next = range.start;
    let mut flushed = range.start;
    let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut seats: Vec<Option<Lane>> = (0..lanes).map(|_| None).collect();
    let start = |index: u64| -> Result<Lane, EvalError> {
        let scenario = plan.job(index).scenario;
        let env = Environment::new(registry, &scenario, RewardConfig::default(), None)?;
        Ok(Lane {
            index,
            scenario,
            env,
        })
    };
    for seat in seats.iter_mut() {
        if next < range.end {
            *seat = Some(start(next)?);
            next += 1;
        }
    }
    while seats.iter().any(Option::is_some) {
        for (k, seat) in seats.iter().enumerate() {
            let obs = &mut observations[k * OBS_LEN..(k + 1) * OBS_LEN];
            let mask = &mut masks[k * width..(k + 1) * width];
            match seat {
                Some(lane) => {
                    let observation = lane.env.observation();
                    encode_observation(&observation, lane.scenario.max_steps, obs);
                    mask.copy_from_slice(table.mask(observation.turn_role));
                }
                None => {
                    obs.fill(0.0);
                    mask.fill(0);
                }
            }
        }
        actor
            .act(&observations, &masks, &mut actions)
            .map_err(BatchError::Policy)?;
        for (k, seat) in seats.iter_mut().enumerate() {
            let Some(lane) = seat else { continue };
            let chosen = actions[k];
            let action = table.get(chosen).map_err(|_| BatchError::BadAction {
                index: lane.index,
                action: chosen,
                table_len: width,
            })?;
            lane.env.step(action).map_err(EvalError::from)?;
            if !lane.env.is_done() {
                continue;
            }
            let result = EpisodeResult::from_env(&lane.scenario, &lane.env, Vec::new(), None);
            let rec = record(lane.index, name, &lane.scenario, result);
            tally.add(&rec);
            pending.insert(lane.index, record_line(&rec));
            while let Some(line) = pending.remove(&flushed) {
                sink(&line).map_err(EvalError::from)?;
                flushed += 1;
            }
            *seat = if next < range.end {
                next += 1;
                Some(start(next - 1)?)
            } else {
                None
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{play_range, EvalConfig, RunControl, RunInfo, Shard};
    use chaosops_roles::PolicyKind;
    use std::sync::atomic::AtomicBool;

    struct Always(i64);

    impl BatchActor for Always {
        type Error = String;
        fn act(&mut self, _: &[f32], masks: &[i8], actions: &mut [i64]) -> Result<(), String> {
            assert_eq!(masks.len() % actions.len(), 0);
            actions.fill(self.0);
            Ok(())
        }
    }

    fn registry() -> &'static Registry {
        chaosops_failures::link();
        chaosops_roles::link();
        Registry::global().unwrap()
    }

    #[test]
    fn batched_records_equal_one_at_a_time_records_whatever_the_lanes() {
        let r = registry();
        let table = ActionTable::new(r);
        let config = EvalConfig {
            policies: vec![PolicyKind::Noop],
            tiers: chaosops_model::Difficulty::ALL.to_vec(),
            episodes_per_type: 3,
            seed_offset: 11,
            variation: Default::default(),
            split: Default::default(),
        };
        let plan = Plan::new(r, &config);
        let info = RunInfo::new(&plan, Shard::WHOLE);
        let stop = AtomicBool::new(false);
        let control = RunControl {
            threads: std::num::NonZeroUsize::new(2).unwrap(),
            progress: &|| {},
            stop: &stop,
            records: true,
        };
        let mut scripted = Vec::new();
        let mut tally = Tally::new(&info);
        play_range(r, &plan, 0..plan.len(), &control, &mut tally, &mut |l| {
            scripted.extend_from_slice(l);
            Ok(())
        })
        .unwrap();
        let expected = tally.finish(&info);
        for lanes in [1, 4, 64] {
            let mut batched = Vec::new();
            let mut t = Tally::new(&info);
            play_batched(
                r,
                &table,
                &plan,
                0..plan.len(),
                lanes,
                "noop",
                &mut Always(0),
                &mut t,
                &mut |l| {
                    batched.extend_from_slice(l);
                    Ok(())
                },
            )
            .unwrap();
            assert!(batched == scripted, "{lanes} lanes");
            assert_eq!(t.finish(&info), expected);
        }
        let err = play_batched(
            r,
            &table,
            &plan,
            0..2,
            2,
            "bad",
            &mut Always(999),
            &mut Tally::new(&info),
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the policy chose action 999 in episode 0; the action table has indices 0..{}",
                table.len()
            )
        );
    }
}
