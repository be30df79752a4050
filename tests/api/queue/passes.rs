//! Orders of a queued event need the caller's own pass for that event,
//! once: refused (403) without one, with another account's, with another
//! event's, and with one already used; a restart keeps the line, the places
//! and the passes.

use serde_json::json;

use super::*;

const REFUSED: Option<&str> = Some("Wait for your turn in the queue");

#[tokio::test]
async fn a_pass_is_good_for_its_account_its_event_and_one_order() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 2).await;
    let org = app.signup().await;
    let one = queued_event(&app, &org, 10).await;
    let two = queued_event(&app, &org, 10).await;
    open_sale(&app);
    let (ann, bob) = (app.signup().await, app.signup().await);
    for (u, eid) in [(&ann, &one), (&bob, &one), (&ann, &two)] {
        join(&app, u, eid).await;
    }
    let ann_one = entry_becomes(&app, &ann, &one, "admitted").await["pass"].clone();
    let bob_one = entry_becomes(&app, &bob, &one, "admitted").await["pass"].clone();
    let ann_two = entry_becomes(&app, &ann, &two, "admitted").await["pass"].clone();

    order(&app, &ann, &one, 1, &Value::Null)
        .await
        .error(403, REFUSED, None);
    order(&app, &ann, &one, 1, &json!("not-a-pass"))
        .await
        .error(403, REFUSED, None);
    order(&app, &ann, &one, 1, &bob_one)
        .await
        .error(403, REFUSED, None);
    order(&app, &ann, &one, 1, &ann_two)
        .await
        .error(403, REFUSED, None);
    // The other bodies need it too.
    let seats = crate::client::all_seats(&app, &one).await;
    app.post(
        "/api/orders",
        Auth::Bearer(&ann),
        json!({"ticketIds": [id_of(&seats[0])]}),
    )
    .await
    .error(403, REFUSED, None);

    let o = app
        .post(
            "/api/orders",
            Auth::Bearer(&ann),
            json!({"ticketIds": [id_of(&seats[0])], "queuePass": ann_one}),
        )
        .await
        .json(201);
    // Used once: no second order with it, even after the first ends.
    order(&app, &ann, &one, 1, &ann_one)
        .await
        .error(403, REFUSED, None);
    app.cancel(&ann, &id_of(&o)).await;
    order(&app, &ann, &one, 1, &ann_one)
        .await
        .error(403, REFUSED, None);
    // Bob's own pass works for Bob.
    order(&app, &bob, &one, 1, &bob_one).await.expect(201);
}

#[tokio::test]
async fn a_restart_keeps_the_line_the_places_and_the_passes() {
    let mut app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 10).await;
    let mut users = Vec::new();
    for _ in 0..4 {
        let u = app.signup().await;
        join(&app, &u, &eid).await;
        users.push(u);
    }
    open_sale(&app);
    eventually(ACT_WITHIN, "the draw and a first admission", || async {
        let line = by_place(&app, &users, &eid).await?;
        (line[0].1["status"] == "admitted").then_some(())
    })
    .await;
    // With one active buyer the line stands still now: read it whole once
    // more (the reads above may straddle the admission).
    let line = by_place(&app, &users, &eid).await.expect("placed");
    let late = app.signup().await;
    let late_entry = join(&app, &late, &eid).await;
    assert_eq!(late_entry["position"], 5);

    app.restart().await;
    for (u, before) in &line {
        let mut after = entry(&app, u, &eid).await;
        // The ETA has its own test below.
        after["etaSecs"] = before["etaSecs"].clone();
        assert_eq!(&after, before, "kept across the restart");
    }
    let mut late_after = entry(&app, &late, &eid).await;
    late_after["etaSecs"] = late_entry["etaSecs"].clone();
    assert_eq!(late_after, late_entry);
    assert_eq!(
        join(&app, &late, &eid).await["position"],
        late_entry["position"],
        "no second place"
    );
    // The same pass string still buys, once.
    let (first, e) = &line[0];
    order(&app, first, &eid, 1, &e["pass"]).await.expect(201);
    order(&app, first, &eid, 1, &e["pass"])
        .await
        .error(403, REFUSED, None);
}

#[tokio::test]
async fn the_eta_survives_a_restart() {
    let mut app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 10).await;
    open_sale(&app);
    let (ann, bob) = (app.signup().await, app.signup().await);
    join(&app, &ann, &eid).await;
    join(&app, &bob, &eid).await;
    entry_becomes(&app, &ann, &eid, "admitted").await;
    let before = entry(&app, &bob, &eid).await;
    assert!(before["etaSecs"].is_u64(), "{before}");
    // The admission happened within the last minute, before and after.
    app.restart().await;
    assert_eq!(entry(&app, &bob, &eid).await, before);
}
