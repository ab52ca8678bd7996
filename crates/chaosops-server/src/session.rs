//! The OpenEnv WebSocket protocol for one session, independent of the transport:
//! a text message in, a reply out. A refused message changes nothing.

use std::borrow::Cow;

use chaosops_eval::replay::ParseReport;
use chaosops_model::{
    Action, Difficulty, FailureId, ObservationData, Role, Scenario, ScenarioSpec, StepRecord, Uuid,
    Variation,
};
use chaosops_rl::TurnOutcome;
use chaosops_roles::{EpisodeStart, Team};
use std::sync::Arc;

use crate::llm_policy::LlmConfig;
use crate::policy::{PolicyChoice, PolicyName};
use chaosops_sim::{Environment, Registry, RewardConfig, SimError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Error codes, as openenv-core names them.
pub mod code {
    /// The message is not JSON.
    pub const INVALID_JSON: &str = "INVALID_JSON";
    /// The message type is not reset, step, state or close.
    pub const UNKNOWN_TYPE: &str = "UNKNOWN_TYPE";
    /// The message or its data does not validate (bad action, unknown failure, limits).
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    /// The message is valid but cannot be carried out now (no episode, episode over).
    pub const EXECUTION_ERROR: &str = "EXECUTION_ERROR";
    /// The server has no room for another session.
    pub const CAPACITY_REACHED: &str = "CAPACITY_REACHED";
    /// The session is being closed by the server (idle, shutting down).
    pub const SESSION_ERROR: &str = "SESSION_ERROR";
}

/// Default failure of a reset that names none.
pub const DEFAULT_FAILURE: FailureId = FailureId::DB_DEADLOCK;

/// Longest `episode_id` accepted at reset.
pub const MAX_EPISODE_ID_BYTES: usize = 255;

/// What the transport should do after a message.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// Send this text frame.
    Send(String),
    /// Close the session.
    Close,
}

/// The `data` of a reset; unknown keys are ignored.
#[derive(Deserialize, Default)]
pub struct ResetData {
    /// Scenario seed (default 0): an integer, written as one or as a float with no
    /// fraction (`-0` and `7.0` are 0 and 7).
    #[serde(default, deserialize_with = "whole_number")]
    pub seed: Option<u64>,
    /// Episode id: a UUID, or any string (mapped to a name-based UUID).
    #[serde(default)]
    pub episode_id: Option<String>,
    /// Failure type (default `db_deadlock`), or a compound incident: a list of types or
    /// their ids joined by `+` (docs/behaviour.md §18).
    #[serde(default, deserialize_with = "failure_type")]
    pub failure_type: Option<String>,
    /// Difficulty (default `easy`).
    #[serde(default)]
    pub difficulty: Option<Difficulty>,
    /// Step budget (default 20), an integer like `seed`.
    #[serde(default, deserialize_with = "whole_number")]
    pub max_steps: Option<u32>,
    /// Variation: `none` (default, the reference incident) or `standard`.
    #[serde(default)]
    pub variation: Option<Variation>,
    /// Seat mode (WebSocket sessions): the learner's role. The server plays the other
    /// roles with `others` and answers when the seat's turn comes.
    #[serde(default)]
    pub seat: Option<Role>,
    /// Seat mode: the policy of the other roles: oracle, heuristic (default), random or noop
    /// (or llm, when the server has a model). The same as a `team` of one policy.
    #[serde(default)]
    pub others: Option<String>,
    /// The policies the server plays: one name for every role, or an object naming one per
    /// role (`{"sre": "oracle", "dev": "heuristic"}`, the rest heuristic). They play the
    /// roles other than the seat, and any role on an `{"auto": true}` step.
    #[serde(default)]
    pub team: Option<TeamSpec>,
    /// Add the acting role's LLM prompt (`{"role", "system", "user"}`) to every observation.
    #[serde(default)]
    pub prompt: Option<bool>,
    /// Spectator mode (the web interface's): every observation message also carries the
    /// full `state` (ground truth, decoys marked), the `turns` the message played (each
    /// action with its step record), and the acting role's `legal_actions`.
    #[serde(default)]
    pub spectate: Option<bool>,
}

/// The `team` of a reset: one policy for every role, or one per role.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum TeamSpec {
    /// Every role.
    All(String),
    /// Per role; roles left out play heuristic.
    PerRole(std::collections::BTreeMap<Role, String>),
}

/// Reads a JSON number as an unsigned integer from its literal text, so that a value out of
/// range is named as it was sent (not as the float JSON parsers turn it into), and an
/// integral float (`7.0`, `-0`) is the integer it denotes.
fn whole_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64> + Bounded,
{
    use serde::de::Error;
    let Some(raw) = Option::<Box<RawValue>>::deserialize(d)? else {
        return Ok(None);
    };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    let out_of_range = || {
        D::Error::custom(format!(
            "{text} is out of range; allowed: 0..={}",
            T::MAX_TEXT
        ))
    };
    let not_integer = || D::Error::custom(format!("{text} is not a whole number"));
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(not_integer());
    }
    let value: u64 = if let Ok(v) = text.parse::<u64>() {
        v
    } else if text
        .trim_start_matches('-')
        .bytes()
        .all(|b| b.is_ascii_digit())
    {
        // An integer beyond u64, or a negative one (-0 is zero).
        if text.trim_start_matches('-').bytes().all(|b| b == b'0') {
            0
        } else {
            return Err(out_of_range());
        }
    } else {
        let f: f64 = text.parse().map_err(|_| not_integer())?;
        if f.fract() != 0.0 || !f.is_finite() {
            return Err(not_integer());
        }
        // 2^64: the first float above every u64.
        if !(0.0..18_446_744_073_709_551_616.0).contains(&f) {
            return Err(out_of_range());
        }
        f as u64
    };
    T::try_from(value).map(Some).map_err(|_| out_of_range())
}

