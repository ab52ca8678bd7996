//! Actions a role takes (docs/behaviour.md §5).

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ModelError;
use crate::failure_id::FailureId;
use crate::limits::{MAX_MESSAGE_BYTES, MAX_NAME_BYTES, MAX_REPLICAS};
use crate::names::{ActionType, FleetAgent, Role, Service};

/// Arguments of an action. Keys with a JSON `null` value count as absent; unknown keys are ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionArgs {
    /// Chat text (`communicate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Recipient role or `all` (`communicate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Desired replica count (`scale`). Floats are truncated, numeric strings parsed,
    /// anything else non-numeric counts as 0 (a wrong fix).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_replicas"
    )]
    pub replicas: Option<i64>,
    /// Agent to flag when `target` is absent (`flag_rogue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Declared root cause (`identify_root_cause`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_type: Option<String>,
}

impl ActionArgs {
    /// True when no argument is set.
    pub fn is_empty(&self) -> bool {
        self == &ActionArgs::default()
    }
}

/// Coerces a JSON replica count as docs/behaviour.md §13 documents. A number too large for
/// any count (beyond the 64-bit range) is refused here, naming the value as it was sent,
/// rather than saturated into a different number.
fn deserialize_replicas<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    match value {
        None => Ok(None),
        Some(v) => match beyond_i64(&v) {
            Some(text) => Err(serde::de::Error::custom(format!(
                "args.replicas {text} is out of range; allowed: {}..={}",
                -MAX_REPLICAS, MAX_REPLICAS
            ))),
            None => Ok(Some(coerce_replicas(&v))),
        },
    }
}

/// The value's text when it is a number (or numeric string) outside the i64 range.
fn beyond_i64(value: &serde_json::Value) -> Option<String> {
    // 2^63: the first magnitude an i64 cannot hold.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let (text, as_f64) = match value {
        serde_json::Value::Number(n) if n.as_i64().is_none() => (n.to_string(), n.as_f64()),
        serde_json::Value::String(s) if s.trim().parse::<i64>().is_err() => {
            (s.trim().to_owned(), s.trim().parse::<f64>().ok())
        }
        _ => return None,
    };
    as_f64
        .filter(|f| f.is_finite() && f.trunc().abs() >= LIMIT)
        .map(|_| text)
}

