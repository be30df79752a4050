//! `/api/orders`: reserve, list, get, cancel.

use serde_json::{json, Value};

use crate::helpers::*;

#[track_caller]
fn assert_order_shape(o: &Value) {
    for k in ["id", "status", "userId", "expiresAt", "ticket", "version"] {
        assert!(o.get(k).is_some(), "order lacks `{k}`: {o}");
    }
    for k in ["id", "title", "price", "date", "version"] {
        assert!(
            o["ticket"].get(k).is_some(),
            "order.ticket lacks `{k}`: {o}"
        );
    }
    assert!(
        o["id"].is_string() && o["userId"].is_string() && o["expiresAt"].is_string(),
        "{o}"
    );
    assert!(
        o["version"].is_u64() && o["ticket"]["version"].is_u64(),
        "{o}"
    );
    let s = o["status"].as_str().unwrap_or("");
    assert!(
        ["created", "cancelled", "awaiting:payment", "complete"].contains(&s),
        "unknown order status in {o}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_returns_201_with_the_contract_shape_and_holds_the_ticket() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    for mode in MODES {
        let t = app
            .post(
                "/api/tickets",
                Auth::Bearer(&seller),
                json!({"title": "Opera", "price": "42.10", "date": "2026-11-24T18:30:00Z"}),
            )
            .await
            .json(201);
        let before = time::OffsetDateTime::now_utc();
        let o = app
            .post(
                "/api/orders",
                mode.auth(&buyer),
                json!({"ticketId": id_of(&t)}),
            )
            .await
            .json(201);
        assert_order_shape(&o);
        assert_eq!(o["status"], json!("created"));
        assert_eq!(o["userId"], json!(buyer.id));
        assert_eq!(o["ticket"]["id"], t["id"]);
        assert_eq!(o["ticket"]["title"], json!("Opera"));
        assert_eq!(o["ticket"]["price"].as_f64(), Some(42.1));
        assert_eq!(o["ticket"]["date"], json!("2026-11-24T18:30:00Z"));
        let expires = parse_time(o["expiresAt"].as_str().unwrap());
        let hold = (expires - before).whole_seconds();
        assert!(
            (LONG_HOLD_SECS as i64 - 5..=LONG_HOLD_SECS as i64 + 5).contains(&hold),
            "expiresAt is about now + the hold window ({LONG_HOLD_SECS} s), got {hold} s"
        );
        assert!(o["expiresAt"].as_str().unwrap().ends_with('Z'), "UTC: {o}");

        let held = app.ticket(&id_of(&t)).await;
        assert_eq!(held["status"], json!("reserved"));
        assert_eq!(held["orderId"], json!(id_of(&o)));
        assert_eq!(version_of(&held), 1);
        assert_eq!(
            o["ticket"]["version"], held["version"],
            "order.ticket.version is the ticket's version"
        );

        let got = app.order(&buyer, &id_of(&o)).await;
        assert_eq!(got, o, "GET returns what POST returned");
        let got = app
            .get(&format!("/api/orders/{}", id_of(&o)), Auth::Cookie(&buyer))
            .await
            .json(200);
        assert_eq!(got, o);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_without_a_session_is_401() {
    let app = spawn_app().await;
    let (_, t) = app.some_ticket().await;
    app.post("/api/orders", Auth::None, json!({"ticketId": id_of(&t)}))
        .await
        .error(401, None, None);
    assert_eq!(app.ticket(&id_of(&t)).await["status"], json!("available"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_needs_a_ticket_id() {
    let app = spawn_app().await;
    let buyer = app.signup().await;
    for body in [
        json!({}),
        json!({"ticketId": ""}),
        json!({"ticketId": null}),
        json!({"ticket": "x"}),
    ] {
        app.post("/api/orders", Auth::Bearer(&buyer), body)
            .await
            .error(400, Some("TicketId must be provided"), Some("ticketId"));
    }
    for body in [
        json!({"ticketId": 5}),
        json!({"ticketId": ["a"]}),
        json!({"ticketId": {}}),
    ] {
        app.post("/api/orders", Auth::Bearer(&buyer), body)
            .await
            .error(400, None, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_unknown_ticket_is_404() {
    let app = spawn_app().await;
    let buyer = app.signup().await;
    app.post(
        "/api/orders",
        Auth::Bearer(&buyer),
        json!({"ticketId": "no-such-ticket"}),
    )
    .await
    .error(404, None, None);
    let r = app.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
    assert_eq!(r, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserved_or_sold_ticket_cannot_be_reserved_again() {
    let app = spawn_app().await;
    let (_, t) = app.some_ticket().await;
    let a = app.signup().await;
    let b = app.signup().await;
    let id = id_of(&t);
    let o = app.reserve(&a, &id).await;
    for u in [&a, &b] {
        for mode in MODES {
            app.post("/api/orders", mode.auth(u), json!({"ticketId": id}))
                .await
                .error(400, Some("Ticket is already reserved"), None);
        }
    }
    app.pay(&a, &id_of(&o)).await;
    for u in [&a, &b] {
        app.post("/api/orders", Auth::Bearer(u), json!({"ticketId": id}))
            .await
            .error(400, Some("Ticket is already reserved"), None);
    }
    let sold = app.ticket(&id).await;
    assert_eq!(sold["status"], json!("sold"));
    assert_eq!(sold["orderId"], json!(id_of(&o)));
    assert_eq!(version_of(&sold), 2);
    let b_orders = app.get("/api/orders", Auth::Bearer(&b)).await.json(200);
    assert_eq!(b_orders, json!([]), "refused reservations leave no order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_list_is_the_callers_newest_first() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let a = app.signup().await;
    let b = app.signup().await;
    let mut tickets = Vec::new();
    for i in 0..4 {
        tickets.push(id_of(
            &app.create_ticket(&seller, &format!("L{i}"), json!(5)).await,
        ));
    }
    let o1 = app.reserve(&a, &tickets[0]).await;
    let o2 = app.reserve(&a, &tickets[1]).await;
    let ob = app.reserve(&b, &tickets[3]).await;
    let o3 = app.reserve(&a, &tickets[2]).await;
    app.cancel(&a, &id_of(&o1)).await;
    app.pay(&a, &id_of(&o2)).await;

    for mode in MODES {
        let list = app.get("/api/orders", mode.auth(&a)).await.json(200);
        let arr = list.as_array().expect("array");
        let got: Vec<String> = arr.iter().map(id_of).collect();
        assert_eq!(got, vec![id_of(&o3), id_of(&o2), id_of(&o1)], "{mode:?}");
        for o in arr {
            assert_order_shape(o);
            assert_eq!(o["userId"], json!(a.id));
        }
        let statuses: Vec<&str> = arr.iter().map(|o| o["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["created", "complete", "cancelled"]);
    }
    let lb = app.get("/api/orders", Auth::Bearer(&b)).await.json(200);
    assert_eq!(
        lb.as_array().unwrap().iter().map(id_of).collect::<Vec<_>>(),
        vec![id_of(&ob)]
    );
    let ls = app
        .get("/api/orders", Auth::Bearer(&seller))
        .await
        .json(200);
    assert_eq!(ls, json!([]), "the seller has no orders");
    app.get("/api/orders", Auth::None)
        .await
        .error(401, None, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_visible_to_its_buyer_only() {
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let other = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    let path = format!("/api/orders/{}", id_of(&o));
    app.get(&path, Auth::None).await.error(401, None, None);
    for u in [&other, &seller] {
        for mode in MODES {
            app.get(&path, mode.auth(u)).await.error(401, None, None);
        }
    }
    app.get("/api/orders/no-such-order", Auth::Bearer(&buyer))
        .await
        .error(404, None, None);
    app.get("/api/orders/no-such-order", Auth::None)
        .await
        .error(401, None, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_is_204_and_releases_the_ticket() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    for mode in MODES {
        let t = app.create_ticket(&seller, "Cancel me", json!(7)).await;
        let id = id_of(&t);
        let o = app.reserve(&buyer, &id).await;
        let r = app
            .delete(&format!("/api/orders/{}", id_of(&o)), mode.auth(&buyer))
            .await;
        r.expect(204);
        assert!(r.text.is_empty(), "204 has no body: {:?}", r.text);
        let got = app.order(&buyer, &id_of(&o)).await;
        assert_eq!(got["status"], json!("cancelled"), "{mode:?}");
        let tk = app.ticket(&id).await;
        assert_eq!(tk["status"], json!("available"));
        assert_eq!(tk["orderId"], Value::Null);
        assert_eq!(version_of(&tk), 2);
        // Available again, for anyone.
        let again = app.reserve(&buyer, &id).await;
        assert_ne!(id_of(&again), id_of(&o), "a new order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_needs_the_buyer() {
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let other = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    let path = format!("/api/orders/{}", id_of(&o));
    app.delete(&path, Auth::None).await.error(401, None, None);
    for u in [&other, &seller] {
        for mode in MODES {
            app.delete(&path, mode.auth(u)).await.error(401, None, None);
        }
    }
    app.delete("/api/orders/no-such-order", Auth::Bearer(&buyer))
        .await
        .error(404, None, None);
    assert_eq!(
        app.order(&buyer, &id_of(&o)).await["status"],
        json!("created")
    );
    assert_eq!(app.ticket(&id_of(&t)).await["status"], json!("reserved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_order_cannot_be_cancelled() {
    let app = spawn_app().await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    app.pay(&buyer, &id_of(&o)).await;
    for mode in MODES {
        app.delete(&format!("/api/orders/{}", id_of(&o)), mode.auth(&buyer))
            .await
            .error(400, None, None);
    }
    assert_eq!(
        app.order(&buyer, &id_of(&o)).await["status"],
        json!("complete")
    );
    let tk = app.ticket(&id_of(&t)).await;
    assert_eq!(tk["status"], json!("sold"));
    assert_eq!(version_of(&tk), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_cancelled_order_cannot_touch_the_next_buyers_hold() {
    let app = spawn_app().await;
    let (_, t) = app.some_ticket().await;
    let a = app.signup().await;
    let b = app.signup().await;
    let id = id_of(&t);
    let oa = app.reserve(&a, &id).await;
    app.cancel(&a, &id_of(&oa)).await;
    let ob = app.reserve(&b, &id).await;

    // Cancelling A's order again must not release B's hold.
    let r = app
        .delete(&format!("/api/orders/{}", id_of(&oa)), Auth::Bearer(&a))
        .await;
    assert!(r.status == 204 || r.status == 400, "{}", r.text);
    // Nor may paying it.
    app.post(
        "/api/payments",
        Auth::Bearer(&a),
        json!({"orderId": id_of(&oa), "token": "tok_visa"}),
    )
    .await
    .error(400, Some("Cannot pay for an cancelled order"), None);

    let tk = app.ticket(&id).await;
    assert_eq!(tk["status"], json!("reserved"));
    assert_eq!(tk["orderId"], json!(id_of(&ob)));
    assert_eq!(version_of(&tk), 3);
    assert_eq!(app.order(&b, &id_of(&ob)).await["status"], json!("created"));
    assert_eq!(
        app.order(&a, &id_of(&oa)).await["status"],
        json!("cancelled")
    );
    app.pay(&b, &id_of(&ob)).await;
    assert_eq!(app.ticket(&id).await["status"], json!("sold"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_that_no_longer_hold_their_ticket_still_belong_to_their_buyer() {
    // A cancelled order is no longer its ticket's live order, so the
    // ticket's actor no longer knows it: whose it is, and what cancelling
    // or paying it means, must still hold.
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let a = app.signup().await;
    let b = app.signup().await;
    let id = id_of(&t);
    let oa = id_of(&app.reserve(&a, &id).await);
    app.cancel(&a, &oa).await;
    let ob = id_of(&app.reserve(&b, &id).await);
    let held = app.ticket(&id).await;
    let path = format!("/api/orders/{oa}");
    let pay_a = json!({"orderId": oa, "token": "tok_visa"});

    for mode in MODES {
        // B holds the ticket now, but A's old order is still A's.
        app.get(&path, mode.auth(&b)).await.error(401, None, None);
        app.delete(&path, mode.auth(&b))
            .await
            .error(401, None, None);
        app.post("/api/payments", mode.auth(&b), pay_a.clone())
            .await
            .error(401, None, None);
        // Cancelling it again changes nothing; paying it is refused.
        app.delete(&path, mode.auth(&a)).await.expect(204);
        app.post("/api/payments", mode.auth(&a), pay_a.clone())
            .await
            .error(400, Some("Cannot pay for an cancelled order"), None);
    }
    assert_eq!(app.ticket(&id).await, held, "B's hold untouched");
    assert_eq!(app.order(&b, &ob).await["status"], json!("created"));

    // Once the ticket is gone, its orders still answer the same way.
    app.cancel(&b, &ob).await;
    app.delete(&format!("/api/tickets/{id}"), Auth::Bearer(&seller))
        .await
        .expect(204);
    let path = format!("/api/orders/{ob}");
    let pay_b = json!({"orderId": ob, "token": "tok_visa"});
    for mode in MODES {
        app.delete(&path, mode.auth(&a))
            .await
            .error(401, None, None);
        app.post("/api/payments", mode.auth(&a), pay_b.clone())
            .await
            .error(401, None, None);
        app.delete(&path, mode.auth(&b)).await.expect(204);
        app.post("/api/payments", mode.auth(&b), pay_b.clone())
            .await
            .error(400, Some("Cannot pay for an cancelled order"), None);
    }
}