/// The largest value of an integer type, as text for messages.
pub trait Bounded {
    /// `MAX`, written out.
    const MAX_TEXT: &'static str;
}

impl Bounded for u64 {
    const MAX_TEXT: &'static str = "18446744073709551615";
}

impl Bounded for u32 {
    const MAX_TEXT: &'static str = "4294967295";
}

/// What a step's data asks for.
enum StepInput {
    /// An action object.
    Action(Action),
    /// `{"completion": TEXT}`: model text, parsed as a model's reply is.
    Completion(String),
    /// `{"command": TEXT}`: a line as `chaosops play` reads it (`restart db`).
    Command(String),
    /// `{"auto": true}`: the team's policy for the acting role chooses.
    Auto,
}

/// Reads step data: an action, or one of the other inputs when the object has no
/// `action_type`.
fn step_input(raw: &str) -> Result<StepInput, (&'static str, String)> {
    #[derive(Deserialize)]
    struct Other {
        #[serde(default)]
        completion: Option<String>,
        #[serde(default)]
        command: Option<String>,
        #[serde(default)]
        auto: Option<bool>,
        #[serde(default)]
        action_type: Option<serde::de::IgnoredAny>,
    }
    if let Ok(other) = serde_json::from_str::<Other>(raw) {
        if other.action_type.is_none() {
            match (other.completion, other.command, other.auto) {
                (Some(text), None, None) => return Ok(StepInput::Completion(text)),
                (None, Some(text), None) => return Ok(StepInput::Command(text)),
                (None, None, Some(true)) => return Ok(StepInput::Auto),
                (None, None, None) => {}
                _ => return Err((
                    code::VALIDATION_ERROR,
                    "a step is an action, or one of \"completion\", \"command\" or \"auto\": true"
                        .to_owned(),
                )),
            }
        }
    }
    serde_json::from_str::<Action>(raw)
        .map(StepInput::Action)
        .map_err(|e| (code::VALIDATION_ERROR, format!("invalid action: {e}")))
}

/// Builds the team of a reset; says whether it has a model seat.
fn build_team(
    spec: &TeamSpec,
    seed: u64,
    registry: &'static Registry,
    llm: Option<&Arc<LlmConfig>>,
) -> Result<(Team, bool), String> {
    let name_of = |role: Role| -> &str {
        match spec {
            TeamSpec::All(name) => name,
            TeamSpec::PerRole(names) => names.get(&role).map_or("heuristic", String::as_str),
        }
    };
    let mut choices = Vec::with_capacity(Role::COUNT);
    for role in Role::ALL {
        let name: PolicyName = name_of(*role).parse()?;
        let choice = PolicyChoice::resolve(name, llm).map_err(|_| {
            "the llm policy needs a model: start the server with --endpoint and --model".to_owned()
        })?;
        choices.push(choice);
    }
    let uses_llm = choices.iter().any(|c| matches!(c, PolicyChoice::Llm(_)));
    let team = Team::from_fn(|role| {
        choices[role.index()].build(seed.wrapping_add(role.index() as u64), registry)
    });
    Ok((team, uses_llm))
}

/// One turn the server applied: the action, its record, and the seat's reward for it.
type Turn = (Action, StepRecord, f64);

/// Seat mode: the team plays the other seats until the seat's turn or the end.
fn play_others(
    env: &mut Environment,
    seat: Role,
    team: &mut Team,
) -> Result<Vec<Turn>, (&'static str, String)> {
    let mut played = Vec::new();
    while !env.is_done() && env.current_role() != seat {
        let role = env.current_role();
        let action = team.policy(role).act(&env.observation(), role);
        let record = env
            .step_record(&action)
            .map_err(|e| (code::EXECUTION_ERROR, e.to_string()))?;
        let reward = TurnOutcome::new(record, env.state().resolved, &RewardConfig::default())
            .reward_of(seat);
        played.push((action, record, reward));
    }
    Ok(played)
}

/// What a message's reply carries besides the observation.
struct Extras<'a> {
    /// The seat, in seat mode.
    seat: Option<Role>,
    /// Turns the team played after the message's own.
    skipped: &'a [Turn],
    /// How a completion was read.
    parse: Option<ParseReport>,
    /// Add the acting role's prompt.
    prompt: bool,
    /// Spectator mode: the message's own turn (if any), then `skipped`, go into `turns`.
    spectate: Option<Option<(&'a Action, StepRecord)>>,
}

/// An observation message with the seat-mode, prompt and spectator fields: `reward` is the
/// seat's over its turn and the others' (the step's reward without a seat), `others` the
/// other seats' step records, `parse` how a completion was read, `prompt` the acting role's.
fn seat_message(
    registry: &'static Registry,
    env: &Environment,
    last_step: Option<StepRecord>,
    reward: f64,
    extras: Extras<'_>,
) -> String {
    let observation = env.observation();
    let mut data = serde_json::to_value(ObservationData {
        observation,
        last_step,
    })
    .unwrap_or_default();
    data["reward"] = serde_json::json!(reward);
    if let Some(seat) = extras.seat {
        data["seat"] = serde_json::json!(seat);
        data["others"] =
            serde_json::json!(extras.skipped.iter().map(|(_, r, _)| r).collect::<Vec<_>>());
    }
    if let Some(parse) = extras.parse {
        data["parse"] = serde_json::json!(parse);
    }
    if extras.prompt && !env.is_done() {
        let role = observation.turn_role;
        let ids: Vec<&str> = registry.ids().collect();
        data["prompt"] = serde_json::json!({
            "role": role,
            "system": chaosops_llm::system_prompt(role, &ids),
            "user": chaosops_llm::render_observation(&observation),
        });
    }
    if let Some(own) = extras.spectate {
        let turns: Vec<_> = own
            .into_iter()
            .chain(extras.skipped.iter().map(|(a, r, _)| (a, *r)))
            .map(|(action, record)| serde_json::json!({"action": action, "record": record}))
            .collect();
        data["turns"] = serde_json::json!(turns);
        data["state"] = serde_json::to_value(env.state()).unwrap_or_default();
        data["legal_actions"] = if env.is_done() {
            serde_json::json!([])
        } else {
            legal_actions(registry, env.current_role())
        };
    }
    serde_json::json!({"type": "observation", "data": data}).to_string()
}

