//! Drawing the dashboard: a pure function of the episode and the controls.

use chaosops_model::{Health, Service};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, List, ListItem, Paragraph, Row, Sparkline, Table, Wrap,
};
use ratatui::Frame;

use crate::live::LiveEpisode;
use chaosops_roles::transcript::{describe_action, describe_components};

/// What the dashboard shows besides the episode.
#[derive(Clone, Copy, Debug)]
pub struct Controls {
    /// True while paused.
    pub paused: bool,
    /// Seconds between turns while running.
    pub seconds_per_turn: f64,
}

fn health_style(h: Health) -> Style {
    match h {
        Health::Healthy => Style::new().fg(Color::Green),
        Health::Degraded => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        Health::Critical => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Health::Down => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
    }
}

fn block(title: &str) -> Block<'_> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, Style::new().bold()))
}

/// The smallest frame, in columns and rows, the dashboard lays out; a smaller one shows a
/// note saying so instead of dropping panels silently.
pub const MIN_SIZE: (u16, u16) = (60, 22);

/// Draws the whole dashboard into `frame`.
pub fn draw(frame: &mut Frame, episode: &LiveEpisode, controls: Controls) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let note = format!(
            "ChaosOps: this window is {}x{}; the dashboard needs at least {}x{}. \
             Enlarge it, or press q to quit.",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        frame.render_widget(Paragraph::new(note).wrap(Wrap { trim: true }), area);
        return;
    }
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Length(7),
            Constraint::Min(6),
            Constraint::Length(4),
        ])
        .split(frame.area());
    header(frame, rows[0], episode, controls);
    let top = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(56), Constraint::Min(20)])
        .split(rows[1]);
    services(frame, top[0], episode);
    sparklines(frame, top[1], episode);
    let middle = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
        .split(rows[2]);
    let split = [Constraint::Min(4), Constraint::Percentage(65)];
    let left = Layout::default()
        .direction(Direction::Vertical)
        .constraints(split)
        .split(middle[0]);
    let right = Layout::default()
        .direction(Direction::Vertical)
        .constraints(split)
        .split(middle[1]);
    alerts(frame, left[0], episode);
    logs(frame, left[1], episode);
    fleet(frame, right[0], episode);
    chat(frame, right[1], episode);
    turn(frame, rows[3], episode);
}

fn header(frame: &mut Frame, area: Rect, episode: &LiveEpisode, controls: Controls) {
    let s = episode.scenario();
    let state = episode.env().state();
    let status = if state.resolved {
        Span::styled(" RESOLVED ", Style::new().fg(Color::Black).bg(Color::Green))
    } else if episode.is_done() {
        Span::styled(" UNRESOLVED ", Style::new().fg(Color::White).bg(Color::Red))
    } else if controls.paused {
        Span::styled(" PAUSED ", Style::new().fg(Color::Black).bg(Color::Yellow))
    } else {
        Span::styled(" LIVE ", Style::new().fg(Color::Black).bg(Color::Cyan))
    };
    let first = Line::from(vec![
        Span::styled("ChaosOps ", Style::new().bold()),
        Span::raw(format!(
            "{} ({}) seed {} ",
            s.failure_type, s.difficulty, s.seed
        )),
        Span::styled(
            format!("step {}/{} ", state.step_count, state.max_steps),
            Style::new().bold(),
        ),
        Span::raw(format!("reward {:+.2} ", state.cumulative_reward)),
        status,
    ]);
    let second = Line::from(vec![Span::styled(
        format!(
            "policy {} | space pause | n step | +/- speed ({:.2}s/turn) | q quit",
            episode.policy_name(),
            controls.seconds_per_turn
        ),
        Style::new().fg(Color::DarkGray),
    )]);
    frame.render_widget(Paragraph::new(vec![first, second]), area);
}

