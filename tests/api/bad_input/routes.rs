//! Paths and methods the server does not serve: odd ids are 404, unknown
//! routes 404 JSON, unsupported methods a JSON 4xx; and the API answers
//! uncompressed JSON whatever `Accept` says.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_ids_are_404() {
    let app = spawn_app().await;
    let (seller, _) = app.some_ticket().await;
    let long = "a".repeat(5000);
    let ids = [
        "abc123",
        "5f8f8c44b54764421b7156c3",
        "00000000-0000-0000-0000-000000000000",
        long.as_str(),
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "..%5C..%5Cwindows",
        "%00",
        "a%00b",
        "%E2%98%83",
        "%27%3B%20DROP%20TABLE%20tickets%3B--",
        "%20",
        "null",
        "-1",
        "0",
        "%FF%FE",
    ];
    for id in ids {
        let short = &id[..id.len().min(40)];
        let r = app.get(&format!("/api/tickets/{id}"), Auth::None).await;
        assert_eq!(r.status, 404, "GET ticket {short}: {}", r.text);
        r.error(404, None, None);
        app.put(
            &format!("/api/tickets/{id}"),
            Auth::Bearer(&seller),
            json!({"title": "x", "price": 1}),
        )
        .await
        .error(404, None, None);
        app.delete(&format!("/api/tickets/{id}"), Auth::Bearer(&seller))
            .await
            .error(404, None, None);
        app.get(&format!("/api/orders/{id}"), Auth::Bearer(&seller))
            .await
            .error(404, None, None);
        app.delete(&format!("/api/orders/{id}"), Auth::Bearer(&seller))
            .await
            .error(404, None, None);
    }
    for id in [
        "abc123",
        long.as_str(),
        "../../etc/passwd",
        "\u{0}",
        "☃",
        "'; DROP TABLE x;--",
    ] {
        app.post(
            "/api/orders",
            Auth::Bearer(&seller),
            json!({"ticketId": id}),
        )
        .await
        .error(404, None, None);
        app.post(
            "/api/payments",
            Auth::Bearer(&seller),
            json!({"orderId": id, "token": "tok_visa"}),
        )
        .await
        .error(404, None, None);
    }
    assert_eq!(app.all_tickets().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_404_json() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for path in [
        "/api/nope",
        "/api/tickets/a/b",
        "/api/users/whoami",
        "/api/orders/x/y",
        "/api/payments/x",
        "/api/",
    ] {
        let r = app.get(path, Auth::Bearer(&u)).await;
        assert_eq!(r.status, 404, "GET {path}: {}", r.text);
        r.error(404, None, None);
    }
    let r = app.post("/api/nope", Auth::Bearer(&u), json!({})).await;
    r.error(404, None, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_methods_get_a_json_4xx() {
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    for (method, path) in [
        (Method::PATCH, format!("/api/tickets/{}", id_of(&t))),
        (Method::DELETE, "/api/tickets".to_string()),
        (Method::PUT, "/api/orders".to_string()),
        (Method::GET, "/api/payments".to_string()),
        (Method::GET, "/api/users/signup".to_string()),
    ] {
        let r = app
            .call(method.clone(), &path, Auth::Bearer(&seller), None)
            .await;
        assert!(
            r.status == 404 || r.status == 405,
            "{method} {path}: {} {}",
            r.status,
            r.text
        );
        r.error(r.status, None, None);
    }
    assert_eq!(app.ticket(&id_of(&t)).await, t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_json_whatever_accept_says_and_uncompressed() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for _ in 0..30 {
        app.create_ticket(
            &u,
            &"A long title to make compression worthwhile ".repeat(4),
            json!(1),
        )
        .await;
    }
    for path in [
        "/api/tickets",
        "/api/tickets/unknown",
        "/api/users/currentuser",
        "/api/nope",
    ] {
        for accept in ["text/html", "application/xml", "*/*"] {
            let r = app
                .send(
                    format!("GET {path} Accept {accept}"),
                    app.http
                        .get(app.url(path))
                        .header("accept", accept)
                        .header("accept-encoding", "identity"),
                )
                .await;
            r.assert_json_content_type();
            assert!(
                r.body != serde_json::Value::Null,
                "{path}: JSON body expected: {}",
                r.text
            );
            let enc = r.header("content-encoding");
            assert!(
                enc.is_none() || enc.as_deref() == Some("identity"),
                "{path}: {enc:?}"
            );
        }
    }
    // No Accept-Encoding at all: no compression either.
    let r = app.get("/api/tickets?limit=1000", Auth::None).await;
    assert!(
        r.header("content-encoding").is_none(),
        "{:?}",
        r.header("content-encoding")
    );
    assert_eq!(r.body.as_array().map(|a| a.len()), Some(30));
}
