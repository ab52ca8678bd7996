//! The nine built-in failure types of ChaosOps, one file each, registered with
//! the engine through `inventory::submit!`.
//!
//! Nothing in the engine names these types: a program that wants them calls
//! [`link`] so the linker keeps this crate (and its registrations).
//!
//! ```
//! chaosops_failures::link();
//! # chaosops_roles_stub::link();
//! # mod chaosops_roles_stub { pub fn link() {} }
//! let ids: Vec<_> = chaosops_failures::BUILTIN_IDS.to_vec();
//! assert_eq!(ids.len(), 9);
//! ```
#![deny(missing_docs)]

mod autoscaler_cost_cut;
mod bad_config_push;
mod cascade;
mod db_deadlock;
mod disk_full;
mod dns_outage;
mod memory_leak;
mod misrouted_traffic;
mod rogue_deploy_bot;

/// Ids of the built-in failure types, sorted.
pub const BUILTIN_IDS: [&str; 9] = [
    "autoscaler_cost_cut",
    "bad_config_push",
    "cascade",
    "db_deadlock",
    "disk_full",
    "dns_outage",
    "memory_leak",
    "misrouted_traffic",
    "rogue_deploy_bot",
];

/// Keeps this crate, and so its failure registrations, in the final binary. Call it once
/// before using the registry.
#[inline(never)]
pub fn link() {
    std::hint::black_box(&BUILTIN_IDS);
}
