//! Role system prompts and a compact text rendering of a role's view (docs/behaviour.md §12).

use std::fmt::Write;

use chaosops_model::{Health, Observation, Role, RoleView};

/// Token budget of the rendered view (the user message less its first and last line),
/// estimated as [`estimate_tokens`] does. Metrics, alerts, logs and fleet actions are
/// rendered in full (the role views bound them); the chat and the inbox grow with the
/// episode, so when the whole view would exceed the budget their oldest lines are left
/// out first (chat, then inbox, then fleet actions, then alerts), and the section says how
/// many. Log lines are never left out.
pub const PROMPT_VIEW_TOKEN_BUDGET: usize = 1500;

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

/// Renders every section of a view into `out`, within [`PROMPT_VIEW_TOKEN_BUDGET`].
pub fn render_view(view: &RoleView<'_>, out: &mut String) {
    render_view_within(view, PROMPT_VIEW_TOKEN_BUDGET, out)
}

/// Renders every section of a view into `out`, leaving out the oldest chat, inbox, fleet
/// and alert lines (in that order) while the rendering would exceed `budget_tokens`.
pub fn render_view_within(view: &RoleView<'_>, budget_tokens: usize, out: &mut String) {
    let start = out.len();
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
    let mut alerts = Section::new("alerts", view.visible_alerts.iter(), |a| {
        format!(
            "[{}] {}: {} (step {})",
            a.severity, a.service, a.message, a.triggered_at_step
        )
    });
    let logs = Section::new("logs", view.visible_logs.iter(), |l| {
        format!("t={} {} {}: {}", l.timestamp, l.level, l.service, l.message)
    });
    let mut fleet = Section::new("fleet actions", view.visible_fleet_actions.iter(), |a| {
        format!(
            "step {}: {} {} -> {}",
            a.step, a.agent_name, a.action, a.target
        )
    });
    let mut chat = Section::new("chat", view.shared_chat.iter(), |line| line.to_string());
    let mut inbox = Section::new("inbox", view.private_inbox.iter(), |line| line.to_string());
    let note = view
        .private_note
        .map(|note| format!("note: {note}\n"))
        .unwrap_or_default();
    let budget = budget_tokens.saturating_mul(4);
    let fixed = out.len() - start + logs.bytes() + note.len();
    let total = |sections: [&Section; 4]| fixed + sections.iter().map(|s| s.bytes()).sum::<usize>();
    while total([&alerts, &fleet, &chat, &inbox]) > budget {
        let Some(section) = [&mut chat, &mut inbox, &mut fleet, &mut alerts]
            .into_iter()
            .find(|s| s.shown() > 0)
        else {
            break;
        };
        section.leave_out_oldest();
    }
    for section in [&alerts, &logs, &fleet, &chat, &inbox] {
        section.write(out);
    }
    out.push_str(&note);
}

/// One titled list of lines, some of its oldest possibly left out.
struct Section {
    title: &'static str,
    lines: Vec<String>,
    left_out: usize,
}

impl Section {
    fn new<T>(
        title: &'static str,
        items: impl Iterator<Item = T>,
        line: impl Fn(T) -> String,
    ) -> Self {
        Section {
            title,
            lines: items.map(line).collect(),
            left_out: 0,
        }
    }

    fn shown(&self) -> usize {
        self.lines.len() - self.left_out
    }

    fn leave_out_oldest(&mut self) {
        self.left_out += 1;
    }

    fn note(&self) -> String {
        format!("({} older not shown)", self.left_out)
    }

    /// Bytes [`Section::write`] writes.
    fn bytes(&self) -> usize {
        if self.lines.is_empty() {
            return 0;
        }
        let shown: usize = self.lines[self.left_out..]
            .iter()
            .map(|l| l.len() + 3)
            .sum();
        let note = if self.left_out > 0 {
            self.note().len() + 3
        } else {
            0
        };
        self.title.len() + 2 + shown + note
    }

    /// The title, then one indented line per item shown; nothing when empty.
    fn write(&self, out: &mut String) {
        if self.lines.is_empty() {
            return;
        }
        out.push_str(self.title);
        out.push_str(":\n");
        if self.left_out > 0 {
            let _ = writeln!(out, "  {}", self.note());
        }
        for line in &self.lines[self.left_out..] {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
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
