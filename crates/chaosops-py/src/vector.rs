//! `chaosops.VecEnv`: N environments stepped in one call into NumPy arrays the caller owns,
//! with the GIL released while Rust works.

use std::sync::Mutex;

use chaosops_model::Role;
use chaosops_rl::{VecBuffers, VecEnv, VecMode};
use chaosops_roles::PolicyKind;
use numpy::{PyReadonlyArray1, PyReadwriteArray1, PyReadwriteArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert;
use crate::errors::{self, raise, Kind};

/// Most environments one vector env holds.
const MAX_ENVS: usize = 1 << 16;
/// Most worker threads one vector env starts.
const MAX_THREADS: usize = 256;

/// N environments in turn mode (every role is the caller's) or seat mode (one learner role).
#[pyclass(module = "chaosops._native", name = "VecEnv")]
pub(crate) struct PyVecEnv {
    inner: Mutex<VecEnv>,
}

fn policy_kind(name: &str) -> PyResult<PolicyKind> {
    name.parse::<PolicyKind>()
        .map_err(|e| raise(Kind::Config, format!("others: {e}")))
}

/// `others` as one policy name for every seat, or a dict role -> name (missing roles: noop).
fn others(obj: Option<&Bound<'_, PyAny>>) -> PyResult<[PolicyKind; Role::COUNT]> {
    let Some(obj) = obj else {
        return Ok([PolicyKind::Noop; Role::COUNT]);
    };
    if let Ok(name) = obj.cast::<PyString>() {
        return Ok([policy_kind(name.to_str()?)?; Role::COUNT]);
    }
    let dict = obj.cast::<PyDict>().map_err(|_| {
        raise(
            Kind::Config,
            format!("others: expected a policy name or a dict role -> policy name, got {obj}"),
        )
    })?;
    let mut out = [PolicyKind::Noop; Role::COUNT];
    for (k, v) in dict.iter() {
        let role = convert::role(k.extract::<&str>()?)
            .map_err(|e| raise(Kind::Config, format!("others: {e}")))?;
        out[role.index()] = policy_kind(v.extract::<&str>()?)?;
    }
    Ok(out)
}

pub(crate) fn seat_mode(
    seat: Option<&str>,
    others_obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<VecMode> {
    Ok(match seat {
        None => VecMode::Turn,
        Some(s) => VecMode::Seat {
            seat: convert::role(s).map_err(|e| raise(Kind::Config, format!("seat: {e}")))?,
            others: others(others_obj)?,
        },
    })
}

fn slice_mut<'a, T: numpy::Element, D: numpy::ndarray::Dimension>(
    a: &'a mut numpy::PyReadwriteArray<'_, T, D>,
    name: &str,
    dtype: &str,
) -> PyResult<&'a mut [T]> {
    a.as_slice_mut().map_err(|_| {
        raise(
            Kind::InvalidArgument,
            format!("{name} must be a C-contiguous {dtype} array"),
        )
    })
}

/// The five output arrays of a vector call.
type Arrays<'a, 'py> = (
    &'a mut PyReadwriteArray2<'py, f32>,
    &'a mut PyReadwriteArray2<'py, i8>,
    &'a mut PyReadwriteArray2<'py, f64>,
    &'a mut PyReadwriteArray1<'py, bool>,
    &'a mut PyReadwriteArray1<'py, bool>,
);

