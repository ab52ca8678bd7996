//! The ChaosOps environment server behind `chaosops serve`: OpenEnv-compatible WebSocket
//! sessions, the stateless HTTP endpoints of OpenEnv's simulation mode, operations
//! endpoints and the web interface, on axum and tokio ([`serve`]); and what the server
//! shares with other front ends: the `llm` policy's HTTP client ([`llm_policy`]), policy
//! choices by name ([`policy`]), the JSON schemas ([`schema`]) and the reading of a typed
//! action ([`command`]).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! chaosops_failures::link();
//! chaosops_roles::link();
//! let registry = chaosops_sim::Registry::global().expect("registry");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! let config = chaosops_server::ServeConfig::default();
//! chaosops_server::serve(listener, registry, config, std::future::pending()).await
//! # }
//! ```
#![deny(missing_docs)]

pub mod command;

/// The registry with the built-in plugins linked, for this crate's tests.
#[cfg(test)]
pub(crate) fn test_registry() -> &'static Registry {
    chaosops_failures::link();
    chaosops_roles::link();
    Registry::global().expect("registry")
}
pub mod llm_policy;
pub mod log;
pub mod metrics;
mod openenv;
pub mod policy;
pub mod schema;
pub mod session;
pub mod web;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chaosops_model::Action;
use chaosops_sim::Registry;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use self::log::{Level, Log};
use self::session::{code, environment, error, Reply, ResetData, Session};
use chaosops_model::ObservationData;

/// Server limits and behaviour.
#[derive(Clone)]
pub struct ServeConfig {
    /// Concurrent WebSocket sessions allowed; one more gets `CAPACITY_REACHED` and is closed.
    pub max_sessions: usize,
    /// A session that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A reply the client has not taken within this long closes its session (a client
    /// that stopped reading must not hold a slot).
    pub send_timeout: Duration,
    /// Largest message (WebSocket text or HTTP body) handled; larger ones get an error.
    pub max_message_bytes: usize,
    /// Open HTTP connections at most (WebSocket sessions count until their upgrade);
    /// further clients wait in the listen queue.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and that an idle keep-alive
    /// connection is kept.
    pub header_timeout: Duration,
    /// Time a client has to send a request's body.
    pub body_timeout: Duration,
    /// After a shutdown signal, how long sessions and requests in flight get to finish
    /// before the server stops anyway.
    pub shutdown_timeout: Duration,
    /// Browser origins (`http://host:port`, or `*` for any) allowed to open sessions
    /// besides the server's own; a WebSocket request with another `Origin` gets 403.
    /// Clients that send no `Origin` (non-browser clients) are not affected.
    pub allowed_origins: Vec<String>,
    /// Where session starts and ends, refusals and the server's own events go.
    pub log: Log,
    /// The model behind the `llm` policy, when sessions may seat it (`"team"` at reset).
    pub llm: Option<std::sync::Arc<crate::llm_policy::LlmConfig>>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_sessions: 256,
            idle_timeout: Duration::from_secs(300),
            send_timeout: Duration::from_secs(10),
            max_message_bytes: 64 * 1024,
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
            allowed_origins: Vec::new(),
            log: Log::off(),
            llm: None,
        }
    }
}

/// Each session's transport read and write buffers: messages are small (a step is a few
/// hundred bytes), and a session holds its buffers for its whole life.
const SOCKET_BUFFER_BYTES: usize = 16 * 1024;

/// Close codes of RFC 6455 section 7.4.1 the server uses beyond axum's named ones.
mod close_codes {
    /// The peer broke the protocol (an unmasked client frame, a bad opcode...).
    pub const PROTOCOL: u16 = 1002;
    /// A text message that is not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// The client broke the server's policy (it stayed silent past the idle timeout).
    pub const POLICY: u16 = 1008;
    /// A message over `--max-message-bytes`.
    pub const TOO_BIG: u16 = 1009;
}

