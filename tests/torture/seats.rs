//! The seat part of the torture: buyers of their own order seats of the
//! cycle's event (1 to 4, by ids or best available), cancel and pay, while
//! the kill can land anywhere. After each restart: every acknowledged
//! (201/204) order is whole in the state its status says, no order exists
//! in part, no seat is in two live orders, held and sold seats are all
//! explained by an order, the event's counts add up, and holds past their
//! deadline are released.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::client::{id_of, parse_time, Api, Auth, User};
use crate::observe::latest;
use crate::workload::try_call;
use crate::{Rng, EXPIRY_SLACK};

/// One order of seats as its client knows it.
#[derive(Debug, Clone)]
pub struct SeatOrderM {
    /// Index of its buyer among the seat buyers.
    pub buyer: usize,
    /// Its seats, as the 201 listed them.
    pub seats: Vec<String>,
    /// `created`, `cancelled` or `complete`, as last acknowledged or seen.
    pub status: &'static str,
    /// A cancel or payment is in flight or was left unanswered.
    pub pending: bool,
}

/// What the seat buyers were told, shared under a lock.
#[derive(Default)]
pub struct SeatModel {
    /// The events, one per cycle, with their seats in map order.
    pub events: Vec<(String, Vec<String>)>,
    /// order id -> order.
    pub orders: HashMap<String, SeatOrderM>,
    /// Orders asked for and left unanswered by a kill.
    pub pending_places: u64,
    /// Acknowledged writes checked so far.
    pub acked: u64,
}

/// Creates the cycle's event (organised by `organiser`): 3 rows of 8 and a
/// row of 6.
pub async fn new_event(api: &Api, organiser: &User, cycle: u64, model: &Mutex<SeatModel>) {
    let rows = json!([
        {"label": "A", "seats": 8}, {"label": "B", "seats": 8},
        {"label": "C", "seats": 8}, {"label": "D", "seats": 6}
    ]);
    let e = api
        .post(
            "/api/events",
            Auth::Bearer(organiser),
            json!({"name": format!("Torture {cycle}"), "startsAt": "2030-06-01T19:00:00Z",
                   "sections": [{"name": "Hall", "price": 12, "rows": rows}]}),
        )
        .await
        .json(201);
    let eid = id_of(&e);
    let seats = api
        .get(&format!("/api/events/{eid}/seats?limit=1000"), Auth::None)
        .await
        .json(200);
    let seats = seats.as_array().unwrap().iter().map(id_of).collect();
    model.lock().unwrap().events.push((eid, seats));
}

