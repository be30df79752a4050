//! onsale: the waiting room under an on-sale crowd. An event of `--seats`
//! seats with `queue: true` goes on sale `--lead-secs` after its creation;
//! `--buyers` simulated buyers share `--concurrency` connections for their
//! joins and as many for everything else, a third joining before
//! `onSaleAt` and the rest at it; each waits for admission (`--watchers`
//! of them on the queue WebSocket from the start, optionally in
//! `--watcher-procs` child processes; the others poll slowly while far
//! back and wait on the WebSocket once near the front: [`NEAR_PER_ACTIVE`]),
//! thinks `--think-ms`, holds 1 to 4 seats with its pass and pays. The
//! audit, through the API: no seat oversold, no order in part (the event
//! scenario's audit), no admission out of the contract's order, no buyer
//! admitted twice; and the join rate (each wave's too), the p99s of join
//! and admission-to-hold, the pushes' delay and the sell-out time against
//! what `--active-buyers` and the think time allow, with where a slow sale
//! lost its time (seats sold each second, admissions found by polling),
//! and the host's steal time during each wave.

mod buyer;
mod fairness;
mod monitor;
mod pool;
mod procs;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Map};
use tokio::sync::watch;

use super::event::audit::audit;
use super::event::layout::{create_event, event_body};
use crate::domain::Timestamp;
use crate::load::client::Conn;
use crate::load::stats::Recorder;
use crate::load::steal;
use crate::load::{LoadArgs, Report, Target};
use buyer::{Seen, Shared, Stats};
use pool::Pool;

/// The near window, in `--active-buyers`: a polling buyer with at most
/// this many times `--active-buyers` ahead waits on its WebSocket (about
/// five seconds of admissions at a half-second think time: the ETA counts
/// the admissions of the last minute, and a sale that speeds up after its
/// joins' storm admits faster than it says), and at most twice that many
/// sockets are open at once.
const NEAR_PER_ACTIVE: usize = 10;

