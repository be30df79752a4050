//! One simulated buyer of the onsale scenario: joins the waiting room
//! (early or at the on-sale), waits for admission, thinks, holds 1 to 4
//! best-available seats with its pass and pays. Everything it observed is
//! kept for the fairness check and the audit.
//!
//! It learns of its admission from the queue WebSocket's push: a watcher
//! (`--watchers`) from the start; any other buyer once it is near the front
//! (at most [`Shared::near`] ahead, and a socket of the budget free), after
//! polling its entry slowly while far back, with pauses that follow its
//! ETA. The API gives each account's socket its own entry only, so buyers
//! cannot share sockets; the near window bounds how many are open.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::time::sleep_until;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::fairness::Place;
use super::pool::Pool;
use crate::domain::Timestamp;
use crate::load::client::{connect, Outcome};
use crate::load::scenarios::event::race::{Acked, Fate};
use crate::load::scenarios::{IdOnly, Rng};
use crate::load::stats::Recorder;

/// The longest pause between two polls of a waiting buyer far back in
/// line: a crowd of 100,000 polling every 10 s would cost the server 10,000
/// requests a second, the sale's own CPU on a small machine.
const MAX_POLL: Duration = Duration::from_secs(60);
/// The shortest pause between two polls.
const MIN_POLL: Duration = Duration::from_millis(100);
/// When, after the on-sale, an early joiner first asks for the place the
/// draw gave it. A third of the crowd asks then, beside the late wave's
/// joins: the server answers that storm in about 1.25 s, so asking within
/// 50-500 ms only queued the polls in the client and took the joins' share
/// of the cores while it lasted. Spread over the storm's own length, the
/// first admitted are found as soon (poll discovery p50 519-528 ms against
/// 452-633, sell-out 1.054-1.057 against 1.060), and the joins of the late
/// wave keep their p99 (7.0-7.6 ms against 9.7-9.8; over 2 s: 6 ms, but
/// sell-out 1.085).
const FIRST_POLL: std::ops::Range<Duration> =
    Duration::from_millis(50)..Duration::from_millis(1250);
/// The longest pause while the line has no ETA yet (nothing admitted in
/// the last minute): an admission must not wait long to be noticed.
const MAX_BLIND_POLL: Duration = Duration::from_secs(1);
/// A push later than this after its admission is late (issue 15's target).
pub const PUSH_TARGET_MS: u128 = 1000;
/// Every this many buyers tries its spent pass again (it must be refused).
const REUSE_PROBE_EVERY: usize = 20;

/// A queue entry, as the API shows it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    status: String,
    position: Option<u64>,
    ahead: Option<u64>,
    eta_secs: Option<u64>,
    pass: Option<String>,
    pass_expires_at: Option<String>,
}

#[derive(Deserialize)]
struct OrderBody {
    id: String,
    tickets: Vec<IdOnly>,
}

/// What every buyer of one run shares.
pub struct Shared {
    /// The connections the joins take.
    pub joins: Pool,
    /// The late buyers' turns to join: none before the on-sale, then
    /// as many as the join connections, each handed on as a join ends, in
    /// the order the buyers queued.
    pub late_gate: tokio::sync::Semaphore,
    /// The connections of everything else (polls, orders, payments): a
    /// real crowd's polls and orders do not wait behind other people's
    /// joins in one client's queue.
    pub pool: Pool,
    /// The server, for WebSockets.
    pub addr: std::net::SocketAddr,
    /// The source address of WebSockets.
    pub bind: Option<IpAddr>,
    /// The event.
    pub event: String,
    /// The buyers' tokens.
    pub tokens: Vec<String>,
    /// When the sale opens, on this process's clock.
    pub on_sale: Instant,
    /// When every buyer gives up.
    pub deadline: Instant,
    /// The pass lifetime, to date admissions from `passExpiresAt`.
    pub pass_secs: u64,
    /// Time between admission and order.
    pub think: Duration,
    /// Buyers waiting on the WebSocket: every buyer `i` with
    /// `i * watchers % buyers < watchers`.
    pub watchers: usize,
    /// The other buyers open their socket once at most this many are
    /// ahead of them.
    pub near: usize,
    /// Sockets the near buyers may hold at once; without one, a near
    /// buyer polls at the shortest pause.
    pub near_sockets: tokio::sync::Semaphore,
    /// Latencies and counts.
    pub stats: Stats,
}

