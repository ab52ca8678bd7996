//! `chaosops.Env`: the turn-based environment, with dict observations (the server's JSON)
//! and a numeric fast path.

use chaosops_model::{Action, ObservationData, Role, ScenarioSpec, StepRecord};
use chaosops_rl::{nth_seed, TurnEnv, TurnOutcome, OBS_LEN};
use chaosops_roles::{transcript, EpisodeResult, EpisodeStep};
use numpy::{PyReadwriteArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert::{self, to_py, ActionInput};
use crate::errors::{self, raise, Kind};

/// An action of the history: a table index (no allocation) or an explicit action.
enum Hist {
    Index(u32),
    Action(Action),
}

/// One episode at a time, one role's turn per step (SRE, Oversight, Dev, Manager).
#[pyclass(module = "chaosops._native", name = "Env")]
pub(crate) struct PyEnv {
    turn: TurnEnv,
    history: Vec<(Hist, StepRecord)>,
    seed: u64,
    episodes: u64,
}

pub(crate) fn obs_slice<'a>(
    buf: &'a mut PyReadwriteArray1<'_, f32>,
    name: &str,
) -> PyResult<&'a mut [f32]> {
    let len = buf.len();
    let s = buf.as_slice_mut().map_err(|_| {
        raise(
            Kind::InvalidArgument,
            format!("{name} must be a C-contiguous float32 array"),
        )
    })?;
    if len != OBS_LEN {
        return Err(raise(
            Kind::InvalidArgument,
            format!("{name} holds {len} values; {OBS_LEN} are needed"),
        ));
    }
    Ok(s)
}

fn outcome_tuple<'py>(py: Python<'py>, o: &TurnOutcome) -> PyResult<Bound<'py, PyTuple>> {
    (o.team, o.oversight, o.terminated, o.truncated).into_pyobject(py)
}

impl PyEnv {
    fn env(&self) -> PyResult<&chaosops_sim::Environment> {
        self.turn
            .environment()
            .ok_or_else(|| errors::rl(chaosops_rl::RlError::NotReset))
    }

    fn role_or_current(&self, role: Option<&str>) -> PyResult<Role> {
        match role {
            Some(r) => convert::role(r),
            None => Ok(self.env()?.current_role()),
        }
    }

    fn observation_data(&self, role: Role) -> PyResult<ObservationData<'_>> {
        let env = self.env()?;
        Ok(ObservationData {
            observation: env.observation_for(role),
            last_step: self.history.last().map(|(_, r)| *r),
        })
    }

    fn observation_dict<'py>(&self, py: Python<'py>, role: Role) -> PyResult<Bound<'py, PyAny>> {
        Ok(crate::pydict::observation(py, &self.observation_data(role)?)?.into_any())
    }

    fn history_actions(&self) -> Vec<Action> {
        let table = self.turn.table();
        self.history
            .iter()
            .map(|(h, _)| match h {
                Hist::Index(i) => table.actions()[*i as usize].action().clone(),
                Hist::Action(a) => a.clone(),
            })
            .collect()
    }

    fn scenario_spec(&self) -> PyResult<ScenarioSpec> {
        Ok(self.env()?.simulator().scenario().spec())
    }

    fn play(&mut self, input: ActionInput) -> PyResult<TurnOutcome> {
        match input {
            ActionInput::Index(i) => {
                let o = self.turn.step_index(i).map_err(errors::rl)?;
                self.history.push((Hist::Index(i as u32), o.record));
                Ok(o)
            }
            ActionInput::Action(a) => {
                let o = self.turn.step(&a).map_err(errors::rl)?;
                self.history.push((Hist::Action(a), o.record));
                Ok(o)
            }
        }
    }
}

#[pymethods]
impl PyEnv {
    #[new]
    #[pyo3(signature = (*, failure_types=None, tiers=None, max_steps=None, reward="reference", variation="none", split="all"))]
    fn new(
        failure_types: Option<Vec<String>>,
        tiers: Option<Vec<String>>,
        max_steps: Option<&Bound<'_, PyAny>>,
        reward: &str,
        variation: &str,
        split: &str,
    ) -> PyResult<Self> {
        let source = convert::source(failure_types, tiers, max_steps, reward, variation, split)?;
        Ok(PyEnv {
            turn: TurnEnv::new(source, crate::table()?),
            history: Vec::new(),
            seed: 0,
            episodes: 0,
        })
    }

