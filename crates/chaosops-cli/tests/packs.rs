//! Scenario packs through the command line: `--scenarios DIR` (or $CHAOSOPS_SCENARIOS) on
//! any command.

use std::path::PathBuf;

use serde_json::Value;

use crate::{chaosops, read_evaluation};

fn scenarios() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .display()
        .to_string()
}

#[test]
fn list_shows_pack_types_with_their_source() {
    let dir = scenarios();
    let out = chaosops(&["list", "--json", "--scenarios", &dir], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 18);
    let packs: Vec<&Value> = list.iter().filter(|f| f["source"] != "built-in").collect();
    assert_eq!(packs.len(), 9);
    for p in &packs {
        let source = p["source"].as_str().unwrap();
        assert!(
            source.ends_with(&format!("{}.toml", p["id"].as_str().unwrap())),
            "{source}"
        );
    }
    let table = chaosops(&["list", "--scenarios", &dir], b"");
    let text = String::from_utf8(table.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("bad_feature_flag"))
        .unwrap();
    assert!(
        line.contains("deploy_bot") && line.ends_with("bad_feature_flag.toml"),
        "{line}"
    );
    // The plain listing is unchanged: built-in types only.
    let plain = chaosops(&["list", "--json"], b"");
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(plain.as_array().unwrap().len(), 9);
}