/// Latencies and counts of all buyers (one lock per request is cheap next
/// to the request).
#[derive(Default)]
pub struct Stats {
    /// The joins of the early wave (before `onSaleAt`, nothing else going
    /// on) and of the late one (at `onSaleAt`, with the sale running).
    pub waves: [Mutex<Recorder>; 2],
    /// Polls of an entry.
    pub polls: Mutex<Recorder>,
    /// Orders and payments.
    pub orders: Mutex<Recorder>,
    /// From the server's admission to the hold's 201.
    pub admit_to_hold: Mutex<Recorder>,
    /// From the server's admission to its arrival on the WebSocket.
    pub pushes: Mutex<Recorder>,
    /// From the server's admission to the poll that found it.
    pub polled: Mutex<Recorder>,
    /// Pushes later than [`PUSH_TARGET_MS`].
    pub late_pushes: AtomicU64,
    /// WebSockets open now, and the most at once.
    pub sockets: AtomicUsize,
    /// See `sockets`.
    pub sockets_peak: AtomicUsize,
    /// WebSockets that failed to open or broke before the end.
    pub socket_failures: AtomicU64,
}

/// What one buyer observed and did.
#[derive(Debug)]
pub struct Seen {
    /// Its place in line.
    pub place: Place,
    /// Distinct passes it was given.
    pub passes: u32,
    /// Its order, if the server took one.
    pub order: Option<Acked>,
    /// Whether its spent pass bought a second order.
    pub pass_reused: bool,
    /// Its entry's last status (`done` after a paid order, `soldout`, ...).
    pub last_status: String,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn record(m: &Mutex<Recorder>, out: &Outcome, expected: bool) {
    m.lock().expect("stats lock").record(out, expected);
}

impl Shared {
    fn watches(&self, i: usize) -> bool {
        let n = self.tokens.len().max(1);
        (i * self.watchers) % n < self.watchers
    }

