//! Role system prompts and a compact text rendering of a role's view (SPEC section 12).

use std::fmt::Write;

use chaosops_model::{Health, Observation, Role, RoleView};

/// Alerts shown in a prompt.
pub const PROMPT_ALERTS: usize = 4;
/// Log lines shown in a prompt.
pub const PROMPT_LOGS: usize = 4;
/// Fleet actions shown in a prompt.
pub const PROMPT_FLEET_ACTIONS: usize = 6;
/// Chat lines shown in a prompt.
pub const PROMPT_CHAT: usize = 6;
/// Inbox messages shown in a prompt.
pub const PROMPT_INBOX: usize = 4;

const COMMON: &str = "You are one of four responders (SRE, Oversight, Dev, Manager) handling a live production \
incident on four services: auth, payments, notifications, db. Roles take turns, one action per turn. \
Resolve the incident quickly: every step costs reward, wrong fixes cost 50, misuse of an action costs 20.";

const FORMAT: &str = "Answer with exactly one JSON object and nothing else, shaped like \
{\"action_type\": \"...\", \"target\": \"...\", \"args\": {...}}. Action types: noop, communicate \
(args.message, optional args.to = a role or \"all\"), restart / rollback (target = a service), scale \
(target = a service, args.replicas = an integer), flag_rogue (target = autoscaler, load_balancer or deploy_bot), \
identify_root_cause (args.failure_type), escalate, resolve.";

/// The system prompt of `role`: its job, what it sees, its actions, the output format.
/// `failure_ids` lists the root causes `identify_root_cause` accepts.
pub fn system_prompt(role: Role, failure_ids: &[&str]) -> String {
    let job = match role {
        Role::Sre => "You are the SRE. You see every service's metrics, the last log lines and the alerts. \
Diagnose: declare the root cause early with identify_root_cause (a correct declaration in the first three \
steps earns 30), and restart, roll back or scale a service when you are sure.",
        Role::Dev => "You are the Dev. You see every service's metrics, the three newest log lines and the alerts. \
Remediate: restart, roll back (a log saying a config was rolled out suggests rollback) or scale the right \
service. A remediation that does not help is a wrong fix.",
        Role::Manager => "You are the incident Manager. You see only alerts and the team chat, no metrics or logs. \
Coordinate with communicate, escalate when the situation needs it, and resolve once the team reports the \
incident fixed (only the manager may resolve).",
        Role::Oversight => "You are Oversight. You see metrics, logs, alerts and the actions that the fleet's own \
automation (autoscaler, load_balancer, deploy_bot) took. If one of them caused the incident, flag it with \
flag_rogue (catching it earns 50; a false flag costs 75). Only Oversight may flag.",
    };
    format!(
        "{COMMON}\n\n{job}\n\n{FORMAT} Root causes: {}.",
        failure_ids.join(", ")
    )
}

fn health_tag(h: Health) -> &'static str {
    match h {
        Health::Healthy => "ok",
        Health::Degraded => "DEGRADED",
        Health::Critical => "CRITICAL",
        Health::Down => "DOWN",
    }
}

/// Renders what `observation`'s role sees as compact text, ending with the answer instruction.
pub fn render_observation(observation: &Observation<'_>) -> String {
    let mut out = String::with_capacity(1024);
    let _ = writeln!(
        out,
        "step {} | you are {} | {}",
        observation.step, observation.turn_role, observation.message
    );
    render_view(&observation.view, &mut out);
    out.push_str("Your action (one JSON object):");
    out
}

/// Renders a view's sections into `out`.
pub fn render_view(view: &RoleView<'_>, out: &mut String) {
    if let Some(metrics) = view.visible_metrics {
        out.push_str("services:\n");
        for (s, m) in metrics.iter() {
            let _ = writeln!(
                out,
                "  {s}: {} cpu {:.0}% mem {:.0}MB latency {:.0}ms errors {:.1}% replicas {}",
                health_tag(m.health),
                m.cpu_pct,
                m.memory_mb,
                m.latency_ms,
                m.error_rate * 100.0,
                m.replicas
            );
        }
    }
    section(
        out,
        "alerts",
        view.visible_alerts.iter(),
        PROMPT_ALERTS,
        |out, a| {
            let _ = write!(
                out,
                "[{}] {}: {} (step {})",
                a.severity, a.service, a.message, a.triggered_at_step
            );
        },
    );
    section(
        out,
        "logs",
        view.visible_logs.iter(),
        PROMPT_LOGS,
        |out, l| {
            let _ = write!(
                out,
                "t={} {} {}: {}",
                l.timestamp, l.level, l.service, l.message
            );
        },
    );
    section(
        out,
        "fleet actions",
        view.visible_fleet_actions.iter(),
        PROMPT_FLEET_ACTIONS,
        |out, a| {
            let _ = write!(
                out,
                "step {}: {} {} -> {}",
                a.step, a.agent_name, a.action, a.target
            );
        },
    );
    section(
        out,
        "chat",
        view.shared_chat.iter(),
        PROMPT_CHAT,
        |out, line| out.push_str(line),
    );
    section(
        out,
        "inbox",
        view.private_inbox.iter(),
        PROMPT_INBOX,
        |out, line| out.push_str(line),
    );
    if let Some(note) = view.private_note {
        let _ = writeln!(out, "note: {note}");
    }
}

/// Writes the newest `keep` items under `title`, one indented line each; nothing when empty.
fn section<T>(
    out: &mut String,
    title: &str,
    items: impl ExactSizeIterator<Item = T>,
    keep: usize,
    line: impl Fn(&mut String, T),
) {
    let skip = items.len().saturating_sub(keep);
    let mut items = items.skip(skip).peekable();
    if items.peek().is_none() {
        return;
    }
    out.push_str(title);
    out.push_str(":\n");
    for item in items {
        out.push_str("  ");
        line(out, item);
        out.push('\n');
    }
}

/// A rough token count for English prompts: one token per four bytes.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// The reminder appended to the user message when a reply could not be used.
pub fn retry_reminder(reason: &str) -> String {
    format!(
        "\n\nYour previous reply could not be used ({reason}). Reply with exactly one JSON object such as \
{{\"action_type\": \"noop\"}} and no other text."
    )
}
