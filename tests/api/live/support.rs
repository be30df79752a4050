//! Helpers shared by the live tests: connecting, reading messages within a
//! deadline, a client-side mirror of the tickets, slow clients.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::helpers::*;

/// A client session of the live feed.
pub(super) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a live session on `app` (the handshake within 5 s).
pub(super) async fn connect(app: &TestApp) -> Ws {
    let url = format!("ws://{}/api/tickets/live", app.addr);
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .expect("websocket connect timed out")
    .expect("websocket connect");
    ws
}

/// The next JSON text message (pings and pongs skipped).
pub(super) async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no websocket message within 5 s")
            .expect("websocket closed")
            .expect("websocket error");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("message is JSON"),
            Message::Binary(b) => return serde_json::from_slice(&b).expect("message is JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected websocket message {other:?}"),
        }
    }
}

/// A client socket with small buffers, so a thousand of them stay cheap.
pub(super) fn small_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// Opens a live session with small buffers (the handshake within 20 s).
pub(super) async fn connect_small(addr: SocketAddr) -> Ws {
    let url = format!("ws://{addr}/api/tickets/live");
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(20),
        tokio_tungstenite::connect_async_with_config(url, Some(small_config()), true),
    )
    .await
    .expect("websocket connect timed out")
    .expect("websocket connect");
    ws
}

/// What the next frame of a session was.
#[derive(Debug)]
pub(super) enum Next {
    Json(Value),
    /// A close frame, the end of the stream, or a transport error.
    Ended(String),
}

/// The next JSON message or the end of the session (pings and pongs
/// skipped); panics if neither comes `within`.
pub(super) async fn next_within<S>(ws: &mut WebSocketStream<S>, within: Duration, who: &str) -> Next
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("{who}: no websocket message within {within:?}"));
        match msg {
            None => return Next::Ended("end of stream".into()),
            Some(Err(e)) => return Next::Ended(format!("error: {e}")),
            Some(Ok(Message::Close(f))) => return Next::Ended(format!("close frame {f:?}")),
            Some(Ok(Message::Text(t))) => {
                return Next::Json(serde_json::from_str(t.as_str()).expect("message is JSON"))
            }
            Some(Ok(Message::Binary(b))) => {
                return Next::Json(serde_json::from_slice(&b).expect("message is JSON"))
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// The next JSON message; panics if the session ends or nothing comes `within`.
pub(super) async fn json_within<S>(
    ws: &mut WebSocketStream<S>,
    within: Duration,
    who: &str,
) -> Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match next_within(ws, within, who).await {
        Next::Json(v) => v,
        Next::Ended(why) => panic!("{who}: session ended unexpectedly: {why}"),
    }
}

/// Waits up to `within` for the session to end (close frame, EOF or error);
/// panics if a data message or nothing arrives instead.
pub(super) async fn expect_end<S>(
    ws: &mut WebSocketStream<S>,
    within: Duration,
    who: &str,
) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match next_within(ws, within, who).await {
        Next::Ended(why) => why,
        Next::Json(v) => panic!("{who}: expected the session to end, got {v}"),
    }
}

/// Asserts that nothing but pings/pongs arrives for `quiet`.
pub(super) async fn expect_quiet(ws: &mut Ws, quiet: Duration, after: &str) {
    let deadline = tokio::time::Instant::now() + quiet;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("unexpected live message after {after}: {other:?}"),
        }
    }
}

/// A client-side copy of the tickets, built from a session's messages; every
/// message must follow from what came before: a change of a known ticket has
/// the next version, a new ticket starts at version 0, a deletion removes a
/// known ticket. A snapshot replaces everything.
#[derive(Default)]
pub(super) struct Mirror {
    /// The tickets as the messages so far describe them, by id.
    pub(super) tickets: HashMap<String, Value>,
    /// How many snapshots came.
    pub(super) snapshots: usize,
    /// How many changes (tickets and deletions) came.
    pub(super) changes: usize,
}

impl Mirror {
    /// Applies one message, asserting that it follows from those before.
    #[track_caller]
    pub(super) fn apply(&mut self, who: &str, m: &Value) {
        match m["type"].as_str() {
            Some("snapshot") => {
                let list = m["tickets"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{who}: snapshot without tickets: {m}"));
                self.tickets = list.iter().map(|t| (id_of(t), t.clone())).collect();
                assert_eq!(
                    self.tickets.len(),
                    list.len(),
                    "{who}: a ticket twice in a snapshot"
                );
                self.snapshots += 1;
            }
            Some("ticket") => {
                let t = &m["ticket"];
                let (id, v) = (id_of(t), version_of(t));
                match self.tickets.get(&id) {
                    Some(prev) => assert_eq!(
                        v,
                        version_of(prev) + 1,
                        "{who}: ticket {id} went from version {} to {v} (a change missed, \
                         repeated or out of order, without a fresh snapshot)",
                        version_of(prev)
                    ),
                    None => assert_eq!(
                        v, 0,
                        "{who}: first message about ticket {id} is not its creation: {m}"
                    ),
                }
                self.tickets.insert(id, t.clone());
                self.changes += 1;
            }
            Some("deleted") => {
                let id = m["id"].as_str().expect("deleted id");
                assert!(
                    self.tickets.remove(id).is_some(),
                    "{who}: deletion of a ticket it does not know: {m}"
                );
                self.changes += 1;
            }
            _ => panic!("{who}: unexpected live message {m}"),
        }
    }

    /// The version of ticket `id` as mirrored, if known.
    pub(super) fn version(&self, id: &str) -> Option<u64> {
        self.tickets.get(id).map(version_of)
    }
}

/// Every page of GET /api/tickets?status=any, keyed by id.
pub(super) async fn all_tickets_paged(api: &Api) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let path = match out.last() {
            None => "/api/tickets?status=any&limit=1000".to_string(),
            Some(t) => format!("/api/tickets?status=any&limit=1000&after={}", id_of(t)),
        };
        let page = api.get(&path, Auth::None).await.json(200);
        let page = page.as_array().expect("ticket list is an array").clone();
        let n = page.len();
        out.extend(page);
        if n < 1000 {
            return out;
        }
    }
}

/// A ticket list keyed by id.
pub(super) fn by_id(list: &[Value]) -> HashMap<String, Value> {
    list.iter().map(|t| (id_of(t), t.clone())).collect()
}

/// A WebSocket client over a socket with a tiny receive buffer, which the test
/// never polls after the handshake: the server's sends to it soon block.
pub(super) async fn stalled_client(addr: SocketAddr) -> WebSocketStream<tokio::net::TcpStream> {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let stream = tokio::time::timeout(Duration::from_secs(5), sock.connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::client_async_with_config(
            format!("ws://{addr}/api/tickets/live"),
            stream,
            Some(small_config()),
        ),
    )
    .await
    .expect("handshake timed out")
    .expect("handshake");
    ws
}

/// A title of exactly 200 characters, most of them 4 bytes long, so each live
/// message is about 1 KB and buffers fill fast.
pub(super) fn fat_title(w: usize, i: usize) -> String {
    let head = format!("{w}-{i}-");
    let n = 200 - head.chars().count();
    format!("{head}{}", "\u{1F3AB}".repeat(n))
}
