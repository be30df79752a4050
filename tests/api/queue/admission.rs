//! Admission: held at `queue.active_buyers`, resumed when the admitted
//! buyer's order is paid, cancelled or lapses, or when the pass runs out
//! unused (`expired`); the line waits while every seat is held and a lapsed
//! hold admits the next; every seat sold turns the waiting `soldout`; the
//! ETA appears with the first admission.

use std::time::Duration;

use super::*;

const PASS_SECS: u64 = 300;

/// Admitted within `ACT_WITHIN`, with a pass for `passExpiresAt`.
async fn admitted(app: &TestApp, user: &User, eid: &str) -> Value {
    let e = entry_becomes(app, user, eid, "admitted").await;
    assert_shape(&e, eid, "admitted");
    e
}

/// `user` stays `status` for a while.
async fn stays(app: &TestApp, user: &User, eid: &str, status: &str) {
    tokio::time::sleep(SETTLE * 2).await;
    assert_eq!(entry(app, user, eid).await["status"], status);
}

#[tokio::test]
async fn admission_is_held_at_active_buyers_and_resumes_as_each_buyer_ends() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| {
        s.queue.active_buyers = 1;
        s.queue.pass_secs = PASS_SECS;
    })
    .await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 10).await;
    let mut users = Vec::new();
    for _ in 0..5 {
        let u = app.signup().await;
        let e = join(&app, &u, &eid).await;
        assert!(e["etaSecs"].is_null(), "no ETA before any admission: {e}");
        users.push(u);
    }
    open_sale(&app);
    let line: Vec<User> = eventually(ACT_WITHIN, "the draw", || by_place(&app, &users, &eid))
        .await
        .into_iter()
        .map(|(u, _)| u)
        .collect();

    // 1: admitted; the rest wait, now with an ETA.
    let first = admitted(&app, &line[0], &eid).await;
    let since = timestamp(&first["passExpiresAt"]);
    assert_eq!(
        since,
        app.clock().now().plus(Duration::from_secs(PASS_SECS))
    );
    stays(&app, &line[1], &eid, "waiting").await;
    let e = entry(&app, &line[1], &eid).await;
    assert!(
        e["etaSecs"].as_u64().is_some(),
        "an ETA after an admission: {e}"
    );

    // 1 orders (still shopping, the pass spent), then pays: 2 is admitted.
    let o = order(&app, &line[0], &eid, 2, &first["pass"])
        .await
        .json(201);
    assert_eq!(entry(&app, &line[0], &eid).await["status"], "admitted");
    stays(&app, &line[1], &eid, "waiting").await;
    app.pay(&line[0], &id_of(&o)).await;
    entry_becomes(&app, &line[0], &eid, "done").await;

    // 2 orders and cancels: 3 is admitted.
    let second = admitted(&app, &line[1], &eid).await;
    stays(&app, &line[2], &eid, "waiting").await;
    let o = order(&app, &line[1], &eid, 1, &second["pass"])
        .await
        .json(201);
    app.cancel(&line[1], &id_of(&o)).await;
    entry_becomes(&app, &line[1], &eid, "done").await;

    // 3 orders and lets the hold lapse: 4 is admitted.
    let third = admitted(&app, &line[2], &eid).await;
    order(&app, &line[2], &eid, 1, &third["pass"])
        .await
        .expect(201);
    stays(&app, &line[3], &eid, "waiting").await;
    app.clock().advance(Duration::from_secs(HOLD_SECS + 1));
    entry_becomes(&app, &line[2], &eid, "done").await;

    // 4 never orders: its pass runs out (`expired`) and 5 is admitted.
    let fourth = admitted(&app, &line[3], &eid).await;
    stays(&app, &line[4], &eid, "waiting").await;
    app.clock().advance(Duration::from_secs(PASS_SECS + 1));
    let e = entry_becomes(&app, &line[3], &eid, "expired").await;
    assert_shape(&e, &eid, "expired");
    admitted(&app, &line[4], &eid).await;
    // The expired pass buys nothing.
    order(&app, &line[3], &eid, 1, &fourth["pass"]).await.error(
        403,
        Some("Wait for your turn in the queue"),
        None,
    );
}

#[tokio::test]
async fn while_every_seat_is_held_the_line_waits_and_a_lapsed_hold_admits_the_next() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 2).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 2).await;
    open_sale(&app);
    let (ann, bob, cat) = (app.signup().await, app.signup().await, app.signup().await);
    join(&app, &ann, &eid).await;
    let a = admitted(&app, &ann, &eid).await;
    // Ann holds every seat; Bob and Cat arrive: Bob could shop (one buyer
    // of two), but there is no seat to shop for.
    order(&app, &ann, &eid, 2, &a["pass"]).await.expect(201);
    join(&app, &bob, &eid).await;
    join(&app, &cat, &eid).await;
    stays(&app, &bob, &eid, "waiting").await;
    assert_eq!(entry(&app, &cat, &eid).await["status"], "waiting");
    // The hold lapses: the seats come back and the next in line goes in.
    app.clock().advance(Duration::from_secs(HOLD_SECS + 1));
    entry_becomes(&app, &ann, &eid, "done").await;
    admitted(&app, &bob, &eid).await;
}

#[tokio::test]
async fn once_every_seat_is_sold_the_waiting_are_sold_out() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 2).await;
    open_sale(&app);
    let (ann, bob, cat) = (app.signup().await, app.signup().await, app.signup().await);
    for u in [&ann, &bob, &cat] {
        join(&app, u, &eid).await;
    }
    let a = admitted(&app, &ann, &eid).await;
    let o = order(&app, &ann, &eid, 2, &a["pass"]).await.json(201);
    stays(&app, &bob, &eid, "waiting").await;
    app.pay(&ann, &id_of(&o)).await;
    for u in [&bob, &cat] {
        let e = entry_becomes(&app, u, &eid, "soldout").await;
        assert_shape(&e, &eid, "soldout");
    }
    assert_eq!(entry(&app, &ann, &eid).await["status"], "done");
    // A late joiner of a sold-out event is told so too.
    let dan = app.signup().await;
    join(&app, &dan, &eid).await;
    entry_becomes(&app, &dan, &eid, "soldout").await;
}

/// A buyer done frees its place among the shoppers for the next in line in
/// the same stored change, not at the line's next tick: whoever sees the
/// buyer `done` sees the next one `admitted` (paid or cancelled alike).
#[tokio::test]
async fn an_ended_order_admits_the_next_in_line_at_once() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 20).await;
    open_sale(&app);
    let mut line = Vec::new();
    for _ in 0..6 {
        let u = app.signup().await;
        join(&app, &u, &eid).await;
        line.push(u);
    }
    for round in 0..5 {
        let (buyer, next) = (&line[round], &line[round + 1]);
        let e = admitted(&app, buyer, &eid).await;
        let o = order(&app, buyer, &eid, 1, &e["pass"]).await.json(201);
        if round % 2 == 0 {
            app.pay(buyer, &id_of(&o)).await;
        } else {
            app.cancel(buyer, &id_of(&o)).await;
        }
        entry_becomes(&app, buyer, &eid, "done").await;
        assert_eq!(
            entry(&app, next, &eid).await["status"],
            "admitted",
            "round {round}: the next in line, read right after the buyer was seen done"
        );
    }
}
