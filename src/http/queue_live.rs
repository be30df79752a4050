//! WebSocket `GET /api/events/:id/queue/live`: the caller's entry in an
//! event's waiting room now, then each time it changes. 401 without a
//! session (cookie or Bearer) and 404 for no such event or no entry, both
//! before the upgrade.
//!
//! The line shares one signal of how far it moved, sent at most once a
//! second, and signals each watched account's own changes at once; each
//! session wakes on both, computes its own entry and sends it only when it
//! differs from the last one sent: at most once per `AT_MOST_EVERY` while
//! waiting (a line that moves a hundred times a second costs each watcher
//! one wake-up and one message a second), except that a change of the
//! caller's own status (an admission) goes at once; and at least every
//! `AT_LEAST_EVERY` while waiting, so a client can tell a quiet line from a
//! dead connection. The session ends at
//! shutdown, when the client leaves or stops answering, when the line is
//! gone (its event deleted), and when the caller's session ends (signed out
//! or expired: close code [`SESSION_ENDED`], since the entry and its pass
//! are the account's). A cookie-authenticated upgrade from another origin
//! is refused (403), as a cookie-authenticated write is. Upgrade, pings and
//! framing are `live`'s.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use hyper::body::Incoming;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use warp::http::Request;

use super::auth;
use super::error::ApiError;
use super::live::{self, Inbound, Keepalive, Socket};
use super::slots::Slot;
use super::State;
use crate::actors::line::MOVED_EVERY;
use crate::actors::Watch;
use crate::domain::EventId;
use crate::views::QueueEntryView;

/// A waiting entry is sent at most this often, however fast the line moves
/// (which the line signals no more often than that).
const AT_MOST_EVERY: Duration = MOVED_EVERY;
/// A waiting entry is sent at least this often, changed or not.
const AT_LEAST_EVERY: Duration = Duration::from_secs(10);
/// The status of an entry still in line.
const WAITING: &str = "waiting";
/// The close code when the caller's session ends (signed out or expired):
/// IANA's "Unauthorized", as a request on that session would now get 401.
pub const SESSION_ENDED: u16 = 3000;

/// Answers the upgrade of the caller's watch on event `id`'s line (101;
/// 403, 401 or 404 before any upgrade) and runs its session once the
/// connection is handed over.
#[utoipa::path(get, path = "/api/events/{id}/queue/live", tag = "queue", operation_id = "liveQueueEntry",
    description = "WebSocket. The caller's entry now, then each time it changes (at most about once a second while waiting, an admission at once; at least every 10 s while waiting); each message is the entry object itself. The server closes when the event is deleted, and with close code 3000 (Unauthorized) when the caller's session is signed out or expires. A cookie-authenticated upgrade with an `Origin` other than the server's own is refused (403).",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    params(("id" = crate::views::Id, Path, description = "Event id (any other shape is no such event: 404)")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; messages are QueueEntry objects", body = QueueEntryView),
        (status = 400, description = "An upgrade without Sec-WebSocket-Key or version 13", body = crate::views::ErrorBody),
        (status = 401, description = "Not signed in", body = crate::views::ErrorBody),
        (status = 403, description = "Cookie-authenticated upgrade from another origin", body = crate::views::ErrorBody),
        (status = 404, description = "No such event, the caller is not in its line, or not an upgrade (no `Upgrade: websocket`)", body = crate::views::ErrorBody)
    ))]
pub fn upgrade(
    req: Request<Incoming>,
    id: Option<EventId>,
    state: &State,
    slot: Arc<Slot>,
    ping_every: Duration,
) -> warp::reply::Response {
    if let Err(e) = auth::check_upgrade_origin(&req, state.origin) {
        return e.into_response();
    }
    let Some(caller) = state.tokens.caller_of(req.headers()) else {
        return ApiError::Unauthorized.into_response();
    };
    let watch = id
        .ok_or(ApiError::NotFound)
        .and_then(|id| Ok(state.queue.watch(id, caller.user_id)?));
    let watch = match watch {
        Ok(watch) => watch,
        Err(e) => return e.into_response(),
    };
    let closing = state.live.closing();
    let ended = state.tokens.session_end(&caller);
    live::accept(req, slot, move |socket| {
        session(socket, watch, closing, ended, ping_every)
    })
}

