//! `chaosops replay`: play recorded action lists through the environment, one episode a line.

use std::io::{self, BufRead, Write};

use chaosops_llm::ParseOutcome;
use chaosops_model::{blend, Action, ScenarioSpec, State, StepRecord};
use chaosops_sim::{Environment, Registry, RewardConfig};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Longest accepted input line, in bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How to replay.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// Team weight of a completion's blended reward, in [0, 1].
    pub team_weight: f64,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions { team_weight: 0.6 }
    }
}

/// One input line: a scenario, the actions to apply in order, and optionally a model's
/// completion for the turn that follows.
#[derive(Deserialize)]
struct Episode<'a> {
    scenario: ScenarioSpec,
    #[serde(borrow)]
    actions: Vec<&'a RawValue>,
    #[serde(default)]
    completion: Option<String>,
}

/// A line may also wrap the episode as `{"input": {...}}`, as the conformance file does.
#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    input: &'a RawValue,
}

/// What the parser made of a completion, with the fields it had to drop.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ParseReport {
    /// Parsed, or fallback with the reason.
    #[serde(flatten)]
    pub outcome: ParseOutcome,
    /// Fields present in the completion but dropped (bad replicas, unknown failure type...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

/// The output of one replayed line.
#[derive(Serialize)]
pub struct Replay {
    /// One record per applied action (the completion's turn last, when there is one).
    pub steps: Vec<StepRecord>,
    /// The state after the last action.
    pub final_state: State,
    /// How the completion was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse: Option<ParseReport>,
    /// The completion turn's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<StepRecord>,
    /// The completion turn's blended reward: W x team + (1 - W) x oversight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blended_reward: Option<f64>,
}

/// A completion scored as the next turn of an episode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompletionScore {
    /// How the completion was read.
    pub parse: ParseReport,
    /// The completion turn's record.
    pub step: StepRecord,
    /// The completion turn's blended reward: W x team + (1 - W) x oversight.
    pub blended_reward: f64,
}

/// Plays `actions` from the start of `spec`'s episode, pushing each record into `steps`
/// when given. Errors name the scenario or the action index.
pub fn play_history<I>(
    registry: &'static Registry,
    spec: &ScenarioSpec,
    actions: I,
    mut steps: Option<&mut Vec<StepRecord>>,
) -> Result<Environment, String>
where
    I: ExactSizeIterator<Item = Result<Action, String>>,
{
    let scenario = registry
        .scenario(spec)
        .map_err(|e| format!("scenario: {e}"))?;
    let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None)
        .map_err(|e| format!("scenario: {e}"))?;
    let total = actions.len();
    for (i, action) in actions.enumerate() {
        if env.is_done() {
            let left = total - i;
            let state = env.state();
            let how = if state.resolved {
                "resolved"
            } else {
                "out of steps"
            };
            return Err(format!(
                "actions[{i}]: the episode ended at step {} ({how}) but {left} more action(s) follow",
                state.step_count
            ));
        }
        let action = action.map_err(|e| format!("actions[{i}]: {e}"))?;
        let record = env
            .step_record(&action)
            .map_err(|e| format!("actions[{i}]: {e}"))?;
        if let Some(steps) = steps.as_deref_mut() {
            steps.push(record);
        }
    }
    Ok(env)
}

/// Parses `text` into the next turn's action of `env`, applies it and scores it.
pub fn score_completion(
    registry: &'static Registry,
    env: &mut Environment,
    text: &str,
    team_weight: f64,
) -> Result<CompletionScore, String> {
    if env.is_done() {
        return Err(format!(
            "completion: the episode ended at step {} before the completion's turn",
            env.state().step_count
        ));
    }
    let parsed = chaosops_llm::parse_action(text, registry);
    let record = env
        .step_record(&parsed.action)
        .map_err(|e| format!("completion: {e}"))?;
    Ok(CompletionScore {
        parse: ParseReport {
            outcome: parsed.outcome,
            dropped: parsed.dropped,
        },
        step: record,
        blended_reward: blend(record.team_reward, record.oversight_reward, team_weight),
    })
}

/// Replays one input line (without its line number in errors).
pub fn replay_line(
    registry: &'static Registry,
    options: &ReplayOptions,
    line: &str,
) -> Result<Replay, String> {
    let episode: Episode<'_> = match serde_json::from_str::<Wrapped<'_>>(line) {
        Ok(wrapped) => serde_json::from_str(wrapped.input.get()),
        Err(_) => serde_json::from_str(line),
    }
    .map_err(|e| format!("invalid episode JSON: {e}"))?;
    let mut steps = Vec::with_capacity(episode.actions.len() + 1);
    let actions = episode
        .actions
        .iter()
        .map(|raw| serde_json::from_str::<Action>(raw.get()).map_err(|e| e.to_string()));
    let mut env = play_history(registry, &episode.scenario, actions, Some(&mut steps))?;
    let (mut parse, mut step, mut blended_reward) = (None, None, None);
    if let Some(text) = &episode.completion {
        let score = score_completion(registry, &mut env, text, options.team_weight)?;
        steps.push(score.step);
        parse = Some(score.parse);
        step = Some(score.step);
        blended_reward = Some(score.blended_reward);
    }
    Ok(Replay {
        steps,
        final_state: env.state().clone(),
        parse,
        step,
        blended_reward,
    })
}

/// Counts of a replay run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Lines replayed successfully.
    pub ok: usize,
    /// Lines answered with an error.
    pub errors: usize,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    error: &'a str,
}

/// Reads one line into `buf` (without its newline), keeping at most `MAX_LINE_BYTES`.
/// Returns `None` at end of input, else whether the line fit.
fn read_bounded_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut fits = true;
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some(fits));
        }
        any = true;
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(pos) => (pos, true),
            None => (chunk.len(), false),
        };
        if fits {
            if buf.len() + take > MAX_LINE_BYTES {
                fits = false;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        input.consume(take + usize::from(done));
        if done {
            return Ok(Some(fits));
        }
    }
}

/// Replays every line of `input` to `output`, one JSON line each; blank lines are skipped.
/// Bad lines get `{"error": "line N: ..."}` and the rest still run.
pub fn replay_stream(
    registry: &'static Registry,
    options: &ReplayOptions,
    mut input: impl BufRead,
    mut output: impl Write,
) -> io::Result<ReplaySummary> {
    let mut summary = ReplaySummary::default();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    while let Some(fits) = read_bounded_line(&mut input, &mut buf)? {
        line_no += 1;
        if line_no == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
            // A UTF-8 byte-order mark (editors on Windows write one) is not part of the JSON.
            buf.drain(..3);
        }
        let result = if !fits {
            Err(format!(
                "line is longer than the limit of {MAX_LINE_BYTES} bytes"
            ))
        } else {
            match std::str::from_utf8(&buf) {
                Err(e) => Err(format!("line is not valid UTF-8: {e}")),
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => replay_line(registry, options, text),
            }
        };
        match result {
            Ok(replay) => {
                serde_json::to_writer(&mut output, &replay)?;
                summary.ok += 1;
            }
            Err(message) => {
                let error = format!("line {line_no}: {message}");
                serde_json::to_writer(&mut output, &ErrorLine { error: &error })?;
                summary.errors += 1;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}
