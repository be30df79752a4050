//! The race of the event scenario: buyers ask for 1 to 4 seats each, half
//! by ids picked from the seat map, half best available, then pay, cancel
//! or let the hold lapse. What each was told is kept for the audit.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::json;

use super::layout::SeatRow;
use crate::load::client::Conn;
use crate::load::scenarios::{merged, IdOnly, Rng};
use crate::load::stats::Recorder;
use crate::load::{Budget, Target};

/// What the client did with an acknowledged order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Paid (the payment's 201 came back).
    Paid,
    /// Cancelled (the DELETE's 204 came back).
    Cancelled,
    /// Left to lapse (or a payment or cancel that was not acknowledged).
    Left,
}

/// One order the server acknowledged with 201.
#[derive(Debug, Clone)]
pub struct Acked {
    /// The order's id.
    pub id: String,
    /// Its seats, as the 201 listed them.
    pub seats: Vec<String>,
    /// What the client did next.
    pub fate: Fate,
}

/// Counts of the race, for the report.
#[derive(Default)]
pub struct Tally {
    /// Orders acknowledged.
    pub placed: AtomicU64,
    /// Orders refused with one of the contract's 400s.
    pub refused: AtomicU64,
    /// Seats in acknowledged orders.
    pub seats_held: AtomicU64,
}

/// The refusals a race may meet: anything else is an error.
const REFUSALS: [&str; 3] = [
    "Ticket is already reserved",
    "Not enough seats available",
    "Seat limit reached for this event",
];

#[derive(Deserialize)]
struct OrderBody {
    id: String,
    tickets: Vec<IdOnly>,
}

/// What the race needs to know.
pub struct Race {
    /// The event raced for.
    pub event: String,
    /// Its seats in map order.
    pub seats: Arc<Vec<SeatRow>>,
    /// The buyers' tokens.
    pub buyers: Arc<Vec<String>>,
    /// Orders each buyer places.
    pub attempts: usize,
    /// Workers.
    pub concurrency: usize,
}

/// Runs the race within `budget`; returns the latencies, the acknowledged
/// orders and the counts.
pub async fn run(
    race: Race,
    target: &Target,
    budget: Arc<Budget>,
) -> Result<(Recorder, Vec<Acked>, Arc<Tally>), String> {
    let race = Arc::new(race);
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let tally = Arc::new(Tally::default());
    // Explicit picks land in the front of the map, where best-available
    // requests land too: the seats everyone wants.
    let hot = race.seats.len().min(race.buyers.len() * 4).max(1);
    let tasks: Vec<_> = (0..race.concurrency.clamp(1, race.buyers.len().max(1)))
        .map(|w| {
            let (race, next, acked, tally, budget) = (
                race.clone(),
                next.clone(),
                acked.clone(),
                tally.clone(),
                budget.clone(),
            );
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let mut rec = Recorder::default();
                let mut rng = Rng::new(w as u64 + 7);
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= race.buyers.len() || budget.expired() {
                        break;
                    }
                    for _ in 0..race.attempts {
                        if !budget.take() {
                            break;
                        }
                        let got = one_order(&race, b, hot, &mut conn, &mut rec, &mut rng).await;
                        match got {
                            Some(o) => {
                                tally.placed.fetch_add(1, Ordering::Relaxed);
                                tally
                                    .seats_held
                                    .fetch_add(o.seats.len() as u64, Ordering::Relaxed);
                                acked.lock().expect("acked lock").push(o);
                            }
                            None => {
                                tally.refused.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
                rec
            })
        })
        .collect();
    let rec = merged(tasks).await?;
    let acked = std::mem::take(&mut *acked.lock().expect("acked lock"));
    Ok((rec, acked, tally))
}

/// One order of 1 to 4 seats by buyer `b`, then its payment, cancel or
/// lapse. `None` when it was refused (or failed: recorded as an error).
async fn one_order(
    race: &Race,
    b: usize,
    hot: usize,
    conn: &mut Conn,
    rec: &mut Recorder,
    rng: &mut Rng,
) -> Option<Acked> {
    let token = race.buyers[b].as_str();
    let quantity = 1 + rng.below(4);
    let mut body = json!({"eventId": race.event, "quantity": quantity});
    if rng.unit() < 0.5 {
        // Ids picked from the map: the available seats after a random one.
        let from = &race.seats[rng.below(hot)].id;
        let path = format!(
            "/api/events/{}/seats?status=available&limit={quantity}&after={from}",
            race.event
        );
        let out = conn.get(&path, None).await;
        rec.record(&out, out.status == 200);
        let ids: Vec<String> = serde_json::from_slice::<Vec<IdOnly>>(&out.body)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.id)
            .collect();
        if !ids.is_empty() {
            body = json!({ "ticketIds": ids });
        }
    }
    let out = conn
        .post("/api/orders", Some(token), body.to_string())
        .await;
    if out.status != 201 {
        let text = String::from_utf8_lossy(&out.body);
        let refused = out.status == 400 && REFUSALS.iter().any(|m| text.contains(m));
        rec.record(&out, refused);
        return None;
    }
    let parsed = serde_json::from_slice::<OrderBody>(&out.body);
    rec.record(&out, parsed.is_ok());
    let order = parsed.ok()?;
    let roll = rng.unit();
    let fate = if roll < 0.5 {
        let body = json!({"orderId": order.id, "token": "tok_visa"}).to_string();
        let pay = conn.post("/api/payments", Some(token), body).await;
        rec.record(&pay, pay.status == 201);
        if pay.status == 201 {
            Fate::Paid
        } else {
            Fate::Left
        }
    } else if roll < 0.75 {
        let out = conn
            .delete(&format!("/api/orders/{}", order.id), Some(token))
            .await;
        rec.record(&out, out.status == 204);
        if out.status == 204 {
            Fate::Cancelled
        } else {
            Fate::Left
        }
    } else {
        Fate::Left
    };
    Some(Acked {
        id: order.id,
        seats: order.tickets.into_iter().map(|t| t.id).collect(),
        fate,
    })
}
