//! `chaosops eval`, `run` and `bench` through the binary.

use serde_json::Value;

use crate::{chaosops, read_evaluation};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chaosops-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn aggregate<'a>(eval: &'a Value, policy: &str, tier: &str) -> &'a Value {
    eval["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["policy"] == policy && a["tier"] == tier)
        .unwrap_or_else(|| panic!("no aggregate for {policy}/{tier}"))
}

#[test]
fn oracle_evaluation_matches_the_reference() {
    let dir = temp_dir("oracle");
    let out = chaosops(
        &[
            "eval",
            "--policies",
            "oracle",
            "random",
            "--episodes-per-type",
            "3",
            "--out-dir",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    let eval = read_evaluation(&out, &dir);
    for (tier, mean) in [
        ("easy", 134.0),
        ("medium", 150.666_666_666_666_67),
        ("hard", 170.0),
    ] {
        let a = aggregate(&eval, "oracle", tier);
        assert!(
            (a["mean_reward"].as_f64().unwrap() - mean).abs() < 1e-9,
            "{tier}: {a}"
        );
        assert_eq!(a["success_rate"], 1.0);
        assert_eq!(a["false_positive_rate"], 0.0);
        let random = aggregate(&eval, "random", tier);
        assert!(random["mean_reward"].as_f64().unwrap() < mean, "{random}");
    }
    assert_eq!(
        aggregate(&eval, "oracle", "easy")["rogue_detection_rate"],
        Value::Null
    );
    assert_eq!(
        aggregate(&eval, "oracle", "medium")["rogue_detection_rate"],
        1.0
    );
    assert_eq!(
        aggregate(&eval, "oracle", "hard")["rogue_detection_rate"],
        1.0
    );
    let record = &eval["per_episode"][0];
    for key in [
        "policy",
        "tier",
        "failure_type",
        "seed",
        "resolved",
        "steps",
        "cumulative_reward",
        "wrong_fixes",
        "oversight_flags",
        "had_rogue",
        "rogue_caught",
        "false_positive",
        "rogue_agent",
        "declared_root_cause",
    ] {
        assert!(record.get(key).is_some(), "per-episode record lacks {key}");
    }
    assert_eq!(eval["per_episode"].as_array().unwrap().len(), 2 * 11 * 3);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary = std::fs::read_to_string(dir.join("evaluation_summary.txt")).unwrap();
    assert!(stdout.starts_with(&summary));
    assert!(
        summary.contains("oracle     medium         9     1.00"),
        "{summary}"
    );
    assert!(summary.contains("150.67"));
    for svg in ["reward_by_tier.svg", "rogue_vs_mttr.svg"] {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap();
        assert!(
            text.starts_with("<svg") && text.contains("oracle") && text.contains("random"),
            "{svg}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn evaluation_json_does_not_depend_on_jobs() {
    let one = temp_dir("jobs1");
    let two = temp_dir("jobs2");
    for (dir, jobs) in [(&one, "1"), (&two, "2")] {
        let out = chaosops(
            &[
                "eval",
                "--episodes-per-type",
                "2",
                "--jobs",
                jobs,
                "--out-dir",
                dir.to_str().unwrap(),
            ],
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let a = std::fs::read(one.join("evaluation.json")).unwrap();
    let b = std::fs::read(two.join("evaluation.json")).unwrap();
    assert!(a.len() > 1000);
    assert!(
        a == b,
        "evaluation.json differs between --jobs 1 and --jobs 2"
    );
    let _ = std::fs::remove_dir_all(&one);
    let _ = std::fs::remove_dir_all(&two);
}

#[test]
fn more_jobs_than_work_is_not_a_crash() {
    let one = temp_dir("jobs-one");
    let many = temp_dir("jobs-many");
    for (dir, jobs) in [(&one, "1"), (&many, "100000")] {
        let out = chaosops(
            &[
                "eval",
                "--episodes-per-type",
                "1",
                "--tiers",
                "easy",
                "--jobs",
                jobs,
                "--out-dir",
                dir.to_str().unwrap(),
            ],
            b"",
        );
        assert!(
            out.status.success(),
            "--jobs {jobs}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("on up to"));
    }
    assert_eq!(
        std::fs::read(one.join("evaluation.json")).unwrap(),
        std::fs::read(many.join("evaluation.json")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&one);
    let _ = std::fs::remove_dir_all(&many);
}

#[test]
fn an_unusable_out_dir_is_refused_naming_it() {
    let file = temp_dir("out-dir-is-a-file");
    let _ = std::fs::remove_dir_all(&file);
    std::fs::write(&file, b"not a folder").unwrap();
    let bad = file.join("results");
    let out = chaosops(&["eval", "--out-dir", bad.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "--out-dir {}: cannot create the folder",
            bad.display()
        )),
        "{err}"
    );
    assert!(!err.contains("episodes ("), "no episode was started: {err}");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn an_interrupted_evaluation_writes_what_it_played() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("interrupted");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chaosops"))
        .args([
            "eval",
            "--episodes-per-type",
            "5000",
            "--jobs",
            "2",
            "--out-dir",
            dir.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The start line comes once the Ctrl-C handler is in place.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("165000 episodes"), "{line}");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(out.status.code(), Some(130), "{rest}");
    assert!(rest.contains("interrupted after"), "{rest}");
    let eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("evaluation.json")).unwrap()).unwrap();
    let played = eval["interrupted"]["episodes_played"].as_u64().unwrap();
    assert_eq!(eval["interrupted"]["episodes_planned"], 165_000);
    assert!(played < 165_000, "{played}");
    assert_eq!(eval["per_episode"].as_array().unwrap().len() as u64, played);
    let counted: u64 = eval["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["episodes"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, played, "the aggregates cover the episodes played");
    let summary = std::fs::read_to_string(dir.join("evaluation_summary.txt")).unwrap();
    assert!(summary.contains(&format!(
        "INTERRUPTED: {played} of 165000 planned episodes were played"
    )));
    assert!(dir.join("rogue_vs_mttr.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn eval_refuses_bad_arguments() {
    let out = chaosops(&["eval", "--policies", "genius"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown policy \"genius\""));
    let out = chaosops(&["eval", "--episodes-per-type", "0"], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--episodes-per-type 0 is out of range"));
    let out = chaosops(&["eval", "--tiers", "extreme"], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown difficulty \"extreme\""));
}

#[test]
fn seeds_are_checked_with_the_value_named() {
    for (seed, expected) in [
        (
            "-1",
            "seed -1 is out of range; allowed: 0..=18446744073709551615",
        ),
        ("abc", "seed \"abc\" is not an integer"),
    ] {
        for command in ["run", "prompt", "dashboard"] {
            let out = chaosops(&[command, "--failure", "db_deadlock", "--seed", seed], b"");
            assert!(!out.status.success());
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(expected), "{command}: {err}");
        }
    }
    let out = chaosops(&["play", "--role", "dev", "--seed", "-1"], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("seed -1 is out of range"));
}

#[test]
fn the_summary_names_the_evaluated_tiers() {
    let dir = temp_dir("tiers");
    let out = chaosops(
        &[
            "eval",
            "--policies",
            "oracle",
            "--tiers",
            "hard",
            "--episodes-per-type",
            "1",
            "--out-dir",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    assert!(out.status.success());
    let summary = std::fs::read_to_string(dir.join("evaluation_summary.txt")).unwrap();
    assert!(summary.contains("mean reward over hard)"), "{summary}");
    assert!(!summary.contains("all tiers"), "{summary}");
}

#[test]
fn run_prints_a_transcript() {
    let out = chaosops(
        &[
            "run",
            "--failure",
            "misrouted_traffic",
            "--difficulty",
            "hard",
            "--seed",
            "4",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("misrouted_traffic (hard), seed 4")
            && lines[0].contains("rogue agent: load_balancer")
    );
    assert!(
        lines[2].contains("sre")
            && lines[2].contains("identify_root_cause misrouted_traffic")
            && lines[2].contains("28.00")
    );
    assert!(lines[3].contains("flag_rogue load_balancer") && lines[3].contains("rogue_caught +50"));
    assert!(
        lines[5].contains("manager")
            && lines[5].contains("escalate")
            && lines[5].contains("110.00")
    );
    assert_eq!(
        lines[6],
        "result: resolved at step 4; cumulative reward 178.00; wrong fixes 0; oversight flags: load_balancer; root cause declared: misrouted_traffic"
    );
}

#[test]
fn run_json_carries_every_step() {
    let out = chaosops(
        &[
            "run",
            "--failure",
            "db_deadlock",
            "--policy",
            "random",
            "--seed",
            "2",
            "--max-steps",
            "6",
            "--json",
        ],
        b"",
    );
    assert!(out.status.success());
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = result["steps"].as_array().unwrap();
    assert_eq!(steps.len() as u64, result["final_step"].as_u64().unwrap());
    assert_eq!(steps[0]["observation"]["turn_role"], "sre");
    assert!(steps[0]["observation"]["view"]["visible_logs"][0]
        .get("is_red_herring")
        .is_none());
    assert_eq!(result["scenario"]["failure_type"], "db_deadlock");
}

#[test]
fn run_names_an_unknown_failure() {
    let out = chaosops(&["run", "--failure", "dns_outag"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unknown failure type \"dns_outag\"; known: autoscaler_cost_cut"),
        "{err}"
    );
    let out = chaosops(
        &["run", "--failure", "db_deadlock", "--max-steps", "5000"],
        b"",
    );
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("max_steps 5000 is out of range"));
}

#[test]
fn bench_reports_its_workload() {
    let out = chaosops(
        &["bench", "--policy", "oracle", "--episodes", "3", "--json"],
        b"",
    );
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["policy"], "oracle");
    assert_eq!(report["episodes"], 3);
    // Oracle episodes last 3 steps, misrouted_traffic 4 (the manager escalates): 3 x (8 x 3 + 4) = 84.
    assert_eq!(report["steps"], 84);
    assert!(report["steps_per_sec"].as_f64().unwrap() > 0.0);
    let out = chaosops(&["bench", "--episodes", "2"], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("policy noop: 2 episodes x 9 failure types, 450 steps"),
        "{text}"
    );
}
