//! The workloads of `ticketing load`. Each drives the server over its public
//! HTTP and WebSocket contract (nothing here reaches into the server's
//! memory, except the flush counters of an embedded server), bounded by the
//! run's `Budget`, and returns a [`Report`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Map};
use tokio::sync::{watch, Semaphore};

use super::client::{id_of, Conn};
use super::stats::Recorder;
use super::{cores, default_signups, progress, Budget, LoadArgs, Report, Target};

/// A tiny deterministic random source (xorshift64*): the load generator
/// needs cheap, reproducible choices, not cryptography.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A value in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn duration(args: &LoadArgs) -> Duration {
    Duration::from_secs_f64(args.duration)
}

/// The id just below `id` (a 16-hex-digit id), for `?after=`: a page that
/// starts at `id` itself.
fn before(id: &str) -> String {
    let n = u64::from_str_radix(id, 16).unwrap_or(1);
    format!("{:016x}", n.saturating_sub(1))
}

/// Puts `n` tickets on sale as `token`'s user, through the API.
async fn create_tickets(
    target: &Target,
    token: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<String>, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(Mutex::new(vec![String::new(); n]));
    let failures = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency.clamp(1, n.max(1)))
        .map(|_| {
            let (next, ids, failures) = (next.clone(), ids.clone(), failures.clone());
            let token = token.to_owned();
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let body = json!({"title": format!("Flash sale seat {i}"), "price": "25.00"});
                    let out = conn
                        .post("/api/tickets", Some(&token), body.to_string())
                        .await;
                    match (out.status, id_of(&out.body)) {
                        (201, Some(id)) => ids.lock().expect("ids lock")[i] = id,
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} of {n} tickets could not be created"));
    }
    let mut ids = std::mem::take(&mut *ids.lock().expect("ids lock"));
    ids.sort();
    Ok(ids)
}

