//! The `chaosops` command's building blocks; the binary in `main.rs` only parses
//! arguments, does IO and prints. This is the one crate that touches files,
//! standard streams or the network.
//!
//! ```
//! let registry = chaosops_cli::registry().unwrap();
//! let line = r#"{"scenario": {"failure_type": "db_deadlock", "seed": 1},
//!               "actions": [{"action_type": "restart", "target": "db"}]}"#;
//! let replay = chaosops_cli::replay::replay_line(registry, &Default::default(), line).unwrap();
//! assert!(replay.final_state.resolved);
//! ```
#![deny(missing_docs)]

pub mod bench;
pub mod dashboard;
pub mod eval;
pub mod list;
pub mod live;
pub mod llm_policy;
pub mod play;
pub mod plots;
pub mod policy;
pub mod replay;
pub mod schema;
pub mod serve;
pub mod transcript;

use chaosops_sim::{Registry, SimError};

/// Links the built-in plugins and returns the global registry.
pub fn registry() -> Result<&'static Registry, SimError> {
    chaosops_failures::link();
    chaosops_roles::link();
    Registry::global()
}
