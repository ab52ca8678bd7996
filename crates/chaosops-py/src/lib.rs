//! `chaosops._native`: the extension module of the ChaosOps Python package. The pure-Python
//! package `chaosops` adapts it to PettingZoo, Gymnasium and TRL; the work happens here.
#![deny(missing_docs)]

mod convert;
mod env;
mod errors;
mod evaluation;
mod llm;
mod pydict;
mod vector;

use std::sync::{Arc, OnceLock};

use chaosops_model::Role;
use chaosops_rl::{ActionTable, LAYOUT, OBS_LEN};
use chaosops_sim::Registry;
use pyo3::prelude::*;

use crate::convert::to_py;

/// The registry with the built-in failures and roles.
pub(crate) fn registry() -> PyResult<&'static Registry> {
    chaosops_failures::link();
    chaosops_roles::link();
    // Scenario packs named by $CHAOSOPS_SCENARIOS join the registry on its first use.
    static PACKS: OnceLock<Result<(), String>> = OnceLock::new();
    PACKS
        .get_or_init(|| chaosops_packs::install_from_env(None))
        .clone()
        .map_err(|e| errors::raise(errors::Kind::Config, e))?;
    Registry::global().map_err(errors::sim)
}

/// The action table of the registry, built once.
pub(crate) fn table() -> PyResult<Arc<ActionTable>> {
    static TABLE: OnceLock<Arc<ActionTable>> = OnceLock::new();
    let registry = registry()?;
    Ok(Arc::clone(
        TABLE.get_or_init(|| Arc::new(ActionTable::new(registry))),
    ))
}

/// Short names of the action table's entries, in index order.
#[pyfunction]
fn action_names() -> PyResult<Vec<String>> {
    Ok(table()?.names().to_vec())
}

/// The action of table index `index`, as a dict.
#[pyfunction]
fn decode_action<'py>(py: Python<'py>, index: i64) -> PyResult<Bound<'py, PyAny>> {
    let table = table()?;
    to_py(py, table.get(index).map_err(errors::rl)?)
}

/// The table index with the same effect as `action` (a dict or JSON text), or None.
#[pyfunction]
fn encode_action(action: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
    match convert::action_input(action)? {
        convert::ActionInput::Index(i) => {
            let table = table()?;
            table.get(i).map_err(errors::rl)?;
            Ok(Some(i as usize))
        }
        convert::ActionInput::Action(a) => Ok(table()?.encode(&a)),
    }
}

/// The legal-action mask of `role` (a list of 0/1, one per table entry).
#[pyfunction]
fn action_mask(role: &str) -> PyResult<Vec<i8>> {
    Ok(table()?.mask(convert::role(role)?).to_vec())
}

/// The observation vector's layout: (name, start, length, description) per segment.
#[pyfunction]
fn observation_layout() -> Vec<(&'static str, usize, usize, &'static str)> {
    LAYOUT
        .iter()
        .map(|s| (s.name, s.start, s.len, s.doc))
        .collect()
}

/// The registered failure types: id, description, tiers and rogue agent.
#[pyfunction]
fn failure_types(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    to_py(py, &registry()?.infos())
}

/// Replays `chaosops replay` input lines (JSON text, one episode each) and returns one
/// output line per input, exactly as the command writes them.
#[pyfunction]
#[pyo3(signature = (lines, team_weight=0.6))]
fn replay_lines(py: Python<'_>, lines: Vec<String>, team_weight: f64) -> PyResult<Vec<String>> {
    let registry = registry()?;
    let options = chaosops_eval::replay::ReplayOptions { team_weight };
    Ok(py.detach(|| {
        lines
            .iter()
            .enumerate()
            .map(
                |(i, line)| match chaosops_eval::replay::replay_line(registry, &options, line) {
                    Ok(r) => serde_json::to_string(&r).unwrap_or_default(),
                    Err(e) => {
                        serde_json::json!({"error": format!("line {}: {e}", i + 1)}).to_string()
                    }
                },
            )
            .collect()
    }))
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("OBS_LEN", OBS_LEN)?;
    m.add(
        "AGENTS",
        Role::TURN_ORDER
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<env::PyEnv>()?;
    m.add_class::<vector::PyVecEnv>()?;
    m.add_function(wrap_pyfunction!(action_names, m)?)?;
    m.add_function(wrap_pyfunction!(decode_action, m)?)?;
    m.add_function(wrap_pyfunction!(encode_action, m)?)?;
    m.add_function(wrap_pyfunction!(action_mask, m)?)?;
    m.add_function(wrap_pyfunction!(observation_layout, m)?)?;
    m.add_function(wrap_pyfunction!(failure_types, m)?)?;
    m.add_function(wrap_pyfunction!(replay_lines, m)?)?;
    m.add_function(wrap_pyfunction!(evaluation::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(evaluation::merge_shard_outputs, m)?)?;
    m.add_function(wrap_pyfunction!(llm::parse_action, m)?)?;
    m.add_function(wrap_pyfunction!(llm::prompt, m)?)?;
    m.add_function(wrap_pyfunction!(llm::score_completions, m)?)?;
    m.add_function(wrap_pyfunction!(llm::format_scores, m)?)?;
    m.add_function(wrap_pyfunction!(llm::prompt_records, m)?)?;
    Ok(())
}
