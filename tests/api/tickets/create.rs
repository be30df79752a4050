//! Creating a ticket and reading it back: the full ticket in the 201, a
//! session needed, titles of 1 to 200 characters, server-owned fields of
//! the body ignored, and 404 for a ticket that does not exist.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_returns_201_with_the_full_ticket_and_get_returns_it() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for mode in MODES {
        let t = app
            .post(
                "/api/tickets",
                mode.auth(&u),
                json!({"title": "Concert", "price": 20}),
            )
            .await
            .json(201);
        assert_ticket_shape(&t);
        assert_eq!(t["title"], json!("Concert"));
        assert_eq!(t["price"].as_f64(), Some(20.0));
        assert_eq!(t["date"], Value::Null);
        assert_eq!(t["userId"], json!(u.id));
        assert_eq!(t["version"], json!(0));
        assert_eq!(t["status"], json!("available"));
        assert_eq!(t["orderId"], Value::Null);
        assert_eq!(
            app.ticket(&id_of(&t)).await,
            t,
            "GET returns what POST returned"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_without_a_session_is_401() {
    let app = spawn_app().await;
    app.post(
        "/api/tickets",
        Auth::None,
        json!({"title": "Concert", "price": 20}),
    )
    .await
    .error(401, None, None);
    app.post("/api/tickets", Auth::None, json!({"title": "", "price": 0}))
        .await
        .error(401, None, None);
    assert!(app.all_tickets().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_must_be_1_to_200_characters_after_trimming() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for bad in [json!(""), json!("   "), json!("\t\n "), Value::Null] {
        app.post(
            "/api/tickets",
            Auth::Bearer(&u),
            json!({"title": bad, "price": 10}),
        )
        .await
        .error(400, Some("Title is required"), Some("title"));
    }
    app.post("/api/tickets", Auth::Bearer(&u), json!({"price": 10}))
        .await
        .error(400, Some("Title is required"), Some("title"));
    for bad in [
        json!("a".repeat(201)),
        json!("é".repeat(201)),
        json!(5),
        json!(["x"]),
    ] {
        app.post(
            "/api/tickets",
            Auth::Bearer(&u),
            json!({"title": bad, "price": 10}),
        )
        .await
        .error(400, None, Some("title"));
    }
    for good in [
        "a".repeat(200),
        "é".repeat(200),
        format!("  {}  ", "b".repeat(200)),
        "x".into(),
    ] {
        let t = app
            .post(
                "/api/tickets",
                Auth::Bearer(&u),
                json!({"title": good, "price": 10}),
            )
            .await
            .json(201);
        assert_eq!(t["title"].as_str().unwrap().trim(), good.trim());
    }
    // Only the accepted ones exist.
    assert_eq!(app.all_tickets().await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_server_owned_fields_in_the_body_are_ignored() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let t = app
        .post(
            "/api/tickets",
            Auth::Bearer(&u),
            json!({
                "title": "Spoof", "price": 5, "extra": {"nested": [1, 2]},
                "id": "my-own-id", "userId": "someone-else", "version": 41,
                "status": "sold", "orderId": "o1"
            }),
        )
        .await
        .json(201);
    assert_ne!(t["id"], json!("my-own-id"));
    assert_eq!(t["userId"], json!(u.id));
    assert_eq!(t["version"], json!(0));
    assert_eq!(t["status"], json!("available"));
    assert_eq!(t["orderId"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_unknown_ticket_is_404() {
    let app = spawn_app().await;
    app.get("/api/tickets/no-such-ticket", Auth::None)
        .await
        .error(404, None, None);
}
