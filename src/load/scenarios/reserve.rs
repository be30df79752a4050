//! reserve: durable writes back to back, to see group commit at work.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Map};

use super::{create_tickets, duration, merged};
use crate::load::client::{id_of, Conn};
use crate::load::stats::Recorder;
use crate::load::{progress, Budget, LoadArgs, Report, Target};

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
        .map(|a| a.state().core.storage().stats());
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
        let a = app.state().core.storage().stats();
        let flushes = a.groups.saturating_sub(b.groups);
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
        rates: Vec::new(),
        failed: false,
    })
}
