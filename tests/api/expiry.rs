//! Holds expire: an unpaid order becomes `cancelled` and its ticket
//! `available` when the reservation window passes, not earlier, not much later.
//! Most tests run the server on a manual clock and move it to the edges of a
//! hold instead of sleeping through it; one runs on the system clock, so the
//! production timers stay covered.

use std::time::Duration;

use serde_json::{json, Value};
use ticketing::domain::Timestamp;

use crate::helpers::*;

/// How late an expiry may be observed after `expiresAt` on the system clock.
pub const EXPIRY_SLACK: Duration = Duration::from_millis(1500);

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// On the system clock: waits until the order is cancelled; asserts that
/// this happened no earlier than `expiresAt` and no later than `expiresAt +
/// EXPIRY_SLACK`.
async fn wait_for_expiry(app: &Api, buyer: &User, order: &Value) {
    let oid = id_of(order);
    let expires = parse_time(order["expiresAt"].as_str().expect("expiresAt"));
    let until = expires - now() + time::Duration::try_from(EXPIRY_SLACK).unwrap();
    let within = Duration::try_from(until).unwrap_or(Duration::ZERO);
    let what = format!("order {oid} to expire by expiresAt + {EXPIRY_SLACK:?}");
    cancelled_within(app, buyer, order, within, &what).await;
    let seen = now();
    assert!(
        seen + time::Duration::milliseconds(50) >= expires,
        "the hold expired early: seen cancelled at {seen}, expiresAt {expires}"
    );
}

/// Asserts that `order` still holds its ticket.
async fn assert_held(app: &Api, buyer: &User, order: &Value, when: &str) {
    let o = app.order(buyer, &id_of(order)).await;
    assert_eq!(o["status"], json!("created"), "{when}: {o}");
    let tk = app.ticket(&id_of(&order["ticket"])).await;
    assert_eq!(tk["status"], json!("reserved"), "{when}: {tk}");
    assert_eq!(tk["orderId"], order["id"], "{when}: {tk}");
}

/// Waits (up to [`ACT_WITHIN`] of real time) until `order` is cancelled.
pub async fn wait_until_cancelled(app: &Api, buyer: &User, order: &Value, what: &str) {
    cancelled_within(app, buyer, order, ACT_WITHIN, what).await;
}

/// Waits up to `within` until `order` is cancelled (still held meanwhile).
async fn cancelled_within(app: &Api, buyer: &User, order: &Value, within: Duration, what: &str) {
    let oid = id_of(order);
    eventually(within, what, || async {
        let o = app.order(buyer, &oid).await;
        match o["status"].as_str() {
            Some("cancelled") => Some(()),
            Some("created") => None,
            _ => panic!("unexpected order state while waiting for expiry: {o}"),
        }
    })
    .await;
}

