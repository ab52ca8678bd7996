//! The dashboard through ratatui's test backend, and `play` fed scripted input.

use chaosops_cli::dashboard::{
    apply_key, key_action, result_line, snapshot, Controls, KeyAction, MIN_SIZE,
};
use chaosops_cli::live::LiveEpisode;
use chaosops_cli::policy::PolicyChoice;
use chaosops_model::{Difficulty, FailureId, ScenarioSpec};
use chaosops_roles::PolicyKind;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use crate::chaosops;

fn episode(failure: &'static str, kind: PolicyKind, seed: u64) -> LiveEpisode {
    let registry = chaosops_cli::registry().unwrap();
    let spec = ScenarioSpec {
        failure_type: FailureId::from_static(failure),
        seed,
        difficulty: Difficulty::Hard,
        max_steps: 25,
        variation: Default::default(),
    };
    let scenario = registry.scenario(&spec).unwrap();
    let policy = PolicyChoice::Scripted(kind);
    LiveEpisode::new(
        registry,
        scenario,
        policy.team(seed, registry),
        policy.name(),
    )
    .unwrap()
}

const PAUSED: Controls = Controls {
    paused: true,
    seconds_per_turn: 0.5,
};

/// The row of the services table naming `service`.
fn service_row<'a>(frame: &'a str, service: &str) -> &'a str {
    frame
        .lines()
        .find(|l| l.starts_with(&format!("│{service} ")))
        .unwrap_or_else(|| panic!("no {service} row in\n{frame}"))
}

#[test]
fn frames_show_services_health_and_rewards_at_both_sizes() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut e = episode("db_deadlock", PolicyKind::Oracle, 1);
        let frame = snapshot(&e, PAUSED, w, h).unwrap();
        assert_eq!(frame.lines().count(), usize::from(h));
        assert!(frame.lines().all(|l| l.chars().count() <= usize::from(w)));
        assert!(
            frame.contains("db_deadlock (hard) seed 1 step 0/25 reward +0.00"),
            "{frame}"
        );
        assert!(service_row(&frame, "db").contains("critical"), "{frame}");
        assert!(service_row(&frame, "db").contains("1800"), "{frame}");
        assert!(
            service_row(&frame, "payments").contains("degraded"),
            "{frame}"
        );
        assert!(
            service_row(&frame, "notifications").contains("healthy"),
            "{frame}"
        );
        assert!(frame.contains("payment error rate > 30%"));
        assert!(frame.contains("sre acts first"));
        // Step 1: the SRE declares the root cause.
        e.advance().unwrap();
        let frame = snapshot(&e, PAUSED, w, h).unwrap();
        assert!(frame.contains("step 1/25 reward +28.00"), "{frame}");
        assert!(
            frame.contains("turn 1 sre: identify_root_cause db_deadlock +28.00"),
            "{frame}"
        );
        // Step 3: the developer restarts the database and the incident is over.
        e.advance().unwrap();
        e.advance().unwrap();
        let frame = snapshot(&e, PAUSED, w, h).unwrap();
        assert!(frame.contains("step 3/25 reward +134.00"), "{frame}");
        assert!(frame.contains("RESOLVED"));
        assert!(service_row(&frame, "db").contains("healthy"), "{frame}");
        assert!(service_row(&frame, "payments").contains("55"), "{frame}");
        assert!(frame.contains("turn 3 dev: restart db +110.00"), "{frame}");
        assert!(
            frame.contains("RESOLVED at step 3 | reward +134.00"),
            "{frame}"
        );
    }
}

#[test]
fn a_window_too_small_says_so() {
    let e = episode("db_deadlock", PolicyKind::Oracle, 1);
    let frame = snapshot(&e, PAUSED, 40, 10).unwrap();
    let words = frame.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("this window is 40x10; the dashboard needs at least 60x22"),
        "{frame}"
    );
    let (w, h) = MIN_SIZE;
    let frame = snapshot(&e, PAUSED, w, h).unwrap();
    assert!(
        frame.contains("db_deadlock (hard) seed 1 step 0/25"),
        "the header fits at the minimum size:\n{frame}"
    );
    assert!(frame.contains("logs (spectator"), "{frame}");
}