/// Tickets to read: the seeded ones, or the first page of the server's.
async fn some_ticket_ids(target: &Target) -> Result<Vec<String>, String> {
    if !target.tickets.is_empty() {
        return Ok(target.tickets.clone());
    }
    let mut conn = Conn::new(target.addr);
    let out = conn.get("/api/tickets?status=any&limit=1000", None).await;
    let tickets: Vec<IdOnly> = serde_json::from_slice(&out.body)
        .map_err(|e| format!("listing tickets (status {}): {e}", out.status))?;
    if tickets.is_empty() {
        return Err("the target has no tickets: seed some (ticketing seed)".into());
    }
    Ok(tickets.into_iter().map(|t| t.id).collect())
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct TicketRow {
    id: String,
    status: String,
    #[serde(rename = "orderId")]
    order_id: Option<String>,
}

#[derive(Deserialize)]
struct OrderRow {
    id: String,
    status: String,
    ticket: IdOnly,
}

/// flash-sale: `--tickets` seats, `--buyers` buyers racing for them, then an
/// audit through the API. A buyer first tries "their" seat (buyer i takes
/// seat i mod N, so every seat is contested), and on `already reserved` picks
/// a seat still listed as available, up to `--attempts` tries; a buyer who
/// holds a seat pays at once with `tok_visa`.
pub async fn flash_sale(args: &LoadArgs, target: &Target) -> Result<Report, String> {
    let (n, m) = (args.tickets, args.buyers);
    if n == 0 || m == 0 {
        return Err("flash-sale needs --tickets and --buyers above 0".into());
    }
    if target.users.len() < m + 1 {
        return Err(format!(
            "flash-sale needs {} users (a seller and {m} buyers); the seed has {}",
            m + 1,
            target.users.len()
        ));
    }
    let seller = target.users[0].token.clone();
    let tickets = Arc::new(create_tickets(target, &seller, n, args.concurrency).await?);
    let ours: Arc<HashSet<String>> = Arc::new(tickets.iter().cloned().collect());
    let list_path = Arc::new(format!(
        "/api/tickets?limit=1000&after={}",
        before(&tickets[0])
    ));
    let buyers: Arc<Vec<String>> = Arc::new(
        target.users[1..=m]
            .iter()
            .map(|u| u.token.clone())
            .collect(),
    );
    let budget = Budget::new(duration(args), args.requests);
    let next = Arc::new(AtomicUsize::new(0));
    let paid = Arc::new(Mutex::new(Vec::<String>::new()));
    let counts = Arc::new([
        AtomicU64::new(0), // reservations acknowledged
        AtomicU64::new(0), // reservations refused (already reserved)
        AtomicU64::new(0), // payments acknowledged
        AtomicU64::new(0), // buyers who found nothing left
    ]);
    let attempts = args.attempts.max(1);
    let pb = progress(m as u64, "buyers");
    let start = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency.min(m))
        .map(|w| {
            let (tickets, ours, list_path, buyers, budget, next, paid, counts, pb) = (
                tickets.clone(),
                ours.clone(),
                list_path.clone(),
                buyers.clone(),
                budget.clone(),
                next.clone(),
                paid.clone(),
                counts.clone(),
                pb.clone(),
            );
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut rec = Recorder::default();
                let mut rng = Rng::new(w as u64 + 1);
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= buyers.len() || budget.expired() {
                        break;
                    }
                    let token = buyers[b].as_str();
                    let mut seat = tickets[b % tickets.len()].clone();
                    for attempt in 0..attempts {
                        if !budget.take() {
                            break;
                        }
                        let body = json!({ "ticketId": seat }).to_string();
                        let out = conn.post("/api/orders", Some(token), body).await;
                        rec.record(&out, out.status == 201 || out.status == 400);
                        if out.status == 201 {
                            counts[0].fetch_add(1, Ordering::Relaxed);
                            let Some(order) = id_of(&out.body) else { break };
                            let body = json!({"orderId": order, "token": "tok_visa"}).to_string();
                            let pay = conn.post("/api/payments", Some(token), body).await;
                            rec.record(&pay, pay.status == 201);
                            if pay.status == 201 {
                                counts[2].fetch_add(1, Ordering::Relaxed);
                                paid.lock().expect("paid lock").push(seat.clone());
                            }
                            break;
                        }
                        if out.status != 400 || attempt + 1 == attempts {
                            break;
                        }
                        counts[1].fetch_add(1, Ordering::Relaxed);
                        let list = conn.get(&list_path, None).await;
                        rec.record(&list, list.status == 200);
                        let open: Vec<String> = serde_json::from_slice::<Vec<IdOnly>>(&list.body)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|t| t.id)
                            .filter(|id| ours.contains(id))
                            .collect();
                        if open.is_empty() {
                            counts[3].fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        seat = open[rng.below(open.len())].clone();
                    }
                    pb.inc(1);
                }
                rec
            })
        })
        .collect();
    let rec = merged(tasks).await?;
    let elapsed = start.elapsed();
    pb.finish_and_clear();

    let audit = audit(args, target, &tickets, &buyers).await?;
    let mut paid_per_ticket: HashMap<String, u64> = HashMap::new();
    for t in paid.lock().expect("paid lock").iter() {
        *paid_per_ticket.entry(t.clone()).or_default() += 1;
    }
    let client_oversold: u64 = paid_per_ticket.values().map(|k| k.saturating_sub(1)).sum();
    let oversold = client_oversold.max(audit.double_sold + audit.mismatched);
    let mut extra = Map::new();
    extra.insert("tickets".into(), json!(n));
    extra.insert("buyers".into(), json!(m));
    extra.insert(
        "buyers_served".into(),
        json!(next.load(Ordering::Relaxed).min(m)),
    );
    extra.insert("sold".into(), json!(audit.sold));
    extra.insert("unsold".into(), json!(n as u64 - audit.sold.min(n as u64)));
    extra.insert(
        "reservations".into(),
        json!(counts[0].load(Ordering::Relaxed)),
    );
    extra.insert("refused".into(), json!(counts[1].load(Ordering::Relaxed)));
    extra.insert("payments".into(), json!(counts[2].load(Ordering::Relaxed)));
    extra.insert(
        "sold_out_seen".into(),
        json!(counts[3].load(Ordering::Relaxed)),
    );
    extra.insert("double_live_orders".into(), json!(audit.double_live));
    extra.insert("complete_order_mismatches".into(), json!(audit.mismatched));
    extra.insert("payments_acked_twice".into(), json!(client_oversold));
    extra.insert("audit_errors".into(), json!(audit.errors));
    let failed = oversold > 0 || audit.double_live > 0 || audit.errors > 0;
    Ok(Report {
        rec,
        elapsed,
        oversold: Some(oversold),
        extra,
        series: Vec::new(),
        failed,
    })
}

