//! Orders of several seats: every row of the contract's failure table, the
//! order's new fields, best available, and every seat moving together on
//! cancel, payment and expiry.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::helpers::*;

/// The statuses of `ids` now.
async fn statuses(api: &Api, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        out.push(api.ticket(id).await["status"].as_str().unwrap().to_owned());
    }
    out
}

#[tokio::test]
async fn an_order_of_seats_holds_them_all_and_shows_them_with_its_total() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let seats = all_seats(&app, &id_of(&e)).await;
    let buyer = app.signup().await;
    // Asked out of map order: the order lists them in map order.
    let want = vec![id_of(&seats[11]), id_of(&seats[2]), id_of(&seats[3])];
    let order = order_seats(&app, &buyer, &want).await.json(201);
    assert_eq!(order["status"], "created");
    let got: Vec<String> = order["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(got, vec![want[1].clone(), want[2].clone(), want[0].clone()]);
    assert_eq!(order["ticket"], order["tickets"][0]);
    assert_eq!(order["total"], json!(75.5));
    assert_eq!(
        order["tickets"][2]["seat"],
        json!({"section": "Floor", "row": null, "number": null})
    );
    assert_eq!(order["tickets"][0]["eventId"], json!(id_of(&e)));
    assert_eq!(statuses(&app, &want).await, vec!["reserved"; 3]);
    for id in &want {
        let t = app.ticket(id).await;
        assert_eq!(t["orderId"], order["id"]);
        assert_eq!(t["version"], 1);
    }
    assert_eq!(app.order(&buyer, &id_of(&order)).await, order);

    // Paying once sells them all for the total.
    let pay = app.pay(&buyer, &id_of(&order)).await;
    let paid = app.order(&buyer, &id_of(&order)).await;
    assert_eq!(paid["status"], "complete");
    assert_eq!(paid["paymentId"], pay["id"]);
    assert_eq!(statuses(&app, &want).await, vec!["sold"; 3]);
    for t in paid["tickets"].as_array().unwrap() {
        assert_eq!(t["version"], 2);
    }
    app.delete(
        &format!("/api/orders/{}", id_of(&order)),
        Auth::Bearer(&buyer),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn a_refused_order_holds_nothing() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let seats = all_seats(&app, &id_of(&e)).await;
    let (ann, bob) = (app.signup().await, app.signup().await);
    order_seats(&app, &ann, &ids(&seats[1..2]))
        .await
        .expect(201);
    order_seats(&app, &bob, &ids(&seats[0..3])).await.error(
        400,
        Some("Ticket is already reserved"),
        None,
    );
    assert_eq!(
        statuses(&app, &ids(&seats[0..3])).await,
        vec!["available", "reserved", "available"]
    );
    assert_eq!(
        app.ticket(&id_of(&seats[0])).await["version"],
        0,
        "never touched"
    );
    let orders = app.get("/api/orders", Auth::Bearer(&bob)).await.json(200);
    assert!(orders.as_array().unwrap().is_empty());
    // The free ones are free for real.
    order_seats(&app, &bob, &[id_of(&seats[0]), id_of(&seats[2])])
        .await
        .expect(201);
}

#[tokio::test]
async fn every_failure_row_answers_as_written() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let eid = id_of(&e);
    let other = create_event(&app, &org, small_layout()).await;
    let seats = all_seats(&app, &eid).await;
    let foreign = all_seats(&app, &id_of(&other)).await;
    let (_, lone) = app.some_ticket().await;
    let buyer = app.signup().await;
    let post = |body| app.post("/api/orders", Auth::Bearer(&buyer), body);

    post(json!({}))
        .await
        .error(400, Some("TicketId must be provided"), None);
    post(json!({"ticketIds": []}))
        .await
        .error(400, None, Some("ticketIds"));
    let eleven: Vec<String> = ids(&seats[0..11]);
    post(json!({"ticketIds": eleven}))
        .await
        .error(400, None, Some("ticketIds"));
    let dup = vec![id_of(&seats[0]), id_of(&seats[0])];
    post(json!({"ticketIds": dup}))
        .await
        .error(400, None, Some("ticketIds"));
    let mixed = vec![id_of(&seats[0]), id_of(&foreign[0])];
    post(json!({"ticketIds": mixed}))
        .await
        .error(400, None, Some("ticketIds"));
    let with_lone = vec![id_of(&seats[0]), id_of(&lone)];
    post(json!({"ticketIds": with_lone}))
        .await
        .error(400, None, Some("ticketIds"));
    for q in [json!(0), json!(11), json!("x"), json!(1.5)] {
        post(json!({"eventId": eid, "quantity": q}))
            .await
            .error(400, None, Some("quantity"));
    }
    post(json!({"eventId": eid, "quantity": 2, "section": "Balcony"}))
        .await
        .error(400, None, Some("section"));
    post(json!({"ticketIds": [id_of(&seats[0]), "00000000000000ff"]}))
        .await
        .expect(404);
    post(json!({"eventId": "00000000000000ff", "quantity": 1}))
        .await
        .expect(404);
    post(json!({"ticketId": "00000000000000ff"}))
        .await
        .expect(404);
    // Nothing above held anything.
    assert_eq!(
        app.get(&format!("/api/events/{eid}"), Auth::None)
            .await
            .json(200)["seats"]["available"],
        15
    );

    // Not enough seats: 5 standing places, 6 asked.
    post(json!({"eventId": eid, "quantity": 6, "section": "Floor"}))
        .await
        .error(400, Some("Not enough seats available"), None);
    // The buyer limit: 10 seats of one event, held or owned.
    let first = post(json!({"eventId": eid, "quantity": 8})).await.json(201);
    app.pay(&buyer, &id_of(&first)).await;
    post(json!({"eventId": eid, "quantity": 3})).await.error(
        400,
        Some("Seat limit reached for this event"),
        None,
    );
    let two = post(json!({"eventId": eid, "quantity": 2})).await.json(201);
    post(json!({"eventId": eid, "quantity": 1})).await.error(
        400,
        Some("Seat limit reached for this event"),
        None,
    );
    // A cancelled order no longer counts.
    app.cancel(&buyer, &id_of(&two)).await;
    post(json!({"eventId": eid, "quantity": 2}))
        .await
        .expect(201);
    // Another event has its own limit.
    post(json!({"eventId": id_of(&other), "quantity": 1}))
        .await
        .expect(201);

    // Not on sale yet, and a queued event without a pass.
    let later = app
        .post(
            "/api/events",
            Auth::Bearer(&org),
            json!({"name": "Later", "startsAt": "2031-01-01T00:00:00Z", "onSaleAt": "2030-12-01T00:00:00Z",
                   "sections": [{"name": "S", "price": 5, "capacity": 3}]}),
        )
        .await
        .json(201);
    post(json!({"eventId": id_of(&later), "quantity": 1}))
        .await
        .error(400, Some("Not on sale yet"), None);
    let queued = app
        .post(
            "/api/events",
            Auth::Bearer(&org),
            json!({"name": "Queued", "startsAt": "2031-01-01T00:00:00Z", "onSaleAt": "2026-01-01T00:00:00Z", "queue": true,
                   "sections": [{"name": "S", "price": 5, "capacity": 3}]}),
        )
        .await
        .json(201);
    post(json!({"eventId": id_of(&queued), "quantity": 1}))
        .await
        .error(403, Some("Wait for your turn in the queue"), None);
    post(json!({"eventId": id_of(&queued), "quantity": 1, "queuePass": "forged"}))
        .await
        .error(403, Some("Wait for your turn in the queue"), None);
}