/// The action table entries the rules allow `role`: `[{"index", "name", "action"}]`.
fn legal_actions(registry: &'static Registry, role: Role) -> serde_json::Value {
    static TABLE: std::sync::OnceLock<chaosops_rl::ActionTable> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| chaosops_rl::ActionTable::new(registry));
    let mask = table.mask(role);
    serde_json::Value::Array(
        table
            .actions()
            .iter()
            .zip(table.names())
            .enumerate()
            .filter(|(i, _)| mask[*i] != 0)
            .map(|(i, (action, name))| {
                serde_json::json!({"index": i, "name": name, "action": action})
            })
            .collect(),
    )
}

/// True when `raw` is a JSON object (the protocol has no positional arrays).
fn is_object(raw: &str) -> bool {
    raw.trim_start().starts_with('{')
}

/// Namespace of the name-based UUIDs made from non-UUID episode ids.
const EPISODE_NAMESPACE: Uuid = Uuid::from_u128(0x6368_616f_736f_7073_2d65_7069_736f_6465);

/// Builds a fresh environment from reset data, or says why not.
pub fn environment(
    registry: &'static Registry,
    data: &ResetData,
) -> Result<Environment, (&'static str, String)> {
    environment_of(registry, data).map(|(env, _)| env)
}

/// A reset's `failure_type`: an id or a compound's parts (as a list or joined by `+`).
fn failure_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    chaosops_model::failure_type_or_parts(d).map(|f| Some(f.as_str().to_owned()))
}

/// [`environment`], with its scenario.
fn environment_of(
    registry: &'static Registry,
    data: &ResetData,
) -> Result<(Environment, Scenario), (&'static str, String)> {
    let invalid = |m: String| (code::VALIDATION_ERROR, m);
    let spec = ScenarioSpec {
        failure_type: data
            .failure_type
            .clone()
            .map_or(DEFAULT_FAILURE, FailureId::from),
        seed: data.seed.unwrap_or(0),
        difficulty: data.difficulty.unwrap_or(Difficulty::Easy),
        max_steps: data.max_steps.unwrap_or(chaosops_model::DEFAULT_MAX_STEPS),
        variation: data.variation.unwrap_or_default(),
    };
    let episode_id = match data.episode_id.as_deref() {
        None => None,
        Some(id) if id.len() > MAX_EPISODE_ID_BYTES => {
            return Err(invalid(format!(
                "episode_id is {} bytes long; the limit is {MAX_EPISODE_ID_BYTES}",
                id.len()
            )))
        }
        Some(id) => Some(
            Uuid::parse_str(id).unwrap_or_else(|_| Uuid::new_v5(&EPISODE_NAMESPACE, id.as_bytes())),
        ),
    };
    let scenario = registry
        .scenario(&spec)
        .map_err(|e| invalid(e.to_string()))?;
    Environment::new(registry, &scenario, RewardConfig::default(), episode_id)
        .map(|env| (env, scenario))
        .map_err(|e| invalid(e.to_string()))
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct Typed<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    data: T,
}

#[derive(Serialize)]
struct ErrorData<'a> {
    message: &'a str,
    code: &'a str,
}

/// An error message.
pub fn error(code: &str, message: &str) -> String {
    serde_json::to_string(&Typed {
        kind: "error",
        data: ErrorData { message, code },
    })
    .unwrap_or_default()
}

/// An observation message.
pub fn observation_message(data: &ObservationData<'_>) -> String {
    serde_json::to_string(&Typed {
        kind: "observation",
        data,
    })
    .unwrap_or_default()
}

/// A message's answer, before it is written.
enum Answer {
    Reply(String),
    Refused(&'static str, String),
    Close,
}

/// What the last message was and how it went, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handled {
    /// `reset`, `step`, `state`, `close`, or `invalid` (not a known message).
    pub kind: &'static str,
    /// The error code of the reply, when it was refused.
    pub code: Option<&'static str>,
    /// True when a step ended the episode.
    pub ended: bool,
}

/// One WebSocket session: at most one episode at a time.
pub struct Session {
    registry: &'static Registry,
    env: Option<Environment>,
    max_message_bytes: usize,
    steps: u64,
    last: Handled,
    /// Seat mode: the learner's role.
    seat: Option<Role>,
    /// The policies the server plays (the other seats, and `auto` steps).
    team: Option<Team>,
    /// True when the team has a model seat (its turns block on HTTP).
    team_uses_llm: bool,
    prompt: bool,
    spectate: bool,
    llm: Option<Arc<LlmConfig>>,
}

impl Session {
    /// A session with no episode yet, refusing messages over `max_message_bytes`.
    pub fn new(registry: &'static Registry, max_message_bytes: usize) -> Self {
        Session {
            registry,
            env: None,
            max_message_bytes,
            steps: 0,
            last: Handled::default(),
            seat: None,
            team: None,
            team_uses_llm: false,
            prompt: false,
            spectate: false,
            llm: None,
        }
    }

