//! Holds expire: an unpaid order becomes `cancelled` and its ticket
//! `available` when the reservation window passes, not earlier, not much later.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// How late an expiry may be observed after `expiresAt`.
pub const EXPIRY_SLACK: Duration = Duration::from_millis(1500);

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Waits until the order is cancelled; asserts that this happened no earlier
/// than `expiresAt` and no later than `expiresAt + EXPIRY_SLACK`.
pub async fn wait_for_expiry(app: &Api, buyer: &User, order: &Value) {
    let oid = id_of(order);
    let expires = parse_time(order["expiresAt"].as_str().expect("expiresAt"));
    let until = expires - now() + time::Duration::try_from(EXPIRY_SLACK).unwrap();
    let within = Duration::try_from(until).unwrap_or(Duration::ZERO);
    eventually(
        within,
        &format!("order {oid} to expire by expiresAt + {EXPIRY_SLACK:?}"),
        || async {
            let o = app.order(buyer, &oid).await;
            match o["status"].as_str() {
                Some("cancelled") => Some(()),
                Some("created") => None,
                _ => panic!("unexpected order state while waiting for expiry: {o}"),
            }
        },
    )
    .await;
    let seen = now();
    assert!(
        seen + time::Duration::milliseconds(50) >= expires,
        "the hold expired early: seen cancelled at {seen}, expiresAt {expires}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_hold_expires_and_the_ticket_is_available_again() {
    let app = spawn_app_with(2, |_| {}).await;
    let (seller, t) = app.some_ticket().await;
    let tid = id_of(&t);
    let a = app.signup().await;
    let b = app.signup().await;
    let o = app.reserve(&a, &tid).await;
    let hold = parse_time(o["expiresAt"].as_str().unwrap()) - now();
    assert!(
        hold <= time::Duration::seconds(3) && hold > time::Duration::milliseconds(1000),
        "expiresAt is about now + 2 s: {hold}"
    );
    // Not earlier: still held a good while before the end.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(app.order(&a, &id_of(&o)).await["status"], json!("created"));
    assert_eq!(app.ticket(&tid).await["status"], json!("reserved"));

    wait_for_expiry(&app, &a, &o).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_never_expires() {
    let app = spawn_app_with(1, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    app.pay(&buyer, &id_of(&o)).await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
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
    let app = spawn_app_with(1, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&o), "token": "tok_chargeDeclined"}),
    )
    .await
    .error(402, None, None);
    wait_for_expiry(&app, &buyer, &o).await;
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
    let app = spawn_app_with(3, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let tid = id_of(&t);
    let a = app.signup().await;
    let b = app.signup().await;
    let oa = app.reserve(&a, &tid).await;
    app.cancel(&a, &id_of(&oa)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let ob = app.reserve(&b, &tid).await;
    // Past A's expiry, well before B's.
    let a_expires = parse_time(oa["expiresAt"].as_str().unwrap());
    let wait = a_expires - now() + time::Duration::milliseconds(500);
    tokio::time::sleep(Duration::try_from(wait).unwrap_or(Duration::ZERO)).await;
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
    wait_for_expiry(&app, &b, &ob).await;
    let tk = app.ticket(&tid).await;
    assert_eq!(tk["status"], json!("available"));
    assert_eq!(version_of(&tk), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_holds_expire_together() {
    let app = spawn_app_with(1, |_| {}).await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let mut orders = Vec::new();
    for i in 0..20 {
        let t = app
            .create_ticket(&seller, &format!("Bulk {i}"), json!(1))
            .await;
        orders.push((id_of(&t), app.reserve(&buyer, &id_of(&t)).await));
    }
    let last = orders.last().unwrap().1.clone();
    wait_for_expiry(&app, &buyer, &last).await;
    for (tid, o) in &orders {
        assert_eq!(
            app.order(&buyer, &id_of(o)).await["status"],
            json!("cancelled")
        );
        let tk = app.ticket(tid).await;
        assert_eq!(tk["status"], json!("available"));
        assert_eq!(version_of(&tk), 2);
    }
    let listed = app.get("/api/tickets", Auth::None).await.json(200);
    assert_eq!(listed.as_array().unwrap().len(), 20);
}

/// "An expiry that arrives while a payment is in flight waits for the
/// payment's outcome": payments sent around the moment of expiry end in one
/// consistent state each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_at_the_moment_of_expiry_are_all_or_nothing() {
    let app = spawn_app_with(1, |_| {}).await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16i64 {
        let t = app
            .create_ticket(&seller, &format!("Edge {i}"), json!(1))
            .await;
        let o = app.reserve(&buyer, &id_of(&t)).await;
        let expires = parse_time(o["expiresAt"].as_str().unwrap());
        let (api, b) = (app.api.clone(), buyer.clone());
        set.spawn(async move {
            // From 80 ms before to 70 ms after the expiry.
            let at = expires + time::Duration::milliseconds(i * 10 - 80);
            let d = at - now();
            if d.is_positive() {
                tokio::time::sleep(Duration::try_from(d).unwrap()).await;
            }
            let p = api
                .post(
                    "/api/payments",
                    Auth::Bearer(&b),
                    json!({"orderId": id_of(&o), "token": "tok_visa"}),
                )
                .await;
            (t, o, p)
        });
    }
    let (mut paid, mut expired) = (0, 0);
    while let Some(r) = set.join_next().await {
        let (t, o, p) = r.unwrap();
        let order = app.order(&buyer, &id_of(&o)).await;
        let tk = app.ticket(&id_of(&t)).await;
        match p.status {
            201 => {
                paid += 1;
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
    // Nothing is left half-way: a moment later, every order is settled the same way.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let orders = app.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
    let complete = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == json!("complete"))
        .count();
    assert_eq!(complete, paid);
}