/// What the flash-sale audit found.
struct Audit {
    sold: u64,
    double_sold: u64,
    double_live: u64,
    mismatched: u64,
    errors: u64,
}

/// Reads back every sale ticket and every buyer's orders through the API
/// and checks: each ticket sold at most once, each complete order matches a
/// sold ticket that names it, no ticket with two live orders.
async fn audit(
    args: &LoadArgs,
    target: &Target,
    tickets: &[String],
    buyers: &Arc<Vec<String>>,
) -> Result<Audit, String> {
    let ours: HashSet<&str> = tickets.iter().map(String::as_str).collect();
    let mut rows: HashMap<String, TicketRow> = HashMap::new();
    let mut conn = Conn::new(target.addr);
    let mut after = before(&tickets[0]);
    let mut errors = 0u64;
    // Bounded: one page per 1000 tickets, plus slack for foreign tickets.
    for _ in 0..(tickets.len() / 1000 + 100) {
        let out = conn
            .get(
                &format!("/api/tickets?status=any&limit=1000&after={after}"),
                None,
            )
            .await;
        if out.status != 200 {
            errors += 1;
            break;
        }
        let page: Vec<TicketRow> = serde_json::from_slice(&out.body).map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        for row in page {
            if ours.contains(row.id.as_str()) {
                rows.insert(row.id.clone(), row);
            }
        }
        if rows.len() == tickets.len() {
            break;
        }
    }
    errors += (tickets.len() - rows.len()) as u64;

    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..args.concurrency.clamp(1, buyers.len()))
        .map(|_| {
            let (next, buyers) = (next.clone(), buyers.clone());
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut found = Vec::new();
                let mut errors = 0u64;
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= buyers.len() {
                        break;
                    }
                    let out = conn.get("/api/orders", Some(&buyers[b])).await;
                    match serde_json::from_slice::<Vec<OrderRow>>(&out.body) {
                        Ok(orders) if out.status == 200 => found.extend(orders),
                        _ => errors += 1,
                    }
                }
                (found, errors)
            })
        })
        .collect();
    let mut orders = Vec::new();
    for t in tasks {
        let (found, e) = t.await.map_err(|e| e.to_string())?;
        orders.extend(found);
        errors += e;
    }
    let mut live: HashMap<&str, u64> = HashMap::new();
    let mut complete: HashMap<&str, u64> = HashMap::new();
    let mut mismatched = 0u64;
    for o in &orders {
        let tid = o.ticket.id.as_str();
        if !ours.contains(tid) {
            continue;
        }
        if matches!(
            o.status.as_str(),
            "created" | "awaiting:payment" | "complete"
        ) {
            *live.entry(tid).or_default() += 1;
        }
        if o.status == "complete" {
            *complete.entry(tid).or_default() += 1;
            let matches = rows
                .get(tid)
                .is_some_and(|t| t.status == "sold" && t.order_id.as_deref() == Some(&o.id));
            if !matches {
                mismatched += 1;
            }
        }
    }
    Ok(Audit {
        sold: rows.values().filter(|t| t.status == "sold").count() as u64,
        double_sold: complete.values().map(|k| k.saturating_sub(1)).sum(),
        double_live: live.values().filter(|k| **k > 1).count() as u64,
        mismatched,
        errors,
    })
}

