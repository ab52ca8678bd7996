//! LLM tooling in-process: prompts, the tolerant parser, GRPO reward scoring and a prompt
//! dataset builder.

use std::collections::HashMap;

use chaosops_eval::replay::{play_history, score_completion};
use chaosops_model::{Action, Role, ScenarioSpec};
use chaosops_rl::{nth_seed, splitmix64};
use chaosops_roles::{EpisodeStart, PolicyKind, Team};
use chaosops_sim::Environment;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{self, to_py};
use crate::errors::{self, raise, Kind};

/// The system prompt and the rendered view of `role` in `env`.
pub(crate) fn prompt_pair(env: &Environment, role: Role) -> PyResult<(String, String)> {
    let registry = crate::registry()?;
    let ids: Vec<&str> = registry.ids().collect();
    let system = chaosops_llm::system_prompt(role, &ids);
    let user = chaosops_llm::render_observation(&env.observation_for(role));
    Ok((system, user))
}

fn prompt_dict<'py>(py: Python<'py>, env: &Environment) -> PyResult<(Bound<'py, PyDict>, Role)> {
    let role = env.current_role();
    let (system, user) = prompt_pair(env, role)?;
    let d = convert::dict(
        py,
        &[
            ("role", role.as_str().into_pyobject(py)?.into_any()),
            ("system", system.into_pyobject(py)?.into_any()),
            ("user", user.into_pyobject(py)?.into_any()),
        ],
    )?;
    Ok((d, role))
}

fn replayed(spec: &ScenarioSpec, actions: &[Action]) -> Result<Environment, String> {
    let registry = crate::registry().map_err(|e| e.to_string())?;
    play_history(registry, spec, actions.iter().cloned().map(Ok), None)
}

/// Parses model text into an action: returns (action dict, {"outcome", "reason"?, "dropped"?}).
#[pyfunction]
pub(crate) fn parse_action<'py>(
    py: Python<'py>,
    text: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let parsed = chaosops_llm::parse_action(text, crate::registry()?);
    let report = chaosops_eval::replay::ParseReport {
        outcome: parsed.outcome,
        dropped: parsed.dropped,
    };
    Ok((to_py(py, &parsed.action)?, to_py(py, &report)?))
}

/// The prompt of the role whose turn follows `actions` in `scenario`:
/// {"role", "system", "user"}.
#[pyfunction]
pub(crate) fn prompt<'py>(
    py: Python<'py>,
    scenario: &Bound<'py, PyAny>,
    actions: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let spec = convert::scenario_spec(scenario)?;
    let actions = convert::action_list(actions)?;
    let env = replayed(&spec, &actions).map_err(|e| raise(Kind::Config, e))?;
    if env.is_done() {
        return Err(raise(
            Kind::EpisodeFinished,
            format!(
                "the episode ended at step {}; no role has a turn to prompt",
                env.state().step_count
            ),
        ));
    }
    Ok(prompt_dict(py, &env)?.0)
}

/// Scores each completion as the next turn after its row's history; None where the row
/// cannot be scored (bad scenario or actions, or an episode already over). Rows sharing
/// the same scenario and actions objects are replayed once.
#[pyfunction]
#[pyo3(signature = (scenarios, actions, completions, team_weight=0.6))]
pub(crate) fn score_completions(
    py: Python<'_>,
    scenarios: &Bound<'_, PyList>,
    actions: &Bound<'_, PyList>,
    completions: Vec<String>,
    team_weight: f64,
) -> PyResult<Vec<Option<f64>>> {
    if !(0.0..=1.0).contains(&team_weight) {
        return Err(raise(
            Kind::Config,
            format!("team_weight {team_weight} is out of range; allowed: 0..=1"),
        ));
    }
    let n = completions.len();
    if scenarios.len() != n || actions.len() != n {
        return Err(raise(
            Kind::InvalidArgument,
            format!(
                "got {} scenarios, {} action lists and {n} completions; they must match",
                scenarios.len(),
                actions.len()
            ),
        ));
    }
    let registry = crate::registry()?;
    // Histories keyed by the identity of the row's Python objects, so a GRPO group (the same
    // prompt row repeated) is converted and replayed once.
    let mut prefixes: Vec<Option<Environment>> = Vec::new();
    let mut by_identity: HashMap<(usize, usize), usize> = HashMap::new();
    let mut row_prefix = Vec::with_capacity(n);
    for (s, a) in scenarios.iter().zip(actions.iter()) {
        let key = (s.as_ptr() as usize, a.as_ptr() as usize);
        let k = match by_identity.get(&key) {
            Some(k) => *k,
            None => {
                let env = convert::scenario_spec(&s)
                    .and_then(|spec| Ok((spec, convert::action_list(&a)?)))
                    .ok()
                    .and_then(|(spec, actions)| replayed(&spec, &actions).ok());
                prefixes.push(env);
                by_identity.insert(key, prefixes.len() - 1);
                prefixes.len() - 1
            }
        };
        row_prefix.push(k);
    }
    Ok(py.detach(|| {
        row_prefix
            .iter()
            .zip(&completions)
            .map(|(k, text)| {
                let mut env = prefixes[*k].clone()?;
                score_completion(registry, &mut env, text, team_weight)
                    .ok()
                    .map(|s| s.blended_reward)
            })
            .collect()
    }))
}

