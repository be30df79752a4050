//! Bodies the server cannot take: malformed JSON on every route with a body
//! (400), bodies that are not `application/json` (415, a charset parameter
//! is fine), and fields of the wrong JSON type (400).

use super::*;

/// Every route that takes a JSON body, with a valid target: (method, path, auth).
async fn body_routes(app: &TestApp) -> (User, Vec<(Method, String)>) {
    let seller = app.signup().await;
    let t = app.create_ticket(&seller, "Target", json!(10)).await;
    let routes = vec![
        (Method::POST, "/api/users/signup".to_string()),
        (Method::POST, "/api/users/signin".to_string()),
        (Method::POST, "/api/tickets".to_string()),
        (Method::PUT, format!("/api/tickets/{}", id_of(&t))),
        (Method::POST, "/api/orders".to_string()),
        (Method::POST, "/api/payments".to_string()),
    ];
    (seller, routes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_with_an_error_body() {
    let app = spawn_app().await;
    let (seller, routes) = body_routes(&app).await;
    let nested = format!(
        "{{\"title\": {}1{}, \"price\": 1}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"{\"title\": }".to_vec(),
        b"not json at all".to_vec(),
        b"{\"title\":\"a\",\"price\":1,}".to_vec(),
        b"{\"title\":\"a\" \"price\":1}".to_vec(),
        b"".to_vec(),
        b"   ".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"string\"".to_vec(),
        b"{\"title\":\"\xff\xfe\",\"price\":1}".to_vec(),
        b"{\"title\":\"a\",\"price\":1}{\"again\":1}".to_vec(),
        nested.into_bytes(),
    ];
    for (method, path) in &routes {
        for body in &bodies {
            let r = app
                .raw(
                    method.clone(),
                    path,
                    Auth::Bearer(&seller),
                    Some("application/json"),
                    body.clone(),
                )
                .await;
            assert_eq!(
                r.status,
                400,
                "{method} {path} with {:?}: got {} {}",
                String::from_utf8_lossy(&body[..body.len().min(40)]),
                r.status,
                r.text
            );
            r.error(400, None, None);
        }
    }
    // Nothing was created by the garbage.
    assert_eq!(app.all_tickets().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let (seller, routes) = body_routes(&app).await;
    let json_body =
        json!({"title": "x", "price": 1, "email": unique_email(), "password": "password123"})
            .to_string();
    let cases: Vec<(Option<&str>, String)> = vec![
        (Some("text/plain"), json_body.clone()),
        (
            Some("application/x-www-form-urlencoded"),
            "email=a%40b.com&password=password123&title=x&price=1".into(),
        ),
        (
            Some("multipart/form-data; boundary=XyZ"),
            "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nx\r\n--XyZ--\r\n"
                .into(),
        ),
        (Some("text/html"), "<p>hi</p>".into()),
        (Some("application/xml"), "<a/>".into()),
        (None, json_body.clone()),
    ];
    for (method, path) in &routes {
        for (ct, body) in &cases {
            let r = app
                .raw(
                    method.clone(),
                    path,
                    Auth::Bearer(&seller),
                    *ct,
                    body.clone(),
                )
                .await;
            assert_eq!(
                r.status, 415,
                "{method} {path} as {ct:?}: got {} {}",
                r.status, r.text
            );
            r.error(415, None, None);
        }
    }
    assert_eq!(app.all_tickets().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charset_parameter_on_json_is_fine() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for ct in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
    ] {
        app.raw(
            Method::POST,
            "/api/tickets",
            Auth::Bearer(&u),
            Some(ct),
            json!({"title": "Charset", "price": 1}).to_string(),
        )
        .await
        .json(201);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_types_are_400() {
    let app = spawn_app().await;
    let (_, t) = app.some_ticket().await;
    let u = app.signup().await;
    let o = app.reserve(&u, &id_of(&t)).await;
    for body in [
        json!({"title": 5, "price": 1}),
        json!({"title": "x", "price": {"amount": 1}}),
        json!({"title": "x", "price": 1, "date": 5}),
        json!({"title": {"a": 1}, "price": 1}),
    ] {
        app.post("/api/tickets", Auth::Bearer(&u), body)
            .await
            .error(400, None, None);
    }
    app.post(
        "/api/orders",
        Auth::Bearer(&u),
        json!({"ticketId": [id_of(&t)]}),
    )
    .await
    .error(400, None, None);
    app.post(
        "/api/payments",
        Auth::Bearer(&u),
        json!({"orderId": [id_of(&o)], "token": "tok_visa"}),
    )
    .await
    .error(400, None, None);
    assert_eq!(app.order(&u, &id_of(&o)).await["status"], json!("created"));
}

/// "A request with a body must send it as application/json (a charset
/// parameter is fine; anything else is 415)".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_json_flavoured_media_types_are_415() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for ct in [
        "application/vnd.api+json",
        "application/merge-patch+json",
        "text/json",
        "application/jsonx",
    ] {
        let r = app
            .raw(
                Method::POST,
                "/api/tickets",
                Auth::Bearer(&u),
                Some(ct),
                json!({"title": "x", "price": 1}).to_string(),
            )
            .await;
        assert_eq!(r.status, 415, "{ct}: {} {}", r.status, r.text);
    }
}
