//! WebSocket `GET /api/tickets/live`: a snapshot on connect, then every
//! committed change in commit order. A subscriber that falls behind the hub's
//! bound gets a fresh snapshot; one that stops reading (a send blocks past
//! `SEND_TIMEOUT`) or stops answering pings is dropped. Inbound messages are
//! capped small and otherwise ignored.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use warp::ws::{Message, WebSocket, Ws};

use crate::actors::Core;

/// Largest inbound message a client may send.
pub const MAX_INBOUND: usize = 4 * 1024;
/// How often idle connections are pinged.
const PING_EVERY: Duration = Duration::from_secs(20);
/// How long one send may block before the client counts as not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Upgrades the request and runs the session.
pub fn upgrade(ws: Ws, core: Arc<Core>) -> warp::reply::Response {
    use warp::Reply as _;
    ws.max_message_size(MAX_INBOUND)
        .max_frame_size(MAX_INBOUND)
        .on_upgrade(move |socket| session(socket, core))
        .into_response()
}

fn snapshot_message(tickets: &[crate::domain::Ticket]) -> Message {
    let tickets: Vec<_> = tickets.iter().map(crate::views::ticket).collect();
    Message::text(json!({"type": "snapshot", "tickets": tickets}).to_string())
}

async fn session(socket: WebSocket, core: Arc<Core>) {
    let (mut tx, mut rx) = socket.split();
    let (tickets, mut changes) = core.read_model.subscribe();
    if send(&mut tx, snapshot_message(&tickets)).await.is_err() {
        return;
    }
    drop(tickets);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            change = changes.recv() => {
                let message = match change {
                    Ok(bytes) => match std::str::from_utf8(&bytes) {
                        Ok(text) => Message::text(text),
                        Err(_) => continue,
                    },
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "live subscriber lagged; resynchronising");
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
                Some(Ok(m)) if m.is_pong() => awaiting_pong = false,
                Some(Ok(m)) if m.is_close() => break,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            _ = ping.tick() => {
                if awaiting_pong {
                    tracing::debug!("live subscriber stopped answering pings; dropping");
                    break;
                }
                awaiting_pong = true;
                if send(&mut tx, Message::ping(Vec::new())).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = tx.close().await;
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