#[test]
fn pack_types_run_replay_and_evaluate_like_built_in_ones() {
    let dir = scenarios();
    let run = chaosops(
        &[
            "run",
            "--scenarios",
            &dir,
            "--failure",
            "bad_feature_flag",
            "--difficulty",
            "hard",
            "--policy",
            "oracle",
        ],
        b"",
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        text.contains("flag_rogue deploy_bot") && text.contains("result: resolved"),
        "{text}"
    );
    let line = br#"{"scenario": {"failure_type": "queue_backlog", "seed": 2}, "actions": [{"action_type": "scale", "target": "notifications", "args": {"replicas": 4}}]}"#;
    let replay = chaosops(&["replay", "--scenarios", &dir], line);
    let out: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(out["final_state"]["resolved"], true, "{out}");
    // Without the folder the type is unknown.
    let unknown = chaosops(&["replay"], line);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&unknown.stdout),
        String::from_utf8_lossy(&unknown.stderr)
    );
    assert!(said.contains("unknown failure type"), "{said}");
    // An evaluation draws pack types from the tiers they name, and the oracle resolves them.
    let out_dir = std::env::temp_dir().join(format!("chaosops-test-{}-packs", std::process::id()));
    let eval = chaosops(
        &[
            "eval",
            "--scenarios",
            &dir,
            "--policies",
            "oracle",
            "--episodes-per-type",
            "2",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    let evaluation = read_evaluation(&eval, &out_dir);
    assert_eq!(evaluation["controls"], serde_json::json!(["no_fault"]));
    let summary = String::from_utf8_lossy(&eval.stdout);
    assert!(
        summary.contains("no_fault is a no-fault control: share of its episodes in which each policy broke the healthy fleet (a wrong fix or a flag): oracle 0.00"),
        "{summary}"
    );
    let rows = evaluation["by_failure"].as_array().unwrap();
    assert_eq!(rows.len(), 18);
    for row in rows {
        assert_eq!(row["success_rate"], 1.0, "{row}");
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn a_bad_or_shadowing_pack_stops_the_command_with_its_file_and_line() {
    let dir = std::env::temp_dir().join(format!("chaosops-test-{}-bad-packs", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("typo.toml"),
        "id = \"typo\"\ndescription = \"d\"\n\n[[fix]]\naction_type = \"restart\"\ntarget = \"db\"\nreplicas = 3\n",
    )
    .unwrap();
    let out = chaosops(&["list", "--scenarios", dir.to_str().unwrap()], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("typo.toml:7:1: field `replicas`: unknown field `replicas`"),
        "{err}"
    );
    std::fs::write(
        dir.join("typo.toml"),
        "id = \"memory_leak\"\ndescription = \"d\"\n\n[[fix]]\naction_type = \"restart\"\ntarget = \"db\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chaosops"))
        .args(["list"])
        .env("CHAOSOPS_SCENARIOS", &dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains(
            "typo.toml: field `id`: \"memory_leak\" is already the id of another failure type"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_standard_evaluation_says_so_and_its_oracle_resolves_everything() {
    let out_dir =
        std::env::temp_dir().join(format!("chaosops-test-{}-standard", std::process::id()));
    let eval = chaosops(
        &[
            "eval",
            "--variation",
            "standard",
            "--policies",
            "oracle",
            "--episodes-per-type",
            "4",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    let evaluation = read_evaluation(&eval, &out_dir);
    assert_eq!(evaluation["variation"], "standard");
    for row in evaluation["aggregates"].as_array().unwrap() {
        assert_eq!(row["success_rate"], 1.0, "{row}");
    }
    let run: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["variation"], "standard");
    let summary = String::from_utf8_lossy(&eval.stdout);
    assert!(
        summary.contains("episodes in all, variation standard"),
        "{summary}"
    );
    // Resuming with another variation is refused, naming it.
    let resumed = chaosops(
        &[
            "eval",
            "--resume",
            "--policies",
            "oracle",
            "--episodes-per-type",
            "4",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        !resumed.status.success() && err.contains("variation"),
        "{err}"
    );
    // A reference run writes no variation at all.
    let plain = chaosops(
        &[
            "eval",
            "--policies",
            "oracle",
            "--tiers",
            "easy",
            "--episodes-per-type",
            "1",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    let evaluation = read_evaluation(&plain, &out_dir);
    assert!(evaluation.get("variation").is_none());
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn held_out_splits_partition_an_evaluation_and_are_reported() {
    let dir = scenarios();
    let base = std::env::temp_dir().join(format!("chaosops-test-{}-split", std::process::id()));
    let mut seeds = std::collections::BTreeMap::new();
    for split in ["train", "test"] {
        let out_dir = base.join(split);
        let eval = chaosops(
            &[
                "eval",
                "--scenarios",
                &dir,
                "--variation",
                "standard",
                "--split",
                split,
                "--policies",
                "oracle",
                "--episodes-per-type",
                "5",
                "--out-dir",
                out_dir.to_str().unwrap(),
            ],
            b"",
        );
        let evaluation = read_evaluation(&eval, &out_dir);
        assert_eq!(evaluation["split"], split);
        let summary = String::from_utf8_lossy(&eval.stdout);
        assert!(
            summary.contains(&format!("variation standard, split {split}")),
            "{summary}"
        );
        for row in evaluation["by_failure"].as_array().unwrap() {
            assert_eq!(row["success_rate"], 1.0, "{row}");
        }
        let records = crate::read_records(&out_dir);
        for r in &records {
            let seed = r["seed"].as_u64().unwrap();
            let failure = r["failure_type"].as_str().unwrap().to_owned();
            let held_family = [
                "autoscaler_cost_cut",
                "certificate_expiry",
                "cache_stampede",
                "queue_backlog",
            ]
            .contains(&failure.as_str());
            let on_test = held_family || seed % 5 == 4;
            assert_eq!(on_test, split == "test", "{split}: {failure} seed {seed}");
            seeds
                .entry((failure, r["tier"].as_str().unwrap().to_owned()))
                .or_insert_with(Vec::new)
                .push(seed);
        }
    }
    // Train and test hold no seed twice.
    for ((failure, tier), list) in &seeds {
        let mut sorted = list.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), list.len(), "{failure} {tier}: {list:?}");
    }
    let refused = chaosops(
        &[
            "eval",
            "--split",
            "test",
            "--seed-offset",
            "9223372036854775807",
            "--out-dir",
            base.to_str().unwrap(),
        ],
        b"",
    );
    assert!(String::from_utf8_lossy(&refused.stderr)
        .contains("--seed-offset 9223372036854775807 is out of range with --split test"));
    let _ = std::fs::remove_dir_all(&base);
}
