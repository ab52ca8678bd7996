//! Evaluations from Python: scripted policies (played on Rust threads) and Python policies
//! (a callable over numeric observations, asked a batch of episodes at a time), with the
//! episode list, records and aggregates of `chaosops eval`; and the merge of shards.

use std::collections::BTreeSet;
use std::io::{BufWriter, Cursor, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use chaosops_eval::batch::{play_batched, BatchActor, BatchError};
use chaosops_eval::eval::{
    self, merge_shards, merge_tallied, play_range_with, play_scenario, EvalConfig, Plan,
    RunControl, RunInfo, Shard, TalliedShard, Tally,
};
use chaosops_model::Difficulty;
use chaosops_roles::{PolicyKind, Team};
use numpy::{PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{raise, Kind};
use crate::{registry, table};

/// A policy of a Python evaluation.
enum Source {
    /// A built-in policy, played in Rust.
    Scripted(PolicyKind),
    /// A Python callable over (observations, masks) batches, with its name and lanes.
    Callable {
        name: &'static str,
        func: Py<PyAny>,
        lanes: usize,
    },
}

impl Source {
    fn name(&self) -> &'static str {
        match self {
            Source::Scripted(kind) => kind.as_str(),
            Source::Callable { name, .. } => name,
        }
    }
}

/// Policy names live as long as the process: records hold `&'static str`. Each distinct
/// name is leaked once.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// A Python batch callable as a [`BatchActor`]. The two arrays it is handed are allocated
/// once and refilled before each call (as the vector environment's are), so a turn of the
/// batch creates no Python objects but the policy's own.
struct PyActor<'py> {
    func: &'py Bound<'py, PyAny>,
    observations: Bound<'py, PyArray2<f32>>,
    masks: Bound<'py, PyArray2<i8>>,
    lanes: usize,
}

impl<'py> PyActor<'py> {
    fn new(py: Python<'py>, func: &'py Bound<'py, PyAny>, lanes: usize, width: usize) -> Self {
        PyActor {
            func,
            observations: PyArray2::zeros(py, [lanes, chaosops_rl::OBS_LEN], false),
            masks: PyArray2::zeros(py, [lanes, width], false),
            lanes,
        }
    }
}

impl BatchActor for PyActor<'_> {
    type Error = PyErr;

    fn act(&mut self, observations: &[f32], masks: &[i8], actions: &mut [i64]) -> PyResult<()> {
        // The arrays are C-contiguous (made here); a policy that reshaped them in place
        // gets an error rather than a crash.
        let refill_error = |_| {
            raise(
                Kind::InvalidArgument,
                "a policy changed the arrays it was handed",
            )
        };
        self.observations
            .readwrite()
            .as_slice_mut()
            .map_err(refill_error)?
            .copy_from_slice(observations);
        self.masks
            .readwrite()
            .as_slice_mut()
            .map_err(refill_error)?
            .copy_from_slice(masks);
        let chosen = self.func.call1((&self.observations, &self.masks))?;
        let chosen: Vec<i64> = chosen.extract().map_err(|_| {
            raise(
                Kind::InvalidArgument,
                format!(
                    "a policy returned {}; expected {} integer action indices (a list or an array)",
                    chosen
                        .repr()
                        .map(|r| r.to_string())
                        .unwrap_or_else(|_| "a value".to_owned()),
                    self.lanes
                ),
            )
        })?;
        if chosen.len() != actions.len() {
            return Err(raise(
                Kind::InvalidArgument,
                format!(
                    "a policy returned {} action indices for a batch of {}",
                    chosen.len(),
                    actions.len()
                ),
            ));
        }
        actions.copy_from_slice(&chosen);
        Ok(())
    }
}

fn eval_error(e: eval::EvalError) -> PyErr {
    raise(Kind::Config, e.to_string())
}

fn pretty(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// What an evaluation returns to Python: `run.json`, `evaluation.json`, the summary, the
/// records (`episodes.jsonl`) unless they were written to a file, and the tally (JSON), which
/// lets a merge skip reading the records back.
type Outcome<'py> = (String, String, String, Bound<'py, PyBytes>, String);

fn outcome<'py>(info: &RunInfo, tally: &Tally, records: Bound<'py, PyBytes>) -> Outcome<'py> {
    let evaluation = tally.finish(info);
    (
        pretty(info),
        pretty(&evaluation),
        eval::render_summary(&evaluation),
        records,
        serde_json::to_string(tally).unwrap_or_default(),
    )
}