/// On `app`'s manual clock: 1 ms before `order`'s `expiresAt` its hold still
/// stands (the server had [`SETTLE`] to act on it), and at `expiresAt` the
/// hold's timer releases it within [`ACT_WITHIN`].
pub async fn expire_on_the_clock(app: &TestApp, buyer: &User, order: &Value) {
    let deadline = timestamp(&order["expiresAt"]);
    assert!(
        app.clock().now() < deadline,
        "the clock is already at the hold's deadline"
    );
    app.clock().set(Timestamp(deadline.0 - 1));
    tokio::time::sleep(SETTLE).await;
    assert_held(app, buyer, order, "1 ms before expiresAt").await;
    app.clock().set(deadline);
    wait_until_cancelled(
        app,
        buyer,
        order,
        &format!("order {} to expire at its expiresAt", id_of(order)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_expires_on_time_on_the_system_clock() {
    let app = spawn_app_with(1, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    let hold = parse_time(o["expiresAt"].as_str().unwrap()) - now();
    assert!(
        hold <= time::Duration::seconds(1) && hold > time::Duration::milliseconds(500),
        "expiresAt is about now + 1 s: {hold}"
    );
    assert_eq!(
        app.order(&buyer, &id_of(&o)).await["status"],
        json!("created")
    );
    wait_for_expiry(&app, &buyer, &o).await;
    let tk = app.ticket(&id_of(&t)).await;
    assert_eq!(tk["status"], json!("available"));
    assert_eq!(version_of(&tk), 2, "reservation and release: {tk}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_hold_expires_and_the_ticket_is_available_again() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let (seller, t) = app.some_ticket().await;
    let tid = id_of(&t);
    let a = app.signup().await;
    let b = app.signup().await;
    let o = app.reserve(&a, &tid).await;
    let deadline = timestamp(&o["expiresAt"]);
    assert_eq!(
        deadline,
        app.clock().now().plus(Duration::from_secs(HOLD_SECS)),
        "expiresAt is now + the window: {o}"
    );
    // Not earlier: at 1 ms before the end the seat is still held, for the
    // timer and for a rival's reservation alike.
    app.clock().set(Timestamp(deadline.0 - 1));
    app.post("/api/orders", Auth::Bearer(&b), json!({"ticketId": tid}))
        .await
        .error(400, Some("Ticket is already reserved"), None);
    expire_on_the_clock(&app, &a, &o).await;
    let tk = app.ticket(&tid).await;
    assert_eq!(tk["status"], json!("available"));
    assert_eq!(tk["orderId"], Value::Null);
    assert_eq!(version_of(&tk), 2, "reservation and release: {tk}");
    let listed = app.get("/api/tickets", Auth::None).await.json(200);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == json!(tid)),
        "listed as available"
    );
    let mine = app.get("/api/orders", Auth::Bearer(&a)).await.json(200);
    assert_eq!(mine[0]["status"], json!("cancelled"));

    // Paying the expired order is refused.
    app.post(
        "/api/payments",
        Auth::Bearer(&a),
        json!({"orderId": id_of(&o), "token": "tok_visa"}),
    )
    .await
    .error(400, Some("Cannot pay for an cancelled order"), None);
    // Another buyer can hold it now; the stale order cannot release that hold.
    let ob = app.reserve(&b, &tid).await;
    let r = app
        .delete(&format!("/api/orders/{}", id_of(&o)), Auth::Bearer(&a))
        .await;
    assert!(r.status == 204 || r.status == 400, "{}", r.text);
    let tk = app.ticket(&tid).await;
    assert_eq!(tk["orderId"], ob["id"]);
    assert_eq!(version_of(&tk), 3);
    // And the seller could edit it while it was free (it is held again now).
    app.put(
        &format!("/api/tickets/{tid}"),
        Auth::Bearer(&seller),
        json!({"title": "x", "price": 1}),
    )
    .await
    .error(400, Some("Cannot edit a reserved ticket"), None);
}

/// A hold past its deadline whose timer has not released it yet (the clock
/// jumped, nothing had time to act) does not block the next reservation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_at_the_deadline_takes_the_seat_of_the_lapsed_hold() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let tid = id_of(&t);
    let a = app.signup().await;
    let b = app.signup().await;
    let oa = app.reserve(&a, &tid).await;
    app.clock().set(timestamp(&oa["expiresAt"]));
    let ob = app.reserve(&b, &tid).await;
    assert_eq!(
        timestamp(&ob["expiresAt"]),
        timestamp(&oa["expiresAt"]).plus(Duration::from_secs(HOLD_SECS))
    );
    assert_eq!(
        app.order(&a, &id_of(&oa)).await["status"],
        json!("cancelled")
    );
    let tk = app.ticket(&tid).await;
    assert_eq!(tk["orderId"], ob["id"]);
    assert_eq!(version_of(&tk), 3, "reserve, release, reserve: {tk}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_never_expires() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    app.pay(&buyer, &id_of(&o)).await;
    app.clock().set(timestamp(&o["expiresAt"]));
    app.clock().advance(Duration::from_secs(3600));
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        app.order(&buyer, &id_of(&o)).await["status"],
        json!("complete")
    );
    let tk = app.ticket(&id_of(&t)).await;
    assert_eq!(tk["status"], json!("sold"));
    assert_eq!(version_of(&tk), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payment_does_not_extend_the_hold() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    app.clock().advance(Duration::from_secs(HOLD_SECS / 2));
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&o), "token": "tok_chargeDeclined"}),
    )
    .await
    .error(402, None, None);
    assert_eq!(
        app.order(&buyer, &id_of(&o)).await["expiresAt"],
        o["expiresAt"]
    );
    expire_on_the_clock(&app, &buyer, &o).await;
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&o), "token": "tok_visa"}),
    )
    .await
    .error(400, Some("Cannot pay for an cancelled order"), None);
    let tk = app.ticket(&id_of(&t)).await;
    assert_eq!(tk["status"], json!("available"));
    assert_eq!(version_of(&tk), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_holds_timer_does_not_release_the_next_hold() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let tid = id_of(&t);
    let a = app.signup().await;
    let b = app.signup().await;
    let oa = app.reserve(&a, &tid).await;
    app.cancel(&a, &id_of(&oa)).await;
    app.clock().advance(Duration::from_secs(HOLD_SECS / 3));
    let ob = app.reserve(&b, &tid).await;
    // Past A's expiry, well before B's.
    app.clock()
        .set(timestamp(&oa["expiresAt"]).plus(Duration::from_secs(HOLD_SECS / 6)));
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        app.order(&b, &id_of(&ob)).await["status"],
        json!("created"),
        "B's hold survives A's old timer"
    );
    let tk = app.ticket(&tid).await;
    assert_eq!(tk["status"], json!("reserved"));
    assert_eq!(tk["orderId"], ob["id"]);
    assert_eq!(version_of(&tk), 3);
    assert_eq!(
        app.order(&a, &id_of(&oa)).await["status"],
        json!("cancelled")
    );
    expire_on_the_clock(&app, &b, &ob).await;
    let tk = app.ticket(&tid).await;
    assert_eq!(tk["status"], json!("available"));
    assert_eq!(version_of(&tk), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_holds_expire_together() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let mut orders = Vec::new();
    for i in 0..20 {
        let t = app
            .create_ticket(&seller, &format!("Bulk {i}"), json!(1))
            .await;
        orders.push((id_of(&t), app.reserve(&buyer, &id_of(&t)).await));
    }
    // The clock stood still: one deadline for all twenty.
    let deadline = timestamp(&orders[0].1["expiresAt"]);
    assert!(orders
        .iter()
        .all(|(_, o)| timestamp(&o["expiresAt"]) == deadline));
    app.clock().set(Timestamp(deadline.0 - 1));
    tokio::time::sleep(SETTLE).await;
    for (tid, o) in &orders {
        assert_held(&app, &buyer, o, "1 ms before expiresAt").await;
        assert_eq!(version_of(&app.ticket(tid).await), 1);
    }
    app.clock().set(deadline);
    for (_, o) in &orders {
        wait_until_cancelled(&app, &buyer, o, "every hold to expire at its deadline").await;
    }
    for (tid, _) in &orders {
        let tk = app.ticket(tid).await;
        assert_eq!(tk["status"], json!("available"));
        assert_eq!(version_of(&tk), 2);
    }
    let listed = app.get("/api/tickets", Auth::None).await.json(200);
    assert_eq!(listed.as_array().unwrap().len(), 20);
}