struct App {
    registry: &'static Registry,
    config: ServeConfig,
    active: AtomicUsize,
    next_session: AtomicU64,
    shutdown: watch::Receiver<bool>,
    schema: Bytes,
    metadata: Bytes,
    openapi: Bytes,
    catalog: Bytes,
    metrics: metrics::Metrics,
}

/// Counts a live session and logs its end, even when its task unwinds.
struct SessionGuard {
    app: Arc<App>,
    id: u64,
    peer: SocketAddr,
    steps: u64,
    reason: &'static str,
}

/// glibc's malloc keeps freed memory for reuse, and raises its mmap threshold after large
/// frees, so a burst of big replies (the state of a long episode is megabytes) would stay
/// resident after the sessions end. A fixed threshold returns large buffers on free, and a
/// trim when the last session ends returns the rest.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod allocator {
    /// Fixes the mmap threshold (called once at start).
    pub fn configure() {
        // SAFETY: mallopt only sets allocator parameters; any value is valid for these.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024);
        }
    }

    /// Returns free memory to the system.
    pub fn trim() {
        // SAFETY: malloc_trim only releases memory the allocator holds free.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod allocator {
    pub fn configure() {}
    pub fn trim() {}
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let left = self.app.active.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 {
            allocator::trim();
        }
        let reason = if std::thread::panicking() {
            "panicked"
        } else {
            self.reason
        };
        self.app.metrics.session_ended(reason);
        self.app.config.log.log(
            Level::Info,
            "session ended",
            &[
                ("session", self.id.into()),
                ("peer", self.peer.to_string().into()),
                ("reason", reason.into()),
                ("steps", self.steps.into()),
                ("active", left.into()),
            ],
        );
    }
}

/// Why a reply could not be sent.
enum SendFailed {
    /// The connection failed or the client closed it.
    Gone,
    /// The client took nothing for the whole send timeout.
    Stalled,
}

/// Sends `message`, giving up after the send timeout.
async fn send(app: &App, socket: &mut WebSocket, message: Message) -> Result<(), SendFailed> {
    match tokio::time::timeout(app.config.send_timeout, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(SendFailed::Gone),
        Err(_) => Err(SendFailed::Stalled),
    }
}

/// The shared state of one server: configuration, counters, metrics and canned replies.
fn app(
    registry: &'static Registry,
    config: ServeConfig,
    shutdown: watch::Receiver<bool>,
) -> Arc<App> {
    let schema = json!({
        "action": crate::schema::action(registry),
        "observation": crate::schema::observation(),
        "state": crate::schema::state(registry),
    });
    let metadata = json!({
        "name": "chaosops",
        "description": "A deterministic production-incident simulator: four roles (SRE, Oversight, Dev, Manager) \
                        take turns while a failure degrades a fleet; Oversight must catch rogue automation.",
        "version": env!("CARGO_PKG_VERSION"),
        "author": null,
        "documentation_url": null,
        "readme_content": null,
    });
    let catalog = Bytes::from(web::catalog(registry, config.llm.is_some()));
    Arc::new(App {
        registry,
        config,
        active: AtomicUsize::new(0),
        next_session: AtomicU64::new(1),
        shutdown,
        schema: Bytes::from(schema.to_string()),
        metadata: Bytes::from(metadata.to_string()),
        openapi: Bytes::from(openenv::openapi(registry).to_string()),
        catalog,
        metrics: metrics::Metrics::new(),
    })
}