/// browse: GET one ticket by id (and, with `--list-ratio`, the list).
pub async fn browse(args: &LoadArgs, target: &Target) -> Result<Report, String> {
    let ids = Arc::new(some_ticket_ids(target).await?);
    let budget = Budget::new(duration(args), args.requests);
    let pb = progress(args.requests.unwrap_or(0), "requests");
    let lists = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|w| {
            let (ids, budget, pb, lists) = (ids.clone(), budget.clone(), pb.clone(), lists.clone());
            let addr = target.addr;
            let ratio = args.list_ratio;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut rec = Recorder::default();
                let mut rng = Rng::new(w as u64 + 7);
                let mut path = String::with_capacity(40);
                while budget.take() {
                    path.clear();
                    if ratio > 0.0 && rng.unit() < ratio {
                        lists.fetch_add(1, Ordering::Relaxed);
                        path.push_str("/api/tickets");
                    } else {
                        path.push_str("/api/tickets/");
                        path.push_str(&ids[rng.below(ids.len())]);
                    }
                    let out = conn.get(&path, None).await;
                    rec.record(&out, out.status == 200);
                    pb.inc(1);
                }
                rec
            })
        })
        .collect();
    let rec = merged(tasks).await?;
    pb.finish_and_clear();
    let mut extra = Map::new();
    extra.insert("tickets".into(), json!(ids.len()));
    extra.insert("list_requests".into(), json!(lists.load(Ordering::Relaxed)));
    Ok(Report {
        rec,
        elapsed: start.elapsed(),
        oversold: None,
        extra,
        series: Vec::new(),
        failed: false,
    })
}

/// Waits for every worker and merges their recorders.
async fn merged(
    tasks: impl IntoIterator<Item = tokio::task::JoinHandle<Recorder>>,
) -> Result<Recorder, String> {
    let mut all = Recorder::default();
    for t in tasks {
        all.merge(&t.await.map_err(|e| e.to_string())?);
    }
    Ok(all)
}

/// reserve: each worker reserves its own ticket and cancels the order, over
/// and over; every 201 and 204 is a durable write. With --embedded the
/// server's flush counters give writes per flush (group commit at work).
pub async fn reserve(args: &LoadArgs, target: &Target) -> Result<Report, String> {
    if target.users.len() < 2 {
        return Err("reserve needs at least 2 seeded users (--seed FILE)".into());
    }
    let w = args.concurrency;
    let seller = target.users[0].token.clone();
    let tickets = Arc::new(create_tickets(target, &seller, w, w).await?);
    let buyers: Arc<Vec<String>> =
        Arc::new(target.users[1..].iter().map(|u| u.token.clone()).collect());
    let before_stats = target
        .app
        .as_ref()
        .map(|a| a.state().core.storage.flush_stats());
    let budget = Budget::new(duration(args), args.requests);
    let pb = progress(args.requests.unwrap_or(0), "requests");
    let start = Instant::now();
    let tasks: Vec<_> = (0..w)
        .map(|i| {
            let (tickets, buyers, budget, pb) =
                (tickets.clone(), buyers.clone(), budget.clone(), pb.clone());
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut rec = Recorder::default();
                let token = buyers[i % buyers.len()].as_str();
                let body = json!({ "ticketId": tickets[i] }).to_string();
                while budget.take() {
                    let out = conn.post("/api/orders", Some(token), body.clone()).await;
                    rec.record(&out, out.status == 201);
                    pb.inc(1);
                    let Some(order) = id_of(&out.body).filter(|_| out.status == 201) else {
                        continue;
                    };
                    // The cancel always goes, so no hold outlives the run.
                    let out = conn
                        .delete(&format!("/api/orders/{order}"), Some(token))
                        .await;
                    rec.record(&out, out.status == 204);
                    pb.inc(1);
                }
                rec
            })
        })
        .collect();
    let rec = merged(tasks).await?;
    let elapsed = start.elapsed();
    pb.finish_and_clear();
    let mut extra = Map::new();
    if let (Some(app), Some(b)) = (target.app.as_ref(), before_stats) {
        let a = app.state().core.storage.flush_stats();
        let flushes = a.flushes.saturating_sub(b.flushes);
        let batches = a.batches.saturating_sub(b.batches);
        extra.insert("flushes".into(), json!(flushes));
        extra.insert("write_batches".into(), json!(batches));
        extra.insert(
            "writes_per_flush".into(),
            json!(((batches as f64 / flushes.max(1) as f64) * 100.0).round() / 100.0),
        );
        extra.insert(
            "flushes_per_s".into(),
            json!((flushes as f64 / elapsed.as_secs_f64()).round()),
        );
    } else {
        extra.insert("writes_per_flush".into(), json!(null));
        extra.insert(
            "note".into(),
            json!("flush counters are only visible with --embedded"),
        );
    }
    Ok(Report {
        rec,
        elapsed,
        oversold: None,
        extra,
        series: Vec::new(),
        failed: false,
    })
}

