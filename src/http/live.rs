//! WebSockets `GET /api/tickets/live` and `GET /api/events/:id/live`: a
//! snapshot on connect, then every committed change in commit order. A
//! subscriber that falls behind the hub's bound gets a fresh snapshot; one
//! that stops reading (a message not sent within `SEND_TIMEOUT`) or stops
//! answering pings is dropped. Inbound messages are capped small and
//! otherwise ignored. An event's feed ends when the event is deleted: the
//! hub sends `{"type":"deleted"}` and closes the topic, and the session
//! closes once it has delivered everything.
//!
//! The upgrade is done here with tokio-tungstenite rather than warp's `ws()`
//! so each socket gets small buffers (tungstenite's default 128 KiB read
//! buffer would cost ~650 MiB at 5,000 subscribers) and every message is sent
//! from the hub's shared bytes: a message is cut into frames of at most
//! `FRAGMENT` bytes, each a slice of those bytes, so a socket's write buffer
//! holds one frame, never its own copy of a snapshot of any size.
//!
//! The upgrade ([`accept`]), the pings ([`Keepalive`]) and the framing
//! ([`send_text`]) serve the waiting room's socket too
//! ([`super::queue_live`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use warp::http::{HeaderValue, Method, Request, StatusCode};
use warp::Reply as _;

use super::error::ApiError;
use super::slots::Slot;
use crate::actors::live::{Snapshot, Subscription, Topic};
use crate::actors::Live;
use crate::domain::EventId;

/// The path of the tickets' live feed.
pub const PATH: &str = "/api/tickets/live";
/// What an event's feed says when the event is gone: sent by the session
/// itself when it finds the event gone on a resynchronisation (it may have
/// missed the hub's own).
const EVENT_DELETED: &str = r#"{"type":"deleted"}"#;
/// Largest inbound message a client may send.
pub const MAX_INBOUND: usize = 4 * 1024;
/// How often an idle session is pinged: every third of the connection idle
/// timeout (so an answering client is never cut off), at most every 20 s.
pub fn ping_interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 3).clamp(Duration::from_millis(100), Duration::from_secs(20))
}
/// How long one message (a snapshot whole, of any size) may take to send
/// before the client counts as not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest frame sent. A socket's write buffer keeps the capacity of the
/// largest frame it ever held, so this is also what each session keeps.
const FRAGMENT: usize = 16 * 1024;

/// Which feed a live path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// `/api/tickets/live`.
    Tickets,
    /// `/api/events/:id/live`; `None` when the id cannot be one.
    Event(Option<EventId>),
    /// `/api/events/:id/queue/live`, the caller's place in the waiting
    /// room (see [`super::queue_live`]); `None` when the id cannot be one.
    Queue(Option<EventId>),
}

impl Feed {
    /// The feed at `path`, if it is a live path.
    fn of(path: &str) -> Option<Self> {
        if path == PATH {
            return Some(Feed::Tickets);
        }
        let rest = path.strip_prefix("/api/events/")?;
        if let Some(id) = rest.strip_suffix("/queue/live") {
            return (!id.contains('/')).then(|| Feed::Queue(id.parse().ok()));
        }
        let id = rest.strip_suffix("/live")?;
        (!id.contains('/')).then(|| Feed::Event(id.parse().ok()))
    }
}

/// A fresh subscription to `topic`; `None` when it is an event that is gone.
fn resubscribe(live: &Live, topic: Topic) -> Option<Subscription> {
    match topic {
        Topic::Tickets => Some(live.subscribe(topic)),
        Topic::Event(id) => live.subscribe_event(id),
    }
}

/// The feed `req` asks to upgrade to a WebSocket, if it does.
pub fn upgrade_feed(req: &Request<Incoming>) -> Option<Feed> {
    let upgrade = req.method() == Method::GET
        && req
            .headers()
            .get("upgrade")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    upgrade.then(|| Feed::of(req.uri().path())).flatten()
}

fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        // Clients send nothing but pongs and a close: a small read chunk.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        // One frame, and a control frame queued behind it.
        .max_write_buffer_size(2 * FRAGMENT)
        .max_message_size(Some(MAX_INBOUND))
        .max_frame_size(Some(MAX_INBOUND))
}

