//! Evaluation and replay for ChaosOps, shared by the `chaosops` command and the Python
//! package.
//!
//! - [`eval`]: every policy on every tier's curriculum list, computed by index and played
//!   on worker threads, records streamed in list order (identical whatever the thread
//!   count), aggregated exactly per (policy, tier) so shards and resumed runs merge bit for
//!   bit, with a text summary.
//! - [`batch`]: the same evaluation for a policy over numeric observations (a learned one),
//!   asked for a batch of episodes at a time.
//! - [`replay`]: one episode per JSON line, the conformance format; a line may carry a
//!   model completion for the next turn, scored by [`replay::score_completion`] (the GRPO
//!   reward function of the Python package calls the same function).
//!
//! No file IO: callers hand in readers, writers and a progress callback. Depends on
//! chaosops-model, -sim, -roles, -llm, -rl, serde, serde_json and thiserror.
//!
//! ```
//! # chaosops_failures::link(); chaosops_roles::link();
//! let registry = chaosops_sim::Registry::global().unwrap();
//! let line = r#"{"scenario": {"failure_type": "db_deadlock", "seed": 1},
//!               "actions": [{"action_type": "restart", "target": "db"}]}"#;
//! let replay = chaosops_eval::replay::replay_line(registry, &Default::default(), line).unwrap();
//! assert!(replay.final_state.resolved);
//! ```
#![deny(missing_docs)]

pub mod batch;
pub mod eval;
pub mod replay;