fn services(frame: &mut Frame, area: Rect, episode: &LiveEpisode) {
    let state = episode.env().state();
    let rows = state.services.iter().map(|(service, m)| {
        Row::new(vec![
            Cell::from(service.as_str()),
            Cell::from(Span::styled(m.health.as_str(), health_style(m.health))),
            Cell::from(format!("{:>5.1}", m.cpu_pct)),
            Cell::from(format!("{:>6.0}", m.memory_mb)),
            Cell::from(format!("{:>6.0}", m.latency_ms)),
            Cell::from(format!("{:>5.1}", m.error_rate * 100.0)),
            Cell::from(format!("{:>3}", m.replicas)),
        ])
    });
    let widths = [
        Constraint::Length(13),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(3),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(["service", "health", "cpu%", "memMB", "latms", "err%", "rep"])
                .style(Style::new().fg(Color::DarkGray)),
        )
        .block(block("services"));
    frame.render_widget(table, area);
}

/// Top of the latency sparkline scale, in ms.
const LATENCY_TOP: u64 = 2000;
/// Top of the error-rate sparkline scale, in thousandths.
const ERROR_TOP: u64 = 1000;

fn sparklines(frame: &mut Frame, area: Rect, episode: &LiveEpisode) {
    let outer = block("latency | errors");
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let lines = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(1); 4])
        .split(inner);
    let recorder = episode.recorder();
    for (i, service) in Service::ALL.iter().enumerate() {
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([
                Constraint::Length(5),
                Constraint::Percentage(50),
                Constraint::Percentage(50),
            ])
            .split(lines[i]);
        let label: String = service.as_str().chars().take(4).collect();
        frame.render_widget(Paragraph::new(label), cols[0]);
        let width = usize::from(cols[1].width.max(1));
        let latency: Vec<u64> = recorder
            .latency_series(*service)
            .map(|v| v.max(0.0) as u64)
            .collect();
        let errors: Vec<u64> = recorder
            .error_rate_series(*service)
            .map(|v| (v * 1000.0).max(0.0) as u64)
            .collect();
        // Every sample gets at least the lowest bar: a healthy value far below the scale's
        // top would otherwise draw as a blank, and the last (resolving) sample look missing.
        let tail = |v: &[u64], max: u64| {
            v[v.len().saturating_sub(width)..]
                .iter()
                .map(|&x| x.clamp(max.div_ceil(8), max))
                .collect::<Vec<u64>>()
        };
        frame.render_widget(
            Sparkline::default()
                .data(tail(&latency, LATENCY_TOP))
                .max(LATENCY_TOP)
                .style(Style::new().fg(Color::Cyan)),
            cols[1],
        );
        frame.render_widget(
            Sparkline::default()
                .data(tail(&errors, ERROR_TOP))
                .max(ERROR_TOP)
                .style(Style::new().fg(Color::Red)),
            cols[2],
        );
    }
}

/// The last `n` items that fit `area`'s inner height.
fn fit<T>(items: &[T], area: Rect) -> &[T] {
    let n = usize::from(area.height.saturating_sub(2));
    &items[items.len().saturating_sub(n)..]
}

fn alerts(frame: &mut Frame, area: Rect, episode: &LiveEpisode) {
    let state = episode.env().state();
    let items: Vec<ListItem> = fit(&state.all_alerts, area)
        .iter()
        .map(|a| {
            let style = if a.severity == chaosops_model::Severity::Page {
                Style::new().fg(Color::Red)
            } else {
                Style::new().fg(Color::Yellow)
            };
            ListItem::new(Line::from(vec![
                Span::styled(format!("[{}] ", a.severity), style),
                Span::raw(format!("{}: {}", a.service, a.message)),
            ]))
        })
        .collect();
    frame.render_widget(List::new(items).block(block("alerts")), area);
}

fn logs(frame: &mut Frame, area: Rect, episode: &LiveEpisode) {
    let state = episode.env().state();
    let items: Vec<ListItem> = fit(&state.all_logs, area)
        .iter()
        .map(|l| {
            let level = match l.level {
                chaosops_model::LogLevel::Error | chaosops_model::LogLevel::Fatal => {
                    Style::new().fg(Color::Red)
                }
                chaosops_model::LogLevel::Warn => Style::new().fg(Color::Yellow),
                chaosops_model::LogLevel::Info => Style::new().fg(Color::Gray),
            };
            let mut spans = vec![Span::raw(format!("t{} ", l.timestamp))];
            if l.is_red_herring {
                spans.push(Span::styled("decoy ", Style::new().fg(Color::DarkGray)));
            }
            spans.push(Span::styled(format!("{:<5} ", l.level), level));
            spans.push(Span::raw(format!("{}: {}", l.service, l.message)));
            ListItem::new(Line::from(spans))
        })
        .collect();
    frame.render_widget(
        List::new(items).block(block("logs (spectator view: decoys marked)")),
        area,
    );
}

