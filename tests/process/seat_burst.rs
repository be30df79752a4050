//! `kill -9` in the middle of a burst of orders of several seats (explicit
//! ids and best available, some paid or cancelled at once): after a restart
//! on the same data directory every acknowledged order exists whole, every
//! order that exists is whole, and no seat is in two live orders.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::child::spawn_server;
use crate::client::*;

/// Orders fired at once.
const BURST: usize = 200;
/// Buyers sharing them (each may hold at most 10 seats of the event).
const BUYERS: usize = 50;
/// Acknowledgements to wait for before the kill.
const KILL_AFTER: usize = 40;

/// What a client was told about one order.
struct Told {
    buyer: usize,
    id: String,
    seats: Vec<String>,
    /// `created`, or `complete` / `cancelled` once that was acknowledged.
    status: &'static str,
}

/// Sends `method path` (with `body`), `None` when the server is gone.
async fn try_send(
    api: &Api,
    method: Method,
    path: &str,
    u: &User,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut rb = api.request(method, path, Auth::Bearer(u));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.ok()?;
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    assert!(status < 500 || status == 503, "status {status}: {body}");
    Some((status, body))
}

fn seat_ids(order: &Value) -> Vec<String> {
    order["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("an order has tickets: {order}"))
        .iter()
        .map(id_of)
        .collect()
}

/// One order of the burst: 1 to 4 seats by ids (overlapping other
/// tasks' picks) or best available, then, for some, a payment or a cancel.
async fn one(
    api: Api,
    i: usize,
    buyer: (usize, User),
    event: String,
    seats: Arc<Vec<String>>,
) -> Option<Told> {
    let quantity = 1 + i % 4;
    let body = if i.is_multiple_of(2) {
        let start = (i * 7) % (seats.len() - quantity);
        json!({"ticketIds": seats[start..start + quantity]})
    } else {
        json!({"eventId": event, "quantity": quantity})
    };
    let (status, order) = try_send(&api, Method::POST, "/api/orders", &buyer.1, Some(body)).await?;
    if status != 201 {
        let message = order["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            status == 400
                && [
                    "Ticket is already reserved",
                    "Not enough seats available",
                    "Seat limit reached for this event"
                ]
                .contains(&message),
            "order refused with {status}: {order}"
        );
        return None;
    }
    let mut told = Told {
        buyer: buyer.0,
        id: id_of(&order),
        seats: seat_ids(&order),
        status: "created",
    };
    assert_eq!(order["status"], "created", "{order}");
    match i % 3 {
        0 => {
            let pay = json!({"orderId": told.id, "token": "tok_visa"});
            if let Some((201, _)) =
                try_send(&api, Method::POST, "/api/payments", &buyer.1, Some(pay)).await
            {
                told.status = "complete";
            }
        }
        1 => {
            let path = format!("/api/orders/{}", told.id);
            if let Some((204, _)) = try_send(&api, Method::DELETE, &path, &buyer.1, None).await {
                told.status = "cancelled";
            }
        }
        _ => {}
    }
    Some(told)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst_of_seat_orders_leaves_every_order_whole_or_absent() {
    let (data, logs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    let api = s.api.clone();
    let organiser = api.signup().await;
    let mut set = JoinSet::new();
    for b in 0..BUYERS {
        let api = api.clone();
        set.spawn(async move { (b, api.signup().await) });
    }
    let mut buyers: Vec<(usize, User)> = Vec::new();
    while let Some(r) = set.join_next().await {
        buyers.push(r.unwrap());
    }
    buyers.sort_by_key(|(b, _)| *b);
    let rows: Vec<Value> = (0..20)
        .map(|r| json!({"label": format!("R{r}"), "seats": 12}))
        .collect();
    let event = api
        .post(
            "/api/events",
            Auth::Bearer(&organiser),
            json!({"name": "Burst", "startsAt": "2030-06-01T19:00:00Z",
                   "sections": [{"name": "Hall", "price": 20, "rows": rows}]}),
        )
        .await
        .json(201);
    let eid = id_of(&event);
    let seats: Arc<Vec<String>> = Arc::new(all_seats(&api, &eid).await.iter().map(id_of).collect());
    assert_eq!(seats.len(), 240);

    let acked = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for i in 0..BURST {
        let (api, buyer, eid, seats, acked) = (
            api.clone(),
            buyers[i % BUYERS].clone(),
            eid.clone(),
            seats.clone(),
            acked.clone(),
        );
        set.spawn(async move {
            tokio::time::sleep(Duration::from_millis(i as u64 * 2)).await;
            let told = one(api, i, buyer, eid, seats).await;
            if told.is_some() {
                acked.fetch_add(1, Ordering::Relaxed);
            }
            told
        });
    }
    // Kill once some orders are acknowledged, while others are in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while acked.load(Ordering::Relaxed) < KILL_AFTER && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    s.kill9();
    let mut told: Vec<Told> = Vec::new();
    while let Some(r) = set.join_next().await {
        told.extend(r.unwrap());
    }
    assert!(
        told.len() >= KILL_AFTER,
        "{} orders acknowledged",
        told.len()
    );
    assert!(
        told.len() < BURST,
        "the kill came mid-burst: every order was answered"
    );
    eprintln!(
        "{} of {BURST} orders acknowledged before the kill",
        told.len()
    );

    let s2 = spawn_server(data.path(), logs.path(), 600, &[]);
    let api = s2.api.clone();
    // Every acknowledged order exists whole, in (at least) the state told.
    for t in &told {
        let o = api.order(&buyers[t.buyer].1, &t.id).await;
        assert_eq!(
            seat_ids(&o),
            t.seats,
            "seats of acknowledged order {}",
            t.id
        );
        let status = o["status"].as_str().unwrap();
        let allowed: &[&str] = match t.status {
            "complete" => &["complete"],
            "cancelled" => &["cancelled"],
            // A payment or cancel may have been durable but unanswered.
            _ => &["created", "complete", "cancelled"],
        };
        assert!(
            allowed.contains(&status),
            "order {} told {}, now {o}",
            t.id,
            t.status
        );
    }
    // Every order that exists is whole; no seat is in two live orders.
    let seat_rows: HashMap<String, Value> = all_seats(&api, &eid)
        .await
        .into_iter()
        .map(|s| (id_of(&s), s))
        .collect();
    let mut holder: HashMap<String, String> = HashMap::new();
    for (_, u) in &buyers {
        let list = api.get("/api/orders", Auth::Bearer(u)).await.json(200);
        for o in list.as_array().unwrap() {
            let oid = id_of(o);
            let status = o["status"].as_str().unwrap();
            for sid in seat_ids(o) {
                let seat = &seat_rows[&sid];
                match status {
                    "cancelled" => assert_ne!(
                        seat["orderId"],
                        json!(oid),
                        "seat {sid} of cancelled order {oid}: {seat}"
                    ),
                    live => {
                        let want = if live == "complete" {
                            "sold"
                        } else {
                            "reserved"
                        };
                        assert_eq!(
                            seat["status"], want,
                            "seat {sid} of {live} order {oid}: {seat}"
                        );
                        assert_eq!(
                            seat["orderId"],
                            json!(oid),
                            "seat {sid} of {live} order {oid}: {seat}"
                        );
                        if let Some(other) = holder.insert(sid.clone(), oid.clone()) {
                            panic!("seat {sid} is in two live orders: {other} and {oid}");
                        }
                    }
                }
            }
        }
    }
    // Nothing held or sold that no order explains; the counts add up.
    let (mut reserved, mut sold) = (0u64, 0u64);
    for (sid, seat) in &seat_rows {
        match seat["status"].as_str().unwrap() {
            "available" => {
                assert_eq!(seat["orderId"], json!(null), "{seat}");
                continue;
            }
            "sold" => sold += 1,
            _ => reserved += 1,
        }
        assert_eq!(
            holder.get(sid).map(String::as_str),
            seat["orderId"].as_str(),
            "seat {sid}: {seat}"
        );
    }
    let e = api
        .get(&format!("/api/events/{eid}"), Auth::None)
        .await
        .json(200);
    assert_eq!(
        e["seats"],
        json!({"total": 240, "available": 240 - reserved - sold, "reserved": reserved, "sold": sold}),
        "counts of {e}"
    );
}
