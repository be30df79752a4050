//! flash-sale: the race this server exists for, many buyers for few seats,
//! followed by an audit through the API that no seat was sold twice.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Map};

use super::{create_tickets, duration, merged, IdOnly, Rng};
use crate::load::client::{id_of, Conn};
use crate::load::stats::Recorder;
use crate::load::{progress, Budget, LoadArgs, Report, Target};

/// The id just below `id` (a 16-hex-digit id), for `?after=`: a page that
/// starts at `id` itself.
fn before(id: &str) -> String {
    let n = u64::from_str_radix(id, 16).unwrap_or(1);
    format!("{:016x}", n.saturating_sub(1))
}

/// flash-sale: `--tickets` seats, `--buyers` buyers racing for them, then an
/// audit through the API. A buyer first tries "their" seat (buyer i takes
/// seat i mod N, so every seat is contested), and on `already reserved` picks
/// a seat still listed as available, up to `--attempts` tries; a buyer who
/// holds a seat pays at once with `tok_visa`.
pub async fn flash_sale(args: &LoadArgs, target: &Target) -> Result<Report, String> {
    let (n, m) = (args.tickets, args.buyers());
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
        rates: Vec::new(),
        failed,
    })
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

    let (orders, e) =
        super::event::audit::buyers_orders::<OrderRow>(target, buyers, args.concurrency).await?;
    errors += e;
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
