//! A person's typed action, as `chaosops play` and the web interface read it: a number or
//! a name with its arguments (`restart db`, `5 payments 4`), or a JSON action, with an
//! explanation for anything else.

use chaosops_model::{Action, ActionType, FleetAgent, Role, Service};
use chaosops_sim::Registry;

/// What a person typed.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Take this action.
    Act(Action),
    /// Show the menu again.
    Help,
    /// Stop playing.
    Quit,
}

/// The menu shown on each human turn.
pub const MENU: &str = "\
actions:
  1 noop                           6 flag_rogue AGENT
  2 communicate [@ROLE] MESSAGE    7 identify_root_cause FAILURE
  3 restart SERVICE                8 escalate
  4 rollback SERVICE               9 resolve
  5 scale SERVICE REPLICAS
type a number or a name with its arguments (\"restart db\", \"5 payments 4\",
\"communicate @dev roll back auth\"), a JSON action, \"help\" or \"quit\"";

fn service(word: Option<&str>) -> Result<Service, String> {
    let word = word.ok_or("name a service: auth, payments, notifications or db")?;
    Service::parse(&word.to_ascii_lowercase()).ok_or_else(|| {
        format!("unknown service \"{word}\"; known: auth, payments, notifications, db")
    })
}

/// Reads one line of human input.
pub fn parse_command(line: &str, registry: &Registry) -> Result<Command, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err("type an action, \"help\" or \"quit\"".to_owned());
    }
    if line.starts_with('{') {
        let action: Action =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON action: {e}"))?;
        action.validate().map_err(|e| e.to_string())?;
        return Ok(Command::Act(action));
    }
    let mut words = line.split_whitespace();
    let head = words.next().unwrap_or_default().to_ascii_lowercase();
    let action_type = match head.as_str() {
        "help" | "?" | "h" => return Ok(Command::Help),
        "quit" | "exit" | "q" => return Ok(Command::Quit),
        number if number.chars().all(|c| c.is_ascii_digit()) => match number.parse::<usize>() {
            Ok(n @ 1..=9) => ActionType::ALL[n - 1],
            _ => return Err(format!("no action number {number}; choose 1 to 9")),
        },
        name => ActionType::parse(name).ok_or_else(|| {
            format!(
                "unknown action \"{name}\"; known: {}",
                ActionType::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?,
    };
    let rest: Vec<&str> = words.collect();
    let action = match action_type {
        ActionType::Noop | ActionType::Escalate | ActionType::Resolve => Action::new(action_type),
        ActionType::Restart => Action::restart(service(rest.first().copied())?),
        ActionType::Rollback => Action::rollback(service(rest.first().copied())?),
        ActionType::Scale => {
            let target = service(rest.first().copied())?;
            let raw = rest
                .get(1)
                .ok_or("give the replica count: scale SERVICE REPLICAS")?;
            let replicas: i64 = raw
                .parse()
                .map_err(|_| format!("replicas \"{raw}\" is not a whole number"))?;
            Action::scale(target, replicas)
        }
        ActionType::FlagRogue => {
            let agent = rest
                .first()
                .ok_or("name the agent: autoscaler, load_balancer or deploy_bot")?;
            // A misspelt agent would be a false flag (-75) and a lost turn: ask again.
            let agent: FleetAgent = agent
                .to_ascii_lowercase()
                .parse()
                .map_err(|e: chaosops_model::ModelError| e.to_string())?;
            Action::new(ActionType::FlagRogue).with_target(agent.as_str())
        }
        ActionType::IdentifyRootCause => {
            let id = rest
                .first()
                .ok_or("name the failure type (see `chaosops list`)")?;
            let failure = registry.failure(id).map_err(|e| e.to_string())?;
            Action::identify_root_cause(&chaosops_model::FailureId::from_static(failure.id()))
        }
        ActionType::Communicate => {
            let (to, words) = match rest.first() {
                Some(w) if w.starts_with('@') => (Some(&w[1..]), &rest[1..]),
                _ => (None, &rest[..]),
            };
            if words.is_empty() {
                return Err("write a message: communicate [@ROLE] MESSAGE".to_owned());
            }
            let mut action = Action::communicate(words.join(" "));
            if let Some(to) = to {
                let role: Role = to
                    .parse()
                    .map_err(|e: chaosops_model::ModelError| e.to_string())?;
                action.args.to = Some(role.as_str().to_owned());
            }
            action
        }
    };
    action.validate().map_err(|e| e.to_string())?;
    Ok(Command::Act(action))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_registry as registry;

    #[test]
    fn commands() {
        let r = registry();
        assert_eq!(
            parse_command("restart db", r),
            Ok(Command::Act(Action::restart(Service::Db)))
        );
        assert_eq!(
            parse_command(" 5 payments 4 ", r),
            Ok(Command::Act(Action::scale(Service::Payments, 4)))
        );
        assert_eq!(
            parse_command("ROLLBACK Auth", r),
            Ok(Command::Act(Action::rollback(Service::Auth)))
        );
        assert_eq!(
            parse_command("communicate @dev roll back auth", r),
            Ok(Command::Act(Action::communicate_to(
                Role::Dev,
                "roll back auth"
            )))
        );
        assert_eq!(parse_command("help", r), Ok(Command::Help));
        assert_eq!(parse_command("quit", r), Ok(Command::Quit));
        assert_eq!(
            parse_command(r#"{"action_type": "escalate"}"#, r),
            Ok(Command::Act(Action::escalate()))
        );
    }

    #[test]
    fn bad_input_is_explained() {
        let r = registry();
        let err = |s: &str| parse_command(s, r).unwrap_err();
        assert!(err("restart dbb").contains("unknown service \"dbb\""));
        assert!(err("reboot db").contains("unknown action \"reboot\""));
        assert!(err("12").contains("choose 1 to 9"));
        assert!(err("scale db lots").contains("replicas \"lots\" is not a whole number"));
        assert!(err("scale db 99999").contains("out of range"));
        assert!(err("identify_root_cause gremlins").contains("unknown failure type \"gremlins\""));
        assert!(err("communicate @ceo hi").contains("unknown role \"ceo\""));
        assert!(err("{\"action_type\": 1}").contains("invalid JSON action"));
        assert!(err("").contains("type an action"));
        assert!(
            err("flag_rogue autoscalr")
                .contains("unknown fleet agent \"autoscalr\"; known: autoscaler"),
            "{}",
            err("flag_rogue autoscalr")
        );
        assert!(err("6 deploybot").contains("unknown fleet agent \"deploybot\""));
        assert_eq!(
            parse_command("flag_rogue Deploy_Bot", r),
            Ok(Command::Act(
                Action::new(ActionType::FlagRogue).with_target("deploy_bot")
            ))
        );
    }
}
