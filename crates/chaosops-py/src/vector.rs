//! `chaosops.VecEnv`: N environments stepped in one call into NumPy arrays (the env's own,
//! or arrays the caller passes), with the GIL released while Rust works.

use std::sync::Mutex;

use chaosops_model::Role;
use chaosops_rl::{VecBuffers, VecEnv, VecMode, OBS_LEN};
use chaosops_roles::PolicyKind;
use numpy::ndarray::Dimension;
use numpy::{
    Element, PyArray, PyArray1, PyArray2, PyArrayMethods, PyReadwriteArray1, PyReadwriteArray2,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

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
    own: Own,
    /// Environments, actions, rewards per environment: fixed at construction, and kept here
    /// so a call checks the own arrays without taking the lock with the GIL held.
    dims: (usize, usize, usize),
}

/// The output arrays the env owns (`VecEnv.buffers`), written when a call passes none.
///
/// They are written through raw slices rather than rust-numpy's tracked borrows, which cost
/// about 45 ns per array and call (half of a 64-environment step's Python overhead). That is
/// sound for the env's own arrays: they are created here and no Rust code borrows them
/// otherwise; every call checks their size, layout and flags under the GIL and makes the
/// slices only on the env's lock, which serialises the calls that write them. As with any
/// NumPy array a native call writes with the GIL released, another Python thread reading them
/// during that call sees values in flux.
struct Own {
    obs: Py<PyArray2<f32>>,
    masks: Py<PyArray2<i8>>,
    rewards: Py<PyArray2<f64>>,
    terminated: Py<PyArray1<bool>>,
    truncated: Py<PyArray1<bool>>,
}

impl Own {
    fn new(py: Python<'_>, (n, n_actions, width): (usize, usize, usize)) -> Self {
        Own {
            obs: PyArray2::zeros(py, [n, OBS_LEN], false).unbind(),
            masks: PyArray2::zeros(py, [n, n_actions], false).unbind(),
            rewards: PyArray2::zeros(py, [n, width], false).unbind(),
            terminated: PyArray1::zeros(py, n, false).unbind(),
            truncated: PyArray1::zeros(py, n, false).unbind(),
        }
    }
}

/// Where one of the env's own arrays holds its `len` values, or an error naming it when it
/// was resized, made non-contiguous or made read-only since.
fn own_ptr<T: Element, D: Dimension>(
    array: &Bound<'_, PyArray<T, D>>,
    name: &str,
    len: usize,
) -> PyResult<Raw<T>> {
    // SAFETY: reading the flags of a live array object (the GIL is held).
    let flags =
        unsafe { (*numpy::npyffi::objects::_PyArray_GET_ITEM_DATA(array.as_array_ptr())).flags };
    let writeable = flags & numpy::npyffi::flags::NPY_ARRAY_WRITEABLE != 0;
    let aligned = flags & numpy::npyffi::flags::NPY_ARRAY_ALIGNED != 0;
    if array.len() != len || !array.is_c_contiguous() || !writeable || !aligned {
        return Err(raise(
            Kind::InvalidArgument,
            format!(
                "the env's own {name} array (VecEnv.buffers) must stay a writeable, \
                 C-contiguous array of {len} values; pass arrays of your own instead"
            ),
        ));
    }
    Ok(Raw(array.data(), len))
}

/// The data pointer and length of one of the env's own arrays.
struct Raw<T>(*mut T, usize);

/// The env's own five arrays, checked under the GIL, to be written on the env's lock.
struct OwnRaw {
    obs: Raw<f32>,
    masks: Raw<i8>,
    rewards: Raw<f64>,
    terminated: Raw<bool>,
    truncated: Raw<bool>,
}

// SAFETY: the pointers address arrays `Own` keeps alive for the whole call; they are turned
// into slices only on the env's lock (see `Own`).
unsafe impl Send for OwnRaw {}

