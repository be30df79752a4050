//! Cross-site request refusal: a state-changing request that carries the
//! session cookie and a foreign `Origin` is 403; the server's own origin
//! (scheme, host and port: the request's `Host` or HTTP/2 `:authority`, or
//! a trusted proxy's `X-Forwarded-Host` and `X-Forwarded-Proto`) and Bearer
//! requests are allowed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// Sends with the user's cookie jar and the given Origin (and extra headers).
async fn with_origin(
    app: &Api,
    u: &User,
    method: Method,
    path: &str,
    origin: &str,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut rb = app
        .request(method.clone(), path, Auth::Cookie(u))
        .header("origin", origin);
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    app.send(format!("{method} {path} Origin {origin}"), rb)
        .await
}

fn foreign_origins(app: &Api) -> Vec<String> {
    let own = app.origin();
    let port = own.rsplit(':').next().unwrap().to_string();
    vec![
        "http://evil.example".into(),
        "null".into(),
        "http://127.0.0.1:1".into(),
        format!("http://localhost:{port}"),
        format!("{own}.evil.example"),
        format!("http://evil.example:{port}"),
    ]
}

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

/// A signed-up user's POST of a new ticket with `origin` and `extra`
/// headers: the status.
async fn create_from(app: &Api, u: &User, origin: &str, extra: &[(&str, &str)]) -> u16 {
    let r = with_origin(
        app,
        u,
        Method::POST,
        "/api/tickets",
        origin,
        extra,
        Some(json!({"title": "Origin check", "price": 3})),
    )
    .await;
    if r.status == 403 {
        r.error(403, None, None);
    } else {
        r.expect(201);
    }
    r.status
}

/// An `Origin`, extra headers, and the status a cookie write with them gets.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16);