fn fleet(frame: &mut Frame, area: Rect, episode: &LiveEpisode) {
    let state = episode.env().state();
    let items: Vec<ListItem> = fit(&state.fleet_actions, area)
        .iter()
        .map(|a| {
            let mut spans = Vec::with_capacity(2);
            if state.is_flagged(a.agent_name.as_str()) {
                spans.push(Span::styled(
                    "FLAGGED ",
                    Style::new().fg(Color::Black).bg(Color::Yellow),
                ));
            }
            spans.push(Span::raw(format!(
                "step {} {} {} -> {}",
                a.step, a.agent_name, a.action, a.target
            )));
            ListItem::new(Line::from(spans))
        })
        .collect();
    let items = if items.is_empty() {
        vec![ListItem::new("(no fleet actions)")]
    } else {
        items
    };
    frame.render_widget(List::new(items).block(block("fleet actions")), area);
}

fn chat(frame: &mut Frame, area: Rect, episode: &LiveEpisode) {
    let state = episode.env().state();
    let mut lines: Vec<Line> = state
        .chat_history
        .iter()
        .map(|m| Line::from(m.as_str()))
        .collect();
    for role in chaosops_model::Role::ALL {
        for m in state.private_chat.of(*role) {
            lines.push(Line::from(Span::styled(
                format!("(private) {m}"),
                Style::new().fg(Color::Magenta),
            )));
        }
    }
    let lines = fit(&lines, area).to_vec();
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(block("chat")),
        area,
    );
}

fn turn(frame: &mut Frame, area: Rect, episode: &LiveEpisode) {
    let mut lines = Vec::new();
    match episode.steps().last() {
        Some(step) => lines.push(Line::from(vec![
            Span::styled(
                format!("turn {} {}: ", step.turn + 1, step.role),
                Style::new().bold(),
            ),
            Span::raw(describe_action(&step.action)),
            Span::styled(format!(" {:+.2} ", step.reward), Style::new().bold()),
            Span::styled(describe_components(step), Style::new().fg(Color::DarkGray)),
        ])),
        None => lines.push(Line::from(format!(
            "incident injected; {} acts first",
            episode.current_role()
        ))),
    }
    if episode.is_done() {
        let r = episode.result();
        let style = if r.resolved {
            Style::new().fg(Color::Green).bold()
        } else {
            Style::new().fg(Color::Red).bold()
        };
        let (outcome, rest) = outcome(episode);
        lines.push(Line::from(vec![
            Span::styled(outcome, style),
            Span::raw(rest),
        ]));
    } else {
        lines.push(Line::from(format!("next: {}", episode.current_role())));
    }
    frame.render_widget(Paragraph::new(lines).block(block("turn")), area);
}

/// The episode's outcome so far, as (status, " | reward ... | wrong fixes ... | flags ...").
fn outcome(episode: &LiveEpisode) -> (String, String) {
    let state = episode.env().state();
    let status = if state.resolved {
        format!("RESOLVED at step {}", state.step_count)
    } else if episode.is_done() {
        format!("UNRESOLVED after {} steps", state.step_count)
    } else {
        format!(
            "stopped at step {}/{}, unresolved",
            state.step_count, state.max_steps
        )
    };
    let flags = if state.oversight_flags.is_empty() {
        "none".to_owned()
    } else {
        state.oversight_flags.join(",")
    };
    let rest = format!(
        " | reward {:+.2} | wrong fixes {} | flags {flags}",
        state.cumulative_reward, state.wrong_fixes
    );
    (status, rest)
}

/// The line left in the terminal's scrollback when the dashboard closes, so the result of
/// what was watched survives leaving the full-screen view.
pub fn result_line(episode: &LiveEpisode) -> String {
    let s = episode.scenario();
    let (status, rest) = outcome(episode);
    format!(
        "chaosops dashboard: {} ({}) seed {}, policy {}: {status}{rest}",
        s.failure_type,
        s.difficulty,
        s.seed,
        episode.policy_name()
    )
}
