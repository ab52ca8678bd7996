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

/// Serves `app` on a free loopback port from a thread of its own; its address.
fn on_loopback(app: Router) -> SocketAddr {
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
    rx.recv().unwrap()
}

/// How a stand-in answers a turn's request: its number among turn requests and the
/// system prompt, to reply text or an HTTP status.
type Reply = fn(usize, &str) -> Result<String, u16>;

/// A chat-completions stand-in on loopback. The endpoint check (a request without a system
/// message) is answered with a noop and not counted; turn requests are counted and
/// answered by `reply`.
fn start_mock_with(reply: Reply) -> (SocketAddr, Arc<AtomicUsize>) {
    async fn complete(
        State((count, reply)): State<(Arc<AtomicUsize>, Reply)>,
        Json(body): Json<Value>,
    ) -> Result<Json<Value>, axum::http::StatusCode> {
        let text = if body["messages"][0]["role"] != "system" {
            r#"{"action_type": "noop"}"#.to_owned()
        } else {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let system = body["messages"][0]["content"].as_str().unwrap_or("");
            reply(n, system).map_err(|code| axum::http::StatusCode::from_u16(code).unwrap())?
        };
        Ok(Json(
            json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}),
        ))
    }
    let count = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/v1/chat/completions", post(complete))
        .with_state((count.clone(), reply));
    (on_loopback(app), count)
}

