//! `chaosops dashboard`: watch an episode unfold in a full-screen terminal UI.

pub mod ui;

use std::io;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::DefaultTerminal;

use crate::live::LiveEpisode;
pub use ui::{draw, result_line, Controls, MIN_SIZE};

/// Fastest and slowest pace, in seconds per turn.
pub const SPEED_RANGE: (f64, f64) = (0.05, 10.0);

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyAction {
    /// Pause or resume.
    TogglePause,
    /// Play one turn and stay paused.
    Step,
    /// Shorter turns.
    Faster,
    /// Longer turns.
    Slower,
    /// Leave.
    Quit,
}

/// Maps a key to its action.
pub fn key_action(code: KeyCode, modifiers: KeyModifiers) -> Option<KeyAction> {
    match code {
        KeyCode::Char(' ') => Some(KeyAction::TogglePause),
        KeyCode::Char('n') => Some(KeyAction::Step),
        KeyCode::Char('+') | KeyCode::Char('=') => Some(KeyAction::Faster),
        KeyCode::Char('-') => Some(KeyAction::Slower),
        KeyCode::Char('q') | KeyCode::Esc => Some(KeyAction::Quit),
        KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => Some(KeyAction::Quit),
        _ => None,
    }
}

/// Applies a key's action; returns false to quit.
pub fn apply_key(
    episode: &mut LiveEpisode,
    controls: &mut Controls,
    action: KeyAction,
) -> io::Result<bool> {
    match action {
        KeyAction::TogglePause => controls.paused = !controls.paused,
        KeyAction::Step => {
            controls.paused = true;
            if !episode.is_done() {
                episode.advance().map_err(io::Error::other)?;
            }
        }
        KeyAction::Faster => {
            controls.seconds_per_turn = (controls.seconds_per_turn / 1.5).max(SPEED_RANGE.0)
        }
        KeyAction::Slower => {
            controls.seconds_per_turn = (controls.seconds_per_turn * 1.5).min(SPEED_RANGE.1)
        }
        KeyAction::Quit => return Ok(false),
    }
    Ok(true)
}

/// Renders the dashboard once into a `width` x `height` text frame (no colours), for
/// captures and tests.
pub fn snapshot(
    episode: &LiveEpisode,
    controls: Controls,
    width: u16,
    height: u16,
) -> io::Result<String> {
    let backend = ratatui::backend::TestBackend::new(width, height);
    let mut terminal = ratatui::Terminal::new(backend)?;
    terminal.draw(|f| draw(f, episode, controls))?;
    let buffer = terminal.backend().buffer();
    let mut out = String::with_capacity(usize::from(width + 1) * usize::from(height));
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    Ok(out)
}

/// Runs the interactive loop until the user quits. The terminal is restored on return and
/// on panic (ratatui's init installs the hook); then [`result_line`] is printed, so the
/// outcome stays in the scrollback after the full-screen view is gone. Returns the episode
/// as it was left.
pub fn run(mut episode: LiveEpisode, seconds_per_turn: f64) -> io::Result<LiveEpisode> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut episode, seconds_per_turn);
    ratatui::restore();
    println!("{}", result_line(&episode));
    result.map(|()| episode)
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    episode: &mut LiveEpisode,
    seconds_per_turn: f64,
) -> io::Result<()> {
    let mut controls = Controls {
        paused: false,
        seconds_per_turn,
    };
    let mut next_turn = Instant::now() + Duration::from_secs_f64(seconds_per_turn);
    loop {
        terminal.draw(|f| draw(f, episode, controls))?;
        let running = !controls.paused && !episode.is_done();
        let wait = if running {
            next_turn.saturating_duration_since(Instant::now())
        } else {
            Duration::from_millis(250)
        };
        if event::poll(wait)? {
            if let Event::Key(key) = event::read()? {
                if key.kind == KeyEventKind::Press {
                    if let Some(action) = key_action(key.code, key.modifiers) {
                        if !apply_key(episode, &mut controls, action)? {
                            return Ok(());
                        }
                        next_turn =
                            Instant::now() + Duration::from_secs_f64(controls.seconds_per_turn);
                    }
                }
            }
        } else if running {
            episode.advance().map_err(io::Error::other)?;
            next_turn = Instant::now() + Duration::from_secs_f64(controls.seconds_per_turn);
        }
    }
}
