//! event: an on-sale of a seated event. An event of `--seats` seats, buyers
//! racing for 1 to 4 seats each (ids picked from the seat map, or best
//! available), paying, cancelling or letting holds lapse; then an audit
//! through the API that no seat is oversold and no order exists in part.
//! The same run measures the event routes against the baseline: creating a
//! `--create-seats` event, the 4-seat hold + cancel cycle (the run's main
//! rate), GET of the raced event and its live snapshot; and, with
//! `--events N`, the server's resident memory per seat.

pub(super) mod audit;
pub(super) mod layout;
pub(super) mod measure;
pub(super) mod race;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map};

use super::duration;
use crate::load::client::Conn;
use crate::load::stats::Recorder;
use crate::load::{Budget, LoadArgs, Report, Target};
use layout::{all_seats, create_event, event_body};
use race::{Fate, Race};

/// Clients that read the live snapshot at once: each snapshot of a big
/// event is megabytes, and the generator shares the machine.
const SNAPSHOT_CLIENTS: usize = 4;

/// event: see the module's doc.
pub async fn event(args: &LoadArgs, target: &Target) -> Result<Report, String> {
    let (n, m) = (args.seats(), args.buyers());
    if n == 0 || m == 0 || n > 100_000 {
        return Err("event needs --seats from 1 to 100000 and --buyers above 0".into());
    }
    if target.users.len() < m.max(args.concurrency) + 1 {
        return Err(format!(
            "event needs {} users (an organiser and the buyers); the seed has {}",
            m.max(args.concurrency) + 1,
            target.users.len()
        ));
    }
    let seller = target.users[0].token.clone();
    let mut extra = Map::new();
    memory(args, target, &seller, &mut extra).await?;
    if args.create_seats > 0 {
        let (secs, id) = measure::create_time(target, &seller, args.create_seats).await?;
        measure::delete_event(target, &seller, &id).await?;
        extra.insert("create_seats".into(), json!(args.create_seats));
        extra.insert("create_s".into(), json!(round(secs)));
    }

    // The race.
    let mut conn = Conn::new(target.addr);
    let event = create_event(&mut conn, &seller, &event_body("On-sale", n)).await?;
    let seats = Arc::new(all_seats(&mut conn, &event, n).await?);
    let buyers: Arc<Vec<String>> = Arc::new(
        target.users[1..=m]
            .iter()
            .map(|u| u.token.clone())
            .collect(),
    );
    let race = Race {
        event: event.clone(),
        seats,
        buyers: buyers.clone(),
        attempts: args.attempts.max(1),
        concurrency: args.concurrency,
    };
    let start = Instant::now();
    let (race_rec, acked, tally) =
        race::run(race, target, Budget::new(duration(args), args.requests)).await?;
    let race_elapsed = start.elapsed();
    // With our own server, wait out the window so every hold left unpaid
    // has lapsed, and check that it did.
    let lapsed = target.app.is_some();
    if lapsed {
        tokio::time::sleep(
            Duration::from_secs(args.hold_secs.max(1)) + Duration::from_millis(1500),
        )
        .await;
    }
    let audit = audit::audit(target, &event, n, &buyers, &acked, lapsed, args.concurrency).await?;

    // The measurements.
    let cycle_buyers: Vec<String> = target.users[1..=args.concurrency]
        .iter()
        .map(|u| u.token.clone())
        .collect();
    let phase = || Budget::new(duration(args), args.requests);
    let (cycle_rec, cycle_elapsed) =
        measure::cycle(target, &seller, &cycle_buyers, phase()).await?;
    let path = format!("/api/events/{event}");
    let (get_rec, get_elapsed) = measure::gets(target, path, args.concurrency, phase()).await?;
    let clients = args.concurrency.min(SNAPSHOT_CLIENTS);
    let (snap_rec, snap_elapsed) = measure::snapshots(target, &event, clients, phase()).await?;

    let placed = tally.placed.load(std::sync::atomic::Ordering::Relaxed);
    let count = |f: Fate| acked.iter().filter(|a| a.fate == f).count();
    extra.insert("seats".into(), json!(n));
    extra.insert("buyers".into(), json!(m));
    extra.insert("oversold".into(), json!(audit.oversold));
    extra.insert("partial_orders".into(), json!(audit.partial_orders));
    extra.insert("fate_mismatches".into(), json!(audit.fate_mismatches));
    extra.insert("counts_mismatch".into(), json!(audit.counts_mismatch));
    extra.insert("audit_errors".into(), json!(audit.errors));
    extra.insert("sold".into(), json!(audit.sold));
    extra.insert("held_at_audit".into(), json!(audit.reserved));
    extra.insert("orders_placed".into(), json!(placed));
    extra.insert(
        "orders_refused".into(),
        json!(tally.refused.load(std::sync::atomic::Ordering::Relaxed)),
    );
    extra.insert(
        "seats_in_orders".into(),
        json!(tally.seats_held.load(std::sync::atomic::Ordering::Relaxed)),
    );
    extra.insert("orders_paid".into(), json!(count(Fate::Paid)));
    extra.insert("orders_cancelled".into(), json!(count(Fate::Cancelled)));
    extra.insert("orders_left_to_lapse".into(), json!(count(Fate::Left)));
    extra.insert(
        "orders_placed_per_s".into(),
        json!(round(placed as f64 / race_elapsed.as_secs_f64().max(1e-9))),
    );
    put_phase(&mut extra, "race", &race_rec, race_elapsed);
    let cycles_per_s = rate(&cycle_rec, cycle_elapsed) / 2.0;
    extra.insert("cycles_per_s".into(), json!(round(cycles_per_s)));
    put_phase(&mut extra, "get_event", &get_rec, get_elapsed);
    put_phase(&mut extra, "live_snapshot", &snap_rec, snap_elapsed);
    let failed = audit.oversold > 0
        || audit.partial_orders > 0
        || audit.fate_mismatches > 0
        || audit.counts_mismatch
        || audit.errors > 0;
    Ok(Report {
        rates: vec![
            ("race".into(), rate(&race_rec, race_elapsed)),
            ("get_event".into(), rate(&get_rec, get_elapsed)),
            ("live_snapshot".into(), rate(&snap_rec, snap_elapsed)),
        ],
        series: vec![
            ("race".into(), race_rec),
            ("GET event".into(), get_rec),
            ("live snapshot".into(), snap_rec),
        ],
        rec: cycle_rec,
        elapsed: cycle_elapsed,
        oversold: Some(audit.oversold),
        extra,
        failed,
    })
}

