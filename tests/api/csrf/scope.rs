//! Which requests the check covers: cookie writes from a foreign origin are
//! 403 and change nothing, from the server's own origin they go through;
//! Bearer requests and reads are allowed from any origin.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_requests_from_a_foreign_origin_are_403() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let t = app.create_ticket(&seller, "Guarded", json!(10)).await;
    let tid = id_of(&t);
    let o = app
        .reserve(
            &buyer,
            &id_of(&app.create_ticket(&seller, "Held", json!(5)).await),
        )
        .await;
    let oid = id_of(&o);

    for origin in foreign_origins(&app) {
        let cases: Vec<(&User, Method, String, Option<Value>)> = vec![
            (
                &seller,
                Method::POST,
                "/api/tickets".into(),
                Some(json!({"title": "x", "price": 1})),
            ),
            (
                &seller,
                Method::PUT,
                format!("/api/tickets/{tid}"),
                Some(json!({"title": "Pwned", "price": 1})),
            ),
            (&seller, Method::DELETE, format!("/api/tickets/{tid}"), None),
            (
                &buyer,
                Method::POST,
                "/api/orders".into(),
                Some(json!({"ticketId": tid})),
            ),
            (&buyer, Method::DELETE, format!("/api/orders/{oid}"), None),
            (
                &buyer,
                Method::POST,
                "/api/payments".into(),
                Some(json!({"orderId": oid, "token": "tok_visa"})),
            ),
            (&buyer, Method::POST, "/api/users/signout".into(), None),
        ];
        for (u, method, path, body) in cases {
            let r = with_origin(&app, u, method.clone(), &path, &origin, &[], body).await;
            assert_eq!(
                r.status, 403,
                "{method} {path} from {origin}: {} {}",
                r.status, r.text
            );
            r.error(403, None, None);
        }
    }
    // Nothing changed.
    assert_eq!(app.ticket(&tid).await, t);
    assert_eq!(app.order(&buyer, &oid).await["status"], json!("created"));
    assert_eq!(app.all_tickets().await.len(), 2);
    assert!(
        app.current_user(Auth::Cookie(&buyer)).await.is_object(),
        "signout was refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_requests_from_the_servers_own_origin_are_allowed() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let own = app.origin();
    let t = with_origin(
        &app,
        &seller,
        Method::POST,
        "/api/tickets",
        &own,
        &[],
        Some(json!({"title": "Mine", "price": 3})),
    )
    .await
    .json(201);
    let tid = id_of(&t);
    with_origin(
        &app,
        &seller,
        Method::PUT,
        &format!("/api/tickets/{tid}"),
        &own,
        &[],
        Some(json!({"title": "Mine2", "price": 4})),
    )
    .await
    .json(200);
    let o = with_origin(
        &app,
        &buyer,
        Method::POST,
        "/api/orders",
        &own,
        &[],
        Some(json!({"ticketId": tid})),
    )
    .await
    .json(201);
    with_origin(
        &app,
        &buyer,
        Method::DELETE,
        &format!("/api/orders/{}", id_of(&o)),
        &own,
        &[],
        None,
    )
    .await
    .expect(204);
    with_origin(
        &app,
        &seller,
        Method::DELETE,
        &format!("/api/tickets/{tid}"),
        &own,
        &[],
        None,
    )
    .await
    .expect(204);
    with_origin(
        &app,
        &buyer,
        Method::POST,
        "/api/users/signout",
        &own,
        &[],
        None,
    )
    .await
    .expect(200);
    assert_eq!(app.current_user(Auth::Bearer(&buyer)).await, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_requests_from_any_origin_are_allowed() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let rb = app
        .request(Method::POST, "/api/tickets", Auth::Bearer(&seller))
        .header("origin", "http://evil.example")
        .json(&json!({"title": "API client", "price": 2}));
    let t = app
        .send("bearer POST from foreign origin".into(), rb)
        .await
        .json(201);
    let rb = app
        .request(
            Method::DELETE,
            &format!("/api/tickets/{}", id_of(&t)),
            Auth::Bearer(&seller),
        )
        .header("origin", "http://evil.example");
    app.send("bearer DELETE from foreign origin".into(), rb)
        .await
        .expect(204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_with_a_cookie_from_a_foreign_origin_are_allowed() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let r = with_origin(
        &app,
        &u,
        Method::GET,
        "/api/users/currentuser",
        "http://evil.example",
        &[],
        None,
    )
    .await;
    assert_eq!(r.json(200)["currentUser"]["id"], json!(u.id));
    with_origin(
        &app,
        &u,
        Method::GET,
        "/api/orders",
        "http://evil.example",
        &[],
        None,
    )
    .await
    .json(200);
}