/// The first turn request of all gets prose (forcing a retry), the manager always gets
/// prose (forcing fallbacks), the others play the db_deadlock oracle.
pub(crate) fn start_mock() -> (SocketAddr, Arc<AtomicUsize>) {
    start_mock_with(|n, system| {
        Ok(
            if n == 0 || system.contains("You are the incident Manager") {
                "I would like to think about this some more.".to_owned()
            } else if system.contains("You are the SRE") {
                r#"Root cause: {"action_type": "identify_root_cause", "args": {"failure_type": "db_deadlock"}}"#.to_owned()
            } else if system.contains("You are the Dev") {
                "```json\n{\"action_type\": \"restart\", \"target\": \"db\"}\n```".to_owned()
            } else {
                r#"{"action_type": "noop"}"#.to_owned()
            },
        )
    })
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn an_endpoint_that_does_not_answer_is_refused_before_the_run() {
    let dir = std::env::temp_dir().join(format!("chaosops-test-{}-llm-dead", std::process::id()));
    let dead = format!("http://127.0.0.1:{}/v1", closed_port());
    for endpoint in [dead.as_str(), "not a url"] {
        for command in ["run", "eval"] {
            let mut args = vec![
                command,
                "--policy",
                "llm",
                "--endpoint",
                endpoint,
                "--model",
                "m",
            ];
            if command == "eval" {
                args = vec![
                    "eval",
                    "--policies",
                    "llm",
                    "--endpoint",
                    endpoint,
                    "--model",
                    "m",
                    "--out-dir",
                    dir.to_str().unwrap(),
                ];
            } else {
                args.extend(["--failure", "db_deadlock"]);
            }
            let out = chaosops(&args, b"");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {endpoint}: {err}");
            assert!(
                err.contains("did not answer a test request"),
                "{command} {endpoint}: {err}"
            );
            assert!(out.stdout.is_empty(), "no episode was played");
        }
    }
    assert!(!dir.join("evaluation.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failed_requests_are_reported_and_counted_and_fail_the_command_when_all_fail() {
    let (addr, count) = start_mock_with(|_, _| Err(503));
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
            "m",
            "--llm-attempts",
            "2",
            "--max-steps",
            "4",
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.matches("an llm request failed: HTTP 503").count(),
        1,
        "a reason is said once: {err}"
    );
    assert!(
        err.contains("llm: 8 request(s), 8 failed; 4 of 4 turn(s) fell back to noop"),
        "{err}"
    );
    assert!(err.contains("every request to the model failed"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 8);
    // An evaluation shows the failures in its table.
    let dir = std::env::temp_dir().join(format!("chaosops-test-{}-llm-503", std::process::id()));
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
            "m",
            "--llm-attempts",
            "1",
            "--out-dir",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    let header = table.lines().find(|l| l.starts_with("policy")).unwrap();
    assert!(header.ends_with("parse_fail failed_requests"), "{table}");
    let llm_row = table.lines().find(|l| l.starts_with("llm ")).unwrap();
    let sent = llm_row.split_whitespace().last().unwrap();
    let (failed, total) = sent.split_once('/').unwrap();
    assert_eq!(failed, total, "{llm_row}");
    let oracle_row = table.lines().find(|l| l.starts_with("oracle ")).unwrap();
    assert!(
        oracle_row.ends_with("          -               -"),
        "{oracle_row}"
    );
    let _ = std::fs::remove_dir_all(&dir);
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
        json!({"turns": 3, "retries": 1, "fallbacks": 0, "requests": 4, "failed_requests": 0})
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
    let records = crate::read_records(&dir);
    let db = records
        .iter()
        .find(|r| r["policy"] == "llm" && r["failure_type"] == "db_deadlock")
        .unwrap();
    assert_eq!(db["resolved"], true);
    let _ = std::fs::remove_dir_all(&dir);
    let missing = chaosops(&["run", "--failure", "db_deadlock", "--policy", "llm"], b"");
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("the llm policy needs --endpoint and --model"));
}

/// An Anthropic Messages API stand-in: checks the headers and the body's shape, and plays
/// the db_deadlock oracle (the SRE declares, the Dev restarts the database).
fn start_anthropic_mock() -> (SocketAddr, Arc<AtomicUsize>) {
    async fn messages(
        State(count): State<Arc<AtomicUsize>>,
        headers: axum::http::HeaderMap,
        Json(body): Json<Value>,
    ) -> Result<Json<Value>, (axum::http::StatusCode, String)> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if header("anthropic-version").as_deref() != Some("2023-06-01") {
            return Err((
                axum::http::StatusCode::BAD_REQUEST,
                "no anthropic-version".into(),
            ));
        }
        if header("x-api-key").as_deref() != Some("test-key") {
            return Err((axum::http::StatusCode::UNAUTHORIZED, "bad x-api-key".into()));
        }
        if body["messages"][0]["role"] != "user" || body["max_tokens"].as_u64().is_none() {
            return Err((
                axum::http::StatusCode::BAD_REQUEST,
                format!("bad body {body}"),
            ));
        }
        let system = body["system"].as_str().unwrap_or("");
        let text = if system.contains("You are the SRE") {
            count.fetch_add(1, Ordering::SeqCst);
            r#"{"action_type": "identify_root_cause", "args": {"failure_type": "db_deadlock"}}"#
        } else if system.contains("You are the Dev") {
            count.fetch_add(1, Ordering::SeqCst);
            r#"{"action_type": "restart", "target": "db"}"#
        } else {
            r#"{"action_type": "noop"}"#
        };
        Ok(Json(json!({
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn"
        })))
    }
    let count = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/v1/messages", post(messages))
        .with_state(count.clone());
    (on_loopback(app), count)
}

#[test]
fn the_llm_policy_speaks_the_anthropic_messages_api() {
    let (addr, count) = start_anthropic_mock();
    let endpoint = format!("http://{addr}/v1");
    let run = |key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_chaosops"))
            .args([
                "run",
                "--failure",
                "db_deadlock",
                "--policy",
                "llm",
                "--provider",
                "anthropic",
                "--endpoint",
                &endpoint,
                "--model",
                "claude-test",
                "--api-key-env",
                "CHAOSOPS_TEST_ANTHROPIC_KEY",
                "--json",
            ])
            .env("CHAOSOPS_TEST_ANTHROPIC_KEY", key)
            .output()
            .unwrap()
    };
    let out = run("test-key");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["resolved"], true);
    assert_eq!(result["final_step"], 3);
    assert_eq!(result["parse_stats"]["failed_requests"], 0);
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "the SRE's and the Dev's turns"
    );
    // A refused key stops the run before it starts, naming the endpoint's answer.
    let out = run("wrong-key");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not answer a test request: HTTP 401: bad x-api-key"),
        "{err}"
    );
}