#[tokio::test]
async fn best_available_takes_a_block_in_one_row_then_map_order() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let eid = id_of(&e);
    let seats = all_seats(&app, &eid).await;
    let (ann, bob) = (app.signup().await, app.signup().await);
    // Row A: seat 2 taken, so 3 together come from row B.
    order_seats(&app, &ann, &ids(&seats[1..2]))
        .await
        .expect(201);
    let o = app
        .post(
            "/api/orders",
            Auth::Bearer(&bob),
            json!({"eventId": eid, "quantity": 3}),
        )
        .await
        .json(201);
    let got: Vec<String> = o["tickets"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(got, ids(&seats[4..7]));
    let o = app
        .post(
            "/api/orders",
            Auth::Bearer(&bob),
            json!({"eventId": eid, "quantity": 2, "section": "Floor"}),
        )
        .await
        .json(201);
    let got: Vec<String> = o["tickets"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(got, ids(&seats[10..12]));
}

#[tokio::test]
async fn one_seat_by_ticket_id_is_an_order_of_its_event() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let seat = all_seats(&app, &id_of(&e)).await[0].clone();
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&seat)).await;
    assert_eq!(o["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(o["ticket"]["seat"]["row"], "A");
    app.post(
        "/api/orders",
        Auth::Bearer(&buyer),
        json!({"ticketId": id_of(&seat)}),
    )
    .await
    .error(400, Some("Ticket is already reserved"), None);
    app.cancel(&buyer, &id_of(&o)).await;
    let cancelled = app.order(&buyer, &id_of(&o)).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelReason"], "cancelled");
    assert_eq!(app.ticket(&id_of(&seat)).await["status"], "available");
    // Cancelling again changes nothing.
    app.cancel(&buyer, &id_of(&o)).await;
    assert_eq!(app.ticket(&id_of(&seat)).await["version"], 2);
}

#[tokio::test]
async fn a_lapsed_hold_of_several_seats_is_released_whole_and_cannot_be_paid() {
    let app = spawn_app_on_manual_clock(60, |_| {}).await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let seats = all_seats(&app, &id_of(&e)).await;
    let buyer = app.signup().await;
    let want = ids(&seats[0..4]);
    let order = order_seats(&app, &buyer, &want).await.json(201);
    app.clock().advance(Duration::from_secs(61));
    let o = eventually(ACT_WITHIN, "the hold to lapse", || async {
        let o = app.order(&buyer, &id_of(&order)).await;
        (o["status"] == "cancelled").then_some(o)
    })
    .await;
    assert_eq!(o["cancelReason"], "expired");
    assert_eq!(statuses(&app, &want).await, vec!["available"; 4]);
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&order), "token": "tok_visa"}),
    )
    .await
    .error(400, Some("Cannot pay for an cancelled order"), None);
}

#[tokio::test]
async fn holds_of_seats_expire_after_a_restart_too() {
    let mut app = spawn_app_on_manual_clock(60, |_| {}).await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let seats = all_seats(&app, &id_of(&e)).await;
    let buyer = app.signup().await;
    let order = order_seats(&app, &buyer, &ids(&seats[0..3]))
        .await
        .json(201);
    app.restart().await;
    assert_eq!(app.order(&buyer, &id_of(&order)).await["status"], "created");
    app.clock().advance(Duration::from_secs(61));
    eventually(ACT_WITHIN, "the restored hold to lapse", || async {
        (app.order(&buyer, &id_of(&order)).await["status"] == "cancelled").then_some(())
    })
    .await;
    assert_eq!(
        statuses(&app, &ids(&seats[0..3])).await,
        vec!["available"; 3]
    );
}
