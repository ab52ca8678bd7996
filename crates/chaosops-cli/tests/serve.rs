//! The OpenEnv server over real WebSocket and HTTP connections on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use chaosops_cli::serve::{serve, ServeConfig};
use chaosops_model::{Action, Difficulty, FailureId, Role, ScenarioSpec};
use chaosops_sim::{Environment, RewardConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(config: ServeConfig) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let registry = chaosops_cli::registry().unwrap();
        let task = tokio::spawn(serve(listener, registry, config, async {
            let _ = rx.await;
        }));
        Server {
            addr,
            stop: Some(tx),
            task,
        }
    }

    async fn quiet() -> Server {
        Server::start(ServeConfig {
            ..ServeConfig::default()
        })
        .await
    }

    async fn connect(&self) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", self.addr))
            .await
            .unwrap();
        ws
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

async fn recv(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("reply in time")
        {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

/// Reads until the close frame; its code, or None when the connection just ended.
async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a close in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

async fn call(ws: &mut Ws, message: &str) -> Value {
    ws.send(Message::Text(message.into())).await.unwrap();
    recv(ws).await.expect("a reply")
}

async fn call_json(ws: &mut Ws, message: Value) -> Value {
    call(ws, &message.to_string()).await
}

fn reset_msg(failure: &str, seed: u64, difficulty: &str, max_steps: u32) -> Value {
    json!({"type": "reset", "data": {"failure_type": failure, "seed": seed, "difficulty": difficulty, "max_steps": max_steps}})
}

/// The oracle's action for `role` in `failure`.
fn oracle(failure: &str, role: &str) -> Action {
    let registry = chaosops_cli::registry().unwrap();
    let role: Role = role.parse().unwrap();
    registry
        .failure(failure)
        .unwrap()
        .playbook()
        .action(role)
        .cloned()
        .unwrap_or_else(Action::noop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oracle_episode_of_every_failure_type() {
    let server = Server::quiet().await;
    let mut ws = server.connect().await;
    for (i, id) in chaosops_failures::BUILTIN_IDS.iter().enumerate() {
        let mut reply = call_json(&mut ws, reset_msg(id, i as u64, "hard", 25)).await;
        assert_eq!(reply["type"], "observation", "{reply}");
        assert_eq!(reply["data"]["done"], false);
        let mut total = 0.0;
        while reply["data"]["done"] == false {
            let role = reply["data"]["observation"]["turn_role"]
                .as_str()
                .unwrap()
                .to_owned();
            let action = oracle(id, &role);
            reply = call_json(&mut ws, json!({"type": "step", "data": action})).await;
            assert_eq!(reply["type"], "observation", "{reply}");
            total += reply["data"]["reward"].as_f64().unwrap();
        }
        let state = call(&mut ws, r#"{"type": "state"}"#).await;
        assert_eq!(state["type"], "state");
        assert_eq!(state["data"]["resolved"], true, "{id}");
        assert_eq!(state["data"]["failure_type"], *id);
        assert_eq!(state["data"]["cumulative_reward"].as_f64().unwrap(), total);
        assert!(total >= 134.0, "{id}: {total}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_reported_and_the_session_stays_usable() {
    let server = Server::start(ServeConfig {
        max_message_bytes: 4096,
        ..ServeConfig::default()
    })
    .await;
    let mut ws = server.connect().await;
    let before_reset = [
        ("{not json", "INVALID_JSON", "invalid JSON"),
        (
            r#"{"type": "jump"}"#,
            "UNKNOWN_TYPE",
            "unknown message type \"jump\"",
        ),
        (
            r#"{"type": "step", "data": {"action_type": "noop"}}"#,
            "EXECUTION_ERROR",
            "send a reset first",
        ),
        (
            r#"{"type": "reset", "data": {"failure_type": "dns_outag"}}"#,
            "VALIDATION_ERROR",
            "unknown failure type \"dns_outag\"; known: autoscaler_cost_cut",
        ),
    ];
    for (input, code, part) in before_reset {
        let r = call(&mut ws, input).await;
        assert_eq!(
            (r["type"].as_str(), r["data"]["code"].as_str()),
            (Some("error"), Some(code)),
            "{input}: {r}"
        );
        assert!(
            r["data"]["message"].as_str().unwrap().contains(part),
            "{input}: {r}"
        );
    }
    call_json(&mut ws, reset_msg("db_deadlock", 5, "easy", 2)).await;
    let state = call(&mut ws, r#"{"type": "state"}"#).await;
    let during = [
        (r#"{"type": "step", "data": {"action_type": "reboot"}}"#.to_owned(), "VALIDATION_ERROR", "unknown action type \"reboot\""),
        (r#"{"type": "step", "data": {"target": "db"}}"#.to_owned(), "VALIDATION_ERROR", "missing field `action_type`"),
        (r#"{"type": "step", "data": {"action_type": "scale", "target": ["db"]}}"#.to_owned(), "VALIDATION_ERROR", "invalid type"),
        (r#"{"type": "step", "data": {"action_type": "scale", "target": "db", "args": {"replicas": 5000}}}"#.to_owned(), "VALIDATION_ERROR", "args.replicas 5000 is out of range"),
        (format!(r#"{{"type": "step", "data": {{"action_type": "communicate", "args": {{"message": "{}"}}}}}}"#, "z".repeat(2100)), "VALIDATION_ERROR", "args.message is 2100 bytes long; the limit is 2048"),
        (r#"{"type": "reset", "data": {"failure_type": "bogus"}}"#.to_owned(), "VALIDATION_ERROR", "unknown failure type \"bogus\""),
    ];
    for (input, code, part) in &during {
        let r = call(&mut ws, input).await;
        assert_eq!(r["data"]["code"], *code, "{input:.80}: {r}");
        assert!(
            r["data"]["message"].as_str().unwrap().contains(part),
            "{input:.80}: {r}"
        );
    }
    assert_eq!(
        call(&mut ws, r#"{"type": "state"}"#).await,
        state,
        "a refused message changed the session"
    );
    call(
        &mut ws,
        r#"{"type": "step", "data": {"action_type": "noop"}}"#,
    )
    .await;
    let last = call(
        &mut ws,
        r#"{"type": "step", "data": {"action_type": "noop"}}"#,
    )
    .await;
    assert_eq!(last["data"]["done"], true);
    let r = call(
        &mut ws,
        r#"{"type": "step", "data": {"action_type": "noop"}}"#,
    )
    .await;
    assert_eq!(r["data"]["code"], "EXECUTION_ERROR");
    assert!(r["data"]["message"]
        .as_str()
        .unwrap()
        .contains("the episode is finished"));
    // Still usable: a new episode starts.
    let r = call_json(&mut ws, reset_msg("memory_leak", 1, "easy", 5)).await;
    assert_eq!(r["type"], "observation");
    // close ends the session.
    ws.send(Message::Text(r#"{"type": "close"}"#.into()))
        .await
        .unwrap();
    assert!(recv(&mut ws).await.is_none());
    server.stop().await;
}

/// Plays `actions` in a local environment: what a session must end with.
fn local_state(failure: &str, seed: u64, difficulty: Difficulty, actions: &[Action]) -> Value {
    let registry = chaosops_cli::registry().unwrap();
    let spec = ScenarioSpec {
        failure_type: FailureId::from(failure.to_owned()),
        seed,
        difficulty,
        max_steps: 20,
        variation: Default::default(),
    };
    let scenario = registry.scenario(&spec).unwrap();
    let mut env = Environment::new(registry, &scenario, RewardConfig::default(), None).unwrap();
    for a in actions {
        if env.is_done() {
            break;
        }
        env.step(a).unwrap();
    }
    serde_json::to_value(env.state()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_sessions_keep_to_themselves() {
    let server = Server::quiet().await;
    let addr = server.addr;
    let tasks: Vec<_> = (0..32u64)
        .map(|i| {
            tokio::spawn(async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
                    .await
                    .unwrap();
                let failure = chaosops_failures::BUILTIN_IDS[i as usize % 9];
                let difficulty = Difficulty::ALL[i as usize % 3];
                let seed = 100 + i;
                let actions: Vec<Action> = (0..6)
                    .map(|k| match (i + k) % 4 {
                        0 => Action::communicate(format!("session {i} says {k}")),
                        1 => Action::noop(),
                        2 => Action::restart(
                            chaosops_model::Service::ALL[(i as usize + k as usize) % 4],
                        ),
                        _ => Action::identify_root_cause(&FailureId::from_static(failure)),
                    })
                    .collect();
                call_json(&mut ws, reset_msg(failure, seed, difficulty.as_str(), 20)).await;
                for a in &actions {
                    let r = call_json(&mut ws, json!({"type": "step", "data": a})).await;
                    assert_eq!(r["type"], "observation", "{r}");
                    if r["data"]["done"] == true {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                let state = call(&mut ws, r#"{"type": "state"}"#).await["data"].clone();
                (state, local_state(failure, seed, difficulty, &actions))
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (remote, local) = t.await.unwrap();
        assert_eq!(remote, local);
        ids.insert(remote["episode_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 32, "every session has its own episode");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_with_the_same_seed_and_actions_agree() {
    let server = Server::quiet().await;
    let mut states = Vec::new();
    for _ in 0..2 {
        let mut ws = server.connect().await;
        call_json(&mut ws, reset_msg("cascade", 77, "hard", 10)).await;
        for a in [
            Action::restart(chaosops_model::Service::Auth),
            Action::communicate("hm"),
            Action::restart(chaosops_model::Service::Db),
        ] {
            call_json(&mut ws, json!({"type": "step", "data": a})).await;
        }
        states.push(call(&mut ws, r#"{"type": "state"}"#).await);
    }
    assert_eq!(states[0], states[1]);
    assert_eq!(states[0]["data"]["wrong_fixes"], 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_sessions_idle_time_and_frame_size() {
    let server = Server::start(ServeConfig {
        max_sessions: 2,
        idle_timeout: Duration::from_millis(1500),
        max_message_bytes: 1024,
        ..ServeConfig::default()
    })
    .await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    call_json(&mut a, reset_msg("db_deadlock", 1, "easy", 5)).await;
    call_json(&mut b, reset_msg("db_deadlock", 2, "easy", 5)).await;
    let mut c = server.connect().await;
    let refused = recv(&mut c).await.expect("an error before the close");
    assert_eq!(refused["data"]["code"], "CAPACITY_REACHED");
    assert!(
        refused["data"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 2 concurrent sessions"),
        "{refused}"
    );
    assert!(recv(&mut c).await.is_none(), "closed after the refusal");
    // Idle sessions are told and closed.
    let idle = recv(&mut a).await.expect("an idle notice");
    assert_eq!(idle["data"]["code"], "SESSION_ERROR");
    assert!(
        idle["data"]["message"]
            .as_str()
            .unwrap()
            .contains("no message for 1.5 s"),
        "{idle}"
    );
    assert_eq!(close_code(&mut a).await, Some(1008), "idle: a policy close");
    drop(b);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A frame over the hard limit (16 x 1024) drops that connection only.
    let mut big = server.connect().await;
    let huge = format!(
        r#"{{"type": "reset", "data": {{"pad": "{}"}}}}"#,
        "p".repeat(40_000)
    );
    let _ = big.send(Message::Text(huge.into())).await;
    let refused = recv(&mut big).await.expect("an error before the close");
    assert!(
        refused["data"]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit of 1024 bytes"),
        "{refused}"
    );
    assert_eq!(close_code(&mut big).await, Some(1009));
    drop(big);
    // The refused session lingers at most a second (so its close frame is read before
    // the connection goes); then its slot is free again.
    let started = std::time::Instant::now();
    loop {
        let mut fresh = server.connect().await;
        let reply = call_json(&mut fresh, reset_msg("db_deadlock", 3, "easy", 5)).await;
        if reply["type"] == "observation" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{reply}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
}

/// A bare HTTP/1.1 request; returns status and body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_endpoints() {
    let server = Server::quiet().await;
    let addr = server.addr;
    assert_eq!(
        http(addr, "GET", "/health", "").await,
        (200, json!({"status": "healthy"}))
    );
    let (status, meta) = http(addr, "GET", "/metadata", "").await;
    assert_eq!(status, 200);
    assert_eq!(meta["name"], "chaosops");
    assert!(meta["version"].is_string() && meta["description"].is_string());
    let (_, schema) = http(addr, "GET", "/schema", "").await;
    let ids = &schema["action"]["properties"]["args"]["properties"]["failure_type"]["enum"];
    assert_eq!(ids.as_array().unwrap().len(), 9);
    assert!(schema["action"]["properties"]["action_type"]["enum"]
        .as_array()
        .unwrap()
        .contains(&json!("flag_rogue")));
    assert!(schema["observation"].is_object() && schema["state"].is_object());
    let (status, reset) = http(
        addr,
        "POST",
        "/reset",
        r#"{"seed": 4, "failure_type": "dns_outage", "other": true}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (reset["reward"].clone(), reset["done"].clone()),
        (json!(0.0), json!(false))
    );
    assert_eq!(reset["observation"]["turn_role"], "sre");
    let (status, _) = http(addr, "POST", "/reset", "").await;
    assert_eq!(status, 200);
    let (status, step) = http(
        addr,
        "POST",
        "/step",
        r#"{"action": {"action_type": "restart", "target": "auth"}, "failure_type": "dns_outage"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (step["reward"].clone(), step["done"].clone()),
        (json!(110.0), json!(true))
    );
    let (status, err) = http(
        addr,
        "POST",
        "/step",
        r#"{"action": {"action_type": "boom"}}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(err["detail"]
        .as_str()
        .unwrap()
        .contains("unknown action type \"boom\""));
    let (status, err) = http(addr, "POST", "/reset", r#"{"failure_type": 3"#).await;
    assert_eq!(status, 422);
    assert!(err["detail"]
        .as_str()
        .unwrap()
        .contains("invalid request body"));
    let (status, state) = http(addr, "GET", "/state", "").await;
    assert_eq!(
        (status, state["failure_type"].clone()),
        (200, json!("db_deadlock"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_sessions() {
    let server = Server::quiet().await;
    let mut ws = server.connect().await;
    call_json(&mut ws, reset_msg("db_deadlock", 1, "easy", 5)).await;
    server.stop().await;
    let notice = recv(&mut ws).await.expect("a shutdown notice");
    assert_eq!(notice["data"]["code"], "SESSION_ERROR");
    assert!(recv(&mut ws).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_loses_its_slot() {
    let server = Server::start(ServeConfig {
        max_sessions: 1,
        idle_timeout: Duration::from_secs(2),
        send_timeout: Duration::from_secs(1),
        ..ServeConfig::default()
    })
    .await;
    let mut stalled = server.connect().await;
    call_json(&mut stalled, reset_msg("cascade", 1, "hard", 25)).await;
    // Thousands of requests whose replies are never read: the server's sends back up.
    let flood = tokio::spawn(async move {
        for _ in 0..20_000 {
            if stalled
                .feed(Message::Text(r#"{"type": "state"}"#.into()))
                .await
                .is_err()
            {
                break;
            }
        }
        let _ = stalled.flush().await;
        // Keep the connection open without reading.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stalled);
    });
    let started = std::time::Instant::now();
    let got_in = loop {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the stalled client still holds the only slot"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut ws = server.connect().await;
        let _ = ws
            .send(Message::Text(
                reset_msg("db_deadlock", 2, "easy", 5).to_string().into(),
            ))
            .await;
        match recv(&mut ws).await {
            Some(reply) if reply["type"] == "observation" => break reply,
            _ => continue,
        }
    };
    assert_eq!(got_in["data"]["done"], false);
    flood.abort();
    server.stop().await;
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET /health on `port`, or None when nothing answers within a second.
async fn health(port: u16) -> Option<u16> {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    tokio::time::timeout(Duration::from_secs(1), async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await.ok()?;
        text.get(9..12)?.parse().ok()
    })
    .await
    .ok()
    .flatten()
}

/// `chaosops serve` as a process of its own on a free port, with `args`; returns once
/// /health answers.
async fn serve_process(args: &[&str], stderr: std::process::Stdio) -> (std::process::Child, u16) {
    let port = free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chaosops"))
        .args(["serve", "--port", &port.to_string()])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if health(port).await == Some(200) {
            return (child, port);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stderr_nobody_reads_or_that_is_closed_neither_blocks_nor_kills_the_server() {
    for closed in [false, true] {
        let (mut child, port) =
            serve_process(&["--idle-timeout", "5"], std::process::Stdio::piped()).await;
        // Either nobody ever reads the pipe, or its read end is closed at once.
        let mut stderr = child.stderr.take();
        if closed {
            stderr = None;
        }
        // Two log lines per session, far more than a pipe holds (64 KiB).
        for seed in 0..1200u64 {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
                .await
                .unwrap_or_else(|e| panic!("session {seed} (closed: {closed}): {e}"));
            if seed % 100 == 0 {
                call_json(&mut ws, reset_msg("db_deadlock", seed, "easy", 5)).await;
            }
            let _ = ws.close(None).await;
        }
        assert_eq!(health(port).await, Some(200), "closed stderr: {closed}");
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        let _ = child.kill();
        let _ = child.wait();
        drop(stderr);
    }
}

/// A WebSocket handshake on a raw TCP stream, so that frames the client library would
/// never send can be sent.
async fn raw_session(addr: SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// A client frame: FIN, `opcode`, masked (with a zero mask, so the payload is as given)
/// unless `masked` is false.
fn frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![
        0x80 | opcode,
        payload.len() as u8 | if masked { 0x80 } else { 0 },
    ];
    if masked {
        f.extend_from_slice(&[0, 0, 0, 0]);
    }
    f.extend_from_slice(payload);
    f
}

/// Reads server frames until a close frame; returns its code.
async fn raw_close_code(stream: &mut tokio::net::TcpStream) -> Option<u16> {
    let read = async {
        loop {
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await.ok()?;
            let mut len = u64::from(head[1] & 0x7f);
            if len == 126 {
                let mut l = [0u8; 2];
                stream.read_exact(&mut l).await.ok()?;
                len = u64::from(u16::from_be_bytes(l));
            } else if len == 127 {
                let mut l = [0u8; 8];
                stream.read_exact(&mut l).await.ok()?;
                len = u64::from_be_bytes(l);
            }
            let mut payload = vec![0u8; len as usize];
            stream.read_exact(&mut payload).await.ok()?;
            if head[0] & 0x0f == 0x8 {
                return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("a close in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_close_with_the_rfc_codes() {
    let server = Server::start(ServeConfig {
        max_message_bytes: 2048,
        ..ServeConfig::default()
    })
    .await;
    // Text that is not UTF-8: 1007.
    let mut s = raw_session(server.addr).await;
    s.write_all(&frame(0x1, &[0x7b, 0xff, 0xfe, 0x7d], true))
        .await
        .unwrap();
    assert_eq!(raw_close_code(&mut s).await, Some(1007));
    // An unmasked client frame: 1002.
    let mut s = raw_session(server.addr).await;
    s.write_all(&frame(0x1, br#"{"type": "state"}"#, false))
        .await
        .unwrap();
    assert_eq!(raw_close_code(&mut s).await, Some(1002));
    // A reserved opcode: 1002.
    let mut s = raw_session(server.addr).await;
    s.write_all(&frame(0x3, b"x", true)).await.unwrap();
    assert_eq!(raw_close_code(&mut s).await, Some(1002));
    // A message over the limit, even slightly: an error, then 1009.
    let mut ws = server.connect().await;
    let long = format!(r#"{{"type": "state", "pad": "{}"}}"#, "p".repeat(2100));
    ws.send(Message::Text(long.into())).await.unwrap();
    let refused = recv(&mut ws).await.expect("an error first");
    assert_eq!(refused["data"]["code"], "VALIDATION_ERROR");
    assert_eq!(close_code(&mut ws).await, Some(1009));
    // The server is still there for everyone else.
    let mut ok = server.connect().await;
    assert_eq!(
        call_json(&mut ok, reset_msg("db_deadlock", 1, "easy", 5)).await["type"],
        "observation"
    );
    server.stop().await;
}

/// Sends `text` on a new connection and returns the connection.
async fn raw(addr: SocketAddr, text: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(text.as_bytes()).await.unwrap();
    stream
}

/// Reads until the server closes the connection (within `within`); what it sent.
async fn until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_connections_are_bounded_in_number_and_time() {
    let server = Server::start(ServeConfig {
        max_connections: 8,
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        max_message_bytes: 1024,
        ..ServeConfig::default()
    })
    .await;
    let addr = server.addr;
    // Partial headers from more clients than the cap: each is cut off, and /health is
    // answered once they are.
    let mut slow = Vec::new();
    for _ in 0..12 {
        slow.push(raw(addr, "GET /health HTTP/1.1\r\nHost: x\r\n").await);
    }
    let started = std::time::Instant::now();
    let (status, body) = http(addr, "GET", "/health", "").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("healthy")));
    assert!(started.elapsed() < Duration::from_secs(5));
    for s in &mut slow {
        until_closed(s, Duration::from_secs(3)).await;
    }
    // A body that never arrives: 408, as JSON.
    let mut partial = raw(
        addr,
        "POST /reset HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"seed\"",
    )
    .await;
    let reply = until_closed(&mut partial, Duration::from_secs(3)).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(
        reply.contains(r#""detail":"the request body did not arrive within 0.5 s""#),
        "{reply}"
    );
    // An idle keep-alive connection is closed after the header timeout.
    let mut idle = raw(addr, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let reply = until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    // Too big, and not JSON: refused as JSON.
    let (status, body) = http(
        addr,
        "POST",
        "/reset",
        &format!(r#"{{"pad": "{}"}}"#, "p".repeat(2000)),
    )
    .await;
    assert_eq!(status, 413);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("over the limit of 1024 bytes"),
        "{body}"
    );
    let mut plain = raw(
        addr,
        "POST /reset HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await;
    let reply = until_closed(&mut plain, Duration::from_secs(3)).await;
    assert!(reply.starts_with("HTTP/1.1 415"), "{reply}");
    assert!(
        reply.contains("Content-Type: application/json, not text/plain"),
        "{reply}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_every_session_and_does_not_wait_for_a_stalled_request() {
    let server = Server::start(ServeConfig {
        max_sessions: 512,
        shutdown_timeout: Duration::from_secs(2),
        ..ServeConfig::default()
    })
    .await;
    let mut sessions = Vec::new();
    for seed in 0..128u64 {
        let mut ws = server.connect().await;
        call_json(&mut ws, reset_msg("db_deadlock", seed, "easy", 5)).await;
        sessions.push(ws);
    }
    // A request whose headers never end, and /ready while the server runs.
    let _stalled = raw(server.addr, "POST /step HTTP/1.1\r\nHost: x\r\n").await;
    let (status, ready) = http(server.addr, "GET", "/ready", "").await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));
    // The stalled request cannot hold the server past the shutdown deadline (2 s).
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    for (i, ws) in sessions.iter_mut().enumerate() {
        let notice = recv(ws)
            .await
            .unwrap_or_else(|| panic!("session {i} got a bare EOF"));
        assert_eq!(notice["data"]["code"], "SESSION_ERROR", "session {i}");
        assert_eq!(close_code(ws).await, Some(1001), "session {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_says_when_the_server_is_full() {
    let server = Server::start(ServeConfig {
        max_sessions: 1,
        ..ServeConfig::default()
    })
    .await;
    let mut ws = server.connect().await;
    call_json(&mut ws, reset_msg("db_deadlock", 1, "easy", 5)).await;
    let (status, ready) = http(server.addr, "GET", "/ready", "").await;
    assert_eq!(
        (status, ready["status"].as_str()),
        (503, Some("at capacity"))
    );
    let (status, _) = http(server.addr, "GET", "/health", "").await;
    assert_eq!(status, 200, "/health stays liveness");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_stop_the_server_within_its_deadline_and_a_second_one_at_once() {
    for (deadline, signals) in [("1", 1), ("600", 2)] {
        let (mut child, port) = serve_process(
            &["--quiet", "--shutdown-timeout", deadline],
            std::process::Stdio::null(),
        )
        .await;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let _stalled = raw(
            addr,
            "POST /reset HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",
        )
        .await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        call_json(&mut ws, reset_msg("db_deadlock", 1, "easy", 5)).await;
        for _ in 0..signals {
            std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let notice = recv(&mut ws).await.expect("the session is told");
        assert_eq!(notice["data"]["code"], "SESSION_ERROR");
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "still running after {signals} signal(s) with a {deadline} s deadline"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if signals == 2 {
            assert_eq!(status.code(), Some(143));
        } else {
            assert!(status.success(), "{status:?}");
        }
    }
}

/// Opens a WebSocket with an `Origin` header; the HTTP status of the handshake.
async fn ws_status_with_origin(addr: SocketAddr, origin: Option<&str>) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(o) = origin {
        request.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_origins_are_checked() {
    let server = Server::start(ServeConfig {
        allowed_origins: vec!["http://localhost:3000".to_owned()],
        ..ServeConfig::default()
    })
    .await;
    let addr = server.addr;
    assert_eq!(
        ws_status_with_origin(addr, None).await,
        101,
        "no Origin: not a browser"
    );
    assert_eq!(
        ws_status_with_origin(addr, Some(&format!("http://{addr}"))).await,
        101
    );
    assert_eq!(
        ws_status_with_origin(addr, Some("http://localhost:3000")).await,
        101
    );
    assert_eq!(
        ws_status_with_origin(addr, Some("https://evil.example")).await,
        403
    );
    server.stop().await;
}

/// GET `path` as text.
async fn http_text(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_sessions_messages_steps_and_errors() {
    let server = Server::quiet().await;
    let mut ws = server.connect().await;
    call_json(&mut ws, reset_msg("db_deadlock", 1, "easy", 5)).await;
    call(
        &mut ws,
        r#"{"type": "step", "data": {"action_type": "noop"}}"#,
    )
    .await;
    call(
        &mut ws,
        r#"{"type": "step", "data": {"action_type": "restart", "target": "db"}}"#,
    )
    .await;
    call(
        &mut ws,
        r#"{"type": "step", "data": {"action_type": "reboot"}}"#,
    )
    .await;
    call(&mut ws, "{oops").await;
    let (status, text) = http_text(server.addr, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "chaosops_sessions_open 1",
        r#"chaosops_messages_total{type="reset",outcome="ok"} 1"#,
        r#"chaosops_messages_total{type="step",outcome="ok"} 2"#,
        r#"chaosops_messages_total{type="step",outcome="error"} 1"#,
        r#"chaosops_messages_total{type="invalid",outcome="error"} 1"#,
        r#"chaosops_errors_total{code="INVALID_JSON"} 1"#,
        r#"chaosops_errors_total{code="VALIDATION_ERROR"} 1"#,
        r#"chaosops_steps_total{episode="ended"} 1"#,
        r#"chaosops_steps_total{episode="ongoing"} 1"#,
        "chaosops_step_seconds_count 2",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
    let _ = ws.close(None).await;
    drop(ws);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, text) = http_text(server.addr, "/metrics").await;
    assert!(text.contains("chaosops_sessions_open 0"), "{text}");
    assert!(
        text.contains(r#"chaosops_sessions_ended_total{reason="closed by the client"} 1"#),
        "{text}"
    );
    server.stop().await;
}

/// The resident set size of process `pid`, in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_of_closed_sessions_is_given_back() {
    let (mut child, port) = serve_process(&["--quiet"], std::process::Stdio::null()).await;
    let pid = child.id();
    let before = rss_kib(pid);
    // Twelve long episodes whose chats make megabyte-sized states, each fetched twice.
    let message = "m".repeat(2000);
    let mut sessions = Vec::new();
    for seed in 0..12u64 {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
            .await
            .unwrap();
        call_json(&mut ws, reset_msg("memory_leak", seed, "easy", 1000)).await;
        for _ in 0..500 {
            let step = json!({"type": "step", "data": {"action_type": "communicate", "args": {"message": message}}});
            call_json(&mut ws, step).await;
        }
        for _ in 0..2 {
            let state = call(&mut ws, r#"{"type": "state"}"#).await;
            assert_eq!(state["data"]["chat_history"].as_array().unwrap().len(), 500);
        }
        sessions.push(ws);
    }
    let peak = rss_kib(pid);
    for mut ws in sessions {
        let _ = ws.close(None).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        peak > before + 12 * 1024,
        "the episodes did hold memory: {before} -> {peak} KiB"
    );
    assert!(
        after < before + 8 * 1024,
        "closed sessions still hold memory: {before} KiB at start, {peak} KiB at peak, {after} KiB after"
    );
}

#[test]
fn absurd_serve_options_are_refused_naming_the_value() {
    for (flag, value, expected) in [
        (
            "--idle-timeout",
            "1e-12",
            "--idle-timeout 0.000000000001 is out of range; allowed: 0.1..=86400 seconds",
        ),
        ("--send-timeout", "0", "--send-timeout 0 is out of range"),
        (
            "--header-timeout",
            "nan",
            "--header-timeout NaN is out of range",
        ),
        (
            "--shutdown-timeout",
            "1e9",
            "--shutdown-timeout 1000000000 is out of range",
        ),
        (
            "--max-connections",
            "0",
            "--max-connections 0 is out of range",
        ),
    ] {
        let out = crate::chaosops(&["serve", "--port", "0", flag, value], b"");
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{flag} {value}: {err}");
    }
}

/// A model configured on the server plays the seats a reset's team names `llm`: its turns
/// block on HTTP off the async workers, and the page's menus offer it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_may_seat_the_servers_model() {
    let (mock, requests) = crate::llm::start_mock();
    let llm = chaosops_cli::llm_policy::LlmConfig {
        provider: chaosops_cli::llm_policy::Provider::Openai,
        endpoint: format!("http://{mock}/v1"),
        model: "mock".to_owned(),
        api_key: None,
        timeout: Duration::from_secs(10),
        attempts: 3,
        max_tokens: 64,
        temperature: 0.0,
        failures: Default::default(),
    };
    let server = Server::start(ServeConfig {
        llm: Some(std::sync::Arc::new(llm)),
        ..ServeConfig::default()
    })
    .await;
    let (_, catalog) = http(server.addr, "GET", "/web/catalog", "").await;
    assert_eq!(
        catalog["policies"],
        json!(["oracle", "heuristic", "random", "noop", "llm"])
    );
    let mut ws = server.connect().await;
    let mut reply = call_json(
        &mut ws,
        json!({"type": "reset", "data": {"failure_type": "db_deadlock", "seed": 1,
               "team": {"sre": "llm", "dev": "llm", "oversight": "noop", "manager": "noop"},
               "spectate": true}}),
    )
    .await;
    let mut actions = Vec::new();
    while reply["data"]["done"] != true {
        reply = call_json(&mut ws, json!({"type": "step", "data": {"auto": true}})).await;
        assert_eq!(reply["type"], "observation", "{reply}");
        actions.push(reply["data"]["turns"][0]["action"]["action_type"].clone());
    }
    // The mock's SRE declares the root cause (after one reply of prose) and its Dev restarts db.
    assert_eq!(actions, ["identify_root_cause", "noop", "restart"]);
    assert_eq!(reply["data"]["state"]["resolved"], true);
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 3);
    server.stop().await;

    // Without a model, `llm` is neither offered nor accepted.
    let plain = Server::quiet().await;
    let (_, catalog) = http(plain.addr, "GET", "/web/catalog", "").await;
    assert_eq!(
        catalog["policies"],
        json!(["oracle", "heuristic", "random", "noop"])
    );
    let mut ws = plain.connect().await;
    let refused = call_json(&mut ws, json!({"type": "reset", "data": {"team": "llm"}})).await;
    assert!(
        refused["data"]["message"]
            .as_str()
            .unwrap()
            .contains("--endpoint and --model"),
        "{refused}"
    );
    plain.stop().await;
}

/// The web interface: `/` sends browsers to `/web`, whose page is embedded and needs
/// nothing from elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_interface_is_served_from_the_binary() {
    let server = Server::quiet().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut head = String::new();
    stream.read_to_string(&mut head).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 307"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("location: /web\r\n"),
        "{head}"
    );
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /web HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).await.unwrap();
    assert!(page.contains("content-type: text/html"), "{}", &page[..300]);
    assert!(page.contains("<title>ChaosOps</title>"));
    // Offline: no script, style or font is fetched from another host.
    for attr in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!page.contains(attr), "the page loads {attr}...");
    }
    let (status, catalog) = http(server.addr, "GET", "/web/catalog", "").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = catalog["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let registry = chaosops_cli::registry().unwrap();
    assert_eq!(ids, registry.ids().collect::<Vec<_>>());
    assert_eq!(
        catalog["roles"],
        json!(["sre", "oversight", "dev", "manager"])
    );
    server.stop().await;
}