/// The cells of one service's latency sparkline (the first half of the sparkline column).
fn latency_cells(frame: &str, label: &str) -> usize {
    let line = frame
        .lines()
        .find(|l| l.contains(&format!("││{label} ")))
        .unwrap_or_else(|| panic!("no {label} sparkline in\n{frame}"));
    let after = line.split(&format!("││{label} ")).nth(1).unwrap();
    after
        .trim_start()
        .chars()
        .take_while(|c| *c != ' ')
        .filter(|c| ('▁'..='█').contains(c))
        .count()
}

#[test]
fn sparklines_show_every_sample_including_the_resolving_one() {
    let mut e = episode("db_deadlock", PolicyKind::Oracle, 1);
    for _ in 0..3 {
        e.advance().unwrap();
    }
    assert!(e.is_done() && e.env().state().resolved);
    let frame = snapshot(&e, PAUSED, 80, 24).unwrap();
    // The reset sample and one per step: four, the last after the fix.
    assert_eq!(e.recorder().snapshots().len(), 4);
    for label in ["auth", "db"] {
        assert_eq!(latency_cells(&frame, label), 4, "{label}:\n{frame}");
    }
}

#[test]
fn leaving_the_dashboard_leaves_the_outcome() {
    let mut e = episode("db_deadlock", PolicyKind::Oracle, 1);
    e.advance().unwrap();
    assert_eq!(
        result_line(&e),
        "chaosops dashboard: db_deadlock (hard) seed 1, policy oracle: stopped at step 1/25, \
         unresolved | reward +28.00 | wrong fixes 0 | flags none"
    );
    e.advance().unwrap();
    e.advance().unwrap();
    assert_eq!(
        result_line(&e),
        "chaosops dashboard: db_deadlock (hard) seed 1, policy oracle: RESOLVED at step 3 \
         | reward +134.00 | wrong fixes 0 | flags none"
    );
}

#[test]
fn flagged_fleet_actions_and_chat_are_shown() {
    let mut e = episode("rogue_deploy_bot", PolicyKind::Oracle, 3);
    let frame = snapshot(&e, PAUSED, 120, 40).unwrap();
    assert!(frame.contains("step 0 deploy_bot push_config -> payments"));
    assert!(!frame.contains("FLAGGED"));
    e.advance().unwrap();
    e.advance().unwrap();
    let frame = snapshot(&e, PAUSED, 120, 40).unwrap();
    assert!(frame.contains("FLAGGED step 0 deploy_bot"), "{frame}");
    assert!(frame.contains("rogue_caught +50"), "{frame}");
    let mut h = episode("misrouted_traffic", PolicyKind::Heuristic, 0);
    for _ in 0..4 {
        h.advance().unwrap();
    }
    let frame = snapshot(&h, PAUSED, 120, 40).unwrap();
    assert!(
        frame.contains("[manager] SRE: diagnose") || frame.contains("no rogue agent activity"),
        "{frame}"
    );
}

#[test]
fn keys_pause_step_and_change_speed() {
    let mut e = episode("memory_leak", PolicyKind::Heuristic, 2);
    let mut c = Controls {
        paused: false,
        seconds_per_turn: 1.0,
    };
    let key = |ch| key_action(KeyCode::Char(ch), KeyModifiers::NONE).unwrap();
    assert!(apply_key(&mut e, &mut c, key(' ')).unwrap());
    assert!(c.paused);
    assert!(apply_key(&mut e, &mut c, key('n')).unwrap());
    assert_eq!(e.steps().len(), 1);
    assert!(c.paused);
    apply_key(&mut e, &mut c, key('+')).unwrap();
    assert!((c.seconds_per_turn - 1.0 / 1.5).abs() < 1e-12);
    for _ in 0..30 {
        apply_key(&mut e, &mut c, key('-')).unwrap();
    }
    assert_eq!(c.seconds_per_turn, 10.0);
    assert_eq!(key('q'), KeyAction::Quit);
    assert!(!apply_key(&mut e, &mut c, KeyAction::Quit).unwrap());
    assert_eq!(
        key_action(KeyCode::Char('c'), KeyModifiers::CONTROL),
        Some(KeyAction::Quit)
    );
    assert_eq!(key_action(KeyCode::Char('x'), KeyModifiers::NONE), None);
}