#[derive(Deserialize)]
struct LiveMessage {
    #[serde(rename = "type")]
    kind: String,
    ticket: Option<LiveTicket>,
}

#[derive(Deserialize)]
struct LiveTicket {
    id: String,
    version: u64,
}

/// What one subscriber saw: (ticket index, version, arrival) per change,
/// and how many times it was resynchronised with a snapshot.
type Seen = (Vec<(u32, u64, Instant)>, u64, bool);

/// live: `--subscribers` WebSocket clients, then `--changes` reserve/cancel
/// changes at `--rate` per second on the seeded tickets. Delivery latency is
/// from the writer's 2xx to the change's arrival at each subscriber (the
/// server publishes before it replies, so a change often arrives before its
/// 2xx: that counts as 0, and is counted); the latency from the request's
/// sending is reported beside it, as an upper bound.
pub async fn live(args: &LoadArgs, target: &Target) -> Result<Report, String> {
    if target.users.len() < 2 {
        return Err("live needs at least 2 seeded users (--seed FILE)".into());
    }
    let ids = some_ticket_ids(target).await?;
    let ids: Vec<String> = ids.into_iter().take(100).collect();
    let index: Arc<HashMap<String, u32>> = Arc::new(
        ids.iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect(),
    );
    let k = args.subscribers;
    let url = format!("ws://{}/api/tickets/live", target.addr);
    let (stop_tx, stop_rx) = watch::channel(false);
    let received = Arc::new(AtomicU64::new(0));
    let connected = Arc::new(AtomicUsize::new(0));
    let connecting = Arc::new(Semaphore::new(256));
    let pb = progress(k as u64, "subscribers");
    let deadline = Instant::now() + duration(args) + Duration::from_secs(60);
    let subs: Vec<_> = (0..k)
        .map(|_| {
            let (url, index, received, connected, connecting, pb) = (
                url.clone(),
                index.clone(),
                received.clone(),
                connected.clone(),
                connecting.clone(),
                pb.clone(),
            );
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                    .read_buffer_size(8 * 1024);
                let permit = connecting.acquire_owned().await;
                let mut ws = None;
                for _ in 0..5 {
                    match tokio_tungstenite::connect_async_with_config(&url, Some(config), true)
                        .await
                    {
                        Ok((s, _)) => {
                            ws = Some(s);
                            break;
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                }
                let Some(mut ws) = ws else {
                    return (Vec::new(), 0, false);
                };
                // The snapshot comes first.
                let first = tokio::time::timeout(Duration::from_secs(30), ws.next()).await;
                drop(permit);
                if !matches!(first, Ok(Some(Ok(_)))) {
                    return (Vec::new(), 0, false);
                }
                connected.fetch_add(1, Ordering::Relaxed);
                pb.inc(1);
                let mut seen = Vec::new();
                let mut resyncs = 0u64;
                loop {
                    tokio::select! {
                        msg = ws.next() => {
                            let Some(Ok(msg)) = msg else { break };
                            let now = Instant::now();
                            let Ok(text) = msg.to_text() else { continue };
                            let Ok(m) = serde_json::from_str::<LiveMessage>(text) else { continue };
                            match (m.kind.as_str(), m.ticket) {
                                ("ticket", Some(t)) => {
                                    if let Some(i) = index.get(&t.id) {
                                        seen.push((*i, t.version, now));
                                        received.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                                ("snapshot", _) => resyncs += 1,
                                _ => {}
                            }
                        }
                        _ = stop.wait_for(|s| *s) => break,
                        _ = tokio::time::sleep_until(deadline.into()) => break,
                    }
                }
                let _ = ws.close(None).await;
                (seen, resyncs, true)
            })
        })
        .collect();
    // Wait for every subscriber to hold its snapshot (bounded).
    let wait_until = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < k && Instant::now() < wait_until {
        if subs.iter().all(|s| s.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pb.finish_and_clear();
    let subscribed = connected.load(Ordering::Relaxed);

    // The writer: reserve and cancel in turn, at the rate asked.
    let token = target.users[1].token.clone();
    let mut conn = Conn::new(target.addr);
    let mut versions = Vec::with_capacity(ids.len());
    for id in &ids {
        let out = conn.get(&format!("/api/tickets/{id}"), None).await;
        let v = serde_json::from_slice::<LiveTicket>(&out.body)
            .map_err(|e| format!("reading ticket {id}: {e}"))?;
        versions.push(v.version);
    }
    let mut holds: Vec<Option<String>> = vec![None; ids.len()];
    let mut acks: HashMap<(u32, u64), (Instant, Instant)> = HashMap::new();
    let mut writes = Recorder::default();
    let budget = Budget::new(duration(args), args.requests);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(0.1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = Instant::now();
    // `--changes` toggles (reserve a free seat, cancel a held one), then the
    // cancels that free every seat again; those are changes too.
    let plan = (0..args.changes)
        .map(|i| i % ids.len())
        .chain(0..ids.len())
        .enumerate();
    for (i, t) in plan {
        if i < args.changes && !budget.take() {
            continue;
        }
        let cancel = holds[t].take();
        if i >= args.changes && cancel.is_none() {
            continue;
        }
        tick.tick().await;
        let sent = Instant::now();
        let out = match cancel {
            Some(order) => {
                conn.delete(&format!("/api/orders/{order}"), Some(&token))
                    .await
            }
            None => {
                let body = json!({ "ticketId": ids[t] }).to_string();
                let out = conn.post("/api/orders", Some(&token), body).await;
                if out.status == 201 {
                    holds[t] = id_of(&out.body);
                }
                out
            }
        };
        let acked = Instant::now();
        writes.record(&out, out.ok());
        if out.ok() {
            versions[t] += 1;
            acks.insert((t as u32, versions[t]), (sent, acked));
        }
    }
    let changes = acks.len() as u64;
    let elapsed = start.elapsed();
    // Wait (bounded) until every subscriber has every change.
    let expected = changes * subscribed as u64;
    let wait_until = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let mut delivery = Recorder::default();
    let mut from_send = Recorder::default();
    let mut before_ack = 0u64;
    let mut delivered = 0u64;
    let mut resyncs = 0u64;
    let mut complete_subscribers = 0u64;
    for s in subs {
        let (seen, r, ok): Seen = s.await.map_err(|e| e.to_string())?;
        if !ok {
            continue;
        }
        resyncs += r;
        let mut got = HashSet::new();
        for (t, v, at) in seen {
            if let Some((sent, acked)) = acks.get(&(t, v)) {
                if got.insert((t, v)) {
                    delivered += 1;
                    if at < *acked {
                        before_ack += 1;
                    }
                    delivery.record_latency(at.saturating_duration_since(*acked));
                    from_send.record_latency(at.saturating_duration_since(*sent));
                }
            }
        }
        if got.len() as u64 == changes {
            complete_subscribers += 1;
        }
    }
    delivery.requests = delivered;
    delivery.errors = writes.errors.clone();
    let mut extra = Map::new();
    extra.insert("subscribers".into(), json!(k));
    extra.insert("subscribed".into(), json!(subscribed));
    extra.insert("changes".into(), json!(changes));
    extra.insert("deliveries_expected".into(), json!(changes * k as u64));
    extra.insert("deliveries".into(), json!(delivered));
    extra.insert(
        "missed".into(),
        json!((changes * k as u64).saturating_sub(delivered)),
    );
    extra.insert(
        "subscribers_with_every_change".into(),
        json!(complete_subscribers),
    );
    extra.insert("resync_snapshots".into(), json!(resyncs));
    extra.insert("writer_p99_ms".into(), json!(writes.ms(0.99)));
    extra.insert("arrived_before_2xx".into(), json!(before_ack));
    extra.insert("from_request_p50_ms".into(), json!(from_send.ms(0.5)));
    extra.insert("from_request_p99_ms".into(), json!(from_send.ms(0.99)));
    extra.insert(
        "changes_per_s".into(),
        json!((changes as f64 / elapsed.as_secs_f64() * 10.0).round() / 10.0),
    );
    let failed = complete_subscribers < k as u64;
    Ok(Report {
        rec: delivery,
        elapsed,
        oversold: None,
        extra,
        series: vec![
            ("writer".into(), writes),
            ("from request sent".into(), from_send),
        ],
        failed,
    })
}

/// signup: the password-hashing bound. Phase 1 runs paced GETs alone; phase
/// 2 runs the same GETs while `--signup-concurrency` clients sign up as fast
/// as they can. Reports signups per second against cores / (one bcrypt hash
/// at the server's cost), and the GET p99 of both phases.
pub async fn signup(args: &LoadArgs, target: &Target) -> Result<Report, String> {
    let ids = Arc::new(some_ticket_ids(target).await?);
    let cost = args.bcrypt_cost;
    let hash_secs = tokio::task::spawn_blocking(move || {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let _ = bcrypt::hash("load-test-password", cost);
            best = best.min(t.elapsed().as_secs_f64());
        }
        best
    })
    .await
    .map_err(|e| e.to_string())?;
    let bound = cores() as f64 / hash_secs;
    let phase = Duration::from_secs_f64(args.duration / 2.0);
    let get_workers = 4usize;

    let gets = |budget: Arc<Budget>| {
        (0..get_workers)
            .map(|w| {
                let (ids, budget) = (ids.clone(), budget.clone());
                let addr = target.addr;
                let every = Duration::from_secs_f64(get_workers as f64 / args.get_rate.max(1.0));
                tokio::spawn(async move {
                    let mut conn = Conn::new(addr);
                    let mut rec = Recorder::default();
                    let mut rng = Rng::new(w as u64 + 11);
                    let mut tick = tokio::time::interval(every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    loop {
                        tick.tick().await;
                        if !budget.take() {
                            break;
                        }
                        let path = format!("/api/tickets/{}", ids[rng.below(ids.len())]);
                        let out = conn.get(&path, None).await;
                        rec.record(&out, out.status == 200);
                    }
                    rec
                })
            })
            .collect::<Vec<_>>()
    };
    let alone = merged(gets(Budget::new(phase, args.requests))).await?;

    let budget = Budget::new(phase, args.requests);
    let get_tasks = gets(budget.clone());
    let tag = format!(
        "{:x}",
        std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64
    );
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let next = Arc::new(AtomicUsize::new(0));
    let s = args.signup_concurrency.unwrap_or_else(default_signups);
    let pb = progress(0, "signups");
    let start = Instant::now();
    let signup_tasks: Vec<_> = (0..s)
        .map(|_| {
            let (budget, next, tag, pb) = (budget.clone(), next.clone(), tag.clone(), pb.clone());
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut rec = Recorder::default();
                while budget.take() {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let body = json!({
                        "email": format!("signup{i}-{tag}-{run}@example.com"),
                        "password": "load-test-password",
                    })
                    .to_string();
                    let out = conn.post("/api/users/signup", None, body).await;
                    rec.record(&out, out.status == 201);
                    pb.inc(1);
                }
                rec
            })
        })
        .collect();
    let signups = merged(signup_tasks).await?;
    let elapsed = start.elapsed();
    pb.finish_and_clear();
    let with = merged(get_tasks).await?;
    let ok = signups.requests - signups.error_count();
    let rps = ok as f64 / elapsed.as_secs_f64().max(1e-9);
    let mut extra = Map::new();
    extra.insert("bcrypt_cost".into(), json!(cost));
    extra.insert("bcrypt_ms".into(), json!((hash_secs * 1e5).round() / 100.0));
    extra.insert("cores".into(), json!(cores()));
    extra.insert(
        "signup_bound_rps".into(),
        json!((bound * 100.0).round() / 100.0),
    );
    extra.insert("signup_rps".into(), json!((rps * 100.0).round() / 100.0));
    extra.insert(
        "signup_vs_bound".into(),
        json!((rps / bound * 1000.0).round() / 1000.0),
    );
    extra.insert("get_p99_ms_alone".into(), json!(alone.ms(0.99)));
    extra.insert("get_p99_ms_with_signups".into(), json!(with.ms(0.99)));
    extra.insert(
        "get_p99_ratio".into(),
        json!((with.ms(0.99) / alone.ms(0.99).max(1e-6) * 100.0).round() / 100.0),
    );
    extra.insert("get_requests_alone".into(), json!(alone.requests));
    extra.insert("get_requests_with_signups".into(), json!(with.requests));
    Ok(Report {
        rec: signups,
        elapsed,
        oversold: None,
        extra,
        series: vec![
            ("GET alone".into(), alone),
            ("GET with signups".into(), with),
        ],
        failed: false,
    })
}

/// restart: seeds a temp dir with `--tickets` tickets, then starts the real
/// binary on it twice (a child process, so its memory is its own), timing
/// each start until it listens and reading its resident memory after one
/// GET.
pub async fn restart(args: &LoadArgs, base: &crate::config::Settings) -> Result<Report, String> {
    let dir = tempfile::Builder::new()
        .prefix("ticketing-restart-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut settings = crate::config::Settings::for_tests(dir.path(), base.orders.reservation_secs);
    settings.auth.bcrypt_cost = args.bcrypt_cost;
    let (seed, timing) = super::seed::seed_dir(&settings, 1, args.tickets).await?;
    let probe = seed.tickets.last().cloned();
    drop(seed);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rec = Recorder::default();
    let mut extra = Map::new();
    extra.insert("tickets".into(), json!(args.tickets));
    extra.insert(
        "seed_s".into(),
        json!((timing.secs * 1000.0).round() / 1000.0),
    );
    extra.insert(
        "data_dir_mb".into(),
        json!(dir_size(dir.path()) as f64 / 1048576.0),
    );
    let start = Instant::now();
    for round in ["first_start", "restart"] {
        // sled may hold the seeding handle's lock a moment: retry (bounded).
        let mut tries = 0;
        let (secs, rss, out) = loop {
            match start_child(&exe, dir.path(), probe.as_deref()).await {
                Err(e) if tries < 20 && e.contains("exited before") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                other => break other?,
            }
        };
        if let Some(out) = &out {
            rec.record(out, out.status == 200);
        }
        extra.insert(
            format!("{round}_s"),
            json!((secs * 1000.0).round() / 1000.0),
        );
        extra.insert(
            format!("{round}_rss_mb"),
            json!((rss * 10.0).round() / 10.0),
        );
    }
    Ok(Report {
        rec,
        elapsed: start.elapsed(),
        oversold: None,
        extra,
        series: Vec::new(),
        failed: false,
    })
}

/// Starts `exe serve` on `dir`, waits for its listening line (bounded),
/// GETs `probe`, reads VmRSS, stops it with SIGTERM. Returns (seconds to
/// listen, RSS in MiB, the probe's outcome).
async fn start_child(
    exe: &std::path::Path,
    dir: &std::path::Path,
    probe: Option<&str>,
) -> Result<(f64, f64, Option<super::client::Outcome>), String> {
    use tokio::io::AsyncBufReadExt;
    let t = Instant::now();
    let mut child = tokio::process::Command::new(exe)
        .arg("serve")
        .env("TICKETING_STORAGE__PATH", dir)
        .env("TICKETING_SERVER__ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(600), lines.next_line())
        .await
        .map_err(|_| "the server did not start within 600 s".to_owned())?
        .map_err(|e| e.to_string())?
        .ok_or("the server exited before listening")?;
    let secs = t.elapsed().as_secs_f64();
    let addr = line
        .rsplit("http://")
        .next()
        .and_then(|a| a.trim().parse().ok())
        .ok_or_else(|| format!("unexpected first line: {line}"))?;
    let out = match probe {
        Some(id) => Some(
            Conn::new(addr)
                .get(&format!("/api/tickets/{id}"), None)
                .await,
        ),
        None => None,
    };
    let pid = child.id().ok_or("the server exited")?;
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0);
    // SAFETY: kill(2) with a pid we spawned and still own; no memory involved.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    Ok((secs, rss, out))
}

fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
