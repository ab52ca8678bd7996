//! The server load benchmark (`chaosops bench --server`): N WebSocket clients on loopback,
//! each playing episodes in turn.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

/// The result of one load level.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// Concurrent clients.
    pub clients: usize,
    /// Steps answered in all.
    pub steps: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Steps per second over all clients.
    pub steps_per_sec: f64,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(rename = "type")]
    kind: String,
    data: ReplyData,
}

#[derive(Deserialize)]
struct ReplyData {
    #[serde(default)]
    done: bool,
    #[serde(default)]
    message: Option<String>,
}

const STEP: &str = r#"{"type":"step","data":{"action_type":"noop"}}"#;

/// One client: hard episodes of 25 noop steps over the built-in failures until `steps` steps.
async fn client(addr: SocketAddr, index: usize, steps: u64) -> Result<u64, String> {
    let url = format!("ws://{addr}/ws");
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .map_err(|e| format!("connect {url}: {e}"))?;
    let mut done_steps = 0;
    let mut episode = 0u64;
    while done_steps < steps {
        let failure = chaosops_failures::BUILTIN_IDS
            [(index + episode as usize) % chaosops_failures::BUILTIN_IDS.len()];
        let reset = format!(
            r#"{{"type":"reset","data":{{"failure_type":"{failure}","seed":{},"difficulty":"hard","max_steps":25}}}}"#,
            index as u64 * 1_000_000 + episode
        );
        episode += 1;
        let mut message = reset;
        loop {
            ws.send(Message::Text(message.as_str().into()))
                .await
                .map_err(|e| e.to_string())?;
            let reply = loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => break t,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.to_string()),
                    None => return Err("server closed the connection".to_owned()),
                }
            };
            let reply: Reply = serde_json::from_str(reply.as_str()).map_err(|e| e.to_string())?;
            if reply.kind == "error" {
                return Err(reply.data.message.unwrap_or_default());
            }
            if message.as_str() == STEP {
                done_steps += 1;
            }
            if reply.data.done || done_steps >= steps {
                break;
            }
            message = STEP.to_owned();
        }
    }
    let _ = ws.send(Message::Text(r#"{"type":"close"}"#.into())).await;
    Ok(done_steps)
}

/// Runs `clients` concurrent clients against `addr` for `total_steps` steps in all.
pub async fn run(addr: SocketAddr, clients: usize, total_steps: u64) -> Result<LoadReport, String> {
    let per_client = total_steps.div_ceil(clients as u64).max(1);
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|i| tokio::spawn(client(addr, i, per_client)))
        .collect();
    let mut steps = 0;
    for h in handles {
        steps += h.await.map_err(|e| e.to_string())??;
    }
    let seconds = start.elapsed().max(Duration::from_nanos(1)).as_secs_f64();
    Ok(LoadReport {
        clients,
        steps,
        seconds,
        steps_per_sec: steps as f64 / seconds,
    })
}
