//! The registry of failure types and role projections, collected once from `inventory`.

use std::sync::{OnceLock, PoisonError, RwLock};

use chaosops_model::{Difficulty, FailureId, FleetAgent, Role, Scenario, ScenarioSpec};
use serde::Serialize;

use crate::compound::{Compound, SEPARATOR};
use crate::error::SimError;
use crate::failure::{FailureInjector, FailureRegistration};
use crate::projection::{ProjectionRegistration, RoleProjection};

/// One failure type as listings show it (`chaosops list --json`, `chaosops.failure_types()`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureInfo {
    /// The id.
    pub id: &'static str,
    /// One sentence.
    pub description: &'static str,
    /// Curriculum tiers it appears in, easiest first.
    pub tiers: Vec<Difficulty>,
    /// The rogue fleet agent, if any.
    pub rogue_agent: Option<FleetAgent>,
    /// Where it comes from: `built-in`, `plugin` (a compiled crate), or the pack file.
    pub source: &'static str,
}

impl FailureInfo {
    /// The listing of `f`.
    fn of(f: &'static dyn FailureInjector) -> Self {
        let mut tiers: Vec<Difficulty> = f.tiers().iter().map(|t| t.difficulty).collect();
        tiers.sort();
        FailureInfo {
            id: f.id(),
            description: f.description(),
            tiers,
            rogue_agent: f.rogue_agent(),
            source: f.source(),
        }
    }
}

static GLOBAL: OnceLock<Result<Registry, SimError>> = OnceLock::new();
static EXTRA: OnceLock<Vec<&'static dyn FailureInjector>> = OnceLock::new();

