//! The event routes' own measurements in the event scenario: the creation
//! time of a big event, the 4-seat hold + cancel cycle, GET of a big event,
//! its live snapshot, and resident memory per seat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;

use super::layout::{all_seats, create_event, event_body, rows_body};
use crate::load::client::{Conn, Outcome};
use crate::load::scenarios::merged;
use crate::load::stats::Recorder;
use crate::load::{Budget, Target};

/// Seconds to create an event of `seats` seats (until its 201, which comes
/// once every seat is durable), and the event's id.
pub async fn create_time(
    target: &Target,
    token: &str,
    seats: usize,
) -> Result<(f64, String), String> {
    let body = event_body(&format!("Timed creation of {seats} seats"), seats);
    let mut conn = Conn::new(target.addr);
    let start = Instant::now();
    let id = create_event(&mut conn, token, &body).await?;
    Ok((start.elapsed().as_secs_f64(), id))
}

/// Deletes an event the scenario no longer needs.
pub async fn delete_event(target: &Target, token: &str, id: &str) -> Result<(), String> {
    let mut conn = Conn::new(target.addr);
    let out = conn.delete(&format!("/api/events/{id}"), Some(token)).await;
    match out.status {
        204 => Ok(()),
        s => Err(format!("deleting event {id}: status {s}")),
    }
}

/// The 4-seat hold + cancel cycle: one row of 4 seats per worker (buyer
/// `buyers[w]`), ordered by ids and cancelled, over and over; every 201
/// and 204 is durable.
pub async fn cycle(
    target: &Target,
    seller: &str,
    buyers: &[String],
    budget: Arc<Budget>,
) -> Result<(Recorder, Duration), String> {
    let workers = buyers.len();
    let mut conn = Conn::new(target.addr);
    let event = create_event(&mut conn, seller, &rows_body("Hold cycle", workers, 4)).await?;
    let seats = all_seats(&mut conn, &event, workers * 4).await?;
    let start = Instant::now();
    let tasks: Vec<_> = seats
        .chunks(4)
        .zip(buyers)
        .map(|(row, token)| {
            let body = json!({"ticketIds": row.iter().map(|s| &s.id).collect::<Vec<_>>()});
            let (body, token, budget) = (body.to_string(), token.clone(), budget.clone());
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut rec = Recorder::default();
                while budget.take() {
                    let out = conn.post("/api/orders", Some(&token), body.clone()).await;
                    rec.record(&out, out.status == 201);
                    let Some(order) = crate::load::client::id_of(&out.body) else {
                        continue;
                    };
                    // The cancel always goes, so no hold outlives the run.
                    let out = conn
                        .delete(&format!("/api/orders/{order}"), Some(&token))
                        .await;
                    rec.record(&out, out.status == 204);
                }
                rec
            })
        })
        .collect();
    let rec = merged(tasks).await?;
    Ok((rec, start.elapsed()))
}

/// GET `path` with `workers` connections within `budget`.
pub async fn gets(
    target: &Target,
    path: String,
    workers: usize,
    budget: Arc<Budget>,
) -> Result<(Recorder, Duration), String> {
    let path = Arc::new(path);
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers.max(1))
        .map(|_| {
            let (path, budget) = (path.clone(), budget.clone());
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut rec = Recorder::default();
                while budget.take() {
                    let out = conn.get(&path, None).await;
                    rec.record(&out, out.status == 200);
                }
                rec
            })
        })
        .collect();
    let rec = merged(tasks).await?;
    Ok((rec, start.elapsed()))
}

/// Connect to `/api/events/:id/live` and read its first message, over and
/// over with `workers` clients within `budget`: the latency is connect +
/// snapshot. A first message that is not a snapshot counts as an error.
pub async fn snapshots(
    target: &Target,
    event: &str,
    workers: usize,
    budget: Arc<Budget>,
) -> Result<(Recorder, Duration), String> {
    let url = Arc::new(format!("ws://{}/api/events/{event}/live", target.addr));
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers.max(1))
        .map(|_| {
            let (url, budget) = (url.clone(), budget.clone());
            tokio::spawn(async move {
                let mut rec = Recorder::default();
                while budget.take() {
                    let begin = Instant::now();
                    let ok = snapshot_once(&url).await;
                    let out = Outcome {
                        status: if ok { 101 } else { 0 },
                        body: Bytes::new(),
                        latency: begin.elapsed(),
                    };
                    rec.record(&out, ok);
                }
                rec
            })
        })
        .collect();
    let rec = merged(tasks).await?;
    Ok((rec, start.elapsed()))
}

async fn snapshot_once(url: &str) -> bool {
    let connect = tokio_tungstenite::connect_async(url);
    let Ok(Ok((mut ws, _))) = tokio::time::timeout(Duration::from_secs(30), connect).await else {
        return false;
    };
    let first = tokio::time::timeout(Duration::from_secs(30), ws.next()).await;
    let ok = match first {
        Ok(Some(Ok(msg))) => msg
            .to_text()
            .is_ok_and(|t| t.contains(r#""type":"snapshot""#)),
        _ => false,
    };
    let _ = ws.close(None).await;
    ok
}

/// The resident set, in KiB, that a Linux `/proc/PID/status` file gives.
pub fn rss_kib(status: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string(status).map_err(|e| format!("{status}: {e}"))?;
    text.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse().ok())
        .ok_or_else(|| format!("no VmRSS in {status}"))
}
