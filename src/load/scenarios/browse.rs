//! browse: the read path, GETs of single tickets and of the list.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Map};

use super::{duration, merged, some_ticket_ids, Rng};
use crate::load::client::Conn;
use crate::load::stats::Recorder;
use crate::load::{progress, Budget, LoadArgs, Report, Target};

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
        rates: Vec::new(),
        failed: false,
    })
}
