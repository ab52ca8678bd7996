//! The server's observation JSON built directly as Python dicts, with interned keys (the
//! hot path of `Env.reset`, `Env.step` and `Env.observe`). A test checks it equals the
//! JSON text the server sends, parsed.

use chaosops_model::{
    Component, FleetAgent, Health, LogLevel, ObservationData, Role, RoleView, Service, Severity,
    StepRecord,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString};

/// A wire enum's name as a Python string made once per process: an observation holds dozens
/// of them (services, health, levels, roles), and a new string for each was a third of the
/// cost of a dict observation.
macro_rules! name {
    ($py:expr, $ty:ty, $value:expr) => {{
        static NAMES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();
        let py = $py;
        NAMES.get_or_init(py, || {
            <$ty>::ALL
                .iter()
                .map(|v| PyString::intern(py, v.as_str()).unbind())
                .collect()
        })[$value.index()]
        .bind(py)
        .clone()
    }};
}

fn list<'py, T>(
    py: Python<'py>,
    items: impl ExactSizeIterator<Item = T>,
    mut item: impl FnMut(T) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for i in items {
        out.append(item(i)?)?;
    }
    Ok(out)
}

fn view<'py>(py: Python<'py>, v: &RoleView<'_>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "role"), name!(py, Role, v.role))?;
    let metrics = PyDict::new(py);
    if let Some(services) = v.visible_metrics {
        for (s, m) in services.iter() {
            let md = PyDict::new(py);
            md.set_item(intern!(py, "cpu_pct"), m.cpu_pct)?;
            md.set_item(intern!(py, "memory_mb"), m.memory_mb)?;
            md.set_item(intern!(py, "latency_ms"), m.latency_ms)?;
            md.set_item(intern!(py, "error_rate"), m.error_rate)?;
            md.set_item(intern!(py, "replicas"), m.replicas)?;
            md.set_item(intern!(py, "health"), name!(py, Health, m.health))?;
            metrics.set_item(name!(py, Service, s), md)?;
        }
    }
    d.set_item(intern!(py, "visible_metrics"), metrics)?;
    let logs = list(py, v.visible_logs.iter(), |l| {
        let ld = PyDict::new(py);
        ld.set_item(intern!(py, "timestamp"), l.timestamp)?;
        ld.set_item(intern!(py, "service"), name!(py, Component, l.service))?;
        ld.set_item(intern!(py, "level"), name!(py, LogLevel, l.level))?;
        ld.set_item(intern!(py, "message"), l.message)?;
        Ok(ld.into_any())
    })?;
    d.set_item(intern!(py, "visible_logs"), logs)?;
    let alerts = list(py, v.visible_alerts.iter(), |a| {
        let ad = PyDict::new(py);
        ad.set_item(intern!(py, "service"), name!(py, Component, a.service))?;
        ad.set_item(intern!(py, "severity"), name!(py, Severity, a.severity))?;
        ad.set_item(intern!(py, "message"), &*a.message)?;
        ad.set_item(intern!(py, "triggered_at_step"), a.triggered_at_step)?;
        Ok(ad.into_any())
    })?;
    d.set_item(intern!(py, "visible_alerts"), alerts)?;
    let fleet = list(py, v.visible_fleet_actions.iter(), |a| {
        let fd = PyDict::new(py);
        fd.set_item(
            intern!(py, "agent_name"),
            name!(py, FleetAgent, a.agent_name),
        )?;
        fd.set_item(intern!(py, "action"), a.action)?;
        fd.set_item(intern!(py, "target"), name!(py, Service, a.target))?;
        fd.set_item(intern!(py, "step"), a.step)?;
        Ok(fd.into_any())
    })?;
    d.set_item(intern!(py, "visible_fleet_actions"), fleet)?;
    d.set_item(intern!(py, "shared_chat"), PyList::new(py, v.shared_chat)?)?;
    d.set_item(intern!(py, "private_note"), v.private_note)?;
    d.set_item(
        intern!(py, "private_inbox"),
        PyList::new(py, v.private_inbox)?,
    )?;
    Ok(d)
}

/// A step record as a dict (the replay format's step record).
pub(crate) fn record<'py>(py: Python<'py>, r: &StepRecord) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "turn"), r.turn)?;
    d.set_item(intern!(py, "role"), name!(py, Role, r.role))?;
    d.set_item(intern!(py, "reward"), r.reward)?;
    let breakdown = PyDict::new(py);
    for (name, value) in r.breakdown.components() {
        breakdown.set_item(name, value)?;
    }
    d.set_item(intern!(py, "breakdown"), breakdown)?;
    d.set_item(intern!(py, "team_reward"), r.team_reward)?;
    d.set_item(intern!(py, "oversight_reward"), r.oversight_reward)?;
    let f = &r.flags;
    let flags = PyDict::new(py);
    flags.set_item(intern!(py, "resolved"), f.resolved)?;
    flags.set_item(intern!(py, "wrong_fix"), f.wrong_fix)?;
    flags.set_item(intern!(py, "cascade_triggered"), f.cascade_triggered)?;
    flags.set_item(
        intern!(py, "rogue_flagged_correctly"),
        f.rogue_flagged_correctly,
    )?;
    flags.set_item(
        intern!(py, "rogue_flagged_incorrectly"),
        f.rogue_flagged_incorrectly,
    )?;
    flags.set_item(intern!(py, "root_cause_correct"), f.root_cause_correct)?;
    flags.set_item(intern!(py, "miscommunication"), f.miscommunication)?;
    d.set_item(intern!(py, "flags"), flags)?;
    d.set_item(intern!(py, "done"), r.done)?;
    d.set_item(intern!(py, "step"), r.step)?;
    d.set_item(intern!(py, "next_role"), name!(py, Role, r.next_role))?;
    Ok(d)
}

/// `{"observation": {"view", "step", "turn_role", "message", "last_step"}, "reward", "done"}`.
pub(crate) fn observation<'py>(
    py: Python<'py>,
    data: &ObservationData<'_>,
) -> PyResult<Bound<'py, PyDict>> {
    let o = &data.observation;
    let inner = PyDict::new(py);
    inner.set_item(intern!(py, "view"), view(py, &o.view)?)?;
    inner.set_item(intern!(py, "step"), o.step)?;
    inner.set_item(intern!(py, "turn_role"), name!(py, Role, o.turn_role))?;
    inner.set_item(intern!(py, "message"), o.message.to_string())?;
    match &data.last_step {
        Some(r) => inner.set_item(intern!(py, "last_step"), record(py, r)?)?,
        None => inner.set_item(intern!(py, "last_step"), py.None())?,
    }
    let d = PyDict::new(py);
    d.set_item(intern!(py, "observation"), inner)?;
    d.set_item(intern!(py, "reward"), o.reward)?;
    d.set_item(intern!(py, "done"), o.done)?;
    Ok(d)
}