/// Plays the evaluation of `policies` (each a built-in name, or a tuple (name, callable,
/// lanes)) on the curriculum lists of `tiers`, shard `shard` = (k, n) of the list.
/// Records go to `records_path` when given, else they are returned.
#[pyfunction]
#[pyo3(signature = (policies, tiers, episodes_per_type, seed_offset, shard, threads, records_path=None, variation="none", split="all"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate<'py>(
    py: Python<'py>,
    policies: Vec<Bound<'py, PyAny>>,
    tiers: Vec<String>,
    episodes_per_type: u32,
    seed_offset: u64,
    shard: (u32, u32),
    threads: usize,
    records_path: Option<std::path::PathBuf>,
    variation: &str,
    split: &str,
) -> PyResult<Outcome<'py>> {
    let variation = variation
        .parse::<chaosops_model::Variation>()
        .map_err(|e| raise(Kind::Config, e.to_string()))?;
    let split = split
        .parse::<chaosops_model::Split>()
        .map_err(|e| raise(Kind::Config, e.to_string()))?;
    let registry = registry()?;
    let table = table()?;
    let mut sources = Vec::with_capacity(policies.len());
    for p in &policies {
        if let Ok(name) = p.extract::<String>() {
            let kind = name
                .parse::<PolicyKind>()
                .map_err(|e| raise(Kind::Config, e.to_string()))?;
            sources.push(Source::Scripted(kind));
        } else {
            let (name, func, lanes): (String, Py<PyAny>, usize) = p.extract()?;
            sources.push(Source::Callable {
                name: intern(&name),
                func,
                lanes: lanes.clamp(1, 1 << 16),
            });
        }
    }
    let mut seen = BTreeSet::new();
    for s in &sources {
        if !seen.insert(s.name()) {
            return Err(raise(
                Kind::Config,
                format!(
                    "policy name \"{}\" is given twice; names must differ",
                    s.name()
                ),
            ));
        }
    }
    let tiers = tiers
        .iter()
        .map(|t| {
            t.parse::<Difficulty>()
                .map_err(|e| raise(Kind::Config, e.to_string()))
        })
        .collect::<PyResult<Vec<_>>>()?;
    if !(1..=eval::MAX_EPISODES_PER_TYPE).contains(&episodes_per_type) {
        return Err(raise(
            Kind::Config,
            format!(
                "episodes_per_type {episodes_per_type} is out of range; allowed: 1..={}",
                eval::MAX_EPISODES_PER_TYPE
            ),
        ));
    }
    let shard =
        Shard::parse(&format!("{}/{}", shard.0, shard.1)).map_err(|e| raise(Kind::Config, e))?;
    let config = EvalConfig {
        policies: sources,
        tiers,
        episodes_per_type,
        seed_offset,
        variation,
        split,
    };
    let plan = Plan::new(registry, &config);
    let info = RunInfo::named(&plan, shard, |s| s.name());
    let range = info.range();
    let per_policy = plan.len() / config.policies.len().max(1) as u64;
    let mut tally = Tally::new(&info);
    let mut sink: Box<dyn Write + Send> = match &records_path {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path).map_err(|e| {
                raise(
                    Kind::Config,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?,
        )),
        None => Box::new(Vec::<u8>::new()),
    };
    let mut records = Vec::new();
    let stop = AtomicBool::new(false);
    let threads = NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN);
    for (p, source) in config.policies.iter().enumerate() {
        let mine =
            (p as u64 * per_policy).max(range.start)..((p as u64 + 1) * per_policy).min(range.end);
        if mine.start >= mine.end {
            continue;
        }
        let mut write = |line: &[u8]| -> std::io::Result<()> {
            if records_path.is_some() {
                sink.write_all(line)
            } else {
                records.extend_from_slice(line);
                Ok(())
            }
        };
        match source {
            Source::Scripted(kind) => {
                let kind = *kind;
                let control = RunControl {
                    threads,
                    progress: &|| {},
                    stop: &stop,
                    records: true,
                };
                py.detach(|| {
                    play_range_with(&plan, mine, &control, &mut tally, &mut write, &|job| {
                        let team = Team::uniform(kind, job.scenario.seed);
                        play_scenario(registry, job.index, kind.as_str(), team, &job.scenario)
                    })
                })
                .map_err(eval_error)?;
            }
            Source::Callable { name, func, lanes } => {
                let func = func.bind(py);
                let mut actor = PyActor::new(py, func, *lanes, table.len());
                play_batched(
                    registry, &table, &plan, mine, *lanes, name, &mut actor, &mut tally, &mut write,
                )
                .map_err(|e| match e {
                    BatchError::Policy(e) => e,
                    BatchError::Eval(e) => eval_error(e),
                    bad @ BatchError::BadAction { .. } => {
                        raise(Kind::InvalidAction, bad.to_string())
                    }
                })?;
            }
        }
    }
    sink.flush()
        .map_err(|e| raise(Kind::Config, format!("cannot write the records: {e}")))?;
    Ok(outcome(&info, &tally, PyBytes::new(py, &records)))
}