impl OwnRaw {
    /// The arrays as buffers.
    ///
    /// # Safety
    /// The env's lock must be held for the buffers' whole use, and the arrays alive.
    unsafe fn buffers(&mut self) -> VecBuffers<'_> {
        fn slice<T>(r: &mut Raw<T>) -> &mut [T] {
            // SAFETY: a checked, aligned, contiguous, writeable array of `r.1` values that no
            // other reference addresses while the lock is held (the caller's contract).
            unsafe { std::slice::from_raw_parts_mut(r.0, r.1) }
        }
        VecBuffers {
            obs: slice(&mut self.obs),
            masks: slice(&mut self.masks),
            rewards: slice(&mut self.rewards),
            terminated: slice(&mut self.terminated),
            truncated: slice(&mut self.truncated),
        }
    }
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

    /// Runs `f` like [`PyVecEnv::run`], on the env's own arrays.
    fn run_own(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut VecEnv, VecBuffers<'_>) -> Result<(), chaosops_rl::RlError> + Send,
    ) -> PyResult<()> {
        let (own, (n, n_actions, width)) = (&self.own, self.dims);
        let mut raw = OwnRaw {
            obs: own_ptr(own.obs.bind(py), "obs", n * OBS_LEN)?,
            masks: own_ptr(own.masks.bind(py), "masks", n * n_actions)?,
            rewards: own_ptr(own.rewards.bind(py), "rewards", n * width)?,
            terminated: own_ptr(own.terminated.bind(py), "terminated", n)?,
            truncated: own_ptr(own.truncated.bind(py), "truncated", n)?,
        };
        py.detach(|| {
            let mut env = self.lock();
            // SAFETY: the lock is held until the buffers are gone; `self.own` keeps the arrays.
            let buffers = unsafe { raw.buffers() };
            f(&mut env, buffers)
        })
        .map_err(errors::rl)
    }

    /// Runs `f` on the caller's five arrays, or on the env's own when none is given.
    fn run_either(
        &self,
        py: Python<'_>,
        arrays: Option<Arrays<'_, '_>>,
        f: impl FnOnce(&mut VecEnv, VecBuffers<'_>) -> Result<(), chaosops_rl::RlError> + Send,
    ) -> PyResult<()> {
        match arrays {
            Some(arrays) => self.run(py, arrays, f),
            None => self.run_own(py, f),
        }
    }
}

/// The caller's arrays, as keyword or positional arguments: all five, or none.
type OptArrays<'py> = (
    Option<PyReadwriteArray2<'py, f32>>,
    Option<PyReadwriteArray2<'py, i8>>,
    Option<PyReadwriteArray2<'py, f64>>,
    Option<PyReadwriteArray1<'py, bool>>,
    Option<PyReadwriteArray1<'py, bool>>,
);

/// Runs `go` with all five arrays, or with none; an error naming the missing ones otherwise.
fn with_arrays<'py, R>(
    arrays: OptArrays<'py>,
    go: impl FnOnce(Option<Arrays<'_, 'py>>) -> PyResult<R>,
) -> PyResult<R> {
    match arrays {
        (None, None, None, None, None) => go(None),
        (Some(mut o), Some(mut m), Some(mut r), Some(mut te), Some(mut tr)) => {
            go(Some((&mut o, &mut m, &mut r, &mut te, &mut tr)))
        }
        (o, m, r, te, tr) => {
            let missing: Vec<&str> = [
                ("obs", o.is_none()),
                ("masks", m.is_none()),
                ("rewards", r.is_none()),
                ("terminated", te.is_none()),
                ("truncated", tr.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, none)| none.then_some(name))
            .collect();
            Err(raise(
                Kind::InvalidArgument,
                format!(
                    "pass all five output arrays or none (then the env's own, \
                     VecEnv.buffers); missing: {}",
                    missing.join(", ")
                ),
            ))
        }
    }
}

/// Most actions a step copies on the stack (more are copied to the heap).
const ACTIONS_ON_STACK: usize = 256;

