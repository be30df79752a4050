//! The waiting room (API.md part 2, "The waiting room"): the routes' table,
//! the draw at the on-sale, admission by `queue.active_buyers`, passes on
//! orders, the waiting list while every seat is held, sold out, restarts,
//! and the entry's WebSocket (its guards: origin and session, in
//! `session`). Every app runs on a manual clock with the
//! on-sale a minute ahead; the line's own moves (its 200 ms tick) are
//! awaited within `ACT_WITHIN`.

mod admission;
mod deletion;
mod draw;
mod live;
mod passes;
mod routes;
mod session;

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// How far ahead of the manual clock a queued event goes on sale.
pub const ON_SALE_IN: Duration = Duration::from_secs(60);

/// Creates a queued event of one standing section of `capacity` places,
/// on sale `ON_SALE_IN` after the manual clock's now; its id.
pub async fn queued_event(app: &TestApp, org: &User, capacity: u64) -> String {
    let on_sale = app.clock().now().plus(ON_SALE_IN).to_rfc3339();
    let e = app
        .post(
            "/api/events",
            Auth::Bearer(org),
            json!({"name": "Big gig", "startsAt": "2031-01-01T00:00:00Z", "onSaleAt": on_sale,
                   "queue": true, "sections": [{"name": "Floor", "price": 10, "capacity": capacity}]}),
        )
        .await
        .json(201);
    assert_eq!(e["queue"], true);
    id_of(&e)
}

/// Moves the manual clock past the on-sale of events made by
/// [`queued_event`].
pub fn open_sale(app: &TestApp) {
    app.clock().advance(ON_SALE_IN + Duration::from_secs(1));
}

pub fn queue_path(eid: &str) -> String {
    format!("/api/events/{eid}/queue")
}

/// `user` joins the line of `eid`: the entry (200).
pub async fn join(app: &TestApp, user: &User, eid: &str) -> Value {
    app.post(&queue_path(eid), Auth::Bearer(user), json!({}))
        .await
        .json(200)
}

/// `user`'s entry in the line of `eid` (200).
pub async fn entry(app: &TestApp, user: &User, eid: &str) -> Value {
    app.get(&queue_path(eid), Auth::Bearer(user))
        .await
        .json(200)
}

/// `user`'s entry once its status is `status` (within `ACT_WITHIN`).
pub async fn entry_becomes(app: &TestApp, user: &User, eid: &str, status: &str) -> Value {
    eventually(ACT_WITHIN, &format!("{} {status}", user.email), || async {
        let e = entry(app, user, eid).await;
        (e["status"] == status).then_some(e)
    })
    .await
}

/// `user` orders `quantity` places of `eid` with `pass` (if any).
pub async fn order(app: &TestApp, user: &User, eid: &str, quantity: u64, pass: &Value) -> Resp {
    let mut body = json!({"eventId": eid, "quantity": quantity});
    if !pass.is_null() {
        body["queuePass"] = pass.clone();
    }
    app.post("/api/orders", Auth::Bearer(user), body).await
}

/// The users of `eid`'s line with their entries, by place; `None` while
/// any is unplaced (before the draw).
pub async fn by_place(app: &TestApp, users: &[User], eid: &str) -> Option<Vec<(User, Value)>> {
    let mut out = Vec::new();
    for u in users {
        let e = entry(app, u, eid).await;
        e["position"].as_u64()?;
        out.push((u.clone(), e));
    }
    out.sort_by_key(|(_, e)| e["position"].as_u64());
    Some(out)
}

/// Asserts that `e` is the contract's entry object with `status`.
#[track_caller]
pub fn assert_shape(e: &Value, eid: &str, status: &str) {
    let keys: Vec<&str> = e
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "ahead",
            "etaSecs",
            "eventId",
            "pass",
            "passExpiresAt",
            "position",
            "status"
        ],
        "{e}"
    );
    assert_eq!(e["eventId"], eid, "{e}");
    assert_eq!(e["status"], status, "{e}");
    let admitted = status == "admitted";
    assert_eq!(
        e["pass"].is_string(),
        admitted,
        "pass only while admitted: {e}"
    );
    assert_eq!(e["passExpiresAt"].is_string(), admitted, "{e}");
}