#[test]
fn dashboard_without_a_terminal_prints_the_transcript() {
    let dash = chaosops(
        &[
            "dashboard",
            "--failure",
            "cascade",
            "--difficulty",
            "hard",
            "--policy",
            "oracle",
            "--seed",
            "4",
        ],
        b"",
    );
    assert!(
        dash.status.success(),
        "{}",
        String::from_utf8_lossy(&dash.stderr)
    );
    let run = chaosops(
        &[
            "run",
            "--failure",
            "cascade",
            "--difficulty",
            "hard",
            "--policy",
            "oracle",
            "--seed",
            "4",
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8(dash.stdout).unwrap(),
        String::from_utf8(run.stdout).unwrap()
    );
    let snap = chaosops(
        &[
            "dashboard",
            "--failure",
            "cascade",
            "--policy",
            "noop",
            "--snapshot",
            "2",
            "--size",
            "100x30",
        ],
        b"",
    );
    let text = String::from_utf8(snap.stdout).unwrap();
    assert_eq!(text.lines().count(), 30);
    assert!(text.contains("step 2/20"));
    let bad = chaosops(&["dashboard", "--failure", "cascade", "--speed", "0"], b"");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--speed 0 is out of range"));
}

#[test]
fn a_person_plays_dev_through_an_episode() {
    let dir = std::env::temp_dir().join(format!("chaosops-test-{}-play", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("transcript.txt");
    let input = b"reboot db\nrestart dbb\nscale db many\nhelp\nrestart db\n";
    let out = chaosops(
        &[
            "play",
            "--role",
            "dev",
            "--failure",
            "db_deadlock",
            "--difficulty",
            "hard",
            "--seed",
            "9",
            "--policy",
            "oracle",
            "--transcript",
            path.to_str().unwrap(),
        ],
        input,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // The person sees the developer's view: three log lines at most, no fleet actions.
    assert!(text.contains("you are dev"));
    assert!(text.contains("services:"));
    assert!(!text.contains("decoy"));
    assert!(
        text.contains("not understood: unknown action \"reboot\""),
        "{text}"
    );
    assert!(
        text.contains("not understood: unknown service \"dbb\""),
        "{text}"
    );
    assert!(
        text.contains("not understood: replicas \"many\" is not a whole number"),
        "{text}"
    );
    assert_eq!(
        text.matches("actions:\n  1 noop").count(),
        2,
        "menu at the turn and after help"
    );
    assert!(text.contains("result: resolved at step 3"));
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(
        saved.starts_with("scenario: db_deadlock (hard), seed 9")
            && saved.contains("with a person as dev")
    );
    let run = chaosops(
        &[
            "run",
            "--failure",
            "db_deadlock",
            "--difficulty",
            "hard",
            "--seed",
            "9",
            "--policy",
            "oracle",
        ],
        b"",
    );
    let run = String::from_utf8(run.stdout).unwrap();
    let body = |t: &str| t.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        body(&saved),
        body(&run),
        "the saved transcript matches `chaosops run` for the same actions"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ending_input_early_leaves_the_episode_unfinished() {
    let out = chaosops(
        &[
            "play",
            "--role",
            "sre",
            "--failure",
            "misrouted_traffic",
            "--policy",
            "heuristic",
        ],
        b"noop\n",
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("input ended; the episode is left unfinished"),
        "{text}"
    );
    assert!(text.contains("result: unresolved"), "{text}");
}

#[test]
fn by_default_the_person_moves_first_and_is_told_when_the_bots_finish_first() {
    let out = chaosops(&["play"], b"restart db\nquit\n");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("ChaosOps: you are sre."), "{text}");
    assert!(
        text.contains("step 0 | you are sre"),
        "the first turn is the person's:\n{text}"
    );
    assert!(!text.contains("before your first turn"), "{text}");
    // As the manager (the last to act), the bots resolve seed 0 before the person's turn.
    let out = chaosops(&["play", "--role", "manager", "--seed", "0"], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "The episode ended at step 1 before your first turn as manager: \
             the heuristic players resolved it."
        ),
        "{text}"
    );
    assert!(!text.contains("> "), "the person was never asked:\n{text}");
}

#[test]
fn a_misspelt_fleet_agent_is_explained_and_asked_again() {
    let out = chaosops(
        &[
            "play",
            "--role",
            "oversight",
            "--failure",
            "autoscaler_cost_cut",
            "--difficulty",
            "hard",
            "--policy",
            "noop",
        ],
        b"flag_rogue autoscalr\nflag_rogue autoscaler\nquit\n",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("not understood: unknown fleet agent \"autoscalr\""),
        "{text}"
    );
    assert!(text.contains("flag_rogue autoscaler"), "{text}");
    assert!(text.contains("rogue_caught +50"), "{text}");
}
