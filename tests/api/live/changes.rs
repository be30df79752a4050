//! Every kind of change is pushed exactly once; refused requests push nothing.

use std::time::Duration;

use serde_json::{json, Value};

use super::support::*;
use crate::helpers::*;

/// Create, edit, reserve, cancel, expiry, pay and delete each push exactly one
/// message, equal to what GET returns right after the 2xx, in version order;
/// refused requests (and a cancel that changes nothing) push nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_change_is_pushed_exactly_once_and_refusals_push_nothing() {
    let hold_secs = 2;
    let app = spawn_app_with(hold_secs, |_| {}).await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let rival = app.signup().await;
    let mut ws = connect(&app).await;
    let snap = json_within(&mut ws, Duration::from_secs(5), "snapshot").await;
    assert_eq!(snap, json!({"type": "snapshot", "tickets": []}));

    let wait = Duration::from_secs(5);
    let mut pushed = 0;
    macro_rules! expect_ticket {
        ($expected:expr, $what:expr) => {{
            let m = json_within(&mut ws, wait, $what).await;
            assert_eq!(
                m,
                json!({"type": "ticket", "ticket": $expected}),
                "live message after {}",
                $what
            );
            pushed += 1;
        }};
    }
    let tpath = |t: &Value| format!("/api/tickets/{}", id_of(t));
    let opath = |o: &Value| format!("/api/orders/{}", id_of(o));

    // create
    let a = app.create_ticket(&seller, "A", json!(10)).await;
    expect_ticket!(a.clone(), "create");
    app.post(
        "/api/tickets",
        Auth::Bearer(&seller),
        json!({"title": " ", "price": 1}),
    )
    .await
    .expect(400);
    app.post(
        "/api/tickets",
        Auth::None,
        json!({"title": "x", "price": 1}),
    )
    .await
    .expect(401);
    // edit
    let e = app
        .put(
            &tpath(&a),
            Auth::Bearer(&seller),
            json!({"title": "A2", "price": "11.50", "date": "2027-01-01T20:00:00Z"}),
        )
        .await
        .json(200);
    assert_eq!(version_of(&e), 1);
    expect_ticket!(e.clone(), "edit");
    app.put(
        &tpath(&a),
        Auth::Bearer(&rival),
        json!({"title": "no", "price": 1}),
    )
    .await
    .expect(401);
    app.put(
        &tpath(&a),
        Auth::Bearer(&seller),
        json!({"title": "A3", "price": -1}),
    )
    .await
    .expect(400);
    // reserve
    let o1 = app.reserve(&buyer, &id_of(&a)).await;
    let now_a = app.ticket(&id_of(&a)).await;
    assert_eq!(
        (version_of(&now_a), &now_a["status"]),
        (2, &json!("reserved"))
    );
    expect_ticket!(now_a, "reserve");
    // refusals while held
    app.post(
        "/api/orders",
        Auth::Bearer(&rival),
        json!({"ticketId": id_of(&a)}),
    )
    .await
    .error(400, Some("Ticket is already reserved"), None);
    app.put(
        &tpath(&a),
        Auth::Bearer(&seller),
        json!({"title": "A3", "price": 1}),
    )
    .await
    .expect(400);
    app.delete(&tpath(&a), Auth::Bearer(&seller))
        .await
        .expect(400);
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&o1), "token": "tok_chargeDeclined"}),
    )
    .await
    .expect(402);
    app.post(
        "/api/payments",
        Auth::Bearer(&rival),
        json!({"orderId": id_of(&o1), "token": "tok_visa"}),
    )
    .await
    .expect(401);
    app.delete(&opath(&o1), Auth::Bearer(&rival))
        .await
        .expect(401);
    // cancel (release)
    app.cancel(&buyer, &id_of(&o1)).await;
    let now_a = app.ticket(&id_of(&a)).await;
    assert_eq!(
        (version_of(&now_a), &now_a["status"]),
        (3, &json!("available"))
    );
    expect_ticket!(now_a, "cancel");
    // A second cancel changes nothing, so pushes nothing.
    app.delete(&opath(&o1), Auth::Bearer(&buyer))
        .await
        .expect(204);
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&o1), "token": "tok_visa"}),
    )
    .await
    .expect(400);
    // reserve again, then pay (sold)
    let o2 = app.reserve(&buyer, &id_of(&a)).await;
    let now_a = app.ticket(&id_of(&a)).await;
    expect_ticket!(now_a, "second reserve");
    app.pay(&buyer, &id_of(&o2)).await;
    let now_a = app.ticket(&id_of(&a)).await;
    assert_eq!(
        (version_of(&now_a), &now_a["status"], &now_a["orderId"]),
        (5, &json!("sold"), &o2["id"])
    );
    expect_ticket!(now_a, "pay");
    // refusals once sold
    app.post(
        "/api/orders",
        Auth::Bearer(&rival),
        json!({"ticketId": id_of(&a)}),
    )
    .await
    .expect(400);
    app.delete(&opath(&o2), Auth::Bearer(&buyer))
        .await
        .expect(400);
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&o2), "token": "tok_visa"}),
    )
    .await
    .expect(400);
    app.delete(&tpath(&a), Auth::Bearer(&seller))
        .await
        .expect(400);

    // expiry
    let b = app.create_ticket(&seller, "B", json!(1)).await;
    expect_ticket!(b.clone(), "create B");
    let o3 = app.reserve(&buyer, &id_of(&b)).await;
    expect_ticket!(app.ticket(&id_of(&b)).await, "reserve B");
    let m = json_within(
        &mut ws,
        Duration::from_secs(hold_secs + 3),
        "the hold's expiry",
    )
    .await;
    let now_b = app.ticket(&id_of(&b)).await;
    assert_eq!(
        (version_of(&now_b), &now_b["status"], &now_b["orderId"]),
        (2, &json!("available"), &Value::Null)
    );
    assert_eq!(m, json!({"type": "ticket", "ticket": now_b}), "expiry");
    pushed += 1;
    assert_eq!(
        app.order(&buyer, &id_of(&o3)).await["status"],
        json!("cancelled")
    );
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&o3), "token": "tok_visa"}),
    )
    .await
    .expect(400);

    // delete
    let c = app.create_ticket(&seller, "C", json!(1)).await;
    expect_ticket!(c.clone(), "create C");
    app.delete(&tpath(&c), Auth::Bearer(&rival))
        .await
        .expect(401);
    app.delete(&tpath(&c), Auth::Bearer(&seller))
        .await
        .expect(204);
    let m = json_within(&mut ws, wait, "delete").await;
    assert_eq!(m, json!({"type": "deleted", "id": id_of(&c)}));
    pushed += 1;
    app.delete(&tpath(&c), Auth::Bearer(&seller))
        .await
        .expect(404);
    app.put(
        &tpath(&c),
        Auth::Bearer(&seller),
        json!({"title": "x", "price": 1}),
    )
    .await
    .expect(404);
    app.post(
        "/api/orders",
        Auth::Bearer(&buyer),
        json!({"ticketId": id_of(&c)}),
    )
    .await
    .expect(404);

    assert_eq!(pushed, 11);
    expect_quiet(&mut ws, Duration::from_millis(500), "the refused requests").await;
    ws.close(None).await.ok();
}