/// Failure types sorted by id and one projection per role. Built once; never iterated per step.
pub struct Registry {
    failures: Vec<&'static dyn FailureInjector>,
    /// The failures' ids, in the same order (a lookup compares them without a virtual call).
    ids: Vec<&'static str>,
    projections: [&'static dyn RoleProjection; Role::COUNT],
    /// Compound incidents built so far, sorted by id; each is built once and kept.
    compounds: RwLock<Vec<&'static Compound>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("failures", &self.ids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn is_snake_case(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Registry {
    /// The registry of everything linked into this program, collected on first use.
    ///
    /// Binaries, tests and benches must link the plugin crates (`chaosops_failures::link()`,
    /// `chaosops_roles::link()`), or their registrations are dropped by the linker.
    pub fn global() -> Result<&'static Registry, SimError> {
        GLOBAL
            .get_or_init(|| {
                let extra = EXTRA.get_or_init(Vec::new);
                Registry::from_parts(
                    inventory::iter::<FailureRegistration>()
                        .map(|r| r.0)
                        .chain(extra.iter().copied()),
                    inventory::iter::<ProjectionRegistration>().map(|r| r.0),
                )
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Adds failure types known only at run time (scenario packs) to the registry
    /// [`global`](Self::global) builds. Must come before its first use, once; their ids must
    /// differ from every other type's (checked when the registry is built).
    pub fn install(failures: Vec<&'static dyn FailureInjector>) -> Result<(), SimError> {
        if GLOBAL.get().is_some() {
            return Err(SimError::RegistryInUse);
        }
        EXTRA.set(failures).map_err(|_| SimError::RegistryInUse)
    }

    /// Builds a registry from explicit parts; refuses duplicate or malformed ids and missing roles.
    pub fn from_parts(
        failures: impl IntoIterator<Item = &'static dyn FailureInjector>,
        projections: impl IntoIterator<Item = &'static dyn RoleProjection>,
    ) -> Result<Registry, SimError> {
        let mut failures: Vec<_> = failures.into_iter().collect();
        failures.sort_by_key(|f| f.id());
        for f in &failures {
            if !is_snake_case(f.id()) {
                return Err(SimError::InvalidFailureId {
                    id: f.id().to_owned(),
                });
            }
            if !f.variable_targets().is_empty() && f.reference_target().is_none() {
                return Err(SimError::MissingReferenceTarget {
                    id: f.id().to_owned(),
                });
            }
        }
        if let Some(w) = failures.windows(2).find(|w| w[0].id() == w[1].id()) {
            return Err(SimError::DuplicateFailure {
                id: w[0].id().to_owned(),
            });
        }
        let mut slots: [Option<&'static dyn RoleProjection>; Role::COUNT] = [None; Role::COUNT];
        for p in projections {
            let slot = &mut slots[p.role().index()];
            if slot.is_some() {
                return Err(SimError::DuplicateProjection { role: p.role() });
            }
            *slot = Some(p);
        }
        let mut out = Vec::with_capacity(Role::COUNT);
        for role in Role::ALL {
            out.push(slots[role.index()].ok_or(SimError::MissingProjection { role: *role })?);
        }
        let projections = [out[0], out[1], out[2], out[3]];
        Ok(Registry {
            ids: failures.iter().map(|f| f.id()).collect(),
            failures,
            projections,
            compounds: RwLock::new(Vec::new()),
        })
    }

    /// The failure registered as `id`, or the compound incident `id` names (parts joined by
    /// `+`, docs/behaviour.md §18), or an error naming what is unknown or not allowed.
    pub fn failure(&self, id: &str) -> Result<&'static dyn FailureInjector, SimError> {
        // An id taken from a registered failure (every scenario drawn by seed) is found by
        // address before the text is searched for a `+`.
        if let Some(f) = self.find_by_address(id) {
            return Ok(f);
        }
        match crate::compound::split_id(id) {
            None => self.find(id).ok_or_else(|| self.unknown(id)),
            Some(names) => {
                // A compound built before, asked for by its own id (every reset after the
                // first): found without allocating.
                if let Some(built) = self.built_compound(id) {
                    return Ok(built);
                }
                let named = id.matches(SEPARATOR).count() + 1;
                if named > crate::compound::MAX_PARTS {
                    return Err(SimError::InvalidCompound {
                        id: id.to_owned(),
                        reason: format!(
                            "it names {named} failure types; a compound holds 2 to {}",
                            crate::compound::MAX_PARTS
                        ),
                    });
                }
                let mut parts = Vec::with_capacity(named);
                for name in names {
                    if name.is_empty() {
                        return Err(SimError::InvalidCompound {
                            id: id.to_owned(),
                            reason: "an empty failure type between '+' signs".into(),
                        });
                    }
                    parts.push(self.find(name).ok_or_else(|| self.unknown(name))?);
                }
                self.compound(id, parts)
            }
        }
    }

    fn unknown(&self, id: &str) -> SimError {
        SimError::UnknownFailure {
            id: id.to_owned(),
            known: self.ids().collect::<Vec<_>>().join(", "),
        }
    }

    /// The compound of `parts`, built on first use (at most once per set of parts).
    fn compound(
        &self,
        asked: &str,
        mut parts: Vec<&'static dyn FailureInjector>,
    ) -> Result<&'static dyn FailureInjector, SimError> {
        parts.sort_by_key(|p| p.id());
        let mut id = String::new();
        for p in &parts {
            if !id.is_empty() {
                id.push(SEPARATOR);
            }
            id.push_str(p.id());
        }
        if let Some(built) = self.built_compound(&id) {
            return Ok(built);
        }
        // A poisoned lock only means another thread panicked while holding it; the list is
        // only ever changed by one whole insertion, so it stays usable.
        let mut built = self
            .compounds
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match built.binary_search_by(|c| c.id().cmp(&id)) {
            Ok(i) => Ok(built[i]),
            Err(i) => {
                let compound: &'static Compound = Box::leak(Box::new(Compound::new(asked, parts)?));
                built.insert(i, compound);
                Ok(compound)
            }
        }
    }

    /// The compound already built under the id `id` (its canonical one), if any.
    fn built_compound(&self, id: &str) -> Option<&'static dyn FailureInjector> {
        let built = self
            .compounds
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        built
            .binary_search_by(|c| c.id().cmp(id))
            .ok()
            .map(|i| built[i] as &'static dyn FailureInjector)
    }

    /// The failure registered as `id`, if any (by address, else a binary search).
    pub fn find(&self, id: &str) -> Option<&'static dyn FailureInjector> {
        self.find_by_address(id).or_else(|| {
            let i = self.ids.binary_search(&id).ok()?;
            Some(self.failures[i])
        })
    }

    /// The registered failure whose id is `id` itself (the same text at the same address,
    /// as scenarios drawn by seed hold it), found without comparing text.
    #[inline]
    fn find_by_address(&self, id: &str) -> Option<&'static dyn FailureInjector> {
        let same = |s: &&str| s.as_ptr() == id.as_ptr() && s.len() == id.len();
        let i = self.ids.iter().position(same)?;
        Some(self.failures[i])
    }

    /// Every failure, sorted by id.
    pub fn failures(&self) -> impl ExactSizeIterator<Item = &'static dyn FailureInjector> + '_ {
        self.failures.iter().copied()
    }

    /// Every failure type as listings show it, sorted by id.
    pub fn infos(&self) -> Vec<FailureInfo> {
        self.failures.iter().map(|f| FailureInfo::of(*f)).collect()
    }

    /// The expert tier's compound incidents as listings show them, in pool order.
    pub fn expert_infos(&self) -> Vec<FailureInfo> {
        self.expert_compounds()
            .into_iter()
            .map(|f| FailureInfo {
                tiers: vec![Difficulty::Expert],
                ..FailureInfo::of(f)
            })
            .collect()
    }