fn seat_ids(order: &Value) -> Vec<String> {
    order["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("an order has tickets: {order}"))
        .iter()
        .map(id_of)
        .collect()
}

/// One seat buyer: orders, cancels and payments on the latest event until
/// the server stops answering.
pub async fn seat_worker(
    b: usize,
    api: Api,
    buyers: Arc<Vec<User>>,
    model: Arc<Mutex<SeatModel>>,
    seed: u64,
) {
    let me = &buyers[b];
    let mut rng = Rng::new(seed);
    loop {
        let roll = rng.below(100);
        if roll < 55 {
            let (eid, body) = {
                let mut m = model.lock().unwrap();
                let (eid, seats) = m.events.last().unwrap().clone();
                let quantity = 1 + rng.below(4) as usize;
                let body = if roll < 30 {
                    let start = rng.below((seats.len() - quantity) as u64) as usize;
                    json!({"ticketIds": seats[start..start + quantity]})
                } else {
                    json!({"eventId": eid, "quantity": quantity})
                };
                m.pending_places += 1;
                (eid, body)
            };
            let Some((st, o)) =
                try_call(&api, Method::POST, "/api/orders", me, Some(body.clone())).await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            m.pending_places -= 1;
            if st != 201 {
                let msg = o["errors"][0]["message"].as_str().unwrap_or_default();
                assert!(
                    st == 400
                        && [
                            "Ticket is already reserved",
                            "Not enough seats available",
                            "Seat limit reached for this event"
                        ]
                        .contains(&msg),
                    "order {body} of event {eid}: unexpected answer {st} {o}"
                );
                continue;
            }
            assert_eq!(o["status"], "created", "{o}");
            let seats = seat_ids(&o);
            if let Some(ids) = body["ticketIds"].as_array() {
                let asked: Vec<String> =
                    ids.iter().map(|v| v.as_str().unwrap().to_owned()).collect();
                assert_eq!(seats, asked, "the order holds the seats asked for: {o}");
            }
            m.orders.insert(
                id_of(&o),
                SeatOrderM {
                    buyer: b,
                    seats,
                    status: "created",
                    pending: false,
                },
            );
            m.acked += 1;
        } else {
            let pay = roll < 80;
            let picked = {
                let mut m = model.lock().unwrap();
                let mine: Vec<String> = m
                    .orders
                    .iter()
                    .filter(|(_, o)| o.buyer == b && o.status == "created" && !o.pending)
                    .map(|(id, _)| id.clone())
                    .collect();
                let picked = rng.pick(&mine);
                if let Some(oid) = &picked {
                    m.orders.get_mut(oid).unwrap().pending = true;
                }
                picked
            };
            let Some(oid) = picked else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let answer = if pay {
                let body = json!({"orderId": oid, "token": "tok_visa"});
                try_call(&api, Method::POST, "/api/payments", me, Some(body)).await
            } else {
                try_call(
                    &api,
                    Method::DELETE,
                    &format!("/api/orders/{oid}"),
                    me,
                    None,
                )
                .await
            };
            let Some((st, body)) = answer else { return };
            let mut m = model.lock().unwrap();
            let om = m.orders.get_mut(&oid).unwrap();
            om.pending = false;
            match (pay, st) {
                (true, 201) => om.status = "complete",
                (false, 204) => om.status = "cancelled",
                // The hold lapsed first (2 s window): refused, and cancelled.
                (_, 400)
                    if body["errors"][0]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("cancelled")) =>
                {
                    om.status = "cancelled";
                    continue;
                }
                _ => panic!(
                    "{} of seat order {oid}: unexpected answer {st} {body}",
                    if pay { "payment" } else { "cancel" }
                ),
            }
            m.acked += 1;
        }
    }
}

/// One consistent reading of the seat part.
struct Reading {
    /// order id -> (buyer index, order).
    orders: HashMap<String, (usize, Value)>,
    /// seat id -> seat ticket.
    seats: HashMap<String, Value>,
    /// event id -> the event's `seats` counts.
    counts: HashMap<String, Value>,
    /// When the reading started.
    at: OffsetDateTime,
}