/// 1.0 for each completion the parser read an action from, 0.0 where it fell back.
#[pyfunction]
pub(crate) fn format_scores(py: Python<'_>, completions: Vec<String>) -> PyResult<Vec<f64>> {
    let registry = crate::registry()?;
    Ok(py.detach(|| {
        completions
            .iter()
            .map(|t| {
                let p = chaosops_llm::parse_action(t, registry);
                if p.outcome.is_fallback() {
                    0.0
                } else {
                    1.0
                }
            })
            .collect()
    }))
}

/// Most records one `prompt_records` call builds.
const MAX_RECORDS: usize = 10_000_000;

/// Prompt records for GRPO: scenarios drawn from `seed` as `Env.reset(seed)` does, each
/// played by `policy` for a random number of turns (0..=max_depth, never to the end).
#[pyfunction]
#[pyo3(signature = (n, *, seed=None, policy="heuristic", max_depth=None, failure_types=None, tiers=None, max_steps=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn prompt_records<'py>(
    py: Python<'py>,
    n: &Bound<'py, PyAny>,
    seed: Option<&Bound<'py, PyAny>>,
    policy: &str,
    max_depth: Option<&Bound<'py, PyAny>>,
    failure_types: Option<Vec<String>>,
    tiers: Option<Vec<String>>,
    max_steps: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let n: usize = convert::int_in(n, "n", 0, MAX_RECORDS as i128, Kind::Config)?;
    let seed = convert::seed(seed)?.unwrap_or(0);
    let max_depth: u32 = convert::opt_int_in(
        max_depth,
        "max_depth",
        0,
        i128::from(chaosops_model::limits::MAX_STEPS),
        Kind::Config,
    )?
    .unwrap_or(6);
    let kind: PolicyKind = policy
        .parse()
        .map_err(|e: String| raise(Kind::Config, format!("policy: {e}")))?;
    let registry = crate::registry()?;
    let source = convert::source(failure_types, tiers, max_steps, "reference", "none", "all")?;
    let out = PyList::empty(py);
    for i in 0..n as u64 {
        let s = nth_seed(seed, i);
        let scenario = source.scenario(s);
        let mut env =
            Environment::new(registry, &scenario, *source.reward(), None).map_err(errors::sim)?;
        let mut team = Team::uniform(kind, s);
        team.begin_episode(&EpisodeStart {
            scenario: &scenario,
            failure: env.simulator().failure(),
        });
        let depth = splitmix64(s ^ 0x5eed) % (u64::from(max_depth) + 1);
        let mut actions: Vec<Action> = Vec::new();
        for _ in 0..depth {
            let role = env.current_role();
            let action = team.policy(role).act(&env.observation(), role);
            let before = env.clone();
            env.step_record(&action).map_err(errors::sim)?;
            if env.is_done() {
                env = before;
                break;
            }
            actions.push(action);
        }
        let (p, role) = prompt_dict(py, &env)?;
        let spec = scenario.spec();
        let record = convert::dict(
            py,
            &[
                ("system", p.get_item("system")?.expect("set above")),
                ("user", p.get_item("user")?.expect("set above")),
                ("role", role.as_str().into_pyobject(py)?.into_any()),
                ("scenario", to_py(py, &spec)?),
                ("actions", to_py(py, &actions)?),
            ],
        )?;
        out.append(record)?;
    }
    Ok(out)
}