fn routes(app: Arc<App>) -> Router {
    Router::new()
        .route("/ws", get(ws))
        .route(
            "/",
            get(|| async { axum::response::Redirect::temporary("/web") }),
        )
        .route(
            "/web",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    web::INDEX_HTML,
                )
                    .into_response()
            }),
        )
        .route(
            "/web/catalog",
            get(|State(app): State<Arc<App>>| async move {
                json_response(StatusCode::OK, app.catalog.clone())
            }),
        )
        .route(
            "/health",
            get(|| async { json_response(StatusCode::OK, r#"{"status":"healthy"}"#.into()) }),
        )
        .route(
            "/schema",
            get(|State(app): State<Arc<App>>| async move {
                json_response(StatusCode::OK, app.schema.clone())
            }),
        )
        .route(
            "/metadata",
            get(|State(app): State<Arc<App>>| async move {
                json_response(StatusCode::OK, app.metadata.clone())
            }),
        )
        .route("/ready", get(ready))
        .route(
            "/openapi.json",
            get(|State(app): State<Arc<App>>| async move {
                json_response(StatusCode::OK, app.openapi.clone())
            }),
        )
        .route("/mcp", post(http_mcp))
        .route(
            "/metrics",
            get(|State(app): State<Arc<App>>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    app.metrics.render(),
                )
                    .into_response()
            }),
        )
        .route("/state", get(http_state))
        .route("/reset", post(http_reset))
        .route("/step", post(http_step))
        .fallback(|| async {
            json_response(
                StatusCode::NOT_FOUND,
                Bytes::from(json!({"detail": "no such endpoint"}).to_string()),
            )
        })
        // Bodies are read by the handlers, within the size limit and the body timeout.
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .with_state(app)
}