    /// Every failure id, sorted.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = &'static str> + '_ {
        self.failures.iter().map(|f| f.id())
    }

    /// The projection of `role`.
    #[inline]
    pub fn projection(&self, role: Role) -> &'static dyn RoleProjection {
        self.projections[role.index()]
    }

    /// The curriculum pool of a tier: failures declaring it, ordered by position then id.
    /// The expert pool is followed by its compounds (see [`Registry::expert_compounds`]).
    pub fn pool(&self, difficulty: Difficulty) -> Vec<&'static dyn FailureInjector> {
        let mut pool = self.declared_pool(difficulty);
        if difficulty == Difficulty::Expert {
            pool.extend(self.expert_compounds());
        }
        pool
    }

    /// The expert tier's compound incidents (docs/behaviour.md §18): each hard-pool type
    /// with each easy-pool type of another family, unless both have a rogue fleet agent;
    /// ordered by the hard type's pool position, then the easy type's.
    pub fn expert_compounds(&self) -> Vec<&'static dyn FailureInjector> {
        let hard = self.declared_pool(Difficulty::Hard);
        let easy = self.declared_pool(Difficulty::Easy);
        let mut out = Vec::new();
        for h in &hard {
            for e in &easy {
                let compatible = h.id() != e.id()
                    && h.family() != e.family()
                    && !h.is_control()
                    && !e.is_control()
                    && (h.rogue_agent().is_none() || e.rogue_agent().is_none());
                if compatible {
                    let asked = format!("{}{SEPARATOR}{}", h.id(), e.id());
                    if let Ok(c) = self.compound(&asked, vec![*h, *e]) {
                        out.push(c);
                    }
                }
            }
        }
        out
    }

    /// The failures declaring `difficulty`, ordered by position then id.
    fn declared_pool(&self, difficulty: Difficulty) -> Vec<&'static dyn FailureInjector> {
        let mut pool: Vec<(u32, &'static dyn FailureInjector)> = self
            .failures
            .iter()
            .filter_map(|f| {
                f.tiers()
                    .iter()
                    .find(|t| t.difficulty == difficulty)
                    .map(|t| (t.position, *f))
            })
            .collect();
        pool.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id().cmp(b.1.id())));
        pool.into_iter().map(|(_, f)| f).collect()
    }

    /// Builds a full scenario from a spec "the usual way", checking the id and the limits.
    pub fn scenario(&self, spec: &ScenarioSpec) -> Result<Scenario, SimError> {
        let failure = self.failure(spec.failure_type.as_str())?;
        let mut scenario = Scenario::from_spec(spec, failure.rogue_agent());
        scenario.failure_type = FailureId::from_static(failure.id());
        scenario.validate()?;
        Ok(scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{TestFailure, TEST_PROJECTIONS};

    static A: TestFailure = TestFailure::new("alpha");
    static B: TestFailure = TestFailure::new("beta");
    static A2: TestFailure = TestFailure::new("alpha");
    static BAD: TestFailure = TestFailure::new("Not Snake");

    fn projections() -> impl Iterator<Item = &'static dyn RoleProjection> {
        TEST_PROJECTIONS.iter().map(|p| p as &dyn RoleProjection)
    }

    #[test]
    fn failures_are_sorted_and_found() {
        let r = Registry::from_parts([&B as &dyn FailureInjector, &A], projections()).unwrap();
        assert_eq!(r.ids().collect::<Vec<_>>(), ["alpha", "beta"]);
        assert_eq!(r.failure("beta").unwrap().id(), "beta");
    }

    #[test]
    fn unknown_failure_lists_known_ids() {
        let r = Registry::from_parts([&B as &dyn FailureInjector, &A], projections()).unwrap();
        let err = r.failure("gamma").err().unwrap().to_string();
        assert_eq!(err, "unknown failure type \"gamma\"; known: alpha, beta");
    }

    #[test]
    fn duplicates_and_bad_ids_are_refused() {
        let err =
            Registry::from_parts([&A as &dyn FailureInjector, &A2], projections()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failure type \"alpha\" is registered twice"
        );
        let err = Registry::from_parts([&BAD as &dyn FailureInjector], projections()).unwrap_err();
        assert!(matches!(err, SimError::InvalidFailureId { .. }));
        let dup = projections().chain(projections().take(1));
        let err = Registry::from_parts([&A as &dyn FailureInjector], dup).unwrap_err();
        assert_eq!(err, SimError::DuplicateProjection { role: Role::Sre });
        let err =
            Registry::from_parts([&A as &dyn FailureInjector], projections().skip(1)).unwrap_err();
        assert_eq!(err, SimError::MissingProjection { role: Role::Sre });
    }

    #[test]
    fn global_registry_collects_inventory_submissions() {
        let r = Registry::global().unwrap();
        assert!(r.find(crate::test_support::TEST_FAILURE_ID).is_some());
        assert_eq!(r.projection(Role::Dev).role(), Role::Dev);
    }
}