/// "An expiry that arrives while a payment is in flight waits for the
/// payment's outcome": payments sent around the moment of expiry end in one
/// consistent state each. The holds' deadlines are 10 ms apart; the clock
/// stands past the first half when the payments are sent and moves past the
/// rest while they are in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_at_the_moment_of_expiry_are_all_or_nothing() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let mut holds = Vec::new();
    for i in 0..16 {
        let t = app
            .create_ticket(&seller, &format!("Edge {i}"), json!(1))
            .await;
        holds.push((t.clone(), app.reserve(&buyer, &id_of(&t)).await));
        app.clock().advance(Duration::from_millis(10));
    }
    let deadline = |i: usize| timestamp(&holds[i].1["expiresAt"]);
    app.clock().set(deadline(7));
    let mut set = tokio::task::JoinSet::new();
    for (i, (t, o)) in holds.iter().enumerate() {
        let (api, b, t, o) = (app.api.clone(), buyer.clone(), t.clone(), o.clone());
        set.spawn(async move {
            let p = api
                .post(
                    "/api/payments",
                    Auth::Bearer(&b),
                    json!({"orderId": id_of(&o), "token": "tok_visa"}),
                )
                .await;
            (i, t, o, p)
        });
    }
    // The rest of the deadlines pass while the payments are in flight, one
    // a millisecond.
    for i in 8..16 {
        app.clock().set(deadline(i));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (mut paid, mut expired) = (0, 0);
    while let Some(r) = set.join_next().await {
        let (i, t, o, p) = r.unwrap();
        let order = app.order(&buyer, &id_of(&o)).await;
        let tk = app.ticket(&id_of(&t)).await;
        match p.status {
            201 => {
                paid += 1;
                assert!(i >= 8, "hold {i} was paid after its deadline: {order}");
                assert_eq!(order["status"], json!("complete"), "{order}");
                assert_eq!(tk["status"], json!("sold"), "{tk}");
                assert_eq!(version_of(&tk), 2);
            }
            400 => {
                expired += 1;
                p.error(400, Some("Cannot pay for an cancelled order"), None);
                assert_eq!(order["status"], json!("cancelled"), "{order}");
                assert_eq!(tk["status"], json!("available"), "{tk}");
                assert_eq!(version_of(&tk), 2);
            }
            s => panic!("unexpected {s}: {}", p.text),
        }
    }
    eprintln!("at the edge of expiry: {paid} paid, {expired} expired");
    assert!(expired >= 8, "the 8 holds due before paying expired");
    // Nothing is left half-way: once the timers had time to act, every
    // order is settled the way its payment said.
    tokio::time::sleep(SETTLE).await;
    let orders = app.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
    let complete = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == json!("complete"))
        .count();
    assert_eq!(complete, paid);
    let cancelled = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == json!("cancelled"))
        .count();
    assert_eq!(cancelled, expired);
}
