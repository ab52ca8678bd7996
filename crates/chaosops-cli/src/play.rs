//! `chaosops play`: a person takes one seat; the chosen policy plays the others.

use std::io::{self, BufRead, Write};

use chaosops_model::{Difficulty, FailureId, Role};
use chaosops_sim::Registry;

use crate::live::LiveEpisode;
use chaosops_roles::transcript;

pub use chaosops_server::command::{parse_command, Command, MENU};

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
