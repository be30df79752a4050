//! signup: the password-hashing bound, and what signups do to reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map};

use super::{merged, some_ticket_ids, Rng};
use crate::load::client::Conn;
use crate::load::stats::Recorder;
use crate::load::{cores, default_signups, progress, Budget, LoadArgs, Report, Target};

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
        rates: Vec::new(),
        failed: false,
    })
}
