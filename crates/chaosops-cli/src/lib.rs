//! The `chaosops` command's building blocks; the binary in `main.rs` only parses
//! arguments, does IO and prints. This is the one crate that touches files,
//! standard streams or the network.
//!
//! Evaluation and replay live in `chaosops-eval`; this crate adds the `llm` policy's HTTP
//! client, the server, the terminal UI, the charts and the benchmarks' load generators.
//!
//! ```
//! let registry = chaosops_cli::registry().unwrap();
//! assert!(registry.find("db_deadlock").is_some());
//! ```
#![deny(missing_docs)]

pub mod bench;
pub mod dashboard;
pub mod list;
pub mod live;
pub mod llm_policy;
pub mod play;
pub mod plots;
pub mod policy;
pub mod schema;
pub mod serve;

use chaosops_sim::{Registry, SimError};

/// Links the built-in plugins and returns the global registry.
pub fn registry() -> Result<&'static Registry, SimError> {
    chaosops_failures::link();
    chaosops_roles::link();
    Registry::global()
}
