//! live: WebSocket fan-out, how fast and how completely a change reaches
//! every subscriber.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Map};
use tokio::sync::{watch, Semaphore};

use super::{duration, some_ticket_ids};
use crate::load::client::{id_of, Conn};
use crate::load::stats::Recorder;
use crate::load::{progress, Budget, LoadArgs, Report, Target};

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
        rates: Vec::new(),
        failed,
    })
}