/// Serves on `listener` until `shutdown` resolves, then tells every session, lets sessions
/// and requests in flight finish for at most `shutdown_timeout`, and returns.
///
/// Each connection is served by hyper with a header read timeout (which also ends idle
/// keep-alive connections) and at most `max_connections` are open at once; a connection
/// over the cap waits in the listen queue rather than taking a file descriptor.
pub async fn serve(
    listener: TcpListener,
    registry: &'static Registry,
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    allocator::configure();
    let (tx, rx) = watch::channel(false);
    let app = app(registry, config.clone(), rx.clone());
    let router = routes(app.clone());
    let permits = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment instead of spinning.
                    config.log.log(Level::Error, "accept failed", &[("error", e.to_string().into())]);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let router = router.clone();
        let mut stop = rx.clone();
        let header_timeout = config.header_timeout;
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    let mut router = router.clone();
                    async move { tower::Service::call(&mut router, request).await }
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 * 1024);
            let connection = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    config.log.log(
        Level::Info,
        "stopped accepting; ending sessions",
        &[("sessions", app.active.load(Ordering::SeqCst).into())],
    );
    let _ = tx.send(true);
    let deadline = tokio::time::Instant::now() + config.shutdown_timeout;
    let finished = tokio::time::timeout_at(deadline, async {
        while connections.join_next().await.is_some() {}
        while app.active.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    if finished.is_err() {
        config.log.log(
            Level::Warn,
            "shutdown deadline reached; dropping what is left",
            &[
                ("sessions", app.active.load(Ordering::SeqCst).into()),
                ("connections", connections.len().into()),
            ],
        );
    }
    connections.abort_all();
    Ok(())
}

/// `GET /ready`: 200 while sessions can be opened; 503 at capacity or shutting down.
async fn ready(State(app): State<Arc<App>>) -> Response {
    let active = app.active.load(Ordering::SeqCst);
    let (status, state) = if *app.shutdown.borrow() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    } else if active >= app.config.max_sessions {
        (StatusCode::SERVICE_UNAVAILABLE, "at capacity")
    } else {
        (StatusCode::OK, "ready")
    };
    json_response(
        status,
        Bytes::from(
            json!({"status": state, "sessions": active, "max_sessions": app.config.max_sessions})
                .to_string(),
        ),
    )
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// True when a request with these headers may open a session: no `Origin` (not a
/// browser), the server's own origin (same host as `Host`), or an allowed one.
fn origin_allowed(app: &App, headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if app
        .config
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

async fn ws(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&app, &headers) {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .unwrap_or("(not text)");
        app.config.log.log(
            Level::Warn,
            "refused a WebSocket from another origin",
            &[("origin", origin.into()), ("peer", peer.to_string().into())],
        );
        return json_response(
            StatusCode::FORBIDDEN,
            Bytes::from(
                json!({"detail": format!("origin {origin} may not open sessions here; start the server with --allow-origin {origin}")})
                    .to_string(),
            ),
        );
    }
    // A message over the limit is refused as its header arrives, not read first.
    let limit = app.config.max_message_bytes;
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .on_upgrade(move |socket| run_session(app, socket, peer))
}

async fn run_session(app: Arc<App>, mut socket: WebSocket, peer: SocketAddr) {
    let id = app.next_session.fetch_add(1, Ordering::Relaxed);
    let active = app.active.fetch_add(1, Ordering::SeqCst) + 1;
    app.metrics.session_opened();
    let mut guard = SessionGuard {
        app: app.clone(),
        id,
        peer,
        steps: 0,
        reason: "closed by the client",
    };
    if active > app.config.max_sessions {
        guard.reason = "refused: server full";
        let message = format!(
            "the server is at its limit of {} concurrent sessions (--max-sessions); try again later",
            app.config.max_sessions
        );
        app.metrics.error(code::CAPACITY_REACHED);
        let reply = Message::Text(error(code::CAPACITY_REACHED, &message).into());
        if send(&app, &mut socket, reply).await.is_ok() {
            close(&app, &mut socket, close_code::AGAIN, "server full").await;
        }
        return;
    }
    app.config.log.log(
        Level::Info,
        "session started",
        &[
            ("session", id.into()),
            ("peer", peer.to_string().into()),
            ("active", active.into()),
        ],
    );
    let mut shutdown = app.shutdown.clone();
    let mut session =
        Session::new(app.registry, app.config.max_message_bytes).with_llm(app.config.llm.clone());
    let mut close_with = (close_code::NORMAL, "bye");
    let mut refused_frame = false;
    loop {
        let incoming = tokio::select! {
            incoming = tokio::time::timeout(app.config.idle_timeout, socket.recv()) => incoming,
            _ = stopped(&mut shutdown) => {
                guard.reason = "server shutting down";
                close_with = (close_code::AWAY, "server shutting down");
                app.metrics.error(code::SESSION_ERROR);
                let reply = Message::Text(error(code::SESSION_ERROR, "the server is shutting down").into());
                if send(&app, &mut socket, reply).await.is_err() {
                    return;
                }
                break;
            }
        };
        let text = match incoming {
            Err(_) => {
                guard.reason = "idle timeout";
                close_with = (close_codes::POLICY, "idle timeout");
                let message = format!(
                    "no message for {} s; closing the session",
                    app.config.idle_timeout.as_secs_f64()
                );
                app.metrics.error(code::SESSION_ERROR);
                let reply = Message::Text(error(code::SESSION_ERROR, &message).into());
                if send(&app, &mut socket, reply).await.is_err() {
                    return;
                }
                break;
            }
            // The client left without a close handshake: nothing to answer.
            Ok(None) => return,
            Ok(Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Err(e))) => {
                let Some((code, reason, why)) = refusal(e) else {
                    guard.reason = "connection failed";
                    return;
                };
                guard.reason = why;
                refused_frame = true;
                app.config.log.log(
                    Level::Debug,
                    "closing a session for a protocol error",
                    &[("session", id.into()), ("reason", why.into())],
                );
                if code == close_codes::TOO_BIG {
                    let message = format!(
                        "a message is over the limit of {} bytes (--max-message-bytes); closing the session",
                        app.config.max_message_bytes
                    );
                    app.metrics.error(code::VALIDATION_ERROR);
                    let reply = Message::Text(error(code::VALIDATION_ERROR, &message).into());
                    if send(&app, &mut socket, reply).await.is_err() {
                        return;
                    }
                }
                close_with = (code, reason);
                break;
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Binary(bytes)))) => match std::str::from_utf8(&bytes) {
                Ok(text) => text.into(),
                Err(_) => {
                    let reply = error(code::INVALID_JSON, "binary message is not UTF-8 text");
                    match send(&app, &mut socket, Message::Text(reply.into())).await {
                        Ok(()) => continue,
                        Err(failed) => {
                            guard.reason = stalled_or_gone(&app, &failed, id);
                            return;
                        }
                    }
                }
            },
        };
        let started = std::time::Instant::now();
        // A model seat blocks on HTTP: its turns run off the async workers.
        let reply = if session.may_block() {
            tokio::task::block_in_place(|| session.handle(text.as_str()))
        } else {
            session.handle(text.as_str())
        };
        let handled = session.last();
        app.metrics.message(handled.kind, handled.code);
        if handled.kind == "step" && handled.code.is_none() {
            app.metrics
                .step(started.elapsed().as_secs_f64(), handled.ended);
        }
        match reply {
            Reply::Send(reply) => {
                guard.steps = session.steps();
                if let Err(failed) = send(&app, &mut socket, Message::Text(reply.into())).await {
                    guard.reason = stalled_or_gone(&app, &failed, id);
                    // A stalled client gets no close handshake: the connection is dropped.
                    return;
                }
            }
            Reply::Close => {
                guard.reason = "close requested";
                break;
            }
        }
    }
    guard.steps = session.steps();
    close(&app, &mut socket, close_with.0, close_with.1).await;
    linger(socket, refused_frame).await;
}

