//! `/api/payments`: the built-in test gateway (`tok_visa`, `tok_chargeDeclined`).

use serde_json::json;

use crate::helpers::*;

/// A buyer holding a fresh ticket: (buyer, ticket id, order id).
async fn held(app: &Api) -> (User, String, String) {
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    (buyer, id_of(&t), id_of(&o))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_with_tok_visa_completes_the_order_and_sells_the_ticket() {
    let app = spawn_app().await;
    for mode in MODES {
        let (buyer, ticket, order) = held(&app).await;
        let p = app
            .post(
                "/api/payments",
                mode.auth(&buyer),
                json!({"orderId": order, "token": "tok_visa"}),
            )
            .await
            .json(201);
        assert!(
            p["id"].as_str().is_some_and(|s| !s.is_empty()),
            "payment id: {p}"
        );
        assert_eq!(p["orderId"], json!(order));
        let o = app.order(&buyer, &order).await;
        assert_eq!(o["status"], json!("complete"), "{mode:?}");
        let t = app.ticket(&ticket).await;
        assert_eq!(t["status"], json!("sold"));
        assert_eq!(t["orderId"], json!(order));
        assert_eq!(version_of(&t), 2);
        assert!(
            !app.get("/api/tickets", Auth::None)
                .await
                .json(200)
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == json!(ticket)),
            "a sold ticket is not listed as available"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_tok_token_succeeds() {
    let app = spawn_app().await;
    let (buyer, _, order) = held(&app).await;
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": order, "token": "tok_mastercard"}),
    )
    .await
    .json(201);
    assert_eq!(app.order(&buyer, &order).await["status"], json!("complete"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_is_402_and_the_order_stays_payable() {
    let app = spawn_app().await;
    let (buyer, ticket, order) = held(&app).await;
    for _ in 0..2 {
        app.post(
            "/api/payments",
            Auth::Bearer(&buyer),
            json!({"orderId": order, "token": "tok_chargeDeclined"}),
        )
        .await
        .error(402, None, None);
    }
    assert_eq!(app.order(&buyer, &order).await["status"], json!("created"));
    let t = app.ticket(&ticket).await;
    assert_eq!(t["status"], json!("reserved"));
    assert_eq!(version_of(&t), 1);
    app.pay(&buyer, &order).await;
    assert_eq!(app.order(&buyer, &order).await["status"], json!("complete"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_cannot_be_paid() {
    let app = spawn_app().await;
    let (buyer, ticket, order) = held(&app).await;
    app.cancel(&buyer, &order).await;
    for mode in MODES {
        app.post(
            "/api/payments",
            mode.auth(&buyer),
            json!({"orderId": order, "token": "tok_visa"}),
        )
        .await
        .error(400, Some("Cannot pay for an cancelled order"), None);
    }
    assert_eq!(
        app.order(&buyer, &order).await["status"],
        json!("cancelled")
    );
    let t = app.ticket(&ticket).await;
    assert_eq!(t["status"], json!("available"));
    assert_eq!(version_of(&t), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_twice_is_400() {
    let app = spawn_app().await;
    let (buyer, ticket, order) = held(&app).await;
    app.pay(&buyer, &order).await;
    for token in ["tok_visa", "tok_chargeDeclined"] {
        app.post(
            "/api/payments",
            Auth::Bearer(&buyer),
            json!({"orderId": order, "token": token}),
        )
        .await
        .error(400, None, None);
    }
    assert_eq!(app.order(&buyer, &order).await["status"], json!("complete"));
    assert_eq!(version_of(&app.ticket(&ticket).await), 2, "no second sale");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_order_is_401_and_unknown_is_404() {
    let app = spawn_app().await;
    let (buyer, ticket, order) = held(&app).await;
    let other = app.signup().await;
    for mode in MODES {
        app.post(
            "/api/payments",
            mode.auth(&other),
            json!({"orderId": order, "token": "tok_visa"}),
        )
        .await
        .error(401, None, None);
    }
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": "no-such-order", "token": "tok_visa"}),
    )
    .await
    .error(404, None, None);
    app.post(
        "/api/payments",
        Auth::None,
        json!({"orderId": order, "token": "tok_visa"}),
    )
    .await
    .error(401, None, None);
    assert_eq!(app.order(&buyer, &order).await["status"], json!("created"));
    assert_eq!(app.ticket(&ticket).await["status"], json!("reserved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_fields_are_required() {
    let app = spawn_app().await;
    let (buyer, _, order) = held(&app).await;
    for body in [
        json!({}),
        json!({"token": "tok_visa"}),
        json!({"orderId": order}),
        json!({"orderId": "", "token": "tok_visa"}),
        json!({"orderId": order, "token": ""}),
        json!({"orderId": order, "token": null}),
        json!({"orderId": 12, "token": "tok_visa"}),
        json!({"orderId": order, "token": 12}),
    ] {
        let r = app
            .post("/api/payments", Auth::Bearer(&buyer), body.clone())
            .await;
        assert_eq!(r.status, 400, "{body} -> {}", r.text);
        r.error(400, None, None);
    }
    assert_eq!(app.order(&buyer, &order).await["status"], json!("created"));
    // The missing field is named.
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"token": "tok_visa"}),
    )
    .await
    .error(400, None, Some("orderId"));
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": order}),
    )
    .await
    .error(400, None, Some("token"));
}
