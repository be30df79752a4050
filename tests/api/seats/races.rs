//! Races: 200 buyers asking at once for overlapping seat sets of one event
//! (explicit ids and best available mixed, with cancels and payments in
//! between), then an audit through the API: no seat in two live orders,
//! every order holds exactly its seats, the counts add up, and a refused
//! order held nothing.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::helpers::*;

/// A small deterministic generator (splitmix64), one per buyer.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Checks every invariant of the event `eid` through the API; `placed` are
/// the orders the server acknowledged (201), by buyer.
async fn audit(app: &TestApp, eid: &str, placed: &[(User, String)]) {
    let seats = all_seats(app, eid).await;
    let mut holder: HashMap<String, String> = HashMap::new();
    let mut live_seats = 0;
    let (mut reserved, mut sold) = (0, 0);
    for (buyer, oid) in placed {
        let o = app.order(buyer, oid).await;
        let status = o["status"].as_str().unwrap();
        let tickets = o["tickets"].as_array().unwrap();
        let want_status = match status {
            "created" => "reserved",
            "complete" => "sold",
            "cancelled" => "available-or-other",
            other => panic!("unexpected order status {other}"),
        };
        if status == "cancelled" {
            continue;
        }
        live_seats += tickets.len();
        for t in tickets {
            let seat = app.ticket(&id_of(t)).await;
            assert_eq!(
                seat["status"], want_status,
                "seat of order {oid} in {status}"
            );
            assert_eq!(
                seat["orderId"],
                json!(oid),
                "the seat points back at its order"
            );
            if let Some(other) = holder.insert(id_of(t), oid.clone()) {
                panic!("seat {} is in two live orders: {other} and {oid}", id_of(t));
            }
        }
        if status == "created" {
            reserved += tickets.len();
        } else {
            sold += tickets.len();
        }
    }
    // No seat is held or sold that no acknowledged order explains.
    for s in &seats {
        match s["status"].as_str().unwrap() {
            "available" => assert_eq!(s["orderId"], json!(null)),
            _ => assert_eq!(
                holder.get(&id_of(s)).map(String::as_str),
                s["orderId"].as_str(),
                "a held seat belongs to an acknowledged live order"
            ),
        }
    }
    let e = app
        .get(&format!("/api/events/{eid}"), Auth::None)
        .await
        .json(200);
    assert_eq!(e["seats"]["reserved"], reserved);
    assert_eq!(e["seats"]["sold"], sold);
    assert_eq!(e["seats"]["available"], seats.len() - live_seats);
    let free = seats.iter().filter(|s| s["status"] == "available").count();
    assert_eq!(free, seats.len() - live_seats);
}

#[tokio::test]
async fn two_hundred_buyers_racing_for_overlapping_seats_never_share_one() {
    let _heavy = heavy_or_timed().await;
    let app = Arc::new(spawn_app().await);
    let org = app.signup().await;
    // 6 rows of 10 and 20 standing: 80 seats for 200 buyers of 1 to 4.
    let rows: Vec<Value> = (0..6)
        .map(|i| json!({"label": format!("{i}"), "seats": 10}))
        .collect();
    let e = create_event(
        &app,
        &org,
        json!([{"name": "Stalls", "price": 20, "rows": rows}, {"name": "Pit", "price": 10, "capacity": 20}]),
    )
    .await;
    let eid = id_of(&e);
    let seats = Arc::new(ids(&all_seats(&app, &eid).await));
    let mut buyers = Vec::new();
    for _ in 0..200 {
        buyers.push(app.signup().await);
    }
    let tasks: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(i, buyer)| {
            let (app, seats, eid) = (app.clone(), seats.clone(), eid.clone());
            tokio::spawn(async move {
                let mut dice = Dice(i as u64 * 7919 + 1);
                let n = 1 + dice.below(4) as usize;
                let body = if dice.below(2) == 0 {
                    // An explicit set inside a window of 12 seats, so sets overlap.
                    let base = dice.below(seats.len() as u64 - 12) as usize;
                    let mut pick: Vec<String> = Vec::new();
                    while pick.len() < n {
                        let s = seats[base + dice.below(12) as usize].clone();
                        if !pick.contains(&s) {
                            pick.push(s);
                        }
                    }
                    json!({ "ticketIds": pick })
                } else if dice.below(2) == 0 {
                    json!({"eventId": eid, "quantity": n})
                } else {
                    json!({"eventId": eid, "quantity": n, "section": "Pit"})
                };
                let r = app.post("/api/orders", Auth::Bearer(&buyer), body).await;
                let placed = match r.status {
                    201 => Some(id_of(&r.body)),
                    400 => {
                        let m = r.body["errors"][0]["message"].as_str().unwrap().to_owned();
                        assert!(
                            m == "Ticket is already reserved" || m == "Not enough seats available",
                            "unexpected refusal {m}"
                        );
                        None
                    }
                    s => panic!("unexpected status {s}: {}", r.text),
                };
                // Some pay, some cancel, some keep holding.
                if let Some(oid) = &placed {
                    match dice.below(3) {
                        0 => {
                            app.pay(&buyer, oid).await;
                        }
                        1 => app.cancel(&buyer, oid).await,
                        _ => {}
                    }
                }
                placed.map(|oid| (buyer, oid))
            })
        })
        .collect();
    let mut placed = Vec::new();
    for t in tasks {
        if let Some(p) = t.await.expect("a buyer task") {
            placed.push(p);
        }
    }
    assert!(placed.len() >= 20, "some orders succeed ({})", placed.len());
    audit(&app, &eid, &placed).await;
    // Best available never fails while enough seats are free: with every
    // race over, asking for what is left succeeds.
    let left = app
        .get(&format!("/api/events/{eid}"), Auth::None)
        .await
        .json(200)["seats"]["available"]
        .as_u64()
        .unwrap();
    if left > 0 {
        let last = app.signup().await;
        app.post(
            "/api/orders",
            Auth::Bearer(&last),
            json!({"eventId": eid, "quantity": left.min(10)}),
        )
        .await
        .expect(201);
    }
}

#[tokio::test]
async fn one_buyer_racing_with_itself_never_passes_the_seat_limit() {
    let app = Arc::new(spawn_app().await);
    let org = app.signup().await;
    let e = create_event(
        &app,
        &org,
        json!([{"name": "Pit", "price": 10, "capacity": 100}]),
    )
    .await;
    let eid = id_of(&e);
    let buyer = Arc::new(app.signup().await);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (app, buyer, eid) = (app.clone(), buyer.clone(), eid.clone());
            tokio::spawn(async move {
                app.post(
                    "/api/orders",
                    Auth::Bearer(&buyer),
                    json!({"eventId": eid, "quantity": 3}),
                )
                .await
                .status
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 201 {
            ok += 1;
        }
    }
    assert_eq!(
        ok, 3,
        "3 orders of 3 fit under the limit of 10, a fourth does not"
    );
    let e = app
        .get(&format!("/api/events/{eid}"), Auth::None)
        .await
        .json(200);
    assert_eq!(e["seats"]["reserved"], 9);
}
