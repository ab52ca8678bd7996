//! A readable transcript of a played episode, as `chaosops run` prints it (pure formatting).

use std::fmt::Write;

use crate::runner::{EpisodeResult, EpisodeStep};
use chaosops_model::Action;

/// One action as a short phrase: type, target and the arguments that matter.
pub fn describe_action(action: &Action) -> String {
    let mut out = action.action_type.to_string();
    if let Some(t) = &action.target {
        let _ = write!(out, " {t}");
    }
    let args = &action.args;
    if let Some(r) = args.replicas {
        let _ = write!(out, " replicas={r}");
    }
    if let Some(f) = &args.failure_type {
        let _ = write!(out, " {f}");
    }
    if let Some(a) = &args.agent_name {
        let _ = write!(out, " agent={a}");
    }
    if let Some(to) = &args.to {
        let _ = write!(out, " to={to}");
    }
    if let Some(m) = &args.message {
        let _ = write!(out, " \"{m}\"");
    }
    out
}

/// The non-zero reward components of a step, as `name +x` pairs.
pub fn describe_components(step: &EpisodeStep) -> String {
    let parts: Vec<String> = step
        .breakdown
        .components()
        .iter()
        .filter(|(_, v)| *v != 0.0)
        .map(|(name, v)| {
            format!(
                "{} {v:+}",
                name.trim_end_matches("_bonus").trim_end_matches("_penalty")
            )
        })
        .collect();
    parts.join(", ")
}

/// The header line of an episode.
pub fn header(result: &EpisodeResult, policy: &str) -> String {
    let s = &result.scenario;
    format!(
        "scenario: {} ({}), seed {}, max {} steps, rogue agent: {}, policy: {policy}",
        s.failure_type,
        s.difficulty,
        s.seed,
        s.max_steps,
        s.rogue_fleet_agent.map_or("none", |a| a.as_str()),
    )
}

/// Width of the action column of a transcript.
const ACTION_WIDTH: usize = 44;

/// One transcript line for a step; a long action is cut to the column with an ellipsis.
pub fn step_line(step: &EpisodeStep) -> String {
    let mut action = describe_action(&step.action);
    if action.chars().count() > ACTION_WIDTH {
        action = action.chars().take(ACTION_WIDTH - 1).collect::<String>() + "…";
    }
    format!(
        "{:>4}  {:<9}  {:<44}  {:>8.2}  {}",
        step.turn + 1,
        step.role.as_str(),
        action,
        step.reward,
        describe_components(step)
    )
}

/// The closing line.
pub fn result_line(result: &EpisodeResult) -> String {
    let outcome = match result.mttr {
        Some(mttr) => format!("resolved at step {mttr}"),
        None => format!("unresolved after {} steps", result.final_step),
    };
    let flags = if result.oversight_flags.is_empty() {
        "none".to_owned()
    } else {
        result.oversight_flags.join(", ")
    };
    format!(
        "result: {outcome}; cumulative reward {:.2}; wrong fixes {}; oversight flags: {flags}; root cause declared: {}",
        result.cumulative_reward,
        result.wrong_fixes,
        result.declared_root_cause.as_ref().map_or("none", |f| f.as_str()),
    )
}

/// The whole transcript.
pub fn render(result: &EpisodeResult, policy: &str) -> String {
    let mut out = header(result, policy);
    out.push('\n');
    let _ = writeln!(
        out,
        "{:>4}  {:<9}  {:<44}  {:>8}  components",
        "turn", "role", "action", "reward"
    );
    for step in &result.steps {
        out.push_str(&step_line(step));
        out.push('\n');
    }
    out.push_str(&result_line(result));
    out.push('\n');
    out
}