    /// The server's admission instant of an admitted entry.
    fn admitted_at(&self, e: &Entry) -> Option<i64> {
        let until = Timestamp::parse_rfc3339(e.pass_expires_at.as_deref()?)?;
        Some(until.0 - self.pass_secs as i64 * 1000)
    }
}

/// Buyer `i`'s life; `early` buyers join at once, the others at the
/// on-sale. Its steps are boxed: a hundred thousand buyers wait at once,
/// and each task is only as big as the step it is in (4.5 KiB a buyer
/// unboxed).
pub async fn buyer(sh: Arc<Shared>, i: usize, early: bool) -> Seen {
    let mut rng = Rng::new(i as u64 * 31 + 5);
    // A late buyer waits its turn at the on-sale's gate, not on a timer
    // of its own: sixty thousand timers firing at one instant kept the
    // generator's two threads from reading any answer for 220 ms.
    let turn = match early {
        true => None,
        false => Some(sh.late_gate.acquire().await.expect("the gate never closes")),
    };
    let token = sh.tokens[i].as_str();
    let path = format!("/api/events/{}/queue", sh.event);
    let join_sent = Instant::now();
    let out = Box::pin(sh.joins.post(&path, Some(token), String::new())).await;
    let join_done = Instant::now();
    drop(turn);
    let entry = serde_json::from_slice::<Entry>(&out.body).ok();
    let wave = &sh.stats.waves[usize::from(!early)];
    record(wave, &out, out.status == 200 && entry.is_some());
    // Not kept through the wait: a hundred thousand buyers wait at once.
    drop(out);
    let mut seen = Seen {
        place: Place {
            early: entry.as_ref().is_some_and(|e| e.position.is_none()),
            position: entry.as_ref().and_then(|e| e.position),
            join_sent,
            join_done,
            last_waiting: None,
            admitted_seen: None,
            admitted_at_ms: None,
        },
        passes: 0,
        order: None,
        pass_reused: false,
        last_status: entry
            .as_ref()
            .map_or_else(String::new, |e| e.status.clone()),
    };
    let Some(entry) = entry else { return seen };
    let admitted = if sh.watches(i) {
        match Box::pin(watch(&sh, token, &mut seen)).await {
            Watched::Ended(pass) => pass,
            Watched::Unopened => None,
        }
    } else {
        Box::pin(poll(&sh, token, &path, entry, &mut seen, &mut rng)).await
    };
    if let Some(pass) = admitted {
        Box::pin(buy(&sh, token, &pass, &mut seen, &mut rng, i)).await;
        // The entry after the order: `done`, never a second admission.
        let out = Box::pin(async { sh.pool.get().await.get(&path, Some(token)).await }).await;
        record(&sh.stats.polls, &out, out.status == 200);
        if let Ok(e) = serde_json::from_slice::<Entry>(&out.body) {
            note_pass(&mut seen, &e, &pass);
            seen.last_status = e.status;
        }
    }
    seen
}

/// The time since the server admitted `seen`'s buyer, once known.
fn since_admission(seen: &Seen) -> Option<Duration> {
    let at = seen.place.admitted_at_ms?;
    Some(Duration::from_millis((now_ms() - at).max(0) as u64))
}

/// `seen`'s buyer is found admitted (entry `e`) now: noted, and the time
/// since the server's admission recorded in `delays` (and returned).
fn found_admitted(
    sh: &Shared,
    seen: &mut Seen,
    e: &Entry,
    delays: &Mutex<Recorder>,
) -> Option<Duration> {
    seen.place.admitted_seen = Some(Instant::now());
    seen.place.admitted_at_ms = sh.admitted_at(e);
    seen.passes = 1;
    let late = since_admission(seen)?;
    delays.lock().expect("stats lock").record_latency(late);
    Some(late)
}

/// `pause` within the poll's bounds, give or take a quarter, so that
/// buyers who polled together do not stay together.
fn jittered(pause: Duration, rng: &mut Rng) -> Duration {
    pause
        .clamp(MIN_POLL, MAX_POLL)
        .mul_f64(0.75 + 0.5 * rng.unit())
}

/// Counts a pass other than `first`.
fn note_pass(seen: &mut Seen, e: &Entry, first: &str) {
    if e.pass.as_deref().is_some_and(|p| p != first) {
        seen.passes += 1;
    }
}

/// Polls the entry until admitted (its pass), or until it ends otherwise.
async fn poll(
    sh: &Shared,
    token: &str,
    path: &str,
    mut entry: Entry,
    seen: &mut Seen,
    rng: &mut Rng,
) -> Option<String> {
    let mut backoff = MIN_POLL;
    loop {
        let done = Instant::now();
        match entry.status.as_str() {
            "admitted" => {
                found_admitted(sh, seen, &entry, &sh.stats.polled);
                return entry.pass;
            }
            "waiting" => {}
            _ => return None,
        }
        let near = entry.ahead.is_some_and(|a| a <= sh.near as u64);
        if near {
            if let Ok(_socket) = sh.near_sockets.try_acquire() {
                // Boxed: a socket's state would otherwise be in every
                // polling buyer's task, the tens of thousands far back too.
                match Box::pin(watch(sh, token, seen)).await {
                    Watched::Ended(pass) => return pass,
                    Watched::Unopened => {}
                }
            }
        }
        let pause = match (entry.position, entry.ahead, entry.eta_secs) {
            // Placed at the on-sale: come back just after it, within
            // [`FIRST_POLL`] (not jittered below: that would move the
            // on-sale itself, by up to a quarter of the wait for it).
            (None, _, _) => {
                sh.on_sale.saturating_duration_since(done)
                    + FIRST_POLL.start
                    + (FIRST_POLL.end - FIRST_POLL.start).mul_f64(rng.unit())
            }
            // Near, with every socket of the budget taken.
            _ if near => jittered(MIN_POLL, rng),
            // A quarter of the time the ETA gives until the near window:
            // back in it well before the admission, however rough the ETA.
            (_, Some(ahead), Some(eta)) => {
                let far = (ahead - sh.near as u64) as f64 / ahead as f64;
                jittered(Duration::from_secs(eta).mul_f64(far / 4.0), rng)
            }
            _ => {
                backoff = (backoff * 2).min(MAX_BLIND_POLL);
                jittered(backoff, rng)
            }
        };
        if done + pause >= sh.deadline {
            return None;
        }
        tokio::time::sleep(pause).await;
        let sent = Instant::now();
        let out = sh.pool.get().await.get(path, Some(token)).await;
        let parsed = serde_json::from_slice::<Entry>(&out.body);
        record(&sh.stats.polls, &out, out.status == 200 && parsed.is_ok());
        let Ok(next) = parsed else { continue };
        seen.last_status = next.status.clone();
        if next.position.is_some() {
            seen.place.position = next.position;
            if next.status == "waiting" {
                seen.place.last_waiting = Some(sent);
            }
        }
        entry = next;
    }
}

/// How a wait on the queue WebSocket ended.
enum Watched {
    /// The socket opened and the wait ended: admitted (the pass), or the
    /// entry ended otherwise, the socket broke or the run's time is up.
    Ended(Option<String>),
    /// The socket did not open.
    Unopened,
}

/// Waits on the queue WebSocket until admitted (its pass), or until the
/// entry ends otherwise.
async fn watch(sh: &Shared, token: &str, seen: &mut Seen) -> Watched {
    let Some(req) = socket_request(sh, token) else {
        return Watched::Unopened;
    };
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let stream = connect(sh.addr, sh.bind).await;
    let opened = match stream {
        Ok(s) => tokio_tungstenite::client_async_with_config(req, s, Some(config))
            .await
            .ok(),
        Err(_) => None,
    };
    let Some((mut ws, _)) = opened else {
        sh.stats.socket_failures.fetch_add(1, Ordering::Relaxed);
        return Watched::Unopened;
    };
    let open = sh.stats.sockets.fetch_add(1, Ordering::Relaxed) + 1;
    sh.stats.sockets_peak.fetch_max(open, Ordering::Relaxed);
    let mut pass = None;
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = sleep_until(sh.deadline.into()) => break,
        };
        let Some(Ok(msg)) = msg else {
            sh.stats.socket_failures.fetch_add(1, Ordering::Relaxed);
            break;
        };
        let Ok(e) = serde_json::from_slice::<Entry>(&msg.into_data()) else {
            continue;
        };
        seen.last_status = e.status.clone();
        seen.place.position = e.position.or(seen.place.position);
        match e.status.as_str() {
            "waiting" => continue,
            "admitted" => {
                let late = found_admitted(sh, seen, &e, &sh.stats.pushes);
                if late.is_some_and(|d| d.as_millis() > PUSH_TARGET_MS) {
                    sh.stats.late_pushes.fetch_add(1, Ordering::Relaxed);
                }
                pass = e.pass;
            }
            _ => {}
        }
        break;
    }
    sh.stats.sockets.fetch_sub(1, Ordering::Relaxed);
    let _ = ws.close(None).await;
    Watched::Ended(pass)
}