/// Answers the upgrade of the tickets' feed (101) and runs its session once
/// the connection is handed over. `slot` is the connection's, held until
/// the session ends.
#[utoipa::path(get, path = "/api/tickets/live", tag = "tickets", operation_id = "liveTickets",
    description = "WebSocket. On connect: `{\"type\":\"snapshot\",\"tickets\":[Ticket]}`; then every committed change as `{\"type\":\"ticket\",\"ticket\":Ticket}` and deletions as `{\"type\":\"deleted\",\"id\":...}`, in commit order. A client that falls behind gets a fresh snapshot.",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "An upgrade without Sec-WebSocket-Key or version 13", body = crate::views::ErrorBody),
        (status = 404, description = "Not an upgrade (no `Upgrade: websocket`): no such route", body = crate::views::ErrorBody)
    ))]
pub fn tickets(
    req: Request<Incoming>,
    live: Live,
    slot: Arc<Slot>,
    ping_every: Duration,
) -> warp::reply::Response {
    let subscription = live.subscribe(Topic::Tickets);
    accept(req, slot, move |socket| {
        session(socket, live, Topic::Tickets, subscription, ping_every)
    })
}

/// Answers the upgrade of event `id`'s seat map (101, or 404 before any
/// upgrade for an id that cannot be one or an event that does not exist)
/// and runs its session once the connection is handed over.
#[utoipa::path(get, path = "/api/events/{id}/live", tag = "events", operation_id = "liveEvent",
    description = "WebSocket. On connect: `{\"type\":\"snapshot\",\"event\":Event,\"seats\":[Ticket]}` (seats in map order); then every committed change as `{\"type\":\"seats\",\"seats\":[Ticket]}` (all the seats of one order in one message), and `{\"type\":\"deleted\"}` when the event is deleted, after which the server closes. A client that falls behind gets a fresh snapshot.",
    params(("id" = crate::views::Id, Path, description = "Event id (any other shape is no such event: 404)")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "An upgrade without Sec-WebSocket-Key or version 13", body = crate::views::ErrorBody),
        (status = 404, description = "No such event, or not an upgrade (no `Upgrade: websocket`)", body = crate::views::ErrorBody)
    ))]
pub fn event(
    req: Request<Incoming>,
    id: Option<EventId>,
    live: Live,
    slot: Arc<Slot>,
    ping_every: Duration,
) -> warp::reply::Response {
    let Some((id, subscription)) = id.and_then(|id| Some((id, live.subscribe_event(id)?))) else {
        return ApiError::NotFound.into_response();
    };
    accept(req, slot, move |socket| {
        session(socket, live, Topic::Event(id), subscription, ping_every)
    })
}

/// A live session's socket, once the connection is handed over.
pub(super) type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Answers the upgrade (101) and, once the connection is handed over,
/// runs `run` on the socket (with small buffers: see the module's doc).
/// `slot` is the connection's, held until the session ends. An upgrade
/// without `Sec-WebSocket-Key` or version 13 is a 400.
pub(super) fn accept<F, Fut>(
    mut req: Request<Incoming>,
    slot: Arc<Slot>,
    run: F,
) -> warp::reply::Response
where
    F: FnOnce(Socket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
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
                run(socket).await;
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

/// Pings an idle session every `ping_every` and notices when the client
/// stopped answering; shared by every live session.
pub(super) struct Keepalive {
    ping: tokio::time::Interval,
    awaiting_pong: bool,
}

/// What a session does after an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inbound {
    /// Carry on.
    Continue,
    /// The client left, closed, or broke the protocol: end the session.
    End,
}

impl Keepalive {
    /// Pings every `ping_every`, the first one after `ping_every`.
    pub(super) async fn new(ping_every: Duration) -> Self {
        let mut ping = tokio::time::interval(ping_every);
        ping.tick().await;
        Keepalive {
            ping,
            awaiting_pong: false,
        }
    }

    /// Waits for the next ping due.
    pub(super) async fn due(&mut self) {
        self.ping.tick().await;
    }

    /// Sends the ping due; `Err` when the last one went unanswered (the
    /// session is dropped) or the ping could not be sent.
    pub(super) async fn ping<S>(&mut self, tx: &mut S) -> Result<(), WsError>
    where
        S: futures_util::Sink<Message, Error = WsError> + Unpin,
    {
        if self.awaiting_pong {
            tracing::debug!("live subscriber stopped answering pings; dropping");
            metrics::counter!("live_dropped_total", "reason" => "no pong").increment(1);
            return Err(WsError::Io(std::io::ErrorKind::TimedOut.into()));
        }
        self.awaiting_pong = true;
        send(
            tx,
            Message::Ping(Default::default()),
            Instant::now() + SEND_TIMEOUT,
        )
        .await
    }

    /// Takes in what the client sent (only pongs and closes matter).
    pub(super) fn inbound(&mut self, msg: Option<Result<Message, WsError>>) -> Inbound {
        match msg {
            Some(Ok(Message::Pong(_))) => self.awaiting_pong = false,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Inbound::End,
            Some(Ok(_)) => {}
        }
        Inbound::Continue
    }
}