/// Interprets any JSON value as a replica count: integers as they are (saturating),
/// finite floats truncated, numeric strings parsed, everything else 0.
pub fn coerce_replicas(value: &serde_json::Value) -> i64 {
    fn from_f64(f: f64) -> i64 {
        if f.is_finite() {
            // `as` saturates at the i64 bounds; validation refuses absurd values later.
            f.trunc() as i64
        } else {
            0
        }
    }
    match value {
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i,
            (None, Some(_), _) => i64::MAX,
            (None, None, Some(f)) => from_f64(f),
            _ => 0,
        },
        serde_json::Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().map(from_f64))
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// One action. `role` is optional on input: the environment forces the acting role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The role claiming the action (ignored by the environment, which knows whose turn it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// What to do.
    pub action_type: ActionType,
    /// A service, a fleet agent, or absent.
    #[serde(default)]
    pub target: Option<String>,
    /// Arguments.
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: ActionArgs,
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Action {
    /// An action of `action_type` with no target and no arguments.
    pub const fn new(action_type: ActionType) -> Self {
        Action {
            role: None,
            action_type,
            target: None,
            args: ActionArgs {
                message: None,
                to: None,
                replicas: None,
                agent_name: None,
                failure_type: None,
            },
        }
    }

    /// Does nothing.
    pub const fn noop() -> Self {
        Action::new(ActionType::Noop)
    }

    /// Broadcasts `message` to every role.
    pub fn communicate(message: impl Into<String>) -> Self {
        let mut a = Action::new(ActionType::Communicate);
        a.args.message = Some(message.into());
        a
    }

    /// Sends `message` privately to `to`.
    pub fn communicate_to(to: Role, message: impl Into<String>) -> Self {
        let mut a = Action::communicate(message);
        a.args.to = Some(to.as_str().to_owned());
        a
    }

    /// Restarts `service`.
    pub fn restart(service: Service) -> Self {
        Action::new(ActionType::Restart).with_target(service.as_str())
    }

    /// Rolls back `service`.
    pub fn rollback(service: Service) -> Self {
        Action::new(ActionType::Rollback).with_target(service.as_str())
    }

    /// Scales `service` to `replicas`.
    pub fn scale(service: Service, replicas: i64) -> Self {
        let mut a = Action::new(ActionType::Scale).with_target(service.as_str());
        a.args.replicas = Some(replicas);
        a
    }

    /// Flags `agent` as rogue.
    pub fn flag_rogue(agent: FleetAgent) -> Self {
        Action::new(ActionType::FlagRogue).with_target(agent.as_str())
    }

    /// Declares `failure` the root cause.
    pub fn identify_root_cause(failure: &FailureId) -> Self {
        let mut a = Action::new(ActionType::IdentifyRootCause);
        a.args.failure_type = Some(failure.as_str().to_owned());
        a
    }

    /// Escalates the incident.
    pub const fn escalate() -> Self {
        Action::new(ActionType::Escalate)
    }

    /// Declares the incident resolved.
    pub const fn resolve() -> Self {
        Action::new(ActionType::Resolve)
    }

    /// This action with `target` set.
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// This action claiming `role`.
    pub fn with_role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }

    /// The target as a service, if it names one exactly.
    pub fn target_service(&self) -> Option<Service> {
        self.target.as_deref().and_then(Service::parse)
    }

    /// True when this is `action_type` aimed at `service`.
    pub fn is(&self, action_type: ActionType, service: Service) -> bool {
        self.action_type == action_type && self.target_service() == Some(service)
    }

    /// The replica count argument; absent counts as 0.
    pub fn replicas(&self) -> i64 {
        self.args.replicas.unwrap_or(0)
    }

    /// Checks the documented limits of [`crate::limits`].
    pub fn validate(&self) -> Result<(), ModelError> {
        fn check_len(
            field: &'static str,
            value: &Option<String>,
            max: usize,
        ) -> Result<(), ModelError> {
            match value {
                Some(v) if v.len() > max => Err(ModelError::TooLong {
                    field,
                    len: v.len(),
                    max,
                }),
                _ => Ok(()),
            }
        }
        check_len("target", &self.target, MAX_NAME_BYTES)?;
        check_len("args.message", &self.args.message, MAX_MESSAGE_BYTES)?;
        check_len("args.to", &self.args.to, MAX_NAME_BYTES)?;
        check_len("args.agent_name", &self.args.agent_name, MAX_NAME_BYTES)?;
        check_len("args.failure_type", &self.args.failure_type, MAX_NAME_BYTES)?;
        if let Some(r) = self.args.replicas {
            if !(-MAX_REPLICAS..=MAX_REPLICAS).contains(&r) {
                return Err(ModelError::OutOfRange {
                    field: "args.replicas",
                    value: i128::from(r),
                    min: i128::from(-MAX_REPLICAS),
                    max: i128::from(MAX_REPLICAS),
                });
            }
        }
        Ok(())
    }
}

/// An action already checked against the documented limits ([`Action::validate`]), so an
/// engine can play it again and again without checking it each time (the RL action table
/// holds these). It derefs to the [`Action`] and serializes as it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CheckedAction(Action);

impl CheckedAction {
    /// Checks `action`; the error names the field beyond its limit.
    pub fn new(action: Action) -> Result<Self, ModelError> {
        action.validate()?;
        Ok(CheckedAction(action))
    }

    /// The action.
    pub fn action(&self) -> &Action {
        &self.0
    }

    /// The action, owned.
    pub fn into_action(self) -> Action {
        self.0
    }
}

impl TryFrom<Action> for CheckedAction {
    type Error = ModelError;
    fn try_from(action: Action) -> Result<Self, ModelError> {
        CheckedAction::new(action)
    }
}

