//! The workload: one client per user sending random creates, edits,
//! deletes, reservations, cancels and payments, recording every answer in
//! the model until the kill leaves a request unanswered.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{id_of, parse_time, version_of, Api, Auth, User};
use crate::model::{Model, OrderM, TicketM};
use crate::Rng;

/// One request; `None` when no answer came (the server died under it). Any
/// 5xx fails the test.
pub async fn try_call(
    api: &Api,
    method: Method,
    path: &str,
    user: &User,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut rb = api.request(method.clone(), path, Auth::Bearer(user));
    if let Some(b) = &body {
        rb = rb.json(b);
    }
    let resp = rb.send().await.ok()?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.ok()?;
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{method} {path}: non-JSON body {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    assert!(
        status < 500,
        "{method} {path} {body:?}: server error {status}: {v}"
    );
    Some((status, v))
}

#[track_caller]
fn refused(what: &str, status: u16, body: &Value) -> ! {
    panic!("{what}: unexpected answer {status} {body}")
}

/// One client: random operations until the server stops answering.
pub async fn worker(
    w: usize,
    cycle: u64,
    api: Api,
    users: Arc<Vec<User>>,
    model: Arc<Mutex<Model>>,
    seed: u64,
) {
    let me = &users[w];
    let mut rng = Rng::new(seed);
    for n in 0.. {
        let roll = rng.below(100);
        let price = json!(1 + rng.below(999));
        if roll < 15 {
            // create
            let title = format!("c{cycle}w{w}n{n}");
            {
                let mut m = model.lock().unwrap();
                m.pending_creates.push((w, title.clone()));
                m.sent += 1;
            }
            let Some((st, b)) = try_call(
                &api,
                Method::POST,
                "/api/tickets",
                me,
                Some(json!({"title": title, "price": price})),
            )
            .await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            m.pending_creates.retain(|(s, t)| !(*s == w && *t == title));
            if st != 201 {
                refused("create", st, &b);
            }
            assert_eq!(b["title"], json!(title));
            assert_eq!(b["version"], json!(0));
            m.tickets.insert(
                id_of(&b),
                TicketM {
                    seller: w,
                    title,
                    price: b["price"].clone(),
                    pending_edit: None,
                    min_version: 0,
                    deleted: false,
                    pending_delete: false,
                    hint: "available",
                },
            );
            m.acked += 1;
        } else if roll < 30 {
            // edit one of mine
            let title = format!("e{cycle}w{w}n{n}");
            let id = {
                let mut m = model.lock().unwrap();
                let mine = m.mine(w);
                let Some(id) = rng.pick(&mine) else { continue };
                m.tickets.get_mut(&id).unwrap().pending_edit = Some((title.clone(), price.clone()));
                m.sent += 1;
                id
            };
            let Some((st, b)) = try_call(
                &api,
                Method::PUT,
                &format!("/api/tickets/{id}"),
                me,
                Some(json!({"title": title, "price": price})),
            )
            .await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            let t = m.tickets.get_mut(&id).unwrap();
            t.pending_edit = None;
            match st {
                200 => {
                    assert_eq!(b["title"], json!(title), "edit answer {b}");
                    t.title = title;
                    t.price = b["price"].clone();
                    t.min_version = t.min_version.max(version_of(&b));
                    t.hint = "available";
                    m.acked += 1;
                }
                400 => {}
                _ => refused(&format!("PUT /api/tickets/{id}"), st, &b),
            }
        } else if roll < 38 {
            // delete one of mine
            let id = {
                let mut m = model.lock().unwrap();
                let mine = m.mine(w);
                let Some(id) = rng.pick(&mine) else { continue };
                m.tickets.get_mut(&id).unwrap().pending_delete = true;
                m.sent += 1;
                id
            };
            let Some((st, b)) = try_call(
                &api,
                Method::DELETE,
                &format!("/api/tickets/{id}"),
                me,
                None,
            )
            .await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            let t = m.tickets.get_mut(&id).unwrap();
            t.pending_delete = false;
            match st {
                204 => {
                    t.deleted = true;
                    m.acked += 1;
                }
                400 => {}
                _ => refused(&format!("DELETE /api/tickets/{id}"), st, &b),
            }
        } else if roll < 68 {
            // reserve any ticket that may be free
            let id = {
                let mut m = model.lock().unwrap();
                let open: Vec<String> = m
                    .tickets
                    .iter()
                    .filter(|(_, t)| !t.deleted && t.hint != "sold")
                    .map(|(id, _)| id.clone())
                    .collect();
                let Some(id) = rng.pick(&open) else { continue };
                m.pending_reserves.push((w, id.clone()));
                m.sent += 1;
                id
            };
            let Some((st, b)) = try_call(
                &api,
                Method::POST,
                "/api/orders",
                me,
                Some(json!({"ticketId": id})),
            )
            .await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            if let Some(i) = m
                .pending_reserves
                .iter()
                .position(|(b, t)| *b == w && *t == id)
            {
                m.pending_reserves.swap_remove(i);
            }
            match st {
                201 => {
                    assert_eq!(b["status"], json!("created"), "{b}");
                    assert_eq!(b["ticket"]["id"], json!(id), "{b}");
                    let held_version = b["ticket"]["version"]
                        .as_u64()
                        .expect("order ticket version");
                    let t = m.tickets.get_mut(&id).unwrap();
                    t.min_version = t.min_version.max(held_version);
                    t.hint = "reserved";
                    m.orders.insert(
                        id_of(&b),
                        OrderM {
                            buyer: w,
                            ticket: id,
                            status: "created",
                            expires_at: parse_time(b["expiresAt"].as_str().expect("expiresAt")),
                            held_version,
                            pending_cancel: false,
                            pending_pay: false,
                        },
                    );
                    m.acked += 1;
                }
                400 => {
                    let t = m.tickets.get_mut(&id).unwrap();
                    if t.hint == "available" {
                        t.hint = "reserved";
                    }
                }
                404 => {
                    let t = &m.tickets[&id];
                    assert!(
                        t.deleted || t.pending_delete,
                        "reserving ticket {id}: 404, but no DELETE of it was ever sent: {t:?}"
                    );
                }
                _ => refused("POST /api/orders", st, &b),
            }
        } else {
            // cancel or pay one of my held orders
            let pay = roll >= 82;
            let declined = pay && rng.below(10) == 0;
            let oid = {
                let mut m = model.lock().unwrap();
                let mine: Vec<String> = m
                    .orders
                    .iter()
                    .filter(|(_, o)| o.buyer == w && o.status == "created")
                    .map(|(id, _)| id.clone())
                    .collect();
                let Some(oid) = rng.pick(&mine) else { continue };
                let o = m.orders.get_mut(&oid).unwrap();
                if pay && !declined {
                    o.pending_pay = true;
                } else if !pay {
                    o.pending_cancel = true;
                }
                m.sent += 1;
                oid
            };
            let answer = if pay {
                let token = if declined {
                    "tok_chargeDeclined"
                } else {
                    "tok_visa"
                };
                try_call(
                    &api,
                    Method::POST,
                    "/api/payments",
                    me,
                    Some(json!({"orderId": oid, "token": token})),
                )
                .await
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
            let Some((st, b)) = answer else { return };
            let mut m = model.lock().unwrap();
            let o = m.orders.get_mut(&oid).unwrap();
            o.pending_pay = false;
            o.pending_cancel = false;
            let (tid, held) = (o.ticket.clone(), o.held_version);
            let released = match (pay, declined, st) {
                (true, false, 201) => {
                    assert_eq!(b["orderId"], json!(oid), "{b}");
                    o.status = "complete";
                    m.payments.insert(id_of(&b), oid.clone());
                    m.acked += 1;
                    Some("sold")
                }
                (true, true, 402) => None,
                (true, _, 400) => {
                    let msg = b["errors"][0]["message"].as_str().unwrap_or("");
                    assert!(
                        msg.contains("cancelled"),
                        "paying order {oid} believed held: 400 {b}"
                    );
                    // The hold had lapsed; the server released it first.
                    o.status = "cancelled";
                    Some("available")
                }
                (false, _, 204) => {
                    o.status = "cancelled";
                    m.acked += 1;
                    Some("available")
                }
                _ => refused(
                    &format!("{} order {oid}", if pay { "pay" } else { "cancel" }),
                    st,
                    &b,
                ),
            };
            if let Some(hint) = released {
                // Sold or released: one change after the hold.
                let t = m.tickets.get_mut(&tid).unwrap();
                t.min_version = t.min_version.max(held + 1);
                t.hint = hint;
            }
        }
    }
}
