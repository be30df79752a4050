//! Real responses, errors and queue entries included, checked against the
//! document's response schemas.

use super::*;

/// Checks `instance` against the document's schema for that response.
fn check(doc: &Value, method: &str, path: &str, status: u16, instance: &Value) {
    let schema = &doc["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "no JSON schema for {method} {path} {status}"
    );
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("{method} {path} {status}: bad schema: {e}"));
    // The schema is strict enough to refuse a wrong shape.
    assert!(
        !validator.is_valid(&json!({"id": 1, "errors": "no"})),
        "{method} {path} {status}: the schema accepts anything"
    );
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:?}\n{instance}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_responses_match_the_documented_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let client = plain_client();

    let signup = app
        .signup_raw(&client, &unique_email(), "password1")
        .await
        .json(201);
    check(&doc, "post", "/api/users/signup", 201, &signup);
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let signin = app
        .signin_raw(&client, &seller.email, &seller.password)
        .await
        .json(200);
    check(&doc, "post", "/api/users/signin", 200, &signin);
    let me = app
        .get("/api/users/currentuser", Auth::Bearer(&seller))
        .await
        .json(200);
    check(&doc, "get", "/api/users/currentuser", 200, &me);
    let nobody = app
        .get("/api/users/currentuser", Auth::None)
        .await
        .json(200);
    check(&doc, "get", "/api/users/currentuser", 200, &nobody);

    let dated = app
        .post(
            "/api/tickets",
            Auth::Bearer(&seller),
            json!({"title": "Dated", "price": "12.50", "date": "2026-12-31T20:00:00Z"}),
        )
        .await
        .json(201);
    check(&doc, "post", "/api/tickets", 201, &dated);
    let ticket = app.create_ticket(&seller, "Plain", json!(20)).await;
    let id = ticket["id"].as_str().unwrap();
    let edited = app
        .put(
            &format!("/api/tickets/{id}"),
            Auth::Bearer(&seller),
            json!({"title": "Edited", "price": 21}),
        )
        .await
        .json(200);
    check(&doc, "put", "/api/tickets/{id}", 200, &edited);
    let order = app.reserve(&buyer, id).await;
    check(&doc, "post", "/api/orders", 201, &order);
    let oid = order["id"].as_str().unwrap();
    let shown = app
        .get(&format!("/api/tickets/{id}"), Auth::None)
        .await
        .json(200);
    check(&doc, "get", "/api/tickets/{id}", 200, &shown);
    let payment = app
        .post(
            "/api/payments",
            Auth::Bearer(&buyer),
            json!({"orderId": oid, "token": "tok_visa"}),
        )
        .await
        .json(201);
    check(&doc, "post", "/api/payments", 201, &payment);
    let list = app
        .get("/api/tickets?status=any", Auth::None)
        .await
        .json(200);
    check(&doc, "get", "/api/tickets", 200, &list);
    let orders = app.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
    check(&doc, "get", "/api/orders", 200, &orders);
    let one = app
        .get(&format!("/api/orders/{oid}"), Auth::Bearer(&buyer))
        .await
        .json(200);
    check(&doc, "get", "/api/orders/{id}", 200, &one);

    // Errors, in the documented shape.
    let invalid = app
        .post(
            "/api/tickets",
            Auth::Bearer(&seller),
            json!({"price": "abc"}),
        )
        .await
        .json(400);
    check(&doc, "post", "/api/tickets", 400, &invalid);
    let unauthorized = app.get("/api/orders", Auth::None).await.json(401);
    check(&doc, "get", "/api/orders", 401, &unauthorized);
    let missing = app
        .get("/api/tickets/0000000000000000", Auth::None)
        .await
        .json(404);
    check(&doc, "get", "/api/tickets/{id}", 404, &missing);
    let not_upgraded = app.get("/api/tickets/live", Auth::None).await.json(404);
    check(&doc, "get", "/api/tickets/live", 404, &not_upgraded);
    let bad_limit = app.get("/api/tickets?limit=0", Auth::None).await.json(400);
    check(&doc, "get", "/api/tickets", 400, &bad_limit);
    let declined = {
        let t = app.create_ticket(&seller, "Declined", json!(5)).await;
        let o = app.reserve(&buyer, t["id"].as_str().unwrap()).await;
        app.post(
            "/api/payments",
            Auth::Bearer(&buyer),
            json!({"orderId": o["id"], "token": "tok_chargeDeclined"}),
        )
        .await
        .json(402)
    };
    check(&doc, "post", "/api/payments", 402, &declined);
}

#[tokio::test]
async fn a_queue_entry_matches_its_schema_waiting_and_admitted() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let doc = document(&app).await;
    let org = app.signup().await;
    let eid = crate::queue::queued_event(&app, &org, 3).await;
    let (ann, bob) = (app.signup().await, app.signup().await);
    let path = "/api/events/{id}/queue";
    let early = crate::queue::join(&app, &ann, &eid).await;
    check(&doc, "post", path, 200, &early);
    crate::queue::open_sale(&app);
    let admitted = crate::queue::entry_becomes(&app, &ann, &eid, "admitted").await;
    check(&doc, "get", path, 200, &admitted);
    check(
        &doc,
        "get",
        path,
        200,
        &crate::queue::join(&app, &bob, &eid).await,
    );
    let refused = app
        .get(path.replace("{id}", &eid).as_str(), Auth::None)
        .await
        .json(401);
    check(&doc, "get", path, 401, &refused);
}