/// After the server's close frame: reads until the client's close frame or the end of the
/// stream, for at most a second. After a refused frame (`unread`: the rest of it may still
/// be in the socket) the stream cannot be read any more, so that second is waited out
/// before the connection is dropped: closing a connection with unread data resets it, and
/// a reset can lose the close frame the client has not read yet.
async fn linger(mut socket: WebSocket, unread: bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        match tokio::time::timeout_at(deadline, socket.recv()).await {
            Ok(Some(Ok(Message::Close(_)))) | Err(_) => return,
            Ok(Some(Ok(_))) => continue,
            Ok(None) | Ok(Some(Err(_))) => {
                if unread {
                    tokio::time::sleep_until(deadline).await;
                }
                return;
            }
        }
    }
}

/// The close code, close reason and log reason of a transport error the client caused;
/// `None` when the connection itself failed (nothing more can be sent).
fn refusal(e: axum::Error) -> Option<(u16, &'static str, &'static str)> {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = e.into_inner();
    match inner.downcast_ref::<WsError>()? {
        // The client dropped the connection: nothing to tell it.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Capacity(_) => Some((close_codes::TOO_BIG, "message too big", "message too big")),
        WsError::Utf8(_) => Some((
            close_codes::INVALID_DATA,
            "text is not UTF-8",
            "text frame not UTF-8",
        )),
        WsError::Protocol(_) => Some((close_codes::PROTOCOL, "protocol error", "protocol error")),
        _ => None,
    }
}

/// The reason a session ends when a send failed; a stalled client is logged.
fn stalled_or_gone(app: &App, failed: &SendFailed, id: u64) -> &'static str {
    match failed {
        SendFailed::Gone => "client went away",
        SendFailed::Stalled => {
            app.config.log.log(
                Level::Warn,
                "closing a session whose client stopped reading",
                &[
                    ("session", id.into()),
                    (
                        "send_timeout_s",
                        app.config.send_timeout.as_secs_f64().into(),
                    ),
                ],
            );
            "client stopped reading"
        }
    }
}

/// Sends a close frame; the peer may already be gone or stalled.
async fn close(app: &App, socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = send(app, socket, Message::Close(Some(frame))).await;
}

/// Resolves once the shutdown flag is set; never when its sender is gone without setting it.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Maps a refusal to HTTP 422 with a `detail` naming the problem.
fn unprocessable(message: &str) -> Response {
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        Bytes::from(json!({"detail": message}).to_string()),
    )
}