/// onsale: see the module's doc.
pub async fn onsale(args: &LoadArgs, target: &Target) -> Result<Report, String> {
    let (n, m, first) = (args.seats(), args.buyers(), args.buyers_from.max(1));
    if n == 0 || m == 0 || n > 100_000 {
        return Err("onsale needs --seats from 1 to 100000 and --buyers above 0".into());
    }
    if target.users.len() < first + m {
        return Err(format!(
            "onsale needs {} users (an organiser and the buyers); the seed has {}",
            first + m,
            target.users.len()
        ));
    }
    let mut conn = Conn::bound(target.addr, args.bind);
    let (event, on_sale) = match &args.event {
        Some(id) => (id.clone(), read_on_sale(&mut conn, id).await?),
        None => {
            let at = Timestamp::now().plus(Duration::from_secs_f64(args.lead_secs.max(0.5)));
            let mut body = event_body("On-sale with a queue", n);
            body["onSaleAt"] = json!(at.to_rfc3339());
            body["queue"] = json!(true);
            let id = create_event(&mut conn, &target.users[0].token, &body).await?;
            (id, at)
        }
    };
    let on_sale_local = Instant::now() + Timestamp::now().until(on_sale);
    let children_ranges = procs::ranges(args, first, m);
    let own = m - children_ranges.iter().map(|r| r.len()).sum::<usize>();
    let children = procs::spawn(args, &event, &children_ranges)?;

    let pid = match (target.app.is_some(), args.server_pid) {
        (false, Some(pid)) => Some(pid),
        _ => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let watching = args.event.is_none();
    let monitor = watching.then(|| {
        let run = monitor::run(target.addr, event.clone(), on_sale_local, pid, stop_rx);
        tokio::spawn(run)
    });

    let turns = args.concurrency.max(1);
    let shared = Arc::new(Shared {
        joins: Pool::new(target.addr, args.bind, args.concurrency),
        late_gate: tokio::sync::Semaphore::new(0),
        pool: Pool::new(target.addr, args.bind, args.concurrency),
        addr: target.addr,
        bind: args.bind,
        event: event.clone(),
        tokens: target.users[first..first + own]
            .iter()
            .map(|u| u.token.clone())
            .collect(),
        on_sale: on_sale_local,
        deadline: on_sale_local + Duration::from_secs_f64(args.duration),
        pass_secs: args.pass_secs,
        think: Duration::from_millis(args.think_ms),
        watchers: if children_ranges.is_empty() {
            args.watchers.min(own)
        } else {
            0
        },
        near: NEAR_PER_ACTIVE * args.active_buyers.max(1),
        near_sockets: tokio::sync::Semaphore::new(2 * NEAR_PER_ACTIVE * args.active_buyers.max(1)),
        stats: Stats::default(),
    });
    let gate = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(gate.on_sale.into()).await;
        gate.late_gate.add_permits(turns);
    });
    let tasks: Vec<_> = (0..own)
        .map(|i| tokio::spawn(buyer::buyer(shared.clone(), i, i.is_multiple_of(3))))
        .collect();
    let mut seen = Vec::with_capacity(own);
    for t in tasks {
        seen.push(t.await.map_err(|e| e.to_string())?);
    }
    let children = procs::collect(children).await?;
    let _ = stop_tx.send(true);
    let side = match monitor {
        Some(m) => Some(m.await.map_err(|e| e.to_string())?),
        None => None,
    };

    let places: Vec<_> = seen.iter().map(|s| s.place).collect();
    let fair = fairness::check(&places);
    let twice = seen
        .iter()
        .filter(|s| s.passes > 1 || s.pass_reused)
        .count() as u64;
    let mut extra = Map::new();
    let stats = &shared.stats;
    let mut joins = Recorder::default();
    for wave in &stats.waves {
        joins.merge(&wave.lock().expect("stats lock"));
    }
    let join_span = join_span(&seen);
    extra.insert("seats".into(), json!(n));
    extra.insert("buyers".into(), json!(m));
    extra.insert("event".into(), json!(event));
    extra.insert("active_buyers".into(), json!(args.active_buyers));
    extra.insert("think_ms".into(), json!(args.think_ms));
    extra.insert(
        "early_joiners".into(),
        json!(places.iter().filter(|p| p.early).count()),
    );
    extra.insert("joins".into(), json!(joins.requests));
    extra.insert(
        "join_rps".into(),
        json!(round(
            joins.requests as f64 / join_span.as_secs_f64().max(1e-9)
        )),
    );
    extra.insert("join_p99_ms".into(), json!(round(joins.ms(0.99))));
    for (wave, name) in [(true, "early"), (false, "late")] {
        let rec = stats.waves[usize::from(!wave)].lock().expect("stats lock");
        let span = wave_span(&seen, wave).as_secs_f64().max(1e-9);
        extra.insert(
            format!("join_rps_{name}"),
            json!(round(rec.requests as f64 / span)),
        );
        extra.insert(format!("join_p99_ms_{name}"), json!(round(rec.ms(0.99))));
        // The host's share of the CPUs during the wave.
        if let (Some(steal), Some((from, to))) = (steal::shared(), wave_bounds(&seen, wave)) {
            let pct = steal.share(from, to) * 100.0;
            extra.insert(format!("host_steal_pct_{name}"), json!(round(pct)));
        }
    }
    let sum = |key: &str| {
        children
            .iter()
            .map(|c| c[key].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    let admitted = seen
        .iter()
        .filter(|s| s.place.admitted_seen.is_some())
        .count() as u64;
    let bought = seen.iter().filter(|s| s.order.is_some()).count() as u64;
    extra.insert("admitted".into(), json!(admitted + sum("admitted")));
    extra.insert("bought".into(), json!(bought + sum("bought")));
    extra.insert(
        "soldout_seen".into(),
        json!(
            seen.iter().filter(|s| s.last_status == "soldout").count() as u64 + sum("soldout_seen")
        ),
    );
    extra.insert(
        "order_violations".into(),
        json!(fair.total() + sum("order_violations")),
    );
    extra.insert("misplaced".into(), json!(fair.misplaced));
    extra.insert("join_order_violations".into(), json!(fair.join_order));
    extra.insert(
        "admission_order_violations".into(),
        json!(fair.admission_order),
    );
    extra.insert("passed_over".into(), json!(fair.passed_over));
    extra.insert(
        "admitted_twice".into(),
        json!(twice + sum("admitted_twice")),
    );
    let polls = stats.polls.lock().expect("stats lock").clone();
    let orders = stats.orders.lock().expect("stats lock").clone();
    let hold = stats.admit_to_hold.lock().expect("stats lock").clone();
    let pushes = stats.pushes.lock().expect("stats lock").clone();
    let polled = stats.polled.lock().expect("stats lock").clone();
    extra.insert("admitted_by_poll".into(), json!(polled.histogram.len()));
    extra.insert("poll_discovery_p50_ms".into(), json!(round(polled.ms(0.5))));
    extra.insert(
        "poll_discovery_p99_ms".into(),
        json!(round(polled.ms(0.99))),
    );
    extra.insert("push_p50_ms".into(), json!(round(pushes.ms(0.5))));
    extra.insert("admit_to_hold_p50_ms".into(), json!(round(hold.ms(0.5))));
    extra.insert(
        "admitted_unbought".into(),
        json!(admitted.saturating_sub(bought)),
    );
    extra.insert("polls".into(), json!(polls.requests));
    extra.insert("poll_errors".into(), json!(polls.error_count()));
    extra.insert("order_errors".into(), json!(orders.errors_text()));
    extra.insert("poll_p99_ms".into(), json!(round(polls.ms(0.99))));
    extra.insert("order_p99_ms".into(), json!(round(orders.ms(0.99))));
    extra.insert("admit_to_hold_p99_ms".into(), json!(round(hold.ms(0.99))));
    extra.insert(
        "watchers".into(),
        json!(shared.watchers as u64 + sum("watchers")),
    );
    let peak = stats
        .sockets_peak
        .load(std::sync::atomic::Ordering::Relaxed) as u64;
    extra.insert("watchers_peak".into(), json!(peak + sum("watchers_peak")));
    extra.insert(
        "pushes".into(),
        json!(pushes.histogram.len() + sum("pushes")),
    );
    extra.insert(
        "late_pushes".into(),
        json!(stats.late_pushes.load(std::sync::atomic::Ordering::Relaxed) + sum("late_pushes")),
    );
    extra.insert(
        "socket_failures".into(),
        json!(
            stats
                .socket_failures
                .load(std::sync::atomic::Ordering::Relaxed)
                + sum("socket_failures")
        ),
    );
    let worst = |key: &str, own: f64| {
        children
            .iter()
            .filter_map(|c| c[key].as_f64())
            .fold(own, f64::max)
    };
    extra.insert(
        "push_p99_ms".into(),
        json!(round(worst("push_p99_ms", pushes.ms(0.99)))),
    );
    extra.insert(
        "push_max_ms".into(),
        json!(round(worst("push_max_ms", pushes.max_ms()))),
    );
    let child_errors = sum("errors");
    let mut failed = fair.total() > 0 || twice > 0 || children.iter().any(|c| c["failed"] == true);
    failed |= sum("order_violations") + sum("admitted_twice") > 0;
    let mut oversold = None;
    if let Some(side) = side {
        let ideal = (bought + sum("bought")) as f64 * args.think_ms as f64
            / 1000.0
            / args.active_buyers.max(1) as f64;
        extra.insert(
            "sellout_s".into(),
            json!(side.sellout.map(|d| round(d.as_secs_f64()))),
        );
        extra.insert("sellout_ideal_s".into(), json!(round(ideal)));
        extra.insert("sold_by_second".into(), json!(side.sold_by_second));
        extra.insert(
            "sellout_ratio".into(),
            json!(side
                .sellout
                .map(|d| round(d.as_secs_f64() / ideal.max(1e-9)))),
        );
        if let (Some((f0, r0)), Some((f1, r1))) = (side.base, side.peak) {
            extra.insert("server_files_base".into(), json!(f0));
            extra.insert("server_files_peak".into(), json!(f1));
            extra.insert("server_rss_base_kib".into(), json!(r0));
            extra.insert("server_rss_peak_kib".into(), json!(r1));
            let per = r1.saturating_sub(r0) as f64 * 1024.0 / f1.saturating_sub(f0).max(1) as f64;
            extra.insert("server_rss_bytes_per_conn".into(), json!(round(per)));
        }
        let buyers: Arc<Vec<String>> = Arc::new(
            target.users[first..first + m]
                .iter()
                .map(|u| u.token.clone())
                .collect(),
        );
        let acked: Vec<_> = seen.iter().filter_map(|s| s.order.clone()).collect();
        let a = audit(target, &event, n, &buyers, &acked, false, args.concurrency).await?;
        extra.insert("sold".into(), json!(a.sold));
        extra.insert("held_at_audit".into(), json!(a.reserved));
        extra.insert("partial_orders".into(), json!(a.partial_orders));
        extra.insert("fate_mismatches".into(), json!(a.fate_mismatches));
        extra.insert("counts_mismatch".into(), json!(a.counts_mismatch));
        extra.insert("audit_errors".into(), json!(a.errors));
        failed |= a.oversold > 0
            || a.partial_orders > 0
            || a.fate_mismatches > 0
            || a.counts_mismatch
            || a.errors > 0;
        oversold = Some(a.oversold);
    }
    extra.insert("child_errors".into(), json!(child_errors));
    extra.insert("failed".into(), json!(failed));
    Ok(Report {
        rates: vec![(
            "join".into(),
            joins.requests as f64 / join_span.as_secs_f64().max(1e-9),
        )],
        series: vec![
            ("poll".into(), polls),
            ("order, pay".into(), orders),
            ("admission to hold".into(), hold),
            ("admission to push".into(), pushes),
        ],
        rec: joins,
        elapsed: join_span,
        oversold,
        extra,
        failed,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnSale {
    on_sale_at: Option<String>,
}

/// The `onSaleAt` of an existing event.
async fn read_on_sale(conn: &mut Conn, event: &str) -> Result<Timestamp, String> {
    let out = conn.get(&format!("/api/events/{event}"), None).await;
    serde_json::from_slice::<OnSale>(&out.body)
        .ok()
        .and_then(|e| Timestamp::parse_rfc3339(e.on_sale_at.as_deref()?))
        .ok_or_else(|| format!("event {event}: no onSaleAt (status {})", out.status))
}

/// The time the joins took: the early wave's span plus the late wave's.
fn join_span(seen: &[Seen]) -> Duration {
    wave_span(seen, true) + wave_span(seen, false)
}

/// The time the early (or late) wave's joins took.
fn wave_span(seen: &[Seen], early: bool) -> Duration {
    wave_bounds(seen, early).map_or(Duration::ZERO, |(a, b)| b.saturating_duration_since(a))
}

/// When the first join of the early (or late) wave was sent and the last
/// answered.
fn wave_bounds(seen: &[Seen], early: bool) -> Option<(Instant, Instant)> {
    let mut it = seen
        .iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(3) == early);
    let first = it.clone().map(|(_, s)| s.place.join_sent).min()?;
    let last = it.by_ref().map(|(_, s)| s.place.join_done).max()?;
    Some((first, last))
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