/// Runs one live session on `topic`, from `subscription`, until the client
/// leaves, stops reading or answering pings, the topic ends (its event
/// deleted), or the server shuts down.
async fn session<S>(
    socket: WebSocketStream<S>,
    live: Live,
    topic: Topic,
    subscription: Subscription,
    ping_every: Duration,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut tx, mut rx) = socket.split();
    let mut closing = live.closing();
    let Subscription {
        snapshot,
        mut changes,
    } = subscription;
    if !send_snapshot(&mut tx, topic, snapshot).await {
        return;
    }
    let mut keepalive = Keepalive::new(ping_every).await;
    loop {
        tokio::select! {
            change = changes.recv() => {
                let delivered = match change {
                    Ok(bytes) => send_text(&mut tx, bytes).await.is_ok(),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "live subscriber lagged; resynchronising");
                        metrics::counter!("live_resyncs_total").increment(1);
                        match resubscribe(&live, topic) {
                            Some(fresh) => {
                                changes = fresh.changes;
                                send_snapshot(&mut tx, topic, fresh.snapshot).await
                            }
                            // The event went while this client lagged: it
                            // may have missed the hub's own last word.
                            None => {
                                let _ = send_text(&mut tx, Bytes::from_static(EVENT_DELETED.as_bytes())).await;
                                break;
                            }
                        }
                    }
                    // The topic ended (its event deleted) and everything
                    // sent before was delivered.
                    Err(RecvError::Closed) => break,
                };
                if !delivered {
                    break;
                }
            }
            inbound = rx.next() => if keepalive.inbound(inbound) == Inbound::End {
                break;
            },
            _ = keepalive.due() => if keepalive.ping(&mut tx).await.is_err() {
                break;
            },
            _ = closing.changed() => break,
        }
    }
    close(tx).await;
}

/// Closes a session's sending half. A client that stopped reading cannot
/// take a close frame either: it gets a moment, not another full send
/// timeout.
pub(super) async fn close<S>(mut tx: S)
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let _ = tokio::time::timeout(Duration::from_secs(1), tx.close()).await;
}

/// Closes a session's sending half with `code` and `reason` in the close
/// frame (within the same moment as [`close`]), for a client that should
/// know why the server ended it.
pub(super) async fn close_with<S>(mut tx: S, code: u16, reason: &'static str)
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    let _ =
        tokio::time::timeout(Duration::from_secs(1), tx.send(Message::Close(Some(frame)))).await;
    close(tx).await;
}

/// Sends `snapshot` once it is encoded; whether it was delivered. A failure
/// is logged and counted: the client is left without the feed's state, and
/// its session ends.
async fn send_snapshot<S>(tx: &mut S, topic: Topic, snapshot: Snapshot) -> bool
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    match snapshot.bytes().await {
        None => tracing::warn!(
            topic = topic.kind(),
            "live snapshot could not be encoded; session dropped"
        ),
        Some(bytes) => {
            let size = bytes.len();
            match send_text(tx, bytes).await {
                Ok(()) => return true,
                Err(e) => tracing::warn!(
                    topic = topic.kind(),
                    bytes = size,
                    error = %e,
                    "live snapshot not delivered; session dropped"
                ),
            }
        }
    }
    metrics::counter!("live_snapshot_failures_total", "topic" => topic.kind()).increment(1);
    false
}

/// Sends `text` (JSON, so valid UTF-8: not checked again per subscriber) as
/// one WebSocket text message, cut into frames of at most `FRAGMENT` bytes,
/// each a slice of the shared `text`: the socket copies one frame at a time
/// into its write buffer. The whole message must go within `SEND_TIMEOUT`.
pub(super) async fn send_text<S>(tx: &mut S, text: Bytes) -> Result<(), WsError>
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let deadline = Instant::now() + SEND_TIMEOUT;
    let frames = text.len().div_ceil(FRAGMENT).max(1);
    for i in 0..frames {
        let part = text.slice(i * FRAGMENT..text.len().min((i + 1) * FRAGMENT));
        let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
        let frame = Frame::message(part, opcode, i + 1 == frames);
        send(tx, Message::Frame(frame), deadline).await?;
    }
    Ok(())
}

/// Sends one message, giving up at `deadline`.
async fn send<S>(tx: &mut S, message: Message, deadline: Instant) -> Result<(), WsError>
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    timeout_at(deadline, tx.send(message))
        .await
        .map_err(|_| WsError::Io(std::io::ErrorKind::TimedOut.into()))?
}
