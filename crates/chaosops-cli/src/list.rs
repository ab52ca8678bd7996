//! `chaosops list`: the registered failure types.

use chaosops_sim::{FailureInfo, Registry};

/// Every registered failure type, sorted by id.
pub fn failures(registry: &Registry) -> Vec<FailureInfo> {
    registry.infos()
}

/// A table for people: the registered types, then the expert tier's compound incidents.
pub fn render_table(infos: &[FailureInfo], compounds: &[FailureInfo]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<18} {:<14} {:<90} SOURCE",
        "ID", "TIERS", "ROGUE", "DESCRIPTION"
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
            "{:<28} {:<18} {:<14} {:<90} {}",
            i.id, tiers, rogue, i.description, i.source
        );
    }
    if !compounds.is_empty() {
        let _ = writeln!(
            out,
            "\nCompound incidents of the expert tier (any 2 or 3 types joined by '+' run as one; docs/behaviour.md §18):"
        );
        for c in compounds {
            let rogue = c
                .rogue_agent
                .map_or(String::new(), |a| format!("  (rogue: {a})"));
            let _ = writeln!(out, "  {}{rogue}", c.id);
        }
    }
    out
}
