//! The LLM adapter end to end: scoring completions with `replay`, `schema`, `prompt`,
//! and the `llm` policy against a mock chat-completions server on loopback.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::{chaosops, data_dir, read_evaluation};

/// Writes an action as a model might: bare, after chatter, or fenced.
fn styles(action: &Value) -> [String; 3] {
    let bare = action.to_string();
    let pretty = serde_json::to_string_pretty(action).unwrap();
    [
        bare.clone(),
        format!("Looking at the alerts, the best move now is this one.\n{bare}\nLet me know how it goes."),
        format!("Here is my action:\n```json\n{pretty}\n```"),
    ]
}

#[test]
fn a_completion_scores_like_the_action_it_writes() {
    let text = std::fs::read_to_string(data_dir().join("episodes.jsonl")).unwrap();
    let mut input = String::new();
    let mut expected = Vec::new();
    for line in text.lines() {
        let episode: Value = serde_json::from_str(line).unwrap();
        let actions = episode["input"]["actions"].as_array().unwrap();
        let (last, history) = actions.split_last().unwrap();
        let want = episode["expected"]["steps"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        for completion in styles(last) {
            let row = json!({"scenario": episode["input"]["scenario"], "actions": history, "completion": completion});
            input.push_str(&row.to_string());
            input.push('\n');
            expected.push(want.clone());
        }
    }
    let out = chaosops(&["replay", "--team-weight", "0.6"], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1200);
    for (n, (got, want)) in lines.iter().zip(&expected).enumerate() {
        assert_eq!(
            got["parse"]["outcome"],
            "parsed",
            "line {}: {}",
            n + 1,
            got["parse"]
        );
        let step = &got["step"];
        for key in [
            "turn",
            "role",
            "flags",
            "done",
            "step",
            "next_role",
            "breakdown",
        ] {
            assert_eq!(step[key], want[key], "line {} {key}", n + 1);
        }
        for key in ["reward", "team_reward", "oversight_reward"] {
            assert!(
                (step[key].as_f64().unwrap() - want[key].as_f64().unwrap()).abs() < 1e-9,
                "line {} {key}",
                n + 1
            );
        }
        let blended = 0.6 * want["team_reward"].as_f64().unwrap()
            + 0.4 * want["oversight_reward"].as_f64().unwrap();
        assert!((got["blended_reward"].as_f64().unwrap() - blended).abs() < 1e-9);
        assert_eq!(got["steps"].as_array().unwrap().last().unwrap(), step);
    }
}

#[test]
fn an_unusable_completion_falls_back_and_says_why() {
    let lines = [
        json!({"scenario": {"failure_type": "db_deadlock"}, "actions": [], "completion": "restart the database please"}),
        json!({"scenario": {"failure_type": "db_deadlock"}, "actions": [], "completion": "{\"action_type\": \"restart\", \"target\": \"db\",}"}),
        json!({"scenario": {"failure_type": "db_deadlock"}, "actions": [], "completion": "{\"action_type\": \"scale\", \"target\": \"db\", \"args\": {\"replicas\": \"many\"}}"}),
        json!({"scenario": {"failure_type": "db_deadlock", "max_steps": 1}, "actions": [{"action_type": "noop"}], "completion": "{}"}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = chaosops(&["replay"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let got: Vec<Value> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        got[0]["parse"],
        json!({"outcome": "fallback", "reason": "no JSON object in the completion"})
    );
    assert_eq!(got[0]["step"]["breakdown"]["mttr_penalty"], -2.0);
    assert!(got[1]["parse"]["reason"]
        .as_str()
        .unwrap()
        .contains("trailing comma"));
    assert_eq!(
        got[2]["parse"],
        json!({"outcome": "parsed", "dropped": ["replicas \"many\""]})
    );
    assert_eq!(got[2]["step"]["flags"]["wrong_fix"], true);
    assert!(got[3]["error"]
        .as_str()
        .unwrap()
        .contains("line 4: completion: the episode ended at step 1"));
}

#[test]
fn schema_formats() {
    let schema: Value = serde_json::from_slice(&chaosops(&["schema"], b"").stdout).unwrap();
    assert_eq!(
        schema["properties"]["action_type"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        9
    );
    assert_eq!(
        schema["properties"]["args"]["properties"]["failure_type"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        9
    );
    let openai: Value =
        serde_json::from_slice(&chaosops(&["schema", "--format", "openai"], b"").stdout).unwrap();
    assert_eq!(openai[0]["type"], "function");
    assert_eq!(openai[0]["function"]["name"], "take_action");
    assert_eq!(
        openai[0]["function"]["parameters"]["required"],
        json!(["action_type"])
    );
    let anthropic: Value =
        serde_json::from_slice(&chaosops(&["schema", "--format", "anthropic"], b"").stdout)
            .unwrap();
    assert_eq!(anthropic[0]["name"], "take_action");
    assert!(anthropic[0]["input_schema"]["properties"]["target"].is_object());
    let bad = chaosops(&["schema", "--format", "yaml"], b"");
    assert!(!bad.status.success());
}

#[test]
fn schema_shows_the_rl_encoding() {
    let table: Value =
        serde_json::from_slice(&chaosops(&["schema", "--format", "action-table"], b"").stdout)
            .unwrap();
    let rows = table.as_array().unwrap();
    assert_eq!(rows.len(), 48);
    assert_eq!(rows[0]["name"], "noop");
    assert_eq!(rows[2]["allowed_for"], json!(["manager"]));
    assert_eq!(
        rows[31]["action"],
        json!({"action_type": "flag_rogue", "target": "autoscaler", "args": {}})
    );
    assert_eq!(rows[31]["allowed_for"], json!(["oversight"]));
    assert_eq!(rows[47]["name"], "identify_root_cause:rogue_deploy_bot");
    let layout: Value =
        serde_json::from_slice(&chaosops(&["schema", "--format", "observation"], b"").stdout)
            .unwrap();
    assert_eq!(layout["length"], 199);
    let segments = layout["segments"].as_array().unwrap();
    assert_eq!(segments[0]["name"], "role");
    let last = segments.last().unwrap();
    assert_eq!(
        last["start"].as_u64().unwrap() + last["len"].as_u64().unwrap(),
        199
    );
}

#[test]
fn prompt_shows_the_acting_role_its_view() {
    let out = chaosops(
        &[
            "prompt",
            "--failure",
            "autoscaler_cost_cut",
            "--difficulty",
            "hard",
            "--role",
            "oversight",
        ],
        b"",
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("=== system ===\nYou are one of four responders"));
    assert!(text.contains("You are Oversight"));
    assert!(text.contains("you are oversight"));
    assert!(text.contains("autoscaler scale_down -> payments"));
    assert!(!text.contains("is_red_herring"));
    let tokens = String::from_utf8(out.stderr).unwrap();
    assert!(tokens.contains("tokens"), "{tokens}");
}

/// A chat-completions stand-in: the first request of all gets prose (forcing a retry), the
/// manager always gets prose (forcing fallbacks), the others play the db_deadlock oracle.
fn start_mock() -> (SocketAddr, Arc<AtomicUsize>) {
    async fn complete(
        State(count): State<Arc<AtomicUsize>>,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let n = count.fetch_add(1, Ordering::SeqCst);
        let system = body["messages"][0]["content"].as_str().unwrap_or("");
        let reply = if n == 0 || system.contains("You are the incident Manager") {
            "I would like to think about this some more.".to_owned()
        } else if system.contains("You are the SRE") {
            r#"Root cause: {"action_type": "identify_root_cause", "args": {"failure_type": "db_deadlock"}}"#.to_owned()
        } else if system.contains("You are the Dev") {
            "```json\n{\"action_type\": \"restart\", \"target\": \"db\"}\n```".to_owned()
        } else {
            r#"{"action_type": "noop"}"#.to_owned()
        };
        Json(json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}))
    }
    let count = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/v1/chat/completions", post(complete))
        .with_state(count.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), count)
}

#[test]
fn the_llm_policy_plays_through_a_retry() {
    let (addr, count) = start_mock();
    let endpoint = format!("http://{addr}/v1");
    let out = chaosops(
        &[
            "run",
            "--failure",
            "db_deadlock",
            "--policy",
            "llm",
            "--endpoint",
            &endpoint,
            "--model",
            "mock",
            "--json",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["resolved"], true);
    assert_eq!(result["final_step"], 3);
    assert_eq!(
        result["parse_stats"],
        json!({"turns": 3, "retries": 1, "fallbacks": 0})
    );
    assert_eq!(count.load(Ordering::SeqCst), 4, "3 turns and one retry");
}

#[test]
fn evaluation_counts_parse_failures() {
    let (addr, _) = start_mock();
    let endpoint = format!("http://{addr}/v1");
    let dir = std::env::temp_dir().join(format!("chaosops-test-{}-llm-eval", std::process::id()));
    let out = chaosops(
        &[
            "eval",
            "--policies",
            "llm",
            "oracle",
            "--tiers",
            "easy",
            "--episodes-per-type",
            "1",
            "--endpoint",
            &endpoint,
            "--model",
            "mock",
            "--llm-attempts",
            "2",
            "--out-dir",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    let eval = read_evaluation(&out, &dir);
    let aggregates = eval["aggregates"].as_array().unwrap();
    let llm = aggregates.iter().find(|a| a["policy"] == "llm").unwrap();
    let oracle = aggregates.iter().find(|a| a["policy"] == "oracle").unwrap();
    let rate = llm["parse_failure_rate"].as_f64().unwrap();
    assert!(rate > 0.0 && rate < 1.0, "{rate}");
    assert_eq!(oracle["parse_failure_rate"], Value::Null);
    let db = eval["per_episode"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "llm" && r["failure_type"] == "db_deadlock")
        .unwrap();
    assert_eq!(db["resolved"], true);
    let _ = std::fs::remove_dir_all(&dir);
    let missing = chaosops(&["run", "--failure", "db_deadlock", "--policy", "llm"], b"");
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("the llm policy needs --endpoint and --model"));
}
