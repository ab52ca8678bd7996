//! The `chaosops` command's building blocks; the binary in `main.rs` only parses
//! arguments, does IO and prints. This is the one crate that touches files,
//! standard streams or the network.
//!
//! Evaluation and replay live in `chaosops-eval`, the server and the `llm` policy's HTTP
//! client in `chaosops-server` (re-exported here as [`serve`], [`llm_policy`], [`policy`]
//! and [`schema`]); this crate adds the terminal UI, the charts, the output folders and the
//! benchmarks' load generators.
//!
//! ```
//! let registry = chaosops_cli::registry().unwrap();
//! assert!(registry.find("db_deadlock").is_some());
//! ```
#![deny(missing_docs)]

pub mod bench;
pub mod dashboard;
pub mod evaluate;
pub mod list;
pub mod live;
pub mod load;
pub mod play;
pub mod plots;

pub use chaosops_server as serve;
pub use chaosops_server::{llm_policy, policy, schema};

use chaosops_sim::{Registry, SimError};

/// Links the built-in plugins and returns the global registry.
pub fn registry() -> Result<&'static Registry, SimError> {
    chaosops_failures::link();
    chaosops_roles::link();
    Registry::global()
}

/// Makes sure `dir` exists and takes files, before hours of work are spent filling it.
pub fn prepare_out_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out-dir {}: cannot create the folder", dir.display()))?;
    let probe = dir.join(format!(".chaosops-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("--out-dir {}: cannot write files there", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
