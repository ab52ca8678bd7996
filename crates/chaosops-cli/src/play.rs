//! `chaosops play`: a person takes one seat; the chosen policy plays the others.

use std::io::{self, BufRead, Write};

use chaosops_model::{Action, ActionType, Difficulty, FailureId, FleetAgent, Role, Service};
use chaosops_sim::Registry;

use crate::live::LiveEpisode;
use chaosops_roles::transcript;

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

/// How a session of play ended.
#[derive(Debug)]
pub struct PlayOutcome {
    /// The transcript, as `chaosops run` prints it.
    pub transcript: String,
    /// False when the person quit (or input ended) before the episode did.
    pub finished: bool,
    /// The model counters of the other seats, when a model played them.
    pub parse_stats: Option<chaosops_roles::ParseStats>,
}

/// The failure of a `play` episode when none is named: drawn by the seed from the tier's own
/// pool (the failure types the curriculum uses at that difficulty).
pub fn draw_failure(registry: &Registry, difficulty: Difficulty, seed: u64) -> FailureId {
    let mut ids: Vec<&'static str> = registry.pool(difficulty).iter().map(|f| f.id()).collect();
    if ids.is_empty() {
        // A tier no registered type plays at: any type will do.
        ids = registry.ids().collect();
    }
    FailureId::from_static(ids[(seed % ids.len() as u64) as usize])
}

/// Plays `episode` with a person in `human`'s seat, reading `input` and writing to `output`.
pub fn play(
    registry: &Registry,
    mut episode: LiveEpisode,
    human: Role,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> io::Result<PlayOutcome> {
    let s = episode.scenario().clone();
    writeln!(
        output,
        "ChaosOps: you are {human}. Scenario seed {} ({}), {} steps at most. The others are played by {}.",
        s.seed,
        s.difficulty,
        s.max_steps,
        episode.policy_name()
    )?;
    let mut finished = true;
    let mut human_turns = 0u32;
    let mut line = String::new();
    'episode: while !episode.is_done() {
        if episode.current_role() != human {
            episode.advance().map_err(io::Error::other)?;
            continue;
        }
        let env = episode.env();
        let observation = env.observation();
        let mut view = format!(
            "step {} | you are {human} | {}\n",
            observation.step, observation.message
        );
        chaosops_llm::render_view(&observation.view, &mut view);
        writeln!(output, "\n{view}\n{MENU}")?;
        loop {
            write!(output, "> ")?;
            output.flush()?;
            line.clear();
            if input.read_line(&mut line)? == 0 {
                writeln!(output, "\ninput ended; the episode is left unfinished")?;
                finished = false;
                break 'episode;
            }
            match parse_command(&line, registry) {
                Ok(Command::Act(action)) => {
                    human_turns += 1;
                    episode.apply(action).map_err(io::Error::other)?;
                    if let Some(step) = episode.steps().last() {
                        writeln!(output, "{}", transcript::step_line(step))?;
                    }
                    break;
                }
                Ok(Command::Help) => writeln!(output, "{MENU}")?,
                Ok(Command::Quit) => {
                    finished = false;
                    break 'episode;
                }
                Err(problem) => {
                    writeln!(output, "not understood: {problem}; try again (or \"help\")")?
                }
            }
        }
    }
    let result = episode.result();
    if finished && human_turns == 0 {
        let how = if result.resolved {
            format!("the {} players resolved it", episode.policy_name())
        } else {
            "the step budget ran out".to_owned()
        };
        writeln!(
            output,
            "\nThe episode ended at step {} before your first turn as {human}: {how}. \
             For a bigger part, play --role sre (the first to act), or give the others \
             --policy noop.",
            result.final_step
        )?;
    }
    let label = format!("{} with a person as {human}", episode.policy_name());
    let transcript = transcript::render(&result, &label);
    writeln!(output, "\n{transcript}")?;
    Ok(PlayOutcome {
        transcript,
        finished,
        parse_stats: result.parse_stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> &'static Registry {
        crate::registry().unwrap()
    }

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

    #[test]
    fn a_drawn_failure_belongs_to_the_tier() {
        let r = registry();
        for tier in Difficulty::ALL {
            let pool: Vec<&str> = r.pool(*tier).iter().map(|f| f.id()).collect();
            let drawn: Vec<FailureId> = (0..40).map(|seed| draw_failure(r, *tier, seed)).collect();
            for f in &drawn {
                assert!(pool.contains(&f.as_str()), "{tier}: {f} is not in {pool:?}");
            }
            let mut distinct: Vec<&str> = drawn.iter().map(|f| f.as_str()).collect();
            distinct.sort();
            distinct.dedup();
            assert_eq!(
                distinct.len(),
                pool.len(),
                "{tier}: every type of the pool comes up"
            );
        }
    }
}
