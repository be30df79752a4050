//! `PUT /api/tickets/{id}`: the seller edits, each edit one version more;
//! anyone else is refused, and who may edit is answered before the body
//! is read.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seller_edits_a_ticket_and_each_edit_bumps_the_version_by_one() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let t = app.create_ticket(&u, "Before", json!(10)).await;
    let id = id_of(&t);
    let path = format!("/api/tickets/{id}");
    let mut expected_version = 0;
    for (i, mode) in MODES.into_iter().enumerate() {
        let title = format!("After {i}");
        let e = app
            .put(
                &path,
                mode.auth(&u),
                json!({"title": title, "price": "15.75", "date": "2027-01-02T03:04:05Z"}),
            )
            .await
            .json(200);
        expected_version += 1;
        assert_ticket_shape(&e);
        assert_eq!(e["id"], json!(id));
        assert_eq!(e["title"], json!(title));
        assert_eq!(e["price"].as_f64(), Some(15.75));
        assert_eq!(e["date"], json!("2027-01-02T03:04:05Z"));
        assert_eq!(e["userId"], json!(u.id));
        assert_eq!(e["status"], json!("available"));
        assert_eq!(version_of(&e), expected_version, "{mode:?}");
        assert_eq!(app.ticket(&id).await, e);
    }
    // A refused edit changes nothing.
    for body in [
        json!({"title": "", "price": 5}),
        json!({"title": "ok", "price": 0}),
        json!({"title": "ok"}),
        json!({"price": 5}),
        json!({"title": "ok", "price": 5, "date": "soon"}),
    ] {
        app.put(&path, Auth::Bearer(&u), body)
            .await
            .error(400, None, None);
    }
    let now = app.ticket(&id).await;
    assert_eq!(version_of(&now), expected_version);
    assert_eq!(now["title"], json!("After 1"));
    // Server-owned fields in an edit are ignored.
    let e = app
        .put(
            &path,
            Auth::Bearer(&u),
            json!({"title": "Spoof", "price": 1, "userId": "x", "status": "sold", "version": 99, "orderId": "o"}),
        )
        .await
        .json(200);
    assert_eq!(e["userId"], json!(u.id));
    assert_eq!(e["status"], json!("available"));
    assert_eq!(e["orderId"], Value::Null);
    assert_eq!(version_of(&e), expected_version + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_needs_the_seller() {
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let other = app.signup().await;
    let path = format!("/api/tickets/{}", id_of(&t));
    let body = json!({"title": "Hijack", "price": 1});
    app.put(&path, Auth::None, body.clone())
        .await
        .error(401, None, None);
    for mode in MODES {
        app.put(&path, mode.auth(&other), body.clone())
            .await
            .error(401, None, None);
    }
    app.put(
        "/api/tickets/no-such-ticket",
        Auth::Bearer(&seller),
        body.clone(),
    )
    .await
    .error(404, None, None);
    let now = app.ticket(&id_of(&t)).await;
    assert_eq!(now, t, "refused edits changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_edit_is_answered_before_the_body_is_read() {
    // The contract's order for PUT: 401 not signed in, 404, 401 not the
    // seller, then 400 invalid input: a stranger learns nothing from how
    // a body would have been judged.
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let other = app.signup().await;
    let path = format!("/api/tickets/{}", id_of(&t));
    let invalid = json!({"title": "", "price": -1});
    for mode in MODES {
        app.put(&path, mode.auth(&other), invalid.clone())
            .await
            .error(401, Some("Not authorized"), None);
        app.put(
            "/api/tickets/0123456789abcdef",
            mode.auth(&seller),
            invalid.clone(),
        )
        .await
        .error(404, None, None);
    }
    app.raw(
        reqwest::Method::PUT,
        &path,
        Auth::Bearer(&other),
        Some("application/json"),
        "{not json",
    )
    .await
    .error(401, Some("Not authorized"), None);
    // The seller's own invalid body is judged as such.
    let r = app.put(&path, Auth::Bearer(&seller), invalid).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.error_fields().contains(&"title".to_owned()), "{}", r.text);
    assert_eq!(app.ticket(&id_of(&t)).await, t, "nothing changed");
}
