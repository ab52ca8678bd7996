//! Policy choices of the command line: the scripted ones and the `llm` policy.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chaosops_roles::{Policy, PolicyKind, Team};
use chaosops_sim::Registry;

use crate::llm_policy::{LlmConfig, LlmPolicy};

/// A policy name as typed on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyName {
    /// A scripted baseline.
    Scripted(PolicyKind),
    /// A language model behind an OpenAI-compatible endpoint.
    Llm,
}

impl FromStr for PolicyName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "llm" {
            return Ok(PolicyName::Llm);
        }
        s.parse::<PolicyKind>()
            .map(PolicyName::Scripted)
            .map_err(|_| {
                format!("unknown policy \"{s}\"; known: oracle, heuristic, random, noop, llm")
            })
    }
}

/// A policy that can be built for each episode.
#[derive(Clone, Debug)]
pub enum PolicyChoice {
    /// A scripted baseline.
    Scripted(PolicyKind),
    /// A language model.
    Llm(Arc<LlmConfig>),
}

impl PolicyChoice {
    /// Resolves a name; `llm` needs `llm` settings.
    pub fn resolve(name: PolicyName, llm: Option<&Arc<LlmConfig>>) -> Result<Self, String> {
        match name {
            PolicyName::Scripted(kind) => Ok(PolicyChoice::Scripted(kind)),
            PolicyName::Llm => llm
                .cloned()
                .map(PolicyChoice::Llm)
                .ok_or_else(|| "the llm policy needs --endpoint and --model".to_owned()),
        }
    }

    /// For the `llm` policy, checks the endpoint answers before any episode starts.
    pub fn check(&self) -> Result<(), String> {
        match self {
            PolicyChoice::Scripted(_) => Ok(()),
            PolicyChoice::Llm(config) => crate::llm_policy::check_endpoint(config),
        }
    }

    /// The name used in reports.
    pub fn name(&self) -> &'static str {
        match self {
            PolicyChoice::Scripted(kind) => kind.as_str(),
            PolicyChoice::Llm(_) => "llm",
        }
    }

    /// A fresh policy; `seed` drives the random ones.
    pub fn build(&self, seed: u64, registry: &'static Registry) -> Box<dyn Policy> {
        match self {
            PolicyChoice::Scripted(kind) => kind.build(seed),
            PolicyChoice::Llm(config) => Box::new(LlmPolicy::new(config.clone(), registry)),
        }
    }

    /// Every role played by this policy; the seat of role `r` gets seed `seed + r.index()`.
    pub fn team(&self, seed: u64, registry: &'static Registry) -> Team {
        match self {
            PolicyChoice::Scripted(kind) => Team::uniform(*kind, seed),
            PolicyChoice::Llm(_) => {
                Team::from_fn(|role| self.build(seed.wrapping_add(role.index() as u64), registry))
            }
        }
    }
}

impl From<PolicyKind> for PolicyChoice {
    fn from(kind: PolicyKind) -> Self {
        PolicyChoice::Scripted(kind)
    }
}

impl chaosops_eval::eval::PolicySource for PolicyChoice {
    fn name(&self) -> &'static str {
        PolicyChoice::name(self)
    }
    fn team(&self, seed: u64, registry: &'static Registry) -> Team {
        PolicyChoice::team(self, seed, registry)
    }
}

impl fmt::Display for PolicyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for PolicyChoice {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}