/// With `--events N`: N events of `--seats` seats, and the resident memory
/// they added to the server, per seat (this process with `--embedded`, the
/// `--server-pid` process with `--target`).
async fn memory(
    args: &LoadArgs,
    target: &Target,
    seller: &str,
    extra: &mut Map<String, serde_json::Value>,
) -> Result<(), String> {
    if args.events == 0 {
        return Ok(());
    }
    let status = match (target.app.is_some(), args.server_pid) {
        (true, _) => "/proc/self/status".to_owned(),
        (false, Some(pid)) => format!("/proc/{pid}/status"),
        (false, None) => {
            return Err(
                "--events measures the server's memory: use --embedded or --server-pid".into(),
            )
        }
    };
    let before = measure::rss_kib(&status)?;
    let mut conn = Conn::new(target.addr);
    for i in 0..args.events {
        let body = event_body(&format!("Memory {i}"), args.seats());
        create_event(&mut conn, seller, &body).await?;
    }
    // Let the writer's buffers settle before reading the resident set.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = measure::rss_kib(&status)?;
    let seats = (args.events * args.seats()) as f64;
    extra.insert("memory_seats".into(), json!(args.events * args.seats()));
    extra.insert("rss_before_kib".into(), json!(before));
    extra.insert("rss_after_kib".into(), json!(after));
    extra.insert(
        "rss_bytes_per_seat".into(),
        json!(round(after.saturating_sub(before) as f64 * 1024.0 / seats)),
    );
    Ok(())
}

fn rate(rec: &Recorder, elapsed: Duration) -> f64 {
    rec.requests as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// `NAME_rps`, `NAME_p99_ms` and `NAME_errors` of one phase.
fn put_phase(extra: &mut Map<String, serde_json::Value>, name: &str, rec: &Recorder, t: Duration) {
    extra.insert(format!("{name}_rps"), json!(round(rate(rec, t))));
    extra.insert(format!("{name}_p99_ms"), json!(round(rec.ms(0.99))));
    extra.insert(format!("{name}_errors"), json!(rec.error_count()));
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
