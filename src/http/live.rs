//! WebSocket `GET /api/tickets/live`: a snapshot on connect, then every
//! committed change in commit order. A subscriber that falls behind the hub's
//! bound gets a fresh snapshot; one that stops reading (a send blocks past
//! `SEND_TIMEOUT`) or stops answering pings is dropped. Inbound messages are
//! capped small and otherwise ignored.
//!
//! The upgrade is done here with tokio-tungstenite rather than warp's `ws()`
//! so each socket gets small buffers (tungstenite's default 128 KiB read
//! buffer would cost ~650 MiB at 5,000 subscribers) and each change is sent
//! as the same shared bytes to everyone.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use warp::http::{HeaderValue, Method, Request, StatusCode};
use warp::Reply as _;

use super::error::ApiError;
use super::slots::Slot;
use crate::actors::Core;

/// The path of the live feed.
pub const PATH: &str = "/api/tickets/live";
/// Largest inbound message a client may send.
pub const MAX_INBOUND: usize = 4 * 1024;
/// How often an idle session is pinged: every third of the connection idle
/// timeout (so an answering client is never cut off), at most every 20 s.
pub fn ping_interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 3).clamp(Duration::from_millis(100), Duration::from_secs(20))
}
/// How long one send may block before the client counts as not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `req` asks to upgrade the live feed to a WebSocket.
pub fn is_upgrade(req: &Request<Incoming>) -> bool {
    req.uri().path() == PATH
        && req.method() == Method::GET
        && req
            .headers()
            .get("upgrade")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
}

fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(MAX_INBOUND))
        .max_frame_size(Some(MAX_INBOUND))
}

/// Answers the upgrade (101) and runs the session once the connection is
/// handed over. `slot` is the connection's, held until the session ends.
#[utoipa::path(get, path = "/api/tickets/live", tag = "tickets",
    description = "WebSocket. On connect: `{\"type\":\"snapshot\",\"tickets\":[Ticket]}`; then every committed change as `{\"type\":\"ticket\",\"ticket\":Ticket}` and deletions as `{\"type\":\"deleted\",\"id\":...}`, in commit order. A client that falls behind gets a fresh snapshot.",
    responses((status = 101, description = "Switching to the WebSocket protocol"), (status = 400, description = "Not a valid WebSocket upgrade", body = super::openapi::ErrorBody)))]
pub fn accept(
    mut req: Request<Incoming>,
    core: Arc<Core>,
    slot: Arc<Slot>,
    ping_every: Duration,
) -> warp::reply::Response {
    let key = req.headers().get("sec-websocket-key").cloned();
    let version_ok = req
        .headers()
        .get("sec-websocket-version")
        .is_some_and(|v| v.as_bytes() == b"13");
    let Some(key) = key.filter(|_| version_ok) else {
        return ApiError::BadRequest(
            "A WebSocket upgrade needs Sec-WebSocket-Key and version 13".into(),
        )
        .into_response();
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let _slot = slot;
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(socket_config()),
                )
                .await;
                session(socket, core, ping_every).await;
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    });
    let mut res =
        warp::reply::with_status(warp::reply(), StatusCode::SWITCHING_PROTOCOLS).into_response();
    let headers = res.headers_mut();
    headers.insert("connection", HeaderValue::from_static("upgrade"));
    headers.insert("upgrade", HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert("sec-websocket-accept", v);
    }
    res
}

fn snapshot_message(tickets: &[crate::domain::Ticket]) -> Message {
    let tickets: Vec<_> = tickets.iter().map(crate::views::ticket).collect();
    Message::text(json!({"type": "snapshot", "tickets": tickets}).to_string())
}

async fn session<S>(socket: WebSocketStream<S>, core: Arc<Core>, ping_every: Duration)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut tx, mut rx) = socket.split();
    let mut closing = core.read_model.closing();
    let (tickets, mut changes) = core.read_model.subscribe();
    if send(&mut tx, snapshot_message(&tickets)).await.is_err() {
        return;
    }
    drop(tickets);
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            change = changes.recv() => {
                let message = match change {
                    Ok(bytes) => match Utf8Bytes::try_from(bytes) {
                        Ok(text) => Message::Text(text),
                        Err(_) => continue,
                    },
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "live subscriber lagged; resynchronising");
                        metrics::counter!("live_resyncs_total").increment(1);
                        let (tickets, fresh) = core.read_model.subscribe();
                        changes = fresh;
                        snapshot_message(&tickets)
                    }
                    Err(RecvError::Closed) => break,
                };
                if send(&mut tx, message).await.is_err() {
                    break;
                }
            }
            inbound = rx.next() => match inbound {
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if awaiting_pong {
                    tracing::debug!("live subscriber stopped answering pings; dropping");
                    metrics::counter!("live_dropped_total", "reason" => "no pong").increment(1);
                    break;
                }
                awaiting_pong = true;
                if send(&mut tx, Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            _ = closing.changed() => break,
        }
    }
    // A client that stopped reading cannot take a close frame either: give
    // it a moment, not another full send timeout.
    let _ = tokio::time::timeout(Duration::from_secs(1), tx.close()).await;
}

async fn send<S>(tx: &mut S, message: Message) -> Result<(), ()>
where
    S: futures_util::Sink<Message> + Unpin,
{
    match tokio::time::timeout(SEND_TIMEOUT, tx.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