#[pymethods]
impl PyVecEnv {
    #[new]
    #[pyo3(signature = (num_envs, *, seat=None, others=None, threads=None, failure_types=None, tiers=None, max_steps=None, reward="reference", variation="none", split="all"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
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
        let dims = (num_envs, inner.table().len(), mode.reward_width());
        Ok(PyVecEnv {
            own: Own::new(py, dims),
            dims,
            inner: Mutex::new(inner),
        })
    }

    /// Resets every environment (environment `i` plays seed `seed + i`) into the five arrays
    /// given, or into the env's own (`buffers`) when none is.
    #[pyo3(signature = (seed, obs=None, masks=None, rewards=None, terminated=None, truncated=None))]
    #[allow(clippy::too_many_arguments)]
    fn reset<'py>(
        &self,
        py: Python<'py>,
        seed: &Bound<'py, PyAny>,
        obs: Option<PyReadwriteArray2<'py, f32>>,
        masks: Option<PyReadwriteArray2<'py, i8>>,
        rewards: Option<PyReadwriteArray2<'py, f64>>,
        terminated: Option<PyReadwriteArray1<'py, bool>>,
        truncated: Option<PyReadwriteArray1<'py, bool>>,
    ) -> PyResult<()> {
        let seed = convert::seed(Some(seed))?.unwrap_or(0);
        with_arrays((obs, masks, rewards, terminated, truncated), |arrays| {
            self.run_either(py, arrays, |env, buffers| env.reset(seed, buffers))
        })
    }

    /// Steps every environment with its action (int64 table indices) into the five arrays
    /// given, or into the env's own (`buffers`) when none is.
    #[pyo3(signature = (actions, obs=None, masks=None, rewards=None, terminated=None, truncated=None))]
    #[allow(clippy::too_many_arguments)]
    fn step<'py>(
        &self,
        py: Python<'py>,
        actions: Bound<'py, PyArray1<i64>>,
        obs: Option<PyReadwriteArray2<'py, f32>>,
        masks: Option<PyReadwriteArray2<'py, i8>>,
        rewards: Option<PyReadwriteArray2<'py, f64>>,
        terminated: Option<PyReadwriteArray1<'py, bool>>,
        truncated: Option<PyReadwriteArray1<'py, bool>>,
    ) -> PyResult<()> {
        // The actions are copied while the GIL is held (as rust-numpy's own `to_vec` reads),
        // so the step, run without the GIL, reads a copy nobody else can write; copying 64
        // indices costs less than registering and releasing a tracked borrow.
        // SAFETY: read under the GIL; nothing of ours holds a mutable borrow of an int64 array.
        let given = unsafe { actions.as_slice() }.map_err(|_| {
            raise(
                Kind::InvalidArgument,
                format!(
                    "actions must be a contiguous int64 array of {} values",
                    self.num_envs()
                ),
            )
        })?;
        // Left uninitialised: zeroing 2 KiB at every call costs more than copying 64 indices.
        let mut on_stack = [std::mem::MaybeUninit::<i64>::uninit(); ACTIONS_ON_STACK];
        let on_heap: Vec<i64>;
        let actions: &[i64] = if given.len() <= ACTIONS_ON_STACK {
            let to = on_stack.as_mut_ptr().cast::<i64>();
            // SAFETY: `given.len()` values fit the array, which `given` cannot overlap; the
            // slice returned covers exactly the values just written.
            unsafe {
                std::ptr::copy_nonoverlapping(given.as_ptr(), to, given.len());
                std::slice::from_raw_parts(to, given.len())
            }
        } else {
            on_heap = given.to_vec();
            &on_heap
        };
        with_arrays((obs, masks, rewards, terminated, truncated), |arrays| {
            self.run_either(py, arrays, |env, buffers| env.step(actions, buffers))
        })
    }

    /// The env's own output arrays, `(obs, masks, rewards, terminated, truncated)`: the same
    /// five arrays every time, rewritten by each `reset` or `step` called without arrays.
    #[getter]
    fn buffers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let own = &self.own;
        PyTuple::new(
            py,
            [
                own.obs.bind(py).as_any(),
                own.masks.bind(py).as_any(),
                own.rewards.bind(py).as_any(),
                own.terminated.bind(py).as_any(),
                own.truncated.bind(py).as_any(),
            ],
        )
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