impl PyVecEnv {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecEnv> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the vector env and the arrays as buffers, with the GIL released.
    fn run(
        &self,
        py: Python<'_>,
        (obs, masks, rewards, terminated, truncated): Arrays<'_, '_>,
        f: impl FnOnce(&mut VecEnv, VecBuffers<'_>) -> Result<(), chaosops_rl::RlError> + Send,
    ) -> PyResult<()> {
        let buffers = VecBuffers {
            obs: slice_mut(obs, "obs", "float32")?,
            masks: slice_mut(masks, "masks", "int8")?,
            rewards: slice_mut(rewards, "rewards", "float64")?,
            terminated: slice_mut(terminated, "terminated", "bool")?,
            truncated: slice_mut(truncated, "truncated", "bool")?,
        };
        py.detach(|| f(&mut self.lock(), buffers))
            .map_err(errors::rl)
    }
}

#[pymethods]
impl PyVecEnv {
    #[new]
    #[pyo3(signature = (num_envs, *, seat=None, others=None, threads=None, failure_types=None, tiers=None, max_steps=None, reward="reference", variation="none", split="all"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        num_envs: &Bound<'_, PyAny>,
        seat: Option<&str>,
        others: Option<&Bound<'_, PyAny>>,
        threads: Option<&Bound<'_, PyAny>>,
        failure_types: Option<Vec<String>>,
        tiers: Option<Vec<String>>,
        max_steps: Option<&Bound<'_, PyAny>>,
        reward: &str,
        variation: &str,
        split: &str,
    ) -> PyResult<Self> {
        let num_envs: usize =
            convert::int_in(num_envs, "num_envs", 1, MAX_ENVS as i128, Kind::Config)?;
        let threads: usize =
            convert::opt_int_in(threads, "threads", 1, MAX_THREADS as i128, Kind::Config)?
                .unwrap_or(1);
        let source = convert::source(failure_types, tiers, max_steps, reward, variation, split)?;
        let mode = seat_mode(seat, others)?;
        let inner =
            VecEnv::new(source, crate::table()?, mode, num_envs, threads).map_err(errors::rl)?;
        Ok(PyVecEnv {
            inner: Mutex::new(inner),
        })
    }

    /// Resets every environment (environment `i` plays seed `seed + i`) into the buffers.
    #[allow(clippy::too_many_arguments)]
    fn reset<'py>(
        &self,
        py: Python<'py>,
        seed: &Bound<'py, PyAny>,
        mut obs: PyReadwriteArray2<'py, f32>,
        mut masks: PyReadwriteArray2<'py, i8>,
        mut rewards: PyReadwriteArray2<'py, f64>,
        mut terminated: PyReadwriteArray1<'py, bool>,
        mut truncated: PyReadwriteArray1<'py, bool>,
    ) -> PyResult<()> {
        let seed = convert::seed(Some(seed))?.unwrap_or(0);
        let arrays = (
            &mut obs,
            &mut masks,
            &mut rewards,
            &mut terminated,
            &mut truncated,
        );
        self.run(py, arrays, |env, buffers| env.reset(seed, buffers))
    }

    /// Steps every environment with its action (int64 table indices) into the buffers.
    #[allow(clippy::too_many_arguments)]
    fn step<'py>(
        &self,
        py: Python<'py>,
        actions: PyReadonlyArray1<'py, i64>,
        mut obs: PyReadwriteArray2<'py, f32>,
        mut masks: PyReadwriteArray2<'py, i8>,
        mut rewards: PyReadwriteArray2<'py, f64>,
        mut terminated: PyReadwriteArray1<'py, bool>,
        mut truncated: PyReadwriteArray1<'py, bool>,
    ) -> PyResult<()> {
        let actions = actions.as_slice().map_err(|_| {
            raise(
                Kind::InvalidArgument,
                format!(
                    "actions must be a contiguous int64 array of {} values",
                    self.num_envs()
                ),
            )
        })?;
        let arrays = (
            &mut obs,
            &mut masks,
            &mut rewards,
            &mut terminated,
            &mut truncated,
        );
        self.run(py, arrays, |env, buffers| env.step(actions, buffers))
    }

    /// The seed of the episode each environment plays.
    fn episode_seeds(&self) -> Vec<u64> {
        let env = self.lock();
        (0..env.num_envs())
            .map(|i| env.episode_seed(i).unwrap_or(0))
            .collect()
    }

    /// Number of environments.
    #[getter]
    fn num_envs(&self) -> usize {
        self.lock().num_envs()
    }

    /// Number of actions in the action table.
    #[getter]
    fn num_actions(&self) -> usize {
        self.lock().table().len()
    }

    /// Rewards per environment: 4 in turn mode (sre, oversight, dev, manager), 1 in seat mode.
    #[getter]
    fn reward_width(&self) -> usize {
        self.lock().mode().reward_width()
    }

    /// The learner's role in seat mode, else None.
    #[getter]
    fn seat(&self) -> Option<&'static str> {
        match self.lock().mode() {
            VecMode::Seat { seat, .. } => Some(seat.as_str()),
            VecMode::Turn => None,
        }
    }
}
