//! The audit after each restart: the server's state checked against the
//! model and the global invariants, then adopted as the model.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::client::{parse_time, version_of, User};
use crate::model::{is_live, status_str, Model, OrderM, TicketM, Totals};
use crate::observe::Observed;

/// Checks what the restarted server shows against the model, then makes the
/// model what the server shows (resolving writes left unanswered).
pub fn verify(model: &mut Model, obs: &Observed, users: &[User], cycle: u64, totals: &mut Totals) {
    let ctx = |what: String| format!("cycle {cycle}: {what}");
    let user_index: HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.as_str(), i))
        .collect();

    // Tickets the model knows.
    for (id, tm) in &model.tickets {
        match obs.tickets.get(id) {
            None => {
                assert!(
                    tm.deleted || tm.pending_delete,
                    "{}",
                    ctx(format!("acknowledged ticket {id} lost: {tm:?}"))
                );
                if tm.pending_delete && !tm.deleted {
                    totals.unanswered_applied += 1;
                }
            }
            Some(t) => {
                assert!(
                    !tm.deleted,
                    "{}",
                    ctx(format!("ticket {id} deleted with a 204 is back: {t}"))
                );
                assert_eq!(
                    t["userId"],
                    json!(users[tm.seller].id),
                    "{}",
                    ctx(format!("seller of {id}"))
                );
                assert!(
                    version_of(t) >= tm.min_version,
                    "{}",
                    ctx(format!(
                        "ticket {id} went back to version {} from {} acknowledged: {t}; model {tm:?}",
                        version_of(t),
                        tm.min_version
                    ))
                );
                let acked = (json!(tm.title), tm.price.clone());
                let now = (t["title"].clone(), t["price"].clone());
                let pending = tm
                    .pending_edit
                    .as_ref()
                    .map(|(ti, p)| (json!(ti), p.clone()));
                assert!(
                    now == acked || Some(&now) == pending.as_ref(),
                    "{}",
                    ctx(format!(
                        "ticket {id} shows {now:?}; acknowledged {acked:?}, in flight {pending:?}"
                    ))
                );
                if pending.is_some() && Some(&now) == pending.as_ref() {
                    totals.unanswered_applied += 1;
                }
            }
        }
    }
    // Tickets the model does not know: only unanswered creates.
    let mut creates = std::mem::take(&mut model.pending_creates);
    for (id, t) in &obs.tickets {
        if model.tickets.contains_key(id) {
            continue;
        }
        let seller = user_index
            .get(t["userId"].as_str().unwrap_or(""))
            .copied()
            .unwrap_or_else(|| panic!("{}", ctx(format!("ticket of an unknown user: {t}"))));
        let title = t["title"].as_str().unwrap_or("").to_string();
        let i = creates
            .iter()
            .position(|(s, ti)| *s == seller && *ti == title)
            .unwrap_or_else(|| {
                panic!(
                    "{}",
                    ctx(format!("ticket {id} appeared that no client created: {t}"))
                )
            });
        creates.swap_remove(i);
        assert_eq!(
            version_of(t),
            0,
            "{}",
            ctx(format!("unanswered create {t}"))
        );
        assert_eq!(t["status"], json!("available"), "{}", ctx(format!("{t}")));
        totals.unanswered_applied += 1;
        model.tickets.insert(
            id.clone(),
            TicketM {
                seller,
                title,
                price: t["price"].clone(),
                pending_edit: None,
                min_version: 0,
                deleted: false,
                pending_delete: false,
                hint: "available",
            },
        );
    }

    // Orders the model knows: all still there, in an allowed status.
    for (oid, om) in &model.orders {
        let (buyer, o) = obs
            .orders
            .get(oid)
            .unwrap_or_else(|| panic!("{}", ctx(format!("acknowledged order {oid} lost: {om:?}"))));
        assert_eq!(*buyer, om.buyer, "{}", ctx(format!("buyer of {oid}")));
        assert_eq!(
            o["ticket"]["id"],
            json!(om.ticket),
            "{}",
            ctx(format!("{o}"))
        );
        let st = o["status"].as_str().unwrap_or("");
        let ok = match (om.status, st) {
            ("complete", s) => s == "complete",
            ("cancelled", s) => s == "cancelled",
            ("created", "created") => true,
            ("created", "complete" | "awaiting:payment") => om.pending_pay,
            // Cancelled by the buyer, or by expiry (never before expiresAt).
            ("created", "cancelled") => om.pending_cancel || obs.end >= om.expires_at,
            _ => false,
        };
        assert!(
            ok,
            "{}",
            ctx(format!(
                "order {oid} is {st}; acknowledged {} (cancel in flight: {}, pay in flight: {}, \
                 expiresAt {}, read by {}): {o}",
                om.status, om.pending_cancel, om.pending_pay, om.expires_at, obs.end
            ))
        );
        if (om.pending_pay && st == "complete") || (om.pending_cancel && st == "cancelled") {
            totals.unanswered_applied += 1;
        }
    }
    // Acknowledged payments: their orders are complete.
    for (pid, oid) in &model.payments {
        assert_eq!(
            obs.orders[oid].1["status"],
            json!("complete"),
            "{}",
            ctx(format!("payment {pid} acknowledged for order {oid}"))
        );
    }
    // Orders the model does not know: only unanswered reservations.
    let mut reserves = std::mem::take(&mut model.pending_reserves);
    for (oid, (buyer, o)) in &obs.orders {
        if model.orders.contains_key(oid) {
            continue;
        }
        let tid = o["ticket"]["id"].as_str().unwrap_or("").to_string();
        let i = reserves
            .iter()
            .position(|(b, t)| b == buyer && *t == tid)
            .unwrap_or_else(|| {
                panic!(
                    "{}",
                    ctx(format!("order {oid} appeared that no client placed: {o}"))
                )
            });
        reserves.swap_remove(i);
        let st = o["status"].as_str().unwrap_or("");
        assert!(
            st == "created" || st == "cancelled",
            "{}",
            ctx(format!("unanswered reservation now {st}: {o}"))
        );
        totals.unanswered_applied += 1;
        model.orders.insert(
            oid.clone(),
            OrderM {
                buyer: *buyer,
                ticket: tid,
                status: "created",
                expires_at: parse_time(o["expiresAt"].as_str().unwrap()),
                held_version: 0,
                pending_cancel: false,
                pending_pay: false,
            },
        );
    }

    // Global invariants.
    let mut live: HashMap<String, Vec<String>> = HashMap::new();
    for (oid, (_, o)) in &obs.orders {
        let st = o["status"].as_str().unwrap_or("");
        let tid = o["ticket"]["id"].as_str().unwrap().to_string();
        if is_live(st) {
            live.entry(tid.clone()).or_default().push(oid.clone());
            let t = obs.tickets.get(&tid).unwrap_or_else(|| {
                panic!(
                    "{}",
                    ctx(format!("{st} order {oid} for a ticket that is gone: {o}"))
                )
            });
            assert_eq!(
                t["orderId"],
                json!(oid),
                "{}",
                ctx(format!("{st} order {oid}, but its ticket is {t}"))
            );
            let want = if st == "complete" { "sold" } else { "reserved" };
            assert_eq!(
                t["status"],
                json!(want),
                "{}",
                ctx(format!("{st} order {oid}, but its ticket is {t}"))
            );
        }
        if let Some(t) = obs.tickets.get(&tid) {
            assert!(
                o["ticket"]["version"].as_u64().unwrap() <= version_of(t),
                "{}",
                ctx(format!("order {o} is ahead of its ticket {t}"))
            );
        }
    }
    for (tid, orders) in &live {
        assert!(
            orders.len() <= 1,
            "{}",
            ctx(format!(
                "ticket {tid} has {} live orders: {orders:?}",
                orders.len()
            ))
        );
    }
    for (tid, t) in &obs.tickets {
        match t["status"].as_str().unwrap_or("") {
            "available" => {
                assert_eq!(t["orderId"], Value::Null, "{}", ctx(format!("{t}")));
                assert!(
                    !live.contains_key(tid),
                    "{}",
                    ctx(format!(
                        "available ticket {t} has a live order {:?}",
                        live.get(tid)
                    ))
                );
            }
            "reserved" | "sold" => {
                let oid = t["orderId"].as_str().unwrap_or_else(|| {
                    panic!("{}", ctx(format!("held or sold ticket without order: {t}")))
                });
                assert_eq!(
                    live.get(tid).map(|v| v.as_slice()),
                    Some(&[oid.to_string()][..]),
                    "{}",
                    ctx(format!("ticket {t}: its order is not the one live order"))
                );
            }
            other => panic!("{}", ctx(format!("ticket status {other:?}: {t}"))),
        }
    }

    // Unanswered writes that did not happen are simply forgotten.
    drop(creates);
    drop(reserves);

    // The server's state becomes the model.
    for (id, tm) in model.tickets.iter_mut() {
        tm.pending_edit = None;
        match obs.tickets.get(id) {
            None => {
                tm.deleted = true;
                tm.pending_delete = false;
            }
            Some(t) => {
                tm.pending_delete = false;
                tm.title = t["title"].as_str().unwrap().to_string();
                tm.price = t["price"].clone();
                tm.min_version = tm.min_version.max(version_of(t));
                tm.hint = status_str(t["status"].as_str().unwrap());
            }
        }
    }
    for (oid, om) in model.orders.iter_mut() {
        let o = &obs.orders[oid].1;
        om.pending_cancel = false;
        om.pending_pay = false;
        om.status = status_str(o["status"].as_str().unwrap());
        if om.status == "awaiting:payment" {
            om.status = "created";
        }
        om.held_version = o["ticket"]["version"].as_u64().unwrap();
        if om.status == "created" {
            om.held_version = version_of(&obs.tickets[&om.ticket]);
        }
    }
}
