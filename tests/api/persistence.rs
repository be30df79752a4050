//! A graceful restart on the same data directory keeps everything: users,
//! tickets, orders, sessions (and revocations), holds with their expiry.

use std::time::Duration;

use serde_json::{json, Value};

use crate::expiry::{expire_on_the_clock, wait_until_cancelled};
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_a_graceful_restart() {
    let mut app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let plain = app.create_ticket(&seller, "Plain", json!("12.34")).await;
    let edited = app.create_ticket(&seller, "Before", json!(1)).await;
    app.put(
        &format!("/api/tickets/{}", id_of(&edited)),
        Auth::Bearer(&seller),
        json!({"title": "After", "price": 2, "date": "2026-12-31T20:00:00Z"}),
    )
    .await
    .expect(200);
    let held = app.create_ticket(&seller, "Held", json!(3)).await;
    let sold = app.create_ticket(&seller, "Sold", json!(4)).await;
    let released = app.create_ticket(&seller, "Released", json!(5)).await;
    let deleted = app.create_ticket(&seller, "Deleted", json!(6)).await;
    let o_held = app.reserve(&buyer, &id_of(&held)).await;
    let o_sold = app.reserve(&buyer, &id_of(&sold)).await;
    app.pay(&buyer, &id_of(&o_sold)).await;
    let o_rel = app.reserve(&buyer, &id_of(&released)).await;
    app.cancel(&buyer, &id_of(&o_rel)).await;
    app.delete(
        &format!("/api/tickets/{}", id_of(&deleted)),
        Auth::Bearer(&seller),
    )
    .await
    .expect(204);

    let tickets_before = app.all_tickets().await;
    let available_before = app.get("/api/tickets", Auth::None).await.json(200);
    let orders_before = app.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
    assert_eq!(tickets_before.len(), 5);

    app.restart().await;

    assert_eq!(
        app.all_tickets().await,
        tickets_before,
        "tickets after restart"
    );
    assert_eq!(
        app.get("/api/tickets", Auth::None).await.json(200),
        available_before
    );
    let s2 = app.signin(&seller.email, &seller.password).await;
    let b2 = app.signin(&buyer.email, &buyer.password).await;
    assert_eq!(s2.id, seller.id);
    assert_eq!(b2.id, buyer.id);
    assert_eq!(
        app.get("/api/orders", Auth::Bearer(&b2)).await.json(200),
        orders_before
    );
    app.get(&format!("/api/tickets/{}", id_of(&deleted)), Auth::None)
        .await
        .error(404, None, None);
    app.signup_raw(&plain_client(), &seller.email, "whatever123")
        .await
        .error(400, Some("Email in use"), None);

    // The state machine goes on where it stopped.
    app.pay(&b2, &id_of(&o_held)).await;
    let t = app.ticket(&id_of(&held)).await;
    assert_eq!(t["status"], json!("sold"));
    assert_eq!(version_of(&t), 2);
    app.post(
        "/api/orders",
        Auth::Bearer(&b2),
        json!({"ticketId": id_of(&sold)}),
    )
    .await
    .error(400, Some("Ticket is already reserved"), None);
    let o = app.reserve(&b2, &id_of(&released)).await;
    assert_eq!(version_of(&app.ticket(&id_of(&released)).await), 3);
    assert_ne!(id_of(&o), id_of(&o_rel));
    let t = app
        .put(
            &format!("/api/tickets/{}", id_of(&plain)),
            Auth::Bearer(&s2),
            json!({"title": "Plain 2", "price": 9}),
        )
        .await
        .json(200);
    assert_eq!(version_of(&t), 1);
    // New ids never collide with old ones.
    let fresh = app.create_ticket(&s2, "Fresh", json!(1)).await;
    assert!(tickets_before.iter().all(|t| t["id"] != fresh["id"]));
    assert_ne!(fresh["id"], deleted["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_a_restart_and_signed_out_ones_stay_revoked() {
    let mut app = spawn_app().await;
    let kept = app.signup().await;
    let gone = app.signup().await;
    app.call(
        reqwest::Method::POST,
        "/api/users/signout",
        Auth::Bearer(&gone),
        None,
    )
    .await
    .expect(200);
    app.restart().await;
    assert_eq!(
        app.current_user(Auth::Token(&kept.token)).await["id"],
        json!(kept.id),
        "a token issued before a restart still authenticates (the secret is kept)"
    );
    assert_eq!(
        app.current_user(Auth::Token(&gone.token)).await,
        Value::Null,
        "a signed-out token stays revoked after a restart"
    );
    app.post(
        "/api/tickets",
        Auth::Token(&gone.token),
        json!({"title": "x", "price": 1}),
    )
    .await
    .error(401, None, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_is_rearmed_after_a_restart_and_expires_on_time() {
    let mut app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    app.clock().advance(Duration::from_secs(HOLD_SECS / 3));
    app.restart().await;
    assert_eq!(
        app.order(&buyer, &id_of(&o)).await["status"],
        json!("created")
    );
    assert_eq!(app.ticket(&id_of(&t)).await["status"], json!("reserved"));
    expire_on_the_clock(&app, &buyer, &o).await;
    let tk = app.ticket(&id_of(&t)).await;
    assert_eq!(tk["status"], json!("available"));
    assert_eq!(version_of(&tk), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_that_ran_out_while_stopped_is_cancelled_at_start() {
    let mut app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    app.stop().await;
    // Exactly at the deadline: due.
    app.clock().set(timestamp(&o["expiresAt"]));
    app.restart().await;
    wait_until_cancelled(
        &app,
        &buyer,
        &o,
        "the stale hold to be cancelled promptly at start",
    )
    .await;
    let tk = app.ticket(&id_of(&t)).await;
    assert_eq!(tk["status"], json!("available"));
    assert_eq!(version_of(&tk), 2);
    app.reserve(&buyer, &id_of(&t)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_keeps_its_absolute_expiry_when_the_window_setting_changes() {
    let mut app = spawn_app_on_manual_clock(600, |_| {}).await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    app.stop().await;
    app.settings.orders.reservation_secs = HOLD_SECS;
    app.restart().await;
    app.clock().advance(Duration::from_secs(2 * HOLD_SECS));
    tokio::time::sleep(SETTLE).await;
    let now = app.order(&buyer, &id_of(&o)).await;
    assert_eq!(
        now["status"],
        json!("created"),
        "the hold was made for 600 s: {now}"
    );
    assert_eq!(now["expiresAt"], o["expiresAt"]);
    // New holds use the new window.
    let (_, t2) = app.some_ticket().await;
    let o2 = app.reserve(&buyer, &id_of(&t2)).await;
    assert_eq!(
        timestamp(&o2["expiresAt"]),
        app.clock().now().plus(Duration::from_secs(HOLD_SECS))
    );
    expire_on_the_clock(&app, &buyer, &o2).await;
    // And the old one still ends at its own deadline.
    expire_on_the_clock(&app, &buyer, &o).await;
}