    /// Starts an episode and returns the first observation (the server's JSON as a dict).
    #[pyo3(signature = (seed=None, *, scenario=None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seed: Option<&Bound<'py, PyAny>>,
        scenario: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.reset_only(seed, scenario)?;
        let role = self.env()?.current_role();
        self.observation_dict(py, role)
    }

    /// Like `reset` without building the observation dict.
    #[pyo3(signature = (seed=None, *, scenario=None))]
    fn reset_only(
        &mut self,
        seed: Option<&Bound<'_, PyAny>>,
        scenario: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let seed = convert::seed(seed)?;
        match scenario {
            Some(obj) => {
                let spec = convert::scenario_spec(obj)?;
                let scenario = crate::registry()?.scenario(&spec).map_err(errors::sim)?;
                self.turn.reset_to(&scenario).map_err(errors::rl)?;
                self.seed = spec.seed;
            }
            None => {
                let s = match seed {
                    Some(s) => s,
                    None => nth_seed(self.seed, self.episodes.max(1)),
                };
                self.turn.reset(s).map_err(errors::rl)?;
                self.seed = s;
            }
        }
        self.episodes += 1;
        self.history.clear();
        Ok(())
    }

    /// Plays `action` (a table index, an action dict or JSON text) as the role whose turn it
    /// is; returns the next role's observation dict.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = convert::action_input(action)?;
        self.play(input)?;
        let role = self.env()?.current_role();
        self.observation_dict(py, role)
    }

    /// Plays table action `index`; returns (team reward, oversight reward, terminated, truncated).
    fn step_index<'py>(&mut self, py: Python<'py>, index: i64) -> PyResult<Bound<'py, PyTuple>> {
        let o = self.play(ActionInput::Index(index))?;
        outcome_tuple(py, &o)
    }

    /// Plays table action `index` and writes the next role's observation into `obs`;
    /// returns (team reward, oversight reward, terminated, truncated).
    fn step_into<'py>(
        &mut self,
        py: Python<'py>,
        index: i64,
        mut obs: PyReadwriteArray1<'py, f32>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let out = obs_slice(&mut obs, "obs")?;
        let o = self.play(ActionInput::Index(index))?;
        let role = self.env()?.current_role();
        self.turn.encode(role, out).map_err(errors::rl)?;
        outcome_tuple(py, &o)
    }

    /// Writes `role`'s numeric observation (the acting role's by default) into `out`.
    #[pyo3(signature = (out, role=None))]
    fn encode(&mut self, mut out: PyReadwriteArray1<'_, f32>, role: Option<&str>) -> PyResult<()> {
        let role = self.role_or_current(role)?;
        let out = obs_slice(&mut out, "out")?;
        self.turn.encode(role, out).map_err(errors::rl)
    }

    /// The legal-action mask of `role` (the acting role's by default) as a list of 0/1.
    #[pyo3(signature = (role=None))]
    fn action_mask(&self, role: Option<&str>) -> PyResult<Vec<i8>> {
        let role = self.role_or_current(role)?;
        Ok(self.turn.table().mask(role).to_vec())
    }

    /// What `role` (the acting role by default) observes now, as the server sends it.
    #[pyo3(signature = (role=None))]
    fn observe<'py>(&self, py: Python<'py>, role: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        let role = self.role_or_current(role)?;
        self.observation_dict(py, role)
    }

    /// What `role` (the acting role by default) observes now, as the JSON text the server sends.
    #[pyo3(signature = (role=None))]
    fn observe_json(&self, role: Option<&str>) -> PyResult<String> {
        let role = self.role_or_current(role)?;
        serde_json::to_string(&self.observation_data(role)?)
            .map_err(|e| raise(Kind::InvalidArgument, e.to_string()))
    }

    /// `role`'s view alone.
    fn view<'py>(&self, py: Python<'py>, role: &str) -> PyResult<Bound<'py, PyAny>> {
        let role = convert::role(role)?;
        to_py(py, &self.env()?.simulator().project_view(role))
    }

    /// The prompt of `role` (the acting role by default): {"system": ..., "user": ...}.
    #[pyo3(signature = (role=None))]
    fn prompt<'py>(&self, py: Python<'py>, role: Option<&str>) -> PyResult<Bound<'py, PyDict>> {
        let role = self.role_or_current(role)?;
        let env = self.env()?;
        let (system, user) = crate::llm::prompt_pair(env, role)?;
        convert::dict(
            py,
            &[
                ("system", system.into_pyobject(py)?.into_any()),
                ("user", user.into_pyobject(py)?.into_any()),
            ],
        )
    }

    /// The ground-truth state (the server's `state` message).
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.env()?.state())
    }

    /// A readable transcript of the episode so far (as `chaosops run` prints it).
    fn render(&self) -> PyResult<String> {
        let env = self.env()?;
        let steps = self
            .history_actions()
            .into_iter()
            .zip(&self.history)
            .map(|(a, (_, r))| EpisodeStep::new(a, *r, None))
            .collect();
        let result = EpisodeResult::from_env(env.simulator().scenario(), env, steps, None);
        Ok(transcript::render(&result, "external"))
    }

    /// The role whose turn it is.
    #[getter]
    fn current_role(&self) -> PyResult<&'static str> {
        Ok(self.env()?.current_role().as_str())
    }

    /// True when the episode is over (or none was started).
    #[getter]
    fn done(&self) -> bool {
        self.turn.is_done()
    }

    /// True when the incident was resolved.
    #[getter]
    fn resolved(&self) -> PyResult<bool> {
        Ok(self.env()?.state().resolved)
    }

    /// Steps played in this episode.
    #[getter]
    fn step_count(&self) -> PyResult<u32> {
        Ok(self.env()?.state().step_count)
    }

    /// The episode's scenario in the replay format.
    #[getter]
    fn scenario<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.scenario_spec()?)
    }

    /// The actions played so far, as dicts (the replay format's `actions`).
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .history_actions()
            .iter()
            .map(|a| to_py(py, a))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// The step record of the last step, or None after a reset.
    #[getter]
    fn last_step<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.history.last() {
            Some((_, r)) => Ok(crate::pydict::record(py, r)?.into_any()),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Number of actions in the action table.
    #[getter]
    fn num_actions(&self) -> usize {
        self.turn.table().len()
    }

    /// The configuration's candidate (failure type, tier) pairs that `reset(seed)` draws from.
    #[getter]
    fn candidates(&self) -> Vec<(&'static str, &'static str)> {
        self.turn
            .source()
            .candidates()
            .map(|(f, d)| (f, d.as_str()))
            .collect()
    }
}
