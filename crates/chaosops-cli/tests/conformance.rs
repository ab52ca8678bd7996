//! Every recorded episode of the reference, replayed through `chaosops replay`.
//!
//! Compared as docs/behaviour.md §14 says: everything matches except the episode id, the
//! wording of logs and alerts, and which decoy template was drawn; floats to 1e-9.

use serde_json::Value;

use crate::{chaosops, data_dir};

const TOLERANCE: f64 = 1e-9;

/// Compares two JSON values, pushing one line per difference.
fn compare(path: &str, expected: &Value, got: &Value, diffs: &mut Vec<String>) {
    match (expected, got) {
        (Value::Object(e), Value::Object(g)) => {
            for key in e.keys().chain(g.keys().filter(|k| !e.contains_key(*k))) {
                match (e.get(key), g.get(key)) {
                    (Some(a), Some(b)) => compare(&format!("{path}.{key}"), a, b, diffs),
                    (a, b) => diffs.push(format!("{path}.{key}: {a:?} vs {b:?}")),
                }
            }
        }
        (Value::Array(e), Value::Array(g)) => {
            if e.len() != g.len() {
                diffs.push(format!("{path}: {} items vs {}", e.len(), g.len()));
                return;
            }
            for (i, (a, b)) in e.iter().zip(g).enumerate() {
                compare(&format!("{path}[{i}]"), a, b, diffs);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.is_f64() || b.is_f64() => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            if (a - b).abs() > TOLERANCE {
                diffs.push(format!("{path}: {a} vs {b}"));
            }
        }
        (a, b) if a != b => diffs.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

/// Drops what docs/behaviour.md §14 leaves free: the episode id, log and alert wording,
/// and the service and level of decoys (which template was drawn).
fn normalise_state(state: &mut Value) {
    let obj = state.as_object_mut().expect("state is an object");
    obj.remove("episode_id");
    for log in obj["all_logs"].as_array_mut().unwrap() {
        let log = log.as_object_mut().unwrap();
        log.remove("message");
        if log["is_red_herring"] == Value::Bool(true) {
            log.remove("service");
            log.remove("level");
        }
    }
    for alert in obj["all_alerts"].as_array_mut().unwrap() {
        alert.as_object_mut().unwrap().remove("message");
    }
}

#[test]
fn every_recorded_episode_matches() {
    let path = data_dir().join("episodes.jsonl");
    let text = std::fs::read_to_string(&path).expect("read the vendored conformance file");
    let out = chaosops(&["replay", path.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    let expected: Vec<&str> = text.lines().collect();
    assert_eq!(expected.len(), 400, "the vendored file holds 400 episodes");
    assert_eq!(got.len(), expected.len());

    let mut failures = Vec::new();
    let mut steps_checked = 0;
    for (n, (exp_line, got_line)) in expected.iter().zip(&got).enumerate() {
        let exp: Value = serde_json::from_str(exp_line).unwrap();
        let mut got: Value = serde_json::from_str(got_line).unwrap();
        let mut want = exp["expected"].clone();
        let mut diffs = Vec::new();
        if got.get("error").is_some() {
            diffs.push(format!("error: {}", got["error"]));
        } else {
            normalise_state(&mut want["final_state"]);
            normalise_state(&mut got["final_state"]);
            compare("", &want, &got, &mut diffs);
            steps_checked += want["steps"].as_array().unwrap().len();
        }
        if !diffs.is_empty() {
            failures.push(format!(
                "episode {} ({}): {}",
                n + 1,
                exp["input"]["scenario"],
                diffs[..diffs.len().min(5)].join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} episodes differ:\n{}",
        failures.len(),
        expected.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    assert!(steps_checked > 3000, "only {steps_checked} steps compared");
    eprintln!(
        "conformance: {} of {} episodes match ({steps_checked} steps)",
        expected.len(),
        expected.len()
    );
}

#[test]
fn the_comparison_catches_a_difference() {
    let a: Value = serde_json::json!({"x": [1.0, 2.0], "y": "s"});
    let mut diffs = Vec::new();
    compare(
        "",
        &a,
        &serde_json::json!({"x": [1.0, 2.0 + 1e-6], "y": "s"}),
        &mut diffs,
    );
    compare(
        "",
        &a,
        &serde_json::json!({"x": [1.0], "y": "s"}),
        &mut diffs,
    );
    compare(
        "",
        &a,
        &serde_json::json!({"x": [1.0, 2.0], "y": "t", "z": 1}),
        &mut diffs,
    );
    assert_eq!(diffs.len(), 4, "{diffs:?}");
    let mut none = Vec::new();
    compare(
        "",
        &a,
        &serde_json::json!({"x": [1.0, 2.0 + 1e-12], "y": "s"}),
        &mut none,
    );
    assert!(none.is_empty());
}
