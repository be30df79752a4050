//! The event scenario's audit, through the API only: every seat of the
//! event, every buyer's orders and the event's counts, checked against one
//! another and against what the clients were told.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Deserialize;

use super::layout::{all_seats, SeatRow};
use super::race::{Acked, Fate};
use crate::load::client::Conn;
use crate::load::scenarios::IdOnly;
use crate::load::Target;

/// What the audit found.
#[derive(Debug, Default)]
pub struct Audit {
    /// Seats in two live orders, plus held or sold seats that no live order
    /// of theirs explains.
    pub oversold: u64,
    /// Orders (acknowledged, or listed by the server) whose seats are not
    /// all in the order's state, or acknowledged orders that are missing.
    pub partial_orders: u64,
    /// Acknowledged orders whose status contradicts what their client was
    /// told (a paid order not complete, a cancelled one not cancelled, a
    /// hold left past its window not lapsed).
    pub fate_mismatches: u64,
    /// Whether the event's counts differ from its seat list.
    pub counts_mismatch: bool,
    /// Seats sold.
    pub sold: u64,
    /// Seats held.
    pub reserved: u64,
    /// Reads that failed.
    pub errors: u64,
}

#[derive(Deserialize)]
struct OrderRow {
    id: String,
    status: String,
    #[serde(default)]
    tickets: Vec<IdOnly>,
}

#[derive(Deserialize)]
struct EventRow {
    seats: Counts,
}

#[derive(Deserialize, PartialEq, Eq, Debug, Default)]
struct Counts {
    total: u64,
    available: u64,
    reserved: u64,
    sold: u64,
}

fn live(status: &str) -> bool {
    matches!(status, "created" | "awaiting:payment" | "complete")
}

/// The seat state an order in `status` gives its seats.
fn seat_state(status: &str) -> &'static str {
    if status == "complete" {
        "sold"
    } else {
        "reserved"
    }
}

/// Audits `event` after the race. `lapsed` says whether every hold left
/// unpaid must have lapsed by now (the window has passed).
pub async fn audit(
    target: &Target,
    event: &str,
    size: usize,
    buyers: &Arc<Vec<String>>,
    acked: &[Acked],
    lapsed: bool,
    concurrency: usize,
) -> Result<Audit, String> {
    let mut a = Audit::default();
    let mut conn = Conn::new(target.addr);
    let seats: HashMap<String, SeatRow> = all_seats(&mut conn, event, size)
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let orders = buyers_orders::<OrderRow>(target, buyers, concurrency).await;
    let (orders, errors) = orders?;
    a.errors += errors;

    // Every order found, and every acknowledged one, must be whole.
    let seat_set: HashSet<&str> = seats.keys().map(String::as_str).collect();
    let by_id: HashMap<&str, &OrderRow> = orders
        .iter()
        .filter(|o| o.tickets.iter().any(|t| seat_set.contains(t.id.as_str())))
        .map(|o| (o.id.as_str(), o))
        .collect();
    for o in by_id.values() {
        let whole = o.tickets.iter().all(|t| match seats.get(&t.id) {
            Some(s) if live(&o.status) => {
                s.status == seat_state(&o.status) && s.order_id.as_deref() == Some(&o.id)
            }
            Some(s) => s.order_id.as_deref() != Some(&o.id),
            None => false,
        });
        if !whole {
            a.partial_orders += 1;
        }
    }
    for o in acked {
        match by_id.get(o.id.as_str()) {
            None => a.partial_orders += 1,
            Some(found) => {
                let listed: Vec<&str> = found.tickets.iter().map(|t| t.id.as_str()).collect();
                if listed != o.seats.iter().map(String::as_str).collect::<Vec<_>>() {
                    a.partial_orders += 1;
                }
                let told = match o.fate {
                    Fate::Paid => found.status == "complete",
                    Fate::Cancelled => found.status == "cancelled",
                    Fate::Left => !lapsed || found.status == "cancelled",
                };
                if !told {
                    a.fate_mismatches += 1;
                }
            }
        }
    }

    // No seat in two live orders; every held or sold seat explained.
    let mut live_orders: HashMap<&str, u64> = HashMap::new();
    for o in by_id.values().filter(|o| live(&o.status)) {
        for t in &o.tickets {
            *live_orders.entry(t.id.as_str()).or_default() += 1;
        }
    }
    a.oversold += live_orders.values().filter(|k| **k > 1).count() as u64;
    for s in seats.values() {
        match s.status.as_str() {
            "available" => continue,
            "sold" => a.sold += 1,
            _ => a.reserved += 1,
        }
        let explained = s
            .order_id
            .as_deref()
            .and_then(|o| by_id.get(o))
            .is_some_and(|o| {
                live(&o.status)
                    && seat_state(&o.status) == s.status
                    && o.tickets.iter().any(|t| t.id == s.id)
            });
        if !explained {
            a.oversold += 1;
        }
    }

    let out = conn.get(&format!("/api/events/{event}"), None).await;
    match serde_json::from_slice::<EventRow>(&out.body) {
        Ok(e) if out.status == 200 => {
            let listed = Counts {
                total: seats.len() as u64,
                available: seats.len() as u64 - a.sold - a.reserved,
                reserved: a.reserved,
                sold: a.sold,
            };
            a.counts_mismatch = e.seats != listed;
        }
        _ => a.errors += 1,
    }
    Ok(a)
}

/// `GET /api/orders` of every buyer, `concurrency` at a time, each order
/// read as `Row` (the audits read different fields); with how many reads
/// failed.
pub(crate) async fn buyers_orders<Row>(
    target: &Target,
    buyers: &Arc<Vec<String>>,
    concurrency: usize,
) -> Result<(Vec<Row>, u64), String>
where
    Row: serde::de::DeserializeOwned + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency.clamp(1, buyers.len().max(1)))
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
                    match serde_json::from_slice::<Vec<Row>>(&out.body) {
                        Ok(orders) if out.status == 200 => found.extend(orders),
                        _ => errors += 1,
                    }
                }
                (found, errors)
            })
        })
        .collect();
    let mut orders = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (found, e) = t.await.map_err(|e| e.to_string())?;
        orders.extend(found);
        errors += e;
    }
    Ok((orders, errors))
}
