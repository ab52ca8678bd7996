//! Bad input to `chaosops replay`: a clear error on that line, the other lines still run.

use serde_json::Value;

use crate::chaosops;

const GOOD: &str = r#"{"scenario": {"failure_type": "db_deadlock", "seed": 3, "difficulty": "easy", "max_steps": 12}, "actions": [{"action_type": "restart", "target": "db", "args": {}}]}"#;

/// Replays `bad` between two good lines; returns the error text of the middle line.
fn error_of(bad: &str) -> String {
    let input = format!("{GOOD}\n{bad}\n{GOOD}\n");
    let out = chaosops(&["replay"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1), "exit status for {bad:.80}");
    let lines: Vec<Value> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "one output line per input line");
    assert!(lines[0]["final_state"]["resolved"].as_bool().unwrap());
    assert!(lines[2]["final_state"]["resolved"].as_bool().unwrap());
    assert_eq!(lines[0], lines[2]);
    lines[1]["error"]
        .as_str()
        .expect("an error line")
        .to_owned()
}

fn check(bad: &str, expected_parts: &[&str]) {
    let err = error_of(bad);
    assert!(err.starts_with("line 2: "), "{err}");
    for part in expected_parts {
        assert!(err.contains(part), "{err:?} should contain {part:?}");
    }
}

#[test]
fn malformed_json() {
    check("{not json", &["invalid episode JSON"]);
    check("[1, 2]", &["invalid episode JSON"]);
    check(
        r#"{"scenario": {"failure_type": "db_deadlock"}}"#,
        &["missing field `actions`"],
    );
    check("\"\u{0}\"", &["invalid episode JSON"]);
}

#[test]
fn unknown_names() {
    check(
        r#"{"scenario": {"failure_type": "dns_outag", "seed": 1}, "actions": []}"#,
        &[
            "unknown failure type \"dns_outag\"",
            "known: autoscaler_cost_cut",
            "rogue_deploy_bot",
        ],
    );
    check(
        r#"{"scenario": {"failure_type": "dns_outage", "seed": 1}, "actions": [{"action_type": "noop"}, {"action_type": "reboot"}]}"#,
        &[
            "actions[1]",
            "unknown action type \"reboot\"",
            "known: noop",
        ],
    );
    check(
        r#"{"scenario": {"failure_type": "dns_outage", "difficulty": "nightmare"}, "actions": []}"#,
        &["unknown difficulty \"nightmare\""],
    );
    check(
        r#"{"scenario": {"failure_type": "dns_outage"}, "actions": [{"action_type": "noop", "role": "ceo"}]}"#,
        &["actions[0]", "unknown role \"ceo\""],
    );
    check(
        r#"{"scenario": {"failure_type": "dns_outage"}, "actions": [{"target": "db"}]}"#,
        &["actions[0]", "missing field `action_type`"],
    );
}

#[test]
fn absurd_numbers() {
    check(
        r#"{"scenario": {"failure_type": "db_deadlock", "max_steps": 0}, "actions": []}"#,
        &["max_steps 0 is out of range; allowed: 1..=1000"],
    );
    check(
        r#"{"scenario": {"failure_type": "db_deadlock", "max_steps": 99999999999}, "actions": []}"#,
        &["99999999999"],
    );
    check(
        r#"{"scenario": {"failure_type": "db_deadlock", "seed": -1}, "actions": []}"#,
        &["-1"],
    );
    check(
        r#"{"scenario": {"failure_type": "db_deadlock"}, "actions": [{"action_type": "scale", "target": "db", "args": {"replicas": 1e300}}]}"#,
        &[
            "actions[0]",
            "args.replicas 1e+300 is out of range; allowed: -1000..=1000",
        ],
    );
}

#[test]
fn oversized_input() {
    let message = "x".repeat(5000);
    check(
        &format!(
            r#"{{"scenario": {{"failure_type": "db_deadlock"}}, "actions": [{{"action_type": "communicate", "args": {{"message": "{message}"}}}}]}}"#
        ),
        &[
            "actions[0]",
            "args.message is 5000 bytes long; the limit is 2048",
        ],
    );
    let huge = format!(
        r#"{{"scenario": {{"failure_type": "db_deadlock"}}, "actions": [], "pad": "{}"}}"#,
        "y".repeat(2 << 20)
    );
    check(&huge, &["line is longer than the limit of 1048576 bytes"]);
}

#[test]
fn actions_after_the_end() {
    check(
        r#"{"scenario": {"failure_type": "db_deadlock"}, "actions": [{"action_type": "restart", "target": "db"}, {"action_type": "noop"}, {"action_type": "noop"}]}"#,
        &[
            "actions[1]",
            "ended at step 1 (resolved) but 2 more action(s) follow",
        ],
    );
    check(
        r#"{"scenario": {"failure_type": "db_deadlock", "max_steps": 1}, "actions": [{"action_type": "noop"}, {"action_type": "noop"}]}"#,
        &["ended at step 1 (out of steps)"],
    );
}

#[test]
fn invalid_utf8_is_an_error_not_a_crash() {
    let mut input = GOOD.as_bytes().to_vec();
    input.extend_from_slice(b"\n{\"scenario\": \xff\xfe}\n");
    input.extend_from_slice(GOOD.as_bytes());
    let out = chaosops(&["replay", "-"], &input);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].contains("line 2: line is not valid UTF-8"),
        "{}",
        lines[1]
    );
}

#[test]
fn blank_lines_are_skipped_and_good_input_exits_zero() {
    let input = format!("\n{GOOD}\n   \n{GOOD}");
    let out = chaosops(&["replay"], input.as_bytes());
    assert!(out.status.success());
    assert_eq!(std::str::from_utf8(&out.stdout).unwrap().lines().count(), 2);
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = chaosops(&["replay", "/nonexistent/episodes.jsonl"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cannot open /nonexistent/episodes.jsonl"),
        "{err}"
    );
}

#[test]
fn a_byte_order_mark_is_not_an_error() {
    let input = format!("\u{feff}{GOOD}\n{GOOD}\n");
    let out = chaosops(&["replay"], input.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<Value> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], lines[1]);
}

#[test]
fn a_directory_is_named_in_the_error() {
    let dir = std::env::temp_dir();
    let out = chaosops(&["replay", dir.to_str().unwrap()], b"");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{} is a directory", dir.display())),
        "{err}"
    );
}