/// Runs each case as a ticket creation by `u`; exactly the 201s created one.
async fn expect_statuses(app: &TestApp, u: &User, cases: &[Case<'_>]) {
    let mut created = 0;
    for (origin, headers, expected) in cases {
        let status = create_from(app, u, origin, headers).await;
        assert_eq!(status, *expected, "Origin {origin} with {headers:?}");
        created += usize::from(status == 201);
    }
    assert_eq!(app.all_tickets().await.len(), created);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_host_and_proto_are_the_own_origin() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.trust_forwarded_for = true).await;
    let seller = app.signup().await;
    let xfh = ("x-forwarded-host", "tickets.example.com");
    let https = ("x-forwarded-proto", "https");
    let cases: &[Case] = &[
        ("http://tickets.example.com", &[xfh], 201),
        ("http://tickets.example.com:80", &[xfh], 201),
        // The same Origin without the proxy header is foreign.
        ("http://tickets.example.com", &[], 403),
        // A forwarded host does not bless some other origin.
        ("http://evil.example", &[xfh], 403),
        // The proxy's last entry counts (earlier ones are the client's word).
        (
            "http://tickets.example.com",
            &[("x-forwarded-host", "evil.example, tickets.example.com")],
            201,
        ),
        (
            "http://evil.example",
            &[("x-forwarded-host", "evil.example, tickets.example.com")],
            403,
        ),
        // X-Forwarded-Proto says the scheme the browser used.
        ("https://tickets.example.com", &[xfh, https], 201),
        ("https://tickets.example.com:443", &[xfh, https], 201),
        ("http://tickets.example.com", &[xfh, https], 403),
        ("https://tickets.example.com", &[xfh], 403),
        ("https://tickets.example.com:8443", &[xfh, https], 403),
        (
            "https://tickets.example.com:8443",
            &[("x-forwarded-host", "tickets.example.com:8443"), https],
            201,
        ),
    ];
    expect_statuses(&app, &seller, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_host_and_proto_are_ignored_without_a_trusted_proxy() {
    let app = spawn_app().await;
    assert!(!app.settings.limits.trust_forwarded_for);
    let seller = app.signup().await;
    let own = app.origin();
    let authority = own.trim_start_matches("http://").to_owned();
    let cases: &[Case] = &[
        // The attack of issue 12: a forged X-Forwarded-Host blessed any Origin.
        (
            "http://evil.example",
            &[("x-forwarded-host", "evil.example")],
            403,
        ),
        (
            "http://tickets.example.com",
            &[("x-forwarded-host", "tickets.example.com")],
            403,
        ),
        (
            &format!("https://{authority}"),
            &[("x-forwarded-proto", "https")],
            403,
        ),
        // The request's own Host still decides.
        (&own, &[("x-forwarded-host", "evil.example")], 201),
        (&own, &[("x-forwarded-proto", "https")], 201),
    ];
    expect_statuses(&app, &seller, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_must_match_in_scheme_host_and_port() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let port = app.addr.port();
    let host = [("host", "tickets.example.com")];
    let cases: &[Case] = &[
        (&format!("http://127.0.0.1:{port}"), &[], 201),
        // The plain-HTTP server is not its https twin.
        (&format!("https://127.0.0.1:{port}"), &[], 403),
        (&format!("HTTP://127.0.0.1:{port}"), &[], 201),
        (&format!("ws://127.0.0.1:{port}"), &[], 403),
        (&format!("http://127.0.0.1:{port}/"), &[], 403),
        (&format!("http://user@127.0.0.1:{port}"), &[], 403),
        // Default ports: http is 80.
        ("http://tickets.example.com", &host, 201),
        ("http://tickets.example.com:80", &host, 201),
        ("http://TICKETS.example.com", &host, 201),
        ("https://tickets.example.com", &host, 403),
        ("https://tickets.example.com:443", &host, 403),
        ("http://tickets.example.com:443", &host, 403),
        ("http://tickets.example.com:8080", &host, 403),
    ];
    expect_statuses(&app, &seller, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_secure_cookies_the_own_scheme_is_https() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.server.secure_cookies = true).await;
    let seller = app.signup().await;
    let port = app.addr.port();
    let host = [("host", "tickets.example.com")];
    let cases: &[Case] = &[
        (&format!("https://127.0.0.1:{port}"), &[], 201),
        (&format!("http://127.0.0.1:{port}"), &[], 403),
        ("https://tickets.example.com", &host, 201),
        ("https://tickets.example.com:443", &host, 201),
        ("http://tickets.example.com", &host, 403),
        ("http://tickets.example.com:443", &host, 403),
        // Not a trusted proxy: its word on the scheme does not count.
        (
            "http://tickets.example.com",
            &[
                ("host", "tickets.example.com"),
                ("x-forwarded-proto", "http"),
            ],
            403,
        ),
    ];
    expect_statuses(&app, &seller, cases).await;
}

/// One request over cleartext HTTP/2 with prior knowledge, as a browser's
/// HTTP/2 request reaches a server behind an h2c proxy: no `Host` header,
/// the authority in `:authority`. The status and the JSON body.
async fn h2_request(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    use http_body_util::{BodyExt as _, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(conn);
    let method = hyper::Method::from_bytes(method.as_str().as_bytes()).unwrap();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", app.addr));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            bytes::Bytes::from(b.to_string())
        }
        None => bytes::Bytes::new(),
    };
    let req = req.body(Full::new(body)).unwrap();
    assert!(req.headers().get("host").is_none());
    let res = tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(req))
        .await
        .expect("HTTP/2 request timed out")
        .expect("HTTP/2 request");
    assert_eq!(
        res.version(),
        hyper::Version::HTTP_2,
        "the server spoke HTTP/2"
    );
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(status < 500, "HTTP/2 {path}: {status}");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_the_authority_is_the_own_origin() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let cookie = format!("session={}", seller.token);
    let own = app.origin();
    let ticket = json!({"title": "Over HTTP/2", "price": 4});

    let (status, t) = h2_request(
        &app,
        Method::POST,
        "/api/tickets",
        &[("cookie", &cookie), ("origin", &own)],
        Some(ticket.clone()),
    )
    .await;
    assert_eq!(status, 201, "same-origin cookie write over HTTP/2: {t}");
    let tid = id_of(&t);
    let (status, _) = h2_request(
        &app,
        Method::PUT,
        &format!("/api/tickets/{tid}"),
        &[("cookie", &cookie), ("origin", &own)],
        Some(json!({"title": "Edited over HTTP/2", "price": 5})),
    )
    .await;
    assert_eq!(status, 200);
    for foreign in foreign_origins(&app) {
        let (status, body) = h2_request(
            &app,
            Method::POST,
            "/api/tickets",
            &[("cookie", &cookie), ("origin", &foreign)],
            Some(ticket.clone()),
        )
        .await;
        assert_eq!(status, 403, "Origin {foreign} over HTTP/2: {body}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
    }
    // An untrusted X-Forwarded-Host does not override :authority.
    let (status, _) = h2_request(
        &app,
        Method::POST,
        "/api/tickets",
        &[
            ("cookie", &cookie),
            ("origin", "http://evil.example"),
            ("x-forwarded-host", "evil.example"),
        ],
        Some(ticket.clone()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = h2_request(
        &app,
        Method::DELETE,
        &format!("/api/tickets/{tid}"),
        &[("cookie", &cookie), ("origin", &own)],
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(app.all_tickets().await.is_empty());
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