/// The last entry sent, and when.
struct Sent {
    entry: QueueEntryView,
    at: Instant,
}

impl Sent {
    /// When `entry`, just computed, is due to be sent: `None` when it is
    /// the one sent; at once for a new status; else once `AT_MOST_EVERY`
    /// has passed since the last message.
    fn due(&self, entry: &QueueEntryView) -> Option<Instant> {
        if *entry == self.entry {
            None
        } else if entry.status != self.entry.status {
            Some(Instant::now())
        } else {
            Some(self.at + AT_MOST_EVERY)
        }
    }

    /// When the entry is sent again unchanged: only while waiting.
    fn heartbeat(&self) -> Option<Instant> {
        (self.entry.status == WAITING).then_some(self.at + AT_LEAST_EVERY)
    }
}

/// Sends `entry`; what was sent, or `None` when the client is gone.
async fn push<S>(tx: &mut S, entry: QueueEntryView) -> Option<Sent>
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let bytes = serde_json::to_vec(&entry).ok()?;
    live::send_text(tx, bytes.into()).await.ok()?;
    Some(Sent {
        entry,
        at: Instant::now(),
    })
}

/// Waits until the line moved or the caller's own entry changed; an error
/// when the line's signals are gone.
async fn signalled(watch: &mut Watch) -> Result<(), tokio::sync::watch::error::RecvError> {
    let signals = &mut watch.signals;
    tokio::select! {
        moved = signals.moved.changed() => moved,
        own = signals.own.changed() => own,
    }
}

/// Runs one watch until the client leaves or stops answering pings, the
/// line is gone, the caller's session `ended`, or the server shuts down.
async fn session(
    socket: Socket,
    mut watch: Watch,
    mut closing: tokio::sync::watch::Receiver<bool>,
    ended: impl Future<Output = ()>,
    ping_every: Duration,
) {
    let (mut tx, mut rx) = socket.split();
    let mut ended = pin!(ended);
    watch.signals.moved.mark_unchanged();
    watch.signals.own.mark_unchanged();
    // Signed out between the upgrade and now: not even the first entry.
    if (&mut ended).now_or_never().is_some() {
        live::close_with(tx, SESSION_ENDED, "Session ended").await;
        return;
    }
    let Some(entry) = watch.entry() else {
        live::close(tx).await;
        return;
    };
    let Some(mut sent) = push(&mut tx, entry).await else {
        return;
    };
    let mut keepalive = Keepalive::new(ping_every).await;
    // A changed entry held back by `AT_MOST_EVERY`, due then.
    let mut held: Option<Instant> = None;
    loop {
        let wake = held.into_iter().chain(sent.heartbeat()).min();
        let far = Instant::now() + AT_LEAST_EVERY;
        tokio::select! {
            // A session that ended is not sent what changed at the same
            // moment.
            biased;
            () = &mut ended => {
                live::close_with(tx, SESSION_ENDED, "Session ended").await;
                return;
            }
            changed = signalled(&mut watch) => {
                if changed.is_err() {
                    break;
                }
                let Some(entry) = watch.entry() else { break };
                match sent.due(&entry) {
                    Some(at) if at <= Instant::now() => match push(&mut tx, entry).await {
                        Some(s) => (sent, held) = (s, None),
                        None => break,
                    },
                    Some(at) => held = Some(held.map_or(at, |h| h.min(at))),
                    None => held = None,
                }
            }
            _ = sleep_until(wake.unwrap_or(far)), if wake.is_some() => {
                let Some(entry) = watch.entry() else { break };
                held = None;
                let beat = sent.heartbeat().is_some_and(|at| at <= Instant::now());
                if beat || entry != sent.entry {
                    match push(&mut tx, entry).await {
                        Some(s) => sent = s,
                        None => break,
                    }
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
    live::close(tx).await;
}
