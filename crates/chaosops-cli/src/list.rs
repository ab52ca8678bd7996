//! `chaosops list`: the registered failure types.

use chaosops_model::{Difficulty, FleetAgent};
use chaosops_sim::Registry;
use serde::Serialize;

/// One failure type as `list --json` prints it.
#[derive(Serialize)]
pub struct FailureInfo {
    /// The id.
    pub id: &'static str,
    /// One sentence.
    pub description: &'static str,
    /// Curriculum tiers it appears in, easiest first.
    pub tiers: Vec<Difficulty>,
    /// The rogue fleet agent, if any.
    pub rogue_agent: Option<FleetAgent>,
}

/// Every registered failure type, sorted by id.
pub fn failures(registry: &Registry) -> Vec<FailureInfo> {
    registry
        .failures()
        .map(|f| {
            let mut tiers: Vec<Difficulty> = f.tiers().iter().map(|t| t.difficulty).collect();
            tiers.sort();
            FailureInfo {
                id: f.id(),
                description: f.description(),
                tiers,
                rogue_agent: f.rogue_agent(),
            }
        })
        .collect()
}

/// A table for people.
pub fn render_table(infos: &[FailureInfo]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<18} {:<14} DESCRIPTION",
        "ID", "TIERS", "ROGUE"
    );
    for i in infos {
        let tiers: Vec<&str> = i.tiers.iter().map(|t| t.as_str()).collect();
        let tiers = if tiers.is_empty() {
            "-".to_owned()
        } else {
            tiers.join(",")
        };
        let rogue = i.rogue_agent.map_or("-", |a| a.as_str());
        let _ = writeln!(
            out,
            "{:<22} {:<18} {:<14} {}",
            i.id, tiers, rogue, i.description
        );
    }
    out
}