/// Reads a request's body within the size limit and the body timeout; refuses bodies that
/// are not declared JSON. Every refusal is a JSON `{"detail"}` with its status.
async fn read_body(app: &App, request: axum::extract::Request) -> Result<Bytes, Response> {
    let refuse = |status: StatusCode, message: String| {
        json_response(status, Bytes::from(json!({"detail": message}).to_string()))
    };
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)").to_owned());
    let limit = app.config.max_message_bytes;
    let read = axum::body::to_bytes(request.into_body(), limit);
    let body = match tokio::time::timeout(app.config.body_timeout, read).await {
        Err(_) => {
            return Err(refuse(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s",
                    app.config.body_timeout.as_secs_f64()
                ),
            ))
        }
        Ok(Err(_)) => {
            return Err(refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is over the limit of {limit} bytes (--max-message-bytes)"
                ),
            ))
        }
        Ok(Ok(body)) => body,
    };
    let json = content_type.as_deref().is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !body.iter().all(u8::is_ascii_whitespace) && !json {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "the body must be JSON with Content-Type: application/json, not {}",
                content_type.as_deref().unwrap_or("no Content-Type")
            ),
        ));
    }
    Ok(body)
}

/// Parses a JSON body; an empty body is the default value.
fn parse_body<'a, T: Deserialize<'a> + Default>(body: &'a [u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("invalid request body: expected a JSON object".to_owned());
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))
}

/// `GET /state`: as in OpenEnv's simulation mode, the state of a fresh default environment.
async fn http_state(State(app): State<Arc<App>>) -> Response {
    match environment(app.registry, &ResetData::default()) {
        Ok(env) => json_response(
            StatusCode::OK,
            Bytes::from(serde_json::to_vec(env.state()).unwrap_or_default()),
        ),
        Err((_, message)) => unprocessable(&message),
    }
}

/// `POST /reset`: a fresh environment reset with the body's parameters; nothing is kept.
async fn http_reset(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    let body = match read_body(&app, request).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let data: ResetData = match parse_body(&body) {
        Ok(d) => d,
        Err(message) => return unprocessable(&message),
    };
    match environment(app.registry, &data) {
        Ok(env) => {
            let body = serde_json::to_vec(&ObservationData {
                observation: env.observation(),
                last_step: None,
            });
            json_response(StatusCode::OK, Bytes::from(body.unwrap_or_default()))
        }
        Err((_, message)) => unprocessable(&message),
    }
}

#[derive(Deserialize, Default)]
struct StepBody {
    action: Option<Value>,
    #[serde(flatten)]
    reset: ResetData,
}

/// `POST /step`: a fresh environment (reset with any reset parameters in the body) takes the
/// one action; nothing is kept. Episodes need the WebSocket.
async fn http_step(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    let body = match read_body(&app, request).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let body: StepBody = match parse_body(&body) {
        Ok(b) => b,
        Err(message) => return unprocessable(&message),
    };
    let Some(action) = body.action else {
        return unprocessable("the body needs an \"action\" object");
    };
    let action: Action = match serde_json::from_value(action) {
        Ok(a) => a,
        Err(e) => return unprocessable(&format!("invalid action: {e}")),
    };
    let mut env = match environment(app.registry, &body.reset) {
        Ok(env) => env,
        Err((_, message)) => return unprocessable(&message),
    };
    match env.step(&action) {
        Ok(outcome) => {
            let body = serde_json::to_vec(&ObservationData {
                observation: outcome.observation,
                last_step: Some(outcome.record),
            });
            json_response(StatusCode::OK, Bytes::from(body.unwrap_or_default()))
        }
        Err(e) => unprocessable(&e.to_string()),
    }
}

/// `POST /mcp`: one JSON-RPC 2.0 request (MCP); 202 with no body for a notification.
async fn http_mcp(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    let body = match read_body(&app, request).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    match openenv::mcp(app.registry, &body) {
        Some(reply) => json_response(StatusCode::OK, Bytes::from(reply.to_string())),
        None => StatusCode::ACCEPTED.into_response(),
    }
}