/// Every order of the seat buyers, every seat and the counts of every
/// event, the orders read before and after the rest until both agree.
async fn read(api: &Api, buyers: &[User], events: &[(String, Vec<String>)]) -> Reading {
    async fn orders(api: &Api, buyers: &[User]) -> HashMap<String, (usize, Value)> {
        let mut out = HashMap::new();
        for (b, u) in buyers.iter().enumerate() {
            let list = api.get("/api/orders", Auth::Bearer(u)).await.json(200);
            for o in list.as_array().unwrap() {
                assert!(
                    out.insert(id_of(o), (b, o.clone())).is_none(),
                    "order listed twice: {o}"
                );
            }
        }
        out
    }
    for _ in 0..20 {
        let at = OffsetDateTime::now_utc();
        let before = orders(api, buyers).await;
        let (mut seats, mut counts) = (HashMap::new(), HashMap::new());
        for (eid, _) in events {
            let e = api
                .get(&format!("/api/events/{eid}"), Auth::None)
                .await
                .json(200);
            counts.insert(eid.clone(), e["seats"].clone());
            let list = api
                .get(&format!("/api/events/{eid}/seats?limit=1000"), Auth::None)
                .await
                .json(200);
            for s in list.as_array().unwrap() {
                seats.insert(id_of(s), s.clone());
            }
        }
        let after = orders(api, buyers).await;
        if before == after {
            return Reading {
                orders: after,
                seats,
                counts,
                at,
            };
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("seat orders kept changing while reading them, with no load running");
}

/// Checks the restarted server's seats and seat orders against the model
/// and the invariants, then adopts what it shows.
pub async fn verify(
    api: &Api,
    buyers: &[User],
    model: &Mutex<SeatModel>,
    restarted: OffsetDateTime,
    cycle: u64,
) {
    let events = model.lock().unwrap().events.clone();
    // Wait until every hold past its deadline is released (bounded).
    let Reading {
        orders,
        seats,
        counts,
        ..
    } = loop {
        let reading = read(api, buyers, &events).await;
        let (orders, at) = (&reading.orders, reading.at);
        let stale: Vec<(&String, OffsetDateTime)> = orders
            .iter()
            .filter(|(_, (_, o))| o["status"] == "created")
            .map(|(id, (_, o))| (id, parse_time(o["expiresAt"].as_str().unwrap())))
            .filter(|(_, e)| *e + Duration::from_millis(50) < at)
            .collect();
        if stale.is_empty() {
            break reading;
        }
        for (id, e) in &stale {
            assert!(
                at <= latest(*e, restarted) + EXPIRY_SLACK,
                "cycle {cycle}: seat hold {id} (expiresAt {e}) still held at {at}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut m = model.lock().unwrap();
    // Every acknowledged order exists, with its seats, in a status its
    // answers allow.
    for (oid, om) in &m.orders {
        let (_, o) = orders
            .get(oid)
            .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged seat order {oid} lost: {om:?}"));
        assert_eq!(seat_ids(o), om.seats, "cycle {cycle}: seats of order {oid}");
        let st = o["status"].as_str().unwrap();
        let ok = match (om.status, om.pending) {
            ("complete", _) => st == "complete",
            ("cancelled", _) => st == "cancelled",
            // A hold may lapse; a payment or cancel in flight may have landed.
            (_, pending) => st == "cancelled" || st == "created" || (pending && st == "complete"),
        };
        assert!(
            ok,
            "cycle {cycle}: order {oid} acknowledged {} (pending {}), now {o}",
            om.status, om.pending
        );
    }
    // Orders nobody was told about: only unanswered requests.
    let unknown = orders
        .keys()
        .filter(|id| !m.orders.contains_key(*id))
        .count() as u64;
    assert!(
        unknown <= m.pending_places,
        "cycle {cycle}: {unknown} seat orders appeared, {} unanswered",
        m.pending_places
    );
    // Every order is whole; no seat is in two live orders.
    let mut holder: HashMap<&str, &str> = HashMap::new();
    for (oid, (_, o)) in &orders {
        let st = o["status"].as_str().unwrap();
        for sid in o["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
        {
            let seat = &seats[sid];
            if st == "cancelled" {
                assert_ne!(
                    seat["orderId"],
                    json!(oid),
                    "cycle {cycle}: seat {sid} of cancelled order {oid}: {seat}"
                );
                continue;
            }
            let want = if st == "complete" { "sold" } else { "reserved" };
            assert_eq!(
                (&seat["status"], &seat["orderId"]),
                (&json!(want), &json!(oid)),
                "cycle {cycle}: seat {sid} of {st} order {oid}"
            );
            if let Some(other) = holder.insert(sid, oid) {
                panic!("cycle {cycle}: seat {sid} in two live orders: {other} and {oid}");
            }
        }
    }
    // Every held or sold seat is explained; the counts add up.
    for (eid, ids) in &events {
        let (mut reserved, mut sold) = (0, 0);
        for sid in ids {
            let seat = &seats[sid];
            match seat["status"].as_str().unwrap() {
                "available" => assert_eq!(seat["orderId"], Value::Null, "cycle {cycle}: {seat}"),
                s => {
                    if s == "sold" {
                        sold += 1
                    } else {
                        reserved += 1
                    }
                    assert_eq!(
                        holder.get(sid.as_str()).map(|o| json!(o)),
                        Some(seat["orderId"].clone()),
                        "cycle {cycle}: seat {sid} unexplained: {seat}"
                    );
                }
            }
        }
        let e = &counts[eid];
        let total = ids.len() as u64;
        assert_eq!(
            e,
            &json!({"total": total, "available": total - reserved - sold, "reserved": reserved, "sold": sold}),
            "cycle {cycle}: counts of {eid}"
        );
    }
    // Adopt what the server shows.
    m.pending_places = 0;
    for (oid, (b, o)) in &orders {
        let status = match o["status"].as_str().unwrap() {
            "complete" => "complete",
            "cancelled" => "cancelled",
            _ => "created",
        };
        m.orders.insert(
            oid.clone(),
            SeatOrderM {
                buyer: *b,
                seats: seat_ids(o),
                status,
                pending: false,
            },
        );
    }
}