/// The upgrade request of `token`'s queue WebSocket.
fn socket_request(
    sh: &Shared,
    token: &str,
) -> Option<tokio_tungstenite::tungstenite::handshake::client::Request> {
    let url = format!("ws://{}/api/events/{}/queue/live", sh.addr, sh.event);
    let mut req = url.into_client_request().ok()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().ok()?);
    Some(req)
}

/// Thinks, holds 1 to 4 seats with `pass` (fewer when fewer are left),
/// pays; every [`REUSE_PROBE_EVERY`]th buyer then tries the spent pass.
async fn buy(sh: &Shared, token: &str, pass: &str, seen: &mut Seen, rng: &mut Rng, i: usize) {
    tokio::time::sleep(sh.think).await;
    let mut quantity = 1 + rng.below(4);
    let order = loop {
        let body = json!({"eventId": sh.event, "quantity": quantity, "queuePass": pass});
        let out = sh
            .pool
            .post("/api/orders", Some(token), body.to_string())
            .await;
        if out.status == 201 {
            let parsed = serde_json::from_slice::<OrderBody>(&out.body).ok();
            record(&sh.stats.orders, &out, parsed.is_some());
            if let Some(since) = since_admission(seen) {
                sh.stats
                    .admit_to_hold
                    .lock()
                    .expect("stats lock")
                    .record_latency(since);
            }
            break parsed;
        }
        let fewer = out.status == 400
            && String::from_utf8_lossy(&out.body).contains("Not enough seats available");
        record(&sh.stats.orders, &out, fewer);
        if !fewer || quantity == 1 {
            break None;
        }
        quantity -= 1;
    };
    let Some(order) = order else { return };
    let body = json!({"orderId": order.id, "token": "tok_visa"}).to_string();
    let paid = sh.pool.post("/api/payments", Some(token), body).await;
    record(&sh.stats.orders, &paid, paid.status == 201);
    seen.order = Some(Acked {
        id: order.id,
        seats: order.tickets.into_iter().map(|t| t.id).collect(),
        fate: if paid.status == 201 {
            Fate::Paid
        } else {
            Fate::Left
        },
    });
    if i.is_multiple_of(REUSE_PROBE_EVERY) {
        let body = json!({"eventId": sh.event, "quantity": 1, "queuePass": pass});
        let out = sh
            .pool
            .post("/api/orders", Some(token), body.to_string())
            .await;
        seen.pass_reused = out.status == 201;
        record(&sh.stats.orders, &out, out.status == 403);
    }
}