/// Merges shard outputs: `runs` (each `run.json` text) and `records` (each shard's
/// `episodes.jsonl` bytes), in any order, into the whole run's `run.json`,
/// `evaluation.json`, summary and records, as `chaosops eval merge` writes them. With
/// `tallies` (each shard's, as its evaluation returned it), the records are checked and
/// copied instead of parsed.
#[pyfunction]
#[pyo3(signature = (runs, records, tallies=None))]
pub(crate) fn merge_shard_outputs<'py>(
    py: Python<'py>,
    runs: Vec<String>,
    records: Vec<Bound<'py, PyBytes>>,
    tallies: Option<Vec<String>>,
) -> PyResult<Outcome<'py>> {
    if runs.len() != records.len() || tallies.as_ref().is_some_and(|t| t.len() != runs.len()) {
        return Err(raise(
            Kind::InvalidArgument,
            format!(
                "{} run descriptions for {} record sets and {} tallies",
                runs.len(),
                records.len(),
                tallies.as_ref().map_or(0, Vec::len)
            ),
        ));
    }
    let mut infos = Vec::with_capacity(runs.len());
    for (i, run) in runs.iter().enumerate() {
        let info: RunInfo = serde_json::from_str(run).map_err(|e| {
            raise(
                Kind::InvalidArgument,
                format!("run {i} is not a run description: {e}"),
            )
        })?;
        infos.push(info);
    }
    let Some(first) = infos.first() else {
        return Err(raise(Kind::InvalidArgument, "no shard to merge"));
    };
    let whole = RunInfo {
        shard: Shard::WHOLE,
        ..first.clone()
    };
    let name = |info: &RunInfo| format!("shard {}", info.shard);
    // Borrowed, not copied: bytes objects are immutable.
    let records: Vec<&[u8]> = records.iter().map(|r| r.as_bytes()).collect();
    let shards_tallied = match tallies {
        Some(tallies) => {
            let mut shards = Vec::with_capacity(infos.len());
            for (i, ((info, recs), tally)) in infos.iter().zip(&records).zip(tallies).enumerate() {
                let tally: Tally = serde_json::from_str(&tally).map_err(|e| {
                    raise(
                        Kind::InvalidArgument,
                        format!("tally {i} is not a tally: {e}"),
                    )
                })?;
                shards.push(TalliedShard {
                    name: name(info),
                    info: info.clone(),
                    tally,
                    records: recs,
                });
            }
            Some(shards)
        }
        None => None,
    };
    // A complete merge writes every input byte once, in shard order: the output is written
    // straight into the bytes object returned.
    let len = records.iter().map(|r| r.len()).sum();
    let merge_into = |buf: &mut [u8]| -> Result<Tally, String> {
        let mut cursor: &mut [u8] = buf;
        let merged = match shards_tallied {
            Some(shards) => merge_tallied(&whole, shards, &mut cursor),
            None => {
                let shards = infos
                    .iter()
                    .zip(&records)
                    .map(|(info, recs)| (info.clone(), Cursor::new(*recs), name(info)))
                    .collect();
                merge_shards(&whole, shards, &mut cursor)
            }
        }
        .map_err(|e| e.to_string())?;
        if !cursor.is_empty() {
            return Err(format!(
                "{} bytes of the records are not whole episode records",
                cursor.len()
            ));
        }
        Ok(merged)
    };
    let mut tally = None;
    let out = PyBytes::new_with(py, len, |buf| {
        let merged = py
            .detach(|| merge_into(buf))
            .map_err(|e| raise(Kind::Config, e))?;
        tally = Some(merged);
        Ok(())
    })?;
    let tally = tally.ok_or_else(|| raise(Kind::Config, "the merge did not finish"))?;
    Ok(outcome(&whole, &tally, out))
}
