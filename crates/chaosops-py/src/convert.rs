//! Python values to model values and back.

use chaosops_model::{Action, Difficulty, Role, ScenarioSpec};
use chaosops_rl::{EnvConfig, RewardPreset, Variation};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::errors::{raise, Kind};

/// A Python object holding any serialisable value (dicts, lists, strings, numbers).
pub(crate) fn to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(|e| {
        raise(
            Kind::InvalidArgument,
            format!("cannot convert to Python: {e}"),
        )
    })
}

/// A value read from a dict-like Python object or from JSON text.
pub(crate) fn from_py<T: DeserializeOwned>(
    obj: &Bound<'_, PyAny>,
    what: &str,
    kind: Kind,
) -> PyResult<T> {
    if let Ok(text) = obj.cast::<PyString>() {
        let text = text.to_str()?;
        return serde_json::from_str(text)
            .map_err(|e| raise(kind, format!("{what}: invalid JSON: {e}")));
    }
    pythonize::depythonize(obj).map_err(|e| raise(kind, format!("{what}: {e}")))
}

/// An action given as a table index, a dict, or JSON text.
pub(crate) enum ActionInput {
    /// An index into the action table.
    Index(i64),
    /// An explicit action (validated).
    Action(Action),
}

pub(crate) fn action_input(obj: &Bound<'_, PyAny>) -> PyResult<ActionInput> {
    if obj.is_instance_of::<PyBool>() {
        return Err(raise(
            Kind::InvalidAction,
            format!("action {obj} is a bool; give a table index, a dict or JSON text"),
        ));
    }
    if obj.is_instance_of::<PyInt>() {
        let index: i64 = obj.extract().map_err(|_| {
            raise(
                Kind::InvalidAction,
                format!("action index {obj} does not fit a 64-bit integer"),
            )
        })?;
        return Ok(ActionInput::Index(index));
    }
    // NumPy integers and other objects with __index__.
    if let Ok(index) = obj
        .call_method0("__index__")
        .and_then(|i| i.extract::<i64>())
    {
        return Ok(ActionInput::Index(index));
    }
    let action: Action = from_py(obj, "action", Kind::InvalidAction)?;
    action
        .validate()
        .map_err(|e| raise(Kind::InvalidAction, format!("action: {e}")))?;
    Ok(ActionInput::Action(action))
}

/// A role name, or the error naming it.
pub(crate) fn role(name: &str) -> PyResult<Role> {
    name.parse::<Role>()
        .map_err(|e| raise(Kind::InvalidArgument, e.to_string()))
}

/// A scenario in the replay format (`{"failure_type", "seed", "difficulty", "max_steps"}`).
pub(crate) fn scenario_spec(obj: &Bound<'_, PyAny>) -> PyResult<ScenarioSpec> {
    from_py(obj, "scenario", Kind::Config)
}

/// A list of actions given as a list of dicts, or a JSON array.
pub(crate) fn action_list(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Action>> {
    if let Ok(list) = obj.cast::<PyList>() {
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            match action_input(&item) {
                Ok(ActionInput::Action(a)) => out.push(a),
                Ok(ActionInput::Index(idx)) => {
                    let table = crate::table()?;
                    out.push(table.get(idx).map_err(crate::errors::rl)?.clone())
                }
                Err(e) => {
                    return Err(raise(Kind::InvalidAction, format!("actions[{i}]: {e}")));
                }
            }
        }
        return Ok(out);
    }
    from_py(obj, "actions", Kind::InvalidAction)
}

/// The scenario source of the configuration keyword arguments.
pub(crate) fn source(
    failure_types: Option<Vec<String>>,
    tiers: Option<Vec<String>>,
    max_steps: Option<&Bound<'_, PyAny>>,
    reward: &str,
    variation: &str,
    split: &str,
) -> PyResult<std::sync::Arc<chaosops_rl::ScenarioSource>> {
    let config = env_config(failure_types, tiers, max_steps, reward, variation, split)?;
    chaosops_rl::ScenarioSource::new(crate::registry()?, &config)
        .map(std::sync::Arc::new)
        .map_err(crate::errors::rl)
}

/// The environment configuration from keyword arguments.
fn env_config(
    failure_types: Option<Vec<String>>,
    tiers: Option<Vec<String>>,
    max_steps: Option<&Bound<'_, PyAny>>,
    reward: &str,
    variation: &str,
    split: &str,
) -> PyResult<EnvConfig> {
    let tiers = tiers
        .unwrap_or_default()
        .iter()
        .map(|t| {
            t.parse::<Difficulty>()
                .map_err(|e| raise(Kind::Config, format!("tiers: {e}")))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let max_steps = opt_int_in(
        max_steps,
        "max_steps",
        1,
        i128::from(chaosops_model::limits::MAX_STEPS),
        Kind::Config,
    )?;
    Ok(EnvConfig {
        failure_types,
        tiers,
        max_steps,
        reward: reward.parse::<RewardPreset>().map_err(crate::errors::rl)?,
        variation: variation
            .parse::<Variation>()
            .map_err(|e| crate::errors::raise(crate::errors::Kind::Config, e.to_string()))?,
        split: split
            .parse::<chaosops_rl::Split>()
            .map_err(|e| crate::errors::raise(crate::errors::Kind::Config, e.to_string()))?,
    })
}

/// A fresh dict with `key: value` pairs.
pub(crate) fn dict<'py>(
    py: Python<'py>,
    pairs: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(*k, v)?;
    }
    Ok(d)
}

/// An integer argument in `min..=max`, or an error naming the argument and its value.
pub(crate) fn int_in<T: TryFrom<i128>>(
    obj: &Bound<'_, PyAny>,
    name: &str,
    min: i128,
    max: i128,
    kind: Kind,
) -> PyResult<T> {
    let out_of_range = || {
        raise(
            kind,
            format!("{name}: {obj} is out of range; allowed: {min}..={max}"),
        )
    };
    if obj.is_instance_of::<PyBool>() {
        return Err(raise(
            kind,
            format!("{name}: {obj} is a bool; give an integer"),
        ));
    }
    let value: i128 = if obj.is_instance_of::<PyInt>() {
        obj.extract().map_err(|_| out_of_range())?
    } else {
        obj.call_method0("__index__")
            .and_then(|i| i.extract())
            .map_err(|_| raise(kind, format!("{name}: {obj} is not an integer")))?
    };
    if !(min..=max).contains(&value) {
        return Err(out_of_range());
    }
    T::try_from(value).map_err(|_| out_of_range())
}

/// An optional integer argument in `min..=max`.
pub(crate) fn opt_int_in<T: TryFrom<i128>>(
    obj: Option<&Bound<'_, PyAny>>,
    name: &str,
    min: i128,
    max: i128,
    kind: Kind,
) -> PyResult<Option<T>> {
    obj.filter(|o| !o.is_none())
        .map(|o| int_in(o, name, min, max, kind))
        .transpose()
}

/// A seed: any integer in `0..=2^64-1`.
pub(crate) fn seed(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    opt_int_in(obj, "seed", 0, i128::from(u64::MAX), Kind::InvalidArgument)
}
