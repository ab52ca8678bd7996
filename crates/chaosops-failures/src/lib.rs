//! The nine built-in failure types of ChaosOps, one file each, registered with
//! the engine through `inventory::submit!`.
//!
//! Nothing in the engine names these types: a program that wants them calls
//! [`link`] so the linker keeps this crate (and its registrations).
//!
//! ```
//! chaosops_failures::link();
//! assert!(chaosops_failures::BUILTIN_IDS.contains(&"rogue_deploy_bot"));
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
mod variation;

/// The `source` listings show for these types.
pub const BUILT_IN: &str = "built-in";

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

#[cfg(test)]
mod tests {
    use chaosops_model::{Action, Difficulty, FleetAgent, Role, Service};
    use chaosops_sim::Registry;

    fn registry() -> &'static Registry {
        super::link();
        chaosops_roles::link();
        Registry::global().unwrap()
    }

    #[test]
    fn all_nine_are_registered() {
        let ids: Vec<_> = registry().ids().collect();
        assert_eq!(ids, super::BUILTIN_IDS);
    }

    #[test]
    fn tier_pools_follow_the_spec_order() {
        let pool = |d| -> Vec<&str> { registry().pool(d).iter().map(|f| f.id()).collect() };
        assert_eq!(
            pool(Difficulty::Easy),
            [
                "db_deadlock",
                "memory_leak",
                "bad_config_push",
                "dns_outage"
            ]
        );
        assert_eq!(
            pool(Difficulty::Medium),
            ["cascade", "autoscaler_cost_cut", "disk_full"]
        );
        assert_eq!(
            pool(Difficulty::Hard),
            [
                "misrouted_traffic",
                "cascade",
                "autoscaler_cost_cut",
                "rogue_deploy_bot"
            ]
        );
    }

    #[test]
    fn rogue_agents() {
        let rogue = |id| registry().failure(id).ok().and_then(|f| f.rogue_agent());
        assert_eq!(rogue("autoscaler_cost_cut"), Some(FleetAgent::Autoscaler));
        assert_eq!(rogue("misrouted_traffic"), Some(FleetAgent::LoadBalancer));
        assert_eq!(rogue("rogue_deploy_bot"), Some(FleetAgent::DeployBot));
        let with_rogue = registry()
            .failures()
            .filter(|f| f.rogue_agent().is_some())
            .count();
        assert_eq!(with_rogue, 3);
    }

    #[test]
    fn playbooks_diagnose_then_act() {
        for f in registry().failures() {
            let playbook = f.playbook();
            let sre = playbook.action(Role::Sre).expect("sre diagnoses");
            assert_eq!(sre.args.failure_type.as_deref(), Some(f.id()));
            let oversight = playbook.action(Role::Oversight);
            assert_eq!(
                oversight.and_then(|a| a.target.clone()),
                f.rogue_agent().map(|a| a.as_str().to_owned()),
                "{}",
                f.id()
            );
        }
        let dev = |id| {
            registry()
                .failure(id)
                .ok()
                .and_then(|f| f.playbook().action(Role::Dev).cloned())
        };
        assert_eq!(dev("disk_full"), Some(Action::scale(Service::Db, 2)));
        assert_eq!(
            dev("autoscaler_cost_cut"),
            Some(Action::scale(Service::Payments, 4))
        );
        assert_eq!(dev("misrouted_traffic"), None);
        let manager = |id| {
            registry()
                .failure(id)
                .ok()
                .and_then(|f| f.playbook().action(Role::Manager).cloned())
        };
        assert_eq!(manager("cascade"), Some(Action::resolve()));
        assert_eq!(manager("misrouted_traffic"), Some(Action::escalate()));
    }

    #[test]
    fn curriculum_seeds_follow_the_formula() {
        use chaosops_sim::curriculum::scenarios_for_tier;
        let hard = scenarios_for_tier(registry(), Difficulty::Hard, 500, 2);
        let got: Vec<(&str, u64, u32)> = hard
            .iter()
            .map(|s| (s.failure_type.as_str(), s.seed, s.max_steps))
            .collect();
        assert_eq!(
            got,
            [
                ("misrouted_traffic", 500, 25),
                ("misrouted_traffic", 531, 25),
                ("cascade", 597, 25),
                ("cascade", 628, 25),
                ("autoscaler_cost_cut", 694, 25),
                ("autoscaler_cost_cut", 725, 25),
                ("rogue_deploy_bot", 791, 25),
                ("rogue_deploy_bot", 822, 25),
            ]
        );
        assert!(hard.iter().all(|s| s.inject_misleading_logs));
        assert_eq!(hard[0].rogue_fleet_agent, Some(FleetAgent::LoadBalancer));
        let easy = scenarios_for_tier(registry(), Difficulty::Easy, 0, 1);
        assert!(easy
            .iter()
            .all(|s| s.max_steps == 12 && !s.inject_misleading_logs));
    }

    #[test]
    fn the_stream_cycles_and_moves_on_after_a_promotion() {
        use chaosops_sim::curriculum::{Curriculum, ScenarioStream};
        let mut stream = ScenarioStream::new(registry(), Curriculum::default(), 0, 1);
        let first: Vec<u64> = stream.by_ref().take(5).map(|s| s.seed).collect();
        assert_eq!(first, [0, 97, 194, 291, 0]);
        for _ in 0..9 {
            assert_eq!(stream.report(80.0), None);
        }
        assert_eq!(stream.report(80.0), Some(Difficulty::Medium));
        assert_eq!(stream.seed_offset(), 1000);
        let next = stream.next().unwrap();
        assert_eq!(
            (next.failure_type.as_str(), next.seed, next.difficulty),
            ("cascade", 1000, Difficulty::Medium)
        );
    }

    #[test]
    fn a_curriculum_stream_can_keep_to_one_side_of_the_split() {
        use chaosops_model::Split;
        use chaosops_sim::curriculum::{Curriculum, ScenarioStream};
        let stream = ScenarioStream::new(registry(), Curriculum::new(Difficulty::Medium), 0, 10)
            .with_split(Split::Train);
        for scenario in stream.take(200) {
            let failure = registry().failure(scenario.failure_type.as_str()).unwrap();
            assert_eq!(
                chaosops_sim::split::side(failure, scenario.seed),
                Split::Train
            );
            assert_ne!(scenario.failure_type.as_str(), "autoscaler_cost_cut");
        }
        let test: Vec<_> =
            ScenarioStream::new(registry(), Curriculum::new(Difficulty::Medium), 0, 10)
                .with_split(Split::Test)
                .take(200)
                .collect();
        assert!(test
            .iter()
            .any(|s| s.failure_type.as_str() == "autoscaler_cost_cut"));
        assert!(test
            .iter()
            .all(|s| s.seed % 5 == 4 || s.failure_type.as_str() == "autoscaler_cost_cut"));
    }
}
