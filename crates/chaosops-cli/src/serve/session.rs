//! The OpenEnv WebSocket protocol for one session, independent of the transport:
//! a text message in, a reply out. A refused message changes nothing.

use std::borrow::Cow;

use chaosops_model::{Action, Difficulty, FailureId, ObservationData, ScenarioSpec, Uuid};
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
    /// Failure type (default `db_deadlock`).
    #[serde(default)]
    pub failure_type: Option<String>,
    /// Difficulty (default `easy`).
    #[serde(default)]
    pub difficulty: Option<Difficulty>,
    /// Step budget (default 20), an integer like `seed`.
    #[serde(default, deserialize_with = "whole_number")]
    pub max_steps: Option<u32>,
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
        if !(0.0..=u64::MAX as f64).contains(&f) || f >= 18_446_744_073_709_551_616.0 {
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
    let invalid = |m: String| (code::VALIDATION_ERROR, m);
    let spec = ScenarioSpec {
        failure_type: data
            .failure_type
            .clone()
            .map_or(DEFAULT_FAILURE, FailureId::from),
        seed: data.seed.unwrap_or(0),
        difficulty: data.difficulty.unwrap_or(Difficulty::Easy),
        max_steps: data.max_steps.unwrap_or(chaosops_model::DEFAULT_MAX_STEPS),
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
        }
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
        let env = environment(self.registry, &data)?;
        let env = self.env.insert(env);
        Ok(observation_message(&ObservationData {
            observation: env.observation(),
            last_step: None,
        }))
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
        let action: Action = serde_json::from_str(raw.get())
            .map_err(|e| (code::VALIDATION_ERROR, format!("invalid action: {e}")))?;
        let env = self.env.as_mut().ok_or((
            code::EXECUTION_ERROR,
            "no episode in this session: send a reset first".to_owned(),
        ))?;
        let outcome = env.step(&action).map_err(|e| match e {
            SimError::EpisodeFinished { .. } => (code::EXECUTION_ERROR, e.to_string()),
            other => (code::VALIDATION_ERROR, other.to_string()),
        })?;
        self.steps += 1;
        self.last.ended = outcome.record.done;
        Ok(observation_message(&ObservationData {
            observation: outcome.observation,
            last_step: Some(outcome.record),
        }))
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

    fn session() -> Session {
        Session::new(crate::registry().unwrap(), 4096)
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
        assert!(
            r["data"]["message"]
                .as_str()
                .unwrap()
                .contains("expected an object"),
            "{r}"
        );
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
        assert!(
            r["data"]["message"]
                .as_str()
                .unwrap()
                .contains("5000000000 is out of range; allowed: 0..=4294967295"),
            "{r}"
        );
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
        assert!(
            r["data"]["message"]
                .as_str()
                .unwrap()
                .contains("the limit is 4096"),
            "{r}"
        );
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
        assert!(
            r["data"]["message"]
                .as_str()
                .unwrap()
                .contains("the episode is finished"),
            "{r}"
        );
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
