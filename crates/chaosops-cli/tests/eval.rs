//! `chaosops eval`, `run` and `bench` through the binary.

use serde_json::Value;

use crate::{chaosops, read_evaluation, read_records};

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
    let records = read_records(&dir);
    let record = &records[0];
    for key in [
        "index",
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
    assert_eq!(records.len(), 2 * 11 * 3);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["index"], i, "records are in list order");
    }
    assert_eq!(eval["episodes"], 2 * 11 * 3);
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
        let out = eval_into(
            dir,
            &[
                "--episodes-per-type",
                "1",
                "--tiers",
                "easy",
                "--jobs",
                jobs,
            ],
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
    assert_eq!(read_records(&dir).len() as u64, played);
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

/// Runs `chaosops eval` with `args` into `dir`, asserting it succeeded.
fn eval_into(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    all.extend(["--out-dir", dir.to_str().unwrap()]);
    let out = chaosops(&all, b"");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const REPORTS: [&str; 6] = [
    "run.json",
    "episodes.jsonl",
    "evaluation.json",
    "evaluation_summary.txt",
    "reward_by_tier.svg",
    "rogue_vs_mttr.svg",
];

fn assert_same_files(a: &std::path::Path, b: &std::path::Path) {
    for name in REPORTS {
        let x = std::fs::read(a.join(name)).unwrap();
        let y = std::fs::read(b.join(name)).unwrap();
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn shards_merged_equal_the_unsharded_run_byte_for_byte() {
    let common = [
        "--policies",
        "oracle,random,heuristic",
        "--episodes-per-type",
        "4",
        "--seed-offset",
        "500",
    ];
    let whole = temp_dir("shard-whole");
    eval_into(&whole, &common);
    let mut shards = Vec::new();
    // Shards given out of order, one with several workers and one with one.
    for (k, jobs) in [("3/3", "1"), ("1/3", "2"), ("2/3", "1")] {
        let dir = temp_dir(&format!("shard-{}", &k[..1]));
        let mut args = common.to_vec();
        args.extend(["--shard", k, "--jobs", jobs]);
        eval_into(&dir, &args);
        let run: Value =
            serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(run["shard"]["count"], 3);
        shards.push(dir);
    }
    let shard_sizes: Vec<usize> = shards.iter().map(|d| read_records(d).len()).collect();
    assert_eq!(shard_sizes.iter().sum::<usize>(), 3 * 11 * 4);
    let merged = temp_dir("shard-merged");
    let mut args = vec!["eval", "merge", "--out-dir", merged.to_str().unwrap()];
    args.extend(shards.iter().map(|d| d.to_str().unwrap()));
    let out = chaosops(&args, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_files(&whole, &merged);
    // A missing shard is named, and nothing is merged.
    let partial = temp_dir("shard-partial");
    let out = chaosops(
        &[
            "eval",
            "merge",
            "--out-dir",
            partial.to_str().unwrap(),
            shards[0].to_str().unwrap(),
            shards[1].to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected shard 2/3, found 3/3"), "{err}");
    // Shards of another evaluation are refused naming the difference.
    let other = temp_dir("shard-other");
    eval_into(
        &other,
        &[
            "--policies",
            "oracle,random,heuristic",
            "--episodes-per-type",
            "4",
            "--shard",
            "2/3",
        ],
    );
    let out = chaosops(
        &[
            "eval",
            "merge",
            "--out-dir",
            partial.to_str().unwrap(),
            shards[0].to_str().unwrap(),
            other.to_str().unwrap(),
            shards[2].to_str().unwrap(),
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seed_offset 500 vs 0"), "{err}");
    for d in shards.iter().chain([&whole, &merged, &partial, &other]) {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    use std::io::{BufRead, BufReader};
    let args = [
        "--policies",
        "random,heuristic",
        "--episodes-per-type",
        "3000",
        "--jobs",
        "2",
    ];
    let whole = temp_dir("resume-whole");
    eval_into(&whole, &args);
    let cut = temp_dir("resume-cut");
    let mut full = vec!["eval"];
    full.extend_from_slice(&args);
    full.extend(["--out-dir", cut.to_str().unwrap()]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chaosops"))
        .args(&full)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // Interrupt once some records are on disk (the first wave written), so the resumed run
    // has something to keep.
    let records = cut.join("episodes.jsonl");
    let started = std::time::Instant::now();
    while std::fs::metadata(&records).map_or(0, |m| m.len()) == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no record written"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let kept = read_records(&cut).len();
    assert!(kept < 2 * 11 * 3000, "{kept}");
    // Half a record, as a crash in the middle of a write would leave.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(cut.join("episodes.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, br#"{"index": 99999, "poli"#).unwrap();
    drop(f);
    let mut resume = args.to_vec();
    resume.push("--resume");
    let out = eval_into(&cut, &resume);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{kept} already played")), "{err}");
    assert_same_files(&whole, &cut);
    // Resuming with other options is refused, naming the difference.
    let out = chaosops(
        &[
            "eval",
            "--policies",
            "random,heuristic",
            "--episodes-per-type",
            "2999",
            "--resume",
            "--out-dir",
            cut.to_str().unwrap(),
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("episodes_per_type 2999 vs 3000"), "{err}");
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&cut);
}

#[test]
fn the_seed_offset_moves_every_seed_and_the_cap_is_lifted() {
    let base = temp_dir("offset-0");
    let moved = temp_dir("offset-1000");
    eval_into(
        &base,
        &[
            "--policies",
            "random",
            "--tiers",
            "easy",
            "--episodes-per-type",
            "2",
        ],
    );
    eval_into(
        &moved,
        &[
            "--policies",
            "random",
            "--tiers",
            "easy",
            "--episodes-per-type",
            "2",
            "--seed-offset",
            "1000",
        ],
    );
    let a = read_records(&base);
    let b = read_records(&moved);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            y["seed"].as_u64().unwrap(),
            x["seed"].as_u64().unwrap() + 1000
        );
    }
    let out = chaosops(&["eval", "--episodes-per-type", "100000001"], b"");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--episodes-per-type 100000001 is out of range; allowed: 1..=100000000"));
    let out = chaosops(&["eval", "--shard", "4/3"], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard \"4/3\" is not K/N"));
    let _ = std::fs::remove_dir_all(&base);
    let _ = std::fs::remove_dir_all(&moved);
}