impl std::ops::Deref for CheckedAction {
    type Target = Action;
    fn deref(&self) -> &Action {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Action {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn replicas_are_coerced() {
        let cases = [
            (json!(3), 3),
            (json!(3.9), 3),
            (json!("4"), 4),
            (json!(" 2.5 "), 2),
            (json!("lots"), 0),
            (json!(true), 0),
            (json!([1]), 0),
            (json!(-5e9), -5_000_000_000),
        ];
        for (value, expected) in cases {
            let a =
                parse(json!({"action_type": "scale", "target": "db", "args": {"replicas": value}}));
            assert_eq!(a.args.replicas, Some(expected), "{value}");
        }
    }

    #[test]
    fn null_args_and_null_keys_are_absent() {
        let a = parse(json!({"action_type": "noop", "args": null}));
        assert!(a.args.is_empty());
        let a = parse(
            json!({"action_type": "scale", "target": "db", "args": {"replicas": null, "extra": 1}}),
        );
        assert_eq!(a.args.replicas, None);
        assert_eq!(a.replicas(), 0);
    }

    #[test]
    fn serialized_action_omits_absent_fields() {
        let json = serde_json::to_value(Action::scale(Service::Db, 2)).unwrap();
        assert_eq!(
            json,
            json!({"action_type": "scale", "target": "db", "args": {"replicas": 2}})
        );
    }

    #[test]
    fn unknown_action_type_names_the_value() {
        let err = serde_json::from_value::<Action>(json!({"action_type": "reboot"})).unwrap_err();
        assert!(
            err.to_string().contains("unknown action type \"reboot\""),
            "{err}"
        );
    }

    #[test]
    fn a_replica_count_beyond_any_integer_is_named_as_sent() {
        for (sent, named) in [
            (json!(1e308), "1e+308"),
            (json!(18446744073709551615u64), "18446744073709551615"),
            (json!("-9.5e40"), "-9.5e40"),
        ] {
            let err = serde_json::from_value::<Action>(
                json!({"action_type": "scale", "target": "db", "args": {"replicas": sent}}),
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains(&format!(
                    "args.replicas {named} is out of range; allowed: -1000..=1000"
                )),
                "{err}"
            );
        }
        let big: Action = serde_json::from_value(
            json!({"action_type": "scale", "target": "db", "args": {"replicas": 2.5e6}}),
        )
        .unwrap();
        assert_eq!(
            big.args.replicas,
            Some(2_500_000),
            "within i64: coerced, then validated"
        );
    }

    #[test]
    fn validation_refuses_oversized_fields() {
        let big = Action::communicate("x".repeat(MAX_MESSAGE_BYTES + 1));
        assert_eq!(
            big.validate().unwrap_err().to_string(),
            format!(
                "args.message is {} bytes long; the limit is {MAX_MESSAGE_BYTES}",
                MAX_MESSAGE_BYTES + 1
            )
        );
        let absurd = Action::scale(Service::Db, 1_000_000);
        assert!(absurd
            .validate()
            .unwrap_err()
            .to_string()
            .contains("args.replicas 1000000 is out of range"));
        assert!(Action::scale(Service::Db, -3).validate().is_ok());
    }

    #[test]
    fn a_checked_action_is_refused_as_validate_refuses_and_serializes_as_its_action() {
        let big = Action::communicate("x".repeat(MAX_MESSAGE_BYTES + 1));
        assert_eq!(
            CheckedAction::new(big.clone()).unwrap_err(),
            big.validate().unwrap_err()
        );
        let scale = Action::scale(Service::Db, 3);
        let checked = CheckedAction::try_from(scale.clone()).unwrap();
        assert_eq!(checked.action(), &scale);
        assert_eq!(checked.replicas(), 3, "derefs to the action");
        assert_eq!(
            serde_json::to_value(&checked).unwrap(),
            serde_json::to_value(&scale).unwrap()
        );
        assert_eq!(checked.into_action(), scale);
    }
}