    /// Lets a `team` name the `llm` policy, played by this model.
    pub fn with_llm(mut self, llm: Option<Arc<LlmConfig>>) -> Self {
        self.llm = llm;
        self
    }

    /// True when the next message may wait on a model (the caller should not run it on an
    /// async worker as is).
    pub fn may_block(&self) -> bool {
        self.team_uses_llm
    }

    /// What the last message was and how it went.
    pub fn last(&self) -> Handled {
        self.last
    }

    /// Steps taken in this session, over all its episodes.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Handles one text message.
    pub fn handle(&mut self, text: &str) -> Reply {
        self.last = Handled {
            kind: "invalid",
            code: None,
            ended: false,
        };
        match self.answer(text) {
            Answer::Reply(reply) => Reply::Send(reply),
            Answer::Refused(code, message) => {
                self.last.code = Some(code);
                Reply::Send(error(code, &message))
            }
            Answer::Close => Reply::Close,
        }
    }

    fn answer(&mut self, text: &str) -> Answer {
        if text.len() > self.max_message_bytes {
            return Answer::Refused(
                code::VALIDATION_ERROR,
                format!(
                    "message is {} bytes long; the limit is {}",
                    text.len(),
                    self.max_message_bytes
                ),
            );
        }
        if serde_json::from_str::<&RawValue>(text).is_ok() && !is_object(text) {
            return Answer::Refused(
                code::VALIDATION_ERROR,
                "a message is a JSON object {\"type\": ..., \"data\": ...}, not an array or a value".to_owned(),
            );
        }
        let envelope: Envelope<'_> = match serde_json::from_str(text) {
            Ok(e) => e,
            Err(e) if e.is_syntax() || e.is_eof() => {
                return Answer::Refused(code::INVALID_JSON, format!("invalid JSON: {e}"))
            }
            Err(e) => {
                return Answer::Refused(code::VALIDATION_ERROR, format!("invalid message: {e}"))
            }
        };
        self.last.kind = match envelope.kind.as_deref().unwrap_or("") {
            "reset" => "reset",
            "step" => "step",
            "state" => "state",
            "close" => "close",
            _ => "invalid",
        };
        let result = match envelope.kind.as_deref().unwrap_or("") {
            "reset" => self.reset(envelope.data),
            "step" => self.step(envelope.data),
            "state" => self.state(),
            "close" => return Answer::Close,
            other => Err((
                code::UNKNOWN_TYPE,
                format!("unknown message type \"{other}\"; expected reset, step, state or close"),
            )),
        };
        match result {
            Ok(reply) => Answer::Reply(reply),
            Err((code, message)) => Answer::Refused(code, message),
        }
    }

    fn reset(&mut self, data: Option<&RawValue>) -> Result<String, (&'static str, String)> {
        let data: ResetData = match data {
            Some(raw) if raw.get().trim() != "null" => {
                if !is_object(raw.get()) {
                    return Err((
                        code::VALIDATION_ERROR,
                        "invalid reset data: expected an object such as {\"seed\": 7}".to_owned(),
                    ));
                }
                serde_json::from_str(raw.get())
                    .map_err(|e| (code::VALIDATION_ERROR, format!("invalid reset data: {e}")))?
            }
            _ => ResetData::default(),
        };
        let (mut env, scenario) = environment_of(self.registry, &data)?;
        let spec = match (&data.team, &data.others) {
            (Some(_), Some(_)) => {
                return Err((
                    code::VALIDATION_ERROR,
                    "give \"team\" or \"others\", not both".to_owned(),
                ))
            }
            (Some(team), None) => Some(team.clone()),
            (None, Some(others)) => Some(TeamSpec::All(others.clone())),
            (None, None) => data.seat.map(|_| TeamSpec::All("heuristic".to_owned())),
        };
        let (mut team, uses_llm) = match spec {
            Some(spec) => {
                let (mut team, uses_llm) = build_team(
                    &spec,
                    data.seed.unwrap_or(0),
                    self.registry,
                    self.llm.as_ref(),
                )
                .map_err(|e| (code::VALIDATION_ERROR, e))?;
                team.begin_episode(&EpisodeStart {
                    scenario: &scenario,
                    failure: env.simulator().failure(),
                });
                (Some(team), uses_llm)
            }
            None => (None, false),
        };
        let skipped = match (data.seat, team.as_mut()) {
            (Some(seat), Some(team)) => play_others(&mut env, seat, team)?,
            _ => Vec::new(),
        };
        // Nothing in the session changes until the reset is known to be good.
        self.seat = data.seat;
        self.team = team;
        self.team_uses_llm = uses_llm;
        self.prompt = data.prompt.unwrap_or(false);
        self.spectate = data.spectate.unwrap_or(false);
        let env = self.env.insert(env);
        if self.seat.is_none() && !self.prompt && !self.spectate {
            return Ok(observation_message(&ObservationData {
                observation: env.observation(),
                last_step: None,
            }));
        }
        Ok(seat_message(
            self.registry,
            env,
            None,
            0.0,
            Extras {
                seat: self.seat,
                skipped: &skipped,
                parse: None,
                prompt: self.prompt,
                spectate: self.spectate.then_some(None),
            },
        ))
    }

    fn step(&mut self, data: Option<&RawValue>) -> Result<String, (&'static str, String)> {
        let raw = data.ok_or((
            code::VALIDATION_ERROR,
            "a step needs the action in \"data\"".to_owned(),
        ))?;
        if !is_object(raw.get()) {
            return Err((
                code::VALIDATION_ERROR,
                "invalid action: expected an object such as {\"action_type\": \"noop\"}".to_owned(),
            ));
        }
        let env = self.env.as_mut().ok_or((
            code::EXECUTION_ERROR,
            "no episode in this session: send a reset first".to_owned(),
        ))?;
        let (action, parse) = match step_input(raw.get())? {
            StepInput::Completion(text) => {
                let parsed = chaosops_llm::parse_action(&text, self.registry);
                let report = ParseReport {
                    outcome: parsed.outcome,
                    dropped: parsed.dropped,
                };
                (parsed.action, Some(report))
            }
            StepInput::Command(text) => match crate::command::parse_command(&text, self.registry) {
                Ok(crate::command::Command::Act(action)) => (action, None),
                Ok(_) => {
                    return Err((
                        code::VALIDATION_ERROR,
                        format!("\"{text}\" is not an action; type one such as \"restart db\""),
                    ))
                }
                Err(e) => return Err((code::VALIDATION_ERROR, e)),
            },
            StepInput::Auto => {
                let team = self.team.as_mut().ok_or((
                    code::VALIDATION_ERROR,
                    "an auto step needs a team: reset with \"team\" (for example \"oracle\")"
                        .to_owned(),
                ))?;
                if env.is_done() {
                    return Err((
                        code::EXECUTION_ERROR,
                        "the episode is over: send a reset".to_owned(),
                    ));
                }
                let role = env.current_role();
                (team.policy(role).act(&env.observation(), role), None)
            }
            StepInput::Action(action) => (action, None),
        };
        let refused = |e: SimError| match e {
            SimError::EpisodeFinished { .. } => (code::EXECUTION_ERROR, e.to_string()),
            other => (code::VALIDATION_ERROR, other.to_string()),
        };
        if self.seat.is_none() && parse.is_none() && !self.prompt && !self.spectate {
            let outcome = env.step(&action).map_err(refused)?;
            self.steps += 1;
            self.last.ended = outcome.record.done;
            return Ok(observation_message(&ObservationData {
                observation: outcome.observation,
                last_step: Some(outcome.record),
            }));
        }
        let record = env.step_record(&action).map_err(refused)?;
        self.steps += 1;
        let mut reward = match self.seat {
            Some(seat) => TurnOutcome::new(record, env.state().resolved, &RewardConfig::default())
                .reward_of(seat),
            None => record.reward,
        };
        let skipped = match (self.seat, self.team.as_mut()) {
            (Some(seat), Some(team)) => play_others(env, seat, team)?,
            _ => Vec::new(),
        };
        reward += skipped.iter().map(|(_, _, r)| r).sum::<f64>();
        self.last.ended = env.is_done();
        Ok(seat_message(
            self.registry,
            env,
            Some(record),
            reward,
            Extras {
                seat: self.seat,
                skipped: &skipped,
                parse,
                prompt: self.prompt,
                spectate: self.spectate.then_some(Some((&action, record))),
            },
        ))
    }

    fn state(&self) -> Result<String, (&'static str, String)> {
        let env = self.env.as_ref().ok_or((
            code::EXECUTION_ERROR,
            "no episode in this session: send a reset first".to_owned(),
        ))?;
        serde_json::to_string(&Typed {
            kind: "state",
            data: env.state(),
        })
        .map_err(|e| (code::EXECUTION_ERROR, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    use crate::test_registry as registry;

    fn session() -> Session {
        Session::new(registry(), 4096)
    }

    fn send(s: &mut Session, text: &str) -> Value {
        match s.handle(text) {
            Reply::Send(t) => serde_json::from_str(&t).unwrap(),
            Reply::Close => Value::Null,
        }
    }

    #[test]
    fn arrays_are_not_objects_and_integers_are_read_as_sent() {
        let mut s = session();
        for (input, part) in [
            (
                r#"["reset", [7, "x", "memory_leak", "hard", 12]]"#,
                "not an array or a value",
            ),
            (r#"{"type": "reset", "data": [7]}"#, "expected an object"),
            (r#""reset""#, "not an array or a value"),
        ] {
            let r = send(&mut s, input);
            assert_eq!(r["data"]["code"], "VALIDATION_ERROR", "{input}: {r}");
            assert!(
                r["data"]["message"].as_str().unwrap().contains(part),
                "{input}: {r}"
            );
        }
        send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "memory_leak"}}"#,
        );
        let r = send(
            &mut s,
            r#"{"type": "step", "data": [null, "restart", "notifications"]}"#,
        );
        assert_refused(&r, "expected an object");
        assert_eq!(
            send(&mut s, r#"{"type": "state"}"#)["data"]["resolved"],
            false
        );
        let episode = |s: &mut Session, seed: &str| {
            let r = send(
                s,
                &format!(r#"{{"type": "reset", "data": {{"seed": {seed}}}}}"#),
            );
            assert_eq!(r["type"], "observation", "{seed}: {r}");
            send(s, r#"{"type": "state"}"#)["data"]["episode_id"].clone()
        };
        for (written, plain) in [
            ("-0", "0"),
            ("7.0", "7"),
            ("1e3", "1000"),
            ("18446744073709551615", "18446744073709551615"),
        ] {
            // The episode id is drawn from the seed: the same id, the same seed.
            assert_eq!(
                episode(&mut s, written),
                episode(&mut s, plain),
                "{written}"
            );
        }
        for (seed, part) in [
            (
                "18446744073709551616",
                "18446744073709551616 is out of range",
            ),
            ("-4", "-4 is out of range"),
            ("1e30", "1e30 is out of range"),
            ("2.5", "2.5 is not a whole number"),
            (r#""7""#, r#""7" is not a whole number"#),
        ] {
            let r = send(
                &mut s,
                &format!(r#"{{"type": "reset", "data": {{"seed": {seed}}}}}"#),
            );
            assert_eq!(r["data"]["code"], "VALIDATION_ERROR", "{seed}: {r}");
            assert!(
                r["data"]["message"].as_str().unwrap().contains(part),
                "{seed}: {r}"
            );
        }
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"max_steps": 5000000000}}"#,
        );
        assert_refused(&r, "5000000000 is out of range; allowed: 0..=4294967295");
    }

    #[test]
    fn seat_mode_plays_the_others_and_pays_the_seat_over_their_turns() {
        let mut s = session();
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "db_deadlock", "difficulty": "hard", "seed": 1, "seat": "dev", "others": "oracle"}}"#,
        );
        assert_eq!(r["data"]["seat"], "dev");
        assert_eq!(r["data"]["observation"]["turn_role"], "dev", "{r}");
        assert_eq!(
            r["data"]["reward"], 0.0,
            "the seat's rewards start at its first action"
        );
        let others: Vec<&str> = r["data"]["others"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["role"].as_str().unwrap())
            .collect();
        assert_eq!(others, ["sre", "oversight"]);
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"action_type": "restart", "target": "db"}}"#,
        );
        assert_eq!(r["data"]["done"], true);
        assert_eq!(r["data"]["reward"], 110.0);
        assert_eq!(r["data"]["others"], serde_json::json!([]));
        // Over several turns, the seat's reward is its team reward over every turn, and the
        // unresolved penalty arrives with the last one.
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "memory_leak", "seed": 2, "max_steps": 6, "seat": "sre", "others": "noop"}}"#,
        );
        assert_eq!(r["data"]["observation"]["turn_role"], "sre");
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"action_type": "noop"}}"#,
        );
        let team: f64 = std::iter::once(&r["data"]["observation"]["last_step"])
            .chain(r["data"]["others"].as_array().unwrap())
            .map(|rec| rec["team_reward"].as_f64().unwrap())
            .sum();
        assert_eq!(r["data"]["others"].as_array().unwrap().len(), 3);
        assert_eq!(r["data"]["reward"].as_f64().unwrap(), team);
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"action_type": "noop"}}"#,
        );
        assert_eq!(r["data"]["done"], true);
        let team: f64 = std::iter::once(&r["data"]["observation"]["last_step"])
            .chain(r["data"]["others"].as_array().unwrap())
            .map(|rec| rec["team_reward"].as_f64().unwrap())
            .sum();
        assert_eq!(r["data"]["reward"].as_f64().unwrap(), team - 60.0);
        // Others that finish first: the reset says so (done), and bad seats are named.
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "db_deadlock", "seed": 0, "seat": "manager", "others": "heuristic"}}"#,
        );
        assert_eq!(r["data"]["done"], true, "{r}");
        let r = send(&mut s, r#"{"type": "reset", "data": {"seat": "ceo"}}"#);
        assert_refused(&r, "unknown role \"ceo\"");
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"seat": "dev", "others": "genius"}}"#,
        );
        assert_refused(&r, "unknown policy \"genius\"");
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"others": "oracle", "team": "noop"}}"#,
        );
        assert_refused(&r, "give \"team\" or \"others\", not both");
        let r = send(&mut s, r#"{"type": "reset", "data": {"team": "llm"}}"#);
        assert_refused(&r, "start the server with --endpoint and --model");
    }

    /// Plays an episode by auto steps and returns the cumulative reward and the messages.
    /// Asserts that the reply `r` is an error whose message holds `text`.
    #[track_caller]
    fn assert_refused(r: &Value, text: &str) {
        let message = r["data"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {r}"));
        assert!(message.contains(text), "{r}");
    }

    fn auto_play(s: &mut Session, reset: &str) -> (f64, Vec<Value>) {
        let mut replies = vec![send(s, reset)];
        while replies.last().unwrap()["data"]["done"] != true {
            replies.push(send(s, r#"{"type": "step", "data": {"auto": true}}"#));
            assert_eq!(replies.last().unwrap()["type"], "observation");
        }
        let state = send(s, r#"{"type": "state"}"#);
        (
            state["data"]["cumulative_reward"].as_f64().unwrap(),
            replies,
        )
    }

    #[test]
    fn a_spectator_session_plays_a_team_by_auto_steps_as_chaosops_run_does() {
        let registry = registry();
        let mut s = session();
        let (reward, replies) = auto_play(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "db_deadlock", "difficulty": "hard", "seed": 3, "team": "oracle", "spectate": true}}"#,
        );
        let scenario = registry
            .scenario(&ScenarioSpec {
                failure_type: FailureId::DB_DEADLOCK,
                seed: 3,
                difficulty: Difficulty::Hard,
                max_steps: chaosops_model::DEFAULT_MAX_STEPS,
                variation: Default::default(),
            })
            .unwrap();
        let mut team = Team::uniform(chaosops_roles::PolicyKind::Oracle, 3);
        let run = chaosops_roles::run_episode(
            registry,
            &scenario,
            &mut team,
            chaosops_roles::RunOptions::default(),
        )
        .unwrap();
        assert_eq!(reward, run.cumulative_reward);
        // Every reply of a spectator has the full state, its turns and the legal actions.
        let first = &replies[0]["data"];
        assert!(first["state"]["all_logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["is_red_herring"] == true));
        assert_eq!(first["turns"], serde_json::json!([]));
        let legal: Vec<&str> = first["legal_actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert!(
            legal.contains(&"restart:db") && !legal.contains(&"resolve"),
            "{legal:?}"
        );
        let played: Vec<&Value> = replies[1..]
            .iter()
            .map(|r| &r["data"]["turns"][0])
            .collect();
        assert_eq!(played.len(), run.steps.len());
        assert_eq!(played[0]["record"]["role"], "sre");
        assert!(played[0]["action"]["action_type"].is_string());
        assert_eq!(
            replies.last().unwrap()["data"]["legal_actions"],
            serde_json::json!([])
        );
        // A per-role team: the named seats play their policy, the rest heuristic.
        let (mixed, _) = auto_play(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "db_deadlock", "seed": 3, "team": {"sre": "noop", "dev": "noop"}}}"#,
        );
        assert!(mixed < reward, "{mixed} vs {reward}");
        let r = send(&mut s, r#"{"type": "step", "data": {"auto": true}}"#);
        assert_eq!(r["data"]["code"], "EXECUTION_ERROR", "{r}");
        send(&mut s, r#"{"type": "reset", "data": {}}"#);
        let r = send(&mut s, r#"{"type": "step", "data": {"auto": true}}"#);
        assert_refused(&r, "an auto step needs a team");
    }

    #[test]
    fn a_reset_may_ask_for_variation() {
        let mut s = session();
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "memory_leak", "seed": 4, "variation": "standard", "team": "oracle", "spectate": true}}"#,
        );
        assert_eq!(
            r["data"]["state"]["variant_targets"]["notifications"], "db",
            "{r}"
        );
        let (reward, _) = auto_play(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "memory_leak", "seed": 4, "variation": "standard", "team": "oracle"}}"#,
        );
        assert_eq!(reward, 134.0);
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"variation": "wild"}}"#,
        );
        assert_refused(&r, "unknown variation \"wild\"; known: none, standard");
    }

    #[test]
    fn a_reset_may_name_a_compound_incident_as_a_list() {
        let mut s = session();
        // `chaosops run --failure memory_leak+db_deadlock --difficulty expert --max-steps 30
        // --policy oracle` ends "resolved at step 7; cumulative reward 128.00".
        let (reward, _) = auto_play(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": ["memory_leak", "db_deadlock"], "difficulty": "expert", "max_steps": 30, "team": "oracle"}}"#,
        );
        assert_eq!(reward, 128.0);
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "db_deadlock+db_deadlock", "team": "oracle", "spectate": true}}"#,
        );
        assert_refused(
            &r,
            "compound incident \"db_deadlock+db_deadlock\": \"db_deadlock\" is named twice",
        );
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": ["db_deadlock", "memory_leak"], "spectate": true, "team": "noop"}}"#,
        );
        assert_eq!(
            r["data"]["state"]["failure_type"], "db_deadlock+memory_leak",
            "{r}"
        );
    }

    #[test]
    fn a_step_may_be_a_play_command_and_a_bad_one_is_explained() {
        let mut s = session();
        send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "db_deadlock", "seat": "sre", "team": "oracle", "spectate": true}}"#,
        );
        for (command, explained) in [
            ("restart", "name a service"),
            ("restart mainframe", "unknown service \"mainframe\""),
            ("12", "no action number 12"),
            ("help", "is not an action"),
        ] {
            let r = send(
                &mut s,
                &format!(r#"{{"type": "step", "data": {{"command": "{command}"}}}}"#),
            );
            assert_eq!(r["type"], "error", "{command}: {r}");
            assert!(
                r["data"]["message"].as_str().unwrap().contains(explained),
                "{command}: {r}"
            );
        }
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"command": "restart auth"}}"#,
        );
        let turns = r["data"]["turns"].as_array().unwrap();
        assert_eq!(turns[0]["action"]["action_type"], "restart");
        assert_eq!(turns[0]["action"]["target"], "auth");
        assert_eq!(turns[0]["record"]["role"], "sre");
        assert!(turns.len() > 1, "the team played the other seats: {r}");
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"command": "noop", "auto": true}}"#,
        );
        assert_refused(&r, "one of");
    }

    #[test]
    fn a_step_may_be_a_model_completion_and_observations_may_carry_the_prompt() {
        let mut s = session();
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"failure_type": "db_deadlock", "seed": 1, "prompt": true}}"#,
        );
        let prompt = &r["data"]["prompt"];
        assert_eq!(prompt["role"], "sre");
        assert!(prompt["system"]
            .as_str()
            .unwrap()
            .contains("You are the SRE"));
        assert!(
            prompt["user"].as_str().unwrap().contains("you are sre"),
            "{prompt}"
        );
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"completion": "I am sure: {\"action_type\": \"identify_root_cause\", \"args\": {\"failure_type\": \"db_deadlock\"}}"}}"#,
        );
        assert_eq!(
            r["data"]["parse"],
            serde_json::json!({"outcome": "parsed"}),
            "{r}"
        );
        assert_eq!(
            r["data"]["observation"]["last_step"]["flags"]["root_cause_correct"],
            true
        );
        assert_eq!(r["data"]["prompt"]["role"], "oversight");
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"completion": "let me think"}}"#,
        );
        assert_eq!(r["data"]["parse"]["outcome"], "fallback", "{r}");
        assert!(
            r["data"]["parse"]["reason"]
                .as_str()
                .unwrap()
                .contains("no JSON object"),
            "{r}"
        );
        assert_eq!(r["data"]["observation"]["last_step"]["role"], "oversight");
    }

    #[test]
    fn reset_step_state() {
        let mut s = session();
        let r = send(
            &mut s,
            r#"{"type": "reset", "data": {"seed": 3, "failure_type": "memory_leak", "extra": 1}}"#,
        );
        assert_eq!(r["type"], "observation");
        assert_eq!(r["data"]["reward"], 0.0);
        assert_eq!(r["data"]["done"], false);
        assert!(r["data"]["observation"].get("reward").is_none());
        assert_eq!(r["data"]["observation"]["turn_role"], "sre");
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"action_type": "restart", "target": "notifications"}}"#,
        );
        assert_eq!(r["data"]["done"], true);
        assert_eq!(r["data"]["reward"], 110.0);
        assert_eq!(
            r["data"]["observation"]["last_step"]["flags"]["resolved"],
            true
        );
        let r = send(&mut s, r#"{"type": "state"}"#);
        assert_eq!(r["data"]["failure_type"], "memory_leak");
        assert_eq!(s.handle(r#"{"type": "close"}"#), Reply::Close);
    }

    #[test]
    fn errors_leave_the_session_usable() {
        let mut s = session();
        let cases = [
            ("{nope", "INVALID_JSON", "invalid JSON"),
            (
                r#"{"type": "dance"}"#,
                "UNKNOWN_TYPE",
                "unknown message type \"dance\"",
            ),
            (
                r#"{"data": {}}"#,
                "UNKNOWN_TYPE",
                "unknown message type \"\"",
            ),
            (
                r#"{"type": "step", "data": {"action_type": "noop"}}"#,
                "EXECUTION_ERROR",
                "send a reset first",
            ),
            (
                r#"{"type": "state"}"#,
                "EXECUTION_ERROR",
                "send a reset first",
            ),
            (
                r#"{"type": "reset", "data": {"failure_type": "dns_outag"}}"#,
                "VALIDATION_ERROR",
                "unknown failure type \"dns_outag\"; known:",
            ),
            (
                r#"{"type": "reset", "data": {"max_steps": 0}}"#,
                "VALIDATION_ERROR",
                "max_steps 0 is out of range",
            ),
            (
                r#"{"type": "reset", "data": {"seed": -4}}"#,
                "VALIDATION_ERROR",
                "invalid reset data: -4 is out of range",
            ),
        ];
        for (input, code, part) in cases {
            let r = send(&mut s, input);
            assert_eq!(r["type"], "error", "{input}");
            assert_eq!(r["data"]["code"], code, "{input}: {r}");
            assert!(
                r["data"]["message"].as_str().unwrap().contains(part),
                "{input}: {r}"
            );
        }
        send(&mut s, r#"{"type": "reset", "data": {"max_steps": 2}}"#);
        let before = send(&mut s, r#"{"type": "state"}"#);
        let bad_steps = [
            (
                r#"{"type": "step", "data": {"action_type": "reboot"}}"#,
                "VALIDATION_ERROR",
                "unknown action type \"reboot\"",
            ),
            (
                r#"{"type": "step", "data": {"target": "db"}}"#,
                "VALIDATION_ERROR",
                "missing field `action_type`",
            ),
            (
                r#"{"type": "step", "data": {"action_type": "noop", "target": 5}}"#,
                "VALIDATION_ERROR",
                "invalid type",
            ),
            (
                r#"{"type": "step"}"#,
                "VALIDATION_ERROR",
                "needs the action",
            ),
            (
                r#"{"type": "step", "data": {"action_type": "scale", "target": "db", "args": {"replicas": 99999}}}"#,
                "VALIDATION_ERROR",
                "args.replicas 99999 is out of range",
            ),
            (
                r#"{"type": "reset", "data": {"failure_type": "nope"}}"#,
                "VALIDATION_ERROR",
                "unknown failure type",
            ),
        ];
        for (input, code, part) in bad_steps {
            let r = send(&mut s, input);
            assert_eq!(r["data"]["code"], code, "{input}: {r}");
            assert!(
                r["data"]["message"].as_str().unwrap().contains(part),
                "{input}: {r}"
            );
        }
        let big = format!(
            r#"{{"type": "step", "data": {{"action_type": "communicate", "args": {{"message": "{}"}}}}}}"#,
            "x".repeat(5000)
        );
        let r = send(&mut s, &big);
        assert_refused(&r, "the limit is 4096");
        assert_eq!(
            send(&mut s, r#"{"type": "state"}"#),
            before,
            "refused messages changed the session"
        );
        send(
            &mut s,
            r#"{"type": "step", "data": {"action_type": "noop"}}"#,
        );
        send(
            &mut s,
            r#"{"type": "step", "data": {"action_type": "noop"}}"#,
        );
        let r = send(
            &mut s,
            r#"{"type": "step", "data": {"action_type": "noop"}}"#,
        );
        assert_eq!(r["data"]["code"], "EXECUTION_ERROR");
        assert_refused(&r, "the episode is finished");
    }

    #[test]
    fn episode_ids_are_uuids_or_named() {
        let mut s = session();
        send(
            &mut s,
            r#"{"type": "reset", "data": {"episode_id": "6a2f41a3-c54c-4a3e-9c4e-1f4f0d6a6a10"}}"#,
        );
        assert_eq!(
            send(&mut s, r#"{"type": "state"}"#)["data"]["episode_id"],
            "6a2f41a3-c54c-4a3e-9c4e-1f4f0d6a6a10"
        );
        send(
            &mut s,
            r#"{"type": "reset", "data": {"episode_id": "episode-001"}}"#,
        );
        let a = send(&mut s, r#"{"type": "state"}"#)["data"]["episode_id"].clone();
        send(
            &mut s,
            r#"{"type": "reset", "data": {"episode_id": "episode-001"}}"#,
        );
        assert_eq!(
            send(&mut s, r#"{"type": "state"}"#)["data"]["episode_id"],
            a
        );
    }
}
